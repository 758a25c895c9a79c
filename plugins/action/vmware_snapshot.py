# -*- coding: utf-8 -*-
# Copyright: virtops.compute contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runs virtops.compute.vmware_snapshot in-process on the controller, else as a module (plugin_utils/in_process.py)."""

from __future__ import annotations

from ansible_collections.virtops.compute.plugins.plugin_utils.in_process import InProcessAction


class ActionModule(InProcessAction):
    module_name = "vmware_snapshot"
    sdk = "pyVmomi"
