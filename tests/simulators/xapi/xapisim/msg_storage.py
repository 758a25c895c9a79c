"""SR, PBD, VDI and VBD messages."""

from __future__ import annotations

from typing import Any

from .api import CREATE_HOOKS, DESTROY_HOOKS, SET_HOOKS, Ctx, api, as_int
from .model import NULL, XapiError, now_dt

# ---------------------------------------------------------------- SR

# The VDI capabilities each SM driver declares (xapi-project/sm, libs/sm/drivers/*SR.py
# ``CAPABILITIES``), keyed by SR type. None of the stock drivers declares VDI_RESIZE_ONLINE, so
# xapi refuses VDI.resize_online on them (xapi_vdi.ml ``check_sm_feature_error``). A scenario SR
# may add capabilities (``sm_capabilities``) to model a third-party driver.
SM_CAPABILITIES: dict[str, frozenset[str]] = {
    # LVHDSR.py (type "lvm" / "lvhd")
    "lvm": frozenset(
        [
            "VDI_CREATE",
            "VDI_DELETE",
            "VDI_ATTACH",
            "VDI_DETACH",
            "VDI_MIRROR",
            "VDI_CLONE",
            "VDI_SNAPSHOT",
            "VDI_RESIZE",
            "VDI_RESET_ON_BOOT",
            "VDI_UPDATE",
            "VDI_CONFIG_CBT",
            "VDI_ACTIVATE",
            "VDI_DEACTIVATE",
        ]
    ),
    # EXTSR.py
    "ext": frozenset(
        [
            "VDI_CREATE",
            "VDI_DELETE",
            "VDI_ATTACH",
            "VDI_DETACH",
            "VDI_UPDATE",
            "VDI_CLONE",
            "VDI_SNAPSHOT",
            "VDI_RESIZE",
            "VDI_MIRROR",
            "VDI_GENERATE_CONFIG",
            "VDI_RESET_ON_BOOT",
            "VDI_CONFIG_CBT",
            "VDI_ACTIVATE",
            "VDI_DEACTIVATE",
            "VDI_READ_CACHING",
        ]
    ),
    # NFSSR.py
    "nfs": frozenset(
        [
            "VDI_CREATE",
            "VDI_DELETE",
            "VDI_ATTACH",
            "VDI_DETACH",
            "VDI_UPDATE",
            "VDI_CLONE",
            "VDI_SNAPSHOT",
            "VDI_RESIZE",
            "VDI_GENERATE_CONFIG",
            "VDI_MIRROR",
            "VDI_RESET_ON_BOOT",
            "VDI_CONFIG_CBT",
            "VDI_ACTIVATE",
            "VDI_DEACTIVATE",
            "VDI_READ_CACHING",
        ]
    ),
    # ISOSR.py
    "iso": frozenset(["VDI_CREATE", "VDI_DELETE", "VDI_ATTACH", "VDI_DETACH"]),
    # udevSR.py
    "udev": frozenset(["VDI_INTRODUCE", "VDI_ATTACH", "VDI_DETACH", "VDI_UPDATE"]),
}
SM_CAPABILITIES["lvhd"] = SM_CAPABILITIES["lvm"]

# xapi_vdi.ml ``feature_of_op``: the SM capability each VDI operation needs (None: always allowed)
VDI_OP_FEATURE: dict[str, str | None] = {
    "forget": None,
    "copy": None,
    "force_unlock": None,
    "snapshot": "VDI_SNAPSHOT",
    "destroy": "VDI_DELETE",
    "resize": "VDI_RESIZE",
    "update": "VDI_UPDATE",
    "resize_online": "VDI_RESIZE_ONLINE",
    "generate_config": "VDI_GENERATE_CONFIG",
    "clone": "VDI_CLONE",
    "mirror": "VDI_MIRROR",
    "enable_cbt": "VDI_CONFIG_CBT",
    "disable_cbt": "VDI_CONFIG_CBT",
    "set_on_boot": "VDI_RESET_ON_BOOT",
}


def sr_capabilities(ctx: Ctx, sr: str) -> frozenset[str]:
    rec = ctx.db.get("SR", sr)
    return SM_CAPABILITIES.get(rec["type"], frozenset()) | frozenset(rec.get("_extra_capabilities", ()))


