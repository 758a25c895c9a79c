# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Callback for the benchmarks: one JSON line per task result (name, status, controller-side wall time)."""

from __future__ import annotations

import json
import os
import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: bench_timer
type: aggregate
short_description: task wall times for bench/run.py
description: Writes one JSON line per task result to E(BENCH_TASKS_FILE).
requirements: [enabled in configuration]
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "bench_timer"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self._start = {}
        self._path = os.environ.get("BENCH_TASKS_FILE")

    def v2_runner_on_start(self, host, task):
        self._start[task._uuid] = time.perf_counter()

    def _write(self, result, status):
        started = self._start.pop(result._task._uuid, None)
        res = result._result
        entry = {
            "task": result._task.get_name(),
            "status": status,
            "seconds": (time.perf_counter() - started) if started else None,
            "changed": bool(res.get("changed")),
            "msg": str(res.get("msg", ""))[:2000],
        }
        if self._path:
            with open(self._path, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(entry) + "\n")

    def v2_runner_on_ok(self, result):
        self._write(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._write(result, "failed")

    def v2_runner_on_skipped(self, result):
        self._write(result, "skipped")

    def v2_runner_on_unreachable(self, result):
        self._write(result, "unreachable")
