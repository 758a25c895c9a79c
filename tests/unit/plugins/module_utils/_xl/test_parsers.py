"""The parsers on real xl 4.17 output (data/*.json, recorded by scripts/xenlab/record-xl-output)."""

from __future__ import annotations

import json
from pathlib import Path

from ansible_collections.virtops.compute.plugins.module_utils._xl.parsers import (
    node_info,
    parse_info,
    parse_list,
    parse_list_long,
    parse_uptime,
    parse_vcpu_list,
)

DATA = Path(__file__).parent / "data"


def out(name: str) -> str:
    rec = json.loads((DATA / f"{name}.json").read_text())
    assert rec["rc"] == 0, rec
    return str(rec["stdout"])


def test_info_and_node_info():
    info = parse_info(out("info"))
    assert info["host"] == "h1"
    assert (info["xen_major"], info["xen_minor"], info["xen_version"]) == (4, 17, "4.17.5")
    assert info["virt_caps"] == ["pv", "hvm", "hap", "shadow", "gnttab-v1", "gnttab-v2"]
    assert info["xen_caps"][0] == "xen-3.0-x86_64"
    assert info["xen_changeset"] == ""
    assert info["xen_commandline"].startswith("console=com1 ")
    assert node_info(info) == {
        "memory_total": 2047,
        "memory_free": 1000,
        "cpu_total": 2,
        "cpu_nodes": 1,
        "cpu_sockets": 1,
        "cores_per_socket": 2,
        "threads_per_core": 1,
        "xen_version": "4.17.5",
        "virt_caps": ["pv", "hvm", "hap", "shadow", "gnttab-v1", "gnttab-v2"],
        "can_live_migrate_pv": True,
        "hostname": "h1",
    }


def test_list_dom0_only():
    (dom0,) = parse_list(out("list_dom0"))
    assert (dom0.name, dom0.domid, dom0.memory, dom0.vcpus) == ("Domain-0", 0, 1024, 2)
    assert dom0.flags == {"running"} and dom0.power_state == "running"
    assert dom0.cpu_time > 0


def test_list_long_dom0():
    (dom0,) = parse_list_long(out("list_long_dom0"))
    assert dom0["name"] == "Domain-0" and dom0["domid"] == 0 and dom0["type"] == "pv"
    assert (dom0["maxmem"], dom0["memory"]) == (1024, 1023)  # target_memkb 1048575
    assert dom0["disks"] == [] and dom0["vifs"] == [] and dom0["kernel"] is None


def test_list_running_and_states():
    rows = {d.name: d for d in parse_list(out("list_running"))}
    assert list(rows) == ["Domain-0", "tiny1"]
    tiny = rows["tiny1"]
    assert (tiny.domid, tiny.memory, tiny.vcpus, tiny.flags, tiny.power_state) == (2, 128, 1, {"blocked"}, "running")
    (paused,) = parse_list(out("list_paused"))
    assert paused.flags == {"paused"} and paused.power_state == "paused"
    (ballooned,) = parse_list(out("list_after_mem_set"))
    assert ballooned.memory == 96
    assert [d.name for d in parse_list(out("list_after_shutdown"))] == ["Domain-0"]


def test_list_long_tiny1_summary():
    (dom,) = parse_list_long(out("list_long_tiny1"))
    config = dom.pop("config")
    assert dom == {
        "name": "tiny1",
        "domid": 2,
        "uuid": "ecb09564-d189-43f2-b1f2-21b31329c2be",
        "type": "pv",
        "memory": 128,
        "maxmem": 128,
        "vcpus": 1,
        "kernel": "/var/lib/xen/xenlab/vmlinux",
        "ramdisk": "/var/lib/xen/xenlab/domu-initrd.gz",
        "cmdline": "console=hvc0 quiet",
        "disks": [],
        "vifs": [],
        "on_poweroff": "destroy",
        "on_reboot": "restart",
        "on_crash": "destroy",
    }
    assert config["b_info"]["max_memkb"] == 131072
    (after,) = parse_list_long(out("list_long_after_mem_set"))
    assert (after["memory"], after["maxmem"]) == (96, 128)  # mem-set moves the target, not the maximum


def test_list_long_all_domains_in_order():
    assert [(d["name"], d["domid"]) for d in parse_list_long(out("list_long_running"))] == [
        ("Domain-0", 0),
        ("tiny1", 2),
    ]


def test_uptime_and_vcpu_list():
    assert parse_uptime(out("uptime")) == {"Domain-0": 20 * 60 + 28, "tiny1": 3 * 60 + 44}
    rows = parse_vcpu_list(out("vcpu_list"))
    assert [(r["name"], r["domid"], r["vcpu"], r["cpu"], r["state"]) for r in rows] == [
        ("Domain-0", 0, 0, 0, "r--"),
        ("Domain-0", 0, 1, 1, "-b-"),
        ("tiny1", 2, 0, 0, "-b-"),
    ]
    assert rows[0]["affinity"] == "all / all" and rows[2]["cpu_time"] == 126.2


def test_domid():
    assert out("domid_tiny1").strip() == "2"
