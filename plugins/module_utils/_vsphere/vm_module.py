# -*- coding: utf-8 -*-
# Copyright: virtops.compute contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The flow of ``vmware_vm``: read once, plan, predict or apply under an undo stack, read again."""

from __future__ import annotations

from typing import Any

from ansible_collections.virtops.compute.plugins.module_utils._common.errors import NotFound
from ansible_collections.virtops.compute.plugins.module_utils._common.net import usable_ips
from ansible_collections.virtops.compute.plugins.module_utils._common.undo import UndoStack

from .facts import vm_facts
from .lookup import Inventory, find_vm
from .vm_plan import VMPlanner
from .vm_spec import VMSpec, parse_spec


def read_current(backend: Any, spec: VMSpec) -> tuple[Any | None, dict[str, Any] | None, Inventory]:
    """The VM (or None), its properties and the inventory.

    By name: ``CreateContainerView`` + ``RetrievePropertiesEx`` (inventory) + ``RetrievePropertiesEx`` (VM).
    By uuid: ``FindByUuid`` + view + ONE ``RetrievePropertiesEx`` (inventory and VM together); by moid
    the same without ``FindByUuid``.
    """
    if spec.moid or spec.uuid:
        vm = backend.client.ref("VirtualMachine", spec.moid) if spec.moid else find_vm(backend.client, uuid=spec.uuid)
        if vm is not None:
            try:
                props, inv = backend.read_vm_and_inventory(vm, full=True)
                return vm, props, inv
            except NotFound:
                pass
        if spec.state == "present":
            # an identity that matches nothing never creates: a uuid or MoID cannot be chosen (issue 10)
            key, value = ("moid", spec.moid) if spec.moid else ("uuid", spec.uuid)
            raise NotFound(
                "%s: no VM with %s %r; a %s cannot be chosen, so it never creates a VM%s"
                % (
                    key,
                    "MoID" if key == "moid" else "uuid",
                    value,
                    "MoID" if key == "moid" else "uuid",
                    ": omit %s to create one named %r" % (key, spec.name) if spec.name else "",
                ),
                param=key,
            )
        return None, None, backend.inventory(full=True)
    inv = backend.inventory(full=True)
    vm = find_vm(backend.client, name=spec.name, folder=spec.folder, datacenter=spec.datacenter, inventory=inv)
    return vm, (backend.read_vm(vm) if vm is not None else None), inv


def run_vmware_vm(module: Any) -> dict[str, Any]:
    spec = parse_spec(module.params)  # bad input fails here, before the first call
    b = module.backend
    vm, props, inv = read_current(b, spec)
    planner = VMPlanner(b, spec, inv, vm, props)
    if vm is None and planner.res.template is not None:
        planner.template_props = b.read_vm(planner.res.template.obj)
    cs = planner.plan()

    if module.check_mode or not cs.changed:
        result = cs.result("vm")
        running = result["vm"].get("power_state") == "running"
        if not module.check_mode and vm is not None and spec.wait_for_ip and running:
            result["vm"] = _wait_and_refresh(b, spec, vm, inv, result["vm"])
        return _with_notes(result, b)

    if spec.state == "absent":
        cs.apply()
        return _with_notes(cs.result("vm", {}), b)
    if vm is None:
        with UndoStack() as undo:
            with undo.step("clone" if planner.res.template is not None else "create"):
                if planner.res.template is not None:
                    vm = b.clone(
                        planner.res.template.obj, planner.res.folder.obj, spec.name, planner.clone_spec(), spec.timeout
                    )
                else:
                    vm = b.create(
                        planner.res.folder.obj,
                        planner.create_spec(),
                        planner.res.pool.obj,
                        planner.res.host.obj if planner.res.host else None,
                        spec.timeout,
                    )
            new_vm = vm
            undo.push("destroy the new VM %r" % spec.name, lambda: b.delete_vm_quietly(new_vm, spec.timeout))
            with undo.step("configure"):
                VMPlanner(b, spec, inv, vm, b.read_vm(vm)).plan().apply()
    else:
        with UndoStack() as undo:  # an update: the reconfigure is reverted, the power state restored
            cs.apply(undo)
    facts = vm_facts(b.read_vm(vm), inv, vm._moId)
    if spec.wait_for_ip and facts["power_state"] == "running":
        facts = _wait_and_refresh(b, spec, vm, inv, facts)
    result = cs.result("vm", facts)
    result["diff"]["after"] = facts
    return _with_notes(result, b)


def _wait_and_refresh(b: Any, spec: VMSpec, vm: Any, inv: Inventory, facts: dict[str, Any]) -> dict[str, Any]:
    w = spec.wait_for_ip or {}
    if usable_ips(facts.get("ipv4", []) + facts.get("ipv6", []), w.get("family", "ipv4"), w.get("cidr")):
        return facts
    b.wait_for_ip(vm, w.get("family", "ipv4"), w.get("cidr"), w.get("timeout", 300))
    return vm_facts(b.read_vm(vm), inv, vm._moId)


def _with_notes(result: dict[str, Any], backend: Any) -> dict[str, Any]:
    if backend.notes:
        result["notes"] = list(backend.notes)
    return result
