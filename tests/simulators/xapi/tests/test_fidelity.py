"""The simulator refuses what xapi refuses: one test per rule in ../FIDELITY.md (exact code and params)."""

import pytest

from xapi.xapisim.model import NULL, XapiError

from .conftest import Local


def err(fn, *a):
    with pytest.raises(XapiError) as ei:
        fn(*a)
    return ei.value.description


def vbd_record(vm, vdi, **kw):
    rec = {
        "VM": vm,
        "VDI": vdi,
        "userdevice": "autodetect",
        "bootable": False,
        "mode": "RW",
        "type": "Disk",
        "empty": False,
        "other_config": {},
        "qos_algorithm_type": "",
        "qos_algorithm_params": {},
    }
    rec.update(kw)
    return rec


def vdi_record(sr, **kw):
    rec = {
        "SR": sr,
        "virtual_size": "1073741824",
        "type": "user",
        "name_label": "data",
        "sharable": False,
        "read_only": False,
        "other_config": {},
    }
    rec.update(kw)
    return rec


# ---------------------------------------------------------------- VM.create


def test_vm_create_adds_a_mac_seed_unless_given(local):
    tmpl = local("VM.get_record", local.vm("Other install media"))
    fields = {k: tmpl[k] for k in ("user_version", "affinity", "VCPUs_params", "PV_bootloader", "PV_kernel")}
    base = dict(
        fields,
        name_label="blank",
        is_a_template=False,
        memory_static_max="1073741824",
        memory_dynamic_max="1073741824",
        memory_dynamic_min="1073741824",
        memory_static_min="536870912",
        VCPUs_max="1",
        VCPUs_at_startup="1",
        actions_after_shutdown="destroy",
        actions_after_reboot="restart",
        actions_after_crash="restart",
        PV_ramdisk="",
        PV_args="",
        PV_bootloader_args="",
        PV_legacy_args="",
        HVM_boot_policy="BIOS order",
        HVM_boot_params={"order": "dc"},
        platform={},
        PCI_bus="",
        other_config={},
        recommendations="",
    )
    vm = local("VM.create", base)
    seed = local("VM.get_other_config", vm)["mac_seed"]
    assert len(seed) == 36 and seed.count("-") == 4
    vm2 = local("VM.create", dict(base, name_label="seeded", other_config={"mac_seed": "given"}))
    assert local("VM.get_other_config", vm2) == {"mac_seed": "given"}


# ---------------------------------------------------------------- online resize and SR capabilities


@pytest.mark.parametrize(
    ("sr_name", "sr_type"),
    [("Local storage", "lvm"), ("Local EXT storage", "ext"), ("Shared storage", "nfs")],
)
def test_resize_online_refused_where_the_sm_driver_lacks_it(local, sr_name, sr_type):
    vm = local.vm("web-01")  # running, PV drivers
    sr = local("SR.get_by_name_label", sr_name)[0]
    assert local("SR.get_type", sr) == sr_type
    vdi = local("VDI.create", vdi_record(sr))
    vbd = local("VBD.create", vbd_record(vm, vdi))
    local("VBD.plug", vbd)
    assert "resize_online" not in local("VDI.get_allowed_operations", vdi)
    assert err(local, "VDI.resize_online", vdi, str(2 << 30)) == ["SR_OPERATION_NOT_SUPPORTED", sr]
    assert err(local, "VDI.resize", vdi, str(2 << 30)) == ["VDI_IN_USE", vdi, "resize"]
    local("VBD.unplug", vbd)
    local("VBD.destroy", vbd)
    assert "resize" in local("VDI.get_allowed_operations", vdi)
    local("VDI.resize", vdi, str(2 << 30))
    assert local("VDI.get_virtual_size", vdi) == 2 << 30


def test_iso_sr_cannot_resize_at_all(local):
    iso = local("VDI.get_by_name_label", "debian-12.iso")[0]
    sr = local("VDI.get_SR", iso)
    assert local("SR.get_type", sr) == "iso"
    new = local("VDI.create", vdi_record(sr, name_label="x.iso"))
    assert err(local, "VDI.resize", new, str(2 << 30)) == ["SR_OPERATION_NOT_SUPPORTED", sr]
    assert "resize" not in local("VDI.get_allowed_operations", new)


