"""In-memory XenAPI object database: records, relations, events, value coercion."""

from __future__ import annotations

import functools
import hashlib
import re
import threading
import time
import uuid as uuidlib
from collections.abc import Callable, Iterable
from typing import Any

from .schema import DT as DT_MARK
from .schema import ENUMS, FIELDS

NULL = "OpaqueRef:NULL"
EPOCH = "19700101T00:00:00Z"

# (one class, one field, many class, many field): the "many" side is derived and kept in sync.
RELATIONS: tuple[tuple[str, str, str, str], ...] = (
    ("VM", "snapshot_of", "VM", "snapshots"),
    ("VDI", "snapshot_of", "VDI", "snapshots"),
    ("VM", "parent", "VM", "children"),
    ("task", "subtask_of", "task", "subtasks"),
    ("task", "_session", "session", "tasks"),
    ("PBD", "host", "host", "PBDs"),
    ("PBD", "SR", "SR", "PBDs"),
    ("VBD", "VDI", "VDI", "VBDs"),
    ("VBD", "VM", "VM", "VBDs"),
    ("VIF", "VM", "VM", "VIFs"),
    ("VIF", "network", "network", "VIFs"),
    ("PIF", "host", "host", "PIFs"),
    ("PIF", "network", "network", "PIFs"),
    ("VDI", "SR", "SR", "VDIs"),
    ("console", "VM", "VM", "consoles"),
    ("VM", "resident_on", "host", "resident_VMs"),
    ("host_cpu", "host", "host", "host_CPUs"),
)
ONE_SIDE: dict[tuple[str, str], tuple[str, str]] = {(a, b): (c, d) for a, b, c, d in RELATIONS}
MANY_SIDE: dict[str, list[tuple[str, str]]] = {}
for _a, _b, _c, _d in RELATIONS:
    MANY_SIDE.setdefault(_a, []).append((_b, _c))


class DT(str):
    """A XenAPI datetime (ISO 8601 basic form, UTC): sent as an XML-RPC DateTime."""


class XapiError(Exception):
    """A XenAPI failure: code plus string parameters."""

    def __init__(self, code: str, *params: Any) -> None:
        super().__init__(code, *params)
        self.code = code
        self.params = [str(p) for p in params]

    @property
    def description(self) -> list[str]:
        return [self.code, *self.params]


def now_dt(offset: float = 0.0) -> DT:
    return DT(time.strftime("%Y%m%dT%H:%M:%SZ", time.gmtime(time.time() + offset)))


def new_uuid() -> str:
    return str(uuidlib.uuid4())


def new_ref() -> str:
    return "OpaqueRef:" + str(uuidlib.uuid4())


# ---------------------------------------------------------------- types


@functools.cache
def parse_type(t: str) -> tuple[str, Any, Any]:
    """Return (kind, a, b): ('map', key, value), ('set', elem, None), ('ref', cls, None),
    ('enum', name, None) or (basic, None, None)."""
    if t.endswith(" map") and t.startswith("("):
        inner = t[1 : -len(") map")]
        k, v = inner.split(" -> ", 1)
        return ("map", k, v)
    if t.endswith(" set"):
        return ("set", t[: -len(" set")], None)
    if t.endswith(" ref"):
        return ("ref", t[: -len(" ref")], None)
    if t.startswith("enum "):
        return ("enum", t[5:], None)
    return (t, None, None)


def zero_value(t: str) -> Any:
    kind, a, _unused = parse_type(t)
    if kind == "map":
        return {}
    if kind == "set":
        return []
    if kind == "ref":
        return NULL
    if kind == "enum":
        return ENUMS[a][0]
    return {"string": "", "int": 0, "float": 0.0, "bool": False, "datetime": DT(EPOCH)}.get(kind, "")


def rpc_repr(v: Any) -> str:
    """A wire value as ocaml-rpc's ``Rpc.to_string`` prints it (used in xapi's unmarshalling errors)."""
    if isinstance(v, bool):
        return "B(%s)" % ("true" if v else "false")
    if isinstance(v, int):
        return "I(%d)" % v
    if isinstance(v, float):
        return "F(%g)" % v
    if isinstance(v, DT):
        return "D(%s)" % v
    if isinstance(v, str):
        return "S(%s)" % v
    if isinstance(v, dict):
        return "{" + ";".join("%s:%s" % (k, rpc_repr(x)) for k, x in v.items()) + "}"
    if isinstance(v, (list, tuple)):
        return "[" + ";".join(rpc_repr(x) for x in v) + "]"
    if v is None:
        return "N"
    return "S(%s)" % v


