from __future__ import annotations

import pytest

from ansible_collections.virtops.compute.plugins.module_utils._common.errors import BackendError, PowerRestoreFailed
from ansible_collections.virtops.compute.plugins.module_utils._common.undo import UndoStack


def test_rollback_runs_newest_first_and_names_the_step():
    undone = []
    with pytest.raises(BackendError) as err, UndoStack() as undo:
        with undo.step("create"):
            undo.push("destroy VM", lambda: undone.append("vm"))
        with undo.step("add_disk"):
            undo.push("destroy VDI", lambda: undone.append("vdi"))
            raise BackendError("VBD.create failed: INTERNAL_ERROR", code="INTERNAL_ERROR")
    assert undone == ["vdi", "vm"]
    assert err.value.step == "add_disk"
    assert err.value.message() == (
        "step 'add_disk' failed: VBD.create failed: INTERNAL_ERROR (applied: create; rolled back: destroy VDI, "
        "destroy VM; nothing was left behind)"
    )
    result = err.value.to_result()
    assert result["changed"] is True and result["applied"] == ["create"]
    assert result["rolled_back"] == ["destroy VDI", "destroy VM"] and "not_undone" not in result


def test_rollback_failures_are_reported_and_do_not_stop_the_rest():
    undone = []

    def broken():
        raise RuntimeError("VM.destroy failed")

    with pytest.raises(BackendError) as err, UndoStack() as undo:
        undo.push("destroy VM", broken)
        undo.push("destroy VDI", lambda: undone.append("vdi"))
        raise BackendError("boom")
    assert undone == ["vdi"]
    assert "rollback also failed: destroy VM: VM.destroy failed" in err.value.msg


def test_success_discards_undo_steps():
    undone = []
    with UndoStack() as undo:
        undo.push("x", lambda: undone.append(1))
    assert undone == [] and len(undo) == 0


def test_a_failure_before_any_change_reports_changed_false():
    with pytest.raises(BackendError) as err, UndoStack() as undo, undo.step("set_memory"):
        raise BackendError("VM.set_memory_limits failed", code="MEMORY_CONSTRAINT_VIOLATION")
    assert (
        err.value.message()
        == "step 'set_memory' failed: VM.set_memory_limits failed (applied: nothing; nothing was changed)"
    )
    result = err.value.to_result()
    assert result["changed"] is False and result["applied"] == [] and result["rolled_back"] == []


def test_steps_without_inverse_are_reported_as_left_changed():
    with pytest.raises(BackendError) as err, UndoStack() as undo:
        with undo.step("resize_disk"):
            pass
        undo.irreversible("grow disk 0 10 GiB -> 20 GiB")
        with undo.step("add_disk"):
            pass
        undo.push("remove disk 1", lambda: None)
        with undo.step("add_nic"):
            raise BackendError("VIF.create failed")
    assert err.value.applied == ["resize_disk", "add_disk"]
    assert err.value.rolled_back == ["remove disk 1"]
    assert err.value.not_undone == ["grow disk 0 10 GiB -> 20 GiB"]
    assert err.value.msg.endswith(
        "(applied: resize_disk, add_disk; rolled back: remove disk 1; left changed (no inverse): grow disk 0 "
        "10 GiB -> 20 GiB)"
    )
    assert err.value.to_result()["not_undone"] == ["grow disk 0 10 GiB -> 20 GiB"]


def test_a_failed_power_restore_is_its_own_error_with_the_current_state():
    def restore():
        raise PowerRestoreFailed(
            "VM.start failed: INTERNAL_ERROR; the VM is halted", power_state="halted", expected="running"
        )

    with pytest.raises(PowerRestoreFailed) as err, UndoStack() as undo:
        with undo.step("shutdown"):
            pass
        undo.push("restore power state running", restore)
        with undo.step("set_memory"):
            raise BackendError(
                "VM.set_memory_limits failed: MEMORY_CONSTRAINT_VIOLATION", code="MEMORY_CONSTRAINT_VIOLATION"
            )
    exc = err.value
    result = exc.to_result()
    assert result["error_code"] == "POWER_RESTORE_FAILED" and result["power_state"] == "halted"
    assert result["expected_power_state"] == "running" and result["changed"] is True
    assert result["failed_step"] == "set_memory" and result["applied"] == ["shutdown"]
    assert exc.message().startswith(
        "step 'set_memory' failed: VM.set_memory_limits failed: MEMORY_CONSTRAINT_VIOLATION"
    )
    assert exc.message().endswith(
        "restoring the power state also failed: VM.start failed: INTERNAL_ERROR; the VM is halted"
    )
    assert result["error_details"][0] == "MEMORY_CONSTRAINT_VIOLATION"
