"""The lab is a real Xen host, driven through Ansible over ssh (dom0's python3).

Each step asserts on what dom0 reports afterwards (``xl list -l`` / ``xl list``, read with the
collection's own parsers), so the parsers are also proven on live output here. The tests run in
file order and share the one host.
"""

from __future__ import annotations

from typing import Any

from ansible_collections.virtops.compute.plugins.module_utils._xl.parsers import (
    DomainState,
    node_info,
    parse_info,
    parse_list,
    parse_list_long,
)

TINY_CFG = "/var/lib/xen/xenlab/tiny.cfg"
CONSOLE_LOG = "/var/log/xen/console/guest-tiny1.log"


def long_list(lab: Any) -> dict[str, dict[str, Any]]:
    return {d["name"]: d for d in parse_list_long(lab.xl("list", "-l").out)}


def short_list(lab: Any) -> dict[str, DomainState]:
    return {d.name: d for d in parse_list(lab.xl("list").out)}


def both_lists(lab: Any) -> tuple[dict[str, DomainState], dict[str, dict[str, Any]]]:
    """``xl list`` and ``xl list -l`` in one round trip."""
    text = lab.sh("xl list && echo @@@@ && xl list -l").out
    short, _sep, long = text.partition("@@@@")
    return {d.name: d for d in parse_list(short)}, {d["name"]: d for d in parse_list_long(long)}


def test_ansible_reaches_dom0_python(xen_lab):
    r = xen_lab.ansible("ansible.builtin.ping", "")
    assert r.result.get("ping") == "pong", r.result
    assert xen_lab.boot_seconds > 0


def test_xl_info_is_a_xen_417_host_that_can_live_migrate_pv(xen_lab):
    info = parse_info(xen_lab.xl("info").out)
    node = node_info(info)
    assert info["xen_version"].startswith("4.17.5"), info["xen_version"]  # the shadow-paging build
    assert "shadow" in info["virt_caps"] and node["can_live_migrate_pv"] is True
    assert node["hostname"] == "h1"
    assert node["memory_total"] >= 1900 and 300 < node["memory_free"] < node["memory_total"]
    assert node["cpu_total"] == 2
    short, long = both_lists(xen_lab)
    assert list(short) == list(long) == ["Domain-0"]
