"""In-process tests of the state machine, relations, copies, devices and the query language."""

import time

import pytest

from xapi.xapisim.model import NULL, XapiError
from xapi.xapisim.query import compile_expr
from xapi.xapisim.sim import DEFAULT_PASSWORD


def err(fn, *a):
    with pytest.raises(XapiError) as ei:
        fn(*a)
    return ei.value.description


def test_power_transitions(local):
    vm = local.vm("db-01")
    local("VM.start", vm, False, False)
    local.wait_agent(vm)
    assert local("VM.get_power_state", vm) == "Running"
    assert local("VM.get_resident_on", vm) != NULL
    assert err(local, "VM.start", vm, False, False) == ["VM_BAD_POWER_STATE", vm, "halted", "running"]
    local("VM.pause", vm)
    assert err(local, "VM.clean_shutdown", vm) == ["VM_BAD_POWER_STATE", vm, "running", "paused"]
    local("VM.unpause", vm)
    local("VM.suspend", vm)
    rec = local("VM.get_record", vm)
    assert rec["power_state"] == "Suspended" and rec["suspend_VDI"] != NULL and rec["resident_on"] == NULL
    suspend_vdi = rec["suspend_VDI"]
    assert local("VDI.get_type", suspend_vdi) == "suspend"
    assert err(local, "VM.pause", vm) == ["VM_BAD_POWER_STATE", vm, "running", "suspended"]
    local("VM.resume", vm, False, False)
    local.wait_agent(vm)
    assert local("VM.get_power_state", vm) == "Running"
    assert not local.db.exists("VDI", suspend_vdi)
    dom = local("VM.get_domid", vm)
    local("VM.clean_reboot", vm)
    assert local("VM.get_domid", vm) != dom
    local("VM.hard_shutdown", vm)
    assert local("VM.get_power_state", vm) == "Halted"
    assert local("VM.get_domid", vm) == -1
    assert err(local, "VM.hard_reboot", vm) == ["VM_BAD_POWER_STATE", vm, "paused, running", "halted"]
    assert err(local, "VM.hard_shutdown", vm) == ["VM_BAD_POWER_STATE", vm, "paused, suspended, running", "halted"]


def test_start_on_and_pool_migrate(local):
    vm = local.vm("db-01")
    hosts = sorted(local("host.get_all"), key=lambda h: local("host.get_name_label", h))
    local("VM.start_on", vm, hosts[1], False, False)
    local.wait_agent(vm)
    assert local("VM.get_resident_on", vm) == hosts[1]
    assert vm in local("host.get_resident_VMs", hosts[1])
    local("VM.pool_migrate", vm, hosts[0], {})
    assert local("VM.get_resident_on", vm) == hosts[0]
    assert vm not in local("host.get_resident_VMs", hosts[1])
    local("host.disable", hosts[1])
    local("VM.hard_shutdown", vm)
    assert err(local, "VM.start_on", vm, hosts[1], False, False) == ["HOST_DISABLED", hosts[1]]


def test_check_order(local):
    vm = local.vm("web-01")
    local("VM.add_to_blocked_operations", vm, "start", "locked by test")
    # OPERATION_BLOCKED comes before VM_BAD_POWER_STATE
    assert err(local, "VM.start", vm, False, False) == ["OPERATION_BLOCKED", vm, "locked by test"]
    assert "start" not in local("VM.get_allowed_operations", vm)
    local("VM.remove_from_blocked_operations", vm, "start")
    tmpl = local.vm("Debian Bookworm 12")
    assert err(local, "VM.start", tmpl, False, False) == ["VM_IS_TEMPLATE", tmpl, "start"]
    # power state is checked before VM_IS_TEMPLATE
    assert err(local, "VM.pause", tmpl) == ["VM_BAD_POWER_STATE", tmpl, "running", "halted"]
    assert err(local, "VM.provision", local.vm("db-01")) == ["PROVISION_ONLY_ALLOWED_ON_TEMPLATE"]
    assert err(local, "VM.revert", local.vm("db-01")) == ["REVERT_ONLY_ALLOWED_ON_SNAPSHOT"]
    assert err(local, "VM.destroy", tmpl)[0] == "VM_IS_TEMPLATE"


