# -*- coding: utf-8 -*-
# Copyright: virtops.compute contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The flow of ``vmware_vm_info``: find, read in one call, report."""

from __future__ import annotations

from typing import Any

from ansible_collections.virtops.compute.plugins.module_utils._common.errors import InvalidInput, NotFound

from .facts import DIAG_PROPS, VM_PROPS, diagnostics, vm_facts
from .lookup import find_vm


def run_vmware_vm_info(module: Any) -> dict[str, Any]:
    p = module.params
    b = module.backend
    diag = bool(p.get("diagnostics"))
    paths = VM_PROPS + (DIAG_PROPS if diag else [])
    if not (p.get("name") or p.get("uuid") or p.get("moid")):
        if not p.get("folder"):
            raise InvalidInput("name", "give name, uuid, moid or folder")
        inv = b.inventory(full=True)
        dc = inv.resolve("datacenter", p["datacenter"], "datacenter") if p.get("datacenter") else None
        folder = inv.resolve_folder(p["folder"], dc)
        members = [e for e in inv.of("vm") if e.get("parent") is not None and e.get("parent")._moId == folder.moid]
        read = b.client.properties_of([(e.obj, paths) for e in members]) if members else {}
        vms = []
        for e in sorted(members, key=lambda e: e.name):
            vms.append(_report(b, read[e.moid], inv, e.obj, diag, p.get("console")))
        return {"changed": False, "vms": vms}
    inv = b.inventory(full=True)
    vm = find_vm(
        b.client,
        name=p.get("name"),
        uuid=p.get("uuid"),
        moid_=p.get("moid"),
        folder=p.get("folder"),
        datacenter=p.get("datacenter"),
        inventory=inv,
    )
    if vm is None:
        raise NotFound(
            "no VM with %s" % ", ".join("%s=%r" % (k, p[k]) for k in ("name", "uuid", "moid", "folder") if p.get(k))
        )
    props = b.client.properties(vm, paths)
    return {"changed": False, "vm": _report(b, props, inv, vm, diag, p.get("console"))}


def _report(b: Any, props: dict[str, Any], inv: Any, vm: Any, diag: bool, console: bool) -> dict[str, Any]:
    facts = vm_facts(props, inv, vm._moId)
    if diag:
        facts["diagnostics"] = diagnostics(props)
    if console:
        ticket, reason = b.console(vm)
        facts["console"] = ticket
        if reason:
            facts["console_unavailable_reason"] = reason
    return facts
