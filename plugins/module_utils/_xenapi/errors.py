# -*- coding: utf-8 -*-
# Copyright: virtops.compute contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""xapi failures made readable: sizes in GiB/MiB, object references resolved to names.

xapi reports ``[CODE, param, ...]`` (parameter order: ``xenapi-errors.json`` / xapi's
``datamodel_errors.ml``). :func:`backend_error` keeps the code and the raw parameters (the result
carries ``error: {code, params}`` for scripts) and writes a sentence a user can act on. A reference
is resolved with one ``<class>.get_name_label`` read, only when the call failed; a read that fails
leaves the reference as it was and never hides the original error.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ansible_collections.virtops.compute.plugins.module_utils._common.errors import BackendError

NULL_REF = "OpaqueRef:NULL"
GiB = 1024**3
MiB = 1024**2

# A reader: (xapi class, field, ref) -> the field's value (``VM``, ``name_label``, ``OpaqueRef:..``).
Resolver = Callable[[str, str, str], Any]


def describe_failure(code: str, params: Sequence[Any]) -> str:
    """``INTERNAL_ERROR: boom`` / ``VM_BAD_POWER_STATE: OpaqueRef:.., halted, running``."""
    return code + (": " + ", ".join(str(p) for p in params) if params else "")


def _size(value: Any, unit: int, label: str) -> str:
    try:
        return "%.1f %s" % (int(value) / unit, label)
    except (TypeError, ValueError):
        return str(value)


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _target(method: str) -> tuple[str, str]:
    """``Async.VM.start`` -> ``("VM", "start")``."""
    parts = method.split(".")
    if parts[0] == "Async":
        parts = parts[1:]
    return (parts[0], parts[-1]) if len(parts) >= 2 else ("", method)


class _Namer:
    def __init__(self, resolve: Resolver | None) -> None:
        self._resolve = resolve

    def name(self, cls: str, ref: Any) -> str | None:
        ref = str(ref)
        if self._resolve is None or not ref.startswith("OpaqueRef:") or ref == NULL_REF:
            return None
        return self.read(cls, "name_label", ref)

    def read(self, cls: str, field: str, ref: str) -> str | None:
        if self._resolve is None:
            return None
        try:
            value = self._resolve(cls, field, ref)
        except Exception:  # one more read must never hide the real error
            return None
        return None if value is None else str(value)

    def label(self, cls: str, ref: Any) -> str:
        """``VM 'web01'`` or, when the name cannot be read, ``VM OpaqueRef:...``."""
        name = self.name(cls, ref)
        return "%s %r" % (cls, name) if name is not None else "%s %s" % (cls, ref)


def _sr_of_call(method: str, args: Sequence[Any], names: _Namer) -> str | None:
    """The SR a storage call works on, from its arguments (one extra read for VDI calls)."""
    cls, op = _target(method)
    if cls == "VDI" and op == "create" and args and isinstance(args[0], dict):
        return str(args[0].get("SR") or "") or None
    if (cls, op) in (("VDI", "copy"), ("VDI", "pool_migrate")) and len(args) > 1:
        return str(args[1])
    if cls == "VM" and op == "copy" and len(args) > 2:
        return str(args[2])
    if cls == "VDI" and args:
        return names.read("VDI", "SR", str(args[0]))
    return None


def _host_of_call(method: str, args: Sequence[Any], names: _Namer) -> str | None:
    cls, op = _target(method)
    if cls == "VM" and op in ("start_on", "resume_on", "pool_migrate") and len(args) > 1:
        return str(args[1])
    if cls == "VM" and args:
        host = names.read("VM", "resident_on", str(args[0]))
        return host if host and host != NULL_REF else None
    return None


