"""Small helpers shared by the reliability tests (peer inventory, connection args)."""

from __future__ import annotations

from typing import Any

ETH0 = "Pool-wide network associated with eth0"
ETH1 = "Pool-wide network associated with eth1"
TRACKED = ("VM", "VDI", "VBD", "VIF")


def xen_conn(sim: Any) -> dict[str, Any]:
    return {"hostname": sim.url, "username": sim.username, "password": sim.password}


def inventory(state: dict[str, Any]) -> dict[str, set[str]]:
    """uuids of every VM (templates and snapshots too), VDI, VBD and VIF of one pool."""
    return {klass: {rec["uuid"] for rec in state[klass].values()} for klass in TRACKED}


def delta(before: dict[str, set[str]], after: dict[str, set[str]]) -> dict[str, tuple[int, int]]:
    """class -> (added, removed)."""
    return {k: (len(after[k] - before[k]), len(before[k] - after[k])) for k in TRACKED}


NO_CHANGE = {k: (0, 0) for k in TRACKED}


def new_vm_args(**extra: Any) -> dict[str, Any]:
    args = {
        "name": "app-01",
        "template": "Debian Bookworm 12",
        "vcpus": 2,
        "memory": "2GiB",
        "disks": [{"userdevice": 0, "size": "20GiB"}, {"userdevice": 1, "size": "5GiB"}],
        "networks": [{"device": 0, "network": ETH0}, {"device": 1, "network": ETH1}],
    }
    args.update(extra)
    return args
