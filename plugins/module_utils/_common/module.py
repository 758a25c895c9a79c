# -*- coding: utf-8 -*-
# Copyright: virtops.compute contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The module base class every virtops.compute module derives from.

A module is a class: ``argument_spec`` and ``module_kwargs`` are class attributes,
shared connection and wait options are merged here, there is one ``run()``, and typed
errors become ``fail_json`` in exactly one place (:meth:`VirtopsModule.execute`).
"""

from __future__ import annotations

import copy
from typing import Any

from ansible.module_utils.basic import AnsibleModule

from .errors import VirtopsError

# Options every module that waits for something shares.
WAIT_SPEC: dict[str, Any] = {
    "timeout": {"type": "int", "default": 300},
}


class VirtopsModule:
    """Subclass and set ``argument_spec``; implement :meth:`run` returning the result dict."""

    argument_spec: dict[str, Any] = {}
    module_kwargs: dict[str, Any] = {}
    # Shared option groups merged into every subclass' spec (connection, wait ...).
    shared_specs: list[dict[str, Any]] = []

    def __init__(self, module: AnsibleModule | None = None) -> None:
        if module is None:
            kwargs = {"supports_check_mode": True}
            kwargs.update(copy.deepcopy(self.module_kwargs))
            module = AnsibleModule(argument_spec=self.full_argument_spec(), **kwargs)
        self.module = module
        self.params: dict[str, Any] = module.params
        self.check_mode: bool = module.check_mode
        self.warnings: list[str] = []

    @classmethod
    def full_argument_spec(cls) -> dict[str, Any]:
        spec: dict[str, Any] = {}
        for shared in cls.shared_specs:
            spec.update(copy.deepcopy(shared))
        spec.update(copy.deepcopy(cls.argument_spec))
        return spec

    # to override ------------------------------------------------------
    def run(self) -> dict[str, Any]:
        raise NotImplementedError

    def close(self) -> None:
        """Release connections; called once whatever ``run`` did."""

    # the one place errors become failures -------------------------------
    def execute(self) -> None:
        try:
            result = self.run()
        except VirtopsError as exc:
            self._close_quietly()
            fail = exc.to_result()
            if self.warnings:
                fail["warnings"] = self.warnings
            self.module.fail_json(msg=exc.message(), **fail)
            return
        except Exception:
            self._close_quietly()
            raise
        self._close_quietly()
        if self.warnings:
            result.setdefault("warnings", []).extend(self.warnings)
        self.module.exit_json(**result)

    def warn(self, message: str) -> None:
        self.warnings.append(message)

    def _close_quietly(self) -> None:
        try:
            self.close()
        except Exception as exc:
            self.warnings.append("closing the connection failed: %s" % exc)

    @classmethod
    def main(cls) -> None:
        cls().execute()
