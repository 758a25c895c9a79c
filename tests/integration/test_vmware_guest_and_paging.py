# -*- coding: utf-8 -*-
# Copyright: virtops.compute contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What vcsim's patch 0002 lets the vSphere modules do for real: guest reboot and shutdown through VMware
Tools (and the hard fallback on a VM without Tools), wait_for_ip on the addresses the guest reports, and the
paged property reads. Through ansible-playbook; vcsim's state (pyvmomi) and its -trace are the oracles."""

from __future__ import annotations

import ipaddress
import math
import re
import time
from typing import Any

import pytest
from playbook_runner import ok, run_playbook
from pyVim.task import WaitForTask
from pyVmomi import vim

VM = "DC0_H0_VM0"


# ---------------------------------------------------------------------- helpers
def vm_obj(si: Any, name: str) -> Any:
    content = si.RetrieveContent()
    return content.searchIndex.FindChild(content.rootFolder.childEntity[0].vmFolder, name)


def set_extra(vm: Any, **values: str) -> None:
    spec = vim.vm.ConfigSpec(extraConfig=[vim.option.OptionValue(key=k, value=v) for k, v in values.items()])
    WaitForTask(vm.ReconfigVM_Task(spec=spec))


def without_tools(vm: Any) -> None:
    """The VM's guest has no VMware Tools (patch 0002's switch); a reset makes vcsim notice."""
    set_extra(vm, **{"vcsim.guest.tools": "none"})
    WaitForTask(vm.ResetVM_Task())
    assert vm.guest.toolsRunningStatus == "guestToolsNotRunning" and vm.guest.toolsStatus == "toolsNotInstalled"


def wait_guest_up(vm: Any) -> None:
    deadline = time.monotonic() + 10
    while not vm.guest.ipAddress:
        assert time.monotonic() < deadline, "the guest never reported an address"
        time.sleep(0.05)
    assert vm.guest.toolsRunningStatus == "guestToolsRunning"


def addresses(moid: str, nic: int) -> tuple[str, str]:
    """The IPv4 and global IPv6 address patch 0002 gives NIC ``nic`` of VM ``moid``."""
    n = int(moid.rsplit("-", 1)[1])
    return "10.%d.%d.%d" % (nic, n >> 8, n & 255), str(ipaddress.IPv6Address("fd00:0:0:%x::%x" % (nic, n)))


@pytest.fixture
def power(vsphere_conn: dict[str, Any]):  # type: ignore[no-untyped-def]
    def task(**args: Any) -> dict[str, Any]:
        return {"virtops.compute.vmware_vm_power": dict(vsphere_conn, **args), "ignore_errors": True}

    return task


@pytest.fixture
def vmware_vm(vsphere_conn: dict[str, Any]):  # type: ignore[no-untyped-def]
    def task(**args: Any) -> dict[str, Any]:
        params = {
            "name": "app-01",
            "template": "none",  # an empty VM from scratch
            "cluster": "DC0_C0",
            "hardware": {"num_cpus": 1, "memory": "512MiB"},
            "networks": [{"device": 0, "portgroup": "VM Network"}, {"device": 1, "portgroup": "DC0_DVPG0"}],
            "power_state": "running",
        }
        params.update(args)
        return {"virtops.compute.vmware_vm": dict(vsphere_conn, **params), "ignore_errors": True}

    return task


# ---------------------------------------------------------------------- vmware_vm_power through the guest
@pytest.mark.vcsim(trace=True)
def test_restarted_is_a_guest_reboot(si: Any, vcsim: Any, power: Any) -> None:
    vm = vm_obj(si, VM)
    wait_guest_up(vm)
    booted = vm.summary.runtime.bootTime
    mark = vcsim.trace_mark()
    res = ok(run_playbook([power(name=VM, state="restarted")], diff=True))
    assert res["changed"] is True and res["restart_method"] == "guest"
    assert "notes" not in res  # no "reset the VM instead"
    assert res["diff"]["after"]["restarted"] == "guest"
    calls = vcsim.call_counter(since=mark)
    assert calls["RebootGuest"] == 1 and calls["ResetVM_Task"] == 0 and calls["PowerOffVM_Task"] == 0
    assert vm.runtime.powerState == "poweredOn"
    assert vm.summary.runtime.bootTime > booted  # the guest did reboot