def assert_sm_feature(ctx: Ctx, sr: str, op: str) -> None:
    feature = VDI_OP_FEATURE.get(op)
    if feature is not None and feature not in sr_capabilities(ctx, sr):
        raise XapiError("SR_OPERATION_NOT_SUPPORTED", sr)


def sr_refresh(ctx: Ctx, sr: str) -> None:
    rec = ctx.db.tables["SR"].get(sr)
    if rec is None:
        return
    vdis = [ctx.db.get("VDI", v) for v in rec["VDIs"]]
    rec["physical_utilisation"] = sum(v["physical_utilisation"] for v in vdis)
    rec["virtual_allocation"] = sum(v["virtual_size"] for v in vdis)
    ctx.db.touch("SR", sr)


def _sr_space(ctx: Ctx, sr: str, need: int) -> None:
    rec = ctx.db.get("SR", sr)
    if rec["content_type"] == "iso" or rec["physical_size"] <= 0:
        return
    free = rec["physical_size"] - rec["physical_utilisation"]
    if need > free:
        raise XapiError("SR_FULL", need, free)


@api("SR.scan", "sr")
def sr_scan(ctx: Ctx, sr: Any) -> str:
    ctx.rec("SR", sr)
    sr_refresh(ctx, sr)
    return ""


@api("SR.update", "sr")
def sr_update(ctx: Ctx, sr: Any) -> str:
    return sr_scan(ctx, sr)


@api("SR.get_supported_types")
def sr_supported_types(ctx: Ctx) -> list[str]:
    return ["ext", "lvm", "nfs", "iso", "udev"]


# ---------------------------------------------------------------- VDI


# operations that xapi allows on a VDI with an attached VBD (xapi_vdi.ml ``operation_can_be_performed_live``)
LIVE_VDI_OPS = {"snapshot", "resize_online", "clone", "mirror", "enable_cbt", "disable_cbt"}
VDI_OPS = (
    "clone",
    "copy",
    "snapshot",
    "destroy",
    "forget",
    "update",
    "generate_config",
    "resize",
    "resize_online",
    "set_on_boot",
    "enable_cbt",
    "disable_cbt",
    "mirror",
)


def _vdi_ops(caps: frozenset[str], rec: dict[str, Any], in_use: bool) -> list[str]:
    """VDI.allowed_operations as xapi computes them (every op whose check passes, incl. the SM feature)."""
    ops = []
    for op in VDI_OPS:
        feature = VDI_OP_FEATURE.get(op)
        if feature is not None and feature not in caps:
            continue
        if in_use and op not in LIVE_VDI_OPS and op != "copy":
            continue
        if rec["read_only"] and op in ("resize", "resize_online", "set_on_boot", "enable_cbt", "disable_cbt", "mirror"):
            continue
        ops.append(op)
    return ops


def vdi_in_use(ctx: Ctx, vdi: str) -> bool:
    for vbd in ctx.db.get("VDI", vdi)["VBDs"]:
        b = ctx.db.get("VBD", vbd)
        if b["currently_attached"]:
            return True
        vm = ctx.db.tables["VM"].get(b["VM"])
        if vm is not None and vm["power_state"] in ("Running", "Paused", "Suspended"):
            return True
    return False


def vdi_refresh(ctx: Ctx, vdi: str) -> None:
    rec = ctx.db.tables["VDI"].get(vdi)
    if rec is not None:
        rec["allowed_operations"] = _vdi_ops(sr_capabilities(ctx, rec["SR"]), rec, vdi_in_use(ctx, vdi))
        ctx.db.touch("VDI", vdi)


