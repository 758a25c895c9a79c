"""The fault matrix's ``fail mid-update`` column: a fault at each step of a multi-step update, for every
mutating module, including the restore of the power state after a power cycle.

Per case: the run fails with ``changed`` true exactly when a step had been applied, ``applied`` lists the
steps before the fault and ``rolled_back`` their inverses (newest first); on the peer nothing is
half-made (the devices and the configuration are as before) and the power state is the one the VM had;
a re-run without the fault converges and the run after that reports ``changed=false``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from modrun import run_module
from relhelp import ETH0, ETH1, NO_CHANGE, delta, inventory, xen_conn
from vsphere_fault_proxy import VSphereFaultProxy
from xen_state import one_vm, pool, vm_disks, vm_nics

IE = ["INTERNAL_ERROR", "injected by the reliability suite"]
GiB = 1024**3


@dataclass
class Step:
    name: str  # the step that fails (failed_step)
    fault: dict[str, Any]  # xapi: SimControl.fault kwargs; vSphere: (proxy mode, method, count)
    applied: list[str]
    rolled_back: list[str]
    code: str | None = None  # error_code, when not the injected one
    extra: dict[str, Any] = field(default_factory=dict)


# --- xen_vm: a power-cycled update of the running web-01 ----------------------------------------------------
XEN_VM_ARGS = {
    "name": "web-01",
    "vcpus": 1,
    "memory": "3GiB",
    "description": "updated",
    "disks": [{"userdevice": 0, "size": "10GiB"}, {"userdevice": 1, "size": "1GiB"}],
    "networks": [{"device": 0, "network": ETH0}, {"device": 1, "network": ETH1}],
    "allow_power_cycling": True,
}
_XEN_ORDER = ["shutdown", "set_vcpus", "set_memory", "add_disk", "add_nic", "set_description"]
_XEN_UNDO = {
    "shutdown": "restore power state running",
    "set_vcpus": "restore vcpus 2",
    "set_memory": "restore memory 2048MiB",
    "add_disk": "remove the new disk 1",
    "add_nic": "remove the new NIC 1",
    "set_description": "restore description",
}
_XEN_FAULT = {
    "shutdown": "Async.VM.clean_shutdown",
    "set_vcpus": "VM.set_VCPUs_at_startup",
    "set_memory": "VM.set_memory_limits",
    "add_disk": "VDI.create",
    "add_nic": "VIF.create",
    "set_description": "VM.set_name_description",
}


def _xen_step(index: int, name: str) -> Step:
    applied = _XEN_ORDER[:index]
    return Step(
        "clean shutdown" if name == "shutdown" else name,
        {"method": _XEN_FAULT[name], "error": IE, "count": 1},
        applied,
        [_XEN_UNDO[a] for a in reversed(applied)],
    )


XEN_VM_STEPS = [_xen_step(i, n) for i, n in enumerate(_XEN_ORDER)] + [
    # the start that restores the power state fails once: everything is undone, the rollback starts it again
    Step(
        "start",
        {"method": "Async.VM.start", "error": IE, "count": 1},
        _XEN_ORDER,
        [_XEN_UNDO[a] for a in reversed(_XEN_ORDER)],
    ),
]

# --- xen_vm_power: halted -> suspended is start + suspend ---------------------------------------------------
XEN_POWER_ARGS = {"name": "db-01", "state": "suspended"}
XEN_POWER_STEPS = [
    Step("start", {"method": "Async.VM.start", "error": IE, "count": 1}, [], []),
    Step("suspend", {"method": "Async.VM.suspend", "error": IE, "count": 1}, ["start"], ["restore power state halted"]),
]


def _xen_snapshot(control: Any, name: str) -> dict[str, Any]:
    state = pool(control)
    vm = one_vm(state, name)
    return {
        "inventory": inventory(state),
        "power": vm["power_state"],
        "vcpus": int(vm["VCPUs_at_startup"]),
        "memory": int(vm["memory_static_max"]),
        "description": vm["name_description"],
        "disks": sorted(vm_disks(state, vm)),
        "nics": sorted(vm_nics(state, vm)),
    }


def _check_failure(res: dict[str, Any], step: Step) -> None:
    assert res.get("failed") is True, res
    assert res["failed_step"] == step.name, res
    assert res["applied"] == step.applied, res
    assert res["rolled_back"] == step.rolled_back, res
    assert res["changed"] is bool(step.applied), res
    if step.applied:
        assert "applied: %s" % ", ".join(step.applied) in res["msg"], res["msg"]
        assert "nothing was left behind" in res["msg"], res["msg"]
    else:
        assert "(applied: nothing; nothing was changed)" in res["msg"], res["msg"]


def _xen_params() -> list[Any]:
    out = [pytest.param("xen_vm", i, id="xen_vm-%s" % s.name.replace(" ", "_")) for i, s in enumerate(XEN_VM_STEPS)]
    out += [pytest.param("xen_vm_power", i, id="xen_vm_power-%s" % s.name) for i, s in enumerate(XEN_POWER_STEPS)]
    return out


@pytest.mark.parametrize(("module", "index"), _xen_params())
def test_xen_update_fault(xapi: Any, fault_cell: Any, module: str, index: int) -> None:
    fault_cell(module, "fail mid-update")
    args, step = (XEN_VM_ARGS, XEN_VM_STEPS[index]) if module == "xen_vm" else (XEN_POWER_ARGS, XEN_POWER_STEPS[index])
    control = xapi.control
    before = _xen_snapshot(control, args["name"])
    control.fault(**step.fault)
    res = run_module(module, dict(xen_conn(xapi), **args))
    control.clear_faults()
    _check_failure(res, step)
    after = _xen_snapshot(control, args["name"])
    assert delta(before.pop("inventory"), after.pop("inventory")) == NO_CHANGE
    assert after == before, "half-made or power state not restored: %s -> %s" % (before, after)
    again = run_module(module, dict(xen_conn(xapi), **args))
    assert not again.get("failed") and again["changed"] is True, again
    final = _xen_snapshot(control, args["name"])
    if module == "xen_vm":
        assert (final["power"], final["vcpus"], final["memory"]) == ("Running", 1, 3 * GiB)
        assert (final["disks"], final["nics"], final["description"]) == ([0, 1], [0, 1], "updated")
    else:
        assert final["power"] == "Suspended"
    assert run_module(module, dict(xen_conn(xapi), **args))["changed"] is False


def test_xen_vm_failed_power_restore_cell(xapi: Any, fault_cell: Any) -> None:
    """The restore itself fails (both starts): its own error, the VM's current state, config undone."""
    fault_cell("xen_vm", "fail mid-update")
    before = _xen_snapshot(xapi.control, "web-01")
    xapi.control.fault("Async.VM.start", error=IE, count=2)
    res = run_module("xen_vm", dict(xen_conn(xapi), **XEN_VM_ARGS))
    xapi.control.clear_faults()
    assert res["failed"] is True and res["error_code"] == "POWER_RESTORE_FAILED", res
    assert res["power_state"] == "halted" and res["expected_power_state"] == "running" and res["changed"] is True
    assert res["applied"] == _XEN_ORDER and res["rolled_back"] == [_XEN_UNDO[a] for a in reversed(_XEN_ORDER[1:])]
    after = _xen_snapshot(xapi.control, "web-01")
    assert after.pop("power") == "Halted" and before.pop("power") == "Running"
    assert after == before
    # a re-run that names the power state converges
    again = run_module("xen_vm", dict(xen_conn(xapi), power_state="running", **XEN_VM_ARGS))
    assert not again.get("failed") and again["vm"]["power_state"] == "running", again
    assert run_module("xen_vm", dict(xen_conn(xapi), **XEN_VM_ARGS))["changed"] is False


