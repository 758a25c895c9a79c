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
