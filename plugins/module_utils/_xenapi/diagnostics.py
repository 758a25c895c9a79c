# -*- coding: utf-8 -*-
# Copyright: virtops.compute contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""nova-style VM diagnostics from xapi records and RRD data sources (pure functions plus one reader).

Where the values come from, as in xapi:

- ``VM_metrics`` (read in the same ``event.from`` call as the VM): ``memory_actual``, ``start_time``
  (uptime), ``VCPUs_number`` and, on xapi versions that still have it, ``VCPUs_utilisation``;
- ``console`` records: the VNC console is the one with protocol ``rfb``; its ``location`` is the URL;
- the VM's RRD data sources (``VM.get_data_sources``, one call per running VM; xapi has no bulk
  XML-RPC call for them): ``cpuN`` (fraction busy), ``memory_target``, ``memory_internal_free``
  (KiB; sizes are converted to bytes by ``units``),
  ``vif_<device>_rx``/``_tx`` (bytes per second), ``vbd_<xvdX>_read``/``_write`` (bytes per second) and,
  where xapi records them, ``vbd_<xvdX>_iops_read``/``_iops_write`` and ``vif_<device>_rx_errors``/``_tx_errors``.

xapi keeps rates, not running totals, and no packet counts; a value xapi does not report is ``None``.
"""

from __future__ import annotations

import datetime
from typing import Any

from .lookup import NULL_REF, PoolSnapshot, Record

DIAGNOSTICS_CLASSES = ("VM_metrics", "console")
LIVE_STATES = ("running", "paused")


def parse_xapi_time(value: Any) -> datetime.datetime | None:
    """xapi datetimes (``20240101T12:00:00Z``, XML-RPC ``DateTime`` or ISO 8601) as aware UTC datetimes."""
    text = str(getattr(value, "value", value) or "").strip()
    if not text:
        return None
    for fmt in ("%Y%m%dT%H:%M:%SZ", "%Y%m%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S"):
        try:
            parsed = datetime.datetime.strptime(text, fmt)
        except ValueError:
            continue
        return parsed.replace(tzinfo=datetime.timezone.utc)
    try:
        parsed = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.timezone.utc)


def _float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def vbd_device_name(vbd: Record) -> str:
    """The kernel name xapi's RRDs use (``xvda``); ``device`` is empty on a halted VM."""
    device = str(vbd.get("device") or "")
    if device:
        return device
    user = str(vbd.get("userdevice", "0"))
    return "xvd" + chr(ord("a") + int(user)) if user.isdigit() else "xvda"


UNIT_FACTORS = {"KiB": 1024.0, "MiB": 1024.0**2, "KiB/s": 1024.0, "MiB/s": 1024.0**2}


def data_source_values(sources: list[dict[str, Any]] | None) -> dict[str, float]:
    """``VM.get_data_sources`` result -> ``{name: value}``, sizes in bytes whatever ``units`` xapi gives."""
    out: dict[str, float] = {}
    for ds in sources or []:
        value = _float(ds.get("value"))
        if ds.get("name_label") and value is not None:
            out[str(ds["name_label"])] = value * UNIT_FACTORS.get(str(ds.get("units", "")), 1.0)
    return out


def vm_diagnostics(
    snap: PoolSnapshot, ref: str, rec: Record, sources: dict[str, float] | None, now: datetime.datetime | None = None
) -> dict[str, Any]:
    """One VM's diagnostics (nova ``get_instance_diagnostics`` shape) from records and data sources."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    ds = sources or {}
    state = str(rec.get("power_state", "Halted")).lower()
    live = state in LIVE_STATES
    metrics = snap.get("VM_metrics", rec.get("metrics", NULL_REF)) or {}

    started = parse_xapi_time(metrics.get("start_time")) if live else None
    uptime = max(0, int((now - started).total_seconds())) if started and started.year > 1970 else None

    ncpus = (_int(metrics.get("VCPUs_number")) or 0) if live else 0
    ncpus = ncpus or (_int(rec.get("VCPUs_at_startup")) or 0)
    legacy = metrics.get("VCPUs_utilisation") or {}
    cpus = []
    for i in range(ncpus):
        value = _float(legacy.get(str(i), legacy.get(i))) if legacy else None
        if value is None:
            value = ds.get("cpu%d" % i)
        cpus.append({"id": i, "utilisation": value if live else None})

    free = ds.get("memory_internal_free")
    target = _int(rec.get("memory_target"))
    if target is None and "memory_target" in ds:
        target = int(ds["memory_target"])
    memory = {
        "maximum": _int(rec.get("memory_static_max")),
        "actual": (_int(metrics.get("memory_actual")) or 0) if live else 0,
        "target": target,
        "internal_free": int(free) if free is not None and live else None,
    }

    disks = []
    for vbd_ref in rec.get("VBDs", []):
        vbd = snap.get("VBD", vbd_ref)
        if not vbd or vbd.get("type") != "Disk":
            continue
        name = vbd_device_name(vbd)
        vdi = snap.get("VDI", vbd.get("VDI", NULL_REF)) or {}
        disks.append(
            {
                "userdevice": _int(vbd.get("userdevice")),
                "device": name,
                "vdi_uuid": vdi.get("uuid"),
                "read_bytes_per_sec": ds.get("vbd_%s_read" % name),
                "write_bytes_per_sec": ds.get("vbd_%s_write" % name),
                "read_requests_per_sec": ds.get("vbd_%s_iops_read" % name),
                "write_requests_per_sec": ds.get("vbd_%s_iops_write" % name),
            }
        )
    disks.sort(key=lambda d: d["userdevice"] if d["userdevice"] is not None else -1)

    nics = []
    for vif_ref in rec.get("VIFs", []):
        vif = snap.get("VIF", vif_ref)
        if not vif:
            continue
        dev = str(vif.get("device", ""))
        net = snap.get("network", vif.get("network", NULL_REF)) or {}
        nics.append(
            {
                "device": _int(dev),
                "mac_address": str(vif.get("MAC", "")).lower(),
                "network": net.get("name_label"),
                "rx_bytes_per_sec": ds.get("vif_%s_rx" % dev),
                "tx_bytes_per_sec": ds.get("vif_%s_tx" % dev),
                "rx_errors": ds.get("vif_%s_rx_errors" % dev),
                "tx_errors": ds.get("vif_%s_tx_errors" % dev),
            }
        )
    nics.sort(key=lambda n: n["device"] if n["device"] is not None else -1)

    console = None
    for con_ref in rec.get("consoles", []):
        con = snap.get("console", con_ref)
        if con and con.get("protocol") == "rfb":
            console = {"protocol": "rfb", "location": con.get("location"), "uuid": con.get("uuid")}
            break

    return {
        "state": state,
        "driver": "xenapi",
        "uptime": uptime,
        "num_cpus": len(cpus),
        "num_disks": len(disks),
        "num_nics": len(nics),
        "cpu_details": cpus,
        "memory_details": memory,
        "disk_details": disks,
        "nic_details": nics,
        "console": console,
    }


def read_data_sources(conn: Any, ref: str) -> dict[str, float] | None:
    """One ``VM.get_data_sources`` call; ``None`` when xapi has no RRD for the VM."""
    from ansible_collections.virtops.compute.plugins.module_utils._common.errors import BackendError

    try:
        return data_source_values(conn.call("VM.get_data_sources", ref, read_only=True))
    except BackendError as exc:
        if exc.code in ("HANDLE_INVALID", "VM_BAD_POWER_STATE", "INTERNAL_ERROR"):
            return None
        raise
