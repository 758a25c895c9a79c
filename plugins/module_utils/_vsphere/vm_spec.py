# -*- coding: utf-8 -*-
# Copyright: virtops.compute contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""vmware_vm: desired state parsed and validated from the parameters before any API call."""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.virtops.compute.plugins.module_utils._common.errors import InvalidInput
from ansible_collections.virtops.compute.plugins.module_utils._common.net import normalize_mac, parse_wait_for_ip
from ansible_collections.virtops.compute.plugins.module_utils._common.units import parse_size

DS_PATH_RE = re.compile(r"^\[([^\]]+)\]\s*(\S.*)$")
ADAPTERS = ("vmxnet3", "e1000e", "e1000")
PROVISIONING = ("thin", "thick", "eager_zeroed")
POWER_STATES = ("running", "halted", "suspended")
MiB = 1024 * 1024


@dataclass
class DiskSpec:
    bus: int
    unit: int
    size: int | None = None
    provisioning: str | None = None
    datastore: str | None = None
    param: str = ""


@dataclass
class NicSpec:
    device: int
    portgroup: str
    adapter: str | None = None
    mac: str | None = None
    param: str = ""


@dataclass
class VMSpec:
    name: str | None
    uuid: str | None = None
    moid: str | None = None
    folder: str | None = None
    datacenter: str | None = None
    state: str = "present"
    power_state: str | None = None
    template: str | None = None
    from_scratch: bool = False  # template: none
    cluster: str | None = None
    host: str | None = None
    resource_pool: str | None = None
    datastore: str | None = None
    guest_id: str | None = None
    num_cpus: int | None = None
    cores_per_socket: int | None = None
    memory_mib: int | None = None
    cpu_hot_add: bool | None = None
    memory_hot_add: bool | None = None
    disks: list[DiskSpec] | None = None
    remove_unmanaged_disks: bool = False
    networks: list[NicSpec] | None = None
    remove_unmanaged_networks: bool = False
    cdrom: dict[str, Any] | None = None
    annotation: str | None = None
    extra_config: dict[str, str] = field(default_factory=dict)
    wait_for_ip: dict[str, Any] | None = None
    allow_power_cycling: bool = False
    shutdown_timeout: int = 120
    timeout: int = 600


def _positive(value: int | None, param: str, maximum: int) -> int | None:
    if value is None:
        return None
    if not 1 <= value <= maximum:
        raise InvalidInput(param, "must be between 1 and %d, got %d" % (maximum, value))
    return value


def _guestinfo(value: Any, param: str) -> str:
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    if isinstance(value, str):
        return value
    raise InvalidInput(param, "expected a string or a dict, got %s" % type(value).__name__)


def cloud_init_keys(ci: dict[str, Any], name: str | None) -> dict[str, str]:
    """``guestinfo.userdata``/``guestinfo.metadata`` (+ ``.encoding``) for cloud-init's VMware datasource.

    ``meta_data`` defaults ``instance-id`` and ``local-hostname`` to the VM name; ``network_config``
    goes into the metadata as ``network`` (+ ``network.encoding``), as the datasource reads it.
    Values are base64 so any text survives the VMX file; JSON keys are sorted so a second run
    produces the same bytes (idempotent).
    """
    out: dict[str, str] = {}
    if ci.get("user_data") is not None:
        out["guestinfo.userdata"] = base64.b64encode(
            _guestinfo(ci["user_data"], "cloud_init.user_data").encode()
        ).decode()
        out["guestinfo.userdata.encoding"] = "base64"
    meta = ci.get("meta_data")
    if isinstance(meta, str):
        meta_text = meta
    else:
        meta_dict = dict(meta or {})
        if name:
            meta_dict.setdefault("instance-id", name)
            meta_dict.setdefault("local-hostname", name)
        if ci.get("network_config") is not None:
            net = _guestinfo(ci["network_config"], "cloud_init.network_config")
            meta_dict["network"] = base64.b64encode(net.encode()).decode()
            meta_dict["network.encoding"] = "base64"
        meta_text = json.dumps(meta_dict, sort_keys=True)
    out["guestinfo.metadata"] = base64.b64encode(meta_text.encode()).decode()
    out["guestinfo.metadata.encoding"] = "base64"
    return out