def test_other_operation_in_progress(local):
    import threading

    from xapi.xapisim.api import dispatch

    vm = local.vm("db-01")
    t = threading.Thread(
        target=lambda: dispatch(local.sim, local.pool, "VM.start", [local.session, vm, False, False], delay=0.5)
    )
    t.start()
    time.sleep(0.15)
    e = err(local, "VM.clone", vm, "x")
    assert e[0] == "OTHER_OPERATION_IN_PROGRESS" and e[1:4] == ["VM", vm, "start"]
    t.join()
    assert local("VM.get_power_state", vm) == "Running"
    assert local("VM.get_current_operations", vm) == {}


def test_relations_and_destroy(local):
    vm = local.vm("db-01")
    vbds = local("VM.get_VBDs", vm)
    vifs = local("VM.get_VIFs", vm)
    vdis = [local("VBD.get_VDI", b) for b in vbds]
    for b, d in zip(vbds, vdis, strict=False):
        assert b in local("VDI.get_VBDs", d)
        assert d in local("SR.get_VDIs", local("VDI.get_SR", d))
    for v in vifs:
        assert v in local("network.get_VIFs", local("VIF.get_network", v))
    metrics = local("VM.get_metrics", vm)
    local("VM.destroy", vm)
    for b in vbds:
        assert not local.db.exists("VBD", b)
    for v in vifs:
        assert not local.db.exists("VIF", v)
    assert not local.db.exists("VM_metrics", metrics)
    for d in vdis:
        assert local.db.exists("VDI", d) and local("VDI.get_VBDs", d) == []
    assert err(local, "VM.get_record", vm) == ["HANDLE_INVALID", "VM", vm]
    assert err(local, "VM.get_by_uuid", "nope") == ["UUID_INVALID", "VM", "nope"]


def test_clone_copy_snapshot_revert(local):
    vm = local.vm("db-01")
    clone = local("VM.clone", vm, "db-clone")
    crec = local("VM.get_record", clone)
    assert crec["name_label"] == "db-clone" and not crec["is_a_template"] and crec["power_state"] == "Halted"
    src_vdis = {local("VBD.get_VDI", b) for b in local("VM.get_VBDs", vm)}
    new_vdis = {local("VBD.get_VDI", b) for b in crec["VBDs"]}
    assert len(new_vdis) == 2 and not (src_vdis & new_vdis)
    src_macs = {local("VIF.get_MAC", v) for v in local("VM.get_VIFs", vm)}
    assert not src_macs & {local("VIF.get_MAC", v) for v in crec["VIFs"]}
    shared = local("SR.get_by_name_label", "Shared storage")[0]
    copy = local("VM.copy", vm, "db-copy", shared)
    assert all(local("VDI.get_SR", local("VBD.get_VDI", b)) == shared for b in local("VM.get_VBDs", copy))
    local("VM.start", vm, False, False)
    local.wait_agent(vm)
    snap = local("VM.snapshot", vm, "snap")
    srec = local("VM.get_record", snap)
    assert srec["is_a_snapshot"] and srec["is_a_template"] and srec["snapshot_of"] == vm
    assert srec["snapshot_info"]["power-state-at-snapshot"] == "Running"
    assert snap in local("VM.get_snapshots", vm) and local("VM.get_parent", vm) == snap
    assert {local("VIF.get_MAC", v) for v in srec["VIFs"]} == src_macs
    for b in srec["VBDs"]:
        d = local("VBD.get_VDI", b)
        assert local("VDI.get_is_a_snapshot", d) and local("VDI.get_snapshot_of", d) in src_vdis
    assert err(local, "VM.start", snap, False, False) == ["VM_IS_SNAPSHOT", snap, "start"]
    local("VM.set_name_description", vm, "changed")
    local("VM.revert", snap)
    assert local("VM.get_power_state", vm) == "Halted"
    assert local("VM.get_name_description", vm) == ""
    local("VM.start", vm, False, False)
    local.wait_agent(vm)
    cp = local("VM.checkpoint", vm, "cp")
    assert local("VM.get_power_state", cp) == "Suspended" and local("VM.get_suspend_VDI", cp) != NULL
    local("VM.revert", cp)
    assert local("VM.get_power_state", vm) == "Suspended"


