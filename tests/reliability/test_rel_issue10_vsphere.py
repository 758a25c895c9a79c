"""Issue 10 regressions on vmware_vm (vcsim, faults from vsphere_fault_proxy): a failed power-cycled
update is undone with the power state restored, identity by uuid/MoID never creates, uuid + name
renames, from-scratch creates need explicit intent, and check mode predicts a clone's own paths."""

from __future__ import annotations

from typing import Any

import pytest
from modrun import run_module
from vsphere_fault_proxy import VSphereFaultProxy

VM = "DC0_H0_VM0"


@pytest.fixture()
def si(vcsim: Any) -> Any:
    return vcsim.connect()


def _conn(vcsim: Any) -> dict[str, Any]:
    return {
        "hostname": "127.0.0.1",
        "port": vcsim.port,
        "username": vcsim.username,
        "password": vcsim.password,
        "validate_certs": False,
    }


def _proxied(vcsim: Any, proxy: VSphereFaultProxy) -> dict[str, Any]:
    return {
        "hostname": "127.0.0.1",
        "port": proxy.port,
        "username": vcsim.username,
        "password": vcsim.password,
        "ca_path": proxy.ca,
    }


def _vm(si: Any, name: str = VM) -> Any:
    return si.content.searchIndex.FindByInventoryPath("DC0/vm/" + name)


def _count_vms(si: Any) -> int:
    return len(si.content.viewManager.CreateContainerView(si.content.rootFolder, [], True).view)


# --- bug 6: the clone prediction shows the new VM's files ----------------------------------------------


def test_bug6_clone_prediction_reports_the_new_vms_paths(vcsim: Any) -> None:
    """reproduces/fixes bug 6: check mode showed the source VM's vmx_path and disk files."""
    conn = _conn(vcsim)
    source = run_module("vmware_vm_info", dict(conn, name=VM))["vm"]
    for name, extra in (("clone-6a", {}), ("clone-6b", {"datastore": "LocalDS_0"})):
        args = dict(conn, name=name, template=VM, **extra)
        check = run_module("vmware_vm", args, check=True)
        assert check["changed"] is True and not check.get("failed"), check
        predicted = check["vm"]
        assert predicted["vmx_path"] == "[LocalDS_0] %s/%s.vmx" % (name, name)
        assert [d["file"] for d in predicted["disks"]] == ["[LocalDS_0] %s/%s.vmdk" % (name, name)]
        assert predicted["vmx_path"] != source["vmx_path"]
        real = run_module("vmware_vm", args)["vm"]
        assert real["vmx_path"] == predicted["vmx_path"]
        assert [d["file"] for d in real["disks"]] == [d["file"] for d in predicted["disks"]]
        assert real["datastores"] == predicted["datastores"]


# --- bugs 3 and 4 on vSphere: identity by uuid / MoID ----------------------------------------------------


def test_unknown_uuid_or_moid_never_creates(vcsim: Any, si: Any) -> None:
    conn = _conn(vcsim)
    before = _count_vms(si)
    uuid = "00000000-0000-0000-0000-000000000000"
    for check in (True, False):
        res = run_module("vmware_vm", dict(conn, uuid=uuid, name="zz", template=VM), check=check)
        assert res["failed"] is True and res["error_code"] == "NOT_FOUND" and res["param"] == "uuid", res
        assert res["msg"] == (
            "uuid: no VM with uuid %r; a uuid cannot be chosen, so it never creates a VM: "
            "omit uuid to create one named 'zz'" % uuid
        )
        res = run_module("vmware_vm", dict(conn, moid="vm-99999", name="zz", template=VM), check=check)
        assert res["failed"] is True and res["param"] == "moid", res
        assert res["msg"].startswith("moid: no VM with MoID 'vm-99999'; a MoID cannot be chosen")
    assert _count_vms(si) == before and _vm(si, "zz") is None


def test_uuid_with_a_different_name_renames(vcsim: Any, si: Any) -> None:
    conn = _conn(vcsim)
    uuid = run_module("vmware_vm_info", dict(conn, name="DC0_H0_VM1"))["vm"]["instance_uuid"]
    check = run_module("vmware_vm", dict(conn, uuid=uuid, name="renamed-1"), check=True, diff=True)
    assert check["changed"] is True and check["vm"]["name"] == "renamed-1", check
    assert [c["operation"] for c in check["changes"]] == ["rename", "reconfigure"], check
    assert check["diff"]["before"]["name"] == "DC0_H0_VM1"
    assert _vm(si, "DC0_H0_VM1") is not None
    res = run_module("vmware_vm", dict(conn, uuid=uuid, name="renamed-1"))
    assert res["changed"] is True and res["vm"]["name"] == "renamed-1", res
    assert _vm(si, "DC0_H0_VM1") is None and _vm(si, "renamed-1").config.instanceUuid == uuid
    assert run_module("vmware_vm", dict(conn, uuid=uuid, name="renamed-1"))["changed"] is False


