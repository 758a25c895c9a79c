"""session, task, event, pool, host and message messages."""

from __future__ import annotations

import time
from typing import Any

from .api import Ctx, api, as_float
from .model import CLASS_LOWER, NULL, XapiError, now_dt, public

# ---------------------------------------------------------------- session


@api(
    "session.login_with_password",
    "uname",
    "pwd",
    "version",
    "originator",
    defaults=("", ""),
    session=False,
    async_ok=False,
)
def login_with_password(ctx: Ctx, uname: Any, pwd: Any, version: Any = "", originator: Any = "") -> str:
    sim = ctx.sim
    if uname != sim.username or pwd != sim.password:
        raise XapiError("SESSION_AUTHENTICATION_FAILED", uname, "Authentication failure")
    return ctx.db.create(
        "session",
        {
            "this_host": ctx.pool.master,
            "last_active": now_dt(),
            "validation_time": now_dt(),
            "pool": False,
            "is_local_superuser": True,
            "originator": str(originator or ""),
            "auth_user_name": str(uname),
            "rbac_permissions": [],
        },
    )


@api("session.logout", async_ok=False)
def logout(ctx: Ctx) -> str:
    if ctx.db.exists("session", ctx.session):
        ctx.db.destroy("session", ctx.session)
    return ""


@api("session.local_logout", async_ok=False)
def local_logout(ctx: Ctx) -> str:
    return logout(ctx)


@api("session.change_password", "old_pwd", "new_pwd", async_ok=False)
def change_password(ctx: Ctx, old: Any, new: Any) -> str:
    if old != ctx.sim.password:
        raise XapiError("SESSION_AUTHENTICATION_FAILED", ctx.sim.username, "Authentication failure")
    ctx.sim.password = str(new)
    return ""


# ---------------------------------------------------------------- task


@api("task.cancel", "task")
def task_cancel(ctx: Ctx, task: Any) -> str:
    rec = ctx.rec("task", task)
    if rec["status"] == "pending" and rec.get("_worker"):
        # as xapi: the operation notices the cancel at its next checkpoint; until then "cancelling"
        rec["status"] = "cancelling"
        rec["allowed_operations"] = []
        ctx.db.touch("task", task)
    elif rec["status"] == "pending":
        rec["status"] = "cancelled"
        rec["error_info"] = ["TASK_CANCELLED", task]
        rec["finished"] = now_dt()
        rec["allowed_operations"] = []
        ctx.db.touch("task", task)
    return ""


@api("task.create", "label", "description")
def task_create(ctx: Ctx, label: Any, description: Any) -> str:
    from .api import create_task

    ref = create_task(ctx, str(label))
    ctx.db.get("task", ref)["name_description"] = str(description)
    return ref


# ---------------------------------------------------------------- event


def _token(gen: int) -> str:
    return f"{gen:020d},{0:020d}"


def _parse_token(token: Any) -> int:
    if token in ("", None):
        return -1
    try:
        return int(str(token).split(",", maxsplit=1)[0])
    except ValueError:
        raise XapiError("EVENT_FROM_TOKEN_PARSE_FAILURE", str(token)) from None


def _interest(classes: Any) -> tuple[bool, set[str], set[tuple[str, str]]]:
    allc, cls, objs = False, set(), set()
    for c in classes if isinstance(classes, list) else [classes]:
        c = str(c)
        if c == "*":
            allc = True
        elif "/" in c:
            a, b = c.split("/", 1)
            objs.add((CLASS_LOWER.get(a.lower(), a), b))
        elif c.lower() in CLASS_LOWER:
            cls.add(CLASS_LOWER[c.lower()])
    return allc, cls, objs


def _wanted(interest: tuple[bool, set[str], set[tuple[str, str]]], cls: str, ref: str) -> bool:
    allc, classes, objs = interest
    return allc or cls in classes or (cls, ref) in objs


def _event_record(db: Any, gen: int, cls: str, op: str, ref: str, snap: dict[str, Any] | None) -> dict[str, Any]:
    ev: dict[str, Any] = {"id": str(gen), "timestamp": now_dt(), "class": cls.lower(), "operation": op, "ref": ref}
    if snap is not None:
        ev["snapshot"] = snap
        ev["obj_uuid"] = snap.get("uuid", "")
    return ev


def collect_events(ctx: Ctx, interest: Any, since: int) -> list[dict[str, Any]]:
    db = ctx.db
    out: list[dict[str, Any]] = []
    if since < 0:
        for cls in sorted(db.tables):
            for ref, rec in db.tables[cls].items():
                if _wanted(interest, cls, ref):
                    out.append(_event_record(db, db.gen, cls, "add", ref, public(rec)))
        return out
    latest: dict[tuple[str, str], list[Any]] = {}
    for gen, cls, op, ref, snap in db.events:
        if gen <= since or not _wanted(interest, cls, ref):
            continue
        key = (cls, ref)
        prev = latest.get(key)
        if prev is None:
            latest[key] = [gen, op, snap]
        else:
            prev[0] = gen
            if op == "del":
                prev[1], prev[2] = "del", snap
            elif prev[1] != "add":
                prev[1] = op
    for (cls, ref), (gen, op, snap) in sorted(latest.items(), key=lambda kv: kv[1][0]):
        if op != "del":
            rec = db.tables[cls].get(ref)
            if rec is None:
                continue
            snap = public(rec)
        out.append(_event_record(db, gen, cls, op, ref, snap))
    return out


