"""Parser edge cases that a short recording session cannot produce (days of uptime, every state letter)."""

from __future__ import annotations

import pytest

from ansible_collections.virtops.compute.plugins.module_utils._xl.errors import XlParseError
from ansible_collections.virtops.compute.plugins.module_utils._xl.parsers import (
    parse_info,
    parse_list,
    parse_list_long,
    parse_state,
    parse_uptime,
    parse_uptime_value,
    power_state,
)


@pytest.mark.parametrize(
    "text, seconds",
    [(" 0:00:07", 7), ("12:34:56", 45296), ("1 day,  2:03:04", 93784), ("3 days, 10:00:00", 295200), ("0:05", 300)],
)
def test_uptime_values(text, seconds):
    assert parse_uptime_value(text) == seconds


def test_uptime_table_with_days():
    text = (
        "Name                                ID Uptime\n"
        "Domain-0                             0 2 days,  1:00:00\n"
        "web 1                 7  0:00:09\n"
    )
    assert parse_uptime(text) == {"Domain-0": 176400, "web 1": 9}


@pytest.mark.parametrize(
    "state, flags, power",
    [
        ("r-----", {"running"}, "running"),
        ("-b----", {"blocked"}, "running"),
        ("------", set(), "running"),
        ("--p---", {"paused"}, "paused"),
        ("-bp---", {"blocked", "paused"}, "paused"),
        ("---s--", {"shutdown"}, "halted"),
        ("----c-", {"crashed"}, "crashed"),
        ("---s-d", {"shutdown", "dying"}, "halted"),
    ],
)
def test_state_letters(state, flags, power):
    assert parse_state(state) == flags
    assert power_state(parse_state(state)) == power


@pytest.mark.parametrize("state", ["b-----", "r----", "rbpscdx", "RUNNING"])
def test_bad_state_is_a_parse_error(state):
    with pytest.raises(XlParseError, match="is not a state such as r----- or -b----"):
        parse_state(state)


@pytest.mark.parametrize(
    "fn, text, message",
    [
        (parse_list, "", "cannot parse the output of xl list: no 'Name ID Mem VCPUs State Time(s)' header"),
        (parse_list, "Name ID Mem VCPUs State Time(s)\ngarbage\n", "cannot read the row 'garbage'"),
        (parse_list_long, "{not json", "cannot parse the output of xl list -l: not JSON"),
        (parse_list_long, '{"domid": 1}', "expected a JSON list of domains"),
        (parse_list_long, '[{"domid": 1}]', "an entry without domid/config"),
        (parse_info, "garbage without colon\n", "cannot read the line 'garbage without colon'"),
        (parse_info, "host : h1\n", "no xen_version or xen_major"),
        (parse_uptime, "Name ID Uptime\nx 1 soon\n", "cannot read the row 'x 1 soon'"),
    ],
)
def test_unreadable_output_is_a_parse_error_quoting_it(fn, text, message):
    with pytest.raises(XlParseError) as err:
        fn(text)
    assert message in str(err.value)
    assert err.value.code == "XL_PARSE_ERROR"


def test_empty_list_long_is_no_domains():
    assert parse_list_long("") == []


def test_list_long_disks_and_nics():
    """libxl's JSON for a domain with a disk and a vif (field names of libxl_device_disk / libxl_device_nic).

    Hand-written: on the loaded 2-core machine the lab's block hotplug script outlives libxl's timeout,
    so no real recording of such a domain exists yet (record-xl-output --only full makes one).
    """
    text = """[{"domid": 7, "config": {
        "c_info": {"type": "pv", "name": "full1", "uuid": "0b1f6a3e-0000-4000-8000-000000000001"},
        "b_info": {"max_vcpus": 2, "max_memkb": 196608, "target_memkb": 131072,
                   "kernel": "/k", "type.pv": {}},
        "disks": [{"pdev_path": "/var/lib/xen/full1.img", "vdev": "xvda", "backend": "phy",
                   "format": "raw", "readwrite": 1},
                  {"pdev_path": "/iso/x.iso", "vdev": "xvdb", "format": "raw", "readwrite": 0}],
        "nics": [{"devid": 0, "mac": "00:16:3e:5a:00:01", "bridge": "xenbr0"}],
        "on_crash": "coredump_restart"}}]"""
    (dom,) = parse_list_long(text)
    assert dom["disks"] == [
        {"vdev": "xvda", "target": "/var/lib/xen/full1.img", "format": "raw", "mode": "rw"},
        {"vdev": "xvdb", "target": "/iso/x.iso", "format": "raw", "mode": "ro"},
    ]
    assert dom["vifs"] == [{"index": 0, "mac": "00:16:3e:5a:00:01", "bridge": "xenbr0"}]
    assert (dom["memory"], dom["maxmem"], dom["vcpus"]) == (128, 192, 2)
    assert (dom["on_poweroff"], dom["on_crash"]) == ("destroy", "coredump-restart")
