"""vmware_vm through ansible-playbook against vcsim: vcsim's state, read with pyvmomi, is the oracle."""

from __future__ import annotations

from typing import Any

from pyVmomi import vim, vmodl

PC = vmodl.query.PropertyCollector
PATHS = [
    "name",
    "config.hardware",
    "config.extraConfig",
    "config.annotation",
    "runtime.powerState",
    "config.cpuHotAddEnabled",
    "config.memoryHotAddEnabled",
    "parent",
]


def all_vms(si: Any) -> dict[str, dict[str, Any]]:
    """``{name: {path: value}}`` for every VM, in one property-collector read."""
    content = si.RetrieveContent()
    view = content.viewManager.CreateContainerView(content.rootFolder, [vim.VirtualMachine], True)
    try:
        spec = PC.FilterSpec(
            objectSet=[
                PC.ObjectSpec(
                    obj=view,
                    skip=True,
                    selectSet=[PC.TraversalSpec(name="v", path="view", skip=False, type=vim.view.ContainerView)],
                )
            ],
            propSet=[PC.PropertySpec(type=vim.VirtualMachine, pathSet=PATHS)],
        )
        result = content.propertyCollector.RetrievePropertiesEx([spec], PC.RetrieveOptions())
        out = {}
        for oc in result.objects:
            props = {p.name: p.val for p in oc.propSet}
            props["moid"] = oc.obj._moId
            out[props["name"]] = props
        return out
    finally:
        view.DestroyView()


def device_summary(dev: Any) -> tuple:
    kind = type(dev).__name__.rsplit(".", 1)[-1]
    backing = getattr(dev, "backing", None)
    fields = [kind, dev.key, getattr(dev, "controllerKey", None), getattr(dev, "unitNumber", None)]
    if isinstance(dev, vim.vm.device.VirtualDisk):
        fields += [dev.capacityInKB, backing.fileName, bool(backing.thinProvisioned)]
    if isinstance(dev, vim.vm.device.VirtualEthernetCard):
        port = getattr(backing, "port", None)
        fields += [dev.macAddress, getattr(backing, "deviceName", None), getattr(port, "portgroupKey", None)]
    if isinstance(dev, vim.vm.device.VirtualCdrom):
        fields += [type(backing).__name__, getattr(backing, "fileName", None)]
    return tuple(fields)


def vcsim_state(si: Any) -> tuple:
    """A hashable dump of every VM's configuration and power state."""
    rows = []
    for name, p in sorted(all_vms(si).items()):
        hw = p["config.hardware"]
        rows.append(
            (
                name,
                p["moid"],
                p["runtime.powerState"],
                hw.numCPU,
                hw.numCoresPerSocket,
                hw.memoryMB,
                p.get("config.annotation"),
                bool(p.get("config.cpuHotAddEnabled")),
                tuple(sorted((o.key, str(o.value)) for o in p.get("config.extraConfig") or [])),
                tuple(sorted(device_summary(d) for d in hw.device)),
            )
        )
    return tuple(rows)


def vm_devices(props: dict[str, Any], klass: Any) -> list[Any]:
    return [d for d in props["config.hardware"].device if isinstance(d, klass)]


def disks_by_unit(props: dict[str, Any]) -> dict[tuple[int, int], int]:
    """``{(bus, unit): size_bytes}`` of the VM's SCSI disks."""
    ctrls = {d.key: d for d in props["config.hardware"].device if isinstance(d, vim.vm.device.VirtualSCSIController)}
    return {
        (ctrls[d.controllerKey].busNumber, d.unitNumber): d.capacityInKB * 1024
        for d in vm_devices(props, vim.vm.device.VirtualDisk)
        if d.controllerKey in ctrls
    }


# ----------------------------------------------------------------------------- helpers
import time

import pytest
from playbook_runner import run_playbook

GiB = 1024**3
# connect = RetrieveServiceContent + Login (measured in test_empty_connect_costs_two_calls_and_logout_one)
CONNECT_CALLS = 2


def vm_task(module="vmware_vm", **params):
    return {"virtops.compute.%s" % module: params}


def play(vcsim, tasks, **kwargs):
    """ansible-playbook with the connection in VMWARE_* environment variables (the options' env fallbacks)."""
    return run_playbook(tasks if isinstance(tasks, list) else [tasks], env=vcsim.env(), **kwargs)


