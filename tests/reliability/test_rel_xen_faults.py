"""Fault injection against the XenAPI simulator, for every mutating xen module.

Every case runs the real module (in-process, see modrun.py) against the simulator with one fault armed,
then checks on the peer: success (where the failed call is safe to retry) or a clear failure; nothing
half-made (uuid sets of VM/VDI/VBD/VIF compared with the state before); and that a re-run without the
fault converges and a further run reports ``changed=false``.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import pytest
from modrun import run_module
from relhelp import NO_CHANGE, delta, inventory, new_vm_args, xen_conn
from xen_state import one_vm, pool, vms_named

ADDED_BY_CREATE = {"VM": (1, 0), "VDI": (2, 0), "VBD": (2, 0), "VIF": (2, 0)}
ADDED_BY_RESCUE = {"VM": (1, 0), "VDI": (1, 0), "VBD": (2, 0), "VIF": (1, 0)}
RESCUE = {"name": "web-01", "state": "rescued", "rescue_template": "Debian Bookworm 12"}
START = {"name": "db-01", "state": "running"}
IE = ["INTERNAL_ERROR", "injected by the reliability suite"]
OOIP = ["OTHER_OPERATION_IN_PROGRESS", "VM", "OpaqueRef:injected", "clone"]


@dataclass
class Case:
    module: str
    fault: str
    args: dict[str, Any]
    faults: list[dict[str, Any]]
    outcome: str  # "ok" (the call was safe to retry) or "fail" (a clear failure)
    message: list[str] = field(default_factory=list)
    success_delta: dict[str, tuple[int, int]] = field(default_factory=dict)
    expire_after: float | None = None
    settle: float = 0.0  # wait for injected delays to run out before reading the peer
    xfail: str | None = None


CASES = {
    # --- xen_vm: create from a template (clone, provision, resize, add disk, 2 NICs) -----------------------
    "xen_vm-drop": Case(
        "xen_vm",
        "drop",
        new_vm_args(),
        [{"method": "VIF.create", "mode": "drop", "count": 2}],
        "fail",
        ["step 'add_nic' failed", "VIF.create: connection to the XenAPI endpoint failed", "rolled back"],
    ),
    "xen_vm-drop-destroy": Case(
        "xen_vm",
        "drop",
        {"name": "db-01", "state": "absent"},
        [{"method": "VM.destroy", "mode": "drop", "count": 2}],
        "fail",
        ["step 'destroy' failed", "VM.destroy: connection to the XenAPI endpoint failed"],
    ),
    "xen_vm-internal-mutating": Case(
        "xen_vm",
        "INTERNAL_ERROR",
        new_vm_args(),
        [{"method": "VDI.create", "error": IE}],
        "fail",
        ["step 'add_disk' failed", "VDI.create failed: INTERNAL_ERROR", "rolled back"],
    ),
    "xen_vm-internal-read": Case(
        "xen_vm",
        "INTERNAL_ERROR",
        new_vm_args(),
        [{"method": "event.from", "error": IE}],
        "ok",
        success_delta=ADDED_BY_CREATE,
    ),
    "xen_vm-ooip": Case(
        "xen_vm",
        "OTHER_OPERATION_IN_PROGRESS",
        new_vm_args(),
        [{"method": "VIF.create", "error": OOIP, "count": 2}],
        "ok",
        success_delta=ADDED_BY_CREATE,
    ),
    "xen_vm-ooip-task": Case(
        "xen_vm",
        "OTHER_OPERATION_IN_PROGRESS",
        new_vm_args(),
        [{"method": "Async.VM.clone", "error": OOIP}],
        "fail",
        ["step 'clone template' failed", "OTHER_OPERATION_IN_PROGRESS", "nothing was changed"],
    ),
    "xen_vm-503": Case(
        "xen_vm",
        "HTTP 503",
        new_vm_args(),
        [
            {"method": "Async.VM.clone", "mode": "http_error", "status": 503},
            {"method": "VIF.create", "mode": "http_error", "status": 503},
        ],
        "ok",
        success_delta=ADDED_BY_CREATE,
    ),
    "xen_vm-session": Case(
        "xen_vm",
        "SESSION_INVALID",
        new_vm_args(),
        [{"method": "Async.VM.provision", "mode": "delay", "seconds": 1.0}],
        "ok",
        success_delta=ADDED_BY_CREATE,
        expire_after=0.4,
    ),
    "xen_vm-midcreate": Case(
        "xen_vm",
        "fail mid-create",
        new_vm_args(),
        [{"method": "VBD.create", "error": IE}],
        "fail",
        ["step 'add_disk' failed", "VBD.create failed: INTERNAL_ERROR", "rolled back"],
    ),
    "xen_vm-timeout-clone": Case(
        "xen_vm",
        "slower than timeout",
        new_vm_args(timeout=1),
        [{"method": "Async.VM.clone", "mode": "delay", "seconds": 2.5}],
        "fail",
        ["clone template did not finish within 1s"],
        settle=2.0,
    ),
    "xen_vm-timeout-provision": Case(
        "xen_vm",
        "slower than timeout",
        new_vm_args(timeout=1),
        [{"method": "Async.VM.provision", "mode": "delay", "seconds": 2.5}],
        "fail",
        ["provision did not finish within 1s"],
        settle=2.0,
    ),
    # --- xen_vm_power: start (one task) and rescue (a multi-step create) -----------------------------------
    "power-drop": Case(
        "xen_vm_power",
        "drop",
        START,
        [{"method": "Async.VM.start", "mode": "drop", "count": 2}],
        "fail",
        ["step 'start' failed", "Async.VM.start: connection to the XenAPI endpoint failed"],
    ),
    "power-drop-rescue": Case(
        "xen_vm_power",
        "drop",
        RESCUE,
        [{"method": "VIF.create", "mode": "drop", "count": 2}],
        "fail",
        ["step 'networks' failed", "VIF.create: connection", "rolled back"],
    ),
    "power-internal": Case(
        "xen_vm_power",
        "INTERNAL_ERROR",
        START,
        [{"method": "Async.VM.start", "error": IE}],
        "fail",
        ["step 'start' failed", "INTERNAL_ERROR: injected"],
    ),
    "power-internal-read": Case(
        "xen_vm_power", "INTERNAL_ERROR", START, [{"method": "event.from", "error": IE}], "ok", success_delta=NO_CHANGE
    ),
    "power-ooip": Case(
        "xen_vm_power",
        "OTHER_OPERATION_IN_PROGRESS",
        RESCUE,
        [{"method": "VBD.create", "error": OOIP, "count": 2}],
        "ok",
        success_delta=ADDED_BY_RESCUE,
    ),
    "power-503": Case(
        "xen_vm_power",
        "HTTP 503",
        START,
        [{"method": "Async.VM.start", "mode": "http_error", "status": 503}],
        "ok",
        success_delta=NO_CHANGE,
    ),
    "power-session": Case(
        "xen_vm_power",
        "SESSION_INVALID",
        START,
        [{"method": "Async.VM.start", "mode": "delay", "seconds": 1.0}],
        "ok",
        success_delta=NO_CHANGE,
        expire_after=0.4,
    ),
    "power-midcreate": Case(
        "xen_vm_power",
        "fail mid-create",
        RESCUE,
        [{"method": "Async.VM.start", "error": IE}],
        "fail",
        ["step 'start_rescue_vm' failed", "INTERNAL_ERROR", "rolled back"],
    ),
    "power-timeout": Case(
        "xen_vm_power",
        "slower than timeout",
        dict(START, timeout=1),
        [{"method": "Async.VM.start", "mode": "delay", "seconds": 2.0}],
        "fail",
        ["step 'start' failed", "start did not finish within 1s; the task was cancelled"],
        settle=1.5,
    ),
    "power-timeout-rescue": Case(
        "xen_vm_power",
        "slower than timeout",
        dict(RESCUE, timeout=1),
        [{"method": "Async.VM.clone", "mode": "delay", "seconds": 2.5}],
        "fail",
        ["clone rescue template did not finish within 1s"],
        settle=2.0,
    ),
}


def _params() -> list[Any]:
    out = []
    for key, case in CASES.items():
        marks = [pytest.mark.xfail(strict=True, reason=case.xfail)] if case.xfail else []
        out.append(pytest.param(key, id=key, marks=marks))
    return out


def _observable(state: dict[str, Any], case: Case) -> dict[str, Any]:
    """What must be unchanged after a failure besides the inventory: the target VM's lock and name."""
    name = case.args.get("name")
    vm = vms_named(state, name)
    return {
        "vms": len(vm),
        "blocked": vm[0]["blocked_operations"] if vm else None,
        "rescue": len(vms_named(state, "%s-rescue" % name)),
    }