def new_vdi(
    ctx: Ctx,
    sr: str,
    name: str,
    size: int,
    vtype: str = "user",
    read_only: bool = False,
    sharable: bool = False,
    content: bytes | None = None,
    **extra: Any,
) -> str:
    srrec = ctx.db.get("SR", sr)
    if srrec["content_type"] != "iso":
        _sr_space(ctx, sr, size)
    fields = {
        "name_label": name,
        "SR": sr,
        "virtual_size": int(size),
        "physical_utilisation": int(size),
        "type": vtype,
        "read_only": read_only,
        "sharable": sharable,
        "managed": True,
        "storage_lock": False,
        "missing": False,
        "location": "",
        "sm_config": {},
        "xenstore_data": {},
        "other_config": {},
    }
    fields.update(extra)
    ref = ctx.db.create("VDI", fields)
    rec = ctx.db.get("VDI", ref)
    if not rec["location"]:
        rec["location"] = rec["uuid"]
    rec["_content"] = content
    rec["allowed_operations"] = _vdi_ops(sr_capabilities(ctx, sr), rec, False)
    sr_refresh(ctx, sr)
    return ref


def dup_vdi(ctx: Ctx, vdi: str, mode: str, sr: str = NULL, target: Ctx | None = None) -> str:
    """mode: clone | copy | snapshot. copy may go to another SR (NULL: same SR)."""
    src = ctx.db.get("VDI", vdi)
    tctx = target or ctx
    dest_sr = sr if sr in tctx.db.tables["SR"] else src["SR"]
    extra: dict[str, Any] = {
        "sm_config": dict(src["sm_config"]),
        "other_config": dict(src["other_config"]),
        "xenstore_data": dict(src["xenstore_data"]),
        "name_description": src["name_description"],
        "on_boot": src["on_boot"],
        "allow_caching": src["allow_caching"],
    }
    if mode == "snapshot":
        extra.update(is_a_snapshot=True, snapshot_of=vdi, snapshot_time=now_dt())
    ref = new_vdi(
        tctx,
        dest_sr,
        src["name_label"],
        src["virtual_size"],
        src["type"],
        src["read_only"],
        src["sharable"],
        content=src.get("_content"),
        **extra,
    )
    return ref


def move_vdi(ctx: Ctx, tctx: Ctx, vdi: str, sr: str) -> str:
    """Mirror a VDI into SR `sr` of tctx's pool and destroy the source (storage migration)."""
    src = ctx.db.get("VDI", vdi)
    new = dup_vdi(ctx, vdi, "copy", sr, target=tctx)
    if tctx.pool is ctx.pool:
        # keep the identity a storage motion would give: same uuid moves with the disk
        pass
    nrec = tctx.db.get("VDI", new)
    old_uuid = src["uuid"]
    for vbd in list(src["VBDs"]):
        if tctx.pool is ctx.pool:
            ctx.db.set("VBD", vbd, "VDI", new)
    vdi_destroy_internal(ctx, vdi)
    tctx.db.uuids["VDI"].pop(nrec["uuid"], None)
    nrec["uuid"] = old_uuid
    tctx.db.uuids["VDI"][old_uuid] = new
    return new


def vdi_destroy_internal(ctx: Ctx, vdi: str) -> None:
    rec = ctx.db.get("VDI", vdi)
    for vbd in list(rec["VBDs"]):
        ctx.db.destroy("VBD", vbd)
    sr = rec["SR"]
    ctx.db.destroy("VDI", vdi)
    sr_refresh(ctx, sr)


def _vdi_create_hook(ctx: Ctx, fields: dict[str, Any]) -> str:
    sr = fields.get("SR", NULL)
    ctx.rec("SR", sr)
    size = int(fields.pop("virtual_size", 0))
    name = fields.pop("name_label", "")
    vtype = fields.pop("type", "user")
    ro = fields.pop("read_only", False)
    sharable = fields.pop("sharable", False)
    fields.pop("SR", None)
    return new_vdi(ctx, sr, name, size, vtype, ro, sharable, **fields)


CREATE_HOOKS["VDI"] = _vdi_create_hook


def _vdi_writable(ctx: Ctx, vdi: str, rec: dict[str, Any]) -> None:
    if ctx.db.get("SR", rec["SR"])["type"] == "udev":
        raise XapiError("VDI_IS_A_PHYSICAL_DEVICE", vdi)
    if rec["read_only"]:
        raise XapiError("VDI_READONLY", vdi)


def _vdi_destroy_hook(ctx: Ctx, vdi: str) -> None:
    rec = ctx.db.get("VDI", vdi)
    if ctx.db.get("SR", rec["SR"])["type"] == "udev":
        raise XapiError("VDI_IS_A_PHYSICAL_DEVICE", vdi)
    if vdi_in_use(ctx, vdi):
        raise XapiError("VDI_IN_USE", vdi, "destroy")
    vdi_destroy_internal(ctx, vdi)


