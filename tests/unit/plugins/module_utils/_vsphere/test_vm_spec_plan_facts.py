"""Pure logic of the vSphere side: spec parsing, planning on recorded property dicts, facts."""

from __future__ import annotations

import base64
import json

import pytest
from pyVmomi import vim

from ansible_collections.virtops.compute.plugins.module_utils._common.errors import InvalidInput, NeedsHalt
from ansible_collections.virtops.compute.plugins.module_utils._vsphere.facts import snapshot_tree, vm_facts
from ansible_collections.virtops.compute.plugins.module_utils._vsphere.lookup import Inventory
from ansible_collections.virtops.compute.plugins.module_utils._vsphere.vm_plan import VMPlanner
from ansible_collections.virtops.compute.plugins.module_utils._vsphere.vm_spec import cloud_init_keys, parse_spec

GiB = 1024**3


# ---------------------------------------------------------------- a recorded VM (shape of vcsim's DC0_H0_VM0)
def recorded_inventory():
    root, dc, vmf, ds, net = (
        vim.Folder("group-d1"),
        vim.Datacenter("datacenter-2"),
        vim.Folder("folder-3"),
        vim.Datastore("ds-1"),
        vim.Network("network-7"),
    )
    pg, dvs = vim.dvs.DistributedVirtualPortgroup("dvportgroup-13"), vim.DistributedVirtualSwitch("dvs-9")
    vm = vim.VirtualMachine("vm-57")
    found = {
        "group-d1": (root, {"name": "Datacenters"}),
        "datacenter-2": (dc, {"name": "DC0", "parent": root, "vmFolder": vmf}),
        "folder-3": (vmf, {"name": "vm", "parent": dc}),
        "ds-1": (ds, {"name": "LocalDS_0", "parent": dc}),
        "network-7": (net, {"name": "VM Network", "parent": dc}),
        "dvportgroup-13": (
            pg,
            {"name": "DC0_DVPG0", "parent": dc, "key": "dvportgroup-13", "config.distributedVirtualSwitch": dvs},
        ),
        "dvs-9": (dvs, {"name": "DVS0", "parent": dc, "uuid": "fea9"}),
        "vm-57": (vm, {"name": "web", "parent": vmf, "config.template": False}),
    }
    return Inventory(found), vm


def recorded_props(power="poweredOff", cpu_hot=False):
    ctrl = vim.vm.device.ParaVirtualSCSIController(key=1000, busNumber=0)
    ide = vim.vm.device.VirtualIDEController(key=200, busNumber=0)
    disk = vim.vm.device.VirtualDisk(
        key=2000,
        controllerKey=1000,
        unitNumber=0,
        capacityInKB=2 * GiB // 1024,
        backing=vim.vm.device.VirtualDisk.FlatVer2BackingInfo(
            fileName="[LocalDS_0] web/web.vmdk", thinProvisioned=True, diskMode="persistent"
        ),
    )
    nic = vim.vm.device.VirtualVmxnet3(
        key=4000,
        macAddress="00:50:56:00:00:01",
        addressType="generated",
        backing=vim.vm.device.VirtualEthernetCard.NetworkBackingInfo(
            deviceName="VM Network", network=vim.Network("network-7")
        ),
        connectable=vim.vm.device.VirtualDevice.ConnectInfo(connected=True, startConnected=True),
    )
    hw = vim.vm.VirtualHardware(numCPU=2, numCoresPerSocket=1, memoryMB=1024, device=[ctrl, ide, disk, nic])
    return {
        "name": "web",
        "parent": vim.Folder("folder-3"),
        "config.hardware": hw,
        "runtime.powerState": power,
        "config.cpuHotAddEnabled": cpu_hot,
        "config.memoryHotAddEnabled": False,
        "config.extraConfig": [vim.option.OptionValue(key="a", value="1")],
        "config.files.vmPathName": "[LocalDS_0] web/web.vmx",
        "datastore": [vim.Datastore("ds-1")],
    }


