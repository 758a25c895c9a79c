# -*- coding: utf-8 -*-
# Copyright: virtops.compute contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a result shows a person: diffs without runtime noise, cloud-init data as lines, no echo.

Applied once to every module result by :class:`~.module.VirtopsModule` (so check mode and the real
run go through the same view):

* runtime fields (addresses, the host a VM happens to run on, guest agent state, timestamps) are
  dropped from ``diff.before``/``diff.after``: they change without any change of configuration;
* cloud-init data kept in ``extra_config`` (``guestinfo.userdata`` ...; it may hold secrets) is never
  echoed back: its value is replaced by a placeholder, in results and diffs alike;
* in a diff, cloud-init data is shown as a list of text lines under ``cloud_init`` (decoded from
  base64 where it was encoded), so Ansible's ``--diff`` shows the lines that changed, not a blob.
  Values of ``no_log`` options are masked by Ansible in the whole result, these lines included.
"""

from __future__ import annotations

import base64
import copy
import gzip
from typing import Any

# Fields that describe what the VM is doing, not how it is configured.
RUNTIME_KEYS = frozenset(
    {"ip", "ipv4", "ipv6", "host", "guest_hostname", "tools_running_status", "uptime", "start_time", "boot_time"}
)
# extra_config keys holding cloud-init data, and their name under ``cloud_init`` in a diff.
CLOUD_INIT_EXTRA_CONFIG = {
    "guestinfo.userdata": "user_data",
    "guestinfo.metadata": "meta_data",
    "guestinfo.vendordata": "vendor_data",
}
HIDDEN = "(cloud-init data, not shown: see cloud_init in the diff)"


def decode_guestinfo(extra: dict[str, Any], key: str) -> str | None:
    """The text of ``extra[key]`` honouring ``<key>.encoding`` (base64, gzip+base64)."""
    if key not in extra:
        return None
    value = str(extra[key])
    enc = str(extra.get(key + ".encoding", "")).lower()
    try:
        if enc in ("base64", "b64"):
            return base64.b64decode(value).decode("utf-8")
        if enc in ("gzip+base64", "gz+b64"):
            return gzip.decompress(base64.b64decode(value)).decode("utf-8")
    except (ValueError, OSError, UnicodeDecodeError):
        return "(%d bytes that do not decode as %s)" % (len(value), enc)
    return value


def text_lines(text: str) -> list[str]:
    return text.splitlines() or [""]


def _hide_extra_config(node: Any) -> Any:
    """A copy of ``node`` where every ``extra_config`` mapping has its cloud-init values hidden."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "extra_config" and isinstance(value, dict):
                out[key] = {k: (HIDDEN if k in CLOUD_INIT_EXTRA_CONFIG else v) for k, v in value.items()}
            else:
                out[key] = _hide_extra_config(value)
        return out
    if isinstance(node, list):
        return [_hide_extra_config(v) for v in node]
    return node


def _drop_runtime(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _drop_runtime(v) for k, v in node.items() if k not in RUNTIME_KEYS}
    if isinstance(node, list):
        return [_drop_runtime(v) for v in node]
    return node


def diff_side(side: Any) -> Any:
    """One side of a diff as a person should read it (see the module docstring)."""
    if not isinstance(side, dict):
        return side
    view = _drop_runtime(side)
    extra = side.get("extra_config")
    if isinstance(extra, dict):
        lines = {}
        for key, name in CLOUD_INIT_EXTRA_CONFIG.items():
            text = decode_guestinfo(extra, key)
            if text is not None:
                lines[name] = text_lines(text)
        if lines:
            view["cloud_init"] = dict(view.get("cloud_init") or {}, **lines)
    hidden: dict[str, Any] = _hide_extra_config(view)
    return hidden


def result_view(result: dict[str, Any]) -> dict[str, Any]:
    """The module result as it is returned: diff sides through :func:`diff_side`, cloud-init data
    in ``extra_config`` hidden everywhere."""
    out: dict[str, Any] = {}
    for key, value in result.items():
        if key == "diff" and isinstance(value, dict):
            out[key] = {k: diff_side(v) if k in ("before", "after") else copy.deepcopy(v) for k, v in value.items()}
        else:
            out[key] = _hide_extra_config(value)
    return out