DESTROY_HOOKS["VDI"] = _vdi_destroy_hook


@api("VDI.destroy", "self")
def vdi_destroy(ctx: Ctx, vdi: Any) -> str:
    ctx.rec("VDI", vdi)
    _vdi_destroy_hook(ctx, vdi)
    return ""


def _resize(ctx: Ctx, vdi: str, size: Any, online: bool) -> None:
    rec = ctx.rec("VDI", vdi)
    _vdi_writable(ctx, vdi, rec)
    new = as_int(size, "size")
    # xapi_vdi.ml ``check_operation_error``: attached VBDs block an offline resize (VDI_IN_USE),
    # then the SR's driver must declare the capability (SR_OPERATION_NOT_SUPPORTED [sr])
    if vdi_in_use(ctx, vdi) and not online:
        raise XapiError("VDI_IN_USE", vdi, "resize")
    assert_sm_feature(ctx, rec["SR"], "resize_online" if online else "resize")
    if new < rec["virtual_size"]:
        raise XapiError("VDI_TOO_SMALL", vdi, rec["virtual_size"])
    _sr_space(ctx, rec["SR"], new - rec["virtual_size"])
    ctx.db.update("VDI", vdi, virtual_size=new, physical_utilisation=new)
    content = rec.get("_content")
    if content is not None and len(content) > new:
        rec["_content"] = content[:new]
    sr_refresh(ctx, rec["SR"])


@api("VDI.resize", "vdi", "size")
def vdi_resize(ctx: Ctx, vdi: Any, size: Any) -> str:
    _resize(ctx, vdi, size, online=False)
    return ""


@api("VDI.resize_online", "vdi", "size")
def vdi_resize_online(ctx: Ctx, vdi: Any, size: Any) -> str:
    _resize(ctx, vdi, size, online=True)
    return ""


@api("VDI.snapshot", "vdi", "driver_params", defaults=({},))
def vdi_snapshot(ctx: Ctx, vdi: Any, driver_params: Any = None) -> str:
    ctx.rec("VDI", vdi)
    return dup_vdi(ctx, vdi, "snapshot")


@api("VDI.clone", "vdi", "driver_params", defaults=({},))
def vdi_clone(ctx: Ctx, vdi: Any, driver_params: Any = None) -> str:
    ctx.rec("VDI", vdi)
    return dup_vdi(ctx, vdi, "clone")


@api("VDI.copy", "vdi", "sr", "base_vdi", "into_vdi", defaults=(NULL, NULL, NULL))
def vdi_copy(ctx: Ctx, vdi: Any, sr: Any = NULL, base_vdi: Any = NULL, into_vdi: Any = NULL) -> str:
    rec = ctx.rec("VDI", vdi)
    if into_vdi not in (NULL, "", None):
        into = ctx.rec("VDI", into_vdi)
        if into["virtual_size"] < rec["virtual_size"]:
            raise XapiError("VDI_TOO_SMALL", into_vdi, rec["virtual_size"])
        into["_content"] = rec.get("_content")
        ctx.db.touch("VDI", into_vdi)
        return into_vdi
    if sr not in (NULL, "", None):
        ctx.rec("SR", sr)
    return dup_vdi(ctx, vdi, "copy", sr if sr else NULL)


def _vdi_set_name(ctx: Ctx, vdi: str, value: Any) -> None:
    ctx.db.set("VDI", vdi, "name_label", value)


SET_HOOKS[("VDI", "name_label")] = _vdi_set_name


@api("VDI.set_name_label", "self", "value")
def vdi_set_name_label(ctx: Ctx, vdi: Any, value: Any) -> str:
    ctx.rec("VDI", vdi)
    ctx.db.set("VDI", vdi, "name_label", str(value))
    return ""


@api("VDI.set_name_description", "self", "value")
def vdi_set_name_description(ctx: Ctx, vdi: Any, value: Any) -> str:
    ctx.rec("VDI", vdi)
    ctx.db.set("VDI", vdi, "name_description", str(value))
    return ""


