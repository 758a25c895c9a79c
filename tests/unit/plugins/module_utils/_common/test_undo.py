from __future__ import annotations

import pytest

from ansible_collections.virtops.compute.plugins.module_utils._common.errors import BackendError
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
        "step 'add_disk' failed: VBD.create failed: INTERNAL_ERROR (rolled back: nothing was left behind)"
    )


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