def new_vm(**extra):
    params = {
        "name": "app-01",
        "cluster": "DC0_C0",
        "hardware": {"num_cpus": 2, "memory": "1GiB"},
        "disks": [{"unit_number": 0, "size": "2GiB"}, {"unit_number": 1, "size": "1GiB", "provisioning": "thick"}],
        "networks": [
            {"device": 0, "portgroup": "VM Network"},
            {"device": 1, "portgroup": "DC0_DVPG0", "mac": "00:50:56:01:02:03"},
        ],
        "annotation": "made by virtops",
        "extra_config": {"virtops.test": "1"},
    }
    params.update(extra)
    return vm_task(**params)


# ----------------------------------------------------------------------------- round trips
@pytest.mark.vcsim(trace=True)
def test_empty_connect_costs_two_calls_and_logout_one(vcsim):
    from ansible_collections.virtops.compute.plugins.module_utils._vsphere.client import VSphereClient

    mark = vcsim.trace_mark()
    client = VSphereClient.connect(vcsim.host, vcsim.username, vcsim.password, vcsim.port, validate_certs=False)
    assert vcsim.trace_calls(mark) == ["RetrieveServiceContent", "Login"]
    mark = vcsim.trace_mark()
    client.close()
    assert vcsim.trace_calls(mark) == ["Logout"]


@pytest.mark.vcsim(trace=True)
def test_noop_run_costs_four_calls_after_connect(vcsim, si):
    """Whole module run minus the fixed connect calls: view + names + VM state + Logout."""
    assert play(vcsim, new_vm()).rc == 0
    mark = vcsim.trace_mark()
    run = play(vcsim, new_vm())
    assert run.rc == 0 and run.result()["changed"] is False, run.result()
    calls = vcsim.trace_calls(mark)
    assert calls[:CONNECT_CALLS] == ["RetrieveServiceContent", "Login"]
    after_connect = calls[CONNECT_CALLS:]
    assert after_connect == ["CreateContainerView", "RetrievePropertiesEx", "RetrievePropertiesEx", "Logout"], calls
    assert len(after_connect) <= 4 and "Fetch" not in calls


@pytest.fixture(scope="module")
def big_vcsim(vcsim_session_factory):
    return vcsim_session_factory(trace=True, vm=2500)  # 2 pools x 2,500 = 5,000 VMs


@pytest.mark.vcsim(trace=True, vm=5)
def test_lookup_by_name_costs_the_same_at_10_and_5000_vms(vcsim, big_vcsim):
    counts = {}
    for server, name in ((vcsim, "DC0_C0_RP0_VM3"), (big_vcsim, "DC0_C0_RP0_VM2499")):
        n = len(_all_vm_names(server))
        mark = server.trace_mark()
        run = play(server, vm_task("vmware_vm_info", name=name))
        assert run.rc == 0 and run.result()["vm"]["name"] == name, run.stdout
        counts[n] = server.call_counter(mark)
    assert sorted(counts) == [10, 5000]
    assert counts[10] == counts[5000], counts
    assert sum(counts[10].values()) - CONNECT_CALLS == 4  # view + names + VM + Logout


def _all_vm_names(server):
    si = server.connect()
    return all_vms(si)