# --- vSphere (vcsim behind the fault proxy) -------------------------------------------------------------------
VM = "DC0_H0_VM0"


def _vs_conn(vcsim: Any, port: int | None = None, ca: str | None = None) -> dict[str, Any]:
    conn = {"hostname": "127.0.0.1", "port": port or vcsim.port, "username": vcsim.username}
    conn["password"] = vcsim.password
    if ca:
        conn["ca_path"] = ca
    else:
        conn["validate_certs"] = False
    return conn


def _vs_vm(si: Any, name: str) -> Any:
    return si.content.searchIndex.FindByInventoryPath("DC0/vm/" + name)


def _snap_names(vm: Any) -> list[str]:
    out: list[str] = []

    def walk(nodes: Any) -> None:
        for n in nodes or []:
            out.append(n.name)
            walk(n.childSnapshotList)

    walk(vm.snapshot.rootSnapshotList if vm.snapshot else [])
    return out


def _vs_observe(si: Any, name: str) -> dict[str, Any]:
    vm = _vs_vm(si, name)
    hw = vm.config.hardware
    return {
        "power": str(vm.runtime.powerState),
        "cpus": hw.numCPU,
        "memory": hw.memoryMB,
        "devices": sorted(d.key for d in hw.device),
        "snapshots": _snap_names(vm),
    }


