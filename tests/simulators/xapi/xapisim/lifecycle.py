"""VM operation checks (xapi's check order) and allowed_operations."""

from __future__ import annotations

import functools
from typing import Any

from .model import XapiError
from .schema import ENUMS

H, P, S, R = "Halted", "Paused", "Suspended", "Running"
ALL = (H, P, S, R)

POWER: dict[str, tuple[str, ...]] = {
    **{
        op: (H,)
        for op in (
            "start",
            "start_on",
            "provision",
            "make_into_template",
            "changing_shadow_memory",
            "changing_NVRAM",
            "create_vtpm",
            "changing_VCPUs",
            "changing_static_range",
            "changing_memory_limits",
            "clone",
            "copy",
        )
    },
    "unpause": (P,),
    "resume": (S,),
    "resume_on": (S,),
    "csvm": (S,),
    **{
        op: (R,)
        for op in (
            "clean_reboot",
            "clean_shutdown",
            "pause",
            "suspend",
            "pool_migrate",
            "call_plugin",
            "send_sysrq",
            "send_trigger",
            "snapshot_with_quiesce",
            "sysprep",
            "changing_memory_live",
            "changing_VCPUs_live",
            "changing_shadow_memory_live",
            "awaiting_memory_live",
            "data_source_op",
        )
    },
    "changing_dynamic_range": (H, R),
    "destroy": (H, S),
    "export": (H, S),
    "create_template": (H, S),
    "hard_reboot": (P, R),
    "hard_shutdown": (P, S, R),
    "shutdown": (P, S, R),
    "checkpoint": (P, S, R),
    "get_boot_record": (P, S, R),
    "migrate_send": (H, S, R),
    **{
        op: ALL
        for op in (
            "snapshot",
            "revert",
            "reverting",
            "power_state_reset",
            "metadata_export",
            "assert_operation_valid",
            "update_allowed_operations",
            "query_services",
        )
    },
    "import": (),
}

IGNORED = {
    "create_template",
    "power_state_reset",
    "csvm",
    "get_boot_record",
    "send_sysrq",
    "send_trigger",
    "query_services",
    "shutdown",
    "call_plugin",
    "changing_memory_live",
    "awaiting_memory_live",
    "changing_memory_limits",
    "changing_shadow_memory_live",
    "changing_VCPUs",
    "assert_operation_valid",
    "data_source_op",
    "update_allowed_operations",
    "import",
    "reverting",
}

TEMPLATE_OK = {
    "changing_dynamic_range",
    "changing_static_range",
    "changing_memory_limits",
    "changing_shadow_memory",
    "changing_VCPUs",
    "changing_NVRAM",
    "clone",
    "copy",
    "export",
    "metadata_export",
    "provision",
}
SNAPSHOT_OK = {"revert", "clone", "copy", "export", "destroy", "hard_shutdown", "metadata_export"}
IMMOBILE_OPS = {"suspend", "checkpoint", "pool_migrate", "migrate_send"}
DOM0_OK = {
    "changing_VCPUs",
    "changing_static_range",
    "changing_memory_limits",
    "changing_dynamic_range",
    "metadata_export",
    "assert_operation_valid",
    "update_allowed_operations",
    "query_services",
    "changing_VCPUs_live",
    "changing_memory_live",
    "data_source_op",
    "call_plugin",
}


# xapi lets a hard shutdown/reboot proceed while a clean one is pending (a guest that ignores the
# ACPI request must not block the fallback); the clean operation then finds the VM halted and fails.
INTERRUPTING_OPS = frozenset({"hard_shutdown", "hard_reboot", "power_state_reset"})
INTERRUPTIBLE_OPS = frozenset({"clean_shutdown", "clean_reboot", "shutdown", "suspend", "pause"})


def is_default_template(rec: dict[str, Any]) -> bool:
    return bool(rec["is_default_template"]) or (
        rec["is_a_template"] and rec["other_config"].get("default_template") == "true"
    )


