"""Every documented option of the vSphere modules that no other test uses, through ansible-playbook against
vcsim; vcsim's state read with pyvmomi is the oracle, not ``changed``."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from playbook_runner import run_playbook
from pyVmomi import vim

GiB = 1024**3


def task(module: str, **params: Any) -> dict[str, Any]:
    return {"virtops.compute.%s" % module: params}


def play(vcsim: Any, tasks: Any, **kwargs: Any) -> Any:
    return run_playbook(tasks if isinstance(tasks, list) else [tasks], env=vcsim.env(), **kwargs)


def find(si: Any, klass: Any, name: str) -> list[Any]:
    content = si.RetrieveContent()
    view = content.viewManager.CreateContainerView(content.rootFolder, [klass], True)
    try:
        return [o for o in view.view if o.name == name]
    finally:
        view.DestroyView()


def one(si: Any, klass: Any, name: str) -> Any:
    found = find(si, klass, name)
    assert len(found) == 1, (name, found)
    return found[0]


def make_folder(si: Any, name: str) -> Any:
    return one(si, vim.Datacenter, "DC0").vmFolder.CreateFolder(name)


def make_pool(si: Any, name: str) -> Any:
    alloc = vim.ResourceAllocationInfo(
        reservation=0, limit=-1, expandableReservation=True, shares=vim.SharesInfo(level="normal", shares=0)
    )
    spec = vim.ResourceConfigSpec(cpuAllocation=alloc, memoryAllocation=alloc)
    return one(si, vim.ClusterComputeResource, "DC0_C0").resourcePool.CreateResourcePool(name, spec)


def devices(vm: Any, klass: Any) -> list[Any]:
    return [d for d in vm.config.hardware.device if isinstance(d, klass)]


def test_placement_guest_id_hot_add_adapters_provisioning_and_meta_data(vcsim: Any, si: Any) -> None:
    folder = make_folder(si, "opt-folder")
    pool = make_pool(si, "opt-rp")
    args = {
        "name": "opt-vm",
        "datacenter": "DC0",
        "folder": "opt-folder",
        "resource_pool": "opt-rp",
        "host": "DC0_C0_H1",
        "datastore": "LocalDS_0",
        "guest_id": "debian11_64Guest",
        "hardware": {
            "num_cpus": 4,
            "cores_per_socket": 2,
            "memory": "256MiB",
            "cpu_hot_add": True,
            "memory_hot_add": True,
        },
        "disks": [
            {"unit_number": 0, "size": "1GiB", "provisioning": "eager_zeroed", "datastore": "LocalDS_0"},
            {"unit_number": 1, "size": "1GiB", "provisioning": "thin"},
            {"controller_bus": 1, "unit_number": 0, "size": "512MiB", "provisioning": "thick"},
        ],
        "networks": [
            {"device": 0, "portgroup": "VM Network", "adapter": "e1000"},
            {"device": 1, "portgroup": "VM Network", "adapter": "e1000e"},
            {"device": 2, "portgroup": "DC0_DVPG0", "adapter": "vmxnet3"},
        ],
        "cloud_init": {"user_data": "#cloud-config\n", "meta_data": {"opt-meta-key": "opt-meta-value"}},
        "timeout": 120,
    }
    run = play(vcsim, task("vmware_vm", **args))
    assert run.rc == 0, run.stdout[-3000:]
    vm = one(si, vim.VirtualMachine, "opt-vm")
    assert vm.parent._moId == folder._moId
    assert vm.resourcePool._moId == pool._moId
    assert vm.runtime.host.name == "DC0_C0_H1"
    assert [ds.name for ds in vm.datastore] == ["LocalDS_0"]
    assert vm.config.guestId == "debian11_64Guest"
    hw = vm.config.hardware
    assert (hw.numCPU, hw.numCoresPerSocket, hw.memoryMB) == (4, 2, 256)
    assert vm.config.cpuHotAddEnabled is True and vm.config.memoryHotAddEnabled is True
    ctrls = {d.key: d.busNumber for d in devices(vm, vim.vm.device.VirtualSCSIController)}
    disks = {(ctrls[d.controllerKey], d.unitNumber): d for d in devices(vm, vim.vm.device.VirtualDisk)}
    assert sorted(disks) == [(0, 0), (0, 1), (1, 0)], sorted(disks)
    flags = {k: (bool(d.backing.thinProvisioned), bool(d.backing.eagerlyScrub)) for k, d in disks.items()}
    assert flags == {(0, 0): (False, True), (0, 1): (True, False), (1, 0): (False, False)}, flags
    assert disks[(0, 0)].backing.fileName.startswith("[LocalDS_0]")
    nics = sorted(devices(vm, vim.vm.device.VirtualEthernetCard), key=lambda d: d.key)
    assert [type(n).__name__.rsplit(".", 1)[-1] for n in nics] == [
        "VirtualE1000",
        "VirtualE1000e",
        "VirtualVmxnet3",
    ]
    ec = {o.key: o.value for o in vm.config.extraConfig}
    meta = json.loads(base64.b64decode(ec["guestinfo.metadata"]))
    assert meta["opt-meta-key"] == "opt-meta-value" and meta["instance-id"] == "opt-vm"

    again = play(vcsim, task("vmware_vm", **args))
    assert again.rc == 0 and again.result()["changed"] is False, again.result().get("changes")


def test_folder_and_datacenter_narrow_every_module(vcsim: Any, si: Any) -> None:
    """The same VM name in two folders: folder (and datacenter) pick one, for every vSphere module."""
    make_folder(si, "opt-a")
    make_folder(si, "opt-b")
    base = {"name": "twin", "template": "none", "cluster": "DC0_C0", "hardware": {"num_cpus": 1, "memory": "64MiB"}}
    run = play(
        vcsim,
        [
            task("vmware_vm", folder="opt-a", datacenter="DC0", **base),
            task("vmware_vm", folder="/DC0/vm/opt-b", datacenter="DC0", **base),
        ],
    )
    assert run.rc == 0, run.stdout[-3000:]
    twins = {vm.parent.name: vm for vm in find(si, vim.VirtualMachine, "twin")}
    assert sorted(twins) == ["opt-a", "opt-b"]
    run = play(
        vcsim,
        [
            task("vmware_vm", name="twin", folder="opt-b", datacenter="DC0", annotation="b only"),
            task("vmware_vm_info", name="twin", folder="opt-b", datacenter="DC0"),
            task("vmware_vm_power", name="twin", folder="opt-b", datacenter="DC0", state="running", task_timeout=60),
            task("vmware_snapshot", vm_name="twin", folder="opt-b", datacenter="DC0", name="s-b", timeout=60),
        ],
    )
    assert [r["status"] for r in run.results] == ["ok"] * 4, run.stdout[-3000:]
    a, b = twins["opt-a"], twins["opt-b"]
    assert run.result(1)["vm"]["moid"] == b._moId
    assert (a.config.annotation or "") == "" and b.config.annotation == "b only"
    assert str(a.runtime.powerState) == "poweredOff" and str(b.runtime.powerState) == "poweredOn"
    assert a.snapshot is None and [s.name for s in b.snapshot.rootSnapshotList] == ["s-b"]
    # without folder the name is ambiguous, naming both
    run = play(vcsim, task("vmware_vm_info", name="twin"))
    assert run.rc != 0 and a._moId in run.result()["msg"] and b._moId in run.result()["msg"], run.result()["msg"]
    # a datacenter that does not exist finds nothing
    run = play(vcsim, task("vmware_vm_info", name="twin", folder="opt-b", datacenter="DC9"))
    assert run.rc != 0 and "DC9" in run.result()["msg"], run.result()["msg"]


def test_snapshot_by_moid_with_timeout(vcsim: Any, si: Any) -> None:
    vm = one(si, vim.VirtualMachine, "DC0_H0_VM1")
    run = play(vcsim, task("vmware_snapshot", moid=vm._moId, name="by-moid", timeout=30))
    assert run.rc == 0 and run.result()["changed"] is True, run.result()
    assert [s.name for s in vm.snapshot.rootSnapshotList] == ["by-moid"]
    assert one(si, vim.VirtualMachine, "DC0_H0_VM0").snapshot is None
    run = play(vcsim, task("vmware_snapshot", moid=vm._moId, name="by-moid", state="absent", timeout=30))
    assert run.rc == 0 and run.result()["changed"] is True
    assert vm.snapshot is None


@pytest.mark.vcsim(
    extra_args=["-method-delay", "PowerOffVM_Task:20000,CreateSnapshot_Task:20000,ReconfigVM_Task:20000"]
)
def test_api_timeout_bounds_a_mutating_call_on_every_vsphere_module(vcsim: Any, si: Any) -> None:
    """vcsim answers these calls after 20 s, so with the default api_timeout (60 s) each task would succeed;
    with api_timeout=2 each module gives up on the call and fails naming it (a mutating call is never
    re-sent). A read that answers in time passes with the same api_timeout. (No wall-clock bound: the
    machine is shared; the failure itself is api_timeout's doing.)"""
    run = play(vcsim, task("vmware_vm_info", name="DC0_H0_VM0", api_timeout=2))
    assert run.rc == 0 and run.result()["vm"]["name"] == "DC0_H0_VM0"
    cases = [
        ("vmware_vm", {"name": "DC0_H0_VM0", "annotation": "late", "api_timeout": 2}, "reconfigure"),
        ("vmware_vm_power", {"name": "DC0_H0_VM1", "state": "halted", "force": True, "api_timeout": 2}, "power"),
        ("vmware_snapshot", {"vm_name": "DC0_H0_VM0", "name": "late", "api_timeout": 2}, "snapshot"),
    ]
    for module, args, word in cases:
        run = play(vcsim, task(module, **args))
        assert run.rc != 0, (module, run.result())
        msg = run.result()["msg"]
        assert word in msg and ("within 2s (api_timeout)" in msg or "timed out" in msg), (module, msg)
