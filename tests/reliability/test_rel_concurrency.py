"""Races: two module processes at once against one simulator.

The race window is made deterministic with a simulator delay on ``event.from`` (the one read each run
starts with): both processes read "no such VM" before either creates it.
"""

from __future__ import annotations

from typing import Any

from modrun import collect, run_module, spawn_module
from relhelp import new_vm_args, xen_conn
from xen_state import one_vm, pool, vms_named


def test_two_creates_of_the_same_name_make_one_vm(xapi: Any) -> None:
    """xen_vm serialises creates of one name with a pool.other_config lock: one creates, the other waits
    and finds the VM (changed=false), or fails with a clear CONFLICT; never two VMs."""
    xapi.control.fault("event.from", mode="delay", seconds=1.5, count=2)
    args = dict(xen_conn(xapi), **new_vm_args())
    procs = [spawn_module("xen_vm", args) for _i in range(2)]
    results = [collect(p) for p in procs]
    xapi.control.clear_faults()
    state = pool(xapi.control)
    made = vms_named(state, "app-01")
    failed = [r for r in results if r.get("failed")]
    for r in failed:  # a loser must say why
        assert r.get("error_code") in ("CONFLICT", "AMBIGUOUS") and "app-01" in r["msg"], r
    assert len(made) == 1, "%d VMs named app-01 after two concurrent creates: %s" % (
        len(made),
        [r.get("msg") or r.get("changed") for r in results],
    )
    assert sum(1 for r in results if r.get("changed")) == 1
    assert not any(k.startswith("virtops") for k in state["pool"][next(iter(state["pool"]))]["other_config"]), (
        "a create lock was left in pool.other_config"
    )
    assert run_module("xen_vm", args)["changed"] is False


def test_two_starts_of_the_same_vm_one_start_no_error_leak(xapi: Any) -> None:
    """Both runs see 'halted'; one starts it, the other gets a clear xapi error or finds it running."""
    xapi.control.fault("event.from", mode="delay", seconds=1.0, count=2)
    args = dict(xen_conn(xapi), name="db-01", state="running")
    procs = [spawn_module("xen_vm_power", args) for _i in range(2)]
    results = [collect(p) for p in procs]
    xapi.control.clear_faults()
    assert one_vm(pool(xapi.control), "db-01")["power_state"] == "Running"
    ok = [r for r in results if not r.get("failed")]
    assert ok, results
    for r in results:
        if r.get("failed"):
            assert r.get("error_code") in ("VM_BAD_POWER_STATE", "OTHER_OPERATION_IN_PROGRESS"), r
            assert "step 'start' failed" in r["msg"], r
    assert xapi.control.calls().get("Async.VM.start", 0) <= 2
    assert run_module("xen_vm_power", args)["changed"] is False
