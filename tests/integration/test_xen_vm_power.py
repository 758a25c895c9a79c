# -*- coding: utf-8 -*-
# Copyright: virtops.compute contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""xen_vm_power through real ansible-playbook runs against the XenAPI simulator."""

from __future__ import annotations

from typing import Any

import pytest

RESCUE_KEY = "virtops_rescue_of"
RESCUE_REASON = "virtops.compute: rescued"
TEMPLATE = "Debian Bookworm 12"


def power(**args: Any) -> dict[str, Any]:
    return {"name": "xen_vm_power", "virtops.compute.xen_vm_power": args, "ignore_errors": True}


def pool0(xapi: Any) -> dict[str, Any]:
    return xapi.control.state()["pool0"]


def vm_rec(xapi: Any, name: str) -> dict[str, Any]:
    matches = [r for r in pool0(xapi)["VM"].values() if r["name_label"] == name]
    assert len(matches) == 1, matches
    return matches[0]


def uuids(state: dict[str, Any], klass: str) -> set[str]:
    return {r["uuid"] for r in state[klass].values()}


@pytest.mark.parametrize(
    "vm,target,xapi_state",
    [
        ("web-01", "halted", "Halted"),
        ("db-01", "running", "Running"),
        ("web-01", "paused", "Paused"),
        ("web-01", "suspended", "Suspended"),
    ],
)
def test_target_state(xapi: Any, playbook: Any, vm: str, target: str, xapi_state: str) -> None:
    before = xapi.control.state_hash()
    check = playbook([power(name=vm, state=target)], check=True, diff=True)
    assert check.status() == "ok" and check.result()["changed"] is True
    assert check.result()["vm"]["power_state"] == target
    assert check.result()["diff"]["after"]["power_state"] == target
    assert xapi.control.state_hash() == before

    run = playbook([power(name=vm, state=target)], diff=True)
    res = run.result()
    assert run.status() == "ok" and res["changed"] is True, res
    assert vm_rec(xapi, vm)["power_state"] == xapi_state
    assert res["vm"]["power_state"] == target
    assert res["diff"]["before"]["power_state"] != res["diff"]["after"]["power_state"] == target
    assert "power_state" in run.stdout and target in run.stdout  # --diff rendered

    again = playbook([power(name=vm, state=target)])
    assert again.status() == "ok" and again.result()["changed"] is False
    assert again.result()["changes"] == []


def test_force_halt_is_a_hard_shutdown(xapi: Any, playbook: Any) -> None:
    xapi.control.reset_calls()
    run = playbook([power(name="web-01", state="halted", force=True)])
    assert run.result()["changed"] is True
    calls = xapi.control.calls()
    assert calls.get("Async.VM.hard_shutdown") == 1 and "Async.VM.clean_shutdown" not in calls


def test_restarted_always_changes(xapi: Any, playbook: Any) -> None:
    before = xapi.control.state_hash()
    check = playbook([power(name="web-01", state="restarted")], check=True)
    assert check.result()["changed"] is True and xapi.control.state_hash() == before
    xapi.control.reset_calls()
    run = playbook([power(name="web-01", state="restarted"), power(name="web-01", state="restarted", force=True)])
    assert [r["result"]["changed"] for r in run.results] == [True, True]
    assert [r["result"]["reboot_type"] for r in run.results] == ["soft", "hard"]
    calls = xapi.control.calls()
    assert calls["Async.VM.clean_reboot"] == 1 and calls["Async.VM.hard_reboot"] == 1
    assert vm_rec(xapi, "web-01")["power_state"] == "Running"


def test_soft_reboot_falls_back_to_hard(xapi: Any, playbook: Any) -> None:
    xapi.control.fault("VM.clean_reboot", error=["VM_LACKS_FEATURE", "x"], count=1)
    run = playbook([power(name="web-01", state="restarted")])
    assert run.status() == "ok" and run.result()["reboot_type"] == "hard"


def test_guest_without_pv_drivers_is_halted_and_rebooted_hard(xapi: Any, playbook: Any) -> None:
    """legacy-01 runs without PV drivers: xapi refuses clean shutdown/reboot (VM_LACKS_FEATURE),
    the module falls back to the hard operation."""
    xapi.control.reset_calls()
    run = playbook([power(name="legacy-01", state="restarted")])
    assert run.status() == "ok" and run.result()["reboot_type"] == "hard", run.stdout
    calls = xapi.control.calls()
    assert calls.get("Async.VM.clean_reboot") == 1 and calls.get("Async.VM.hard_reboot") == 1
    xapi.control.reset_calls()
    run = playbook([power(name="legacy-01", state="halted")])
    assert run.status() == "ok" and run.result()["changed"] is True, run.stdout
    calls = xapi.control.calls()
    assert calls.get("Async.VM.clean_shutdown") == 1 and calls.get("Async.VM.hard_shutdown") == 1
    assert vm_rec(xapi, "legacy-01")["power_state"] == "Halted"