def readable(code: str, params: Sequence[Any], method: str, args: Sequence[Any], resolve: Resolver | None) -> str:
    """A sentence for ``[code, *params]`` raised by ``method(*args)``; unknown codes keep the raw form."""
    p = [str(x) for x in params]
    names = _Namer(resolve)
    cls = _target(method)[0]
    vm_arg = str(args[0]) if cls == "VM" and args else None

    if code == "SR_FULL" and len(p) >= 2:
        sr = _sr_of_call(method, args, names)
        where = names.label("SR", sr) if sr else "the SR"
        unit, label = (GiB, "GiB") if _int(p[0]) >= GiB // 10 else (MiB, "MiB")
        return "%s: %s is full: %s requested, %s available" % (
            code,
            where,
            _size(p[0], unit, label),
            _size(p[1], unit, label),
        )
    if code == "HOST_NOT_ENOUGH_FREE_MEMORY" and len(p) >= 2:
        host = _host_of_call(method, args, names)
        where = names.label("host", host) if host else "any host of the pool"
        who = " for %s" % names.label("VM", vm_arg) if vm_arg else ""
        return "%s: not enough free memory on %s%s: %s needed, %s free" % (
            code,
            where,
            who,
            _size(p[0], MiB, "MiB"),
            _size(p[1], MiB, "MiB"),
        )
    if code == "VM_BAD_POWER_STATE" and len(p) >= 3:
        return "%s: %s is %s; this operation needs it %s" % (code, names.label("VM", p[0]), p[2], p[1])
    if code == "HANDLE_INVALID" and len(p) >= 2:
        return "%s: the %s %s does not exist (any more): it was deleted, or the reference is wrong" % (
            code,
            p[0],
            p[1],
        )
    if code == "OTHER_OPERATION_IN_PROGRESS" and len(p) >= 2:
        doing = " (%s)" % p[2] if len(p) > 2 and p[2] else ""
        return "%s: another operation%s is running on %s; try again when it has finished" % (
            code,
            doing,
            names.label(p[0], p[1]),
        )
    if code in ("VM_REQUIRES_SR", "VM_REQUIRES_NETWORK") and len(p) >= 2:
        kind = "SR" if code == "VM_REQUIRES_SR" else "network"
        return "%s: %s needs %s, which the chosen host cannot reach" % (
            code,
            names.label("VM", p[0]),
            names.label(kind, p[1]),
        )
    if code == "VDI_IN_USE" and len(p) >= 1:
        doing = " (%s)" % p[1] if len(p) > 1 else ""
        return "%s: %s is in use by another operation%s" % (code, names.label("VDI", p[0]), doing)
    if code in ("VM_MISSING_PV_DRIVERS", "VM_LACKS_FEATURE", "VM_LACKS_FEATURE_SHUTDOWN") and p:
        return "%s: %s has no guest tools (PV drivers) running, which this operation needs" % (
            code,
            names.label("VM", p[0]),
        )
    if code == "VM_IS_TEMPLATE" and p:
        return "%s: %s is a template; this operation needs a VM" % (code, names.label("VM", p[0]))
    if code == "HOST_OFFLINE" and p:
        return "%s: %s cannot be contacted" % (code, names.label("host", p[0]))
    if code == "DEVICE_ALREADY_EXISTS" and p:
        who = " on %s" % names.label("VM", vm_arg) if vm_arg else ""
        return "%s: device %s is already in use%s" % (code, p[0], who)
    if code == "MEMORY_CONSTRAINT_VIOLATION" and p:
        return "%s: the memory sizes break xapi's rule %s" % (code, p[0])
    if code == "SR_BACKEND_FAILURE_44":
        sr = _sr_of_call(method, args, names)
        return "%s: %s has not enough space left (%s)" % (
            code,
            names.label("SR", sr) if sr else "the SR",
            ", ".join(x for x in p if x) or "no details",
        )
    return describe_failure(code, p)


def backend_error(
    label: str,
    code: str,
    params: Sequence[Any],
    *,
    method: str | None = None,
    args: Sequence[Any] = (),
    resolve: Resolver | None = None,
    step: str | None = None,
) -> BackendError:
    """The typed error for a xapi failure: readable message, ``code``, raw ``params`` kept."""
    raw = [str(x) for x in params]
    text = readable(code, raw, method or label, args, resolve)
    return BackendError("%s failed: %s" % (label, text), code=code, details=raw, step=step, raw=raw)