# --- from-scratch creates need explicit intent ----------------------------------------------------------


def test_a_name_alone_never_creates_an_empty_vm(vcsim: Any, si: Any) -> None:
    conn = _conn(vcsim)
    before = _count_vms(si)
    for check in (True, False):
        res = run_module("vmware_vm", dict(conn, name="DC0_H0_VMO", cluster="DC0_C0"), check=check)
        assert res["failed"] is True and res["param"] == "template", res
        assert res["msg"] == (
            "template: no VM named 'DC0_H0_VMO' exists; to create it give template (a VM or template to clone, or "
            "'none' for an empty VM from scratch) or a disks list"
        )
    assert _count_vms(si) == before
    res = run_module("vmware_vm", dict(conn, name="scratch-1", cluster="DC0_C0", template="none"))
    assert not res.get("failed") and res["changed"] is True, res
    assert res["changes"][0]["operation"] == "create" and _vm(si, "scratch-1") is not None


# --- a failed power-cycled update: undone, power state restored ----------------------------------------


def test_failed_power_on_after_reconfigure_reverts_and_restores_power(vcsim: Any, si: Any) -> None:
    cpus, mem = _vm(si).config.hardware.numCPU, _vm(si).config.hardware.memoryMB
    hardware = {"num_cpus": cpus + 1, "memory": "%dMiB" % (mem * 2)}
    args = {"name": VM, "hardware": hardware, "allow_power_cycling": True}
    with VSphereFaultProxy("127.0.0.1", vcsim.port) as proxy:
        proxy.drop("PowerOnVM_Task")
        res = run_module("vmware_vm", dict(_proxied(vcsim, proxy), **args))
    assert res["failed"] is True and res["changed"] is True, res
    assert res["applied"] == ["power_off", "reconfigure"], res
    assert res["rolled_back"] == ["revert the configuration", "restore power state running"], res
    assert "rolled back: revert the configuration, restore power state running" in res["msg"]
    vm = _vm(si)
    assert str(vm.runtime.powerState) == "poweredOn"
    assert (vm.config.hardware.numCPU, vm.config.hardware.memoryMB) == (cpus, mem)
    again = run_module("vmware_vm", dict(_conn(vcsim), **args))
    assert not again.get("failed") and again["changed"] is True, again
    vm = _vm(si)
    assert str(vm.runtime.powerState) == "poweredOn" and vm.config.hardware.numCPU == cpus + 1
    assert run_module("vmware_vm", dict(_conn(vcsim), **args))["changed"] is False


def test_failed_reconfigure_restores_the_power_state(vcsim: Any, si: Any) -> None:
    cpus = _vm(si).config.hardware.numCPU
    args = {"name": VM, "hardware": {"num_cpus": cpus + 1}, "allow_power_cycling": True}
    with VSphereFaultProxy("127.0.0.1", vcsim.port) as proxy:
        proxy.drop("ReconfigVM_Task")
        res = run_module("vmware_vm", dict(_proxied(vcsim, proxy), **args))
    assert res["failed"] is True and res["changed"] is True and res["failed_step"] == "reconfigure", res
    assert res["applied"] == ["power_off"] and res["rolled_back"] == ["restore power state running"], res
    assert str(_vm(si).runtime.powerState) == "poweredOn" and _vm(si).config.hardware.numCPU == cpus


def test_failed_power_restore_is_its_own_error(vcsim: Any, si: Any) -> None:
    cpus = _vm(si).config.hardware.numCPU
    args = {"name": VM, "hardware": {"num_cpus": cpus + 1}, "allow_power_cycling": True}
    with VSphereFaultProxy("127.0.0.1", vcsim.port) as proxy:
        proxy.drop("PowerOnVM_Task", count=10)
        res = run_module("vmware_vm", dict(_proxied(vcsim, proxy), **args))
    assert res["failed"] is True and res["error_code"] == "POWER_RESTORE_FAILED", res
    assert res["power_state"] == "halted" and res["expected_power_state"] == "running", res
    assert res["rolled_back"] == ["revert the configuration"] and res["changed"] is True, res
    assert "the VM is now halted" in res["msg"]
    assert str(_vm(si).runtime.powerState) == "poweredOff" and _vm(si).config.hardware.numCPU == cpus