def _key(rec: dict[str, Any]) -> tuple[Any, ...]:
    cur = next(iter(rec["current_operations"].items()), None)
    return (
        rec["power_state"],
        rec["is_a_template"],
        rec["is_a_snapshot"],
        is_default_template(rec),
        rec["is_control_domain"],
        tuple(sorted(rec["blocked_operations"].items())),
        cur,
        rec["platform"].get("nomigrate") == "true" or rec["platform"].get("nested-virt") == "true",
        rec.get("_guest_support", (True, ())),
    )


def check(rec: dict[str, Any], ref: str, op: str) -> XapiError | None:
    return _check(_key(rec), ref, op)


def _check(key: tuple[Any, ...], ref: str, op: str) -> XapiError | None:
    ps, template, snapshot, default_tmpl, dom0, blocked, cur, immobile, guest = key
    blocked_d = dict(blocked)
    if op in blocked_d:
        return XapiError("OPERATION_BLOCKED", ref, blocked_d[op])
    allowed = POWER.get(op, ALL)
    ok = ps in allowed
    if not ok and op in ("clone", "copy") and ps == S and snapshot:
        ok = True
    if not ok and dom0 and op in ("changing_VCPUs", "changing_static_range", "changing_memory_limits") and ps == R:
        ok = True
    if not ok:
        return XapiError("VM_BAD_POWER_STATE", ref, ", ".join(s.lower() for s in allowed), ps.lower())
    if cur is not None and not (op in INTERRUPTING_OPS and cur[1] in INTERRUPTIBLE_OPS):
        return XapiError("OTHER_OPERATION_IN_PROGRESS", "VM", ref, cur[1], cur[0])
    if (
        template
        and not snapshot
        and op not in TEMPLATE_OK
        and not (not default_tmpl and op in ("destroy", "migrate_send"))
    ):
        return XapiError("VM_IS_TEMPLATE", ref, op)
    if snapshot and op not in SNAPSHOT_OK:
        return XapiError("VM_IS_SNAPSHOT", ref, op)
    if op == "provision" and not template:
        return XapiError("PROVISION_ONLY_ALLOWED_ON_TEMPLATE")
    if op == "revert" and not snapshot:
        return XapiError("REVERT_ONLY_ALLOWED_ON_SNAPSHOT")
    if op in IMMOBILE_OPS and immobile:
        return XapiError("VM_IS_IMMOBILE", ref)
    if dom0 and op not in DOM0_OK:
        return XapiError("OPERATION_NOT_ALLOWED", "This operation is not allowed on the control domain")
    return _check_feature(ps, guest, ref, op)


def _check_feature(ps: str, guest: tuple[bool, tuple[str, ...]], ref: str, op: str) -> XapiError | None:
    """xapi_vm_lifecycle.ml ``check_op_for_feature`` (strict, as ``with_vm_operation`` calls it): a live
    HVM guest without PV drivers needs the guest agent's feature flags for the operations the guest
    must carry out itself."""
    implicit, features = guest
    live = ps in (R, P)
    if not live or implicit:
        return None
    have = set(features)
    if op in ("suspend", "checkpoint", "pool_migrate", "migrate_send") and "feature-suspend" not in have:
        return XapiError("VM_LACKS_FEATURE", ref)
    if op == "clean_shutdown" and not have & {"feature-shutdown", "feature-poweroff"}:
        return XapiError("VM_LACKS_FEATURE", ref)
    if op == "clean_reboot" and not have & {"feature-shutdown", "feature-reboot"}:
        return XapiError("VM_LACKS_FEATURE", ref)
    if op == "changing_VCPUs_live" and "feature-vcpu-hotplug" not in have:
        return XapiError("VM_LACKS_FEATURE", ref)
    return None


@functools.lru_cache(maxsize=4096)
def _allowed(key: tuple[Any, ...]) -> tuple[str, ...]:
    return tuple(op for op in ENUMS["vm_operations"] if op not in IGNORED and _check(key, "", op) is None)


def allowed_operations(rec: dict[str, Any]) -> list[str]:
    return list(_allowed(_key(rec)))


def assert_op(rec: dict[str, Any], ref: str, op: str) -> None:
    err = check(rec, ref, op)
    if err is not None:
        raise err
