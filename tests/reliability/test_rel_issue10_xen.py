"""Issue 10 regressions on xen_vm: a step that fails half-way through an update, identity by uuid,
device-slot conflicts in check mode and from-scratch creates that need explicit intent.

Each test runs the real module in-process (modrun.py) against the XenAPI simulator with faults from
its /_control API, and reads the peer's state afterwards.
"""

from __future__ import annotations

from typing import Any

from modrun import run_module
from relhelp import ETH0, ETH1, NO_CHANGE, delta, inventory, xen_conn
from xen_state import one_vm, pool, vm_disks, vm_nics, vms_named

GiB = 1024**3
IE = ["INTERNAL_ERROR", "injected by the reliability suite"]


def _xen_vm(xapi: Any, check: bool = False, diff: bool = False, **args: Any) -> dict[str, Any]:
    return run_module("xen_vm", dict(xen_conn(xapi), **args), check=check, diff=diff)


# --- bug 1: a failed power-cycled change ------------------------------------------------------------


def test_bug1_failed_power_cycled_change_is_undone_and_the_vm_runs_again(xapi: Any) -> None:
    """reproduces/fixes bug 1: MEMORY_CONSTRAINT_VIOLATION on set_memory after vcpus were applied."""
    xapi.control.fault("VM.set_memory_limits", error=["MEMORY_CONSTRAINT_VIOLATION", "injected"], count=1)
    args = {"name": "web-01", "memory": "4GiB", "vcpus": 1, "allow_power_cycling": True}
    res = _xen_vm(xapi, **args)
    assert res["failed"] is True and res["failed_step"] == "set_memory", res
    assert res["changed"] is True, res
    assert res["applied"] == ["shutdown", "set_vcpus"], res
    assert res["rolled_back"] == ["restore vcpus 2", "restore power state running"], res
    assert "applied: shutdown, set_vcpus; rolled back: restore vcpus 2, restore power state running" in res["msg"]
    assert "nothing was left behind" in res["msg"]
    vm = one_vm(pool(xapi.control), "web-01")
    assert vm["power_state"] == "Running"
    assert (int(vm["VCPUs_at_startup"]), int(vm["VCPUs_max"])) == (2, 2)
    assert int(vm["memory_static_max"]) == 2 * GiB
    # a re-run without the fault converges, with the power state restored
    again = _xen_vm(xapi, **args)
    assert not again.get("failed") and again["changed"] is True, again
    vm = one_vm(pool(xapi.control), "web-01")
    assert vm["power_state"] == "Running" and int(vm["VCPUs_at_startup"]) == 1
    assert int(vm["memory_static_max"]) == 4 * GiB
    assert _xen_vm(xapi, **args)["changed"] is False


def test_bug1_failed_power_restore_is_its_own_error_with_the_current_state(xapi: Any) -> None:
    """The start that should restore the power state fails twice (the change and its rollback)."""
    xapi.control.fault("Async.VM.start", error=IE, count=2)
    res = _xen_vm(xapi, name="web-01", vcpus=4, allow_power_cycling=True)
    assert res["failed"] is True and res["error_code"] == "POWER_RESTORE_FAILED", res
    assert res["power_state"] == "halted" and res["expected_power_state"] == "running", res
    assert res["changed"] is True and res["failed_step"] == "start", res
    assert res["applied"] == ["shutdown", "set_vcpus"] and res["rolled_back"] == ["restore vcpus 2"], res
    assert "restoring the power state also failed" in res["msg"] and "the VM is now halted" in res["msg"]
    vm = one_vm(pool(xapi.control), "web-01")
    assert vm["power_state"] == "Halted" and int(vm["VCPUs_at_startup"]) == 2


# --- bug 2: a failed update reports what it applied and undoes it --------------------------------------


