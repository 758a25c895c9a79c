"""Every documented option of the xen modules that no other test uses, through ansible-playbook against the
XenAPI simulator; the simulator's state (control API, XenAPI reads) is the oracle, not ``changed``."""

from __future__ import annotations

import urllib.request
from typing import Any

from playbook_runner import run_playbook
from xen_state import one_vm, pool, vm_cds, vm_disks

GiB = 1024**3


def xen_vm(**params: Any) -> dict[str, Any]:
    return {"virtops.compute.xen_vm": params}


def sr_uuid(state: dict[str, Any], name: str, host: str | None = None) -> str:
    """The uuid of the SR ``name`` (for a local SR: the one whose PBD is on ``host``)."""
    found = []
    for sr in state["SR"].values():
        if sr["name_label"] != name:
            continue
        hosts = {state["host"][state["PBD"][p]["host"]]["name_label"] for p in sr["PBDs"]}
        if host is None or host in hosts:
            found.append(sr["uuid"])
    assert len(found) == 1, (name, host, found)
    return found[0]


def sr_of(state: dict[str, Any], vdi: dict[str, Any]) -> str:
    return state["SR"][vdi["SR"]]["uuid"]


def export_raw(xapi: Any, vdi_uuid: str) -> bytes:
    s = xapi.session()
    try:
        url = "%s/export_raw_vdi?session_id=%s&vdi=%s&format=raw" % (xapi.url, s._session, vdi_uuid)
        return urllib.request.urlopen(url, timeout=10).read()
    finally:
        s.xenapi.session.logout()


def calls_named(calls: dict[str, int], name: str) -> int:
    """Sync and Async calls of one XenAPI message."""
    return calls.get(name, 0) + calls.get("Async." + name, 0)


def test_copy_to_sr_cores_bios_bootable_cdrom_and_configdrive(xapi: Any, playbook: Any) -> None:
    state = pool(xapi.control)
    local = sr_uuid(state, "Local storage", host="xen-a2")
    task = xen_vm(
        name="opt-01",
        template="Debian Bookworm 12",
        sr=local,
        vcpus=4,
        cores_per_socket=2,
        memory="1GiB",
        boot={"firmware": "bios", "order": "cd"},
        disks=[
            {"userdevice": 0, "size": "12GiB", "bootable": True},
            {"userdevice": 1, "size": "1GiB", "name": "opt-data", "bootable": False},
        ],
        cdrom={"iso": "debian-12.iso", "userdevice": 5},
        cloud_init={
            "format": "configdrive",
            "user_data": "#cloud-config\nhostname: opt-01\n",
            "meta_data": {"opt-meta-key": "opt-meta-value"},
            "network_config": {"links": [{"id": "opt-link0", "type": "phy"}], "networks": [], "services": []},
            "userdevice": 6,
            "sr": "Shared storage",
        },
    )
    xapi.control.reset_calls()
    run = playbook([task])
    assert run.rc == 0, run.result()
    calls = xapi.control.calls()
    # sr with a template: the template is copied to the SR, never cloned
    assert calls_named(calls, "VM.copy") == 1 and calls_named(calls, "VM.clone") == 0, calls
    state = pool(xapi.control)
    vm = one_vm(state, "opt-01")
    assert int(vm["VCPUs_max"]) == 4 and vm["platform"]["cores-per-socket"] == "2", vm["platform"]
    # the template has no firmware key, which xapi reads as BIOS: nothing to set
    assert vm["HVM_boot_params"].get("firmware", "bios") == "bios" and vm["HVM_boot_params"]["order"] == "cd"
    assert run.result()["vm"]["boot"] == {"firmware": "bios", "order": "cd"}
    disks = vm_disks(state, vm)
    assert {d: int(v["virtual_size"]) for d, v in disks.items()} == {0: 12 * GiB, 1: GiB}
    assert disks[0]["_vbd"]["bootable"] is True and disks[1]["_vbd"]["bootable"] is False
    # a new disk that names no SR goes to the module's sr
    assert disks[1]["name_label"] == "opt-data" and sr_of(state, disks[1]) == local
    cds = vm_cds(state, vm)
    assert sorted(cds) == [5, 6], cds
    assert state["VDI"][cds[5]["VDI"]]["name_label"] == "debian-12.iso"
    drive = state["VDI"][cds[6]["VDI"]]
    assert sr_of(state, drive) == sr_uuid(state, "Shared storage")
    data = export_raw(xapi, drive["uuid"])
    assert data[32769:32774] == b"CD001" and data[32808:32816] == b"config-2", data[32808:32840]
    assert b"opt-meta-value" in data and b"opt-link0" in data and b"hostname: opt-01" in data
    assert b"cidata" not in data[:65536]

    xapi.control.reset_calls()
    again = playbook([task])
    assert again.rc == 0 and again.result()["changed"] is False, again.result()["changes"]
    assert sum(xapi.control.calls().values()) == 3

    # is_template: a template (and back), read from the pool
    run = playbook([xen_vm(name="opt-01", is_template=True)])
    assert run.rc == 0 and run.result()["changed"] is True, run.result()
    assert one_vm_or_template(xapi, "opt-01")["is_a_template"] is True
    run = playbook([xen_vm(name="opt-01", is_template=False)])
    assert run.rc == 0 and run.result()["changed"] is True, run.result()
    assert one_vm_or_template(xapi, "opt-01")["is_a_template"] is False


