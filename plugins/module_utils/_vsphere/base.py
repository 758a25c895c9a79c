# -*- coding: utf-8 -*-
# Copyright: virtops.compute contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Module base for the ``vmware`` action group: connection options merged, one session per run."""

from __future__ import annotations

from typing import Any

from ansible_collections.virtops.compute.plugins.module_utils._common.module import VirtopsModule

from .args import VSPHERE_CONNECTION_SPEC


class VSphereModule(VirtopsModule):
    shared_specs = [VSPHERE_CONNECTION_SPEC]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._backend: Any | None = None

    @property
    def backend(self) -> Any:
        """Log in on first use (``VSphereBackend``); :meth:`close` logs out."""
        if self._backend is None:
            from .backend import connect

            self._backend = connect(self.params)
        return self._backend

    @property
    def client(self) -> Any:
        return self.backend.client

    def close(self) -> None:
        if self._backend is not None:
            backend, self._backend = self._backend, None
            backend.close()
