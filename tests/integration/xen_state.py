"""Reading the XenAPI simulator's state dump in tests."""

from __future__ import annotations

from typing import Any

MUTATING_PREFIXES = (
    "create",
    "destroy",
    "set_",
    "add_",
    "remove_",
    "plug",
    "unplug",
    "start",
    "clean_",
    "hard_",
    "shutdown",
    "pause",
    "unpause",
    "suspend",
    "resume",
    "clone",
    "copy",
    "provision",
    "resize",
    "insert",
    "eject",
    "snapshot",
    "revert",
    "pool_migrate",
    "migrate_send",
)


def pool(control: Any, index: int = 0) -> dict[str, Any]:
    return control.state()["pool%d" % index]


def vms_named(state: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return [v for v in state["VM"].values() if v["name_label"] == name and not v["is_a_snapshot"]]


def one_vm(state: dict[str, Any], name: str) -> dict[str, Any]:
    found = vms_named(state, name)
    assert len(found) == 1, "expected one VM named %r, found %d" % (name, len(found))
    return found[0]


def vm_disks(state: dict[str, Any], vm: dict[str, Any]) -> dict[int, dict[str, Any]]:
    """userdevice -> VDI record (Disk VBDs only)."""
    out = {}
    for vbd_ref in vm["VBDs"]:
        vbd = state["VBD"][vbd_ref]
        if vbd["type"] == "Disk":
            out[int(vbd["userdevice"])] = dict(state["VDI"][vbd["VDI"]], _vbd=vbd)
    return out


def vm_cds(state: dict[str, Any], vm: dict[str, Any]) -> dict[int, dict[str, Any]]:
    return {int(state["VBD"][r]["userdevice"]): state["VBD"][r] for r in vm["VBDs"] if state["VBD"][r]["type"] == "CD"}


def vm_nics(state: dict[str, Any], vm: dict[str, Any]) -> dict[int, dict[str, Any]]:
    return {int(state["VIF"][r]["device"]): state["VIF"][r] for r in vm["VIFs"]}


def mutating_calls(calls: dict[str, int]) -> dict[str, int]:
    out = {}
    for method, count in calls.items():
        name = method.split(".")[-1]
        if method.startswith("session.") or method.startswith("event.") or method.startswith("task."):
            continue
        if name.startswith(MUTATING_PREFIXES):
            out[method] = count
    return out
