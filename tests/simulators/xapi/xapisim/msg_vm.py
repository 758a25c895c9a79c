"""VM messages: lifecycle, copies, memory/VCPU settings, migration, metrics."""

from __future__ import annotations

import ipaddress
import re
import threading
import xml.etree.ElementTree as ET
from typing import Any

from . import lifecycle
from .api import CHANGE_HOOKS, CREATE_HOOKS, DESTROY_HOOKS, NO_IMPLICIT_SETTER, SET_HOOKS, Ctx, api, as_bool, as_int
from .model import DT, EPOCH, NULL, XapiError, coerce, new_ref, now_dt, public

GUEST_OS = {
    "debian": {
        "name": "Debian GNU/Linux 12 (bookworm)",
        "distro": "debian",
        "major": "12",
        "minor": "5",
        "uname": "6.1.0-18-amd64",
    },
    "ubuntu": {
        "name": "Ubuntu 22.04.4 LTS",
        "distro": "ubuntu",
        "major": "22",
        "minor": "04",
        "uname": "5.15.0-101-generic",
    },
}


# ---------------------------------------------------------------- helpers


def domain_type(rec: dict[str, Any]) -> str:
    """helpers.ml ``domain_type``: an unspecified domain type follows HVM_boot_policy."""
    dt = rec["domain_type"]
    if dt != "unspecified":
        return str(dt)
    return "hvm" if rec["HVM_boot_policy"] else "pv"


def guest_metrics_rec(ctx: Ctx, rec: dict[str, Any]) -> dict[str, Any] | None:
    return ctx.db.tables["VM_guest_metrics"].get(rec["guest_metrics"])


def has_pv_drivers(gm: dict[str, Any] | None) -> bool:
    """xapi_pv_driver_version.ml ``of_guest_metrics`` <> Unknown: PV_drivers_version has major and minor."""
    if gm is None:
        return False
    version = gm["PV_drivers_version"]
    try:
        int(version["major"]), int(version["minor"])
    except (KeyError, ValueError):
        return False
    return True


def guest_support(ctx: Ctx, rec: dict[str, Any]) -> tuple[bool, tuple[str, ...]]:
    """(implicit support, feature flags) for xapi_vm_lifecycle.ml ``check_op_for_feature``."""
    gm = guest_metrics_rec(ctx, rec)
    m = ctx.db.tables["VM_metrics"].get(rec["metrics"])
    booted_pv = m is not None and m["current_domain_type"] in ("pv", "pvh", "pv_in_pvh")
    features = tuple(sorted(k for k, v in (gm["other"] if gm else {}).items() if v == "1"))
    return (booted_pv or has_pv_drivers(gm) or bool(rec["is_control_domain"]), features)


def hotplug_error(ctx: Ctx, vm: str, kind: str) -> XapiError | None:
    """xapi_vbd_helpers.ml / xapi_vif_helpers.ml ``valid_operations``: plug/unplug on a running HVM
    guest needs PV drivers (or the agent's explicit claim ``can_use_hotplug_<kind>``)."""
    rec = ctx.db.get("VM", vm)
    if rec["power_state"] != "Running" or domain_type(rec) != "hvm":
        return None
    gm = guest_metrics_rec(ctx, rec)
    if gm is not None:
        claim = gm["can_use_hotplug_" + kind]
        if claim == "yes":
            return None
        if claim == "no":
            return XapiError("OPERATION_NOT_ALLOWED", f"VM states it does not support {kind.upper()} hotplug.")
        if gm["PV_drivers_detected"]:
            return None
    if not has_pv_drivers(gm):
        return XapiError("VM_MISSING_PV_DRIVERS", vm)
    return None


def refresh(ctx: Ctx, vm: str) -> None:
    rec = ctx.db.tables["VM"].get(vm)
    if rec is None:
        return
    rec["_guest_support"] = guest_support(ctx, rec)
    ops = lifecycle.allowed_operations(rec)
    if ops != rec["allowed_operations"]:
        rec["allowed_operations"] = ops
    ctx.db.touch("VM", vm)


CHANGE_HOOKS["VM"] = refresh


def begin(ctx: Ctx, vm: Any, op: str) -> dict[str, Any]:
    """Validate `op` on `vm` in xapi's check order; apply an injected delay while the op is current."""
    rec = ctx.rec("VM", vm)
    rec["_guest_support"] = guest_support(ctx, rec)
    lifecycle.assert_op(rec, vm, op)
    if op in lifecycle.INTERRUPTING_OPS:
        _cancel_interruptible(ctx, vm, rec)
    if ctx.delay > 0:
        key = ctx.task or new_ref()
        rec["current_operations"][key] = op
        refresh(ctx, vm)
        try:
            ctx.sleep_delay()
        finally:
            rec = ctx.db.tables["VM"].get(vm, rec)
            rec["current_operations"].pop(key, None)
            refresh(ctx, vm)
        # while we waited the task may have been cancelled, or a hard operation may have changed the VM
        task = ctx.db.tables["task"].get(ctx.task) if ctx.task else None
        if task is not None and task["status"] in ("cancelling", "cancelled"):
            raise XapiError("TASK_CANCELLED", ctx.task)
        rec = ctx.rec("VM", vm)
        lifecycle.assert_op(rec, vm, op)
    return rec


def _cancel_interruptible(ctx: Ctx, vm: Any, rec: dict[str, Any]) -> None:
    """As xapi does before a hard shutdown/reboot: cancel pending clean operations on the VM."""
    for key, current in list(rec["current_operations"].items()):
        if current not in lifecycle.INTERRUPTIBLE_OPS:
            continue
        rec["current_operations"].pop(key, None)
        task = ctx.db.tables["task"].get(key)
        if task is not None and task["status"] == "pending":
            task.update(
                status="cancelled", error_info=["TASK_CANCELLED", key], finished=now_dt(), allowed_operations=[]
            )
            ctx.db.touch("task", key)
    refresh(ctx, vm)


def vm_memory(rec: dict[str, Any]) -> int:
    return int(rec["memory_static_max"])


def host_free_memory(ctx: Ctx, host: str) -> int:
    hrec = ctx.db.get("host", host)
    total = ctx.db.get("host_metrics", hrec["metrics"])["memory_total"] if hrec["metrics"] != NULL else 0
    used = sum(vm_memory(ctx.db.get("VM", v)) for v in hrec["resident_VMs"])
    return max(0, total - used)


