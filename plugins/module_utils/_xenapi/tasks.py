# -*- coding: utf-8 -*-
# Copyright: virtops.compute contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run ``Async.*`` XenAPI calls as tasks: bounded wait, cancel on timeout, always ``task.destroy``."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ansible_collections.virtops.compute.plugins.module_utils._common.errors import (
    TaskFailed,
    TaskTimeout,
    VirtopsError,
)
from ansible_collections.virtops.compute.plugins.module_utils._common.waiter import Waiter, format_seconds

from .errors import backend_error

# How long to wait for a cancelled task to reach a final state before rolling back around it.
CANCEL_GRACE = 60.0
# "pending" and "cancelling" are still running.
FINAL_STATES = frozenset({"success", "failure", "cancelled"})
_VALUE_RE = re.compile(r"<value>(.*)</value>", re.S)


def parse_task_result(result: str) -> str:
    """xapi returns ``<value>OpaqueRef:...</value>``; plain strings pass through."""
    if not result:
        return ""
    match = _VALUE_RE.search(result)
    return match.group(1).strip() if match else result.strip()


class TaskRunner:
    def __init__(self, conn: Any, waiter_factory: Callable[[float], Waiter] | None = None) -> None:
        self.conn = conn
        self._waiter_factory = waiter_factory or (lambda t: Waiter(t, interval=0.1, max_interval=1.0))

    def run(
        self,
        method: str,
        *args: Any,
        timeout: float = 300,
        what: str | None = None,
        on_late_success: Callable[[str], Any] | None = None,
    ) -> str:
        """Call ``Async.<method>`` and wait for it. Returns the task's result (a ref or '').

        On timeout the task is cancelled and then waited for (bounded): xapi only honours a
        cancel at checkpoints, so the work may still complete. If it does, ``on_late_success``
        gets its result (for example to register the undo of a VM that was created anyway),
        and nothing that outlived the timeout is left running when the caller rolls back.
        """
        task = self.conn.call("Async." + method, *args)
        label = what or method
        try:
            record = self._waiter_factory(timeout).until(lambda: self._finished(task), label)
        except TaskTimeout:
            try:
                self.conn.call("task.cancel", task)
            except VirtopsError:
                pass
            final = self._settle(task, min(max(float(timeout), 5.0), CANCEL_GRACE))
            late = ""
            if final is not None and final.get("status") == "success":
                late = "; it completed after the timeout"
                if on_late_success is not None:
                    on_late_success(parse_task_result(final.get("result", "")))
            raise TaskTimeout(
                "%s did not finish within %ss; the task was cancelled%s" % (label, format_seconds(timeout), late),
                step=label,
            ) from None
        finally:
            try:
                self.conn.call("task.destroy", task)
            except VirtopsError:
                pass  # a task we cannot destroy is garbage-collected by xapi; keep the real outcome
        status = record["status"]
        if status == "success":
            return parse_task_result(record.get("result", ""))
        info = [str(x) for x in record.get("error_info") or []]
        if status == "cancelled":
            raise TaskFailed("%s was cancelled" % label, code="TASK_CANCELLED", step=label)
        code = info[0] if info else "TASK_FAILED"
        raise backend_error(
            label, code, info[1:], method=method, args=args, resolve=getattr(self.conn, "read_field", None), step=label
        )

    def _settle(self, task: str, grace: float) -> dict | None:
        """The task's final record once it leaves ``pending``, or None if it is still running."""
        try:
            return self._waiter_factory(grace).until(lambda: self._finished(task), "the cancelled task")
        except TaskTimeout:
            return None

    def _finished(self, task: str) -> dict | None:
        record = self.conn.call("task.get_record", task, read_only=True)
        return record if record.get("status") in FINAL_STATES else None
