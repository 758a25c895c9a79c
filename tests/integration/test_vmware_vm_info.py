"""vmware_vm_info through ansible-playbook against vcsim, checked against pyvmomi reads."""

from __future__ import annotations

import pytest
from playbook_runner import run_playbook
from test_vmware_vm import all_vms, disks_by_unit, vm_task


def info(vcsim, **params):
    return run_playbook([vm_task("vmware_vm_info", **params)], env=vcsim.env())


def test_info_by_name_reports_devices_as_vcsim_has_them(vcsim):
    si = vcsim.connect()
    truth = all_vms(si)["DC0_C0_RP0_VM0"]
    run = info(vcsim, name="DC0_C0_RP0_VM0")
    assert run.rc == 0 and run.result()["changed"] is False, run.stdout
    vm = run.result()["vm"]
    assert vm["moid"] == truth["moid"] and vm["power_state"] == "running"
    assert vm["hardware"]["num_cpus"] == truth["config.hardware"].numCPU
    assert {(d["controller_bus"], d["unit_number"]): d["size"] for d in vm["disks"]} == disks_by_unit(truth)
    assert vm["disks"][0]["datastore"] == "LocalDS_0" and vm["disks"][0]["file"].startswith("[LocalDS_0] ")
    assert [n["portgroup"] for n in vm["networks"]] == ["DC0_DVPG0"]
    assert vm["networks"][0]["mac"] and vm["folder"] == "/DC0/vm" and vm["datacenter"] == "DC0"
    assert vm["snapshots"] == [] and vm["current_snapshot"] is None
    assert "diagnostics" not in vm and "console" not in vm


def test_info_snapshot_tree_diagnostics_and_console(vcsim):
    si = vcsim.connect()
    from pyVim.task import WaitForTask
    from pyVmomi import vim

    content = si.RetrieveContent()
    vm = content.searchIndex.FindByInventoryPath("DC0/vm/DC0_H0_VM0")
    assert isinstance(vm, vim.VirtualMachine)
    WaitForTask(vm.CreateSnapshot_Task(name="base", description="first", memory=False, quiesce=False))
    WaitForTask(vm.CreateSnapshot_Task(name="child", description="", memory=False, quiesce=False))
    run = info(vcsim, name="DC0_H0_VM0", diagnostics=True, console=True)
    assert run.rc == 0, run.stdout
    facts = run.result()["vm"]
    tree = facts["snapshots"]
    assert [n["name"] for n in tree] == ["base"] and tree[0]["description"] == "first"
    assert [n["name"] for n in tree[0]["children"]] == ["child"]
    assert isinstance(tree[0]["id"], int) and tree[0]["create_time"]
    assert facts["current_snapshot"]["name"] == "child"
    diag = facts["diagnostics"]
    assert {"overallCpuUsage", "guestMemoryUsage", "hostMemoryUsage", "uptimeSeconds"} <= set(diag)
    # vcsim 0.24.2 implements neither AcquireTicket nor AcquireMksTicket
    assert facts["console"] is None
    assert "MethodNotFound" in facts["console_unavailable_reason"]


def test_info_by_uuid_moid_and_folder(vcsim):
    run = info(vcsim, name="DC0_H0_VM1")
    facts = run.result()["vm"]
    for params in (
        {"uuid": facts["uuid"]},
        {"uuid": facts["instance_uuid"]},
        {"moid": facts["moid"]},
        {"name": "DC0_H0_VM1", "folder": "/DC0/vm"},
        {"name": "DC0_H0_VM1", "folder": "vm"},
    ):
        res = info(vcsim, **params)
        assert res.rc == 0 and res.result()["vm"]["moid"] == facts["moid"], (params, res.stdout)
    listing = info(vcsim, folder="/DC0/vm").result()
    assert sorted(v["name"] for v in listing["vms"]) == sorted(all_vms(vcsim.connect()))


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"name": "nope"}, "NOT_FOUND"),
        ({"moid": "vm-99999"}, "NOT_FOUND"),
        ({"uuid": "not-a-uuid"}, "INVALID_INPUT"),
        ({"name": "DC0_H0_VM0", "folder": "/DC0/vm/nope"}, "INVALID_INPUT"),
    ],
)
def test_info_errors(vcsim, params, code):
    run = info(vcsim, **params)
    assert run.rc != 0 and run.result()["error_code"] in (code, "ManagedObjectNotFound"), run.result()
