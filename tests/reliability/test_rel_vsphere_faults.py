"""Fault injection for the vSphere modules: vcsim behind vsphere_fault_proxy (drop / HTTP 503 on the Nth
request of a SOAP method). A fresh vcsim per test (~0.05 s). Outcome: success or a clear failure naming
the call; no snapshot/VM left half-made (read back with pyvmomi); a re-run without the fault converges."""

from __future__ import annotations

from typing import Any

import pytest
from modrun import collect, present_modules, run_module, spawn_module
from vsphere_fault_proxy import VSphereFaultProxy

VM = "DC0_H0_VM0"
# The right outcome per fault (module_utils/_vsphere/client.py): HTTP 502/503/504 means the server refused the
# request before running it, so every call is sent again and the task succeeds with one retry; a dropped
# connection may have run the call, so a mutating call is never re-sent: the task fails with CONNECTION_FAILED
# naming the step, and (the proxy dropped the request before vcsim saw it) nothing changed.
SUCCEEDS, FAILS = "succeeds after one retry", "fails, nothing changed"
CASES = {
    "power-drop": ("vmware_vm_power", "drop", {"name": VM, "state": "halted"}, "drop", "ShutdownGuest", FAILS),
    "power-503": (
        "vmware_vm_power",
        "HTTP 503",
        {"name": VM, "state": "halted"},
        "http_error",
        "ShutdownGuest",
        SUCCEEDS,
    ),
    "snapshot-drop": ("vmware_snapshot", "drop", {"vm_name": VM, "name": "s1"}, "drop", "CreateSnapshot_Task", FAILS),
    "snapshot-503": (
        "vmware_snapshot",
        "HTTP 503",
        {"vm_name": VM, "name": "s1"},
        "http_error",
        "CreateSnapshot_Task",
        SUCCEEDS,
    ),
    "vm-drop": ("vmware_vm", "drop", {"name": VM, "annotation": "reliability"}, "drop", "ReconfigVM_Task", FAILS),
    "vm-503": (
        "vmware_vm",
        "HTTP 503",
        {"name": VM, "annotation": "reliability"},
        "http_error",
        "ReconfigVM_Task",
        SUCCEEDS,
    ),
}
# what a successful run leaves in vcsim (the observed fields that change)
EFFECT = {
    "vmware_vm_power": {"power": "poweredOff"},
    "vmware_snapshot": {"snapshots": ["s1"]},
    "vmware_vm": {"annotation": "reliability"},
}
STEP = {"vmware_vm_power": "guest shutdown", "vmware_snapshot": "create snapshot 's1'", "vmware_vm": "reconfigure"}


def _snapshots(si: Any) -> list[str]:
    vm = si.content.searchIndex.FindByInventoryPath("DC0/vm/" + VM)
    snap = vm.snapshot
    out: list[str] = []

    def walk(nodes: Any) -> None:
        for n in nodes or []:
            out.append(n.name)
            walk(n.childSnapshotList)

    walk(snap.rootSnapshotList if snap else [])
    return out


def _observe(si: Any) -> dict[str, Any]:
    vm = si.content.searchIndex.FindByInventoryPath("DC0/vm/" + VM)
    return {
        "power": str(vm.runtime.powerState),
        "annotation": vm.config.annotation,
        "snapshots": _snapshots(si),
        "vms": len(si.content.viewManager.CreateContainerView(si.content.rootFolder, [], True).view),
    }


def _params() -> list[Any]:
    return [pytest.param(k, id=k) for k in sorted(CASES)]


@pytest.mark.parametrize("key", _params())
def test_vsphere_fault(vcsim: Any, fault_cell: Any, key: str) -> None:
    module, fault, args, mode, method, outcome = CASES[key]
    if module not in present_modules():
        pytest.fail("%s is listed in the fault matrix but does not exist" % module)
    fault_cell(module, fault)
    si = vcsim.connect()
    before = _observe(si)
    with VSphereFaultProxy("127.0.0.1", vcsim.port) as proxy:
        conn = {
            "hostname": "127.0.0.1",
            "port": proxy.port,
            "username": vcsim.username,
            "password": vcsim.password,
            "ca_path": proxy.ca,
        }
        getattr(proxy, mode)(method)
        result = run_module(module, dict(conn, **args))
        after = _observe(si)
        if outcome == FAILS:
            assert proxy.calls[method] == 1, "a mutating call was re-sent after a drop: %s" % dict(proxy.calls)
            assert result.get("failed") is True, result
            assert result["error_code"] == "CONNECTION_FAILED", result
            assert STEP[module] in result["msg"] and "closed connection" in result["msg"], result["msg"]
            assert after == before, "half-made after a failed %s: %s -> %s" % (method, before, after)
        else:
            assert proxy.calls[method] == 2, "503 then one retry: %s" % dict(proxy.calls)
            assert not result.get("failed") and result["changed"] is True, result
            assert after == dict(before, **EFFECT[module]), (before, after)
        proxy.clear()
        again = run_module(module, dict(conn, **args))
        assert not again.get("failed"), again.get("msg")
        final = run_module(module, dict(conn, **args))
        assert final["changed"] is False, final
    end = _observe(si)
    if module == "vmware_snapshot":
        assert end["snapshots"].count("s1") == 1, end
    assert vcsim.panics() == []


def test_two_snapshots_at_once_are_both_recorded_or_one_clear_error(vcsim: Any) -> None:
    if "vmware_snapshot" not in present_modules():
        pytest.fail("vmware_snapshot does not exist")
    conn = {
        "hostname": "127.0.0.1",
        "port": vcsim.port,
        "username": vcsim.username,
        "password": vcsim.password,
        "validate_certs": False,
    }
    procs = [spawn_module("vmware_snapshot", dict(conn, vm_name=VM, name=n)) for n in ("race-a", "race-b")]
    results = [collect(p) for p in procs]
    names = _snapshots(vcsim.connect())
    for r, n in zip(results, ("race-a", "race-b"), strict=True):
        if r.get("failed"):
            assert r.get("error_code") and r["msg"], r
            assert n not in names
        else:
            assert names.count(n) == 1, (n, names)
    assert any(not r.get("failed") for r in results), results