def pick_host(ctx: Ctx, vm: str, exclude: set[str] | None = None, host: str | None = None) -> str:
    rec = ctx.db.get("VM", vm)
    need = vm_memory(rec)
    if host is not None:
        hrec = ctx.rec("host", host)
        if not hrec["enabled"]:
            raise XapiError("HOST_DISABLED", host)
        free = host_free_memory(ctx, host)
        if free < need:
            raise XapiError("HOST_NOT_ENOUGH_FREE_MEMORY", need, free)
        return host
    candidates = [rec["affinity"]] if rec["affinity"] in ctx.db.tables["host"] else []
    candidates += sorted(ctx.db.tables["host"], key=lambda h: ctx.db.tables["host"][h]["name_label"])
    best_free = 0
    for h in candidates:
        if exclude and h in exclude:
            continue
        if not ctx.db.tables["host"][h]["enabled"]:
            continue
        free = host_free_memory(ctx, h)
        if free >= need:
            return h
        best_free = max(best_free, free)
    if not any(ctx.db.tables["host"][h]["enabled"] for h in candidates if not (exclude and h in exclude)):
        raise XapiError("NO_HOSTS_AVAILABLE")
    raise XapiError("HOST_NOT_ENOUGH_FREE_MEMORY", need, best_free)


def _devices_attached(ctx: Ctx, rec: dict[str, Any], attached: bool) -> None:
    for vbd in rec["VBDs"]:
        ctx.db.set("VBD", vbd, "currently_attached", attached)
        _vbd_ops(ctx, vbd)
    for vif in rec["VIFs"]:
        ctx.db.set("VIF", vif, "currently_attached", attached)
        _vif_ops(ctx, vif)


def _vbd_ops(ctx: Ctx, vbd: str) -> None:
    from .msg_storage import vbd_refresh

    vbd_refresh(ctx, vbd)


def _vif_ops(ctx: Ctx, vif: str) -> None:
    from .msg_net import vif_refresh

    vif_refresh(ctx, vif)


def _next_domid(ctx: Ctx) -> int:
    ctx.pool.next_domid = ctx.pool.next_domid + 1
    return ctx.pool.next_domid


def set_running(ctx: Ctx, vm: str, host: str, paused: bool = False) -> None:
    db = ctx.db
    rec = db.get("VM", vm)
    db.set("VM", vm, "resident_on", host)
    db.update(
        "VM",
        vm,
        power_state="Paused" if paused else "Running",
        domid=_next_domid(ctx),
        scheduled_to_be_resident_on=NULL,
        memory_target=rec["memory_dynamic_max"],
    )
    _devices_attached(ctx, rec, True)
    if rec["metrics"] in db.tables["VM_metrics"]:
        db.update(
            "VM_metrics",
            rec["metrics"],
            memory_actual=rec["memory_dynamic_max"],
            VCPUs_number=rec["VCPUs_at_startup"],
            start_time=now_dt(),
            last_updated=now_dt(),
            state=["paused"] if paused else ["running"],
            VCPUs_CPU={i: i for i in range(rec["VCPUs_at_startup"])},
            current_domain_type=rec["domain_type"] if rec["domain_type"] != "unspecified" else "hvm",
        )
    if not rec["consoles"]:
        c = db.create("console", {"protocol": "rfb", "VM": vm})
        crec = db.get("console", c)
        crec["location"] = f"{ctx.pool.base_url.replace('http://', 'https://')}/console?uuid={crec['uuid']}"
    _drop_guest_metrics(ctx, vm)
    schedule_guest_metrics(ctx, vm)
    refresh(ctx, vm)


def set_halted(ctx: Ctx, vm: str, state: str = "Halted") -> None:
    db = ctx.db
    rec = db.get("VM", vm)
    db.set("VM", vm, "resident_on", NULL)
    db.update("VM", vm, power_state=state, domid=-1, memory_target=0)
    _devices_attached(ctx, rec, False)
    if rec["metrics"] in db.tables["VM_metrics"]:
        db.update(
            "VM_metrics", rec["metrics"], memory_actual=0, VCPUs_number=0, state=[], VCPUs_CPU={}, last_updated=now_dt()
        )
    for c in list(rec["consoles"]):
        db.destroy("console", c)
    _drop_guest_metrics(ctx, vm)
    refresh(ctx, vm)


def _drop_guest_metrics(ctx: Ctx, vm: str) -> None:
    rec = ctx.db.get("VM", vm)
    gm = rec["guest_metrics"]
    rec["_boot"] = rec.get("_boot", 0) + 1
    if gm != NULL:
        ctx.db.set("VM", vm, "guest_metrics", NULL)
        if gm in ctx.db.tables["VM_guest_metrics"]:
            ctx.db.destroy("VM_guest_metrics", gm)


def _os_for(rec: dict[str, Any]) -> dict[str, str]:
    text = (rec["other_config"].get("base_template_name", "") + " " + rec["name_label"]).lower()
    for key, val in GUEST_OS.items():
        if key in text:
            return dict(val)
    return dict(GUEST_OS["debian"])


def guest_networks(ctx: Ctx, rec: dict[str, Any]) -> dict[str, str]:
    nets: dict[str, str] = {}
    for vif in sorted(rec["VIFs"], key=lambda v: ctx.db.get("VIF", v)["device"]):
        vrec = ctx.db.get("VIF", vif)
        if "_ip" not in vrec:
            ctx.pool.next_ip = ctx.pool.next_ip + 1
            n = ctx.pool.next_ip
            vrec["_ip"] = n
        n = vrec["_ip"]
        dev = vrec["device"]
        ipv4 = str(ipaddress.IPv4Address("192.0.2.0") + 10 + (n % 240))
        mac = [int(x, 16) for x in vrec["MAC"].split(":")] if vrec["MAC"].count(":") == 5 else [0, 0x16, 0x3E, 0, 0, n]
        eui = [mac[0] ^ 2, mac[1], mac[2], 0xFF, 0xFE, mac[3], mac[4], mac[5]]
        ll = ipaddress.IPv6Address(bytes([0xFE, 0x80] + [0] * 6 + eui))
        glob = ipaddress.IPv6Address("2001:db8::") + (ctx.pool.index << 16) + 0x100 + n
        nets[f"{dev}/ip"] = ipv4
        nets[f"{dev}/ipv4/0"] = ipv4
        nets[f"{dev}/ipv6/0"] = str(ll)
        nets[f"{dev}/ipv6/1"] = str(glob)
    return nets


def report_guest_metrics(sim: Any, pool: Any, vm: str) -> None:
    """The guest agent reports: create VM_guest_metrics (caller holds the lock)."""
    rec = pool.db.tables["VM"].get(vm)
    if rec is None or rec["power_state"] not in ("Running", "Paused") or not rec.get("_pv_drivers", True):
        return  # no guest agent (no PV drivers): no VM_guest_metrics, no IPs, no feature flags
    c2 = Ctx(sim, pool, "guest-agent")
    gm = pool.db.create(
        "VM_guest_metrics",
        {
            "os_version": _os_for(rec),
            "PV_drivers_version": {"major": "9", "minor": "4", "micro": "0", "build": "1"},
            "PV_drivers_up_to_date": True,
            "networks": guest_networks(c2, rec),
            "other": {
                "feature-shutdown": "1",
                "feature-suspend": "1",
                "feature-poweroff": "1",
                "feature-reboot": "1",
                "feature-vcpu-hotplug": "1",
                "has-vendor-device": "0",
                "platform-feature-multiprocessor-suspend": "1",
            },
            "last_updated": now_dt(),
            "live": True,
            "can_use_hotplug_vbd": "yes",
            "can_use_hotplug_vif": "yes",
            "PV_drivers_detected": True,
            "netbios_name": {},
            "services": {},
        },
    )
    pool.db.set("VM", vm, "guest_metrics", gm)
    refresh(c2, vm)


