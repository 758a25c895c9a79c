# -*- coding: utf-8 -*-
# Copyright: virtops.compute contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""vmware_vm_power through real ansible-playbook runs against vcsim; vcsim's state (read with pyvmomi) is the oracle."""

from __future__ import annotations

import glob
import os
from typing import Any

import pytest
from playbook_runner import ok, run_playbook
from pyVim.task import WaitForTask
from pyVmomi import vim, vmodl

VM = "DC0_H0_VM0"
TEMPLATE = "DC0_H0_VM1"
RESCUE = VM + "-rescue"


# ---------------------------------------------------------------------- vcsim state, read with pyvmomi
def dump(si: Any) -> dict[str, dict[str, Any]]:
    """Every VM's power state, snapshot tree, devices and extraConfig, in one PropertyCollector read."""
    content = si.RetrieveContent()
    view = content.viewManager.CreateContainerView(content.rootFolder, [vim.VirtualMachine], True)
    PC = vmodl.query.PropertyCollector
    spec = PC.FilterSpec(
        objectSet=[
            PC.ObjectSpec(
                obj=view,
                skip=True,
                selectSet=[PC.TraversalSpec(name="v", path="view", skip=False, type=vim.view.ContainerView)],
            )
        ],
        propSet=[
            PC.PropertySpec(
                type=vim.VirtualMachine,
                pathSet=["name", "runtime.powerState", "snapshot", "config.hardware.device", "config.extraConfig"],
            )
        ],
    )
    try:
        objects = content.propertyCollector.RetrievePropertiesEx([spec], PC.RetrieveOptions()).objects
    finally:
        view.Destroy()
    out = {}
    for oc in objects:
        p = {x.name: x.val for x in oc.propSet}
        snap = p.get("snapshot")
        ec: dict[str, str] = {}
        for o in p.get("config.extraConfig") or []:
            ec[o.key] = o.value  # last one wins (vcsim appends)
        out[p["name"]] = {
            "moid": oc.obj._moId,
            "power": p["runtime.powerState"],
            "snapshots": _tree(snap.rootSnapshotList) if snap else [],
            "current": snap.currentSnapshot._moId if snap and snap.currentSnapshot else None,
            "devices": sorted(
                (type(d).__name__.rsplit(".", 1)[-1], d.key, getattr(getattr(d, "backing", None), "fileName", None))
                for d in p.get("config.hardware.device") or []
            ),
            "extra_config": {k: v for k, v in ec.items() if v},
        }
    return out


def _tree(nodes: Any) -> list[Any]:
    return [(n.id, n.name, n.snapshot._moId, _tree(n.childSnapshotList)) for n in nodes or []]


def disks(state: dict[str, Any], name: str) -> list[str]:
    return [f for (cls, _key, f) in state[name]["devices"] if cls == "VirtualDisk"]


def vm_obj(si: Any, name: str) -> Any:
    content = si.RetrieveContent()
    return content.searchIndex.FindChild(content.rootFolder.childEntity[0].vmFolder, name)


# ---------------------------------------------------------------------- helpers
@pytest.fixture
def power(vsphere_conn: dict[str, Any]):  # type: ignore[no-untyped-def]
    conn = vsphere_conn

    def task(**args: Any) -> dict[str, Any]:
        return {"name": "vmware_vm_power", "virtops.compute.vmware_vm_power": dict(conn, **args), "ignore_errors": True}

    return task


# ---------------------------------------------------------------------- target states
@pytest.mark.vcsim(trace=True)
@pytest.mark.parametrize(
    "start,target,vsphere",
    [
        ("poweredOn", "halted", "poweredOff"),
        ("poweredOff", "running", "poweredOn"),
        ("poweredOn", "suspended", "suspended"),
        ("suspended", "running", "poweredOn"),
        ("suspended", "halted", "poweredOff"),
    ],
)
def test_target_state(si: Any, vcsim: Any, power: Any, start: str, target: str, vsphere: str) -> None:
    vm = vm_obj(si, VM)
    if start == "poweredOff":
        WaitForTask(vm.PowerOffVM_Task())
    elif start == "suspended":
        WaitForTask(vm.SuspendVM_Task())
    before = dump(si)

    check = run_playbook([power(name=VM, state=target)], check=True, diff=True)
    res = ok(check)
    assert res["changed"] is True and res["vm"]["power_state"] == target
    assert res["diff"]["after"]["power_state"] == target != res["diff"]["before"]["power_state"]
    assert dump(si) == before  # check mode changed nothing

    mark = vcsim.trace_mark()
    run = run_playbook([power(name=VM, state=target), power(name=VM, state=target)], diff=True)
    res = ok(run, 0)
    assert res["changed"] is True and res["vm"]["power_state"] == target
    assert dump(si)[VM]["power"] == vsphere
    assert res["diff"] == {"before": check.result()["diff"]["before"], "after": check.result()["diff"]["after"]}
    assert "power_state" in run.stdout  # --diff rendered
    assert ok(run, 1)["changed"] is False and run.result(1)["changes"] == []  # idempotent second run
    mutating = [c for c in vcsim.trace_calls(since=mark) if c.endswith("_Task") or c.endswith("Guest")]
    assert len(mutating) == len(res["changes"]), mutating  # one call per planned step, none in the second run


