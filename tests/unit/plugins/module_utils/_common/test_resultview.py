from __future__ import annotations

import base64
import gzip

from ansible_collections.virtops.compute.plugins.module_utils._common.resultview import HIDDEN, result_view


def test_diff_sides_drop_runtime_fields_and_show_cloud_init_lines():
    data = "#cloud-config\nhostname: a\n"
    vm = {
        "name": "a",
        "ip": "192.0.2.1",
        "ipv4": ["192.0.2.1"],
        "host": "h1",
        "networks": [{"device": 0, "ipv4": ["192.0.2.1"], "mac": "00:50:56:00:00:01"}],
        "extra_config": {
            "guestinfo.userdata": base64.b64encode(data.encode()).decode(),
            "guestinfo.userdata.encoding": "base64",
            "guestinfo.metadata": base64.b64encode(gzip.compress(b"instance-id: a")).decode(),
            "guestinfo.metadata.encoding": "gzip+base64",
            "other": "kept",
        },
    }
    out = result_view({"changed": True, "diff": {"before": {}, "after": vm}, "vm": vm})
    after = out["diff"]["after"]
    assert after == {
        "name": "a",
        "networks": [{"device": 0, "mac": "00:50:56:00:00:01"}],
        "extra_config": {
            "guestinfo.userdata": HIDDEN,
            "guestinfo.userdata.encoding": "base64",
            "guestinfo.metadata": HIDDEN,
            "guestinfo.metadata.encoding": "gzip+base64",
            "other": "kept",
        },
        "cloud_init": {"user_data": ["#cloud-config", "hostname: a"], "meta_data": ["instance-id: a"]},
    }
    assert out["diff"]["before"] == {}
    # the result's object keeps its runtime fields but never the cloud-init data
    assert out["vm"]["ip"] == "192.0.2.1" and out["vm"]["host"] == "h1"
    assert out["vm"]["extra_config"]["guestinfo.userdata"] == HIDDEN
    assert vm["extra_config"]["guestinfo.userdata"] != HIDDEN  # the input is not modified


def test_undecodable_data_is_described_not_echoed():
    ec = {"guestinfo.userdata": "%%%not-base64", "guestinfo.userdata.encoding": "base64"}
    after = result_view({"diff": {"before": {}, "after": {"extra_config": ec}}})["diff"]["after"]
    assert after["cloud_init"]["user_data"] == ["(13 bytes that do not decode as base64)"]