def schedule_guest_metrics(ctx: Ctx, vm: str) -> None:
    sim, pool = ctx.sim, ctx.pool
    if ctx.extra.get("immediate_guest_metrics"):
        report_guest_metrics(sim, pool, vm)
        return
    boot = ctx.db.get("VM", vm)["_boot"]
    epoch = sim.epoch

    def report() -> None:
        with pool.db.lock:
            rec = pool.db.tables["VM"].get(vm)
            if sim.epoch != epoch or rec is None or rec.get("_boot") != boot:
                return
            report_guest_metrics(sim, pool, vm)

    t = threading.Timer(max(sim.ip_delay, 0.0), report)
    t.daemon = True
    t.start()


def make_vm(ctx: Ctx, fields: dict[str, Any]) -> str:
    """Create a VM with its metrics object and xapi's defaults for unset fields."""
    db = ctx.db
    base: dict[str, Any] = {
        "domid": -1,
        "user_version": 1,
        "actions_after_shutdown": "destroy",
        "actions_after_reboot": "restart",
        "actions_after_crash": "restart",
        "memory_static_max": 1 << 30,
        "memory_dynamic_max": 1 << 30,
        "memory_dynamic_min": 1 << 30,
        "memory_static_min": 1 << 30,
        "VCPUs_max": 1,
        "VCPUs_at_startup": 1,
        "HVM_boot_policy": "BIOS order",
        "HVM_boot_params": {"order": "cdn"},
        "domain_type": "hvm",
        "platform": {"acpi": "1", "apic": "true", "pae": "true", "viridian": "false", "nx": "true"},
        "hardware_platform_version": 0,
        "has_vendor_device": False,
        "generation_id": "",
    }
    base.update(fields)
    if "metrics" not in fields or fields.get("metrics") in (NULL, ""):
        m = db.create(
            "VM_metrics",
            {
                "memory_actual": 0,
                "VCPUs_number": 0,
                "install_time": now_dt(),
                "last_updated": now_dt(),
                "start_time": DT(EPOCH),
            },
        )
        base["metrics"] = m
    power = base.get("power_state", "Halted")
    base["power_state"] = "Halted"
    ref = db.create("VM", base)
    rec = db.get("VM", ref)
    rec["_boot"] = 0
    rec["allowed_operations"] = lifecycle.allowed_operations(rec)
    if power != "Halted":
        host = base.get("resident_on", NULL)
        rec["resident_on"] = NULL
        set_running(ctx, ref, host if host in db.tables["host"] else pick_host(ctx, ref), paused=power == "Paused")
        if power == "Suspended":
            set_halted(ctx, ref, state="Suspended")
    return ref


def _create_hook(ctx: Ctx, fields: dict[str, Any]) -> str:
    for k in ("power_state", "resident_on", "metrics", "guest_metrics"):
        fields.pop(k, None)
    # xapi_vm.ml ``create``: add a random other_config:mac_seed unless the caller gave one
    oc = dict(fields.get("other_config", {}))
    oc.setdefault("mac_seed", ctx.db._ids("VM")[0])
    fields["other_config"] = oc
    return make_vm(ctx, fields)


CREATE_HOOKS["VM"] = _create_hook


def destroy_vm(ctx: Ctx, vm: str, check: bool = True) -> None:
    db = ctx.db
    rec = begin(ctx, vm, "destroy") if check else db.get("VM", vm)
    if check and rec["other_config"].get("default_template") == "true":
        raise XapiError("VM_CANNOT_DELETE_DEFAULT_TEMPLATE", vm)
    if rec["power_state"] == "Suspended" and rec["suspend_VDI"] in db.tables["VDI"]:
        from .msg_storage import vdi_destroy_internal

        vdi_destroy_internal(ctx, rec["suspend_VDI"])
    for vbd in list(rec["VBDs"]):
        db.destroy("VBD", vbd)
    for vif in list(rec["VIFs"]):
        db.destroy("VIF", vif)
    for c in list(rec["consoles"]):
        db.destroy("console", c)
    for child in list(rec["children"]):
        db.set("VM", child, "parent", NULL)
    if rec["metrics"] in db.tables["VM_metrics"]:
        db.destroy("VM_metrics", rec["metrics"])
    if rec["guest_metrics"] in db.tables["VM_guest_metrics"]:
        db.destroy("VM_guest_metrics", rec["guest_metrics"])
    db.destroy("VM", vm)


def _destroy_hook(ctx: Ctx, vm: str) -> None:
    destroy_vm(ctx, vm)


DESTROY_HOOKS["VM"] = _destroy_hook


# ---------------------------------------------------------------- power operations


_OCAML_INT = re.compile(r"^[-+]?(0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|[0-9][0-9_]*)$")


def platform_sanity_check(rec: dict[str, Any]) -> None:
    """vm_platform.ml ``sanity_check`` (run by xapi_xenops.ml when a VM starts): for HVM/PVH guests
    VCPUs_max must be a multiple of platform:cores-per-socket."""
    platform = rec["platform"]
    if domain_type(rec) == "pv" or "cores-per-socket" not in platform:
        return
    cps_str = platform["cores-per-socket"]
    if not _OCAML_INT.match(cps_str):
        raise XapiError("INVALID_VALUE", "platform:cores-per-socket", cps_str)
    body = cps_str.replace("_", "")
    cps = int(body, 0) if body.lstrip("+-")[:2].lower() in ("0x", "0o", "0b") else int(body)
    vcpus = int(rec["VCPUs_max"])
    if cps < 1 or vcpus % cps != 0:
        raise XapiError("VCPU_MAX_NOT_CORES_PER_SOCKET_MULTIPLE", vcpus, cps_str)


@api("VM.start", "vm", "start_paused", "force")
def vm_start(ctx: Ctx, vm: Any, start_paused: Any, force: Any) -> str:
    paused = as_bool(start_paused, "start_paused")
    as_bool(force, "force")  # validated like xapi, not used by the simulator
    rec = begin(ctx, vm, "start")
    platform_sanity_check(rec)
    set_running(ctx, vm, pick_host(ctx, vm), paused)
    return ""