def test_bug2_failed_update_rolls_back_the_disk_it_added(xapi: Any) -> None:
    """reproduces/fixes bug 2: VIF.create fails while adding disk 1 and NIC 1 to a running VM."""
    before = inventory(pool(xapi.control))
    xapi.control.fault("VIF.create", error=IE, count=1)
    args = {
        "name": "web-01",
        "disks": [{"userdevice": 0, "size": "10GiB"}, {"userdevice": 1, "size": "1GiB"}],
        "networks": [{"device": 0, "network": ETH0}, {"device": 1, "network": ETH1}],
    }
    res = _xen_vm(xapi, **args)
    assert res["failed"] is True and res["failed_step"] == "add_nic", res
    assert res["changed"] is True and res["applied"] == ["add_disk"], res
    assert res["rolled_back"] == ["remove the new disk 1"], res
    assert "applied: add_disk; rolled back: remove the new disk 1; nothing was left behind" in res["msg"]
    state = pool(xapi.control)
    assert delta(before, inventory(state)) == NO_CHANGE
    vm = one_vm(state, "web-01")
    assert sorted(vm_disks(state, vm)) == [0] and sorted(vm_nics(state, vm)) == [0]
    again = _xen_vm(xapi, **args)
    assert not again.get("failed") and again["changed"] is True, again
    state = pool(xapi.control)
    vm = one_vm(state, "web-01")
    assert sorted(vm_disks(state, vm)) == [0, 1] and sorted(vm_nics(state, vm)) == [0, 1]
    assert _xen_vm(xapi, **args)["changed"] is False


def test_steps_without_inverse_are_reported_as_left_changed(xapi: Any) -> None:
    """A grown disk cannot be shrunk back: the failed run says it stays grown.

    On a halted VM: the stock SR types have no online resize, so a running VM would need a halt first.
    """
    xapi.control.fault("VIF.create", error=IE, count=1)
    res = _xen_vm(
        xapi,
        name="db-01",
        disks=[{"userdevice": 0, "size": "22GiB"}, {"userdevice": 1, "size": "50GiB"}],
        networks=[{"device": 0, "network": ETH0}, {"device": 1, "network": ETH1}, {"device": 2, "network": ETH0}],
    )
    assert res["failed"] is True and res["changed"] is True, res
    assert res["applied"] == ["resize_disk"] and res["rolled_back"] == [], res
    assert res["not_undone"] == ["grow disk 0 20GiB -> 22GiB"], res
    assert "left changed (no inverse): grow disk 0 20GiB -> 22GiB" in res["msg"]
    state = pool(xapi.control)
    assert int(vm_disks(state, one_vm(state, "db-01"))[0]["virtual_size"]) == 22 * GiB


def test_a_failure_before_any_change_reports_changed_false(xapi: Any) -> None:
    xapi.control.fault("VM.set_name_description", error=IE, count=1)
    res = _xen_vm(xapi, name="web-01", description="x")
    assert res["failed"] is True and res["changed"] is False, res
    assert res["applied"] == [] and res["rolled_back"] == [], res
    assert "(applied: nothing; nothing was changed)" in res["msg"]


# --- bugs 3 and 4: identity by uuid ---------------------------------------------------------------------


def test_bug3_unknown_uuid_never_creates(xapi: Any) -> None:
    """reproduces/fixes bug 3: a uuid that matches nothing created a new VM on every run."""
    before = pool(xapi.control)
    uuid = "00000000-0000-0000-0000-000000000000"
    for check in (True, False):
        res = _xen_vm(xapi, check=check, uuid=uuid, name="zz", template="Debian Bookworm 12")
        assert res["failed"] is True and res["error_code"] == "NOT_FOUND", res
        assert res["param"] == "uuid" and res["changed"] is False, res
        assert res["msg"] == (
            "uuid: no VM with uuid %r; a uuid cannot be chosen, so it never creates a VM: "
            "omit uuid to create one named 'zz'" % uuid
        )
    after = pool(xapi.control)
    assert vms_named(after, "zz") == [] and delta(inventory(before), inventory(after)) == NO_CHANGE