# ---------------------------------------------------------------- VBD


def vbd_refresh(ctx: Ctx, vbd: str) -> None:
    rec = ctx.db.tables["VBD"].get(vbd)
    if rec is None:
        return
    vm = ctx.db.tables["VM"].get(rec["VM"])
    running = vm is not None and vm["power_state"] == "Running"
    ops: list[str] = []
    if rec["type"] == "CD":
        ops.append("insert" if rec["empty"] else "eject")
    if running:
        ops += ["unplug", "unplug_force"] if rec["currently_attached"] else ["plug"]
        if rec["currently_attached"]:
            ops += ["pause"]
    else:
        ops.append("attach")
    rec["allowed_operations"] = ops
    ctx.db.touch("VBD", vbd)
    if rec["VDI"] in ctx.db.tables["VDI"]:
        vdi_refresh(ctx, rec["VDI"])


def _device_name(userdevice: str) -> str:
    return "xvd" + chr(ord("a") + int(userdevice)) if userdevice.isdigit() and int(userdevice) < 26 else ""


def new_vbd(
    ctx: Ctx,
    vm: str,
    vdi: str,
    userdevice: str,
    vtype: str = "Disk",
    mode: str = "RW",
    bootable: bool = False,
    empty: bool = False,
    **extra: Any,
) -> str:
    db = ctx.db
    vrec = ctx.rec("VM", vm)
    used = {db.get("VBD", b)["userdevice"] for b in vrec["VBDs"]}
    if userdevice in ("autodetect", ""):
        userdevice = next(str(i) for i in range(64) if str(i) not in used)
    elif userdevice in used:
        raise XapiError("DEVICE_ALREADY_EXISTS", userdevice)
    fields = {
        "VM": vm,
        "VDI": vdi if not empty else NULL,
        "userdevice": userdevice,
        "type": vtype,
        "mode": mode,
        "bootable": bool(bootable),
        "empty": bool(empty),
        "unpluggable": True,
        "storage_lock": False,
        "status_code": 0,
        "status_detail": "",
        "device": "",
        "qos_algorithm_params": {},
    }
    fields.update(extra)
    ref = db.create("VBD", fields)
    vbd_refresh(ctx, ref)
    return ref


def _vbd_create_hook(ctx: Ctx, f: dict[str, Any]) -> str:
    vm = f.pop("VM", NULL)
    ctx.rec("VM", vm)
    vdi = f.pop("VDI", NULL)
    empty = bool(f.pop("empty", False))
    vtype = f.pop("type", "Disk")
    mode = f.pop("mode", "RW")
    if not empty:
        ctx.rec("VDI", vdi)
    # xapi_vbd.ml ``create``: checked in this order, nothing is adjusted on the caller's behalf
    if vtype == "CD" and mode != "RO":
        raise XapiError("VBD_CDS_MUST_BE_READONLY")
    if vtype != "CD" and empty:
        raise XapiError("VBD_NOT_REMOVABLE_MEDIA", "in constructor")
    if mode == "RW" and vdi in ctx.db.tables["VDI"] and ctx.db.get("VDI", vdi)["read_only"]:
        raise XapiError("VDI_READONLY", vdi)
    userdevice = f.pop("userdevice", "autodetect")
    bootable = f.pop("bootable", False)
    return new_vbd(ctx, vm, vdi, userdevice, vtype, mode, bootable, empty, **f)


CREATE_HOOKS["VBD"] = _vbd_create_hook


def _vbd_destroy_hook(ctx: Ctx, vbd: str) -> None:
    rec = ctx.db.get("VBD", vbd)
    if rec["currently_attached"]:
        raise XapiError("OPERATION_NOT_ALLOWED", "VBD currently attached to a running VM")
    vdi = rec["VDI"]
    ctx.db.destroy("VBD", vbd)
    if vdi in ctx.db.tables["VDI"]:
        vdi_refresh(ctx, vdi)


DESTROY_HOOKS["VBD"] = _vbd_destroy_hook


def _vbd_vm_running(ctx: Ctx, rec: dict[str, Any]) -> None:
    vm = ctx.db.get("VM", rec["VM"])
    if vm["power_state"] != "Running":
        raise XapiError("VM_BAD_POWER_STATE", rec["VM"], "running", vm["power_state"].lower())