def plan(params, power="poweredOff", cpu_hot=False):
    inv, vm = recorded_inventory()
    spec = parse_spec(dict({"name": "web"}, **params))
    return VMPlanner(None, spec, inv, vm, recorded_props(power, cpu_hot)).plan()


# ---------------------------------------------------------------- spec
@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"hardware": {"num_cpus": 3, "cores_per_socket": 2}}, "hardware.cores_per_socket"),
        ({"hardware": {"memory": "1001MiB"}}, "hardware.memory"),
        ({"hardware": {"memory": "1 XB"}}, "hardware.memory"),
        ({"disks": [{"unit_number": 7, "size": 1}]}, "disks[0].unit_number"),
        ({"disks": [{"unit_number": 1, "size": 1}, {"unit_number": 1, "size": 2}]}, "disks[1].unit_number"),
        ({"disks": [{"controller_bus": 4, "unit_number": 1}]}, "disks[0].controller_bus"),
        ({"networks": [{"device": 0, "portgroup": "x", "mac": "01:00:5e:00:00:01"}]}, "networks[0].mac"),
        ({"networks": [{"device": 0, "portgroup": "x"}, {"device": 0, "portgroup": "y"}]}, "networks[1].device"),
        ({"cdrom": {"iso": "no-brackets.iso"}}, "cdrom.iso"),
        ({"state": "absent", "power_state": "running"}, "power_state"),
        ({"cloud_init": {}}, "cloud_init"),
        ({"wait_for_ip": {"cidr": "300.1.1.0/24", "timeout": 5}}, "wait_for_ip.cidr"),
    ],
)
def test_bad_params_name_the_parameter(params, param):
    with pytest.raises(InvalidInput) as err:
        parse_spec(dict({"name": "web"}, **params))
    assert err.value.param == param


def test_cloud_init_keys_are_base64_and_stable():
    keys = cloud_init_keys({"user_data": "#cloud-config\n", "meta_data": {"x": 1}}, "web")
    assert keys == cloud_init_keys({"user_data": "#cloud-config\n", "meta_data": {"x": 1}}, "web")
    assert base64.b64decode(keys["guestinfo.userdata"]) == b"#cloud-config\n"
    meta = json.loads(base64.b64decode(keys["guestinfo.metadata"]))
    assert meta == {"x": 1, "instance-id": "web", "local-hostname": "web"}
    assert keys["guestinfo.metadata.encoding"] == keys["guestinfo.userdata.encoding"] == "base64"


# ---------------------------------------------------------------- plan
def test_noop_plan_is_empty():
    cs = plan(
        {
            "hardware": {"num_cpus": 2, "memory": "1GiB"},
            "disks": [{"unit_number": 0, "size": "2GiB"}],
            "networks": [{"device": 0, "portgroup": "VM Network"}],
            "extra_config": {"a": "1"},
        }
    )
    assert cs.operations == [] and cs.before == cs.after


@pytest.mark.parametrize(
    ("params", "ops"),
    [
        ({"hardware": {"num_cpus": 4}}, ["set_cpus", "reconfigure"]),
        ({"disks": [{"unit_number": 0, "size": "3GiB"}]}, ["grow_disk", "reconfigure"]),
        ({"disks": [{"unit_number": 1, "size": "1GiB"}]}, ["add_disk", "reconfigure"]),
        (
            {"disks": [{"controller_bus": 1, "unit_number": 0, "size": "1GiB"}]},
            ["add_controller", "add_disk", "reconfigure"],
        ),
        ({"networks": [{"device": 0, "portgroup": "DC0_DVPG0"}]}, ["edit_nic", "reconfigure"]),
        (
            {"networks": [{"device": 0, "portgroup": "VM Network"}, {"device": 1, "portgroup": "DC0_DVPG0"}]},
            ["add_nic", "reconfigure"],
        ),
        ({"extra_config": {"a": ""}}, ["set_extra_config", "reconfigure"]),
        ({"cdrom": {"iso": "[LocalDS_0] x.iso"}}, ["set_cdrom", "reconfigure"]),
        ({"power_state": "running"}, ["power_on"]),
    ],
)
def test_plan_operations(params, ops):
    cs = plan(params)
    assert [op.name for op in cs.operations] == ops