def test_resize_online_allowed_on_a_driver_that_declares_it():
    scenario = {
        "pools": [
            {
                "name": "lab",
                "hosts": [{"name": "h1"}],
                "networks": [{"name": "net0", "bridge": "xenbr0", "device": "eth0", "management": True}],
                "srs": [
                    {
                        "name": "Fancy",
                        "type": "lvmoiscsi",
                        "shared": True,
                        "default": True,
                        "sm_capabilities": ["VDI_CREATE", "VDI_DELETE", "VDI_RESIZE", "VDI_RESIZE_ONLINE"],
                    },
                ],
                "vms": [{"name": "app", "power_state": "Running", "disks": [{"size_gib": 4}]}],
            }
        ]
    }
    loc = Local(scenario=scenario)
    vm = loc.vm("app")
    vdi = loc("VBD.get_VDI", loc("VM.get_VBDs", vm)[0])
    assert "resize_online" in loc("VDI.get_allowed_operations", vdi)
    loc("VDI.resize_online", vdi, str(8 << 30))
    assert loc("VDI.get_virtual_size", vdi) == 8 << 30


# ---------------------------------------------------------------- guests without PV drivers


def test_clean_shutdown_and_reboot_need_the_guest_feature_flags(local):
    vm = local.vm("legacy-01")
    rec = local("VM.get_record", vm)
    assert rec["power_state"] == "Running" and rec["guest_metrics"] == NULL
    for op in ("clean_shutdown", "clean_reboot", "suspend", "pool_migrate"):
        assert op not in rec["allowed_operations"]
    assert {"hard_shutdown", "hard_reboot"} <= set(rec["allowed_operations"])
    assert err(local, "VM.clean_shutdown", vm) == ["VM_LACKS_FEATURE", vm]
    assert err(local, "VM.clean_reboot", vm) == ["VM_LACKS_FEATURE", vm]
    assert err(local, "VM.suspend", vm) == ["VM_LACKS_FEATURE", vm]
    assert local("VM.get_power_state", vm) == "Running"
    local("VM.hard_shutdown", vm)
    assert local("VM.get_power_state", vm) == "Halted"


def test_a_freshly_started_hvm_guest_lacks_features_until_its_agent_reports():
    slow = Local(ip_delay=0.5)  # the guest agent reports 0.5 s after the start
    vm = slow.vm("db-01")
    slow("VM.start", vm, False, False)
    assert slow("VM.get_guest_metrics", vm) == NULL
    assert "clean_shutdown" not in slow("VM.get_allowed_operations", vm)
    assert err(slow, "VM.clean_shutdown", vm) == ["VM_LACKS_FEATURE", vm]
    slow.wait_agent(vm)
    assert "clean_shutdown" in slow("VM.get_allowed_operations", vm)
    slow("VM.clean_shutdown", vm)
    assert slow("VM.get_power_state", vm) == "Halted"


def test_hotplug_refused_without_pv_drivers(local):
    vm = local.vm("legacy-01")
    sr = local("SR.get_by_name_label", "Shared storage")[0]
    vdi = local("VDI.create", vdi_record(sr))
    vbd = local("VBD.create", vbd_record(vm, vdi))
    assert err(local, "VBD.plug", vbd) == ["VM_MISSING_PV_DRIVERS", vm]
    disk = next(b for b in local("VM.get_VBDs", vm) if b != vbd)
    assert err(local, "VBD.unplug", disk) == ["VM_MISSING_PV_DRIVERS", vm]
    net = local("network.get_by_name_label", "Pool-wide network associated with eth1")[0]
    vif = local(
        "VIF.create",
        {
            "VM": vm,
            "network": net,
            "device": "1",
            "MAC": "",
            "MTU": "1500",
            "other_config": {},
            "qos_algorithm_type": "",
            "qos_algorithm_params": {},
        },
    )
    assert err(local, "VIF.plug", vif) == ["VM_MISSING_PV_DRIVERS", vm]
    assert not local("VIF.get_currently_attached", vif)