@pytest.mark.parametrize("key", _params())
def test_fault(xapi: Any, fault_cell: Any, key: str) -> None:
    case = CASES[key]
    fault_cell(case.module, case.fault)
    control = xapi.control
    args = dict(xen_conn(xapi), **case.args)
    before_state = pool(control)
    before = inventory(before_state)
    for spec in case.faults:
        control.fault(**spec)
    timer = None
    if case.expire_after is not None:
        timer = threading.Timer(case.expire_after, control.expire_sessions)
        timer.start()
    try:
        result = run_module(case.module, args)
    finally:
        if timer is not None:
            timer.join()
    if case.settle:
        time.sleep(case.settle)  # let a delayed (cancelled) task run out: it must not leave anything behind
    control.clear_faults()
    after_state = pool(control)
    after = inventory(after_state)

    if case.outcome == "ok":
        assert not result.get("failed"), result.get("msg")
        assert result["changed"] is True
        assert delta(before, after) == case.success_delta
        if case.expire_after is not None:
            assert control.calls().get("session.login_with_password", 0) >= 2  # the SDK logged in again
    else:
        assert result.get("failed") is True, result
        for text in case.message:
            assert text in result["msg"], result["msg"]
        assert result.get("error_code"), result
        assert delta(before, after) == NO_CHANGE, "half-made objects left behind: %s" % delta(before, after)
        if case.args.get("state") != "running":
            assert _observable(after_state, case) == _observable(before_state, case)

    # a re-run without the fault converges, and is then idempotent
    again = run_module(case.module, args)
    assert not again.get("failed"), again.get("msg")
    final = pool(control)
    if case.module == "xen_vm" and case.args.get("state") != "absent":
        vm = one_vm(final, "app-01")
        assert int(vm["VCPUs_at_startup"]) == 2 and len(vm["VIFs"]) == 2
    elif case.args.get("state") == "absent":
        assert vms_named(final, "db-01") == []
    elif case.args.get("state") == "running":
        assert one_vm(final, "db-01")["power_state"] == "Running"
    else:
        assert len(vms_named(final, "web-01-rescue")) == 1
    assert run_module(case.module, args)["changed"] is False