@api("event.from", "classes", "token", "timeout", async_ok=False)
def event_from(ctx: Ctx, classes: Any, token: Any, timeout: Any) -> dict[str, Any]:
    db = ctx.db
    since = _parse_token(token)
    interest = _interest(classes)
    deadline = time.monotonic() + max(0.0, min(as_float(timeout, "timeout"), 3600.0))
    while True:
        events = collect_events(ctx, interest, since)
        if events or time.monotonic() >= deadline:
            break
        db.cond.wait(timeout=max(0.0, deadline - time.monotonic()))
        if not db.exists("session", ctx.session):
            raise XapiError("SESSION_INVALID", ctx.session)
    counts = {c.lower(): len(db.tables[c]) for c in sorted(db.tables) if _wanted(interest, c, "")}
    return {"events": events, "valid_ref_counts": counts, "token": _token(db.gen)}


@api("event.get_current_id", async_ok=False)
def event_get_current_id(ctx: Ctx) -> int:
    return ctx.db.gen


@api("event.inject", "class", "ref", async_ok=False)
def event_inject(ctx: Ctx, cls: Any, ref: Any) -> str:
    c = CLASS_LOWER.get(str(cls).lower())
    if c is None:
        raise XapiError("HANDLE_INVALID", str(cls), str(ref))
    ctx.rec(c, ref)
    ctx.db.touch(c, ref)
    return _token(ctx.db.gen)


@api("event.register", "classes", async_ok=False)
def event_register(ctx: Ctx, classes: Any) -> str:
    reg = ctx.pool.registrations.setdefault(ctx.session, {"classes": set(), "since": ctx.db.gen})
    reg["classes"].update(str(c) for c in (classes if isinstance(classes, list) else [classes]))
    return ""


@api("event.unregister", "classes", async_ok=False)
def event_unregister(ctx: Ctx, classes: Any) -> str:
    reg = ctx.pool.registrations.get(ctx.session)
    if reg is not None:
        reg["classes"].difference_update(str(c) for c in (classes if isinstance(classes, list) else [classes]))
    return ""


@api("event.next", async_ok=False)
def event_next(ctx: Ctx) -> list[dict[str, Any]]:
    reg = ctx.pool.registrations.get(ctx.session)
    if reg is None:
        raise XapiError("SESSION_NOT_REGISTERED", ctx.session)
    deadline = time.monotonic() + 30.0
    while True:
        events = collect_events(ctx, _interest(sorted(reg["classes"])), reg["since"])
        if events or time.monotonic() >= deadline:
            break
        ctx.db.cond.wait(timeout=max(0.0, deadline - time.monotonic()))
    reg["since"] = ctx.db.gen
    return events


# ---------------------------------------------------------------- host / pool


def _host(ctx: Ctx, host: Any) -> dict[str, Any]:
    return ctx.rec("host", host)


@api("host.disable", "host", "auto_enable", defaults=(True,))
def host_disable(ctx: Ctx, host: Any, auto_enable: Any = True) -> str:
    _host(ctx, host)
    ctx.db.set("host", host, "enabled", False)
    return ""


@api("host.enable", "host")
def host_enable(ctx: Ctx, host: Any) -> str:
    _host(ctx, host)
    ctx.db.set("host", host, "enabled", True)
    return ""


@api("host.compute_free_memory", "host")
def host_compute_free_memory(ctx: Ctx, host: Any) -> int:
    from .msg_vm import host_free_memory

    _host(ctx, host)
    return host_free_memory(ctx, host)


@api("host.evacuate", "host", "network", "evacuate_batch_size", defaults=(NULL, 0))
def host_evacuate(ctx: Ctx, host: Any, network: Any = NULL, batch: Any = 0) -> str:
    from .msg_vm import move_vm_to_host, pick_host

    rec = _host(ctx, host)
    for vm in list(rec["resident_VMs"]):
        vrec = ctx.db.get("VM", vm)
        if vrec["is_control_domain"]:
            continue
        target = pick_host(ctx, vm, exclude={host})
        move_vm_to_host(ctx, vm, target)
    return ""


@api("host.get_vms_which_prevent_evacuation", "self")
def host_vms_preventing(ctx: Ctx, host: Any) -> dict[str, list[str]]:
    _host(ctx, host)
    return {}


@api("host.migrate_receive", "host", "network", "options")
def host_migrate_receive(ctx: Ctx, host: Any, network: Any, options: Any) -> dict[str, str]:
    _host(ctx, host)
    ctx.rec("network", network)
    sess = ctx.db.create(
        "session",
        {
            "this_host": host,
            "last_active": now_dt(),
            "validation_time": now_dt(),
            "is_local_superuser": True,
            "originator": "migrate_receive",
        },
    )
    url = ctx.pool.base_url
    return {
        "SM": f"{url}/services/SM?session_id={sess}",
        "host": host,
        "xenops": f"{url}/services/xenops",
        "session_id": sess,
        "master": url,
        "network": network,
    }


@api("host.get_servertime", "host")
def host_servertime(ctx: Ctx, host: Any) -> Any:
    _host(ctx, host)
    return now_dt()


@api("message.get_since", "since")
def message_get_since(ctx: Ctx, since: Any) -> dict[str, Any]:
    cutoff = str(since.value if hasattr(since, "value") else since)
    return {r: public(m) for r, m in ctx.db.tables["message"].items() if str(m["timestamp"]) > cutoff}


@api("message.create", "name", "priority", "cls", "obj_uuid", "body")
def message_create(ctx: Ctx, name: Any, priority: Any, cls: Any, obj_uuid: Any, body: Any) -> str:
    return ctx.db.create(
        "message",
        {
            "name": str(name),
            "priority": int(priority),
            "cls": str(cls),
            "obj_uuid": str(obj_uuid),
            "timestamp": now_dt(),
            "body": str(body),
        },
    )