def test_hvm_cd_drives_are_never_hotplugged(local):
    vm = local.vm("web-01")
    iso = local("VDI.get_by_name_label", "debian-12.iso")[0]
    cd = local("VBD.create", vbd_record(vm, iso, type="CD", mode="RO", userdevice="5"))
    assert err(local, "VBD.plug", cd) == [
        "OPERATION_NOT_ALLOWED",
        "HVM CDROMs cannot be hotplugged/unplugged, only inserted or ejected",
    ]


def test_system_disks_are_not_unpluggable_even_by_force(local):
    vm = local.vm("web-01")
    disk = next(b for b in local("VM.get_VBDs", vm) if local("VBD.get_type", b) == "Disk")
    local("VBD.set_unpluggable", disk, False)
    assert err(local, "VBD.unplug", disk) == ["VBD_NOT_UNPLUGGABLE", disk]
    assert err(local, "VBD.unplug_force", disk) == ["VBD_NOT_UNPLUGGABLE", disk]


# ---------------------------------------------------------------- VM.start and platform


def test_start_checks_vcpus_max_against_cores_per_socket(local):
    vm = local.vm("db-01")  # 4 vCPUs
    local("VM.add_to_platform", vm, "cores-per-socket", "3")
    assert err(local, "VM.start", vm, False, False) == ["VCPU_MAX_NOT_CORES_PER_SOCKET_MULTIPLE", "4", "3"]
    local("VM.remove_from_platform", vm, "cores-per-socket")
    local("VM.add_to_platform", vm, "cores-per-socket", "two")
    assert err(local, "VM.start", vm, False, False) == ["INVALID_VALUE", "platform:cores-per-socket", "two"]
    local("VM.remove_from_platform", vm, "cores-per-socket")
    local("VM.add_to_platform", vm, "cores-per-socket", "0")
    assert err(local, "VM.start", vm, False, False) == ["VCPU_MAX_NOT_CORES_PER_SOCKET_MULTIPLE", "4", "0"]
    assert local("VM.get_power_state", vm) == "Halted"
    local("VM.remove_from_platform", vm, "cores-per-socket")
    local("VM.add_to_platform", vm, "cores-per-socket", "2")
    local("VM.start", vm, False, False)
    assert local("VM.get_power_state", vm) == "Running"


# ---------------------------------------------------------------- VBD.create


def test_cd_vbds_must_be_read_only_never_downgraded(local):
    vm = local.vm("db-01")
    iso = local("VDI.get_by_name_label", "ubuntu-22.04.iso")[0]
    before = len(local("VM.get_VBDs", vm))
    assert err(local, "VBD.create", vbd_record(vm, iso, type="CD", mode="RW")) == ["VBD_CDS_MUST_BE_READONLY"]
    assert err(local, "VBD.create", vbd_record(vm, NULL, type="CD", mode="RW", empty=True)) == [
        "VBD_CDS_MUST_BE_READONLY"
    ]
    assert err(local, "VBD.create", vbd_record(vm, NULL, empty=True)) == ["VBD_NOT_REMOVABLE_MEDIA", "in constructor"]
    assert err(local, "VBD.create", vbd_record(vm, iso)) == ["VDI_READONLY", iso]
    assert len(local("VM.get_VBDs", vm)) == before
    cd = local("VBD.create", vbd_record(vm, iso, type="CD", mode="RO"))
    assert local("VBD.get_mode", cd) == "RO"


# ---------------------------------------------------------------- wire types