def one_vm_or_template(xapi: Any, name: str) -> dict[str, Any]:
    found = [v for v in pool(xapi.control)["VM"].values() if v["name_label"] == name and not v["is_a_snapshot"]]
    assert len(found) == 1, found
    return found[0]


def test_cores_per_socket_on_an_existing_vm_needs_a_halt(xapi: Any, playbook: Any) -> None:
    run = playbook([xen_vm(name="web-01", cores_per_socket=2)])
    assert run.rc != 0
    assert "need the VM to be halted: set platform (cores-per-socket)" in run.result()["msg"], run.result()["msg"]
    assert "cores-per-socket" not in one_vm(pool(xapi.control), "web-01")["platform"]
    run = playbook([xen_vm(name="web-01", cores_per_socket=2, allow_power_cycling=True)])
    assert run.rc == 0, run.result()
    vm = one_vm(pool(xapi.control), "web-01")
    assert vm["platform"]["cores-per-socket"] == "2" and vm["power_state"] == "Running"


def test_firmware_uefi_then_bios(xapi: Any, playbook: Any) -> None:
    for firmware in ("uefi", "bios"):
        run = playbook([xen_vm(name="db-01", boot={"firmware": firmware})])
        assert run.rc == 0 and run.result()["changed"] is True, run.result()
        assert one_vm(pool(xapi.control), "db-01")["HVM_boot_params"]["firmware"] == firmware


def test_wait_for_ip_any_family(xapi: Any, playbook: Any) -> None:
    run = playbook([xen_vm(name="db-01", power_state="running", wait_for_ip={"family": "any", "timeout": 30})])
    assert run.rc == 0, run.result()
    vm = run.result()["vm"]
    assert vm["ip"].startswith("192.0.2.") or vm["ip"].startswith("2001:db8:"), vm["ip"]
    # "any" does not wait for a family: an address of either family outside the CIDR still times out
    run = playbook([xen_vm(name="db-01", wait_for_ip={"family": "any", "cidr": "198.51.100.0/24", "timeout": 2})])
    assert run.rc != 0
    assert (
        "timed out after 2s waiting for the guest to report an IP address in 198.51.100.0/24" in run.result()["msg"]
    ), run.result()["msg"]


