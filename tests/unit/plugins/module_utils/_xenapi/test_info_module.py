# -*- coding: utf-8 -*-
# Copyright: virtops.compute contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""xen_vm_info selection and nova-style diagnostics, on hand-made records."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from ansible_collections.virtops.compute.plugins.module_utils._common.errors import InvalidInput
from ansible_collections.virtops.compute.plugins.module_utils._xenapi.diagnostics import (
    data_source_values,
    parse_xapi_time,
    vbd_device_name,
    vm_diagnostics,
)
from ansible_collections.virtops.compute.plugins.module_utils._xenapi.info_module import select_vms, value_matches
from ansible_collections.virtops.compute.plugins.module_utils._xenapi.lookup import PoolSnapshot

U1 = "11111111-1111-1111-1111-111111111111"
U2 = "22222222-2222-2222-2222-222222222222"


def vm(name: str, uuid: str, **extra: Any) -> dict[str, Any]:
    rec = {
        "name_label": name,
        "uuid": uuid,
        "power_state": "Running",
        "is_a_template": False,
        "is_a_snapshot": False,
        "is_control_domain": False,
        "tags": [],
        "other_config": {},
        "VCPUs_at_startup": "2",
        "memory_static_max": str(2 << 30),
        "memory_target": str(2 << 30),
        "VBDs": [],
        "VIFs": [],
        "consoles": [],
        "metrics": "OpaqueRef:NULL",
        "HVM_boot_params": {},
    }
    rec.update(extra)
    return rec


def snapshot() -> PoolSnapshot:
    return PoolSnapshot(
        {
            "VM": {
                "OpaqueRef:a": vm("web-01", U1, tags=["web", "prod"], other_config={"env": "prod", "team": "a"}),
                "OpaqueRef:b": vm("db-01", U2, power_state="Halted", tags=["db"]),
                "OpaqueRef:t": vm("tmpl", "33333333-3333-3333-3333-333333333333", is_a_template=True),
                "OpaqueRef:s": vm("snap", "44444444-4444-4444-4444-444444444444", is_a_snapshot=True),
                "OpaqueRef:d": vm("dom0", "55555555-5555-5555-5555-555555555555", is_control_domain=True),
            }
        }
    )


@pytest.mark.parametrize(
    "actual,wanted,field,ok",
    [
        ("Running", "Running", "", True),
        ("Running", "running", "power_state", True),
        ("Running", "running", "name_label", False),
        ({"a": "1", "b": "2"}, {"a": "1"}, "", True),
        ({"a": "1"}, {"a": "2"}, "", False),
        ({"a": "1"}, {"c": "1"}, "", False),
        (["web", "prod"], ["web"], "", True),
        (["web"], ["web", "db"], "", False),
        (["web"], "web", "", True),
        (True, "true", "", True),
        (False, True, "", False),
        ("2", 2, "", True),
        ("x", {"a": 1}, "", False),
    ],
)
def test_value_matches(actual: Any, wanted: Any, field: str, ok: bool) -> None:
    assert value_matches(actual, wanted, field) is ok


@pytest.mark.parametrize(
    "kwargs,names",
    [
        ({}, ["db-01", "web-01"]),
        ({"name": "web-01"}, ["web-01"]),
        ({"uuid": U2.upper()}, ["db-01"]),
        ({"tags": ["web", "prod"]}, ["web-01"]),
        ({"tags": ["web", "db"]}, []),
        ({"filters": {"power_state": "running"}}, ["web-01"]),
        ({"filters": {"other_config": {"env": "prod"}}, "name": "web-01"}, ["web-01"]),
        ({"filters": {"other_config": {"env": "prod"}}, "name": "db-01"}, []),
        ({"templates": True}, ["db-01", "tmpl", "web-01"]),
        ({"snapshots": True}, ["db-01", "snap", "web-01"]),
        ({"name": "nope"}, []),
    ],
)
def test_select_vms(kwargs: dict[str, Any], names: list[str]) -> None:
    assert [rec["name_label"] for _ref, rec in select_vms(snapshot(), **kwargs)] == names


def test_select_vms_rejects_bad_input() -> None:
    with pytest.raises(InvalidInput, match="unknown VM record field"):
        select_vms(snapshot(), filters={"nope": 1})
    with pytest.raises(InvalidInput, match="not a UUID"):
        select_vms(snapshot(), uuid="abc")


def test_parse_xapi_time() -> None:
    expected = datetime.datetime(2024, 5, 1, 12, 0, 0, tzinfo=datetime.timezone.utc)
    assert parse_xapi_time("20240501T12:00:00Z") == expected
    assert parse_xapi_time("2024-05-01T12:00:00Z") == expected

    class DateTime:  # like xmlrpc.client.DateTime
        value = "20240501T12:00:00"

    assert parse_xapi_time(DateTime()) == expected
    assert parse_xapi_time("") is None and parse_xapi_time("garbage") is None


