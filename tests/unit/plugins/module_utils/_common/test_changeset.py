from __future__ import annotations

import pytest

from ansible_collections.virtops.compute.plugins.module_utils._common.changeset import ChangeSet
from ansible_collections.virtops.compute.plugins.module_utils._common.errors import BackendError


def test_no_operations_means_unchanged_and_equal_sides():
    cs = ChangeSet({"a": 1})
    assert cs.changed is False
    assert cs.diff == {"before": {"a": 1}, "after": {"a": 1}}
    assert cs.result("vm") == {"changed": False, "diff": cs.diff, "changes": [], "vm": {"a": 1}}


def test_operations_order_needs_halt_and_prediction():
    ran = []
    cs = ChangeSet({"vcpus": 1, "name": "x"})
    cs.add("shutdown", "shut down", lambda: ran.append("shutdown"), needs_halt=True)
    cs.add("set_vcpus", "vcpus 1 -> 2", lambda: ran.append("set_vcpus"), params={"vcpus": 2})
    cs.update_after(["vcpus"], 2)
    assert cs.changed and cs.needs_halt and cs.halt_reasons() == ["shut down"]
    assert cs.diff == {"before": {"vcpus": 1, "name": "x"}, "after": {"vcpus": 2, "name": "x"}}
    assert cs.summary() == [
        {"operation": "shutdown", "description": "shut down", "needs_halt": True},
        {"operation": "set_vcpus", "description": "vcpus 1 -> 2", "params": {"vcpus": 2}},
    ]
    cs.apply()
    assert ran == ["shutdown", "set_vcpus"]


def test_before_is_a_copy():
    current = {"tags": ["a"]}
    cs = ChangeSet(current)
    cs.after["tags"].append("b")
    assert current == {"tags": ["a"]} and cs.before == {"tags": ["a"]}


def test_absent_object_renders_as_empty_dict():
    cs = ChangeSet(None)
    cs.add("create", "create it")
    cs.set_after({"name": "x"})
    assert cs.diff == {"before": {}, "after": {"name": "x"}}


def test_apply_names_the_failing_step():
    def boom():
        raise BackendError("VDI.create failed: SR_FULL", code="SR_FULL")

    cs = ChangeSet({})
    cs.add("ok", "fine", lambda: None)
    cs.add("add_disk", "add disk 1", boom)
    with pytest.raises(BackendError) as err:
        cs.apply()
    assert err.value.step == "add_disk"
    assert err.value.message() == "step 'add_disk' failed: VDI.create failed: SR_FULL"
