# -*- coding: utf-8 -*-
# Copyright: virtops.compute contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""cloud-init seed images (config drives), built in memory.

Two layouts are supported:

``nocloud``
    Volume label ``cidata`` with ``user-data``, ``meta-data`` and, when given,
    ``network-config`` in the root directory (cloud-init's NoCloud datasource).
``configdrive``
    Volume label ``config-2`` with ``openstack/latest/meta_data.json``,
    ``openstack/latest/user_data`` and ``openstack/latest/network_data.json``
    (cloud-init's ConfigDrive datasource, OpenStack layout).

Output is deterministic: dictionaries are rendered as JSON with sorted keys (JSON
is valid YAML, so this also serves the NoCloud YAML files) and the ISO writer
uses fixed timestamps, so the returned SHA-256 changes only when the content does.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from .iso9660 import build_iso, read_files

FORMATS = ("nocloud", "configdrive")
NOCLOUD_LABEL = "cidata"
CONFIGDRIVE_LABEL = "config-2"
_OPENSTACK_DIR = "openstack/latest"


def _render_json(value: Any) -> bytes:
    return (json.dumps(value, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def _as_dict(value: dict[str, Any] | str | None, what: str, strict: bool) -> dict[str, Any] | None:
    """``value`` as a dict, or None when it is a string that is not a JSON object.

    With ``strict``, a string that is not a JSON object is an error instead.
    """
    if value is None:
        return {}
    if isinstance(value, dict):
        return dict(value)
    if not isinstance(value, str):
        raise TypeError("%s must be a dict, a string or None, not %s" % (what, type(value).__name__))
    try:
        parsed = json.loads(value) if value.strip() else {}
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        return parsed
    if strict:
        raise ValueError("%s must be a JSON object for the configdrive format" % what)
    return None


def _render_document(value: dict[str, Any] | str) -> bytes:
    if isinstance(value, str):
        return value.encode("utf-8")
    return _render_json(value)


def _nocloud_files(
    user_data: str | None,
    meta_data: dict[str, Any] | str | None,
    network_config: dict[str, Any] | str | None,
    instance_id: str | None,
    hostname: str | None,
) -> dict[str, bytes]:
    meta = _as_dict(meta_data, "meta_data", strict=False)
    if meta is None:
        # A YAML document we cannot merge into: use it as it is.
        if not isinstance(meta_data, str):
            raise AssertionError("internal error: isinstance(meta_data, str)")
        meta_bytes = meta_data.encode("utf-8")
    else:
        if instance_id is not None:
            meta.setdefault("instance-id", instance_id)
        if hostname is not None:
            meta.setdefault("local-hostname", hostname)
        meta_bytes = _render_json(meta)
    files = {
        "user-data": (user_data or "").encode("utf-8"),
        "meta-data": meta_bytes,
    }
    if network_config is not None:
        files["network-config"] = _render_document(network_config)
    return files


def _configdrive_files(
    user_data: str | None,
    meta_data: dict[str, Any] | str | None,
    network_config: dict[str, Any] | str | None,
    instance_id: str | None,
    hostname: str | None,
) -> dict[str, bytes]:
    meta = _as_dict(meta_data, "meta_data", strict=True)
    if meta is None:
        raise AssertionError("internal error: meta is not None")
    if instance_id is not None:
        meta.setdefault("uuid", instance_id)
    if hostname is not None:
        meta.setdefault("hostname", hostname)
        meta.setdefault("name", hostname)
    files = {_OPENSTACK_DIR + "/meta_data.json": _render_json(meta)}
    if user_data is not None:
        files[_OPENSTACK_DIR + "/user_data"] = user_data.encode("utf-8")
    if network_config is not None:
        files[_OPENSTACK_DIR + "/network_data.json"] = _render_document(network_config)
    return files


def config_drive_files(
    user_data: str | None,
    meta_data: dict[str, Any] | str | None,
    network_config: dict[str, Any] | str | None,
    fmt: str = "nocloud",
    instance_id: str | None = None,
    hostname: str | None = None,
) -> tuple[dict[str, bytes], str]:
    """The files and the volume label of a config drive, without building the image."""
    if fmt == "nocloud":
        return _nocloud_files(user_data, meta_data, network_config, instance_id, hostname), NOCLOUD_LABEL
    if fmt == "configdrive":
        return _configdrive_files(user_data, meta_data, network_config, instance_id, hostname), CONFIGDRIVE_LABEL
    raise ValueError("unknown config drive format %r, expected one of: %s" % (fmt, ", ".join(FORMATS)))


def build_config_drive(
    user_data: str | None,
    meta_data: dict[str, Any] | str | None,
    network_config: dict[str, Any] | str | None,
    fmt: str = "nocloud",
    instance_id: str | None = None,
    hostname: str | None = None,
) -> tuple[bytes, str]:
    """Build a cloud-init seed ISO; return ``(iso_bytes, sha256_hex_of_iso)``.

    ``fmt`` is ``nocloud`` (label ``cidata``) or ``configdrive`` (label
    ``config-2``, OpenStack layout); any other value raises :class:`ValueError`.

    ``meta_data`` may be a dict or a string. Dicts (and strings holding a JSON
    object) are rendered as JSON with sorted keys, with ``instance_id`` and
    ``hostname`` added unless the caller already set the corresponding keys
    (NoCloud: ``instance-id``, ``local-hostname``; ConfigDrive: ``uuid``,
    ``hostname``, ``name``). For NoCloud, any other string is written verbatim;
    for ConfigDrive it must be a JSON object. ``network_config`` is written
    verbatim when a string and as sorted JSON when a dict, and only when given.
    NoCloud always has a ``user-data`` file (empty when ``user_data`` is None);
    ConfigDrive only when ``user_data`` is given.
    """
    files, label = config_drive_files(user_data, meta_data, network_config, fmt, instance_id, hostname)
    image = build_iso(files, label)
    return image, hashlib.sha256(image).hexdigest()


def user_data_of(image: bytes) -> str | None:
    """The user data a config drive image holds (NoCloud or ConfigDrive layout), None if it has none."""
    files = read_files(image)
    data = files.get("user-data", files.get("openstack/latest/user_data"))
    return None if data is None else data.decode("utf-8", "replace")


def user_data_diff(old: str | None, new: str | None, read_error: str | None = None) -> dict[str, Any]:
    """Diff notes ``{"before": {...}, "after": {...}}`` showing user data as lines (``cloud_init.user_data``)."""
    before: dict[str, Any] = {}
    if read_error is not None:
        before = {"cloud_init": {"user_data": ["(the current config drive cannot be read: %s)" % read_error]}}
    elif old is not None:
        before = {"cloud_init": {"user_data": old.splitlines()}}
    after = {"cloud_init": {"user_data": (new or "").splitlines()}} if new is not None else {}
    return {"before": before, "after": after}
