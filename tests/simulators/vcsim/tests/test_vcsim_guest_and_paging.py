"""Patch 0002: a guest with VMware Tools (guest operations, guest IPs) and RetrievePropertiesEx paging.

Every test here fails against vcsim built without patch 0002 (test_vcsim_patches_needed.py
runs this file against that build and checks it).
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable
from typing import Any

import pytest
from pyVim.task import WaitForTask
from pyVmomi import vim, vmodl

PC = vmodl.query.PropertyCollector


@pytest.fixture
def si(vcsim):
    yield vcsim.connect()
    assert vcsim.panics() == [], vcsim.log_text()


@pytest.fixture
def content(si):
    return si.RetrieveContent()


@pytest.fixture
def vms(content):
    view = content.viewManager.CreateContainerView(content.rootFolder, [vim.VirtualMachine], True)
    try:
        return sorted(view.view, key=lambda v: v.name)
    finally:
        view.Destroy()


@pytest.fixture
def vm(vms):
    return vms[0]


def wait_until(probe: Callable[[], Any], timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met within %ss" % timeout)
        time.sleep(0.02)


def set_extra(vm, **values: str) -> None:
    spec = vim.vm.ConfigSpec(
        extraConfig=[vim.option.OptionValue(key=k.replace("_", "."), value=v) for k, v in values.items()]
    )
    WaitForTask(vm.ReconfigVM_Task(spec=spec))


def guest_delay(vm, ms: int) -> None:
    set_extra(vm, vcsim_guest_delay=str(ms))


def expected_addresses(vm) -> tuple[str, str, str]:
    """(IPv4, IPv6, link-local) the patch derives for the VM's first NIC: from the moref and the MAC."""
    n = int(vm._moId.rsplit("-", 1)[1])
    nic = next(d for d in vm.config.hardware.device if isinstance(d, vim.vm.device.VirtualEthernetCard))
    mac = bytes.fromhex(nic.macAddress.replace(":", ""))
    eui64 = bytes([mac[0] ^ 0x02, mac[1], mac[2], 0xFF, 0xFE, mac[3], mac[4], mac[5]])
    link_local = ipaddress.IPv6Address(b"\xfe\x80" + b"\x00" * 6 + eui64)
    return "10.0.%d.%d" % (n >> 8, n & 255), str(ipaddress.IPv6Address("fd00::%x" % n)), str(link_local)


def nic_ips(vm) -> list[str]:
    return [ip for n in vm.guest.net or [] for ip in n.ipAddress or []]


# ---------------------------------------------------------------- Tools and guest addresses
def test_powered_on_vm_runs_tools_and_reports_addresses(vm):
    v4, v6, ll = expected_addresses(vm)
    wait_until(lambda: vm.guest.ipAddress)
    guest = vm.guest
    assert guest.toolsRunningStatus == "guestToolsRunning"
    assert guest.toolsStatus == "toolsOk"
    assert guest.guestState == "running"
    assert guest.ipAddress == v4
    assert [list(n.ipAddress) for n in guest.net] == [[v4, ll, v6]]
    assert ipaddress.ip_address(ll).is_link_local and not ipaddress.ip_address(v6).is_link_local
    assert [(a.ipAddress, a.prefixLength) for a in guest.net[0].ipConfig.ipAddress] == [(v4, 16), (ll, 64), (v6, 64)]
    assert vm.summary.guest.ipAddress == v4
    assert vm.summary.guest.toolsRunningStatus == "guestToolsRunning"


def test_every_vm_and_nic_gets_its_own_addresses(vms):
    for vm in vms:
        wait_until(lambda vm=vm: vm.guest.ipAddress)
    addresses = [vm.guest.ipAddress for vm in vms]
    assert len(set(addresses)) == len(vms) == 4
    vm = vms[0]
    nic = vim.vm.device.VirtualVmxnet3(
        key=-1, backing=vim.vm.device.VirtualEthernetCard.NetworkBackingInfo(deviceName="VM Network")
    )
    WaitForTask(
        vm.ReconfigVM_Task(
            spec=vim.vm.ConfigSpec(deviceChange=[vim.vm.device.VirtualDeviceSpec(operation="add", device=nic)])
        )
    )
    WaitForTask(vm.ResetVM_Task())
    wait_until(lambda: len(vm.guest.net) == 2 and all(n.ipAddress for n in vm.guest.net))
    n = int(vm._moId.rsplit("-", 1)[1])
    second = vm.guest.net[1]
    assert second.ipAddress[0] == "10.1.%d.%d" % (n >> 8, n & 255)
    assert second.ipAddress[-1] == str(ipaddress.IPv6Address("fd00:0:0:1::%x" % n))
    keys = [d.key for d in vm.config.hardware.device if isinstance(d, vim.vm.device.VirtualEthernetCard)]
    assert [g.deviceConfigId for g in vm.guest.net] == keys


