# -*- coding: utf-8 -*-
# Copyright: virtops.compute contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Inverses of xen_vm's update steps, for the undo stack.

Each inverse restores what the VM record (and its devices) held before the run, read from the same
snapshot the plan came from, or removes what a step added, found again by device number. Steps with
no inverse (a grown disk, a removed disk, a regenerated config drive) get none and are reported as
left changed. The power state is restored by :func:`restore_power`, which fails with
:class:`PowerRestoreFailed` naming the VM's current power state.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ansible_collections.virtops.compute.plugins.module_utils._common.changeset import ChangeSet, Operation
from ansible_collections.virtops.compute.plugins.module_utils._common.undo import restore_power_state

from .facts import power_state
from .lookup import NULL_REF, PoolSnapshot, Record

MiB = 1024 * 1024


def restore_power(b: Any, vm: str, original: str, timeout: float, shutdown_timeout: float) -> None:
    """Take ``vm`` back to ``original`` from whatever state it is in now."""
    restore_power_state(
        lambda: str(b.conn.call("VM.get_power_state", vm, read_only=True)).lower(),
        b.transition_steps,
        lambda step: b.run_step(vm, step, timeout, shutdown_timeout),
        original,
    )


def _vbd_at(b: Any, vm: str, userdevice: int, kind: str) -> tuple[str, Record] | None:
    for vbd in b.conn.call("VM.get_VBDs", vm, read_only=True):
        rec = b.conn.call("VBD.get_record", vbd, read_only=True)
        if rec.get("type") == kind and str(rec.get("userdevice")) == str(userdevice):
            return vbd, rec
    return None


def _vif_at(b: Any, vm: str, device: int) -> tuple[str, Record] | None:
    for vif in b.conn.call("VM.get_VIFs", vm, read_only=True):
        rec = b.conn.call("VIF.get_record", vif, read_only=True)
        if str(rec.get("device")) == str(device):
            return vif, rec
    return None


def remove_disk_at(b: Any, vm: str, userdevice: int) -> None:
    found = _vbd_at(b, vm, userdevice, "Disk")
    if found is not None:
        vbd, rec = found
        b.remove_disk(vbd, rec["VDI"], bool(rec.get("currently_attached")))


def remove_cd_at(b: Any, vm: str, userdevice: int) -> None:
    found = _vbd_at(b, vm, userdevice, "CD")
    if found is not None:
        vbd, rec = found
        if rec.get("currently_attached"):
            b.devices.unplug_vbd(vbd)
        b.devices.destroy_vbd(vbd)


def restore_cd(b: Any, vm: str, userdevice: int, vdi: str | None, live: bool) -> None:
    found = _vbd_at(b, vm, userdevice, "CD")
    if found is None:
        b.devices.create_vbd(vm, vdi, userdevice, "CD", "RO", False, vdi is None)
        return
    vbd, rec = found
    if live:
        b.swap_cd(vbd, vdi, not rec.get("empty"))
    else:
        b.replace_cd_vbd(vm, vbd, vdi, userdevice)


def restore_nic(b: Any, vm: str, device: int, old: Record | None, live: bool) -> None:
    """Remove the NIC now at ``device`` (if any) and re-create the one it replaced (same network, MAC, MTU)."""
    found = _vif_at(b, vm, device)
    if found is not None:
        b.remove_nic(found[0], bool(found[1].get("currently_attached")))
    if old is not None:
        mtu = int(old.get("MTU") or 0) or None
        b.add_nic(vm, old["network"], device, old.get("MAC") or None, mtu, live and bool(old.get("currently_attached")))


