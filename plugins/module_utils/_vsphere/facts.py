# -*- coding: utf-8 -*-
# Copyright: virtops.compute contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The VM as the modules report it, computed from one property dict (pure: no API calls).

``props`` is what :data:`VM_PROPS` read in one ``RetrievePropertiesEx`` (pyvmomi data objects,
which cost nothing to read); ``inv`` is an :class:`~.lookup.Inventory` used only for names.
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
from typing import Any

# The exact property paths a VM read asks for (one RetrievePropertiesEx).
VM_PROPS = [
    "name",
    "parent",
    "resourcePool",
    "datastore",
    "config.uuid",
    "config.instanceUuid",
    "config.template",
    "config.guestId",
    "config.guestFullName",
    "config.annotation",
    "config.version",
    "config.hardware",
    "config.cpuHotAddEnabled",
    "config.memoryHotAddEnabled",
    "config.extraConfig",
    "config.files.vmPathName",
    "config.firmware",
    "runtime.powerState",
    "runtime.host",
    "runtime.connectionState",
    "guest.net",
    "guest.ipAddress",
    "guest.toolsRunningStatus",
    "guest.hostName",
    "snapshot",
]
# Added for diagnostics (vmware_vm_info diagnostics=true).
DIAG_PROPS = ["summary.quickStats", "runtime.bootTime", "runtime.maxCpuUsage", "runtime.maxMemoryUsage"]

POWER_STATES = {"poweredOn": "running", "poweredOff": "halted", "suspended": "suspended"}
USERDATA_KEYS = ("guestinfo.userdata", "guestinfo.metadata", "guestinfo.vendordata")

ADAPTERS = {  # pyvmomi class name -> adapter name used by the modules
    "VirtualVmxnet3": "vmxnet3",
    "VirtualE1000e": "e1000e",
    "VirtualE1000": "e1000",
    "VirtualVmxnet2": "vmxnet2",
    "VirtualVmxnet": "vmxnet",
    "VirtualPCNet32": "pcnet32",
    "VirtualSriovEthernetCard": "sriov",
    "VirtualVmxnet3Vrdma": "vrdma",
}
SCSI_TYPES = {
    "ParaVirtualSCSIController": "paravirtual",
    "VirtualLsiLogicController": "lsilogic",
    "VirtualLsiLogicSASController": "lsilogicsas",
    "VirtualBusLogicController": "buslogic",
}
CONTROLLER_TYPES = dict(
    SCSI_TYPES, VirtualAHCIController="sata", VirtualIDEController="ide", VirtualNVMEController="nvme"
)


def cls_name(obj: Any) -> str:
    return type(obj).__name__.rsplit(".", 1)[-1]


def moid(obj: Any) -> str | None:
    return getattr(obj, "_moId", None) if obj is not None else None


def power_state(props: dict[str, Any]) -> str:
    return POWER_STATES.get(str(props.get("runtime.powerState")), str(props.get("runtime.powerState") or "unknown"))


def disk_provisioning(backing: Any) -> str:
    if getattr(backing, "thinProvisioned", False):
        return "thin"
    if getattr(backing, "eagerlyScrub", False):
        return "eager_zeroed"
    return "thick"


def disk_size(dev: Any) -> int:
    size = getattr(dev, "capacityInBytes", None)
    if size:
        return int(size)
    return int(getattr(dev, "capacityInKB", 0) or 0) * 1024


def datastore_of_file(path: str | None) -> str | None:
    """``[LocalDS_0] vm/disk.vmdk`` -> ``LocalDS_0``."""
    if path and path.startswith("[") and "]" in path:
        return path[1 : path.index("]")]
    return None