def test_power_off_and_suspend_stop_tools_and_clear_addresses(vms):
    for vm, task in ((vms[0], "PowerOffVM_Task"), (vms[1], "SuspendVM_Task")):
        wait_until(lambda vm=vm: vm.guest.ipAddress)
        WaitForTask(getattr(vm, task)())
        guest = vm.guest
        assert (guest.toolsRunningStatus, guest.toolsStatus, guest.guestState) == (
            "guestToolsNotRunning",
            "toolsNotRunning",
            "notRunning",
        ), task
        assert guest.ipAddress is None and nic_ips(vm) == [], task


def test_addresses_appear_after_the_guest_delay(vm):
    WaitForTask(vm.PowerOffVM_Task())
    guest_delay(vm, 1500)  # long enough for the reads below on a loaded machine
    WaitForTask(vm.PowerOnVM_Task())
    started = time.monotonic()
    assert vm.guest.toolsRunningStatus == "guestToolsRunning"  # Tools at once ...
    assert vm.guest.ipAddress is None and nic_ips(vm) == []  # ... the addresses only once the guest is up
    wait_until(lambda: vm.guest.ipAddress)
    assert time.monotonic() - started >= 1.4
    v4, v6, ll = expected_addresses(vm)
    assert nic_ips(vm) == [v4, ll, v6]


# ---------------------------------------------------------------- guest operations
def test_shutdown_guest_powers_off_after_the_guest_delay(vm):
    wait_until(lambda: vm.guest.ipAddress)
    guest_delay(vm, 1500)
    vm.ShutdownGuest()  # returns at once, as on vSphere
    assert vm.runtime.powerState == "poweredOn"
    assert vm.guest.guestState == "shuttingDown"
    wait_until(lambda: vm.runtime.powerState == "poweredOff")
    assert vm.summary.runtime.powerState == "poweredOff"
    assert vm.guest.toolsRunningStatus == "guestToolsNotRunning" and vm.guest.ipAddress is None


def test_standby_guest_suspends_after_the_guest_delay(vm):
    guest_delay(vm, 1500)
    vm.StandbyGuest()
    assert vm.runtime.powerState == "poweredOn"
    assert vm.guest.guestState == "standby"
    wait_until(lambda: vm.runtime.powerState == "suspended")
    assert vm.guest.toolsRunningStatus == "guestToolsNotRunning"


def test_reboot_guest_keeps_the_vm_on_and_brings_the_addresses_back(vm):
    wait_until(lambda: vm.guest.ipAddress)
    guest_delay(vm, 1500)
    boot = vm.summary.runtime.bootTime
    vm.RebootGuest()
    assert vm.runtime.powerState == "poweredOn"
    assert vm.guest.ipAddress is None  # the guest is rebooting
    assert vm.summary.runtime.bootTime > boot
    wait_until(lambda: vm.guest.ipAddress == expected_addresses(vm)[0])
    assert vm.runtime.powerState == "poweredOn"
    assert vm.guest.toolsRunningStatus == "guestToolsRunning"


def test_an_earlier_power_change_cancels_a_pending_shutdown(vm):
    guest_delay(vm, 1500)
    vm.ShutdownGuest()
    WaitForTask(vm.PowerOffVM_Task())
    WaitForTask(vm.PowerOnVM_Task())
    time.sleep(2.0)  # the shutdown's time has passed: it must not power the VM off now
    assert vm.runtime.powerState == "poweredOn"


GUEST_OPS = ["ShutdownGuest", "RebootGuest", "StandbyGuest"]


