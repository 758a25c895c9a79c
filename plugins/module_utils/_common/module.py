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
from .resultview import result_view


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
        self.module.exit_json(**result_view(result))

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


class BackendModule(VirtopsModule):
    """A module that talks to one backend: it connects on first use of :attr:`backend`
    (so bad input fails before any connection) and disconnects exactly once."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._backend: Any | None = None

    def connect_backend(self) -> Any:
        """Return a connected backend object with a ``close()`` method."""
        raise NotImplementedError

    @property
    def backend(self) -> Any:
        if self._backend is None:
            self._backend = self.connect_backend()
        return self._backend

    def close(self) -> None:
        if self._backend is not None:
            backend, self._backend = self._backend, None
            backend.close()