def test_provision_refuses_template_disks_without_an_sr(local):
    """Stock templates carry sr="" in other_config:disks; xapi looks the SR up by uuid and fails
    (xapi_templates.ml create_disk) - it never falls back to the pool's default SR."""
    tmpl = local.vm("Debian Bookworm 12")
    assert 'sr=""' in local("VM.get_other_config", tmpl)["disks"]
    new = local("VM.clone", tmpl, "fresh")
    assert local("VM.get_is_a_template", new)
    assert "default_template" not in local("VM.get_other_config", new)
    assert err(local, "VM.provision", new) == ["UUID_INVALID", "sr", ""]
    rec = local("VM.get_record", new)
    # xapi_vm.ml provision clears is_a_template before it creates the disks
    assert not rec["is_a_template"] and rec["VBDs"] == [] and "disks" in rec["other_config"]
    local("VM.set_is_a_template", new, True)
    oc = local("VM.get_other_config", new)
    oc["disks"] = oc["disks"].replace('sr=""', 'sr="no-such-sr"')
    local("VM.set_other_config", new, oc)
    assert err(local, "VM.provision", new) == ["UUID_INVALID", "sr", "no-such-sr"]


def test_provision_with_a_real_sr_makes_disks_as_create_disk_does(local):
    tmpl = local.vm("Debian Bookworm 12")
    new = local("VM.clone", tmpl, "fresh")
    ext = local("SR.get_by_name_label", "Local EXT storage")[0]
    oc = local("VM.get_other_config", new)
    oc["disks"] = oc["disks"].replace('sr=""', 'sr="%s"' % local("SR.get_uuid", ext))
    local("VM.set_other_config", new, oc)
    local("VM.provision", new)
    rec = local("VM.get_record", new)
    assert not rec["is_a_template"] and "disks" not in rec["other_config"]
    (vbd,) = rec["VBDs"]
    vbd_rec = local("VBD.get_record", vbd)
    assert vbd_rec["userdevice"] == "0" and vbd_rec["bootable"] and vbd_rec["mode"] == "RW"
    assert vbd_rec["unpluggable"] is False  # a system disk
    assert vbd_rec["other_config"] == {"owner": ""}
    vdi = local("VDI.get_record", vbd_rec["VDI"])
    assert vdi["SR"] == ext and vdi["virtual_size"] == 10737418240 and vdi["type"] == "system"
    assert vdi["name_label"] == "0"  # named after the VBD's userdevice
    assert vdi["name_description"] == "Created by template provisioner"
    assert vdi["sm_config"] == {"vmhint": rec["uuid"]}
    assert vdi["other_config"] == {}
    local("VM.start", new, False, False)


def test_vcpus_and_memory_rules(local):
    vm = local.vm("web-01")
    assert err(local, "VM.set_VCPUs_max", vm, 4) == ["VM_BAD_POWER_STATE", vm, "halted", "running"]
    assert err(local, "VM.set_memory_static_range", vm, 1 << 30, 1 << 31)[0] == "VM_BAD_POWER_STATE"
    local("VM.set_memory_dynamic_range", vm, 1 << 30, 1 << 31)
    local("VM.hard_shutdown", vm)
    local("VM.set_VCPUs_max", vm, "4")
    local("VM.set_VCPUs_at_startup", vm, 3)
    assert local("VM.get_VCPUs_max", vm) == 4
    assert err(local, "VM.set_VCPUs_at_startup", vm, 8) == ["INVALID_VALUE", "VCPUs_at_startup", "8"]
    assert err(local, "VM.set_memory_limits", vm, 4, 3, 2, 1)[0] == "MEMORY_CONSTRAINT_VIOLATION"
    local("VM.set_memory_limits", vm, 1 << 29, 1 << 32, 1 << 30, 1 << 31)
    assert local("VM.get_memory_static_max", vm) == 1 << 32