@pytest.mark.vcsim(trace=True)
def test_restarted_without_tools_falls_back_to_reset_and_says_why(si: Any, vcsim: Any, power: Any) -> None:
    vm = vm_obj(si, VM)
    without_tools(vm)
    booted = vm.summary.runtime.bootTime
    mark = vcsim.trace_mark()
    res = ok(run_playbook([power(name=VM, state="restarted")]))
    assert res["changed"] is True and res["restart_method"] == "reset"
    assert res["notes"] == [
        "soft reboot unavailable (ToolsUnavailable: guest reboot: ToolsUnavailable: VMware Tools is not running in "
        "the guest): reset the VM instead"
    ]
    calls = vcsim.call_counter(since=mark)
    assert calls["RebootGuest"] == 1 and calls["ResetVM_Task"] == 1
    assert vm.runtime.powerState == "poweredOn" and vm.summary.runtime.bootTime > booted


@pytest.mark.vcsim(trace=True)
def test_halted_waits_for_the_guest_to_shut_down(si: Any, vcsim: Any, power: Any) -> None:
    vm = vm_obj(si, VM)
    set_extra(vm, **{"vcsim.guest.delay": "1500"})  # the guest takes 1.5 s to shut down
    wait_guest_up(vm)
    mark = vcsim.trace_mark()
    started = time.monotonic()
    res = ok(run_playbook([power(name=VM, state="halted")]))
    assert res["changed"] is True and res["halt_method"] == "guest" and "notes" not in res
    calls = vcsim.call_counter(since=mark)
    assert calls["ShutdownGuest"] == 1 and calls["PowerOffVM_Task"] == 0
    assert time.monotonic() - started >= 1.5  # it waited for the guest, it did not power off by itself
    assert vm.runtime.powerState == "poweredOff" and res["vm"]["power_state"] == "halted"


@pytest.mark.vcsim(trace=True)
def test_halted_powers_off_hard_when_the_guest_is_too_slow(si: Any, vcsim: Any, power: Any) -> None:
    vm = vm_obj(si, VM)
    set_extra(vm, **{"vcsim.guest.delay": "60000"})
    wait_guest_up(vm)
    mark = vcsim.trace_mark()
    res = ok(run_playbook([power(name=VM, state="halted", timeout=1)]))
    assert res["halt_method"] == "hard"
    assert res["notes"] == ["the guest did not shut down within 1.0s: powered off hard"]
    calls = vcsim.call_counter(since=mark)
    assert calls["ShutdownGuest"] == 1 and calls["PowerOffVM_Task"] == 1
    assert vm.runtime.powerState == "poweredOff"


@pytest.mark.vcsim(trace=True)
def test_halted_without_tools_powers_off_hard_and_says_why(si: Any, vcsim: Any, power: Any) -> None:
    vm = vm_obj(si, VM)
    without_tools(vm)
    mark = vcsim.trace_mark()
    res = ok(run_playbook([power(name=VM, state="halted")]))
    assert res["halt_method"] == "hard"
    assert res["notes"] == ["guest shutdown unavailable (ToolsUnavailable): powered off hard"]
    calls = vcsim.call_counter(since=mark)
    assert calls["ShutdownGuest"] == 1 and calls["PowerOffVM_Task"] == 1
    assert vm.runtime.powerState == "poweredOff"


# ---------------------------------------------------------------------- wait_for_ip (vmware_vm)
@pytest.mark.parametrize(
    "args",
    [
        {"wait_for_ip": {"family": "ipv4", "timeout": 60}},
        {"wait_for_ip": {"family": "ipv6", "timeout": 60}},
        {"wait_for_ip": {"family": "any", "timeout": 60}},
        {"wait_for_ip": {"family": "ipv4", "cidr": "10.1.0.0/16", "timeout": 60}},
        {"wait_for_ip": {"family": "ipv6", "cidr": "fd00:0:0:1::/64", "timeout": 60}},
    ],
    ids=["ipv4", "ipv6", "any", "ipv4-cidr-second-nic", "ipv6-cidr-second-nic"],
)
def test_vmware_vm_waits_for_the_guest_address(si: Any, vmware_vm: Any, args: dict[str, Any]) -> None:
    # the guest reports its addresses 1.5 s after power-on: without waiting the module would report none
    task = vmware_vm(extra_config={"vcsim.guest.delay": "1500"}, **args)
    res = ok(run_playbook([task]))
    moid = res["vm"]["moid"]
    (v4_0, v6_0), (v4_1, v6_1) = addresses(moid, 0), addresses(moid, 1)
    assert res["vm"]["power_state"] == "running"
    assert res["vm"]["ip"] == v4_0
    assert res["vm"]["ipv4"] == [v4_0, v4_1]
    assert {v6_0, v6_1} <= set(res["vm"]["ipv6"])
    assert [n["ipv4"] for n in res["vm"]["networks"]] == [[v4_0], [v4_1]]
    assert vm_obj(si, "app-01").guest.ipAddress == v4_0