@pytest.mark.parametrize(
    "args,msg",
    [
        ({"name": "nope", "state": "halted"}, "no VM with name 'nope'"),
        (
            {"name": "web-01", "state": "rescued"},
            "state is rescued but all of the following are missing: rescue_template",
        ),
        (
            {"name": "db-01", "state": "restarted"},
            "cannot restart VM 'db-01': it is halted, and state=restarted needs a running VM "
            "(use state=running to start it)",
        ),
        (
            {"name": "web-01", "state": "rescued", "rescue_template": "nope"},
            "rescue_template: no VM or template named or with uuid 'nope'",
        ),
    ],
)
def test_bad_input_fails_without_change(xapi: Any, playbook: Any, args: dict[str, Any], msg: str) -> None:
    before = xapi.control.state_hash()
    run = playbook([power(**args)])
    assert run.status() == "failed"
    assert run.result()["msg"] == msg
    assert xapi.control.state_hash() == before


def test_rescue_round_trip(xapi: Any, playbook: Any) -> None:
    start = pool0(xapi)
    web = vm_rec(xapi, "web-01")
    root_vbd = next(
        b
        for b in start["VBD"].values()
        if b["VM"] in start["VM"] and start["VM"][b["VM"]]["uuid"] == web["uuid"] and b["userdevice"] == "0"
    )
    root_vdi_uuid = start["VDI"][root_vbd["VDI"]]["uuid"]

    before = xapi.control.state_hash()
    check = playbook([power(name="web-01", state="rescued", rescue_template=TEMPLATE)], check=True, diff=True)
    assert check.result()["changed"] is True and check.result()["rescue_vm"]["name"] == "web-01-rescue"
    assert xapi.control.state_hash() == before

    run = playbook([power(name="web-01", state="rescued", rescue_template=TEMPLATE)], diff=True)
    res = run.result()
    assert run.status() == "ok" and res["changed"] is True, res
    assert res["diff"]["after"] == {
        "power_state": "halted",
        "start_blocked": RESCUE_REASON,
        "rescue_vm": "web-01-rescue",
    }
    state = pool0(xapi)
    web = vm_rec(xapi, "web-01")
    rescue = vm_rec(xapi, "web-01-rescue")
    assert web["power_state"] == "Halted" and web["blocked_operations"] == {"start": RESCUE_REASON}
    assert rescue["power_state"] == "Running" and rescue["other_config"][RESCUE_KEY] == web["uuid"]
    assert rescue["is_a_template"] is False
    rescue_vbds = {
        b["userdevice"]: b for b in state["VBD"].values() if state["VM"].get(b["VM"], {}).get("uuid") == rescue["uuid"]
    }
    assert state["VDI"][rescue_vbds["1"]["VDI"]]["uuid"] == root_vdi_uuid
    assert rescue_vbds["1"]["bootable"] is False and rescue_vbds["0"]["bootable"] is True
    assert res["rescue_vm"]["disks"][1]["vdi_uuid"] == root_vdi_uuid
    assert res["vm"]["bootable"] is False

    again = playbook([power(name="web-01", state="rescued", rescue_template=TEMPLATE)])
    assert again.result()["changed"] is False and again.result()["rescue_vm"]["uuid"] == rescue["uuid"]
    blocked = playbook([power(name="web-01", state="running")])
    assert blocked.status() == "failed" and blocked.result()["error_code"] == "VM_RESCUED"

    before = xapi.control.state_hash()
    check = playbook([power(name="web-01", state="unrescued")], check=True)
    assert check.result()["changed"] is True and xapi.control.state_hash() == before

    run = playbook([power(name="web-01", state="unrescued")], diff=True)
    res = run.result()
    assert run.status() == "ok" and res["changed"] is True, res
    assert res["diff"]["after"] == {"power_state": "running", "start_blocked": None, "rescue_vm": None}
    end = pool0(xapi)
    for klass in ("VM", "VDI", "VBD", "VIF"):
        assert uuids(end, klass) == uuids(start, klass), klass
    web = vm_rec(xapi, "web-01")
    assert web["power_state"] == "Running" and web["blocked_operations"] == {}

    again = playbook([power(name="web-01", state="unrescued")])
    assert again.result()["changed"] is False


def test_failed_rescue_leaves_nothing_behind(xapi: Any, playbook: Any) -> None:
    start = pool0(xapi)
    xapi.control.fault("VM.start", error=["INTERNAL_ERROR", "injected"], count=1)  # the rescue VM's start
    run = playbook([power(name="web-01", state="rescued", rescue_template=TEMPLATE)])
    res = run.result()
    assert run.status() == "failed"
    assert "nothing was left behind" in res["msg"] and res["failed_step"] == "start_rescue_vm"
    assert res["changed"] is True and "create_rescue_vm" in res["applied"] and res["rolled_back"], res
    end = pool0(xapi)
    for klass in ("VM", "VDI", "VBD", "VIF"):
        assert uuids(end, klass) == uuids(start, klass), klass
    web = vm_rec(xapi, "web-01")
    assert web["power_state"] == "Running" and web["blocked_operations"] == {}