def test_plan_predicts_after():
    cs = plan(
        {
            "disks": [{"unit_number": 0, "size": "3GiB"}],
            "extra_config": {"a": "", "b": "2"},
            "networks": [{"device": 0, "portgroup": "DC0_DVPG0"}],
        }
    )
    assert cs.after["disks"][0]["size"] == 3 * GiB and cs.before["disks"][0]["size"] == 2 * GiB
    assert cs.after["extra_config"] == {"b": "2"}
    assert cs.after["networks"][0]["portgroup"] == "DC0_DVPG0"


def test_plan_rejects_shrink_and_new_nic_gap():
    with pytest.raises(InvalidInput) as err:
        plan({"disks": [{"unit_number": 0, "size": "1GiB"}]})
    assert err.value.param == "disks[0].size"
    with pytest.raises(InvalidInput) as err:
        plan({"networks": [{"device": 2, "portgroup": "VM Network"}]})
    assert err.value.param == "networks[0].device"
    with pytest.raises(InvalidInput) as err:
        plan({"networks": [{"device": 0, "portgroup": "nope"}]})
    assert err.value.param == "networks[0].portgroup"


def test_running_vm_needs_halt_for_cpu_without_hot_add_but_not_with_it():
    with pytest.raises(NeedsHalt) as err:
        plan({"hardware": {"num_cpus": 4}}, power="poweredOn")
    assert err.value.changes == ["CPUs 2 -> 4"]
    assert [op.name for op in plan({"hardware": {"num_cpus": 4}}, power="poweredOn", cpu_hot=True).operations] == [
        "set_cpus",
        "reconfigure",
    ]
    cycled = plan({"hardware": {"num_cpus": 4}, "allow_power_cycling": True}, power="poweredOn")
    assert [op.name for op in cycled.operations] == ["power_off", "set_cpus", "reconfigure", "power_on"]
    halted = plan({"hardware": {"num_cpus": 4}, "power_state": "halted"}, power="poweredOn")
    assert [op.name for op in halted.operations] == ["power_off", "set_cpus", "reconfigure"]


def test_absent_plans_destroy():
    cs = plan({"state": "absent"})
    assert [op.name for op in cs.operations] == ["destroy"] and cs.after is None


# ---------------------------------------------------------------- facts
def test_facts_from_recorded_props():
    inv, _vm = recorded_inventory()
    facts = vm_facts(recorded_props("poweredOn"), inv, "vm-57")
    assert facts["power_state"] == "running" and facts["folder"] == "/DC0/vm" and facts["datacenter"] == "DC0"
    assert facts["disks"] == [
        {
            "controller_type": "paravirtual",
            "controller_bus": 0,
            "unit_number": 0,
            "key": 2000,
            "label": None,
            "size": 2 * GiB,
            "datastore": "LocalDS_0",
            "file": "[LocalDS_0] web/web.vmdk",
            "provisioning": "thin",
            "disk_mode": "persistent",
        }
    ]
    assert facts["networks"][0]["portgroup"] == "VM Network" and facts["networks"][0]["adapter"] == "vmxnet3"
    assert facts["extra_config"] == {"a": "1"}


def test_snapshot_tree():
    child = vim.vm.SnapshotTree(
        id=2,
        name="b",
        description="",
        state="poweredOff",
        quiesced=False,
        snapshot=vim.vm.Snapshot("snapshot-2"),
        childSnapshotList=[],
    )
    root = vim.vm.SnapshotTree(
        id=1,
        name="a",
        description="d",
        state="poweredOn",
        quiesced=False,
        snapshot=vim.vm.Snapshot("snapshot-1"),
        childSnapshotList=[child],
    )
    tree = snapshot_tree([root])
    assert tree[0]["name"] == "a" and tree[0]["state"] == "running" and tree[0]["moid"] == "snapshot-1"
    assert tree[0]["children"][0]["id"] == 2 and tree[0]["children"][0]["children"] == []
