# -*- coding: utf-8 -*-
# Copyright: virtops.compute contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""xen_vm_info through real ansible-playbook runs against the XenAPI simulator."""

from __future__ import annotations

from typing import Any

import pytest


def info(**args: Any) -> dict[str, Any]:
    return {"name": "xen_vm_info", "virtops.compute.xen_vm_info": args, "ignore_errors": True}


def names(run: Any, index: int = -1) -> list[str]:
    return [vm["name"] for vm in run.result(index)["vms"]]


def test_info_by_name_is_a_lookup_of_constant_cost(xapi: Any, playbook: Any) -> None:
    before = xapi.control.state_hash()
    xapi.control.reset_calls()
    run = playbook([info(name="web-01")])
    assert run.status() == "ok" and run.result()["changed"] is False
    calls = xapi.control.calls()
    assert calls == {
        "session.login_with_password": 1,
        "VM.get_all_records_where": 1,
        "event.from": 2,
        "session.logout": 1,
    }, calls
    vm = run.result()["vms"][0]
    assert (vm["name"], vm["power_state"], vm["tags"]) == ("web-01", "running", ["web"])
    assert vm["disks"][0]["userdevice"] == 0 and vm["networks"][0]["network"]
    assert xapi.control.state_hash() == before


def test_queries(xapi: Any, playbook: Any) -> None:
    before = xapi.control.state_hash()
    db = next(r for r in xapi.control.state()["pool0"]["VM"].values() if r["name_label"] == "db-01")
    run = playbook(
        [
            info(),
            info(uuid=db["uuid"]),
            info(tags=["web"]),
            info(filter={"power_state": "Halted"}),
            info(filter={"other_config": {"base_template_name": "Debian Bookworm 12"}}),
            info(tags=["web"], filter={"power_state": "halted"}),
            info(include_templates=True),
            info(name="nope"),
        ],
        check=True,
    )
    assert [r["status"] for r in run.results] == ["ok"] * 8
    assert names(run, 0) == ["db-01", "legacy-01", "web-01"]  # legacy-01: the scenario's guest without PV drivers
    assert names(run, 1) == ["db-01"]
    assert names(run, 2) == ["web-01"]
    assert names(run, 3) == ["db-01"]
    assert names(run, 4) == ["web-01"]
    assert names(run, 5) == []
    assert {"Debian Bookworm 12", "db-01", "web-01"} <= set(names(run, 6))
    assert names(run, 7) == []
    assert all(r["result"]["changed"] is False for r in run.results)
    assert xapi.control.state_hash() == before


def test_unknown_filter_field_fails(xapi: Any, playbook: Any) -> None:
    run = playbook([info(filter={"no_such_field": 1})])
    assert run.status() == "failed"
    assert run.result()["msg"] == "filter: unknown VM record field(s): no_such_field"


@pytest.mark.parametrize("check", [False, True])
def test_diagnostics(xapi: Any, playbook: Any, check: bool) -> None:
    before = xapi.control.state_hash()
    xapi.control.reset_calls()
    run = playbook([info(diagnostics=True)], check=check)
    assert run.status() == "ok"
    calls = xapi.control.calls()
    running = [vm for vm in run.result()["vms"] if vm["power_state"] in ("running", "paused")]
    assert calls == {
        "session.login_with_password": 1,
        "event.from": 1,
        "session.logout": 1,
        "VM.get_data_sources": len(running),
    }
    web = next(vm for vm in run.result()["vms"] if vm["name"] == "web-01")
    d = web["diagnostics"]
    assert d["state"] == "running" and isinstance(d["uptime"], int) and d["uptime"] >= 0
    assert d["num_cpus"] == 2 and all(isinstance(c["utilisation"], float) for c in d["cpu_details"])
    mem = d["memory_details"]
    assert mem["actual"] == mem["target"] == mem["maximum"] == 2048 * 1024 * 1024
    disk = d["disk_details"][0]
    assert disk["device"] == "xvda" and isinstance(disk["read_bytes_per_sec"], float)
    assert isinstance(disk["write_bytes_per_sec"], float)
    nic = d["nic_details"][0]
    assert isinstance(nic["rx_bytes_per_sec"], float) and isinstance(nic["tx_bytes_per_sec"], float)
    assert nic["mac_address"] == web["networks"][0]["mac"]
    assert d["console"]["protocol"] == "rfb" and "/console?uuid=" in d["console"]["location"]
    metrics = xapi.control.metrics(web["uuid"])[web["uuid"]]
    assert nic["rx_bytes_per_sec"] == metrics["vif_0_rx"] and disk["read_bytes_per_sec"] == metrics["vbd_xvda_read"]
    db = next(vm for vm in run.result()["vms"] if vm["name"] == "db-01")["diagnostics"]
    assert db["state"] == "halted" and db["uptime"] is None and db["console"] is None
    assert xapi.control.state_hash() == before
