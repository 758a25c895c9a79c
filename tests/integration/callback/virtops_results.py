# Test-only callback: writes every task result as one JSON line to $VIRTOPS_RESULTS_FILE.
from __future__ import annotations

import json
import os

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: virtops_results
type: aggregate
short_description: record task results for the integration tests
description: Appends one JSON object per task result to the file named by VIRTOPS_RESULTS_FILE.
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "virtops_results"
    CALLBACK_NEEDS_ENABLED = True

    def _record(self, result, status):
        path = os.environ.get("VIRTOPS_RESULTS_FILE")
        if not path:
            return
        data = dict(result._result)
        entry = {"task": result._task.get_name(), "status": status, "result": data}
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry, default=str) + "\n")

    def v2_runner_on_ok(self, result):
        self._record(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, "failed")

    def v2_runner_on_skipped(self, result):
        self._record(result, "skipped")