# ----------------------------------------------------------------------------- create / idempotence
def test_create_check_mode_then_create_then_idempotent(vcsim, si):
    before = vcsim_state(si)
    checked = play(vcsim, new_vm(power_state="running"), check=True, diff=True)
    assert checked.rc == 0 and checked.result()["changed"] is True, checked.stdout
    assert vcsim_state(si) == before  # check mode never mutates
    predicted = checked.result()["vm"]
    ops = [c["operation"] for c in checked.result()["changes"]]
    assert ops[0] == "create" and ops[-1] == "power_on" and ops.count("add_disk") == 2

    run = play(vcsim, new_vm(power_state="running"), diff=True)
    assert run.rc == 0 and run.result()["changed"] is True, run.stdout
    vm = all_vms(si)["app-01"]
    hw = vm["config.hardware"]
    assert (hw.numCPU, hw.memoryMB, vm["runtime.powerState"]) == (2, 1024, "poweredOn")
    assert disks_by_unit(vm) == {(0, 0): 2 * GiB, (0, 1): 1 * GiB}
    nics = sorted(vm_devices(vm, vim.vm.device.VirtualEthernetCard), key=lambda d: d.key)
    assert [type(n).__name__.rsplit(".", 1)[-1] for n in nics] == ["VirtualVmxnet3", "VirtualVmxnet3"]
    assert nics[0].backing.deviceName == "VM Network" and nics[1].backing.port.portgroupKey == "dvportgroup-13"
    assert nics[1].macAddress == "00:50:56:01:02:03"
    assert vm["config.annotation"] == "made by virtops"
    # the prediction of check mode matches what was made (but for ids)
    made = run.result()["vm"]
    for key in ("name", "power_state", "annotation", "folder"):
        assert predicted[key] == made[key], key
    for key in ("num_cpus", "cores_per_socket", "memory_mib", "cpu_hot_add", "memory_hot_add"):
        assert predicted["hardware"][key] == made["hardware"][key], key  # version/firmware: the server picks
    assert [(d["controller_bus"], d["unit_number"], d["size"], d["provisioning"]) for d in predicted["disks"]] == [
        (d["controller_bus"], d["unit_number"], d["size"], d["provisioning"]) for d in made["disks"]
    ]
    assert run.result()["diff"]["before"] == {}

    state = vcsim_state(si)
    again = play(vcsim, new_vm(power_state="running"))
    assert again.rc == 0 and again.result()["changed"] is False, again.result()["changes"]
    assert vcsim_state(si) == state


def test_clone_from_vm_with_cloud_init_and_cdrom(vcsim, si):
    task = vm_task(
        name="clone-01",
        template="DC0_H0_VM0",
        hardware={"memory": "64MiB"},
        cloud_init={"user_data": "#cloud-config\nhostname: clone-01\n", "network_config": {"version": 2}},
        cdrom={"iso": ""},
        power_state="halted",
    )
    run = play(vcsim, task)
    assert run.rc == 0, run.stdout
    assert run.result()["changes"][0]["operation"] == "clone"
    vm = all_vms(si)["clone-01"]
    assert vm["config.hardware"].memoryMB == 64 and vm["runtime.powerState"] == "poweredOff"
    ec = {o.key: o.value for o in vm["config.extraConfig"]}
    import base64
    import json

    assert base64.b64decode(ec["guestinfo.userdata"]).decode() == "#cloud-config\nhostname: clone-01\n"
    assert ec["guestinfo.userdata.encoding"] == "base64" and ec["guestinfo.metadata.encoding"] == "base64"
    meta = json.loads(base64.b64decode(ec["guestinfo.metadata"]))
    assert meta["instance-id"] == "clone-01" and meta["network.encoding"] == "base64"
    assert all_vms(si)["DC0_H0_VM0"]["config.hardware"].memoryMB == 32  # the source is untouched
    assert play(vcsim, task).result()["changed"] is False


def test_failed_configure_after_create_leaves_no_vm(vcsim, si):
    """The power-on after the clone fails (connection dropped by a fault proxy): the new VM is rolled back."""
    import os
    import sys

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "reliability"))
    from vsphere_fault_proxy import VSphereFaultProxy

    before = vcsim_state(si)
    with VSphereFaultProxy("127.0.0.1", vcsim.port) as proxy:
        proxy.drop("PowerOnVM_Task", count=5)
        env = dict(vcsim.env(), VMWARE_PORT=str(proxy.port), VMWARE_CA_PATH=proxy.ca, VMWARE_VALIDATE_CERTS="true")
        run = run_playbook([new_vm(name="doomed", power_state="running")], env=env)
        assert proxy.calls["PowerOnVM_Task"] >= 1
    assert run.rc != 0
    res = run.result()
    assert res["failed_step"] == "power_on", res
    assert "rolled back" in res["msg"], res
    assert "doomed" not in all_vms(si)
    assert vcsim_state(si) == before