@api("VM.start_on", "vm", "host", "start_paused", "force")
def vm_start_on(ctx: Ctx, vm: Any, host: Any, start_paused: Any, force: Any) -> str:
    paused = as_bool(start_paused, "start_paused")
    as_bool(force, "force")
    ctx.rec("host", host)
    rec = begin(ctx, vm, "start_on")
    platform_sanity_check(rec)
    set_running(ctx, vm, pick_host(ctx, vm, host=host), paused)
    return ""


@api("VM.pause", "vm")
def vm_pause(ctx: Ctx, vm: Any) -> str:
    begin(ctx, vm, "pause")
    ctx.db.set("VM", vm, "power_state", "Paused")
    refresh(ctx, vm)
    return ""


@api("VM.unpause", "vm")
def vm_unpause(ctx: Ctx, vm: Any) -> str:
    begin(ctx, vm, "unpause")
    ctx.db.set("VM", vm, "power_state", "Running")
    refresh(ctx, vm)
    return ""


def _shutdown(ctx: Ctx, vm: str) -> None:
    rec = ctx.db.get("VM", vm)
    if rec["power_state"] == "Suspended":
        from .msg_storage import vdi_destroy_internal

        if rec["suspend_VDI"] in ctx.db.tables["VDI"]:
            vdi_destroy_internal(ctx, rec["suspend_VDI"])
        ctx.db.set("VM", vm, "suspend_VDI", NULL)
    set_halted(ctx, vm)


@api("VM.clean_shutdown", "vm")
def vm_clean_shutdown(ctx: Ctx, vm: Any) -> str:
    begin(ctx, vm, "clean_shutdown")
    _shutdown(ctx, vm)
    return ""


@api("VM.hard_shutdown", "vm")
def vm_hard_shutdown(ctx: Ctx, vm: Any) -> str:
    begin(ctx, vm, "hard_shutdown")
    _shutdown(ctx, vm)
    return ""


@api("VM.shutdown", "vm")
def vm_shutdown(ctx: Ctx, vm: Any) -> str:
    begin(ctx, vm, "shutdown")
    _shutdown(ctx, vm)
    return ""


@api("VM.power_state_reset", "vm")
def vm_power_state_reset(ctx: Ctx, vm: Any) -> str:
    begin(ctx, vm, "power_state_reset")
    _shutdown(ctx, vm)
    return ""


def _reboot(ctx: Ctx, vm: str) -> None:
    rec = ctx.db.get("VM", vm)
    host = rec["resident_on"]
    ctx.db.update("VM", vm, power_state="Running", domid=_next_domid(ctx))
    if rec["metrics"] in ctx.db.tables["VM_metrics"]:
        ctx.db.update("VM_metrics", rec["metrics"], start_time=now_dt(), state=["running"])
    _drop_guest_metrics(ctx, vm)
    schedule_guest_metrics(ctx, vm)
    del host
    refresh(ctx, vm)


@api("VM.clean_reboot", "vm")
def vm_clean_reboot(ctx: Ctx, vm: Any) -> str:
    begin(ctx, vm, "clean_reboot")
    _reboot(ctx, vm)
    return ""


@api("VM.hard_reboot", "vm")
def vm_hard_reboot(ctx: Ctx, vm: Any) -> str:
    begin(ctx, vm, "hard_reboot")
    _reboot(ctx, vm)
    return ""


def _suspend_sr(ctx: Ctx, rec: dict[str, Any]) -> str:
    if rec["suspend_SR"] in ctx.db.tables["SR"]:
        return rec["suspend_SR"]
    prec = ctx.db.get("pool", ctx.pool.pool_ref)
    for key in ("suspend_image_SR", "default_SR"):
        if prec[key] in ctx.db.tables["SR"]:
            return prec[key]
    raise XapiError("VM_NO_SUSPEND_SR", rec["uuid"])


@api("VM.suspend", "vm")
def vm_suspend(ctx: Ctx, vm: Any) -> str:
    from .msg_storage import new_vdi

    rec = begin(ctx, vm, "suspend")
    sr = _suspend_sr(ctx, rec)
    vdi = new_vdi(ctx, sr, "Suspend image", vm_memory(rec), "suspend", other_config={"content_id": rec["uuid"]})
    set_halted(ctx, vm, state="Suspended")
    ctx.db.set("VM", vm, "suspend_VDI", vdi)
    ctx.db.set("VM", vm, "last_booted_record", "")
    return ""


def _resume(ctx: Ctx, vm: str, host: str, paused: bool) -> None:
    from .msg_storage import vdi_destroy_internal

    rec = ctx.db.get("VM", vm)
    suspend_vdi = rec["suspend_VDI"]
    set_running(ctx, vm, host, paused)
    if suspend_vdi in ctx.db.tables["VDI"]:
        vdi_destroy_internal(ctx, suspend_vdi)
    ctx.db.set("VM", vm, "suspend_VDI", NULL)


@api("VM.resume", "vm", "start_paused", "force")
def vm_resume(ctx: Ctx, vm: Any, start_paused: Any, force: Any) -> str:
    paused = as_bool(start_paused, "start_paused")
    as_bool(force, "force")
    begin(ctx, vm, "resume")
    _resume(ctx, vm, pick_host(ctx, vm), paused)
    return ""


@api("VM.resume_on", "vm", "host", "start_paused", "force")
def vm_resume_on(ctx: Ctx, vm: Any, host: Any, start_paused: Any, force: Any) -> str:
    paused = as_bool(start_paused, "start_paused")
    as_bool(force, "force")
    ctx.rec("host", host)
    begin(ctx, vm, "resume_on")
    _resume(ctx, vm, pick_host(ctx, vm, host=host), paused)
    return ""


@api("VM.destroy", "self")
def vm_destroy(ctx: Ctx, vm: Any) -> str:
    ctx.rec("VM", vm)
    destroy_vm(ctx, vm)
    return ""


@api("VM.assert_operation_valid", "self", "op")
def vm_assert_operation_valid(ctx: Ctx, vm: Any, op: Any) -> str:
    rec = ctx.rec("VM", vm)
    lifecycle.assert_op(rec, vm, coerce("enum vm_operations", op, "op"))
    return ""


@api("VM.update_allowed_operations", "self")
def vm_update_allowed_operations(ctx: Ctx, vm: Any) -> str:
    ctx.rec("VM", vm)
    refresh(ctx, vm)
    return ""


# ---------------------------------------------------------------- copies

RUNTIME_RESET = {
    "uuid",
    "allowed_operations",
    "current_operations",
    "resident_on",
    "scheduled_to_be_resident_on",
    "VBDs",
    "VIFs",
    "consoles",
    "snapshots",
    "children",
    "crash_dumps",
    "VUSBs",
    "VTPMs",
    "attached_PCIs",
    "VGPUs",
    "metrics",
    "guest_metrics",
    "domid",
    "suspend_VDI",
    "parent",
    "snapshot_of",
    "snapshot_time",
    "snapshot_info",
    "snapshot_metadata",
    "is_a_snapshot",
    "last_booted_record",
    "memory_target",
    "blobs",
    "groups",
    "is_default_template",
}