def test_bug4_uuid_with_a_different_name_renames(xapi: Any) -> None:
    """reproduces/fixes bug 4: uuid + a different name silently did nothing; it now renames."""
    uuid = one_vm(pool(xapi.control), "web-01")["uuid"]
    check = _xen_vm(xapi, check=True, diff=True, uuid=uuid, name="web-01-renamed")
    assert check["changed"] is True and check["vm"]["name"] == "web-01-renamed", check
    assert [c["operation"] for c in check["changes"]] == ["rename"], check
    assert check["diff"]["before"]["name"] == "web-01" and check["diff"]["after"]["name"] == "web-01-renamed"
    assert len(vms_named(pool(xapi.control), "web-01")) == 1  # check mode changed nothing
    res = _xen_vm(xapi, uuid=uuid, name="web-01-renamed")
    assert res["changed"] is True and res["vm"]["name"] == "web-01-renamed", res
    state = pool(xapi.control)
    assert vms_named(state, "web-01") == [] and one_vm(state, "web-01-renamed")["uuid"] == uuid
    assert _xen_vm(xapi, uuid=uuid, name="web-01-renamed")["changed"] is False


# --- bug 5: check mode predicts device-slot conflicts ---------------------------------------------------


def test_bug5_check_mode_predicts_a_disk_on_the_cd_slot(xapi: Any) -> None:
    """reproduces/fixes bug 5: a disk at userdevice 3 where the CD drive sits."""
    before = xapi.control.state_hash()
    args = {"name": "web-01", "disks": [{"userdevice": 0, "size": "10GiB"}, {"userdevice": 3, "size": "1GiB"}]}
    expected = (
        "disks[1].userdevice: userdevice 3 of VM 'web-01' is taken by its CD drive; "
        "choose a free device number for the disk"
    )
    check = _xen_vm(xapi, check=True, **args)
    assert check["failed"] is True and check["msg"] == expected and check["param"] == "disks[1].userdevice", check
    real = _xen_vm(xapi, **args)
    assert real["failed"] is True and real["msg"] == expected and real["changed"] is False, real
    assert xapi.control.state_hash() == before


def test_check_mode_predicts_a_cd_drive_on_a_disk_slot(xapi: Any) -> None:
    before = xapi.control.state_hash()
    args = {"name": "db-01", "cdrom": {"userdevice": 1}}
    check = _xen_vm(xapi, check=True, **args)
    assert check["failed"] is True and check["param"] == "cdrom.userdevice", check
    assert "userdevice 1 of VM 'db-01' is taken by disk 1" in check["msg"]
    assert _xen_vm(xapi, **args)["msg"] == check["msg"]
    assert xapi.control.state_hash() == before


# --- from-scratch creates need explicit intent ----------------------------------------------------------


def test_a_name_alone_never_creates_an_empty_vm(xapi: Any) -> None:
    before = xapi.control.state_hash()
    for check in (True, False):
        res = _xen_vm(xapi, check=check, name="web-O1", vcpus=2)
        assert res["failed"] is True and res["param"] == "template", res
        assert res["msg"] == (
            "template: no VM named 'web-O1' exists; to create it give template (a template's name or uuid, or "
            "'none' for an empty VM from scratch) or a disks list"
        )
    assert xapi.control.state_hash() == before


def test_template_none_or_a_disks_list_creates_from_scratch(xapi: Any) -> None:
    res = _xen_vm(xapi, name="scratch-1", template="none")
    assert not res.get("failed") and res["changed"] is True, res
    assert res["changes"][0]["description"] == "create VM 'scratch-1' from scratch"
    res = _xen_vm(xapi, name="scratch-2", disks=[{"userdevice": 0, "size": "1GiB"}])
    assert not res.get("failed") and res["changed"] is True, res
    state = pool(xapi.control)
    assert len(vm_disks(state, one_vm(state, "scratch-2"))) == 1 and len(vms_named(state, "scratch-1")) == 1
    # template: none on an existing VM is not an error (the VM exists, nothing to create)
    assert _xen_vm(xapi, name="scratch-1", template="none")["changed"] is False
