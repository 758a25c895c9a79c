from __future__ import annotations

import pytest

from ansible_collections.virtops.compute.plugins.module_utils._common.errors import InvalidInput
from ansible_collections.virtops.compute.plugins.module_utils._common.net import (
    normalize_mac,
    parse_wait_for_ip,
    usable_ips,
)


@pytest.mark.parametrize(
    "family,cidr,expected",
    [
        ("any", None, ["192.0.2.5", "2001:db8::5"]),
        ("ipv4", None, ["192.0.2.5"]),
        ("ipv6", None, ["2001:db8::5"]),
        ("ipv4", "198.51.100.0/24", []),
        ("any", "2001:db8::/32", ["2001:db8::5"]),
    ],
)
def test_usable_ips_drop_link_local_and_filter(family, cidr, expected):
    ips = ["169.254.1.1", "192.0.2.5", "fe80::1", "2001:db8::5", "127.0.0.1", "not-an-ip"]
    assert usable_ips(ips, family, cidr) == expected


@pytest.mark.parametrize(
    "raw,mac", [("52:54:00:AB:cd:01", "52:54:00:ab:cd:01"), ("52-54-00-ab-cd-01", "52:54:00:ab:cd:01")]
)
def test_mac_normalized(raw, mac):
    assert normalize_mac(raw, "mac") == mac


def test_mac_errors_name_the_parameter():
    with pytest.raises(InvalidInput) as err:
        normalize_mac("52:54:00:zz:00:01", "networks[0].mac", example="00:50:56:12:34:56")
    assert str(err.value) == "networks[0].mac: '52:54:00:zz:00:01' is not a MAC address like 00:50:56:12:34:56"


@pytest.mark.parametrize(
    "value,param",
    [
        ({"family": "ipv4", "cidr": "10.0.0.0/33", "timeout": 5}, "wait_for_ip.cidr"),
        ({"family": "ipv4", "timeout": 0}, "wait_for_ip.timeout"),
    ],
)
def test_wait_for_ip_validation(value, param):
    with pytest.raises(InvalidInput) as err:
        parse_wait_for_ip(value)
    assert err.value.param == param
    assert parse_wait_for_ip(None) is None
    assert parse_wait_for_ip({"family": "any", "cidr": "2001:db8::/32", "timeout": 3})["cidr"] == "2001:db8::/32"


def _waiter(timeout: float):
    from ansible_collections.virtops.compute.plugins.module_utils._common.waiter import Waiter

    now = [0.0]

    def sleep(s: float) -> None:
        now[0] += s

    return Waiter(timeout, interval=1.0, clock=lambda: now[0], sleep=sleep)


def test_wait_for_ip_timeout_says_why_each_reported_address_was_filtered():
    import pytest

    from ansible_collections.virtops.compute.plugins.module_utils._common.errors import TaskTimeout
    from ansible_collections.virtops.compute.plugins.module_utils._common.net import wait_for_usable_ip

    reads = []

    def read():
        reads.append(1)
        return ["127.0.0.1", "0.0.0.0", "garbage", "169.254.3.4", "10.1.2.3", "10.1.2.3"]

    with pytest.raises(TaskTimeout) as err:
        wait_for_usable_ip(read, "ipv4", "192.0.2.0/24", _waiter(3))
    assert str(err.value) == (
        "timed out after 3s waiting for the guest to report an IPv4 address in 192.0.2.0/24; the guest reported "
        "127.0.0.1 (loopback), 0.0.0.0 (unspecified), garbage (not an IP address), 169.254.3.4 (link-local), "
        "10.1.2.3 (outside 192.0.2.0/24)"
    )
    assert len(reads) >= 3
    with pytest.raises(TaskTimeout) as err:
        wait_for_usable_ip(lambda: [], "any", None, _waiter(2))
    assert str(err.value).endswith("; the guest reported no address (are its guest tools or agent running?)")
    assert wait_for_usable_ip(lambda: ["fe80::1", "2001:db8::5"], "ipv6", None, _waiter(2)) == ["2001:db8::5"]