def unmarshal_error(message: str) -> XapiError:
    """What xapi answers when a parameter does not unmarshal: ocaml-rpc's ``*_of_rpc`` raises
    ``Failure``, the dispatcher's exception wrapper (server_helpers.ml ``dispatch_exn_wrapper`` ->
    exnHelper.ml ``error_of_exn``) turns it into ``INTERNAL_ERROR [Printexc.to_string exn]``."""
    return XapiError("INTERNAL_ERROR", 'Failure("%s")' % message)


def _expected(kind: str, value: Any) -> XapiError:
    return unmarshal_error("Expected %s, got '%s'" % (kind, rpc_repr(value)))


_INT64 = re.compile(r"^[-+]?(0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|[0-9][0-9_]*)$")


def coerce(t: str, value: Any, field: str = "") -> Any:
    """Unmarshal a wire value for XenAPI type t exactly as xapi's generated server does (ocaml-rpc's
    ``int64_of_rpc``/``bool_of_rpc``/``string_of_rpc``...): ints as XML-RPC ints or decimal strings,
    floats as doubles, ints or strings, bools only as booleans, strings only as strings. Anything
    else is refused with xapi's error, never coerced."""
    kind, a, b = parse_type(t)
    if kind in ("string", "ref"):
        if isinstance(value, str):
            return str(value)
        raise _expected("string", value)
    if kind == "int":
        if isinstance(value, int) and not isinstance(value, bool):
            return int(value)
        if isinstance(value, str):
            if not _INT64.match(value):
                raise unmarshal_error("Int64.of_string")
            body = value.replace("_", "")
            return int(body, 0) if body.lstrip("+-")[:2].lower() in ("0x", "0o", "0b") else int(body)
        raise _expected("int64", value)
    if kind == "float":
        if isinstance(value, bool):
            raise _expected("float", value)
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                raise unmarshal_error("float_of_string") from None
        raise _expected("float", value)
    if kind == "bool":
        if isinstance(value, bool):
            return value
        raise _expected("bool", value)
    if kind == "datetime":
        if isinstance(value, str):
            return DT(str(value).replace("-", "") if "T" in str(value) else str(value))
        raise _expected("DateTime", value)
    if kind == "enum":
        if not isinstance(value, str):
            raise _expected("string", value)
        s = str(value)
        for v in ENUMS.get(a, ()):
            if v.lower() == s.lower():
                return v
        raise XapiError("INVALID_VALUE", field or a, s)
    if kind == "set":
        if not isinstance(value, (list, tuple)):
            raise _expected("Enum", value)
        return [coerce(a, x, field) for x in value]
    if kind == "map":
        if not isinstance(value, dict):
            raise _expected("Dict", value)
        return {coerce(a, k, field): coerce(b, v, field) for k, v in value.items()}
    return value


