"""Scenario loading: the default topology and the YAML scenario format."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .api import Ctx
from .model import NULL, XapiError, now_dt

if TYPE_CHECKING:
    from .sim import Simulator

GiB = 1 << 30
MiB = 1 << 20


def _disks_xml(disks: list[dict[str, Any]]) -> str:
    parts = []
    for i, d in enumerate(disks):
        size = int(d.get("size", int(float(d.get("size_gib", 10)) * GiB)))
        parts.append(
            f'<disk device="{d.get("device", i)}" size="{size}" sr="{d.get("sr", "")}" '
            f'bootable="{str(d.get("bootable", i == 0)).lower()}" type="{d.get("type", "system")}"/>'
        )
    return "<provision>" + "".join(parts) + "</provision>"


DEFAULT_TEMPLATES = [
    {"name": "Debian Bookworm 12", "memory_mib": 2048, "vcpus": 2, "disks": [{"size_gib": 10}], "distro": "debian"},
    {
        "name": "Ubuntu Jammy Jellyfish 22.04",
        "memory_mib": 2048,
        "vcpus": 2,
        "disks": [{"size_gib": 10}],
        "distro": "ubuntu",
    },
    {
        "name": "Other install media",
        "memory_mib": 1024,
        "vcpus": 1,
        "disks": [{"size_gib": 10}],
        "install_methods": "cdrom",
    },
]


def _pool(name: str, hosts: list[str], sub: int, vms: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "name": name,
        "hosts": [{"name": h, "memory_gib": 64, "cpus": 8} for h in hosts],
        "networks": [
            {
                "name": "Pool-wide network associated with eth0",
                "bridge": "xenbr0",
                "device": "eth0",
                "management": True,
            },
            {"name": "Pool-wide network associated with eth1", "bridge": "xenbr1", "device": "eth1"},
            {
                "name": "Host internal management network",
                "bridge": "xenapi",
                "other_config": {"is_guest_installer_network": "true", "is_host_internal_management_network": "true"},
            },
        ],
        "srs": [
            # XCP-ng's installer default: local LVM ("Local storage"); thin-provisioned local EXT is the alternative
            {"name": "Local storage", "type": "lvm", "local": True, "size_gib": 500},
            {"name": "Local EXT storage", "type": "ext", "local": True, "size_gib": 200},
            {"name": "Shared storage", "type": "nfs", "shared": True, "size_gib": 2000, "default": True},
            {
                "name": "ISO library",
                "type": "iso",
                "content_type": "iso",
                "shared": True,
                "size_gib": 0,
                "isos": ["debian-12.iso", "ubuntu-22.04.iso", "guest-tools.iso"],
            },
        ],
        "templates": DEFAULT_TEMPLATES,
        "vms": vms,
        "subnet": sub,
    }


def default_scenario() -> dict[str, Any]:
    return {
        "pools": [
            _pool(
                "pool-a",
                ["xen-a1", "xen-a2"],
                1,
                [
                    {
                        "name": "web-01",
                        "power_state": "Running",
                        "template": "Debian Bookworm 12",
                        "memory_mib": 2048,
                        "vcpus": 2,
                        "disks": [{"size_gib": 10}],
                        "cdrom": "empty",
                        "nics": [{"network": "Pool-wide network associated with eth0"}],
                        "tags": ["web"],
                    },
                    {
                        # an HVM guest without PV drivers: no guest metrics, no feature flags, no hot-plug
                        "name": "legacy-01",
                        "power_state": "Running",
                        "pv_drivers": False,
                        "memory_mib": 1024,
                        "vcpus": 1,
                        "disks": [{"size_gib": 8, "sr": "Local storage"}],
                        "nics": [{"network": "Pool-wide network associated with eth0"}],
                    },
                    {
                        "name": "db-01",
                        "power_state": "Halted",
                        "memory_mib": 4096,
                        "vcpus": 4,
                        "disks": [{"size_gib": 20}, {"size_gib": 50, "sr": "Local storage"}],
                        "nics": [
                            {"network": "Pool-wide network associated with eth0"},
                            {"network": "Pool-wide network associated with eth1"},
                        ],
                    },
                ],
            ),
            _pool("pool-b", ["xen-b1"], 2, []),
        ]
    }


def build(sim: Simulator, scenario: dict[str, Any], extra_vms: int = 0) -> None:
    """Populate every pool DB (caller holds the simulator lock)."""
    pools = scenario.get("pools") or [scenario]
    for i, pdef in enumerate(pools):
        _build_pool(sim, sim.pools[i], pdef, i)
    if extra_vms:
        _extra_vms(sim, extra_vms)


def _build_pool(sim: Simulator, pool: Any, pdef: dict[str, Any], index: int) -> None:
    from .msg_net import new_vif
    from .msg_storage import new_vbd, new_vdi
    from .msg_vm import make_vm, refresh

    db = pool.db
    ctx = Ctx(sim, pool, "scenario", extra={"immediate_guest_metrics": True})
    sub = int(pdef.get("subnet", index + 1))
    pool_ref = db.create(
        "pool",
        {
            "name_label": pdef.get("name", f"pool-{index}"),
            "other_config": {},
            "gui_config": {},
            "restrictions": {},
            "cpu_info": {"cpu_count": "8"},
            "tags": list(pdef.get("tags", [])),
        },
    )
    pool.pool_ref = pool_ref
    hosts: dict[str, str] = {}
    for hi, hdef in enumerate(pdef.get("hosts") or [{"name": f"host-{index}"}]):
        hname = hdef["name"]
        mem = int(float(hdef.get("memory_gib", 64)) * GiB)
        metrics = db.create("host_metrics", {"memory_total": mem, "live": True, "last_updated": now_dt()})
        href = db.create(
            "host",
            {
                "name_label": hname,
                "hostname": hname,
                "address": f"198.51.100.{sub * 10 + hi + 1}",
                "API_version_major": 2,
                "API_version_minor": 21,
                "API_version_vendor": "XenSource",
                "software_version": {
                    "product_brand": "XCP-ng",
                    "product_version": "8.3.0",
                    "platform_name": "XCP",
                    "platform_version": "3.4.0",
                    "xapi": "24.19",
                    "xen": "4.17.4",
                },
                "enabled": True,
                "metrics": metrics,
                "memory_overhead": 0,
                "sched_policy": "credit",
                "cpu_info": {
                    "cpu_count": str(hdef.get("cpus", 8)),
                    "vendor": "GenuineIntel",
                    "modelname": "Simulated CPU",
                    "speed": "2400.000",
                    "socket_count": "1",
                },
                "capabilities": ["xen-3.0-x86_64", "hvm-3.0-x86_64"],
                "edition": "xcp-ng",
                "license_params": {},
                "other_config": {},
                "external_auth_type": "",
                "display": "enabled",
                "allowed_operations": [
                    "provision",
                    "evacuate",
                    "shutdown",
                    "reboot",
                    "vm_start",
                    "vm_resume",
                    "vm_migrate",
                ],
            },
        )
        for c in range(int(hdef.get("cpus", 8))):
            db.create(
                "host_cpu",
                {
                    "host": href,
                    "number": c,
                    "vendor": "GenuineIntel",
                    "speed": 2400,
                    "modelname": "Simulated CPU",
                    "family": 6,
                    "model": 85,
                    "stepping": "4",
                    "flags": "fpu de tsc msr pae",
                    "utilisation": 0.02,
                },
            )
        hosts[hname] = href
        dom0 = make_vm(
            ctx,
            {
                "name_label": f"Control domain on host: {hname}",
                "is_control_domain": True,
                "is_a_template": False,
                "memory_static_max": 4 * GiB,
                "memory_dynamic_max": 4 * GiB,
                "memory_dynamic_min": 4 * GiB,
                "memory_static_min": 4 * GiB,
                "VCPUs_max": 4,
                "VCPUs_at_startup": 4,
                "domain_type": "pv",
                "power_state": "Running",
                "resident_on": href,
                "affinity": href,
            },
        )
        db.get("VM", dom0)["domid"] = 0
        db.set("host", href, "control_domain", dom0)
    master = next(iter(hosts.values()))
    db.set("pool", pool_ref, "master", master)
    # networks and PIFs
    nets: dict[str, str] = {}
    for ni, ndef in enumerate(pdef.get("networks", [])):
        nref = db.create(
            "network",
            {
                "name_label": ndef["name"],
                "name_description": ndef.get("description", ""),
                "bridge": ndef.get("bridge", f"xenbr{ni}"),
                "MTU": int(ndef.get("mtu", 1500)),
                "other_config": dict(ndef.get("other_config", {})),
                "managed": True,
                "allowed_operations": [],
            },
        )
        nets[ndef["name"]] = nref
        if ndef.get("device"):
            for hi, href in enumerate(hosts.values()):
                mgmt = bool(ndef.get("management"))
                db.create(
                    "PIF",
                    {
                        "device": ndef["device"],
                        "network": nref,
                        "host": href,
                        "physical": True,
                        "managed": True,
                        "MAC": f"aa:bb:{sub:02x}:{hi:02x}:{ni:02x}:01",
                        "MTU": 1500,
                        "VLAN": -1,
                        "currently_attached": True,
                        "management": mgmt,
                        "ip_configuration_mode": "DHCP" if mgmt else "None",
                        "IP": f"198.51.100.{sub * 10 + hi + 1}" if mgmt else "",
                        "netmask": "255.255.255.0" if mgmt else "",
                        "primary_address_type": "IPv4",
                        "ipv6_configuration_mode": "None",
                    },
                )
    # SRs, PBDs, ISO VDIs
    srs: dict[str, str] = {}
    default_sr = NULL
    for sdef in pdef.get("srs", []):
        targets = list(hosts.items()) if sdef.get("local") else [(None, None)]
        for hname, href in targets:
            label = sdef["name"]
            sr = db.create(
                "SR",
                {
                    "name_label": label,
                    "name_description": sdef.get("description", ""),
                    "type": sdef.get("type", "ext"),
                    "content_type": sdef.get("content_type", "user"),
                    "shared": bool(sdef.get("shared", False)),
                    "physical_size": int(float(sdef.get("size_gib", 100)) * GiB),
                    "other_config": {},
                    "sm_config": {},
                    "_extra_capabilities": list(sdef.get("sm_capabilities", [])),
                    "allowed_operations": [
                        "vdi_create",
                        "vdi_destroy",
                        "vdi_resize",
                        "vdi_clone",
                        "vdi_snapshot",
                        "scan",
                        "update",
                        "plug",
                        "unplug",
                        "vdi_introduce",
                    ],
                },
            )
            for h in [href] if href else list(hosts.values()):
                db.create(
                    "PBD",
                    {
                        "host": h,
                        "SR": sr,
                        "currently_attached": True,
                        "device_config": {"location": f"/var/run/sr-mount/{sdef['name']}"},
                    },
                )
            srs.setdefault(sdef["name"], sr)
            if hname is not None:
                srs[f"{sdef['name']}@{hname}"] = sr
            if sdef.get("default") and default_sr == NULL:
                default_sr = sr
            for iso in sdef.get("isos", []):
                new_vdi(ctx, sr, iso, 512 * MiB, "user", read_only=True, sharable=True, location=iso, content=None)
    if default_sr == NULL and srs:
        default_sr = next(iter(srs.values()))
    db.update("pool", pool_ref, default_SR=default_sr, suspend_image_SR=default_sr, crash_dump_SR=default_sr)
    # templates
    templates: dict[str, str] = {}
    for tdef in pdef.get("templates", []):
        oc = {
            "default_template": "true",
            "disks": _disks_xml(tdef.get("disks", [])),
            "install-methods": tdef.get("install_methods", "cdrom,nfs,http,ftp"),
            "linux_template": "true",
        }
        mem = int(float(tdef.get("memory_mib", 1024)) * MiB)
        t = make_vm(
            ctx,
            {
                "name_label": tdef["name"],
                "name_description": tdef.get("description", ""),
                "is_a_template": True,
                "is_default_template": bool(tdef.get("default", True)),
                "other_config": oc,
                "memory_static_max": mem,
                "memory_dynamic_max": mem,
                "memory_dynamic_min": mem,
                "memory_static_min": min(mem, 512 * MiB),
                "VCPUs_max": int(tdef.get("vcpus", 1)),
                "VCPUs_at_startup": int(tdef.get("vcpus", 1)),
                "HVM_boot_policy": "BIOS order",
                "HVM_boot_params": {"order": "cdn"},
                "platform": {"device-model": "qemu-upstream-compat", "viridian": "false"},
                "recommendations": "<restrictions/>",
            },
        )
        if not tdef.get("default", True):
            db.get("VM", t)["other_config"].pop("default_template", None)
        refresh(ctx, t)
        templates[tdef["name"]] = t
    # VMs
    for vdef in pdef.get("vms", []):
        _build_vm(ctx, vdef, hosts, nets, srs, templates, default_sr)
    del new_vbd, new_vif


def _build_vm(
    ctx: Ctx,
    vdef: dict[str, Any],
    hosts: dict[str, str],
    nets: dict[str, str],
    srs: dict[str, str],
    templates: dict[str, str],
    default_sr: str,
) -> str:
    from .msg_net import new_vif
    from .msg_storage import new_vbd, new_vdi
    from .msg_vm import make_vm, pick_host, refresh, set_halted, set_running

    db = ctx.db
    mem = int(float(vdef.get("memory_mib", 1024)) * MiB)
    oc = dict(vdef.get("other_config", {}))
    if vdef.get("template") in templates:
        oc.setdefault("base_template_name", vdef["template"])
    vm = make_vm(
        ctx,
        {
            "name_label": vdef["name"],
            "name_description": vdef.get("description", ""),
            "is_a_template": bool(vdef.get("is_a_template", False)),
            "memory_static_max": mem,
            "memory_dynamic_max": mem,
            "memory_dynamic_min": mem,
            "memory_static_min": min(mem, 512 * MiB),
            "VCPUs_max": int(vdef.get("vcpus_max", vdef.get("vcpus", 1))),
            "VCPUs_at_startup": int(vdef.get("vcpus", 1)),
            "other_config": oc,
            "tags": list(vdef.get("tags", [])),
            "xenstore_data": dict(vdef.get("xenstore_data", {})),
            "blocked_operations": dict(vdef.get("blocked_operations", {})),
            "platform": dict(vdef.get("platform", {"viridian": "false", "acpi": "1"})),
        },
    )
    db.get("VM", vm)["_pv_drivers"] = bool(vdef.get("pv_drivers", True))
    for i, d in enumerate(vdef.get("disks", [])):
        sr = srs.get(d.get("sr", ""), default_sr)
        if d.get("sr") and d["sr"] not in srs:
            raise XapiError("UUID_INVALID", "SR", d["sr"])
        size = int(d.get("size", int(float(d.get("size_gib", 10)) * GiB)))
        vdi = new_vdi(ctx, sr, d.get("name", f"{vdef['name']} disk {i}"), size, d.get("type", "system"))
        new_vbd(ctx, vm, vdi, str(d.get("device", i)), "Disk", "RW", bool(d.get("bootable", i == 0)))
    if "cdrom" in vdef:
        iso = vdef["cdrom"]
        vdi = NULL
        if iso and iso != "empty":
            for r, rec in db.tables["VDI"].items():
                if rec["name_label"] == iso:
                    vdi = r
                    break
        new_vbd(ctx, vm, vdi, "3", "CD", "RO", False, empty=vdi == NULL)
    for i, n in enumerate(vdef.get("nics", [])):
        net = nets.get(n.get("network", ""), next(iter(nets.values())) if nets else NULL)
        new_vif(ctx, vm, net, str(n.get("device", i)), n.get("mac", ""))
    power = vdef.get("power_state", "Halted")
    if power in ("Running", "Paused", "Suspended"):
        host = hosts.get(vdef.get("host", ""))
        set_running(ctx, vm, host or pick_host(ctx, vm), paused=power == "Paused")
        if power == "Suspended":
            from .msg_vm import _suspend_sr

            sr = _suspend_sr(ctx, db.get("VM", vm))
            susp = new_vdi(ctx, sr, "Suspend image", mem, "suspend")
            set_halted(ctx, vm, state="Suspended")
            db.set("VM", vm, "suspend_VDI", susp)
    refresh(ctx, vm)
    return vm


def _extra_vms(sim: Simulator, n: int) -> None:
    pool = sim.pools[0]
    db = pool.db
    base = {
        "memory_static_max": GiB,
        "memory_dynamic_max": GiB,
        "memory_dynamic_min": GiB,
        "memory_static_min": 512 * MiB,
        "VCPUs_max": 1,
        "VCPUs_at_startup": 1,
        "domid": -1,
        "user_version": 1,
        "actions_after_shutdown": "destroy",
        "actions_after_reboot": "restart",
        "actions_after_crash": "restart",
        "domain_type": "hvm",
        "HVM_boot_policy": "BIOS order",
    }
    from . import lifecycle

    for i in range(1, n + 1):
        m = db.create("VM_metrics", {"install_time": now_dt()}, event=False)
        fields = dict(
            base, name_label=f"vm-{i:05d}", metrics=m, HVM_boot_params={"order": "cdn"}, platform={"viridian": "false"}
        )
        ref = db.create("VM", fields, event=False)
        rec = db.tables["VM"][ref]
        rec["_boot"] = 0
        rec["allowed_operations"] = lifecycle.allowed_operations(rec)


def load_scenario(path: str) -> dict[str, Any]:
    import yaml

    with open(path, encoding="utf-8") as fh:
        data = yaml.safe_load(fh) or {}
    if "pools" not in data:
        data = {"pools": [data]}
    return data
