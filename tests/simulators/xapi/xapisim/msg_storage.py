"""SR, PBD, VDI and VBD messages."""

from __future__ import annotations

from typing import Any

from .api import CREATE_HOOKS, DESTROY_HOOKS, SET_HOOKS, Ctx, api, as_int
from .model import NULL, XapiError, now_dt

# ---------------------------------------------------------------- SR


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


def _vdi_ops(rec: dict[str, Any], in_use: bool) -> list[str]:
    if rec["read_only"]:
        return ["clone", "copy", "snapshot", "destroy", "forget", "update", "force_unlock", "generate_config"]
    ops = [
        "clone",
        "copy",
        "snapshot",
        "destroy",
        "forget",
        "update",
        "force_unlock",
        "generate_config",
        "resize_online" if in_use else "resize",
        "set_on_boot",
        "enable_cbt",
        "disable_cbt",
        "mirror",
    ]
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
        rec["allowed_operations"] = _vdi_ops(rec, vdi_in_use(ctx, vdi))
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
    rec["allowed_operations"] = _vdi_ops(rec, False)
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
    in_use = vdi_in_use(ctx, vdi)
    if in_use and not online:
        raise XapiError("VDI_IN_USE", vdi, "resize")
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
    if vtype == "CD" and mode == "RW" and vdi != NULL and ctx.db.get("VDI", vdi)["read_only"]:
        mode = "RO"
    if vtype == "CD" and mode == "RW":
        raise XapiError("VBD_CDS_MUST_BE_READONLY")
    if not empty and vtype == "Disk" and mode == "RW" and ctx.db.get("VDI", vdi)["read_only"]:
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


@api("VBD.plug", "self")
def vbd_plug(ctx: Ctx, vbd: Any) -> str:
    rec = ctx.rec("VBD", vbd)
    _vbd_vm_running(ctx, rec)
    if rec["currently_attached"]:
        raise XapiError("DEVICE_ALREADY_ATTACHED", vbd)
    ctx.db.update("VBD", vbd, currently_attached=True, device=rec["device"] or _device_name(rec["userdevice"]))
    vbd_refresh(ctx, vbd)
    return ""


def _unplug(ctx: Ctx, vbd: str, force: bool) -> None:
    rec = ctx.rec("VBD", vbd)
    _vbd_vm_running(ctx, rec)
    if not rec["currently_attached"]:
        raise XapiError("DEVICE_ALREADY_DETACHED", vbd)
    if not force and not rec["unpluggable"]:
        raise XapiError("VBD_NOT_UNPLUGGABLE", vbd)
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