def _new_mac(ctx: Ctx) -> str:
    ctx.pool.next_mac = ctx.pool.next_mac + 1
    n = ctx.pool.next_mac + (ctx.pool.index << 20)
    return "b6:%02x:%02x:%02x:%02x:%02x" % (
        0x10 + ctx.pool.index,
        (n >> 24) & 255,
        (n >> 16) & 255,
        (n >> 8) & 255,
        n & 255,
    )


def copy_vm(ctx: Ctx, vm: str, name: str, mode: str, sr: str = NULL, ignore: set[str] | None = None) -> str:
    """mode: clone | copy | snapshot | checkpoint."""
    from .msg_storage import dup_vdi

    db = ctx.db
    src = db.get("VM", vm)
    fields = {k: (v.copy() if type(v) in (list, dict) else v) for k, v in public(src).items() if k not in RUNTIME_RESET}
    fields["name_label"] = str(name)
    oc = fields["other_config"]
    if mode in ("clone", "copy"):
        oc.pop("default_template", None)
        oc.pop("mac_seed", None)
        oc["mac_seed"] = db._ids("VM")[0]
        if src["is_a_template"] and not src["is_a_snapshot"]:
            oc["base_template_name"] = src["name_label"]
        fields["is_a_template"] = src["is_a_template"] and not src["is_a_snapshot"]
        power = "Suspended" if (src["power_state"] == "Suspended" and src["is_a_snapshot"]) else "Halted"
        fields["power_state"] = "Halted"
    else:
        fields["is_a_template"] = True
        fields["is_a_snapshot"] = True
        fields["snapshot_of"] = vm
        fields["snapshot_time"] = now_dt()
        fields["snapshot_info"] = {"power-state-at-snapshot": src["power_state"]}
        fields["power_state"] = "Halted"
        power = (
            "Suspended"
            if mode == "checkpoint" and src["power_state"] in ("Running", "Suspended", "Paused")
            else "Halted"
        )
    new = make_vm(ctx, fields)
    if mode in ("snapshot", "checkpoint"):
        db.get("VM", new)["_meta"] = {
            k: (v.copy() if type(v) in (list, dict) else v) for k, v in src.items() if not k.startswith("_")
        }
    for vbd in src["VBDs"]:
        b = db.get("VBD", vbd)
        vdi = b["VDI"]
        if vdi != NULL and b["type"] == "Disk":
            if ignore and vdi in ignore:
                continue
            vdi = dup_vdi(ctx, vdi, "snapshot" if mode in ("snapshot", "checkpoint") else mode, sr)
        from .msg_storage import new_vbd

        new_vbd(
            ctx,
            new,
            vdi,
            b["userdevice"],
            b["type"],
            b["mode"],
            b["bootable"],
            empty=vdi == NULL,
            other_config=dict(b["other_config"]),
            unpluggable=b["unpluggable"],
        )
    from .msg_net import new_vif

    for vif in src["VIFs"]:
        v = db.get("VIF", vif)
        mac = v["MAC"] if mode in ("snapshot", "checkpoint") else _new_mac(ctx)
        new_vif(ctx, new, v["network"], v["device"], mac, mtu=v["MTU"], other_config=dict(v["other_config"]))
    if power == "Suspended" and src["suspend_VDI"] != NULL and src["suspend_VDI"] in db.tables["VDI"]:
        db.set("VM", new, "suspend_VDI", dup_vdi(ctx, src["suspend_VDI"], "copy", NULL))
    elif power == "Suspended":
        from .msg_storage import new_vdi

        db.set(
            "VM",
            new,
            "suspend_VDI",
            new_vdi(ctx, _suspend_sr(ctx, src), "Suspend image", vm_memory(src), "suspend", is_a_snapshot=True),
        )
    if power != "Halted":
        db.set("VM", new, "power_state", power)
    if mode in ("snapshot", "checkpoint"):
        db.set("VM", vm, "parent", new)
    refresh(ctx, new)
    return new


@api("VM.clone", "vm", "new_name")
def vm_clone(ctx: Ctx, vm: Any, new_name: Any) -> str:
    begin(ctx, vm, "clone")
    return copy_vm(ctx, vm, str(new_name), "clone")


@api("VM.copy", "vm", "new_name", "sr")
def vm_copy(ctx: Ctx, vm: Any, new_name: Any, sr: Any) -> str:
    begin(ctx, vm, "copy")
    if sr in ctx.db.tables["SR"] and ctx.db.get("SR", sr)["content_type"] == "iso":
        raise XapiError("OPERATION_NOT_ALLOWED", "Cannot copy a VM's disks to an ISO SR")
    return copy_vm(ctx, vm, str(new_name), "copy", sr if sr in ctx.db.tables["SR"] else NULL)


@api("VM.snapshot", "vm", "new_name", "ignore_vdis", defaults=([],))
def vm_snapshot(ctx: Ctx, vm: Any, new_name: Any, ignore_vdis: Any = ()) -> str:
    begin(ctx, vm, "snapshot")
    return copy_vm(ctx, vm, str(new_name), "snapshot", ignore=set(ignore_vdis or ()))


@api("VM.checkpoint", "vm", "new_name")
def vm_checkpoint(ctx: Ctx, vm: Any, new_name: Any) -> str:
    begin(ctx, vm, "checkpoint")
    return copy_vm(ctx, vm, str(new_name), "checkpoint")


REVERT_KEEP = {
    "name_label",
    "uuid",
    "is_a_template",
    "snapshots",
    "tags",
    "affinity",
    "children",
    "parent",
    "VBDs",
    "VIFs",
    "consoles",
    "metrics",
    "guest_metrics",
    "resident_on",
    "allowed_operations",
    "current_operations",
    "snapshot_of",
    "is_a_snapshot",
    "snapshot_time",
    "snapshot_info",
    "suspend_VDI",
    "power_state",
    "domid",
    "blocked_operations",
    "is_default_template",
}