def to_text(v: Any) -> str:
    """The DB text form of a value (used by the query language)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, list):
        return "(" + " ".join("'" + to_text(x) + "'" for x in v) + ")"
    if isinstance(v, dict):
        return "(" + " ".join("('" + to_text(k) + "' '" + to_text(x) + "')" for k, x in v.items()) + ")"
    return str(v)


# ---------------------------------------------------------------- schema views

FIELD_INFO: dict[str, dict[str, tuple[str, str, Any]]] = {}
TEMPLATES: dict[str, dict[str, Any]] = {}
for _cls, _fields in FIELDS.items():
    info: dict[str, tuple[str, str, Any]] = {}
    tmpl: dict[str, Any] = {}
    for _name, _type, _qual, _default in _fields:
        info[_name] = (_type, _qual, _default)
        if isinstance(_default, tuple) and _default and _default[0] == DT_MARK:
            tmpl[_name] = DT(_default[1])
        elif _default is None:
            tmpl[_name] = zero_value(_type)
        else:
            tmpl[_name] = _default
    FIELD_INFO[_cls] = info
    TEMPLATES[_cls] = tmpl

CLASS_LOWER = {c.lower(): c for c in FIELDS}


def public(rec: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in rec.items() if k[0] != "_"}


# ---------------------------------------------------------------- database


class DB:
    """All objects of one pool. Callers hold `lock` while reading or mutating."""

    def __init__(self, lock: threading.Lock | None = None, name: str = "pool") -> None:
        self.name = name
        self.lock = lock or threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.tables: dict[str, dict[str, dict[str, Any]]] = {c: {} for c in FIELDS}
        self.uuids: dict[str, dict[str, str]] = {c: {} for c in FIELDS}
        self.gen = 0
        self.events: list[tuple[int, str, str, str, dict[str, Any] | None]] = []
        self.seq = 0

    def _ids(self, cls: str) -> tuple[str, str]:
        """(uuid, ref): deterministic per pool and creation order, random for volatile classes."""
        if cls in ("session", "task"):
            return new_uuid(), new_ref()
        self.seq += 1
        h = hashlib.sha256(f"{self.name}:{self.seq}".encode()).digest()
        return str(uuidlib.UUID(bytes=h[:16], version=4)), "OpaqueRef:" + str(uuidlib.UUID(bytes=h[16:], version=4))

    def clear(self) -> None:
        for c in self.tables:
            self.tables[c].clear()
            self.uuids[c].clear()
        self.events.clear()
        self.seq = 0
        self.gen += 1

    # events ---------------------------------------------------------
    def _event(self, cls: str, op: str, ref: str, snapshot: dict[str, Any] | None = None) -> None:
        self.gen += 1
        self.events.append((self.gen, cls, op, ref, snapshot))
        if len(self.events) > 200000:
            del self.events[:100000]
        self.cond.notify_all()

    def touch(self, cls: str, ref: str) -> None:
        self._event(cls, "mod", ref)

    # basic access ---------------------------------------------------
    def exists(self, cls: str, ref: str) -> bool:
        return ref in self.tables[cls]

    def get(self, cls: str, ref: str) -> dict[str, Any]:
        try:
            return self.tables[cls][ref]
        except (KeyError, TypeError):
            raise XapiError("HANDLE_INVALID", cls, ref) from None

    def by_uuid(self, cls: str, uuid: str) -> str:
        try:
            return self.uuids[cls][uuid]
        except (KeyError, TypeError):
            raise XapiError("UUID_INVALID", cls, uuid) from None

    def all(self, cls: str) -> dict[str, dict[str, Any]]:
        return self.tables[cls]

    def create(self, cls: str, fields: dict[str, Any] | None = None, ref: str | None = None, event: bool = True) -> str:
        rec = {k: (v.copy() if type(v) in (list, dict) else v) for k, v in TEMPLATES[cls].items()}
        if fields:
            rec.update(fields)
        u, r = self._ids(cls)
        if not rec.get("uuid"):
            rec["uuid"] = u
        ref = ref or r
        self.tables[cls][ref] = rec
        self.uuids[cls][rec["uuid"]] = ref
        for field, many_cls in MANY_SIDE.get(cls, ()):
            target = rec.get(field, NULL)
            if target != NULL:
                many_field = ONE_SIDE[(cls, field)][1]
                trec = self.tables[many_cls].get(target)
                if trec is not None:
                    trec[many_field].append(ref)
                    if event:
                        self._event(many_cls, "mod", target)
        if event:
            self._event(cls, "add", ref)
        return ref

    def destroy(self, cls: str, ref: str) -> None:
        rec = self.get(cls, ref)
        for field, many_cls in MANY_SIDE.get(cls, ()):
            target = rec.get(field, NULL)
            trec = self.tables[many_cls].get(target)
            if trec is not None:
                lst = trec[ONE_SIDE[(cls, field)][1]]
                if ref in lst:
                    lst.remove(ref)
                    self._event(many_cls, "mod", target)
        del self.tables[cls][ref]
        self.uuids[cls].pop(rec["uuid"], None)
        self._event(cls, "del", ref, public(rec))

    def set(self, cls: str, ref: str, field: str, value: Any) -> None:
        rec = self.get(cls, ref)
        rel = ONE_SIDE.get((cls, field))
        if rel is not None:
            old = rec.get(field, NULL)
            if old != value:
                many_cls, many_field = rel
                orec = self.tables[many_cls].get(old)
                if orec is not None and ref in orec[many_field]:
                    orec[many_field].remove(ref)
                    self._event(many_cls, "mod", old)
                nrec = self.tables[many_cls].get(value)
                if nrec is not None:
                    nrec[many_field].append(ref)
                    self._event(many_cls, "mod", value)
        rec[field] = value
        self._event(cls, "mod", ref)

    def update(self, cls: str, ref: str, **fields: Any) -> None:
        for k, v in fields.items():
            self.set(cls, ref, k, v)

    def find(self, cls: str, pred: Callable[[dict[str, Any]], bool]) -> list[str]:
        return [r for r, rec in self.tables[cls].items() if pred(rec)]

    def find_one(self, cls: str, **match: Any) -> str:
        for r, rec in self.tables[cls].items():
            if all(rec.get(k) == v for k, v in match.items()):
                return r
        return NULL

    def refs(self, cls: str) -> Iterable[str]:
        return list(self.tables[cls].keys())
