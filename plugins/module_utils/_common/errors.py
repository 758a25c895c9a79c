# -*- coding: utf-8 -*-
# Copyright: virtops.compute contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Typed errors raised below the module base.

Backends and helpers never call ``fail_json``: they raise one of these, and
:class:`~.module.VirtopsModule` turns it into a failure with a clear message, the
backend's error code and, where known, the parameter and the step that failed.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any


class VirtopsError(Exception):
    """Base class. ``code`` is a stable, machine-readable error name."""

    code = "VIRTOPS_ERROR"

    def __init__(
        self,
        msg: str,
        *,
        code: str | None = None,
        param: str | None = None,
        step: str | None = None,
        details: Sequence[Any] | None = None,
        raw: Sequence[Any] | None = None,
    ) -> None:
        super().__init__(msg)
        self.msg = msg
        if code is not None:
            self.code = code
        self.param = param
        self.step = step
        self.details = list(details) if details is not None else []
        # the API's own error parameters, unchanged, for scripts (``error: {code, params}``)
        self.raw = list(raw) if raw is not None else None
        # Filled in by the undo stack when the error ends a run that had started changing things.
        self.changed = False
        self.applied: list[str] = []
        self.rolled_back: list[str] = []
        self.not_undone: list[str] = []

    def to_result(self) -> dict[str, Any]:
        """Extra keys for ``fail_json`` besides ``msg``: ``changed`` (something was changed on the peer,
        even if undone later), the steps ``applied`` and the inverses ``rolled_back``."""
        result: dict[str, Any] = {
            "error_code": self.code,
            "changed": self.changed,
            "applied": list(self.applied),
            "rolled_back": list(self.rolled_back),
        }
        if self.not_undone:
            result["not_undone"] = list(self.not_undone)
        if self.param:
            result["param"] = self.param
        if self.step:
            result["failed_step"] = self.step
        if self.details:
            result["error_details"] = [str(d) for d in self.details]
        if self.raw is not None:
            result["error"] = {"code": self.code, "params": list(self.raw)}
        return result

    def message(self) -> str:
        text = self.msg
        if self.step and not text.startswith("step "):
            text = "step '%s' failed: %s" % (self.step, text)
        return text


class InvalidInput(VirtopsError):
    """A parameter value the module cannot act on; raised before any change."""

    code = "INVALID_INPUT"

    def __init__(self, param: str, msg: str, **kwargs: Any) -> None:
        if not msg.startswith(param):
            msg = "%s: %s" % (param, msg)
        super().__init__(msg, param=param, **kwargs)


class MissingLibrary(VirtopsError):
    """An SDK the module needs is not importable by the Python that runs the module: name that
    interpreter (``sys.executable``) and the pip command that installs the SDK for it."""

    code = "MISSING_LIBRARY"

    def __init__(self, library: str, import_error: str | None = None, pip_name: str | None = None) -> None:
        python = sys.executable or "python3"
        msg = "the Python library '%s' is required by this module but %s cannot import it%s; install it for " % (
            library,
            python,
            " (%s)" % import_error if import_error else "",
        )
        msg += "that interpreter with '%s -m pip install %s', or point ansible_python_interpreter at a Python " % (
            python,
            pip_name or library,
        )
        msg += "that has it"
        super().__init__(msg)
        self.library = library
        self.interpreter = python

    def to_result(self) -> dict[str, Any]:
        result = super().to_result()
        result["interpreter"] = self.interpreter
        return result


class ConnectionFailed(VirtopsError):
    code = "CONNECTION_FAILED"


class AuthenticationFailed(VirtopsError):
    code = "AUTHENTICATION_FAILED"


class NotFound(VirtopsError):
    code = "NOT_FOUND"


class Ambiguous(VirtopsError):
    code = "AMBIGUOUS"


class NeedsHalt(VirtopsError):
    """Changes that can only be applied to a halted VM while power cycling is not allowed."""

    code = "NEEDS_HALT"

    def __init__(self, changes: Sequence[str], msg: str | None = None, **kwargs: Any) -> None:
        self.changes = list(changes)
        if msg is None:
            msg = (
                "these changes need the VM to be halted: %s; set allow_power_cycling=true to let the module "
                "shut the VM down cleanly, apply them and start it again" % ", ".join(self.changes)
            )
        super().__init__(msg, **kwargs)


class Conflict(VirtopsError):
    code = "CONFLICT"


class TaskFailed(VirtopsError):
    code = "TASK_FAILED"


class TaskTimeout(VirtopsError):
    code = "TASK_TIMEOUT"


class BackendError(VirtopsError):
    """An error reported by the hypervisor API; ``code`` is the API's own error code."""

    code = "BACKEND_ERROR"


class RollbackFailed(VirtopsError):
    code = "ROLLBACK_FAILED"


class PowerRestoreFailed(VirtopsError):
    """A power cycle could not bring the VM back to the power state it had; ``power_state`` is the
    state it is in now (as read after the failure), ``expected`` the one it had before the run."""

    code = "POWER_RESTORE_FAILED"

    def __init__(self, msg: str, *, power_state: str | None, expected: str, **kwargs: Any) -> None:
        super().__init__(msg, **kwargs)
        self.power_state = power_state
        self.expected = expected

    def to_result(self) -> dict[str, Any]:
        result = super().to_result()
        result["power_state"] = self.power_state
        result["expected_power_state"] = self.expected
        return result