@pytest.mark.vcsim(trace=True)
def test_halted_is_a_guest_shutdown_first(si: Any, vcsim: Any, power: Any) -> None:
    mark = vcsim.trace_mark()
    res = ok(run_playbook([power(name=VM, state="halted")]))
    assert res["halt_method"] == "guest"
    calls = vcsim.call_counter(since=mark)
    assert calls["ShutdownGuest"] == 1 and calls["PowerOffVM_Task"] == 0
    assert dump(si)[VM]["power"] == "poweredOff"


@pytest.mark.vcsim(trace=True)
def test_force_halt_is_a_hard_power_off(si: Any, vcsim: Any, power: Any) -> None:
    mark = vcsim.trace_mark()
    res = ok(run_playbook([power(name=VM, state="halted", force=True)]))
    assert res["halt_method"] == "hard"
    calls = vcsim.call_counter(since=mark)
    assert calls["PowerOffVM_Task"] == 1 and calls["ShutdownGuest"] == 0
    assert dump(si)[VM]["power"] == "poweredOff"


@pytest.mark.vcsim(trace=True)
def test_lookup_by_uuid_and_moid(si: Any, vcsim: Any, power: Any) -> None:
    vm = vm_obj(si, VM)
    uuid, moid = vm.config.instanceUuid, vm._moId
    run = run_playbook([power(uuid=uuid, state="halted", force=True), power(moid=moid, state="running")])
    assert [ok(run, i)["changed"] for i in range(2)] == [True, True]
    assert run.result(0)["vm"]["moid"] == moid and dump(si)[VM]["power"] == "poweredOn"


# ---------------------------------------------------------------------- restart / reset
@pytest.mark.vcsim(trace=True)
def test_restarted_falls_back_to_reset_and_reports_it(si: Any, vcsim: Any, power: Any) -> None:
    # a guest without VMware Tools cannot reboot itself (vcsim patch 0002: extraConfig vcsim.guest.tools=none);
    # the guest reboot of a VM with Tools: test_vmware_guest_and_paging.py
    vm = vm_obj(si, VM)
    WaitForTask(
        vm.ReconfigVM_Task(
            spec=vim.vm.ConfigSpec(extraConfig=[vim.option.OptionValue(key="vcsim.guest.tools", value="none")])
        )
    )
    WaitForTask(vm.ResetVM_Task())
    before = dump(si)
    check = run_playbook([power(name=VM, state="restarted")], check=True)
    assert ok(check)["changed"] is True and dump(si) == before

    mark = vcsim.trace_mark()
    res = ok(run_playbook([power(name=VM, state="restarted")], diff=True))
    assert res["changed"] is True and res["restart_method"] == "reset"
    assert any("ToolsUnavailable" in n for n in res["notes"]), res["notes"]
    assert res["diff"]["after"]["restarted"] == "reset"
    calls = vcsim.call_counter(since=mark)
    assert calls["RebootGuest"] == 1 and calls["ResetVM_Task"] == 1
    assert dump(si)[VM]["power"] == "poweredOn"


@pytest.mark.vcsim(trace=True)
@pytest.mark.parametrize("args", [{"state": "restarted", "force": True}, {"state": "reset"}])
def test_hard_restart_and_reset_always_change(si: Any, vcsim: Any, power: Any, args: dict[str, Any]) -> None:
    mark = vcsim.trace_mark()
    run = run_playbook([power(name=VM, **args), power(name=VM, **args)])
    assert [ok(run, i)["changed"] for i in range(2)] == [True, True]
    assert [run.result(i)["restart_method"] for i in range(2)] == ["reset", "reset"]
    calls = vcsim.call_counter(since=mark)
    assert calls["ResetVM_Task"] == 2 and calls["RebootGuest"] == 0


