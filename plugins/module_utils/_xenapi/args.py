# -*- coding: utf-8 -*-
# Copyright: virtops.compute contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The XenAPI connection options, shared by every module of the ``xen`` group."""

from __future__ import annotations

from ansible.module_utils.basic import env_fallback

XENAPI_CONNECTION_SPEC = {
    "hostname": {
        "type": "str",
        "required": True,
        "aliases": ["host", "pool"],
        "fallback": (env_fallback, ["XENAPI_HOST"]),
    },
    "username": {
        "type": "str",
        "default": "root",
        "aliases": ["user", "admin"],
        "fallback": (env_fallback, ["XENAPI_USER"]),
    },
    "password": {
        "type": "str",
        "no_log": True,
        "aliases": ["pass", "pwd"],
        "fallback": (env_fallback, ["XENAPI_PASSWORD"]),
    },
    "port": {"type": "int"},
    "validate_certs": {
        "type": "bool",
        "default": True,
        "fallback": (env_fallback, ["XENAPI_VALIDATE_CERTS"]),
    },
    "ca_path": {"type": "path", "fallback": (env_fallback, ["XENAPI_CA_PATH"])},
    "api_timeout": {"type": "int", "default": 60},
}