@api("VM.revert", "snapshot")
def vm_revert(ctx: Ctx, snapshot: Any) -> str:
    from .msg_net import new_vif
    from .msg_storage import dup_vdi, new_vbd, vdi_destroy_internal

    db = ctx.db
    srec = begin(ctx, snapshot, "revert")
    vm = srec["snapshot_of"]
    if vm not in db.tables["VM"]:
        raise XapiError("VM_REVERT_FAILED", vm, snapshot)
    vrec = db.get("VM", vm)
    if vrec["power_state"] != "Halted":
        _shutdown(ctx, vm)
    meta = srec.get("_meta", {})
    for k, v in meta.items():
        if k not in REVERT_KEEP and k in vrec:
            vrec[k] = v.copy() if type(v) in (list, dict) else v
    old_disks = [db.get("VBD", b)["VDI"] for b in vrec["VBDs"] if db.get("VBD", b)["type"] == "Disk"]
    for vbd in list(vrec["VBDs"]):
        db.destroy("VBD", vbd)
    for vdi in old_disks:
        if vdi in db.tables["VDI"] and not db.get("VDI", vdi)["VBDs"]:
            vdi_destroy_internal(ctx, vdi)
    for vif in list(vrec["VIFs"]):
        db.destroy("VIF", vif)
    for vbd in srec["VBDs"]:
        b = db.get("VBD", vbd)
        vdi = b["VDI"]
        if vdi != NULL and b["type"] == "Disk":
            vdi = dup_vdi(ctx, vdi, "clone", NULL)
        new_vbd(ctx, vm, vdi, b["userdevice"], b["type"], b["mode"], b["bootable"], empty=vdi == NULL)
    for vif in srec["VIFs"]:
        v = db.get("VIF", vif)
        new_vif(ctx, vm, v["network"], v["device"], v["MAC"], mtu=v["MTU"])
    if srec["power_state"] == "Suspended" and srec["suspend_VDI"] in db.tables["VDI"]:
        db.set("VM", vm, "suspend_VDI", dup_vdi(ctx, srec["suspend_VDI"], "copy", NULL))
        db.set("VM", vm, "power_state", "Suspended")
    db.set("VM", vm, "parent", snapshot)
    refresh(ctx, vm)
    return ""


PROVISION_VDI_TYPES = ("system", "user", "ephemeral", "suspend", "crashdump")


def _provision_disks(xml: str) -> list[dict[str, str]]:
    """xapi_templates.ml ``disks_of_xml``/``disk_of_xml``: <provision> of <disk device size sr bootable>."""
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as e:
        raise XapiError("INTERNAL_ERROR", f"Xml.Error: {e}") from None
    if root.tag != "provision" or root.attrib:
        raise XapiError("INTERNAL_ERROR", "Xapi_templates.Parse_failure")
    disks = []
    for d in root:
        if d.tag != "disk" or len(d) or any(k not in d.attrib for k in ("device", "size", "sr", "bootable")):
            raise XapiError("INTERNAL_ERROR", "Xapi_templates.Parse_failure")
        try:
            int(d.attrib["size"])
        except ValueError:
            raise XapiError("INTERNAL_ERROR", "Xapi_templates.Parse_failure") from None
        disks.append(dict(d.attrib))
    return disks


@api("VM.provision", "vm")
def vm_provision(ctx: Ctx, vm: Any) -> str:
    """xapi_vm.ml ``provision`` + xapi_templates.ml ``pre_install``/``create_disk``/``post_install``.

    The VM stops being a template first; each <disk> is then created in order, its SR looked up
    *by uuid* (``sr=""`` or an unknown uuid: ``UUID_INVALID [sr, <value>]`` - xapi does not fall
    back to the pool's default SR, clients rewrite the XML first). Disks made before a failure stay,
    as in xapi (pre_install runs outside the clean-up block)."""
    from .msg_storage import new_vbd, new_vdi

    db = ctx.db
    rec = begin(ctx, vm, "provision")
    db.set("VM", vm, "is_a_template", False)
    oc = rec["other_config"]
    disks = _provision_disks(oc["disks"]) if "disks" in oc else []
    for d in disks:
        sr = db.uuids["SR"].get(d["sr"])
        if sr is None:
            refresh(ctx, vm)
            raise XapiError("UUID_INVALID", "sr", d["sr"])
        vtype = d.get("type", "system")
        if vtype not in PROVISION_VDI_TYPES:
            vtype = "system"
        vdi = new_vdi(
            ctx,
            sr,
            "",
            int(d["size"]),
            vtype,
            name_description="Created by template provisioner",
            sm_config={"vmhint": rec["uuid"]},
        )
        vbd = new_vbd(
            ctx,
            vm,
            vdi,
            d["device"],
            "Disk",
            "RW",
            d["bootable"] == "true",
            unpluggable=vtype != "system",
            other_config={"owner": ""},
        )
        db.set("VDI", vdi, "name_label", db.get("VBD", vbd)["userdevice"])
    oc.pop("disks", None)
    oc.pop("postinstall", None)
    refresh(ctx, vm)
    return ""


# ---------------------------------------------------------------- memory and VCPUs


def _memory_check(smin: int, dmin: int, dmax: int, smax: int) -> None:
    if not (0 <= smin <= dmin <= dmax <= smax):
        raise XapiError(
            "MEMORY_CONSTRAINT_VIOLATION",
            "Memory limits must satisfy: static_min <= dynamic_min <= dynamic_max <= static_max",
        )


def _set_mem(ctx: Ctx, vm: str, **kw: int) -> None:
    rec = ctx.db.get("VM", vm)
    vals = {k: rec[k] for k in ("memory_static_min", "memory_dynamic_min", "memory_dynamic_max", "memory_static_max")}
    vals.update(kw)
    _memory_check(
        vals["memory_static_min"], vals["memory_dynamic_min"], vals["memory_dynamic_max"], vals["memory_static_max"]
    )
    ctx.db.update("VM", vm, **kw)
    refresh(ctx, vm)


@api("VM.set_memory_limits", "self", "static_min", "static_max", "dynamic_min", "dynamic_max")
def vm_set_memory_limits(ctx: Ctx, vm: Any, smin: Any, smax: Any, dmin: Any, dmax: Any) -> str:
    begin(ctx, vm, "changing_memory_limits")
    _set_mem(
        ctx,
        vm,
        memory_static_min=as_int(smin),
        memory_static_max=as_int(smax),
        memory_dynamic_min=as_int(dmin),
        memory_dynamic_max=as_int(dmax),
    )
    return ""


@api("VM.set_memory_static_range", "self", "min", "max")
def vm_set_memory_static_range(ctx: Ctx, vm: Any, lo: Any, hi: Any) -> str:
    begin(ctx, vm, "changing_static_range")
    _set_mem(ctx, vm, memory_static_min=as_int(lo), memory_static_max=as_int(hi))
    return ""


@api("VM.set_memory_dynamic_range", "self", "min", "max")
def vm_set_memory_dynamic_range(ctx: Ctx, vm: Any, lo: Any, hi: Any) -> str:
    begin(ctx, vm, "changing_dynamic_range")
    _set_mem(ctx, vm, memory_dynamic_min=as_int(lo), memory_dynamic_max=as_int(hi))
    return ""


@api("VM.set_memory", "self", "value")
def vm_set_memory(ctx: Ctx, vm: Any, value: Any) -> str:
    begin(ctx, vm, "changing_memory_limits")
    v = as_int(value)
    _set_mem(ctx, vm, memory_static_max=v, memory_dynamic_min=v, memory_dynamic_max=v)
    return ""