def test_float_for_an_int_is_refused(local):
    vm = local.vm("db-01")
    assert err(local, "VM.set_VCPUs_max", vm, 4.0) == ["INTERNAL_ERROR", "Failure(\"Expected int64, got 'F(4)'\")"]
    assert err(local, "VM.set_memory_static_max", vm, "4.5") == ["INTERNAL_ERROR", 'Failure("Int64.of_string")']
    assert err(local, "VM.set_VCPUs_max", vm, True) == ["INTERNAL_ERROR", "Failure(\"Expected int64, got 'B(true)'\")"]
    assert local("VM.get_VCPUs_max", vm) == 4
    local("VM.set_VCPUs_max", vm, "6")  # ints travel as XML-RPC ints or decimal strings
    local("VM.set_VCPUs_max", vm, 8)
    assert local("VM.get_VCPUs_max", vm) == 8


def test_bool_for_a_string_and_string_for_a_bool_are_refused(local):
    vm = local.vm("db-01")
    assert err(local, "VM.set_name_description", vm, True) == [
        "INTERNAL_ERROR",
        "Failure(\"Expected string, got 'B(true)'\")",
    ]
    assert err(local, "VM.add_to_other_config", vm, "k", 5) == [
        "INTERNAL_ERROR",
        "Failure(\"Expected string, got 'I(5)'\")",
    ]
    assert err(local, "VM.set_platform", vm, {"cores-per-socket": 2}) == [
        "INTERNAL_ERROR",
        "Failure(\"Expected string, got 'I(2)'\")",
    ]
    assert err(local, "VM.start", vm, "false", False) == [
        "INTERNAL_ERROR",
        "Failure(\"Expected bool, got 'S(false)'\")",
    ]
    assert err(local, "VM.set_is_a_template", vm, 0) == ["INTERNAL_ERROR", "Failure(\"Expected bool, got 'I(0)'\")"]
    assert local("VM.get_power_state", vm) == "Halted" and local("VM.get_name_description", vm) == ""


def test_constructor_record_missing_a_required_field_is_refused(local):
    vm = local.vm("db-01")
    sr = local("SR.get_by_name_label", "Shared storage")[0]
    rec = vdi_record(sr)
    del rec["sharable"]
    n = len(local("SR.get_VDIs", sr))
    assert err(local, "VDI.create", rec) == ["INTERNAL_ERROR", 'Server_helpers.Dispatcher_FieldNotFound("sharable")']
    assert err(local, "VDI.create", vdi_record(sr, virtual_size=1.5)) == [
        "INTERNAL_ERROR",
        "Failure(\"Expected int64, got 'F(1.5)'\")",
    ]
    assert len(local("SR.get_VDIs", sr)) == n
    vbd = vbd_record(vm, NULL)
    del vbd["qos_algorithm_params"]
    assert err(local, "VBD.create", vbd) == [
        "INTERNAL_ERROR",
        'Server_helpers.Dispatcher_FieldNotFound("qos_algorithm_params")',
    ]
    assert err(local, "VBD.create", "not a record") == ["INTERNAL_ERROR", 'Failure("bad __structure")']
    # fields with a datamodel default may be left out (VBD.unpluggable defaults to true)
    vdi = local("VDI.create", vdi_record(sr))
    assert local("VBD.get_unpluggable", local("VBD.create", vbd_record(vm, vdi)))


def test_wire_types_over_xmlrpc(xapi):
    """The same refusals through the XenAPI SDK over HTTP (XML-RPC <double>, <boolean>)."""
    import XenAPI

    s = xapi.session()
    try:
        vm = s.xenapi.VM.get_by_name_label("db-01")[0]
        with pytest.raises(XenAPI.Failure) as ei:
            s.xenapi.VM.set_VCPUs_max(vm, 2.0)
        assert ei.value.details == ["INTERNAL_ERROR", "Failure(\"Expected int64, got 'F(2)'\")"]
        with pytest.raises(XenAPI.Failure) as ei:
            s.xenapi.VM.set_name_description(vm, False)
        assert ei.value.details == ["INTERNAL_ERROR", "Failure(\"Expected string, got 'B(false)'\")"]
        s.xenapi.VM.set_VCPUs_max(vm, "8")
        assert s.xenapi.VM.get_VCPUs_max(vm) == "8"
    finally:
        s.xenapi.session.logout()