def test_port_and_api_timeout_on_every_xen_module(xapi: Any) -> None:
    host, port = xapi.url.rsplit(":", 1)
    conn = {"hostname": host, "port": int(port), "username": xapi.username, "password": xapi.password, "api_timeout": 5}
    tasks = [
        {"virtops.compute.xen_vm": dict(conn, name="db-01", description="via port")},
        {"virtops.compute.xen_vm_info": dict(conn, name="db-01", api_timeout=5)},
        {"virtops.compute.xen_vm_power": dict(conn, name="db-01", state="running", api_timeout=5)},
    ]
    run = run_playbook(tasks)
    assert [r["status"] for r in run.results] == ["ok", "ok", "ok"], run.stdout[-3000:]
    assert one_vm(pool(xapi.control), "db-01")["name_description"] == "via port"
    assert run.result(1)["vms"][0]["name"] == "db-01"
    assert one_vm(pool(xapi.control), "db-01")["power_state"] == "Running"
    # port only fills in a missing port: a wrong one is really used (the connection is refused)
    run = run_playbook([{"virtops.compute.xen_vm_info": dict(conn, name="db-01", port=9)}])
    assert run.rc != 0 and "http://127.0.0.1:9 refused the connection" in run.result()["msg"], run.result()["msg"]


def test_api_timeout_bounds_one_call(xapi: Any, playbook: Any) -> None:
    """A call that does not answer within api_timeout is abandoned after api_timeout (a read is tried again a
    few times, each attempt bounded). The server answers after 40 s: with the default api_timeout (60 s) the
    task would succeed, so the failure is api_timeout's doing (no wall-clock bound: the machine is shared)."""
    xapi.control.fault("VM.get_all_records_where", mode="delay", seconds=40)
    run = playbook([{"virtops.compute.xen_vm_info": {"name": "db-01", "api_timeout": 2}}])
    xapi.control.clear_faults()
    assert run.rc != 0
    assert "did not answer within 2s (api_timeout)" in run.result()["msg"], run.result()["msg"]
    assert xapi.control.calls()["VM.get_all_records_where"] >= 1


def test_info_include_snapshots(xapi: Any, playbook: Any) -> None:
    s = xapi.session()
    try:
        ref = s.xenapi.VM.get_by_name_label("db-01")[0]
        snap_uuid = s.xenapi.VM.get_uuid(s.xenapi.VM.snapshot(ref, "db-01-snap"))
    finally:
        s.xenapi.session.logout()
    run = playbook(
        [
            {"virtops.compute.xen_vm_info": {"include_snapshots": False}},
            {"virtops.compute.xen_vm_info": {"include_snapshots": True}},
        ]
    )
    assert run.rc == 0, run.stdout[-2000:]
    without = {v["name"] for v in run.result(0)["vms"]}
    both = {v["name"]: v for v in run.result(1)["vms"]}
    assert "db-01" in without and "db-01-snap" not in without, without
    assert set(both) - without == {"db-01-snap"}, (sorted(both), sorted(without))
    assert both["db-01-snap"]["uuid"] == snap_uuid


def test_power_shutdown_timeout_then_hard(xapi: Any, playbook: Any) -> None:
    """A guest that does not finish a clean shutdown within shutdown_timeout is hard shut down: the module stops
    waiting for the clean shutdown (held 10 s by a delay fault) and calls hard_shutdown; had it waited for the
    clean shutdown to finish, it would never call hard_shutdown."""
    xapi.control.fault("Async.VM.clean_shutdown", mode="delay", seconds=10)
    xapi.control.reset_calls()
    run = playbook([{"virtops.compute.xen_vm_power": {"name": "web-01", "state": "halted", "shutdown_timeout": 2}}])
    xapi.control.clear_faults()
    assert run.rc == 0, run.result()
    calls = xapi.control.calls()
    assert calls_named(calls, "VM.clean_shutdown") == 1 and calls_named(calls, "VM.hard_shutdown") == 1, calls
    assert one_vm(pool(xapi.control), "web-01")["power_state"] == "Halted"


def test_power_by_uuid(xapi: Any, playbook: Any) -> None:
    uuid = one_vm(pool(xapi.control), "db-01")["uuid"]
    run = playbook([{"virtops.compute.xen_vm_power": {"uuid": uuid, "state": "running"}}])
    assert run.rc == 0 and run.result()["changed"] is True, run.result()
    assert one_vm(pool(xapi.control), "db-01")["power_state"] == "Running"