def test_data_source_values_and_device_names() -> None:
    values = data_source_values(
        [
            {"name_label": "cpu0", "value": 0.5, "units": "(fraction)"},
            {"name_label": "memory_internal_free", "value": 2.0, "units": "KiB"},
            {"name_label": "bad", "value": "x"},
        ]
    )
    assert values == {"cpu0": 0.5, "memory_internal_free": 2048.0}
    assert vbd_device_name({"device": "xvdc", "userdevice": "0"}) == "xvdc"
    assert vbd_device_name({"device": "", "userdevice": "1"}) == "xvdb"


def diag_snapshot(power: str = "Running") -> tuple[PoolSnapshot, dict[str, Any]]:
    rec = vm(
        "web-01",
        U1,
        power_state=power,
        metrics="OpaqueRef:m",
        VBDs=["OpaqueRef:vbd0", "OpaqueRef:cd"],
        VIFs=["OpaqueRef:vif0"],
        consoles=["OpaqueRef:c1", "OpaqueRef:c2"],
    )
    snap = PoolSnapshot(
        {
            "VM": {"OpaqueRef:a": rec},
            "VM_metrics": {
                "OpaqueRef:m": {"memory_actual": str(2 << 30), "VCPUs_number": "2", "start_time": "20240501T11:00:00Z"}
            },
            "VBD": {
                "OpaqueRef:vbd0": {"type": "Disk", "userdevice": "0", "device": "xvda", "VDI": "OpaqueRef:v"},
                "OpaqueRef:cd": {"type": "CD", "userdevice": "3", "device": "xvdd", "VDI": "OpaqueRef:NULL"},
            },
            "VDI": {"OpaqueRef:v": {"uuid": "66666666-6666-6666-6666-666666666666"}},
            "VIF": {"OpaqueRef:vif0": {"device": "0", "MAC": "AA:BB:CC:00:00:01", "network": "OpaqueRef:n"}},
            "network": {"OpaqueRef:n": {"name_label": "net0"}},
            "console": {
                "OpaqueRef:c1": {"protocol": "vt100", "location": "x"},
                "OpaqueRef:c2": {"protocol": "rfb", "location": "https://h/console?uuid=c", "uuid": "c"},
            },
        }
    )
    return snap, rec


def test_diagnostics_of_a_running_vm() -> None:
    snap, rec = diag_snapshot()
    ds = {
        "cpu0": 0.25,
        "cpu1": 0.5,
        "vif_0_rx": 1000.0,
        "vif_0_tx": 500.0,
        "vbd_xvda_read": 4096.0,
        "vbd_xvda_write": 2048.0,
        "vbd_xvda_iops_read": 3.0,
        "memory_internal_free": 1024.0,
    }
    now = datetime.datetime(2024, 5, 1, 12, 0, 0, tzinfo=datetime.timezone.utc)
    d = vm_diagnostics(snap, "OpaqueRef:a", rec, ds, now=now)
    assert d["uptime"] == 3600 and d["state"] == "running"
    assert d["cpu_details"] == [{"id": 0, "utilisation": 0.25}, {"id": 1, "utilisation": 0.5}]
    assert d["memory_details"] == {"maximum": 2 << 30, "actual": 2 << 30, "target": 2 << 30, "internal_free": 1024}
    assert d["disk_details"] == [
        {
            "userdevice": 0,
            "device": "xvda",
            "vdi_uuid": "66666666-6666-6666-6666-666666666666",
            "read_bytes_per_sec": 4096.0,
            "write_bytes_per_sec": 2048.0,
            "read_requests_per_sec": 3.0,
            "write_requests_per_sec": None,
        }
    ]
    assert d["nic_details"] == [
        {
            "device": 0,
            "mac_address": "aa:bb:cc:00:00:01",
            "network": "net0",
            "rx_bytes_per_sec": 1000.0,
            "tx_bytes_per_sec": 500.0,
            "rx_errors": None,
            "tx_errors": None,
        }
    ]
    assert d["console"] == {"protocol": "rfb", "location": "https://h/console?uuid=c", "uuid": "c"}
    assert (d["num_cpus"], d["num_disks"], d["num_nics"]) == (2, 1, 1)


def test_diagnostics_prefer_legacy_vcpus_utilisation() -> None:
    snap, rec = diag_snapshot()
    snap.records["VM_metrics"]["OpaqueRef:m"]["VCPUs_utilisation"] = {"0": 0.9, "1": 0.8}
    d = vm_diagnostics(snap, "OpaqueRef:a", rec, {"cpu0": 0.1})
    assert [c["utilisation"] for c in d["cpu_details"]] == [0.9, 0.8]


def test_diagnostics_of_a_halted_vm() -> None:
    snap, rec = diag_snapshot("Halted")
    d = vm_diagnostics(snap, "OpaqueRef:a", rec, None)
    assert d["uptime"] is None and d["memory_details"]["actual"] == 0
    assert [c["utilisation"] for c in d["cpu_details"]] == [None, None]
    assert d["disk_details"][0]["read_bytes_per_sec"] is None