def _iso_time(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    return str(value)


def devices(props: dict[str, Any]) -> list[Any]:
    hw = props.get("config.hardware")
    return list(getattr(hw, "device", None) or [])


def controllers(devs: list[Any]) -> dict[int, Any]:
    return {d.key: d for d in devs if cls_name(d) in CONTROLLER_TYPES}


def network_name(backing: Any, inv: Any) -> tuple[str | None, str | None]:
    """(portgroup name, network MoID) of a NIC backing."""
    port = getattr(backing, "port", None)
    if port is not None:  # distributed portgroup
        key = getattr(port, "portgroupKey", None)
        for e in inv.of("network") if inv is not None else []:
            if e.get("key") == key or e.moid == key:
                return e.name, e.moid
        return key, key
    net = getattr(backing, "network", None)
    name = getattr(backing, "deviceName", None)
    if net is not None and inv is not None and inv.get(net) is not None:
        return inv.get(net).name, moid(net)
    return name, moid(net)


def disk_facts(props: dict[str, Any]) -> list[dict[str, Any]]:
    devs = devices(props)
    ctrls = controllers(devs)
    out = []
    for d in devs:
        if cls_name(d) != "VirtualDisk":
            continue
        ctrl = ctrls.get(d.controllerKey)
        backing = d.backing
        out.append(
            {
                "controller_type": CONTROLLER_TYPES.get(cls_name(ctrl), "unknown") if ctrl is not None else None,
                "controller_bus": getattr(ctrl, "busNumber", None),
                "unit_number": d.unitNumber,
                "key": d.key,
                "label": d.deviceInfo.label if d.deviceInfo else None,
                "size": disk_size(d),
                "datastore": datastore_of_file(getattr(backing, "fileName", None)),
                "file": getattr(backing, "fileName", None),
                "provisioning": disk_provisioning(backing),
                "disk_mode": getattr(backing, "diskMode", None),
            }
        )
    out.sort(key=lambda x: (str(x["controller_type"]), x["controller_bus"] or 0, x["unit_number"] or 0))
    return out


def nic_facts(props: dict[str, Any], inv: Any) -> list[dict[str, Any]]:
    guest = {}
    for n in props.get("guest.net") or []:
        guest[getattr(n, "deviceConfigId", None)] = n
    nics = [d for d in devices(props) if hasattr(d, "macAddress") and hasattr(d, "addressType")]
    nics.sort(key=lambda d: d.key)
    out = []
    for index, d in enumerate(nics):
        name, net_moid = network_name(d.backing, inv)
        g = guest.get(d.key)
        ips = [str(ip).split("/", maxsplit=1)[0] for ip in (getattr(g, "ipAddress", None) or [])]
        con = d.connectable
        out.append(
            {
                "device": index,
                "key": d.key,
                "label": d.deviceInfo.label if d.deviceInfo else None,
                "adapter": ADAPTERS.get(cls_name(d), cls_name(d)),
                "mac": (d.macAddress or "").lower() or None,
                "address_type": d.addressType,
                "portgroup": name,
                "network_moid": net_moid,
                "connected": bool(getattr(con, "connected", False)),
                "start_connected": bool(getattr(con, "startConnected", False)),
                "ipv4": [ip for ip in ips if _version(ip) == 4],
                "ipv6": [ip for ip in ips if _version(ip) == 6],
            }
        )
    return out


def cdrom_facts(props: dict[str, Any]) -> list[dict[str, Any]]:
    devs = devices(props)
    ctrls = controllers(devs)
    out = []
    for d in devs:
        if cls_name(d) != "VirtualCdrom":
            continue
        ctrl = ctrls.get(d.controllerKey)
        backing = d.backing
        iso = getattr(backing, "fileName", None) if cls_name(backing) == "IsoBackingInfo" else None
        con = d.connectable
        out.append(
            {
                "key": d.key,
                "controller_type": CONTROLLER_TYPES.get(cls_name(ctrl), "unknown") if ctrl is not None else None,
                "controller_bus": getattr(ctrl, "busNumber", None),
                "unit_number": d.unitNumber,
                "iso": iso or None,
                "type": "iso"
                if iso
                else "client"
                if "Remote" in cls_name(backing) or "Atapi" in cls_name(backing)
                else "none",
                "connected": bool(getattr(con, "connected", False)) if con else False,
                "start_connected": bool(getattr(con, "startConnected", False)) if con else False,
            }
        )
    return out


def _version(ip: str) -> int:
    try:
        return ipaddress.ip_address(ip).version
    except ValueError:
        return 0


def snapshot_tree(nodes: Any) -> list[dict[str, Any]]:
    """``snapshot.rootSnapshotList`` as plain dicts (vcsim never fills ``vm.rootSnapshot``)."""
    out = []
    for n in nodes or []:
        out.append(
            {
                "id": n.id,
                "moid": moid(n.snapshot),
                "name": n.name,
                "description": n.description or "",
                "create_time": _iso_time(n.createTime),
                "state": POWER_STATES.get(str(n.state), str(n.state)),
                "quiesced": bool(n.quiesced),
                "children": snapshot_tree(n.childSnapshotList),
            }
        )
    return out


def find_snapshot(tree: list[dict[str, Any]], pred: Any) -> list[dict[str, Any]]:
    """All snapshot nodes (depth first) for which ``pred(node)`` is true."""
    out = []
    for node in tree:
        if pred(node):
            out.append(node)
        out.extend(find_snapshot(node["children"], pred))
    return out


def extra_config(props: dict[str, Any]) -> dict[str, str]:
    return {o.key: "" if o.value is None else str(o.value) for o in props.get("config.extraConfig") or []}


def decode_guestinfo(ec: dict[str, str], key: str) -> str | None:
    """The text of ``guestinfo.<x>`` honouring ``guestinfo.<x>.encoding`` (base64 / gzip+base64 not decoded)."""
    if key not in ec:
        return None
    enc = ec.get(key + ".encoding", "")
    if enc in ("base64", "b64"):
        try:
            return base64.b64decode(ec[key]).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return ec[key]
    return ec[key]


def vm_facts(props: dict[str, Any], inv: Any = None, vm_moid: str | None = None) -> dict[str, Any]:
    """What ``vmware_vm_info`` (and ``vmware_vm``'s ``vm``) return for one VM."""
    hw = props.get("config.hardware")
    nics = nic_facts(props, inv)
    ec = extra_config(props)
    snap = props.get("snapshot")
    tree = snapshot_tree(getattr(snap, "rootSnapshotList", None))
    current = moid(getattr(snap, "currentSnapshot", None))
    cur_node = find_snapshot(tree, lambda n: n["moid"] == current) if current else []
    folder = inv.get(props.get("parent")) if inv is not None else None
    ipv4 = [ip for n in nics for ip in n["ipv4"]]
    ipv6 = [ip for n in nics for ip in n["ipv6"]]
    primary = props.get("guest.ipAddress") or (ipv4[0] if ipv4 else ipv6[0] if ipv6 else None)
    facts = {
        "name": props.get("name"),
        "moid": vm_moid,
        "uuid": props.get("config.uuid"),
        "instance_uuid": props.get("config.instanceUuid"),
        "is_template": bool(props.get("config.template")),
        "power_state": power_state(props),
        "guest_id": props.get("config.guestId"),
        "guest_name": props.get("config.guestFullName"),
        "annotation": props.get("config.annotation") or "",
        "folder": inv.path(folder) if folder is not None else None,
        "datacenter": (inv.datacenter_of(folder).name if folder is not None and inv.datacenter_of(folder) else None),
        "host": _name(inv, props.get("runtime.host")),
        "resource_pool": _name(inv, props.get("resourcePool")),
        "datastores": sorted(n for n in (_name(inv, d) for d in props.get("datastore") or []) if n),
        "vmx_path": props.get("config.files.vmPathName"),
        "hardware": {
            "num_cpus": getattr(hw, "numCPU", None),
            "cores_per_socket": getattr(hw, "numCoresPerSocket", None) or 1,
            "memory_mib": getattr(hw, "memoryMB", None),
            "cpu_hot_add": bool(props.get("config.cpuHotAddEnabled")),
            "memory_hot_add": bool(props.get("config.memoryHotAddEnabled")),
            "version": props.get("config.version"),
            "firmware": props.get("config.firmware"),
        },
        "disks": disk_facts(props),
        "networks": nics,
        "cdroms": cdrom_facts(props),
        "extra_config": ec,
        "tools_running_status": props.get("guest.toolsRunningStatus"),
        "guest_hostname": props.get("guest.hostName"),
        "ip": primary,
        "ipv4": ipv4,
        "ipv6": ipv6,
        "snapshots": tree,
        "current_snapshot": (
            {"id": cur_node[0]["id"], "moid": current, "name": cur_node[0]["name"]} if cur_node else None
        ),
    }
    return facts


def diagnostics(props: dict[str, Any]) -> dict[str, Any]:
    """``summary.quickStats`` and runtime maxima (values vcsim leaves unset are ``None``)."""
    qs = props.get("summary.quickStats")
    keys = (
        "overallCpuUsage",
        "overallCpuDemand",
        "guestMemoryUsage",
        "hostMemoryUsage",
        "uptimeSeconds",
        "balloonedMemory",
        "swappedMemory",
        "consumedOverheadMemory",
        "privateMemory",
        "sharedMemory",
        "guestHeartbeatStatus",
    )
    out: dict[str, Any] = {k: getattr(qs, k, None) for k in keys}
    out["bootTime"] = _iso_time(props.get("runtime.bootTime"))
    out["maxCpuUsage"] = props.get("runtime.maxCpuUsage")
    out["maxMemoryUsage"] = props.get("runtime.maxMemoryUsage")
    return out


def _name(inv: Any, ref: Any) -> str | None:
    if ref is None:
        return None
    if inv is not None:
        name = inv.name_of(ref)
        if name is not None:
            return str(name)
    return moid(ref)
