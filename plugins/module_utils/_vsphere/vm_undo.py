# -*- coding: utf-8 -*-
# Copyright: virtops.compute contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Inverses of vmware_vm's update steps, for the undo stack.

A run's configuration changes go into one ``ReconfigVM_Task``, which vSphere applies whole or not
at all; its inverse is a second reconfigure that puts back the values read before the run
(CPUs, memory, hot-add flags, annotation, extra_config keys, name, edited NICs and CD drive) and
removes the disks, NICs and controllers it added. A grown or removed disk and a removed NIC cannot
be put back: they are reported as left changed. The power state is restored by
:func:`restore_power`, which fails with :class:`PowerRestoreFailed` naming the current state.
"""

from __future__ import annotations

import copy
from typing import Any

from ansible_collections.virtops.compute.plugins.module_utils._common.changeset import ChangeSet
from ansible_collections.virtops.compute.plugins.module_utils._common.undo import restore_power_state

from .client import vim
from .facts import SCSI_TYPES, cls_name, controllers, devices

POWER_STEPS = ("power_on", "power_off", "hard_power_off", "suspend")
NO_INVERSE = ("grow_disk", "remove_disk", "remove_nic")


def restore_power(b: Any, vm: Any, original: str, timeout: float, shutdown_timeout: float) -> None:
    """Take ``vm`` back to ``original`` from whatever state it is in now."""
    restore_power_state(
        lambda: b.power_state(vm),
        b.transition_steps,
        lambda step: b.run_step(vm, step, timeout, shutdown_timeout),
        original,
    )


def revert_config(
    b: Any, vm: Any, props: dict[str, Any], items: list[tuple[str, str, bool, dict[str, Any]]], timeout: float
) -> None:
    """One reconfigure that undoes ``items`` (see the module docstring)."""
    hw: Any = props["config.hardware"]
    spec = vim.vm.ConfigSpec()
    names = {name for name, _d, _h, _p in items}
    if "set_cpus" in names:
        spec.numCPUs = hw.numCPU
    if "set_cores_per_socket" in names:
        spec.numCoresPerSocket = hw.numCoresPerSocket
    if "set_memory" in names:
        spec.memoryMB = hw.memoryMB
    if "set_cpu_hot_add" in names:
        spec.cpuHotAddEnabled = bool(props.get("config.cpuHotAddEnabled"))
    if "set_memory_hot_add" in names:
        spec.memoryHotAddEnabled = bool(props.get("config.memoryHotAddEnabled"))
    if "set_annotation" in names:
        spec.annotation = props.get("config.annotation") or ""
    if "rename" in names:
        spec.name = props.get("name")
    old_extra = {o.key: o.value for o in props.get("config.extraConfig") or []}
    extra = []
    for name, _d, _h, params in items:
        if name == "set_extra_config":
            extra += [vim.option.OptionValue(key=k, value=old_extra.get(k, "")) for k in params.get("keys", [])]
    if extra:
        spec.extraConfig = extra
    old_devs = {d.key: d for d in devices(props)}
    now = devices(b.read_vm(vm))
    ctrls = controllers(now)
    scsi_bus = {c.key: c.busNumber for c in ctrls.values() if cls_name(c) in SCSI_TYPES}
    nics = sorted((d for d in now if hasattr(d, "macAddress") and hasattr(d, "addressType")), key=lambda d: d.key)
    changes = []
    for name, _d, _h, params in items:
        if name == "add_disk":
            for d in now:
                if (
                    cls_name(d) == "VirtualDisk"
                    and d.key not in old_devs
                    and scsi_bus.get(d.controllerKey) == params.get("controller_bus")
                    and d.unitNumber == params.get("unit_number")
                ):
                    changes.append(
                        vim.vm.device.VirtualDeviceSpec(operation="remove", fileOperation="destroy", device=d)
                    )
        elif name == "add_nic":
            index = params.get("device")
            if index is not None and index < len(nics) and nics[index].key not in old_devs:
                changes.append(vim.vm.device.VirtualDeviceSpec(operation="remove", device=nics[index]))
        elif name == "add_controller":
            for c in ctrls.values():
                if c.key not in old_devs and c.key in scsi_bus and c.busNumber == params.get("controller_bus"):
                    changes.append(vim.vm.device.VirtualDeviceSpec(operation="remove", device=c))
        elif name in ("edit_nic", "set_cdrom"):
            changes += _edit_back(name, params, old_devs, nics)
    if changes:
        spec.deviceChange = changes
    b.reconfigure(vm, spec, timeout)


def _edit_back(name: str, params: dict[str, Any], old_devs: dict[int, Any], nics: list[Any]) -> list[Any]:
    if name == "edit_nic":
        old_nics = sorted((d for d in old_devs.values() if hasattr(d, "macAddress")), key=lambda d: d.key)
        index = params.get("device")
        if index is None or index >= len(old_nics):
            return []
        return [vim.vm.device.VirtualDeviceSpec(operation="edit", device=copy.deepcopy(old_nics[index]))]
    cds = [d for d in old_devs.values() if cls_name(d) == "VirtualCdrom"]
    return (
        [vim.vm.device.VirtualDeviceSpec(operation="edit", device=copy.deepcopy(min(cds, key=lambda d: d.key)))]
        if cds
        else []
    )


def attach_inverses(
    cs: ChangeSet, b: Any, vm: Any, props: dict[str, Any], cur: dict[str, Any], rc: Any, timeout: float, sdt: float
) -> None:
    power = cur["power_state"]
    had_cd = bool(cur.get("cdroms"))
    items = list(rc.items)
    for op in cs.operations:
        if op.name in POWER_STEPS:
            op.reversible("restore power state %s" % power, lambda: restore_power(b, vm, power, timeout, sdt))
        elif op.name == "reconfigure":
            op.reversible("revert the configuration", lambda: revert_config(b, vm, props, items, timeout))
            op.left_changed = [
                desc for name, desc, _h, _p in items if name in NO_INVERSE or (name == "set_cdrom" and not had_cd)
            ]