def _single_mem(field: str, op: str) -> None:
    @api(f"VM.set_{field}", "self", "value")
    def setter(ctx: Ctx, vm: Any, value: Any) -> str:
        begin(ctx, vm, op)
        _set_mem(ctx, vm, **{field: as_int(value)})
        return ""


for _f, _op in (
    ("memory_static_min", "changing_static_range"),
    ("memory_static_max", "changing_static_range"),
    ("memory_dynamic_min", "changing_dynamic_range"),
    ("memory_dynamic_max", "changing_dynamic_range"),
):
    _single_mem(_f, _op)


@api("VM.set_VCPUs_max", "self", "value")
def vm_set_vcpus_max(ctx: Ctx, vm: Any, value: Any) -> str:
    rec = begin(ctx, vm, "changing_VCPUs")
    v = as_int(value)
    if v < 1 or v < rec["VCPUs_at_startup"]:
        raise XapiError("INVALID_VALUE", "VCPUs_max", v)
    ctx.db.set("VM", vm, "VCPUs_max", v)
    refresh(ctx, vm)
    return ""


@api("VM.set_VCPUs_at_startup", "self", "value")
def vm_set_vcpus_at_startup(ctx: Ctx, vm: Any, value: Any) -> str:
    rec = begin(ctx, vm, "changing_VCPUs")
    v = as_int(value)
    if v < 1 or v > rec["VCPUs_max"]:
        raise XapiError("INVALID_VALUE", "VCPUs_at_startup", v)
    ctx.db.set("VM", vm, "VCPUs_at_startup", v)
    refresh(ctx, vm)
    return ""


@api("VM.set_VCPUs_number_live", "self", "nvcpu")
def vm_set_vcpus_number_live(ctx: Ctx, vm: Any, value: Any) -> str:
    rec = begin(ctx, vm, "changing_VCPUs_live")
    v = as_int(value)
    if v < 1 or v > rec["VCPUs_max"]:
        raise XapiError("INVALID_VALUE", "VCPUs_number", v)
    if rec["metrics"] in ctx.db.tables["VM_metrics"]:
        ctx.db.set("VM_metrics", rec["metrics"], "VCPUs_number", v)
    return ""


def _set_is_a_template(ctx: Ctx, vm: str, value: Any) -> None:
    rec = ctx.db.get("VM", vm)
    if value and not rec["is_a_template"]:
        lifecycle.assert_op(rec, vm, "make_into_template")
    ctx.db.set("VM", vm, "is_a_template", bool(value))
    refresh(ctx, vm)


SET_HOOKS[("VM", "is_a_template")] = _set_is_a_template


def _set_blocked(ctx: Ctx, vm: str, value: Any) -> None:
    ctx.db.set("VM", vm, "blocked_operations", value)
    refresh(ctx, vm)


SET_HOOKS[("VM", "blocked_operations")] = _set_blocked
NO_IMPLICIT_SETTER.setdefault("VM", set())


# ---------------------------------------------------------------- migration


def move_vm_to_host(ctx: Ctx, vm: str, host: str) -> None:
    ctx.db.set("VM", vm, "resident_on", host)
    refresh(ctx, vm)


@api("VM.pool_migrate", "vm", "host", "options")
def vm_pool_migrate(ctx: Ctx, vm: Any, host: Any, options: Any) -> str:
    ctx.rec("host", host)
    rec = begin(ctx, vm, "pool_migrate")
    if rec["resident_on"] != host:
        pick_host(ctx, vm, host=host)
    move_vm_to_host(ctx, vm, host)
    return ""


def _migrate_plan(
    ctx: Ctx, vm: str, dest: Any, vdi_map: Any, vif_map: Any
) -> tuple[Any, str, dict[str, str], dict[str, str]]:
    if not isinstance(dest, dict) or "host" not in dest:
        raise XapiError("INVALID_VALUE", "dest", str(dest))
    target_pool = ctx.sim.pool_of_host(str(dest["host"]))
    if target_pool is None:
        raise XapiError("CANNOT_CONTACT_HOST", str(dest["host"]))
    host = str(dest["host"])
    vdi_map = {str(k): str(v) for k, v in (vdi_map or {}).items()}
    vif_map = {str(k): str(v) for k, v in (vif_map or {}).items()}
    rec = ctx.db.get("VM", vm)
    tdb = target_pool.db
    for sr in vdi_map.values():
        if sr not in tdb.tables["SR"]:
            raise XapiError("HANDLE_INVALID", "SR", sr)
    for net in vif_map.values():
        if net not in tdb.tables["network"]:
            raise XapiError("HANDLE_INVALID", "network", net)
    cross = target_pool is not ctx.pool
    for vbd in rec["VBDs"]:
        b = ctx.db.get("VBD", vbd)
        if b["VDI"] == NULL or b["type"] != "Disk":
            continue
        if cross and b["VDI"] not in vdi_map:
            raise XapiError("VDI_NOT_IN_MAP", b["VDI"])
    if cross:
        for vif in rec["VIFs"]:
            if vif not in vif_map:
                raise XapiError("VIF_NOT_IN_MAP", vif)
    return target_pool, host, vdi_map, vif_map


@api("VM.assert_can_migrate", "vm", "dest", "live", "vdi_map", "vif_map", "options", "vgpu_map", defaults=({},))
def vm_assert_can_migrate(
    ctx: Ctx, vm: Any, dest: Any, live: Any, vdi_map: Any, vif_map: Any, options: Any, vgpu_map: Any = None
) -> str:
    rec = ctx.rec("VM", vm)
    lifecycle.assert_op(rec, vm, "migrate_send")
    target_pool, host, _vm, _vf = _migrate_plan(ctx, vm, dest, vdi_map, vif_map)
    if rec["power_state"] == "Running":
        tctx = Ctx(ctx.sim, target_pool, ctx.method)
        free = host_free_memory(tctx, host)
        if free < vm_memory(rec):
            raise XapiError("HOST_NOT_ENOUGH_FREE_MEMORY", vm_memory(rec), free)
    return ""