def _vbd_hotplug(ctx: Ctx, vbd: str, rec: dict[str, Any]) -> None:
    """xapi_vbd_helpers.ml ``valid_operations``, after the power checks: PV drivers for hot-plug on
    an HVM guest, and no hot-plug of HVM CD drives at all."""
    from .msg_vm import domain_type, hotplug_error

    err = hotplug_error(ctx, rec["VM"], "vbd")
    if err is not None:
        raise err
    vm = ctx.db.get("VM", rec["VM"])
    if rec["type"] == "CD" and vm["power_state"] == "Running" and domain_type(vm) == "hvm":
        raise XapiError("OPERATION_NOT_ALLOWED", "HVM CDROMs cannot be hotplugged/unplugged, only inserted or ejected")


@api("VBD.plug", "self")
def vbd_plug(ctx: Ctx, vbd: Any) -> str:
    rec = ctx.rec("VBD", vbd)
    _vbd_vm_running(ctx, rec)
    if rec["currently_attached"]:
        raise XapiError("DEVICE_ALREADY_ATTACHED", vbd)
    _vbd_hotplug(ctx, vbd, rec)
    ctx.db.update("VBD", vbd, currently_attached=True, device=rec["device"] or _device_name(rec["userdevice"]))
    vbd_refresh(ctx, vbd)
    return ""


def _unplug(ctx: Ctx, vbd: str, force: bool) -> None:
    rec = ctx.rec("VBD", vbd)
    # xapi_vbd_helpers.ml: "Drives marked as not unpluggable cannot be unplugged" (forced or not)
    # is recorded before the power-state errors, and the first error recorded wins
    if not rec["unpluggable"]:
        raise XapiError("VBD_NOT_UNPLUGGABLE", vbd)
    _vbd_vm_running(ctx, rec)
    if not rec["currently_attached"]:
        raise XapiError("DEVICE_ALREADY_DETACHED", vbd)
    _vbd_hotplug(ctx, vbd, rec)
    ctx.db.set("VBD", vbd, "currently_attached", False)
    vbd_refresh(ctx, vbd)


@api("VBD.unplug", "self")
def vbd_unplug(ctx: Ctx, vbd: Any) -> str:
    _unplug(ctx, vbd, False)
    return ""


@api("VBD.unplug_force", "self")
def vbd_unplug_force(ctx: Ctx, vbd: Any) -> str:
    _unplug(ctx, vbd, True)
    return ""


@api("VBD.insert", "vbd", "vdi")
def vbd_insert(ctx: Ctx, vbd: Any, vdi: Any) -> str:
    rec = ctx.rec("VBD", vbd)
    ctx.rec("VDI", vdi)
    if rec["type"] != "CD":
        raise XapiError("VBD_NOT_REMOVABLE_MEDIA", vbd)
    if not rec["empty"]:
        raise XapiError("VBD_NOT_EMPTY", vbd)
    ctx.db.set("VBD", vbd, "VDI", vdi)
    ctx.db.set("VBD", vbd, "empty", False)
    vbd_refresh(ctx, vbd)
    return ""


@api("VBD.eject", "vbd")
def vbd_eject(ctx: Ctx, vbd: Any) -> str:
    rec = ctx.rec("VBD", vbd)
    if rec["type"] != "CD":
        raise XapiError("VBD_NOT_REMOVABLE_MEDIA", vbd)
    if rec["empty"]:
        raise XapiError("VBD_IS_EMPTY", vbd)
    old = rec["VDI"]
    ctx.db.set("VBD", vbd, "VDI", NULL)
    ctx.db.set("VBD", vbd, "empty", True)
    vbd_refresh(ctx, vbd)
    if old in ctx.db.tables["VDI"]:
        vdi_refresh(ctx, old)
    return ""


@api("VBD.assert_attachable", "self")
def vbd_assert_attachable(ctx: Ctx, vbd: Any) -> str:
    rec = ctx.rec("VBD", vbd)
    if not rec["empty"] and rec["VDI"] not in ctx.db.tables["VDI"]:
        raise XapiError("VDI_MISSING", NULL, rec["VDI"])
    return ""
