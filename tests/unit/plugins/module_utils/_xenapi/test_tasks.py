"""TaskRunner: bounded waits, cancel on timeout, the fate of a task that finishes after its cancel."""

from __future__ import annotations

import pytest

from ansible_collections.virtops.compute.plugins.module_utils._common.errors import (
    BackendError,
    TaskFailed,
    TaskTimeout,
)
from ansible_collections.virtops.compute.plugins.module_utils._common.waiter import Waiter
from ansible_collections.virtops.compute.plugins.module_utils._xenapi.tasks import TaskRunner


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def sleep(self, seconds: float) -> None:
        self.now += seconds


class FakeTaskConn:
    """A task whose status follows a script of (seconds, record) steps on a fake clock."""

    def __init__(self, clock: Clock, script: list[tuple[float, dict]]) -> None:
        self.clock = clock
        self.script = script
        self.calls: list[str] = []

    def call(self, method: str, *args, **kwargs):
        self.calls.append(method)
        if method.startswith("Async."):
            return "OpaqueRef:task"
        if method == "task.get_record":
            record = {"status": "pending"}
            for at, rec in self.script:
                if self.clock.now >= at:
                    record = rec
            return record
        return ""


def runner(conn: FakeTaskConn, clock: Clock) -> TaskRunner:
    return TaskRunner(conn, lambda t: Waiter(t, interval=0.5, clock=lambda: clock.now, sleep=clock.sleep))


def test_success_returns_the_ref_and_destroys_the_task():
    clock = Clock()
    conn = FakeTaskConn(clock, [(1.0, {"status": "success", "result": "<value>OpaqueRef:vm</value>"})])
    assert runner(conn, clock).run("VM.clone", "t", "n", timeout=10) == "OpaqueRef:vm"
    assert conn.calls[0] == "Async.VM.clone" and conn.calls[-1] == "task.destroy"


def test_failure_carries_the_xapi_code():
    clock = Clock()
    conn = FakeTaskConn(clock, [(0.0, {"status": "failure", "error_info": ["SR_FULL", "1", "2"]})])
    with pytest.raises(BackendError) as err:
        runner(conn, clock).run("VM.copy", timeout=10, what="copy template")
    assert err.value.code == "SR_FULL" and str(err.value) == (
        "copy template failed: SR_FULL: the SR is full: 0.0 MiB requested, 0.0 MiB available"
    )


def test_timeout_cancels_and_waits_for_the_cancel_to_land():
    clock = Clock()
    # still running at the timeout, "cancelling" after the cancel, final "cancelled" later
    conn = FakeTaskConn(clock, [(2.5, {"status": "cancelling"}), (4.0, {"status": "cancelled"})])
    with pytest.raises(TaskTimeout) as err:
        runner(conn, clock).run("VM.start", timeout=2, what="start")
    assert str(err.value) == "start did not finish within 2s; the task was cancelled"
    assert conn.calls.count("task.cancel") == 1 and conn.calls[-1] == "task.destroy"
    assert clock.now >= 4.0  # task.destroy only after the task reached a final state


def test_a_create_that_completes_after_its_cancel_is_handed_to_the_undo():
    clock = Clock()
    conn = FakeTaskConn(clock, [(3.0, {"status": "success", "result": "<value>OpaqueRef:late</value>"})])
    adopted = []
    with pytest.raises(TaskTimeout) as err:
        runner(conn, clock).run("VM.clone", timeout=2, what="clone template", on_late_success=adopted.append)
    assert adopted == ["OpaqueRef:late"]
    assert str(err.value).endswith("the task was cancelled; it completed after the timeout")


def test_cancelled_by_someone_else_is_a_task_failure():
    clock = Clock()
    conn = FakeTaskConn(clock, [(0.0, {"status": "cancelled"})])
    with pytest.raises(TaskFailed) as err:
        runner(conn, clock).run("VM.start", timeout=5, what="start")
    assert err.value.code == "TASK_CANCELLED"
