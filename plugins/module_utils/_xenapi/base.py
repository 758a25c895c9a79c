# -*- coding: utf-8 -*-
# Copyright: virtops.compute contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Module base for the ``xen`` action group: connection options merged, one session per run."""

from __future__ import annotations

from typing import Any

from ansible_collections.virtops.compute.plugins.module_utils._common.module import BackendModule

from .args import XENAPI_CONNECTION_SPEC


class XenAPIModule(BackendModule):
    shared_specs = [XENAPI_CONNECTION_SPEC]

    def connect_backend(self) -> Any:
        """Log in (``XenAPIBackend``); the base logs out once when the module ends."""
        from .backend import connect

        return connect(self.params)