def attach_inverses(cs: ChangeSet, b: Any, ref: str, snap: PoolSnapshot, timeout: float, sdt: float) -> None:
    """Give each operation of an update its inverse, from the VM's state before the run."""
    rec = snap.get("VM", ref) or {}
    power = power_state(rec)
    cycling = any(op.name == "shutdown" for op in cs.operations)
    live = power == "running" and not cycling
    vbds = {r: snap.get("VBD", r) or {} for r in rec.get("VBDs", [])}
    disks = {int(v.get("userdevice", -1)): (r, v) for r, v in vbds.items() if v.get("type") == "Disk"}
    cds = {int(v.get("userdevice", -1)): (r, v) for r, v in vbds.items() if v.get("type") == "CD"}
    vifs = {int((snap.get("VIF", r) or {}).get("device", -1)): snap.get("VIF", r) for r in rec.get("VIFs", [])}

    def call(method: str, *args: Any) -> Callable[[], Any]:
        return lambda: b.conn.call(method, ref, *args)

    def vcpus() -> None:
        # xapi requires VCPUs_at_startup <= VCPUs_max at every moment: order the two calls.
        at_startup, vmax = str(rec.get("VCPUs_at_startup")), str(rec.get("VCPUs_max"))
        if int(vmax) >= int(b.conn.call("VM.get_VCPUs_max", ref, read_only=True)):
            b.conn.call("VM.set_VCPUs_max", ref, vmax)
            b.conn.call("VM.set_VCPUs_at_startup", ref, at_startup)
        else:
            b.conn.call("VM.set_VCPUs_at_startup", ref, at_startup)
            b.conn.call("VM.set_VCPUs_max", ref, vmax)

    mem = [str(rec.get(k)) for k in ("memory_static_min", "memory_static_max", "memory_dynamic_min")]
    mem.append(str(rec.get("memory_dynamic_max")))
    fields: dict[str, tuple[str, Callable[[], Any]]] = {
        "shutdown": ("restore power state %s" % power, lambda: restore_power(b, ref, power, timeout, sdt)),
        "set_vcpus": ("restore vcpus %s" % rec.get("VCPUs_at_startup"), vcpus),
        "set_memory": (
            "restore memory %sMiB" % (int(rec.get("memory_static_max", 0)) // MiB),
            call("VM.set_memory_limits", *mem),
        ),
        "set_platform": ("restore platform", call("VM.set_platform", rec.get("platform", {}))),
        "set_firmware": ("restore firmware", call("VM.set_HVM_boot_params", rec.get("HVM_boot_params", {}))),
        "set_boot_order": ("restore boot order", call("VM.set_HVM_boot_params", rec.get("HVM_boot_params", {}))),
        "set_is_template": ("restore template flag", call("VM.set_is_a_template", rec.get("is_a_template", False))),
        "set_description": ("restore description", call("VM.set_name_description", rec.get("name_description", ""))),
        "rename": ("restore name %r" % rec.get("name_label"), call("VM.set_name_label", rec.get("name_label", ""))),
        "set_home_server": ("restore home server", call("VM.set_affinity", rec.get("affinity", NULL_REF))),
        "set_tags": ("restore tags", call("VM.set_tags", rec.get("tags", []))),
        "set_other_config": ("restore other_config", call("VM.set_other_config", rec.get("other_config", {}))),
        "set_xenstore_data": ("restore xenstore_data", call("VM.set_xenstore_data", rec.get("xenstore_data", {}))),
        "set_bootable": (
            "restore blocked operations",
            call("VM.set_blocked_operations", rec.get("blocked_operations", {})),
        ),
    }
    for op in cs.operations:
        if op.name in fields:
            op.reversible(*fields[op.name])
        elif op.name.startswith("power_"):
            op.reversible("restore power state %s" % power, lambda: restore_power(b, ref, power, timeout, sdt))
        else:
            _device_inverse(op, b, ref, snap, disks, cds, vifs, live)


def _device_inverse(
    op: Operation,
    b: Any,
    ref: str,
    snap: PoolSnapshot,
    disks: dict[int, tuple[str, Record]],
    cds: dict[int, tuple[str, Record]],
    vifs: dict[int, Record | None],
    live: bool,
) -> None:
    dev = op.params.get("userdevice", op.params.get("device"))
    if op.name == "add_disk":
        op.reversible("remove the new disk %d" % dev, lambda: remove_disk_at(b, ref, dev))
    elif op.name == "rename_disk" and dev in disks:
        vdi = disks[dev][1]["VDI"]
        old = (snap.get("VDI", vdi) or {}).get("name_label", "")
        op.reversible("restore the name of disk %d" % dev, lambda: b.conn.call("VDI.set_name_label", vdi, old))
    elif op.name == "set_disk_bootable" and dev in disks:
        vbd, vrec = disks[dev]
        op.reversible(
            "restore bootable of disk %d" % dev, lambda: b.conn.call("VBD.set_bootable", vbd, vrec.get("bootable"))
        )
    elif op.name == "add_nic":
        op.reversible("remove the new NIC %d" % dev, lambda: restore_nic(b, ref, dev, None, live))
    elif op.name in ("replace_nic", "remove_nic") and dev in vifs:
        old = vifs[dev]
        op.reversible("re-create NIC %d as it was" % dev, lambda: restore_nic(b, ref, dev, old, live))
    elif op.name == "add_cdrom":
        op.reversible("remove the new CD drive %d" % dev, lambda: remove_cd_at(b, ref, dev))
    elif op.name == "change_cdrom":
        old_vdi = cds[dev][1].get("VDI") if dev in cds else None
        vdi = old_vdi if old_vdi and old_vdi != NULL_REF else None
        op.reversible("restore CD %d" % dev, lambda: restore_cd(b, ref, dev, vdi, live))
