from __future__ import annotations

import pytest

from ansible_collections.virtops.compute.plugins.module_utils._common.errors import NotFound
from ansible_collections.virtops.compute.plugins.module_utils._common.module import VirtopsModule


class FakeAnsibleModule:
    def __init__(self):
        self.params = {"name": "x"}
        self.check_mode = False
        self.exited = None
        self.failed = None

    def exit_json(self, **kwargs):
        self.exited = kwargs

    def fail_json(self, **kwargs):
        self.failed = kwargs


class Closing(VirtopsModule):
    shared_specs = [{"hostname": {"type": "str"}}]
    argument_spec = {"name": {"type": "str"}, "hostname": {"type": "str", "required": True}}

    def __init__(self, module, outcome):
        super().__init__(module)
        self.outcome = outcome
        self.closed = 0

    def run(self):
        if isinstance(self.outcome, Exception):
            raise self.outcome
        return dict(self.outcome)

    def close(self):
        self.closed += 1


def test_module_spec_overrides_shared_spec():
    assert Closing.full_argument_spec() == {"hostname": {"type": "str", "required": True}, "name": {"type": "str"}}


def test_typed_error_becomes_fail_json_with_code_and_closes_once():
    fake = FakeAnsibleModule()
    mod = Closing(fake, NotFound("no VM with name 'x'"))
    mod.execute()
    assert fake.failed == {
        "msg": "no VM with name 'x'",
        "error_code": "NOT_FOUND",
        "changed": False,
        "applied": [],
        "rolled_back": [],
    }
    assert mod.closed == 1 and fake.exited is None


def test_success_exits_with_result_and_warnings():
    fake = FakeAnsibleModule()
    mod = Closing(fake, {"changed": False})
    mod.warn("careful")
    mod.execute()
    assert fake.exited == {"changed": False, "warnings": ["careful"]} and mod.closed == 1


def test_unexpected_errors_are_not_swallowed():
    fake = FakeAnsibleModule()
    with pytest.raises(ZeroDivisionError):
        Closing(fake, ZeroDivisionError()).execute()
