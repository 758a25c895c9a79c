# -*- coding: utf-8 -*-
# Copyright: virtops.compute contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runs virtops.compute.xen_vm_power in-process on the controller, else as a module (plugin_utils/in_process.py)."""

from __future__ import annotations

from ansible_collections.virtops.compute.plugins.plugin_utils.in_process import InProcessAction


class ActionModule(InProcessAction):
    module_name = "xen_vm_power"
    sdk = "XenAPI"