@api(
    "VM.migrate_send",
    "vm",
    "dest",
    "live",
    "vdi_map",
    "vif_map",
    "options",
    "vgpu_map",
    "vdi_format_map",
    defaults=({}, {}),
)
def vm_migrate_send(
    ctx: Ctx,
    vm: Any,
    dest: Any,
    live: Any,
    vdi_map: Any,
    vif_map: Any,
    options: Any,
    vgpu_map: Any = None,
    vdi_format_map: Any = None,
) -> str:
    from .msg_storage import move_vdi

    rec = begin(ctx, vm, "migrate_send")
    vm_assert_can_migrate(ctx, vm, dest, live, vdi_map, vif_map, options)
    target_pool, host, vdi_map, vif_map = _migrate_plan(ctx, vm, dest, vdi_map, vif_map)
    if target_pool is ctx.pool:
        for vbd in rec["VBDs"]:
            vdi = ctx.db.get("VBD", vbd)["VDI"]
            if vdi in vdi_map and ctx.db.get("VDI", vdi)["SR"] != vdi_map[vdi]:
                ctx.db.set("VBD", vbd, "VDI", move_vdi(ctx, ctx, vdi, vdi_map[vdi]))
        for vif in rec["VIFs"]:
            if vif in vif_map:
                ctx.db.set("VIF", vif, "network", vif_map[vif])
        if rec["power_state"] == "Running":
            move_vm_to_host(ctx, vm, host)
        refresh(ctx, vm)
        return vm
    return _cross_pool_move(ctx, vm, target_pool, host, vdi_map, vif_map)


def _cross_pool_move(
    ctx: Ctx, vm: str, target_pool: Any, host: str, vdi_map: dict[str, str], vif_map: dict[str, str]
) -> str:
    from .msg_net import new_vif
    from .msg_storage import move_vdi, new_vbd

    src_db = ctx.db
    rec = src_db.get("VM", vm)
    tctx = Ctx(ctx.sim, target_pool, ctx.method)
    power = rec["power_state"]
    fields = {
        k: (v.copy() if type(v) in (list, dict) else v)
        for k, v in public(rec).items()
        if k not in RUNTIME_RESET or k == "uuid"
    }
    fields["power_state"] = "Halted"
    vbds = [dict(src_db.get("VBD", b)) for b in rec["VBDs"]]
    vifs = [dict(src_db.get("VIF", v), _ref=v) for v in rec["VIFs"]]
    suspend_vdi = rec["suspend_VDI"]
    # leave the source pool
    if power == "Suspended":
        rec["power_state"] = "Halted"
    set_halted(ctx, vm)
    rec["suspend_VDI"] = NULL
    moved: dict[str, str] = {}
    for b in vbds:
        if b["VDI"] != NULL and b["type"] == "Disk" and b["VDI"] in vdi_map:
            moved[b["VDI"]] = move_vdi(ctx, tctx, b["VDI"], vdi_map[b["VDI"]])
    uuid = fields.pop("uuid")
    src_db.uuids["VM"].pop(uuid, None)
    destroy_vm(ctx, vm, check=False)
    if suspend_vdi in src_db.tables["VDI"]:
        from .msg_storage import vdi_destroy_internal

        vdi_destroy_internal(ctx, suspend_vdi)
    fields["uuid"] = uuid
    new = make_vm(tctx, fields)
    for b in vbds:
        vdi = moved.get(b["VDI"], NULL)
        new_vbd(tctx, new, vdi, b["userdevice"], b["type"], b["mode"], b["bootable"], empty=vdi == NULL)
    for v in vifs:
        new_vif(tctx, new, vif_map[v["_ref"]], v["device"], v["MAC"], mtu=v["MTU"])
    if power in ("Running", "Paused"):
        set_running(tctx, new, pick_host(tctx, new, host=host), paused=power == "Paused")
    return new


# ---------------------------------------------------------------- data sources (RRD-like counters)


def data_sources(ctx: Ctx, vm: str) -> dict[str, tuple[float, str]]:
    rec = ctx.db.get("VM", vm)
    running = rec["power_state"] == "Running"
    m = ctx.db.tables["VM_metrics"].get(rec["metrics"])
    out: dict[str, tuple[float, str]] = {}
    out["memory"] = (float(m["memory_actual"] if m else 0), "B")
    out["memory_target"] = (float(rec["memory_target"]), "B")
    out["memory_internal_free"] = (float(rec["memory_target"] // 2 // 1024) if running else 0.0, "KiB")
    for i in range(int(m["VCPUs_number"]) if m else 0):
        out[f"cpu{i}"] = (0.05 + 0.01 * i if running else 0.0, "(fraction)")
    for vif in rec["VIFs"]:
        dev = ctx.db.get("VIF", vif)["device"]
        k = int(dev) + 1 if dev.isdigit() else 1
        out[f"vif_{dev}_rx"] = (1000.0 * k if running else 0.0, "B/s")
        out[f"vif_{dev}_tx"] = (500.0 * k if running else 0.0, "B/s")
    for vbd in rec["VBDs"]:
        b = ctx.db.get("VBD", vbd)
        if b["type"] != "Disk":
            continue
        dev = b["device"] or ("xvd" + chr(ord("a") + int(b["userdevice"])) if b["userdevice"].isdigit() else "xvda")
        out[f"vbd_{dev}_read"] = (4096.0 if running else 0.0, "B/s")
        out[f"vbd_{dev}_write"] = (2048.0 if running else 0.0, "B/s")
    return out


@api("VM.get_data_sources", "self")
def vm_get_data_sources(ctx: Ctx, vm: Any) -> list[dict[str, Any]]:
    ctx.rec("VM", vm)
    return [
        {
            "name_label": k,
            "name_description": k,
            "enabled": True,
            "standard": True,
            "units": u,
            "min": 0.0,
            "max": 1e18,
            "value": v,
        }
        for k, (v, u) in sorted(data_sources(ctx, vm).items())
    ]


@api("VM.query_data_source", "self", "data_source")
def vm_query_data_source(ctx: Ctx, vm: Any, name: Any) -> float:
    ctx.rec("VM", vm)
    ds = data_sources(ctx, vm)
    if name not in ds:
        raise XapiError("INTERNAL_ERROR", f'Rrd.Invalid_data_source("{name}")')
    return ds[name][0]


@api("VM.get_boot_record", "self")
def vm_get_boot_record(ctx: Ctx, vm: Any) -> dict[str, Any]:
    rec = ctx.rec("VM", vm)
    lifecycle.assert_op(rec, vm, "get_boot_record")
    return public(rec)


@api("VM.get_allowed_VBD_devices", "vm")
def vm_allowed_vbd_devices(ctx: Ctx, vm: Any) -> list[str]:
    rec = ctx.rec("VM", vm)
    used = {ctx.db.get("VBD", b)["userdevice"] for b in rec["VBDs"]}
    return [str(i) for i in range(16) if str(i) not in used]


@api("VM.get_allowed_VIF_devices", "vm")
def vm_allowed_vif_devices(ctx: Ctx, vm: Any) -> list[str]:
    rec = ctx.rec("VM", vm)
    used = {ctx.db.get("VIF", v)["device"] for v in rec["VIFs"]}
    return [str(i) for i in range(7) if str(i) not in used]


@api("VM.get_possible_hosts", "vm")
def vm_get_possible_hosts(ctx: Ctx, vm: Any) -> list[str]:
    ctx.rec("VM", vm)
    return [h for h, r in ctx.db.tables["host"].items() if r["enabled"]]