def test_vbd_vdi_vif_rules(local):
    vm = local.vm("web-01")  # running, has an empty CD
    cd = next(b for b in local("VM.get_VBDs", vm) if local("VBD.get_type", b) == "CD")
    iso = local("VDI.get_by_name_label", "debian-12.iso")[0]
    local("VBD.insert", cd, iso)
    assert err(local, "VBD.insert", cd, iso) == ["VBD_NOT_EMPTY", cd]
    local("VBD.eject", cd)
    assert err(local, "VBD.eject", cd) == ["VBD_IS_EMPTY", cd]
    disk = next(b for b in local("VM.get_VBDs", vm) if local("VBD.get_type", b) == "Disk")
    assert err(local, "VBD.insert", disk, iso) == ["VBD_NOT_REMOVABLE_MEDIA", disk]
    assert err(local, "VBD.plug", disk) == ["DEVICE_ALREADY_ATTACHED", disk]
    local("VBD.unplug", disk)
    assert err(local, "VBD.unplug", disk) == ["DEVICE_ALREADY_DETACHED", disk]
    local("VBD.plug", disk)
    vdi = local("VBD.get_VDI", disk)
    assert err(local, "VDI.destroy", vdi) == ["VDI_IN_USE", vdi, "destroy"]
    assert err(local, "VDI.resize", vdi, 1) == ["VDI_IN_USE", vdi, "resize"]
    # no stock SM driver declares VDI_RESIZE_ONLINE (web-01's disk is on the NFS SR)
    sr_of_disk = local("VDI.get_SR", vdi)
    assert local("SR.get_type", sr_of_disk) == "nfs"
    assert err(local, "VDI.resize_online", vdi, 20 << 30) == ["SR_OPERATION_NOT_SUPPORTED", sr_of_disk]
    assert "resize_online" not in local("VDI.get_allowed_operations", vdi)
    assert local("VDI.get_virtual_size", vdi) == 10 << 30
    assert err(local, "VDI.resize", iso, 1 << 40) == ["VDI_READONLY", iso]
    sr = local("VDI.get_SR", vdi)
    big = local("SR.get_physical_size", sr) * 2
    assert (
        err(
            local,
            "VDI.create",
            {
                "SR": sr,
                "virtual_size": str(big),
                "type": "user",
                "name_label": "x",
                "sharable": False,
                "read_only": False,
                "other_config": {},
            },
        )[0]
        == "SR_FULL"
    )
    new = local(
        "VDI.create",
        {
            "SR": sr,
            "virtual_size": "1073741824",
            "type": "user",
            "name_label": "data",
            "sharable": False,
            "read_only": False,
            "other_config": {},
        },
    )
    assert new in local("SR.get_VDIs", sr)
    vbd = local(
        "VBD.create",
        {
            "VM": vm,
            "VDI": new,
            "userdevice": "autodetect",
            "bootable": False,
            "mode": "RW",
            "type": "Disk",
            "empty": False,
            "other_config": {},
            "qos_algorithm_type": "",
            "qos_algorithm_params": {},
        },
    )
    assert not local("VBD.get_currently_attached", vbd)
    local("VBD.plug", vbd)
    assert local("VBD.get_currently_attached", vbd)
    assert err(local, "VBD.destroy", vbd)[0] == "OPERATION_NOT_ALLOWED"
    snap = local("VDI.snapshot", new, {})
    assert local("VDI.get_snapshot_of", snap) == new and snap in local("VDI.get_snapshots", new)
    clone = local("VDI.clone", new, {})
    assert local("VDI.get_SR", clone) == sr
    local("VDI.set_name_label", clone, "renamed")
    net = local("network.get_by_name_label", "Pool-wide network associated with eth1")[0]
    vif_rec = {
        "VM": vm,
        "network": net,
        "device": "1",
        "MAC": "zz",
        "MTU": "1500",
        "other_config": {},
        "qos_algorithm_type": "",
        "qos_algorithm_params": {},
    }
    assert err(local, "VIF.create", vif_rec) == ["MAC_INVALID", "zz"]
    vif_rec["MAC"] = ""
    vif = local("VIF.create", vif_rec)
    assert local("VIF.get_MAC_autogenerated", vif)
    assert err(local, "VIF.create", vif_rec) == ["DEVICE_ALREADY_EXISTS", "1"]
    local("VIF.plug", vif)
    assert err(local, "VIF.plug", vif) == ["DEVICE_ALREADY_ATTACHED", vif]
    local("VIF.unplug", vif)
    local("VIF.destroy", vif)
    halted = local.vm("db-01")
    some_vbd = local("VM.get_VBDs", halted)[0]
    assert err(local, "VBD.plug", some_vbd) == ["VM_BAD_POWER_STATE", halted, "running", "halted"]


