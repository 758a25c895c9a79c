from __future__ import annotations

import pytest

from ansible_collections.virtops.compute.plugins.module_utils._common.errors import InvalidInput
from ansible_collections.virtops.compute.plugins.module_utils._xenapi.vm_spec import parse_spec

BASE = {"name": "vm1", "state": "present"}


def spec(**kw):
    return parse_spec(dict(BASE, **kw))


def test_sizes_and_defaults():
    s = spec(memory="2GiB", disks=[{"userdevice": 0, "size": 20}, {"userdevice": 1, "size": "512MiB"}])
    assert s.memory == 2 * 1024**3
    assert [(d.userdevice, d.size) for d in s.disks] == [(0, 20 * 1024**3), (1, 512 * 1024**2)]
    assert s.timeout == 600 and s.shutdown_timeout == 120 and s.allow_power_cycling is False


@pytest.mark.parametrize(
    "params,param,text",
    [
        ({"name": None}, "name", "one of name or uuid is required"),
        ({"vcpus": 0}, "vcpus", "must be at least 1"),
        ({"vcpus": 3, "cores_per_socket": 2}, "cores_per_socket", "must be a multiple of cores_per_socket"),
        ({"memory": "8MiB"}, "memory", "must be at least 16MiB"),
        ({"boot": {"order": "cdx"}}, "boot.order", "use the letters c (disk), d (CD) and n (network)"),
        ({"boot": {"order": "cc"}}, "boot.order", "once each"),
        ({"disks": [{"userdevice": 16, "size": 1}]}, "disks[0].userdevice", "between 0 and 15"),
        (
            {"disks": [{"userdevice": 3, "size": 1}], "cdrom": {"userdevice": 3}},
            "cdrom.userdevice",
            "userdevice 3 is already used by disks[0].userdevice",
        ),
        ({"cloud_init": {"userdevice": 4}}, "cloud_init", "give at least one of user_data"),
        (
            {"networks": [{"device": 0, "network": "n"}, {"device": 0, "network": "n"}]},
            "networks[1].device",
            "listed twice",
        ),
        ({"networks": [{"device": 7, "network": "n"}]}, "networks[0].device", "between 0 and 6"),
        ({"networks": [{"device": 0, "network": "n", "mtu": 20}]}, "networks[0].mtu", "between 68 and 9216"),
        ({"networks": [{"device": 0, "network": "n", "mac": "01:00:5e:00:00:01"}]}, "networks[0].mac", "multicast"),
        ({"wait_for_ip": {"family": "ipv4", "cidr": "10.0.0.0/33", "timeout": 5}}, "wait_for_ip.cidr", "not a network"),
        ({"wait_for_ip": {"family": "ipv4", "timeout": 0}}, "wait_for_ip.timeout", "at least 1 second"),
        ({"other_config": {"k": {"nested": 1}}}, "other_config", "values must be strings"),
        ({"state": "absent", "power_state": "running"}, "power_state", "state=absent removes the VM"),
    ],
)
def test_invalid_input_names_the_parameter(params, param, text):
    with pytest.raises(InvalidInput) as err:
        spec(**params)
    assert err.value.param == param
    assert text in str(err.value)
    assert str(err.value).startswith(param)


def test_maps_stringified():
    s = spec(other_config={"a": True, "b": 3}, tags=["b", "a", "a"])
    assert s.other_config == {"a": "true", "b": "3"} and s.tags == ["a", "b"]