# ----------------------------------------------------------------------------- updates
def test_grow_disk_add_disk_extra_config_diff_and_check(vcsim, si):
    assert play(vcsim, new_vm()).rc == 0
    task = new_vm(
        disks=[
            {"unit_number": 0, "size": "3GiB"},
            {"unit_number": 1, "size": "1GiB"},
            {"unit_number": 2, "size": "512MiB"},
        ],
        extra_config={"virtops.test": "2"},
    )
    before = vcsim_state(si)
    checked = play(vcsim, task, check=True, diff=True)
    assert checked.rc == 0 and checked.result()["changed"] is True
    assert vcsim_state(si) == before
    diff = checked.result()["diff"]
    assert diff["before"]["extra_config"]["virtops.test"] == "1"
    assert diff["after"]["extra_config"]["virtops.test"] == "2"
    # ansible-playbook --diff renders the change for the user: both sides of the changed key are shown
    assert "--- before" in checked.stdout and "+++ after" in checked.stdout, checked.stdout[-3000:]
    assert '-        "virtops.test": "1"' in checked.stdout, checked.stdout[-3000:]
    assert '+        "virtops.test": "2"' in checked.stdout, checked.stdout[-3000:]
    run = play(vcsim, task, diff=True)
    assert run.rc == 0 and run.result()["changed"] is True
    ops = [c["operation"] for c in run.result()["changes"]]
    assert ops == ["set_extra_config", "grow_disk", "add_disk", "reconfigure"], ops
    vm = all_vms(si)["app-01"]
    assert disks_by_unit(vm) == {(0, 0): 3 * GiB, (0, 1): GiB, (0, 2): 512 * 1024**2}
    assert {o.key: o.value for o in vm["config.extraConfig"]}["virtops.test"] == "2"
    assert play(vcsim, task).result()["changed"] is False


def test_remove_unmanaged_disks_and_networks(vcsim, si):
    assert play(vcsim, new_vm()).rc == 0
    task = new_vm(
        disks=[{"unit_number": 0, "size": "2GiB"}],
        remove_unmanaged_disks=True,
        networks=[{"device": 0, "portgroup": "DC0_DVPG0"}],
        remove_unmanaged_networks=True,
    )
    run = play(vcsim, task)
    assert run.rc == 0, run.stdout
    vm = all_vms(si)["app-01"]
    assert disks_by_unit(vm) == {(0, 0): 2 * GiB}
    nics = vm_devices(vm, vim.vm.device.VirtualEthernetCard)
    assert len(nics) == 1 and nics[0].backing.port.portgroupKey == "dvportgroup-13"
    assert play(vcsim, task).result()["changed"] is False


def test_running_vm_needs_halt_unless_allowed(vcsim, si):
    assert play(vcsim, new_vm(power_state="running")).rc == 0
    before = vcsim_state(si)
    task = new_vm(hardware={"num_cpus": 4, "memory": "2GiB"})
    run = play(vcsim, task)
    assert run.rc != 0
    res = run.result()
    assert res["error_code"] == "NEEDS_HALT" and "CPUs 2 -> 4" in res["msg"] and "memory" in res["msg"], res
    assert vcsim_state(si) == before
    run = play(vcsim, new_vm(hardware={"num_cpus": 4, "memory": "2GiB"}, allow_power_cycling=True, shutdown_timeout=5))
    assert run.rc == 0, run.stdout
    ops = [c["operation"] for c in run.result()["changes"]]
    assert ops[0] == "power_off" and ops[-1] == "power_on"
    vm = all_vms(si)["app-01"]
    assert (vm["config.hardware"].numCPU, vm["config.hardware"].memoryMB) == (4, 2048)
    assert vm["runtime.powerState"] == "poweredOn"


def test_every_power_state_and_idempotence(vcsim, si):
    assert play(vcsim, new_vm()).rc == 0
    expected = {"running": "poweredOn", "suspended": "suspended", "halted": "poweredOff"}
    for target in ("running", "suspended", "running", "halted", "suspended", "halted"):
        run = play(vcsim, new_vm(power_state=target, shutdown_timeout=2))
        assert run.rc == 0 and run.result()["changed"] is True, (target, run.stdout)
        assert all_vms(si)["app-01"]["runtime.powerState"] == expected[target]
        assert run.result()["vm"]["power_state"] == target
        again = play(vcsim, new_vm(power_state=target))
        assert again.result()["changed"] is False, target


def test_absent_check_mode_then_destroy_then_idempotent(vcsim, si):
    assert play(vcsim, new_vm(power_state="running")).rc == 0
    before = vcsim_state(si)
    checked = play(vcsim, vm_task(name="app-01", state="absent"), check=True, diff=True)
    assert checked.rc == 0 and checked.result()["changed"] is True
    assert checked.result()["diff"]["after"] == {} and checked.result()["vm"] == {}
    assert vcsim_state(si) == before
    run = play(vcsim, vm_task(name="app-01", state="absent", shutdown_timeout=2))
    assert run.rc == 0 and run.result()["changed"] is True
    assert "app-01" not in all_vms(si)
    assert play(vcsim, vm_task(name="app-01", state="absent")).result()["changed"] is False