def test_guest_metrics_and_counters(local):
    vm = local.vm("db-01")
    local("VM.start", vm, False, False)
    deadline = time.time() + 3
    while local("VM.get_guest_metrics", vm) == NULL and time.time() < deadline:
        time.sleep(0.02)
    gm = local("VM.get_guest_metrics", vm)
    nets = local("VM_guest_metrics.get_networks", gm)
    for dev in ("0", "1"):
        assert nets[f"{dev}/ip"].startswith("192.0.2.")
        assert nets[f"{dev}/ipv6/0"].startswith("fe80:")
        assert nets[f"{dev}/ipv6/1"].startswith("2001:db8:")
    assert local("VM_guest_metrics.get_os_version", gm)["distro"]
    assert local("VM.query_data_source", vm, "vif_0_rx") > 0
    m = local("VM.get_metrics", vm)
    assert local("VM_metrics.get_memory_actual", m) > 0


def test_query_language(local):
    vms = local("VM.get_all_records_where", 'field "name__label"="web-01"')
    assert [r["name_label"] for r in vms.values()] == ["web-01"]
    both = local(
        "VM.get_all_records_where",
        '(field "name__label"="web-01" or field "name_label"="db-01") and not field "is_a_template"="true"',
    )
    assert sorted(r["name_label"] for r in both.values()) == ["db-01", "web-01"]
    assert len(local("VM.get_all_records_where", "true")) == len(local("VM.get_all"))
    assert local("VM.get_all_records_where", "false") == {}
    uuid = local("VM.get_uuid", local.vm("db-01"))
    assert len(local("VM.get_all_records_where", f'field "uuid"="{uuid}"')) == 1
    assert (
        len(
            local(
                "VM.get_all_records_where",
                'field "memory__static_max"="4294967296" and field "is_control_domain"="false"',
            )
        )
        == 1
    )
    assert err(local, "VM.get_all_records_where", 'field "nonsense"="1"')[0] == "INTERNAL_ERROR"
    pred = compile_expr("VM", 'field "power_state"="Running" and field "is_control_domain"="false"')
    assert pred({"power_state": "Running", "is_control_domain": False})


def test_many_vms_fast():
    from .conftest import Local

    t0 = time.perf_counter()
    loc = Local(extra_vms=5000)
    assert time.perf_counter() - t0 < 2.0
    t0 = time.perf_counter()
    res = loc("VM.get_all_records_where", 'field "name__label"="vm-04242"')
    assert time.perf_counter() - t0 < 0.1
    assert len(res) == 1


def test_hash_stable_and_reset(local):
    h1 = local.sim.state_hash()
    assert h1 == local.sim.state_hash()
    local("VM.set_name_label", local.vm("db-01"), "renamed")
    assert local.sim.state_hash() != h1
    local.sim.reset()
    assert local.sim.state_hash() == h1


def test_scenario_file(tmp_path):
    from xapi.xapisim import Simulator
    from xapi.xapisim.api import dispatch
    from xapi.xapisim.scenario import load_scenario

    path = tmp_path / "s.yml"
    path.write_text("""
name: lab
hosts: [{name: lab-h1, memory_gib: 32, cpus: 2}]
networks: [{name: net0, bridge: xenbr0, device: eth0, management: true}]
srs:
  - {name: "Local storage", type: ext, local: true, size_gib: 200, default: true}
  - {name: "ISO library", type: iso, content_type: iso, shared: true, isos: [debian-12.iso]}
templates: [{name: "Debian Bookworm 12", memory_mib: 2048, vcpus: 2, disks: [{size_gib: 10}]}]
vms:
  - {name: app-01, power_state: Suspended, memory_mib: 1024, disks: [{size_gib: 8}], cdrom: debian-12.iso,
     nics: [{network: net0, mac: "aa:bb:cc:00:00:01"}], blocked_operations: {destroy: protected}}
""")
    sim = Simulator(load_scenario(str(path)), ip_delay=0)
    pool = sim.pools[0]
    s = dispatch(sim, pool, "session.login_with_password", ["root", DEFAULT_PASSWORD])
    (vm,) = dispatch(sim, pool, "VM.get_by_name_label", [s, "app-01"])
    rec = dispatch(sim, pool, "VM.get_record", [s, vm])
    assert rec["power_state"] == "Suspended" and rec["suspend_VDI"] != NULL
    assert len(rec["VBDs"]) == 2 and len(rec["VIFs"]) == 1
    assert dispatch(sim, pool, "VIF.get_MAC", [s, rec["VIFs"][0]]) == "aa:bb:cc:00:00:01"
    with pytest.raises(XapiError) as ei:
        dispatch(sim, pool, "VM.destroy", [s, vm])
    assert ei.value.description == ["OPERATION_BLOCKED", vm, "protected"]
