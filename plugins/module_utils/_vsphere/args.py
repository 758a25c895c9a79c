# -*- coding: utf-8 -*-
# Copyright: virtops.compute contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The vSphere connection options, shared by every module of the ``vmware`` group."""

from __future__ import annotations

from ansible.module_utils.basic import env_fallback

VSPHERE_CONNECTION_SPEC = {
    "hostname": {
        "type": "str",
        "required": True,
        "fallback": (env_fallback, ["VMWARE_HOST"]),
    },
    "username": {
        "type": "str",
        "required": True,
        "aliases": ["user"],
        "fallback": (env_fallback, ["VMWARE_USER"]),
    },
    "password": {
        "type": "str",
        "no_log": True,
        "aliases": ["pass", "pwd"],
        "fallback": (env_fallback, ["VMWARE_PASSWORD"]),
    },
    "port": {"type": "int", "default": 443, "fallback": (env_fallback, ["VMWARE_PORT"])},
    "validate_certs": {
        "type": "bool",
        "default": True,
        "fallback": (env_fallback, ["VMWARE_VALIDATE_CERTS"]),
    },
    "ca_path": {"type": "path", "fallback": (env_fallback, ["VMWARE_CA_PATH"])},
    "api_timeout": {"type": "int", "default": 60},
}
