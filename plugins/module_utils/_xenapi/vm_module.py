# -*- coding: utf-8 -*-
# Copyright: virtops.compute contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The flow of ``xen_vm``: read once, plan, predict or apply under an undo stack, read again."""

from __future__ import annotations

from typing import Any

from ansible_collections.virtops.compute.plugins.module_utils._common.configdrive import build_config_drive
from ansible_collections.virtops.compute.plugins.module_utils._common.net import usable_ips
from ansible_collections.virtops.compute.plugins.module_utils._common.undo import UndoStack

from .facts import vm_facts
from .vm_plan import VMPlanner
from .vm_spec import parse_spec


def run_xen_vm(module: Any) -> dict[str, Any]:
    spec = parse_spec(module.params)  # bad input fails here, before the first call
    backend = module.backend
    iso = spec.cdrom is not None and bool(spec.cdrom.get("iso"))
    snap = backend.read(
        spec.read_scope,
        spec.name,
        spec.uuid,
        # is_template (true or false) also finds templates: turning a template back into a VM needs it
        templates=spec.is_template is not None,
        iso=iso,
        pool_on_miss=spec.state == "present",
    )

    def config_drive(instance_id: str, hostname: str) -> tuple[bytes, str]:
        ci = spec.cloud_init
        if ci is None:  # only called when cloud_init is set
            raise ValueError("cloud_init is not set")
        return build_config_drive(
            ci.user_data, ci.meta_data, ci.network_config, fmt=ci.fmt, instance_id=instance_id, hostname=hostname
        )

    planner = VMPlanner(backend, spec, snap, config_drive if spec.cloud_init else None)
    cs, ref = planner.plan()

    if module.check_mode or not cs.changed:
        result = _with_diff_notes(cs.result("vm"), planner)
        if not module.check_mode and ref and spec.wait_for_ip and result["vm"].get("power_state") == "running":
            result["vm"] = _wait_and_refresh(backend, spec, ref, result["vm"])
        return result

    if spec.state == "absent":
        cs.apply()
        return cs.result("vm", {})
    if ref is None:
        # Under the pool-wide lock for this name, read and plan again: a run that raced us may
        # have created the VM meanwhile, and then this run converges onto it instead of making
        # a second VM with the same name.
        with backend.creation_lock(spec.name, spec.timeout):
            planner = VMPlanner(backend, spec, backend.snapshot(), planner.config_drive)
            cs, ref = planner.plan()
            with UndoStack() as undo:
                if ref is None:
                    ref = planner.apply_create(undo)
                else:
                    cs.apply(undo)
    else:
        with UndoStack() as undo:  # an update: each step registers its inverse, the power state is restored
            cs.apply(undo)
    snap = backend.reread(spec.read_scope, ref, iso=iso)
    rec = snap.get("VM", ref)
    vm = vm_facts(snap, ref, rec) if rec else {}
    if spec.wait_for_ip and vm.get("power_state") == "running":
        vm = _wait_and_refresh(backend, spec, ref, vm)
    result = cs.result("vm", vm)
    result["diff"]["after"] = vm
    return _with_diff_notes(result, planner)


def _with_diff_notes(result: dict[str, Any], planner: Any) -> dict[str, Any]:
    """Add what only the diff shows (cloud-init user data as lines) to its sides."""
    for side, extra in planner.diff_notes.items():
        if extra:
            result["diff"][side] = dict(result["diff"][side], **extra)
    return result


def _wait_and_refresh(backend: Any, spec: Any, ref: str, vm: dict[str, Any]) -> dict[str, Any]:
    w = spec.wait_for_ip
    have = usable_ips(vm.get("ipv4", []) + vm.get("ipv6", []), w["family"], w.get("cidr"))
    if have:
        return vm
    backend.wait_for_ip(ref, w["family"], w.get("cidr"), w["timeout"])
    snap = backend.reread(spec.read_scope, ref)
    rec: dict[str, Any] | None = snap.get("VM", ref)
    return vm_facts(snap, ref, rec) if rec else vm