def test_find_by_uuid_and_moid(vcsim, si):
    vm = all_vms(si)["DC0_H0_VM1"]
    obj = si.content.searchIndex.FindByInventoryPath("DC0/vm/DC0_H0_VM1")
    ids = {"uuid": obj.config.uuid, "instance_uuid": obj.config.instanceUuid}
    run = play(vcsim, vm_task("vmware_vm_info", moid=vm["moid"]))
    assert run.rc == 0 and run.result()["vm"]["name"] == "DC0_H0_VM1"
    facts = run.result()["vm"]
    assert {k: facts[k] for k in ids} == ids
    for key in ("uuid", "instance_uuid"):
        res = play(vcsim, vm_task(uuid=ids[key], annotation="by " + key)).result()
        assert res["changed"] is True, res
        assert res["vm"]["name"] == "DC0_H0_VM1" and res["vm"]["annotation"] == "by " + key
        assert all_vms(si)["DC0_H0_VM1"]["config.annotation"] == "by " + key
    assert [n for n, p in all_vms(si).items() if str(p.get("config.annotation", "")).startswith("by ")] == [
        "DC0_H0_VM1"
    ]


def test_wait_for_ip_is_bounded(vcsim):
    assert play(vcsim, new_vm(power_state="running")).rc == 0
    started = time.monotonic()
    # the guest reports 10.x addresses (vcsim patch 0002), never one in 192.0.2.0/24
    run = play(vcsim, new_vm(power_state="running", wait_for_ip={"timeout": 2, "cidr": "192.0.2.0/24"}))
    assert run.rc != 0 and run.result()["error_code"] == "TASK_TIMEOUT", run.result()
    assert "IPv4 address in 192.0.2.0/24" in run.result()["msg"]
    assert time.monotonic() - started < 30


def test_certificate_is_verified_by_default(vcsim):
    env = dict(vcsim.env())
    env.pop("VMWARE_VALIDATE_CERTS")
    run = run_playbook([vm_task("vmware_vm_info", name="DC0_H0_VM0")], env=env)
    assert run.rc != 0
    assert run.result()["error_code"] == "CERTIFICATE_VERIFY_FAILED", run.result()


# ----------------------------------------------------------------------------- bad input, before any change
BAD = [
    (dict(template="no-such-template"), "template"),
    (dict(datastore="no-such-ds"), "datastore"),
    (dict(networks=[{"device": 0, "portgroup": "no-such-pg"}]), "networks[0].portgroup"),
    (dict(disks=[{"unit_number": 0, "size": "2GiB"}, {"unit_number": 0, "size": "1GiB"}]), "disks[1].unit_number"),
    (dict(disks=[{"unit_number": 7, "size": "2GiB"}]), "disks[0].unit_number"),
    (dict(disks=[{"unit_number": 0, "size": "2 GiBs"}]), "disks[0].size"),
    (dict(hardware={"memory": "1 gigs"}), "hardware.memory"),
    (dict(networks=[{"device": 0, "portgroup": "VM Network", "mac": "00:50:56:zz:00:01"}]), "networks[0].mac"),
    (dict(cdrom={"iso": "debian.iso"}), "cdrom.iso"),
    (dict(cluster="no-such-cluster"), "cluster"),
    (dict(networks=[{"device": 3, "portgroup": "VM Network"}]), "networks[0].device"),
]


@pytest.mark.parametrize(("params", "param"), BAD, ids=[b[1] for b in BAD])
def test_bad_input_is_rejected_before_any_change(vcsim, si, params, param):
    before = vcsim_state(si)
    run = play(vcsim, new_vm(**params))
    assert run.rc != 0
    res = run.result()
    assert res["error_code"] == "INVALID_INPUT" and res["param"] == param and param in res["msg"], res
    assert vcsim_state(si) == before


def test_shrink_is_rejected_on_an_existing_vm(vcsim, si):
    assert play(vcsim, new_vm()).rc == 0
    before = vcsim_state(si)
    run = play(vcsim, new_vm(disks=[{"unit_number": 0, "size": "1GiB"}]))
    res = run.result()
    assert run.rc != 0 and res["param"] == "disks[0].size" and "shrinking" in res["msg"], res
    assert vcsim_state(si) == before