@pytest.mark.parametrize(
    "args, msg, why",
    [
        (
            {"wait_for_ip": {"family": "ipv4", "cidr": "192.0.2.0/24", "timeout": 2}},
            "an IPv4 address in 192.0.2.0/24",
            "(outside 192.0.2.0/24)",
        ),
        (  # link-local never counts
            {"wait_for_ip": {"family": "ipv6", "cidr": "fe80::/10", "timeout": 2}},
            "an IPv6 address in fe80::/10",
            "(link-local)",
        ),
        (  # another family
            {"wait_for_ip": {"family": "ipv6", "cidr": "10.0.0.0/8", "timeout": 2}},
            "an IPv6 address in 10.0.0.0/8",
            "(IPv4, waiting for IPv6)",
        ),
    ],
    ids=["cidr-elsewhere", "link-local", "family-mismatch"],
)
def test_vmware_vm_wait_for_ip_filters_time_out(
    si: Any, vmware_vm: Any, args: dict[str, Any], msg: str, why: str
) -> None:
    run = run_playbook([vmware_vm(extra_config={"vcsim.guest.delay": "0"}, **args)])
    res = run.result()
    assert run.status() == "failed" and res["error_code"] == "TASK_TIMEOUT", res
    assert msg in res["msg"], res["msg"]
    assert why in res["msg"], res["msg"]  # the message says what the guest reported and why it did not count
    guest = vm_obj(si, "app-01").guest  # the guest did report addresses, just none that matches
    assert guest.ipAddress and any(ipaddress.ip_address(ip).is_link_local for n in guest.net for ip in n.ipAddress)


# ---------------------------------------------------------------------- wait_for_ip (vmware_vm_power)
@pytest.mark.parametrize(
    "args",
    [
        {"state": "running", "wait_for_ip": {"family": "ipv6", "cidr": "fd00::/64", "timeout": 60}},
        {"state": "restarted", "wait_for_ip": {"family": "any", "timeout": 60}},
        {"state": "reset", "wait_for_ip": {"family": "ipv4", "cidr": "10.0.0.0/16", "timeout": 60}},
    ],
    ids=["running-ipv6-cidr", "restarted-any", "reset-ipv4-cidr"],
)
def test_vmware_vm_power_waits_for_the_guest_address(si: Any, power: Any, args: dict[str, Any]) -> None:
    vm = vm_obj(si, VM)
    set_extra(vm, **{"vcsim.guest.delay": "1500"})  # addresses come 1.5 s after the guest (re)starts
    if args["state"] == "running":
        WaitForTask(vm.PowerOffVM_Task())
    else:
        wait_guest_up(vm)
    res = ok(run_playbook([power(name=VM, **args)]))
    v4, v6 = addresses(vm._moId, 0)
    assert res["changed"] is True and res["vm"]["power_state"] == "running"
    assert res["vm"]["ip"] == v4 and res["vm"]["ipv4"] == [v4]
    assert v6 in res["vm"]["ipv6"]
    assert vm.guest.ipAddress == v4


def test_vmware_vm_power_wait_for_ip_times_out_after_the_action(si: Any, power: Any) -> None:
    vm = vm_obj(si, VM)
    WaitForTask(vm.PowerOffVM_Task())
    run = run_playbook([power(name=VM, state="running", wait_for_ip={"cidr": "192.0.2.0/24", "timeout": 2})])
    res = run.result()
    assert run.status() == "failed" and res["error_code"] == "TASK_TIMEOUT", res
    assert "an IPv4 address in 192.0.2.0/24" in res["msg"]
    assert vm.runtime.powerState == "poweredOn"  # the power action itself was done


