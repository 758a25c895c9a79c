"""Method registry, dispatcher, and the implicit per-class messages (getters, setters, queries)."""

from __future__ import annotations

import threading
import time
import xml.sax.saxutils
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .model import CLASS_LOWER, DB, FIELD_INFO, NULL, XapiError, coerce, now_dt, parse_type, public, unmarshal_error
from .query import compile_expr

if TYPE_CHECKING:
    from .sim import Pool, Simulator


@dataclass
class Method:
    name: str
    func: Callable[..., Any]
    params: tuple[str, ...]
    defaults: tuple[Any, ...] = ()
    session: bool = True
    async_ok: bool = True

    @property
    def arity(self) -> int:
        return len(self.params) + (1 if self.session else 0)

    @property
    def required(self) -> int:
        return self.arity - len(self.defaults)


REGISTRY: dict[str, Method] = {}


def api(
    name: str, *params: str, defaults: tuple[Any, ...] = (), session: bool = True, async_ok: bool = True
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register an explicit message. params exclude the session; defaults fill trailing optional params."""

    def deco(func: Callable[..., Any]) -> Callable[..., Any]:
        REGISTRY[name] = Method(name, func, tuple(params), tuple(defaults), session, async_ok)
        return func

    return deco


@dataclass
class Ctx:
    sim: Simulator
    pool: Pool
    method: str
    session: str = NULL
    task: str | None = None
    delay: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)
    epoch: int = -1

    def __post_init__(self) -> None:
        if self.epoch < 0:
            self.epoch = self.sim.epoch

    def check_epoch(self) -> None:
        """Abort work that outlived a POST /_control/reset (refs are reused by the fresh state)."""
        if self.sim.epoch != self.epoch:
            raise XapiError("TASK_CANCELLED", self.task or NULL)

    @property
    def db(self) -> DB:
        return self.pool.db

    def rec(self, cls: str, ref: Any) -> dict[str, Any]:
        if not isinstance(ref, str):
            raise XapiError("HANDLE_INVALID", cls, str(ref))
        return self.db.get(cls, ref)

    def sleep_delay(self) -> None:
        """Consume the injected delay now, with the lock released (other calls may run)."""
        d, self.delay = self.delay, 0.0
        if d > 0:
            self.db.lock.release()
            try:
                time.sleep(d)
            finally:
                self.db.lock.acquire()
            self.check_epoch()


def as_bool(v: Any, name: str = "bool") -> bool:
    return coerce("bool", v, name)


def as_int(v: Any, name: str = "int") -> int:
    return coerce("int", v, name)


def as_float(v: Any, name: str = "float") -> float:
    return coerce("float", v, name)


# ---------------------------------------------------------------- dispatch


def lookup(name: str) -> tuple[Method, bool]:
    is_async = name.startswith("Async.")
    base = name[6:] if is_async else name
    m = REGISTRY.get(base)
    if m is None or (is_async and not m.async_ok):
        raise XapiError("MESSAGE_METHOD_UNKNOWN", name)
    return m, is_async


def dispatch(
    sim: Simulator, pool: Pool, name: str, params: list[Any], delay: float = 0.0, fail: list[str] | None = None
) -> Any:
    m, is_async = lookup(name)
    n = len(params)
    if not (m.required <= n <= m.arity):
        raise XapiError("MESSAGE_PARAMETER_COUNT_MISMATCH", name, m.arity, n)
    args = list(params)
    if n < m.arity:
        args.extend(m.defaults[len(m.defaults) - (m.arity - n) :])
    db = pool.db
    leftover = 0.0
    with db.lock:
        ctx = Ctx(sim, pool, name, delay=delay)
        if m.session:
            sref = args.pop(0)
            srec = db.tables["session"].get(sref) if isinstance(sref, str) else None
            if srec is None:
                raise XapiError("SESSION_INVALID", sref)
            srec["last_active"] = now_dt()
            ctx.session = sref
        if is_async:
            return start_task(ctx, m, args, fail)
        if fail:
            raise XapiError(*fail)
        result = m.func(ctx, *args)
        leftover = ctx.delay
    if leftover > 0:
        time.sleep(leftover)
    return result


def _task_result(value: Any) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        return "<value>" + xml.sax.saxutils.escape(value) + "</value>"
    import xmlrpc.client

    from .wire import to_xmlrpc

    body = xmlrpc.client.dumps((to_xmlrpc(value),))
    return body.replace("<params>", "").replace("</params>", "").replace("<param>", "").replace("</param>", "").strip()


def start_task(ctx: Ctx, m: Method, args: list[Any], fail: list[str] | None) -> str:
    db = ctx.db
    task = create_task(ctx, "Async." + m.name)
    ctx.db.tables["task"][task]["_worker"] = True
    ctx.task = task

    def run() -> None:
        leftover = 0.0
        with db.lock:
            if not db.exists("task", task) or ctx.sim.epoch != ctx.epoch:
                return
            try:
                if fail:
                    raise XapiError(*fail)
                result = m.func(ctx, *args)
                outcome: tuple[str, Any] = ("success", result)
            except XapiError as e:
                outcome = ("failure", e.description)
            except Exception as e:
                outcome = ("failure", ["INTERNAL_ERROR", f"{type(e).__name__}: {e}"])
            leftover = ctx.delay
        if leftover > 0:
            time.sleep(leftover)
        with db.lock:
            finish_task(db, task, *outcome)

    threading.Thread(target=run, name=f"task-{m.name}", daemon=True).start()
    return task


def create_task(ctx: Ctx, label: str) -> str:
    return ctx.db.create(
        "task",
        {
            "name_label": label,
            "status": "pending",
            "created": now_dt(),
            "progress": 0.0,
            "resident_on": ctx.pool.master,
            "_session": ctx.session,
            "allowed_operations": ["cancel"],
        },
    )


def finish_task(db: DB, task: str, status: str, value: Any) -> None:
    rec = db.tables["task"].get(task)
    if rec is None or rec["status"] not in ("pending", "cancelling"):
        return
    if rec["status"] == "cancelling" and status == "failure" and list(value)[:1] == ["TASK_CANCELLED"]:
        status = "cancelled"  # the operation honoured the cancel; otherwise it finished regardless
    if status == "success":
        rec["result"] = _task_result(value)
    else:
        rec["error_info"] = list(value)
    rec["status"] = status
    rec["progress"] = 1.0
    rec["finished"] = now_dt()
    rec["allowed_operations"] = []
    db.touch("task", task)


# ---------------------------------------------------------------- implicit messages


def _getter(cls: str, fname: str) -> Callable[..., Any]:
    def get(ctx: Ctx, ref: Any) -> Any:
        return ctx.rec(cls, ref)[fname]

    return get


def _setter(cls: str, fname: str, ftype: str) -> Callable[..., Any]:
    def set_(ctx: Ctx, ref: Any, value: Any) -> str:
        ctx.rec(cls, ref)
        hook = SET_HOOKS.get((cls, fname))
        v = coerce(ftype, value, fname)
        if hook is not None:
            hook(ctx, ref, v)
        else:
            ctx.db.set(cls, ref, fname, v)
        return ""

    return set_


def _map_add(cls: str, fname: str, ftype: str) -> Callable[..., Any]:
    _unused, kt, vt = parse_type(ftype)

    def add(ctx: Ctx, ref: Any, key: Any, value: Any) -> str:
        rec = ctx.rec(cls, ref)
        k, v = coerce(kt, key, fname), coerce(vt, value, fname)
        if k in rec[fname]:
            raise XapiError("MAP_DUPLICATE_KEY", cls, fname, ref, k)
        rec[fname][k] = v
        ctx.db.touch(cls, ref)
        after_change(ctx, cls, ref)
        return ""

    return add


def _map_remove(cls: str, fname: str, ftype: str) -> Callable[..., Any]:
    _unused, kt, _vt = parse_type(ftype)

    def remove(ctx: Ctx, ref: Any, key: Any) -> str:
        rec = ctx.rec(cls, ref)
        rec[fname].pop(coerce(kt, key, fname), None)
        ctx.db.touch(cls, ref)
        after_change(ctx, cls, ref)
        return ""

    return remove


def _set_add(cls: str, fname: str, ftype: str) -> Callable[..., Any]:
    _unused, et, _unused = parse_type(ftype)

    def add(ctx: Ctx, ref: Any, value: Any) -> str:
        rec = ctx.rec(cls, ref)
        v = coerce(et, value, fname)
        if v not in rec[fname]:
            rec[fname].append(v)
            ctx.db.touch(cls, ref)
        return ""

    return add


def _set_remove(cls: str, fname: str, ftype: str) -> Callable[..., Any]:
    _unused, et, _unused = parse_type(ftype)

    def remove(ctx: Ctx, ref: Any, value: Any) -> str:
        rec = ctx.rec(cls, ref)
        v = coerce(et, value, fname)
        if v in rec[fname]:
            rec[fname].remove(v)
            ctx.db.touch(cls, ref)
        return ""

    return remove


def _get_record(cls: str) -> Callable[..., Any]:
    def get_record(ctx: Ctx, ref: Any) -> dict[str, Any]:
        return public(ctx.rec(cls, ref))

    return get_record


def _get_by_uuid(cls: str) -> Callable[..., Any]:
    def get_by_uuid(ctx: Ctx, uuid: Any) -> str:
        return ctx.db.by_uuid(cls, str(uuid))

    return get_by_uuid


def _get_by_name_label(cls: str) -> Callable[..., Any]:
    def get_by_name_label(ctx: Ctx, label: Any) -> list[str]:
        return [r for r, rec in ctx.db.all(cls).items() if rec["name_label"] == label]

    return get_by_name_label


def _get_all(cls: str) -> Callable[..., Any]:
    def get_all(ctx: Ctx) -> list[str]:
        return list(ctx.db.all(cls))

    return get_all


def _get_all_records(cls: str) -> Callable[..., Any]:
    def get_all_records(ctx: Ctx) -> dict[str, Any]:
        return {r: public(rec) for r, rec in ctx.db.all(cls).items()}

    return get_all_records


def _get_all_records_where(cls: str) -> Callable[..., Any]:
    def get_all_records_where(ctx: Ctx, expr: Any) -> dict[str, Any]:
        pred = compile_expr(cls, str(expr))
        return {r: public(rec) for r, rec in ctx.db.all(cls).items() if pred(rec)}

    return get_all_records_where


def _create(cls: str) -> Callable[..., Any]:
    def create(ctx: Ctx, args: Any) -> str:
        # As xapi's generated server unmarshals a constructor record (gen_server.ml
        # ``from_ctor_record``): every RW / constructor field in the datamodel's order; a field
        # without a datamodel default must be present (else ``my_assoc`` raises
        # Dispatcher_FieldNotFound), each converted strictly; unknown keys are ignored.
        if not isinstance(args, dict):
            raise unmarshal_error("bad __structure")
        fields: dict[str, Any] = {}
        for k, (ftype, qual, default) in FIELD_INFO[cls].items():
            if qual not in ("RW", "RC"):
                continue
            if k not in args:
                if default is None:
                    raise XapiError("INTERNAL_ERROR", 'Server_helpers.Dispatcher_FieldNotFound("%s")' % k)
                continue
            fields[k] = coerce(ftype, args[k], k)
        hook = CREATE_HOOKS.get(cls)
        if hook is not None:
            return hook(ctx, fields)
        return ctx.db.create(cls, fields)

    return create


def _destroy(cls: str) -> Callable[..., Any]:
    def destroy(ctx: Ctx, ref: Any) -> str:
        ctx.rec(cls, ref)
        hook = DESTROY_HOOKS.get(cls)
        if hook is not None:
            hook(ctx, ref)
        else:
            ctx.db.destroy(cls, ref)
        return ""

    return destroy


SET_HOOKS: dict[tuple[str, str], Callable[[Ctx, str, Any], None]] = {}
CREATE_HOOKS: dict[str, Callable[[Ctx, dict[str, Any]], str]] = {}
DESTROY_HOOKS: dict[str, Callable[[Ctx, str], None]] = {}
CHANGE_HOOKS: dict[str, Callable[[Ctx, str], None]] = {}

# Classes with a public constructor / destructor (create takes a record).
CREATABLE = {"VM", "VBD", "VIF", "VDI", "network", "PBD", "console"}
DESTROYABLE = CREATABLE | {"task", "message", "SR", "host"}
# Fields whose setters are not generated (xapi exposes explicit messages or none).
NO_IMPLICIT_SETTER: dict[str, set[str]] = {}
NO_IMPLICIT_GETTER: dict[str, set[str]] = {"message": {"*"}}
NO_GENERIC: set[str] = {
    "pool.get_by_name_label",
    "session.get_all",
    "session.get_all_records",
    "session.get_all_records_where",
    "PBD.add_to_device_config",
    "PBD.remove_from_device_config",
    "VM.add_groups",
    "VM.remove_groups",
    "VM.add_to_bios_strings",
    "VM.remove_from_bios_strings",
    "network.set_purpose",
    "task.add_error_info",
    "task.remove_error_info",
}
# Read-only fields that xapi nevertheless lets clients set through (explicit) setter messages.
EXTRA_WRITABLE: dict[str, set[str]] = {
    "VM": {
        "platform",
        "other_config",
        "blocked_operations",
        "HVM_boot_policy",
        "domain_type",
        "actions_after_crash",
        "has_vendor_device",
        "suspend_VDI",
        "order",
        "shutdown_delay",
        "start_delay",
        "bios_strings",
        "HVM_shadow_multiplier",
        "ha_always_run",
        "ha_restart_priority",
        "NVRAM",
        "appliance",
        "snapshot_schedule",
        "protection_policy",
        "groups",
    },
    "SR": {"physical_size", "name_description", "name_label", "shared"},
    "PBD": {"device_config"},
    "VDI": {"allow_caching", "on_boot", "read_only", "sharable"},
    "VBD": {"mode"},
    "VIF": {"locking_mode", "ipv4_allowed", "ipv6_allowed"},
    "network": {"purpose", "default_locking_mode"},
    "PIF": {"primary_address_type", "disallow_unplug"},
    "task": {"other_config", "error_info", "result", "progress", "status"},
    "VBD_metrics": {"other_config"},
}


def after_change(ctx: Ctx, cls: str, ref: str) -> None:
    hook = CHANGE_HOOKS.get(cls)
    if hook is not None:
        hook(ctx, ref)


def register_implicit() -> None:
    """Generate the implicit messages for every implemented class (explicit ones win)."""
    for cls, info in FIELD_INFO.items():
        gen: dict[str, tuple[Callable[..., Any], tuple[str, ...]]] = {
            "get_record": (_get_record(cls), ("self",)),
            "get_by_uuid": (_get_by_uuid(cls), ("uuid",)),
            "get_all": (_get_all(cls), ()),
            "get_all_records": (_get_all_records(cls), ()),
            "get_all_records_where": (_get_all_records_where(cls), ("expr",)),
        }
        if "name_label" in info:
            gen["get_by_name_label"] = (_get_by_name_label(cls), ("label",))
        if cls in CREATABLE:
            gen["create"] = (_create(cls), ("args",))
        if cls in DESTROYABLE:
            gen["destroy"] = (_destroy(cls), ("self",))
        for fname, (ftype, qual, _d) in info.items():
            no_get = NO_IMPLICIT_GETTER.get(cls, set())
            if fname not in no_get and "*" not in no_get:
                gen["get_" + fname] = (_getter(cls, fname), ("self",))
            writable = qual == "RW" or fname in EXTRA_WRITABLE.get(cls, set())
            if not writable or fname in NO_IMPLICIT_SETTER.get(cls, set()):
                continue
            gen["set_" + fname] = (_setter(cls, fname, ftype), ("self", "value"))
            kind = parse_type(ftype)[0]
            if kind == "map":
                gen["add_to_" + fname] = (_map_add(cls, fname, ftype), ("self", "key", "value"))
                gen["remove_from_" + fname] = (_map_remove(cls, fname, ftype), ("self", "key"))
            elif kind == "set":
                gen["add_" + fname] = (_set_add(cls, fname, ftype), ("self", "value"))
                gen["remove_" + fname] = (_set_remove(cls, fname, ftype), ("self", "value"))
        for msg, (func, params) in gen.items():
            full = f"{cls}.{msg}"
            if full in REGISTRY or full in NO_GENERIC:
                continue
            async_ok = msg in ("create", "destroy")
            REGISTRY[full] = Method(full, func, params, (), True, async_ok)


def event_class(name: str) -> str:
    return CLASS_LOWER.get(name.lower(), name)