def parse_spec(p: dict[str, Any]) -> VMSpec:
    """Validate everything that can be validated without vSphere; errors name the parameter."""
    if not (p.get("name") or p.get("uuid") or p.get("moid")):
        raise InvalidInput("name", "one of name, uuid or moid is required")
    s = VMSpec(
        name=p.get("name"),
        uuid=p.get("uuid"),
        moid=p.get("moid"),
        folder=p.get("folder"),
        datacenter=p.get("datacenter"),
        state=p.get("state") or "present",
        power_state=p.get("power_state"),
    )
    if s.power_state is not None and s.power_state not in POWER_STATES:
        raise InvalidInput("power_state", "must be one of %s" % ", ".join(POWER_STATES))
    if s.state == "absent" and s.power_state not in (None, "halted"):
        raise InvalidInput("power_state", "state=absent removes the VM; power_state=%s cannot apply" % s.power_state)
    for key in ("template", "cluster", "host", "resource_pool", "datastore", "guest_id", "annotation"):
        setattr(s, key, p.get(key))
    if s.template is not None and s.template.strip().lower() == "none":
        s.template, s.from_scratch = None, True
    s.remove_unmanaged_disks = bool(p.get("remove_unmanaged_disks"))
    s.remove_unmanaged_networks = bool(p.get("remove_unmanaged_networks"))
    s.allow_power_cycling = bool(p.get("allow_power_cycling"))
    s.shutdown_timeout = p["shutdown_timeout"] if p.get("shutdown_timeout") is not None else 120
    s.timeout = p.get("timeout") or 600
    if s.timeout < 1:
        raise InvalidInput("timeout", "must be at least 1 second")

    hw = p.get("hardware") or {}
    s.num_cpus = _positive(hw.get("num_cpus"), "hardware.num_cpus", 768)
    s.cores_per_socket = _positive(hw.get("cores_per_socket"), "hardware.cores_per_socket", 64)
    if s.num_cpus and s.cores_per_socket and s.num_cpus % s.cores_per_socket:
        raise InvalidInput(
            "hardware.cores_per_socket",
            "num_cpus (%d) must be a multiple of cores_per_socket (%d)" % (s.num_cpus, s.cores_per_socket),
        )
    if hw.get("memory") is not None:
        size = parse_size(hw["memory"], "hardware.memory", "MiB")
        if size % (4 * MiB):
            raise InvalidInput("hardware.memory", "must be a multiple of 4MiB, got %r" % hw["memory"])
        s.memory_mib = size // MiB
    s.cpu_hot_add = hw.get("cpu_hot_add")
    s.memory_hot_add = hw.get("memory_hot_add")

    if p.get("disks") is not None:
        s.disks = []
        seen: dict[tuple[int, int], str] = {}
        for i, d in enumerate(p["disks"]):
            param = "disks[%d]" % i
            bus = d.get("controller_bus") or 0
            unit = d["unit_number"]
            if not 0 <= bus <= 3:
                raise InvalidInput(param + ".controller_bus", "must be between 0 and 3, got %d" % bus)
            if not 0 <= unit <= 15 or unit == 7:
                raise InvalidInput(
                    param + ".unit_number", "must be 0-15 except 7 (the SCSI controller's own), got %d" % unit
                )
            if (bus, unit) in seen:
                raise InvalidInput(
                    param + ".unit_number",
                    "controller %d unit %d is already used by %s" % (bus, unit, seen[(bus, unit)]),
                )
            seen[(bus, unit)] = param
            size = parse_size(d["size"], param + ".size", "GiB") if d.get("size") is not None else None
            if size is not None and size % 1024:
                raise InvalidInput(param + ".size", "must be a whole number of KiB, got %r" % d["size"])
            s.disks.append(DiskSpec(bus, unit, size, d.get("provisioning"), d.get("datastore"), param))

    if p.get("networks") is not None:
        s.networks = []
        seen_dev: set[int] = set()
        for i, n in enumerate(p["networks"]):
            param = "networks[%d]" % i
            if not 0 <= n["device"] <= 9:
                raise InvalidInput(param + ".device", "must be between 0 and 9, got %d" % n["device"])
            if n["device"] in seen_dev:
                raise InvalidInput(param + ".device", "device %d is listed twice" % n["device"])
            seen_dev.add(n["device"])
            mac = normalize_mac(n["mac"], param + ".mac", example="00:50:56:12:34:56") if n.get("mac") else None
            s.networks.append(NicSpec(n["device"], n["portgroup"], n.get("adapter"), mac, param))
        s.networks.sort(key=lambda x: x.device)

    if p.get("cdrom") is not None:
        iso = (p["cdrom"].get("iso") or "").strip() or None
        if iso is not None and not DS_PATH_RE.match(iso):
            raise InvalidInput("cdrom.iso", "%r is not a datastore path like '[datastore1] iso/debian.iso'" % iso)
        s.cdrom = {"iso": iso}

    ec: dict[str, str] = {}
    for key, val in (p.get("extra_config") or {}).items():
        if isinstance(val, (dict, list)):
            raise InvalidInput("extra_config", "values must be strings; key %r has a %s" % (key, type(val).__name__))
        ec[str(key)] = "" if val is None else "TRUE" if val is True else "FALSE" if val is False else str(val)
    if p.get("cloud_init") is not None:
        ci = p["cloud_init"]
        if ci.get("user_data") is None and ci.get("meta_data") is None and ci.get("network_config") is None:
            raise InvalidInput("cloud_init", "give at least one of user_data, meta_data or network_config")
        for key, val in cloud_init_keys(ci, s.name).items():
            if key in ec:
                raise InvalidInput("extra_config", "%r is set by cloud_init; do not set it in extra_config" % key)
            ec[key] = val
    s.extra_config = ec

    s.wait_for_ip = parse_wait_for_ip(p.get("wait_for_ip"))
    return s