@pytest.mark.vcsim(trace=True)
def test_vmware_vm_power_wait_for_ip_bad_cidr_and_check_mode(si: Any, vcsim: Any, power: Any) -> None:
    vm = vm_obj(si, VM)
    WaitForTask(vm.PowerOffVM_Task())
    mark = vcsim.trace_mark()
    run = run_playbook([power(name=VM, state="running", wait_for_ip={"cidr": "10.0.0.300/8"})])
    bad = run.result()
    assert run.status() == "failed" and "wait_for_ip.cidr" in bad["msg"], bad
    assert vcsim.count_calls(since=mark) == 0  # refused before connecting
    check = ok(run_playbook([power(name=VM, state="running", wait_for_ip={"timeout": 1})], check=True))
    assert check["changed"] is True and check["vm"]["power_state"] == "running"
    assert vm.runtime.powerState == "poweredOff"
    calls = vcsim.call_counter(since=mark)
    assert not [c for c in calls if c.endswith("_Task")], calls


# ---------------------------------------------------------------------- paged property reads
_RECORD_RE = re.compile(r"^(Request|Response): ", re.MULTILINE)


def objects_per_answer(trace: str) -> list[int]:
    """Objects in each RetrievePropertiesEx/ContinueRetrievePropertiesEx answer of a vcsim -trace, in order."""
    parts = _RECORD_RE.split(trace)
    counts = []
    for kind, body in zip(parts[1::2], parts[2::2], strict=False):
        if kind == "Response" and re.search(r"<(?:\w+:)?(Continue)?RetrievePropertiesExResponse\b", body):
            counts.append(len(re.findall(r"<(?:\w+:)?objects>", body)))
    return counts


def test_paged_reads_give_the_same_answer(vcsim_factory: Any) -> None:
    """vmware_vm_info of a folder against a vcsim answering 2 objects per page: same result, one
    ContinueRetrievePropertiesEx per extra page of each read (counted from the unpaged run's answers)."""
    runs = {}
    for page in (None, 2):
        server = vcsim_factory(trace=True, pc_page_size=page)
        conn = {
            "hostname": server.host,
            "port": server.port,
            "username": server.username,
            "password": server.password,
            "validate_certs": False,
        }
        mark = server.trace_mark()
        res = ok(run_playbook([{"virtops.compute.vmware_vm_info": dict(conn, folder="/DC0/vm")}]))
        with open(server.trace_path, encoding="utf-8") as fh:
            fh.seek(mark)
            trace = fh.read()
        runs[page] = (res, server.call_counter(since=mark), objects_per_answer(trace))
    (whole, whole_calls, whole_sizes), (paged, paged_calls, paged_sizes) = runs[None], runs[2]

    def stable(vms: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        return [(v["name"], v["moid"], v["power_state"], v["instance_uuid"]) for v in vms]

    assert sorted(v["name"] for v in paged["vms"]) == ["DC0_C0_RP0_VM0", "DC0_C0_RP0_VM1", "DC0_H0_VM0", "DC0_H0_VM1"]
    assert len(stable(paged["vms"])) == 4 and [v["name"] for v in paged["vms"]] == [v["name"] for v in whole["vms"]]
    assert whole_calls["ContinueRetrievePropertiesEx"] == 0
    assert max(paged_sizes) == 2 and max(whole_sizes) > 2
    extra_pages = sum(math.ceil(n / 2) - 1 for n in whole_sizes if n)
    assert extra_pages >= 2  # the inventory read and the read of the 4 VMs both span pages
    assert paged_calls["ContinueRetrievePropertiesEx"] == extra_pages
    assert paged_calls["RetrievePropertiesEx"] == whole_calls["RetrievePropertiesEx"]
    assert sum(paged_sizes) == sum(whole_sizes)


@pytest.mark.vcsim(trace=True, pc_page_size=3)
def test_client_follows_continuation_tokens(vcsim: Any) -> None:
    from ansible_collections.virtops.compute.plugins.module_utils._vsphere.client import VSphereClient

    client = VSphereClient.connect(vcsim.host, vcsim.username, vcsim.password, port=vcsim.port, validate_certs=False)
    try:
        client.view([vim.VirtualMachine])
        mark, calls = vcsim.trace_mark(), client.calls
        found, _extras = client.collect({vim.VirtualMachine: ["name", "runtime.powerState"]})
        assert sorted(props["name"] for _obj, props in found.values()) == [
            "DC0_C0_RP0_VM0",
            "DC0_C0_RP0_VM1",
            "DC0_H0_VM0",
            "DC0_H0_VM1",
        ]
        assert all(props["runtime.powerState"] == "poweredOn" for _obj, props in found.values())
        assert vcsim.trace_calls(since=mark) == ["RetrievePropertiesEx", "ContinueRetrievePropertiesEx"]
        assert client.calls - calls == 2
    finally:
        client.close()