@pytest.mark.parametrize("op", GUEST_OPS)
def test_guest_operations_need_tools(vm, op):
    set_extra(vm, vcsim_guest_tools="none", vcsim_guest_delay="0")
    WaitForTask(vm.ResetVM_Task())
    assert vm.runtime.powerState == "poweredOn"
    assert vm.guest.toolsStatus == "toolsNotInstalled"
    assert vm.guest.toolsRunningStatus == "guestToolsNotRunning"
    assert vm.guest.ipAddress is None and nic_ips(vm) == []
    with pytest.raises(vim.fault.ToolsUnavailable):
        getattr(vm, op)()
    assert vm.runtime.powerState == "poweredOn"


@pytest.mark.parametrize(
    "state, op",
    # (poweredOff, ShutdownGuest) is not here: vcsim 0.24.2 refused that already
    [("poweredOff", "RebootGuest"), ("poweredOff", "StandbyGuest")] + [("suspended", op) for op in GUEST_OPS],
)
def test_guest_operations_need_a_powered_on_vm(vm, op, state):
    WaitForTask(vm.PowerOffVM_Task() if state == "poweredOff" else vm.SuspendVM_Task())
    with pytest.raises(vim.fault.InvalidPowerState) as err:
        getattr(vm, op)()
    assert err.value.existingState == state
    assert vm.runtime.powerState == state


# ---------------------------------------------------------------- RetrievePropertiesEx paging
def vm_names_spec(content) -> Any:
    view = content.viewManager.CreateContainerView(content.rootFolder, [vim.VirtualMachine], True)
    return PC.FilterSpec(
        objectSet=[
            PC.ObjectSpec(obj=view, skip=True, selectSet=[PC.TraversalSpec(type=vim.view.ContainerView, path="view")])
        ],
        propSet=[PC.PropertySpec(type=vim.VirtualMachine, pathSet=["name"])],
    )


def names(result) -> list[str]:
    return [p.val for oc in result.objects for p in oc.propSet]


@pytest.mark.parametrize("page", [1, 3])
def test_max_objects_pages_with_a_token(content, vms, page):
    pc = content.propertyCollector
    result = pc.RetrievePropertiesEx([vm_names_spec(content)], PC.RetrieveOptions(maxObjects=page))
    pages = [names(result)]
    while result.token:
        token = result.token
        result = pc.ContinueRetrievePropertiesEx(token=token)
        pages.append(names(result))
        with pytest.raises(vmodl.fault.InvalidArgument) as err:  # a token is good for one call
            pc.ContinueRetrievePropertiesEx(token=token)
        assert err.value.invalidProperty == "token"
    assert [len(p) for p in pages] == ([1, 1, 1, 1] if page == 1 else [3, 1])
    assert sorted(n for p in pages for n in p) == sorted(vm.name for vm in vms)


def test_cancel_drops_the_rest(content):
    pc = content.propertyCollector
    result = pc.RetrievePropertiesEx([vm_names_spec(content)], PC.RetrieveOptions(maxObjects=2))
    assert len(result.objects) == 2 and result.token
    pc.CancelRetrievePropertiesEx(token=result.token)
    for call in (pc.ContinueRetrievePropertiesEx, pc.CancelRetrievePropertiesEx):
        with pytest.raises(vmodl.fault.InvalidArgument):
            call(token=result.token)


def test_server_page_size_caps_every_page(vcsim_factory):
    server = vcsim_factory(pc_page_size=3)  # vcsim -pc-page-size 3: like a vCenter capping big answers
    content = server.connect().RetrieveContent()
    pc = content.propertyCollector
    first = pc.RetrievePropertiesEx([vm_names_spec(content)], PC.RetrieveOptions(maxObjects=100000))
    assert len(first.objects) == 3 and first.token
    rest = pc.ContinueRetrievePropertiesEx(token=first.token)
    assert len(rest.objects) == 1 and not rest.token
    smaller = pc.RetrievePropertiesEx([vm_names_spec(content)], PC.RetrieveOptions(maxObjects=2))
    assert len(smaller.objects) == 2  # the smaller of the two limits
    # RetrieveProperties (no paging in the API) and pyvmomi's Fetch still answer in one piece
    assert len(pc.RetrieveProperties([vm_names_spec(content)])) == 4
    view = content.viewManager.CreateContainerView(content.rootFolder, [vim.VirtualMachine], True)
    assert len(view.view) == 4
    assert server.panics() == []
