"""xen_vm paths that the stricter simulator (tests/simulators/xapi/FIDELITY.md) forced to change."""

from __future__ import annotations

import pytest
from xen_state import mutating_calls, one_vm, pool, vm_disks, vms_named

GiB = 1024**3
TEMPLATE = "Debian Bookworm 12"


def xen_vm(**params):
    return {"virtops.compute.xen_vm": params}


def sr_named(state, name):
    found = [(ref, r) for ref, r in state["SR"].items() if r["name_label"] == name]
    assert found, name
    return found[0]


def test_create_from_stock_template_rewrites_the_disks_xml_with_the_default_sr(xapi, playbook):
    state = pool(xapi.control)
    tmpl = one_vm(state, TEMPLATE)
    assert 'sr=""' in tmpl["other_config"]["disks"]  # a stock template: VM.provision alone would fail
    default_sr = state["pool"][next(iter(state["pool"]))]["default_SR"]
    xapi.control.reset_calls()
    run = playbook([xen_vm(name="app-01", template=TEMPLATE)])
    assert run.rc == 0, run.stdout
    calls = xapi.control.calls()
    assert calls["VM.remove_from_other_config"] == 1 and calls["VM.add_to_other_config"] == 1
    assert calls["Async.VM.provision"] == 1
    state = pool(xapi.control)
    vm = one_vm(state, "app-01")
    assert not vm["is_a_template"] and "disks" not in vm["other_config"]
    (vdi,) = list(vm_disks(state, vm).values())
    assert vdi["SR"] == default_sr and vdi["name_label"] == "0" and vdi["type"] == "system"
    assert vdi["_vbd"]["unpluggable"] is False and vdi["_vbd"]["other_config"] == {"owner": ""}
    # the template itself is untouched
    assert one_vm(pool(xapi.control), TEMPLATE)["other_config"]["disks"] == tmpl["other_config"]["disks"]


def test_create_with_sr_provisions_every_template_disk_there(xapi, playbook):
    state = pool(xapi.control)
    ext_ref, ext = sr_named(state, "Local EXT storage")
    run = playbook([xen_vm(name="app-02", template=TEMPLATE, sr=ext["uuid"])])
    assert run.rc == 0, run.stdout
    state = pool(xapi.control)
    (vdi,) = list(vm_disks(state, one_vm(state, "app-02")).values())
    assert vdi["SR"] == ext_ref
    disk = run.result()["vm"]["disks"][0]
    assert disk["sr_uuid"] == ext["uuid"] and disk["name"] == "0"


def test_check_mode_predicts_xapi_naming_of_provisioned_disks(xapi, playbook):
    task = xen_vm(name="app-03", template=TEMPLATE, disks=[{"userdevice": 0, "size": "12GiB"}])
    before = xapi.control.state_hash()
    xapi.control.reset_calls()
    check = playbook([task], check=True)
    assert check.rc == 0, check.stdout
    assert xapi.control.state_hash() == before and mutating_calls(xapi.control.calls()) == {}
    predicted = check.result()["vm"]["disks"]
    real = playbook([task]).result()["vm"]["disks"]
    keys = ("userdevice", "name", "size", "sr", "sr_uuid", "type", "mode", "bootable")
    assert [{k: d[k] for k in keys} for d in predicted] == [{k: d[k] for k in keys} for d in real]
    assert real[0]["name"] == "0" and real[0]["size"] == 12 * GiB


def test_pool_without_default_sr_fails_naming_the_sr_option(xapi, playbook):
    s = xapi.session()
    try:
        pool_ref = s.xenapi.pool.get_all()[0]
        s.xenapi.pool.set_default_SR(pool_ref, "OpaqueRef:NULL")
    finally:
        s.xenapi.session.logout()
    before = xapi.control.state_hash()
    xapi.control.reset_calls()
    run = playbook([xen_vm(name="app-04", template=TEMPLATE)])
    assert run.rc != 0
    msg = run.result()["msg"]
    assert msg.startswith("sr:") and "the pool has no default SR; give sr" in msg, msg
    assert "template 'Debian Bookworm 12' has disk 0 without a usable SR (sr='')" in msg
    assert xapi.control.state_hash() == before and mutating_calls(xapi.control.calls()) == {}
    assert vms_named(pool(xapi.control), "app-04") == []


def test_growing_a_disk_of_a_running_vm_needs_a_halt_where_the_sr_cannot_resize_online(xapi, playbook):
    state = pool(xapi.control)
    web = one_vm(state, "web-01")
    (vdi,) = list(vm_disks(state, web).values())
    assert "resize_online" not in vdi["allowed_operations"]  # NFS: no VDI_RESIZE_ONLINE
    task = xen_vm(name="web-01", disks=[{"userdevice": 0, "size": "15GiB"}])
    before = xapi.control.state_hash()
    run = playbook([task])
    assert run.rc != 0
    msg = run.result()["msg"]
    assert "these changes need the VM to be halted: grow disk 0 10GiB -> 15GiB" in msg, msg
    assert "SR 'Shared storage' cannot resize a disk in use" in msg and "allow_power_cycling" in msg
    assert xapi.control.state_hash() == before
    xapi.control.reset_calls()
    task["virtops.compute.xen_vm"]["allow_power_cycling"] = True
    run = playbook([task])
    assert run.rc == 0, run.stdout
    calls = xapi.control.calls()
    assert calls.get("VDI.resize") == 1 and "VDI.resize_online" not in calls
    state = pool(xapi.control)
    web = one_vm(state, "web-01")
    assert web["power_state"] == "Running"
    assert int(next(iter(vm_disks(state, web).values()))["virtual_size"]) == 15 * GiB


@pytest.mark.parametrize(
    "change,desc",
    [
        ({"disks": [{"userdevice": 0, "size": "8GiB"}, {"userdevice": 1, "size": "1GiB"}]}, "add disk 1"),
        (
            {
                "networks": [
                    {"device": 0, "network": "Pool-wide network associated with eth0"},
                    {"device": 1, "network": "Pool-wide network associated with eth1"},
                ]
            },
            "add NIC 1",
        ),
    ],
    ids=["disk", "nic"],
)
def test_no_hotplug_on_a_guest_without_pv_drivers(xapi, playbook, change, desc):
    before = xapi.control.state_hash()
    run = playbook([xen_vm(name="legacy-01", **change)])
    assert run.rc != 0
    msg = run.result()["msg"]
    assert "these changes need the VM to be halted: %s" % desc in msg, msg
    assert "(the guest has no PV drivers, so no hot-plug)" in msg
    assert xapi.control.state_hash() == before
    run = playbook([xen_vm(name="legacy-01", allow_power_cycling=True, **change)])
    assert run.rc == 0, run.stdout
    state = pool(xapi.control)
    vm = one_vm(state, "legacy-01")
    assert vm["power_state"] == "Running"
    assert len(vm["VBDs"]) + len(vm["VIFs"]) == 3