# ---------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "args,msg,param",
    [
        ({"name": "nope", "state": "halted"}, "name: no VM named 'nope'", "name"),
        (
            {"uuid": "11111111-2222-3333-4444-555555555555", "state": "halted"},
            "uuid: no VM with uuid '11111111-2222-3333-4444-555555555555'",
            "uuid",
        ),
        ({"moid": "vm-999", "state": "halted"}, "moid: no VM with moid 'vm-999'", "moid"),
        (
            {"name": VM, "state": "rescued"},
            "state is rescued but any of the following are missing: rescue_template, rescue_image",
            None,
        ),
        (
            {"name": VM, "state": "rescued", "rescue_template": "nope"},
            "rescue_template: no VM or template named or with uuid/moid 'nope'",
            "rescue_template",
        ),
        ({"name": VM, "state": "reset", "timeout": "soon"}, "timeout", None),
    ],
)
def test_bad_input_fails_naming_the_parameter_and_changes_nothing(
    si: Any, power: Any, args: dict[str, Any], msg: str, param: str | None
) -> None:
    before = dump(si)
    run = run_playbook([power(**args)])
    assert run.status() == "failed"
    assert msg in run.result()["msg"], run.result()
    if param:
        assert run.result()["param"] == param
    assert dump(si) == before


def test_restart_of_a_halted_vm_is_an_error(si: Any, power: Any) -> None:
    WaitForTask(vm_obj(si, VM).PowerOffVM_Task())
    before = dump(si)
    run = run_playbook([power(name=VM, state="restarted")])
    assert run.status() == "failed" and run.result()["error_code"] == "VM_BAD_POWER_STATE"
    assert "use state=running" in run.result()["msg"] and dump(si) == before


# ---------------------------------------------------------------------- rescue
@pytest.mark.vcsim(trace=True)
def test_rescue_round_trip(si: Any, vcsim: Any, power: Any) -> None:
    WaitForTask(vm_obj(si, TEMPLATE).PowerOffVM_Task())
    start = dump(si)
    root = disks(start, VM)[0]
    vm_uuid = vm_obj(si, VM).config.instanceUuid

    check = run_playbook([power(name=VM, state="rescued", rescue_template=TEMPLATE)], check=True, diff=True)
    res = ok(check)
    assert res["changed"] is True and res["rescue_vm"]["name"] == RESCUE
    assert [c["operation"] for c in res["changes"]] == [
        "power_off",
        "create_rescue_vm",
        "attach_root_disk",
        "mark_vm",
        "power_on_rescue_vm",
    ]
    assert res["diff"]["after"] == {"power_state": "halted", "rescue_vm": {"name": RESCUE, "power_state": "running"}}
    assert dump(si) == start

    run = run_playbook([power(name=VM, state="rescued", rescue_template=TEMPLATE)], diff=True)
    res = ok(run)
    assert res["changed"] is True and res["diff"] == check.result()["diff"]
    state = dump(si)
    assert state[VM]["power"] == "poweredOff"
    assert state[RESCUE]["power"] == "poweredOn"
    assert root in disks(state, RESCUE) and len(disks(state, RESCUE)) == 2  # its own disk + the rescued one
    assert state[RESCUE]["extra_config"]["virtops.rescue_of"] == vm_uuid
    rescue_uuid = vm_obj(si, RESCUE).config.instanceUuid
    assert state[VM]["extra_config"]["virtops.rescued_by"] == rescue_uuid
    assert res["rescue_vm"]["name"] == RESCUE and res["rescue_vm"]["power_state"] == "running"
    assert disks(state, VM) == [root]  # the VM still has its disk

    # idempotent; and a rescued VM cannot be powered on behind the rescue VM's back
    mark = vcsim.trace_mark()
    again = run_playbook([power(name=VM, state="rescued", rescue_template=TEMPLATE), power(name=VM, state="running")])
    assert ok(again, 0)["changed"] is False
    assert again.status(1) == "failed" and again.result(1)["error_code"] == "VM_RESCUED"
    assert not [c for c in vcsim.trace_calls(since=mark) if c.endswith("_Task")]
    assert dump(si) == state

    check = run_playbook([power(name=VM, state="unrescued")], check=True, diff=True)
    assert ok(check)["changed"] is True and dump(si) == state
    assert check.result()["diff"]["after"] == {"power_state": "running", "rescue_vm": None}

    mark = vcsim.trace_mark()
    res = ok(run_playbook([power(name=VM, state="unrescued")], diff=True))
    assert res["changed"] is True and res["diff"] == check.result()["diff"]
    calls = vcsim.trace_calls(since=mark)
    tasks = [c for c in calls if c.endswith("_Task")]
    # rescue VM off, the rescued disk detached BEFORE the destroy, the mark removed, the VM on
    assert tasks == ["PowerOffVM_Task", "ReconfigVM_Task", "Destroy_Task", "ReconfigVM_Task", "PowerOnVM_Task"]
    end = dump(si)
    assert RESCUE not in end
    assert end[VM]["power"] == "poweredOn" and disks(end, VM) == [root]
    assert "virtops.rescued_by" not in end[VM]["extra_config"]
    ds_file = root.split("] ", 1)[1]
    assert glob.glob(os.path.join(str(vcsim.workdir), "govcsim-*", ds_file)), "the VM's disk file was deleted"

    again = run_playbook([power(name=VM, state="unrescued")])
    assert ok(again)["changed"] is False and dump(si) == end


