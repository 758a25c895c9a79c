# -*- coding: utf-8 -*-
# Copyright: virtops.compute contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The VM as the modules report it, computed from one :class:`PoolSnapshot` (no API calls)."""

from __future__ import annotations

from typing import Any

from ansible_collections.virtops.compute.plugins.module_utils._common.net import usable_ips

from .lookup import NULL_REF, PoolSnapshot, Record

CONFIG_DRIVE_KEY = "virtops_config_drive_sha256"
RESCUE_OF_KEY = "virtops_rescue_of"
BOOTABLE_BLOCK_REASON = "virtops.compute: bootable=false"


def power_state(rec: Record) -> str:
    return str(rec.get("power_state", "Halted")).lower()


def _int(value: Any, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def guest_ips(networks: dict[str, str]) -> dict[str, dict[str, list[str]]]:
    """``{"0/ipv4/0": "192.0.2.5", "0/ipv6/1": ...}`` -> ``{"0": {"ipv4": [...], "ipv6": [...]}}``."""
    per_device: dict[str, dict[str, list[str]]] = {}
    for key in sorted(networks or {}):
        parts = key.split("/")
        value = networks[key]
        if len(parts) == 2 and parts[1] == "ip":
            family = "ipv4"
        elif len(parts) == 3 and parts[1] in ("ipv4", "ipv6"):
            family = parts[1]
        else:
            continue
        bucket = per_device.setdefault(parts[0], {"ipv4": [], "ipv6": []})[family]
        if value and value not in bucket:
            bucket.append(value)
    return per_device


def vm_facts(snap: PoolSnapshot, ref: str, rec: Record) -> dict[str, Any]:
    platform = dict(rec.get("platform") or {})
    boot_params = rec.get("HVM_boot_params") or {}
    firmware = str(boot_params.get("firmware", "bios")).lower()
    gm = snap.get("VM_guest_metrics", rec.get("guest_metrics", NULL_REF)) or {}
    ips = guest_ips(gm.get("networks") or {}) if power_state(rec) == "running" else {}
    home = snap.get("host", rec.get("affinity", NULL_REF))
    resident = snap.get("host", rec.get("resident_on", NULL_REF))

    disks: list[dict[str, Any]] = []
    cdrom: dict[str, Any] | None = None
    config_drive: dict[str, Any] | None = None
    for vbd_ref in rec.get("VBDs", []):
        vbd = snap.get("VBD", vbd_ref)
        if vbd is None:
            continue
        vdi = snap.get("VDI", vbd.get("VDI", NULL_REF))
        sr = snap.get("SR", vdi.get("SR", NULL_REF)) if vdi else None
        device = _int(vbd.get("userdevice"), -1)
        if vbd.get("type") == "CD":
            marker = (vdi or {}).get("other_config", {}).get(CONFIG_DRIVE_KEY)
            entry = {
                "userdevice": device,
                "iso": vdi.get("name_label") if vdi else None,
                "vdi_uuid": vdi.get("uuid") if vdi else None,
                "empty": bool(vbd.get("empty")) or vdi is None,
                "attached": bool(vbd.get("currently_attached")),
            }
            if marker:
                config_drive = {
                    "userdevice": device,
                    "sha256": marker,
                    "vdi_uuid": entry["vdi_uuid"],
                    "attached": entry["attached"],
                }
            elif cdrom is None:
                cdrom = entry
            continue
        if vdi is None:
            continue
        disks.append(
            {
                "userdevice": device,
                "name": vdi.get("name_label", ""),
                "size": _int(vdi.get("virtual_size")),
                "sr": sr.get("name_label") if sr else None,
                "sr_uuid": sr.get("uuid") if sr else None,
                "vdi_uuid": vdi.get("uuid"),
                "type": vdi.get("type"),
                "mode": str(vbd.get("mode", "RW")),
                "bootable": bool(vbd.get("bootable")),
                "attached": bool(vbd.get("currently_attached")),
            }
        )
    disks.sort(key=lambda d: d["userdevice"])

    networks: list[dict[str, Any]] = []
    for vif_ref in rec.get("VIFs", []):
        vif = snap.get("VIF", vif_ref)
        if vif is None:
            continue
        net = snap.get("network", vif.get("network", NULL_REF)) or {}
        device = str(vif.get("device", ""))
        dev_ips = ips.get(device, {"ipv4": [], "ipv6": []})
        networks.append(
            {
                "device": _int(device, -1),
                "network": net.get("name_label"),
                "network_uuid": net.get("uuid"),
                "mac": str(vif.get("MAC", "")).lower(),
                "mtu": _int(vif.get("MTU"), 1500),
                "attached": bool(vif.get("currently_attached")),
                "ipv4": list(dev_ips["ipv4"]),
                "ipv6": list(dev_ips["ipv6"]),
            }
        )
    networks.sort(key=lambda n: n["device"])
    all_v4 = [ip for n in networks for ip in n["ipv4"]]
    all_v6 = [ip for n in networks for ip in n["ipv6"]]
    good_v4 = usable_ips(all_v4, "ipv4")

    snapshots = []
    for sref in rec.get("snapshots", []):
        srec = snap.get("VM", sref)
        if srec:
            snapshots.append(
                {"uuid": srec.get("uuid"), "name": srec.get("name_label"), "time": str(srec.get("snapshot_time", ""))}
            )

    return {
        "uuid": rec.get("uuid"),
        "name": rec.get("name_label"),
        "description": rec.get("name_description", ""),
        "power_state": power_state(rec),
        "is_template": bool(rec.get("is_a_template")),
        "vcpus": _int(rec.get("VCPUs_at_startup")),
        "vcpus_max": _int(rec.get("VCPUs_max")),
        "cores_per_socket": _int(platform.get("cores-per-socket"), 1) or 1,
        "memory_mib": _int(rec.get("memory_static_max")) // (1024 * 1024),
        "boot": {"firmware": "uefi" if firmware == "uefi" else "bios", "order": str(boot_params.get("order", ""))},
        "home_server": home.get("name_label") if home else None,
        "host": resident.get("name_label") if resident else None,
        "tags": sorted(rec.get("tags") or []),
        "other_config": dict(rec.get("other_config") or {}),
        "platform": platform,
        "xenstore_data": dict(rec.get("xenstore_data") or {}),
        "bootable": "start" not in (rec.get("blocked_operations") or {}),
        "disks": disks,
        "cdrom": cdrom,
        "config_drive": config_drive,
        "networks": networks,
        "ip": good_v4[0] if good_v4 else "",
        "ipv4": all_v4,
        "ipv6": all_v6,
        "snapshots": snapshots,
    }


def with_power_state(facts: dict[str, Any], state: str) -> dict[str, Any]:
    """``facts`` as they will read once the VM is in ``state`` (for check-mode predictions).

    xapi attaches every VBD and VIF when a VM starts and detaches them when it halts or
    suspends; addresses are only reported while it runs; a halted VM is resident nowhere.
    """
    facts["power_state"] = state
    live = state in ("running", "paused")
    if state != "running":
        facts.update({"ip": "", "ipv4": [], "ipv6": []})
        for nic in facts.get("networks", []):
            nic.update({"ipv4": [], "ipv6": []})
    if not live:
        facts["host"] = None
    devices = facts.get("disks", []) + facts.get("networks", [])
    devices += [d for d in (facts.get("cdrom"), facts.get("config_drive")) if d]
    for dev in devices:
        dev["attached"] = live
    return facts
