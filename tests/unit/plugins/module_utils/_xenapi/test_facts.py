from __future__ import annotations

from ansible_collections.virtops.compute.plugins.module_utils._xenapi.facts import guest_ips
from ansible_collections.virtops.compute.plugins.module_utils._xenapi.tasks import parse_task_result


def test_guest_ips_per_device():
    nets = {
        "0/ip": "192.0.2.5",
        "0/ipv4/0": "192.0.2.5",
        "0/ipv6/0": "fe80::1",
        "0/ipv6/1": "2001:db8::5",
        "1/ipv4/0": "198.51.100.7",
        "junk": "x",
    }
    assert guest_ips(nets) == {
        "0": {"ipv4": ["192.0.2.5"], "ipv6": ["fe80::1", "2001:db8::5"]},
        "1": {"ipv4": ["198.51.100.7"], "ipv6": []},
    }


def test_task_result_parsing():
    assert parse_task_result("<value>OpaqueRef:abc</value>") == "OpaqueRef:abc"
    assert parse_task_result("") == ""
    assert parse_task_result("plain") == "plain"