@pytest.mark.vcsim(trace=True)
def test_rescue_from_image_creates_a_vm_booting_the_iso(si: Any, vcsim: Any, power: Any) -> None:
    iso = "[LocalDS_0] iso/rescue.iso"
    res = ok(run_playbook([power(name=VM, state="rescued", rescue_image=iso, force=True)]))
    assert res["changed"] is True and res["halt_method"] == "hard"
    state = dump(si)
    assert state[RESCUE]["power"] == "poweredOn" and state[VM]["power"] == "poweredOff"
    assert disks(state, RESCUE) == disks(state, VM)  # only the rescued disk
    assert [f for (cls, _k, f) in state[RESCUE]["devices"] if cls == "VirtualCdrom"] == [iso]
    assert res["rescue_vm"]["cdroms"][0]["iso"] == iso
    res = ok(run_playbook([power(name=VM, state="unrescued")]))
    assert RESCUE not in dump(si) and dump(si)[VM]["power"] == "poweredOn"


def test_rescue_name_taken_is_a_conflict_before_any_change(si: Any, power: Any) -> None:
    tmpl = vm_obj(si, TEMPLATE)
    WaitForTask(tmpl.PowerOffVM_Task())
    spec = vim.vm.CloneSpec(location=vim.vm.RelocateSpec(), powerOn=False, template=False)
    WaitForTask(tmpl.CloneVM_Task(folder=tmpl.parent, name=RESCUE, spec=spec))
    before = dump(si)
    run = run_playbook([power(name=VM, state="rescued", rescue_template=TEMPLATE)])
    assert run.status() == "failed" and run.result()["error_code"] == "RESCUE_NAME_TAKEN", run.result()
    assert dump(si) == before


@pytest.mark.vcsim(trace=True)
def test_failed_rescue_rolls_back(si: Any, vcsim: Any, power: Any) -> None:
    # a "template" without a SCSI controller: the clone succeeds, attaching the rescued disk fails
    vm = vm_obj(si, VM)
    config = vim.vm.ConfigSpec(
        name="no-scsi", guestId="otherGuest64", numCPUs=1, memoryMB=128, files=vim.vm.FileInfo(vmPathName="[LocalDS_0]")
    )
    WaitForTask(vm.parent.CreateVM_Task(config=config, pool=vm.resourcePool))
    before = dump(si)
    mark = vcsim.trace_mark()
    run = run_playbook([power(name=VM, state="rescued", rescue_template="no-scsi")])
    res = run.result()
    assert run.status() == "failed", res
    assert res["failed_step"] == "attach_root_disk" and res["error_code"] == "NO_FREE_SCSI_SLOT", res
    assert "nothing was left behind" in res["msg"], res["msg"]
    tasks = [c for c in vcsim.trace_calls(since=mark) if c.endswith("_Task")]
    # (the VM was shut down by ShutdownGuest, not a task) clone, destroy the clone, power the VM on again
    assert tasks == ["CloneVM_Task", "Destroy_Task", "PowerOnVM_Task"], tasks
    assert dump(si) == before  # the VM runs again, no rescue VM left