VS_CASES: dict[str, tuple[str, str, list[tuple[str, int]], Step]] = {
    # vmware_vm: power off, one reconfigure (CPU, memory, a disk), power on again
    "vmware_vm-reconfigure": (
        "vmware_vm",
        VM,
        [("ReconfigVM_Task", 1)],
        Step("reconfigure", {}, ["power_off"], ["restore power state running"]),
    ),
    "vmware_vm-power_on": (
        "vmware_vm",
        VM,
        [("PowerOnVM_Task", 1)],
        Step("power_on", {}, ["power_off", "reconfigure"], ["revert the configuration", "restore power state running"]),
    ),
    # vmware_vm_power: halted -> suspended is power on + suspend
    "vmware_vm_power-power_on": (
        "vmware_vm_power",
        "DC0_H0_VM1",
        [("PowerOnVM_Task", 1)],
        Step("power_on", {}, [], []),
    ),
    "vmware_vm_power-suspend": (
        "vmware_vm_power",
        "DC0_H0_VM1",
        [("SuspendVM_Task", 1)],
        Step("suspend", {}, ["power_on"], ["restore power state halted"]),
    ),
    # vmware_snapshot: retain=1 creates the new snapshot, then removes the old one
    "vmware_snapshot-create": (
        "vmware_snapshot",
        VM,
        [("CreateSnapshot_Task", 1)],
        Step("create", {}, [], []),
    ),
    "vmware_snapshot-remove": (
        "vmware_snapshot",
        VM,
        [("RemoveSnapshot_Task", 1)],
        Step("remove", {}, ["create"], ["remove the new snapshot 'new'"]),
    ),
}


def _vs_args(module: str, name: str) -> dict[str, Any]:
    if module == "vmware_vm":
        disks = [{"unit_number": 0}, {"unit_number": 1, "size": "1GiB"}]
        return {
            "name": name,
            "hardware": {"num_cpus": 2, "memory": "64MiB"},
            "disks": disks,
            "allow_power_cycling": True,
        }
    if module == "vmware_vm_power":
        return {"name": name, "state": "suspended"}
    return {"vm_name": name, "name": "new", "retain": 1}


@pytest.mark.parametrize("key", sorted(VS_CASES))
def test_vsphere_update_fault(vcsim: Any, fault_cell: Any, key: str) -> None:
    module, name, drops, step = VS_CASES[key]
    fault_cell(module, "fail mid-update")
    si = vcsim.connect()
    direct = _vs_conn(vcsim)
    if module == "vmware_vm_power":
        assert run_module(module, dict(direct, name=name, state="halted"))["changed"] is True
    if module == "vmware_snapshot":
        assert run_module(module, dict(direct, vm_name=name, name="old"))["changed"] is True
    before = _vs_observe(si, name)
    args = _vs_args(module, name)
    with VSphereFaultProxy("127.0.0.1", vcsim.port) as proxy:
        for method, count in drops:
            proxy.drop(method, count=count)
        res = run_module(module, dict(_vs_conn(vcsim, proxy.port, proxy.ca), **args))
        assert all(proxy.calls[m] >= 1 for m, _c in drops), dict(proxy.calls)
    _check_failure(res, step)
    assert _vs_observe(si, name) == before
    again = run_module(module, dict(direct, **args))
    assert not again.get("failed") and again["changed"] is True, again
    end = _vs_observe(si, name)
    if module == "vmware_vm":
        assert (end["power"], end["cpus"], end["memory"]) == ("poweredOn", 2, 64)
    elif module == "vmware_vm_power":
        assert end["power"] == "suspended"
    else:
        assert end["snapshots"] == ["new"]
    assert run_module(module, dict(direct, **args))["changed"] is False
    assert vcsim.panics() == []
