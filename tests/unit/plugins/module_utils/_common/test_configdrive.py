# -*- coding: utf-8 -*-
# Copyright: virtops.compute contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Tests for the cloud-init config drive builder.

Images are read back with the independent ISO reader of ``test_iso9660.py``
(loaded by file path, so this works whatever the pytest import mode), plus any
external reader present on the machine.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from ansible_collections.virtops.compute.plugins.module_utils._common import configdrive


def _load_reader() -> ModuleType:
    spec = importlib.util.spec_from_file_location("_virtops_iso_reader", Path(__file__).with_name("test_iso9660.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses need their module registered
    spec.loader.exec_module(module)
    return module


reader = _load_reader()

USER_DATA = "#cloud-config\npackages: [htop]\n"


def _read(image: bytes, label: str, tmp_path: Path) -> dict[str, bytes]:
    parsed = reader.read_iso(image)
    assert parsed.primary.label == label
    assert parsed.joliet.label == label
    files: dict[str, bytes] = parsed.joliet.files
    reader.check_with_external_tools(image, files, label, tmp_path)
    return files


def test_nocloud_layout(tmp_path: Path) -> None:
    image, digest = configdrive.build_config_drive(
        USER_DATA, {"foo": "bar"}, {"version": 2, "ethernets": {}}, instance_id="vm-1", hostname="web1"
    )
    assert digest == hashlib.sha256(image).hexdigest()
    assert len(image) % 2048 == 0
    files = _read(image, "cidata", tmp_path)
    assert sorted(files) == ["meta-data", "network-config", "user-data"]
    assert files["user-data"] == USER_DATA.encode()
    assert json.loads(files["meta-data"]) == {"foo": "bar", "instance-id": "vm-1", "local-hostname": "web1"}
    assert json.loads(files["network-config"]) == {"ethernets": {}, "version": 2}


def test_nocloud_without_network_config(tmp_path: Path) -> None:
    image, _unused = configdrive.build_config_drive(USER_DATA, None, None, instance_id="vm-1")
    files = _read(image, "cidata", tmp_path)
    assert sorted(files) == ["meta-data", "user-data"]
    assert json.loads(files["meta-data"]) == {"instance-id": "vm-1"}


def test_nocloud_user_keys_win() -> None:
    files, label = configdrive.config_drive_files(
        None, {"instance-id": "mine", "local-hostname": "h"}, None, instance_id="other", hostname="other"
    )
    assert label == "cidata"
    assert json.loads(files["meta-data"]) == {"instance-id": "mine", "local-hostname": "h"}
    assert files["user-data"] == b""


def test_nocloud_string_documents_are_verbatim() -> None:
    meta = "instance-id: abc\nlocal-hostname: h\n"
    net = "version: 2\nethernets:\n  eth0: {dhcp4: true}\n"
    files, _unused = configdrive.config_drive_files(USER_DATA, meta, net, instance_id="ignored")
    assert files["meta-data"] == meta.encode()
    assert files["network-config"] == net.encode()


def test_nocloud_json_string_meta_data_is_merged() -> None:
    files, _unused = configdrive.config_drive_files(None, '{"a": 1}', None, instance_id="i")
    assert json.loads(files["meta-data"]) == {"a": 1, "instance-id": "i"}


def test_configdrive_layout(tmp_path: Path) -> None:
    network: dict[str, Any] = {"links": [], "networks": [], "services": []}
    image, digest = configdrive.build_config_drive(
        USER_DATA, {"meta": {"role": "db"}}, network, fmt="configdrive", instance_id="uuid-1", hostname="db1"
    )
    assert digest == hashlib.sha256(image).hexdigest()
    files = _read(image, "config-2", tmp_path)
    assert sorted(files) == [
        "openstack/latest/meta_data.json",
        "openstack/latest/network_data.json",
        "openstack/latest/user_data",
    ]
    assert json.loads(files["openstack/latest/meta_data.json"]) == {
        "hostname": "db1",
        "meta": {"role": "db"},
        "name": "db1",
        "uuid": "uuid-1",
    }
    assert files["openstack/latest/user_data"] == USER_DATA.encode()
    assert json.loads(files["openstack/latest/network_data.json"]) == network


def test_configdrive_minimal(tmp_path: Path) -> None:
    image, _unused = configdrive.build_config_drive(None, None, None, fmt="configdrive", instance_id="u")
    files = _read(image, "config-2", tmp_path)
    assert sorted(files) == ["openstack/latest/meta_data.json"]
    assert json.loads(files["openstack/latest/meta_data.json"]) == {"uuid": "u"}


def test_configdrive_rejects_non_json_meta_data() -> None:
    with pytest.raises(ValueError, match="JSON object"):
        configdrive.build_config_drive(None, "uuid: x\n", None, fmt="configdrive")


@pytest.mark.parametrize("fmt", ["nocloud", "configdrive"])
def test_deterministic(fmt: str) -> None:
    meta_a = {"b": 1, "a": {"y": 2, "x": 1}}
    meta_b = {"a": {"x": 1, "y": 2}, "b": 1}
    first = configdrive.build_config_drive(USER_DATA, meta_a, {"v": 1}, fmt=fmt, instance_id="i", hostname="h")
    second = configdrive.build_config_drive(USER_DATA, meta_b, {"v": 1}, fmt=fmt, instance_id="i", hostname="h")
    assert first == second


@pytest.mark.parametrize("fmt", ["nocloud", "configdrive"])
def test_content_changes_hash(fmt: str) -> None:
    _unused, base = configdrive.build_config_drive(USER_DATA, {}, None, fmt=fmt, instance_id="i")
    _unused, other_user = configdrive.build_config_drive(USER_DATA + "#\n", {}, None, fmt=fmt, instance_id="i")
    _unused, other_id = configdrive.build_config_drive(USER_DATA, {}, None, fmt=fmt, instance_id="j")
    _unused, with_net = configdrive.build_config_drive(USER_DATA, {}, {"version": 2}, fmt=fmt, instance_id="i")
    assert len({base, other_user, other_id, with_net}) == 4


def test_formats_differ() -> None:
    _unused, nocloud = configdrive.build_config_drive(USER_DATA, None, None, instance_id="i")
    _unused, openstack = configdrive.build_config_drive(USER_DATA, None, None, fmt="configdrive", instance_id="i")
    assert nocloud != openstack


def test_unknown_format() -> None:
    with pytest.raises(ValueError, match=r"unknown config drive format 'iso'.*nocloud, configdrive"):
        configdrive.build_config_drive(USER_DATA, None, None, fmt="iso")


def test_typical_nocloud_size() -> None:
    image, _unused = configdrive.build_config_drive(
        USER_DATA, None, {"version": 2, "ethernets": {"eth0": {"dhcp4": True}}}, instance_id="i", hostname="h"
    )
    # 19 sectors of header, 4 path tables, 2 root directories, 3 files
    assert len(image) == 28 * 2048


@pytest.mark.parametrize("fmt", ["nocloud", "configdrive"])
def test_user_data_reads_back_from_the_image(fmt):
    from ansible_collections.virtops.compute.plugins.module_utils._common.iso9660 import read_files

    image, _digest = configdrive.build_config_drive(
        "#cloud-config\nhostname: a\n", {"k": "v"}, {"version": 2}, fmt=fmt, instance_id="i"
    )
    assert configdrive.user_data_of(image) == "#cloud-config\nhostname: a\n"
    assert read_files(image) == reader.read_iso(image).joliet.files  # same as the test suite's reader


def test_user_data_diff_shows_lines_and_says_when_the_old_drive_cannot_be_read():
    assert configdrive.user_data_diff("a\nb\n", "a\nc\n") == {
        "before": {"cloud_init": {"user_data": ["a", "b"]}},
        "after": {"cloud_init": {"user_data": ["a", "c"]}},
    }
    assert configdrive.user_data_diff(None, "x") == {"before": {}, "after": {"cloud_init": {"user_data": ["x"]}}}
    notes = configdrive.user_data_diff(None, "x", read_error="HTTP 500")
    assert notes["before"] == {"cloud_init": {"user_data": ["(the current config drive cannot be read: HTTP 500)"]}}
    with pytest.raises(ValueError):
        configdrive.user_data_of(b"\0" * 40000)
