# -*- coding: utf-8 -*-
# Copyright: virtops.compute contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Desired state of one VM, parsed and validated from module parameters before any API call."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from ansible_collections.virtops.compute.plugins.module_utils._common.errors import InvalidInput
from ansible_collections.virtops.compute.plugins.module_utils._common.net import normalize_mac, parse_wait_for_ip
from ansible_collections.virtops.compute.plugins.module_utils._common.units import parse_size

BOOT_ORDER_RE = re.compile(r"^[cdn]{1,3}$")


@dataclass
class DiskSpec:
    userdevice: int
    size: int | None = None
    sr: str | None = None
    name: str | None = None
    bootable: bool | None = None


@dataclass
class NicSpec:
    device: int
    network: str
    mac: str | None = None
    mtu: int | None = None


@dataclass
class CloudInitSpec:
    user_data: str | None
    meta_data: Any
    network_config: Any
    fmt: str
    userdevice: int
    sr: str | None


@dataclass
class VMSpec:
    name: str | None
    uuid: str | None
    state: str
    power_state: str | None
    template: str | None = None
    from_scratch: bool = False  # template: none
    sr: str | None = None
    description: str | None = None
    vcpus: int | None = None
    cores_per_socket: int | None = None
    memory: int | None = None
    firmware: str | None = None
    boot_order: str | None = None
    home_server: str | None = None
    is_template: bool | None = None
    tags: list[str] | None = None
    other_config: dict[str, str] | None = None
    platform: dict[str, str] | None = None
    xenstore_data: dict[str, str] | None = None
    bootable: bool | None = None
    disks: list[DiskSpec] | None = None
    remove_unmanaged_disks: bool = False
    networks: list[NicSpec] | None = None
    remove_unmanaged_networks: bool = False
    cdrom: dict[str, Any] | None = None
    cloud_init: CloudInitSpec | None = None
    wait_for_ip: dict[str, Any] | None = None
    allow_power_cycling: bool = False
    shutdown_timeout: int = 120
    keep_disks: bool = False
    timeout: int = 600
    read_scope: str = "pool"


def _str_map(value: dict[str, Any] | None, param: str) -> dict[str, str] | None:
    if value is None:
        return None
    out = {}
    for key, val in value.items():
        if isinstance(val, (dict, list)):
            raise InvalidInput(param, "values must be strings; key %r has a %s" % (key, type(val).__name__))
        out[str(key)] = "true" if val is True else "false" if val is False else str(val)
    return out


def _positive(value: int | None, param: str, maximum: int | None = None) -> int | None:
    if value is None:
        return None
    if value < 1:
        raise InvalidInput(param, "must be at least 1, got %d" % value)
    if maximum is not None and value > maximum:
        raise InvalidInput(param, "must be at most %d, got %d" % (maximum, value))
    return value


def _serialize(value: Any, param: str) -> Any:
    if value is None or isinstance(value, (dict, str)):
        return value
    if isinstance(value, list):
        return json.loads(json.dumps(value))
    raise InvalidInput(param, "expected a dict or a string, got %s" % type(value).__name__)


def parse_spec(p: dict[str, Any]) -> VMSpec:
    """Validate everything that can be validated without the pool; errors name the parameter."""
    if not p.get("name") and not p.get("uuid"):
        raise InvalidInput("name", "one of name or uuid is required")
    spec = VMSpec(
        name=p.get("name"), uuid=p.get("uuid"), state=p.get("state", "present"), power_state=p.get("power_state")
    )
    spec.template = p.get("template")
    if spec.template is not None and spec.template.strip().lower() == "none":
        spec.template, spec.from_scratch = None, True
    spec.sr = p.get("sr")
    spec.description = p.get("description")
    spec.vcpus = _positive(p.get("vcpus"), "vcpus", 256)
    spec.cores_per_socket = _positive(p.get("cores_per_socket"), "cores_per_socket", 256)
    if spec.vcpus and spec.cores_per_socket and spec.vcpus % spec.cores_per_socket:
        raise InvalidInput(
            "cores_per_socket",
            "vcpus (%d) must be a multiple of cores_per_socket (%d)" % (spec.vcpus, spec.cores_per_socket),
        )
    if p.get("memory") is not None:
        spec.memory = parse_size(p["memory"], "memory", "MiB")
        if spec.memory < 16 * 1024 * 1024:
            raise InvalidInput("memory", "must be at least 16MiB, got %r" % p["memory"])
    boot = p.get("boot") or {}
    spec.firmware = boot.get("firmware")
    if boot.get("order") is not None:
        order = str(boot["order"]).lower()
        if not BOOT_ORDER_RE.match(order) or len(set(order)) != len(order):
            raise InvalidInput(
                "boot.order",
                "use the letters c (disk), d (CD) and n (network) once each, e.g. 'cdn'; got %r" % boot["order"],
            )
        spec.boot_order = order
    spec.home_server = p.get("home_server")
    spec.is_template = p.get("is_template")
    spec.tags = sorted(set(p["tags"])) if p.get("tags") is not None else None
    spec.other_config = _str_map(p.get("other_config"), "other_config")
    spec.platform = _str_map(p.get("platform"), "platform")
    spec.xenstore_data = _str_map(p.get("xenstore_data"), "xenstore_data")
    spec.bootable = p.get("bootable")
    spec.remove_unmanaged_disks = bool(p.get("remove_unmanaged_disks"))
    spec.remove_unmanaged_networks = bool(p.get("remove_unmanaged_networks"))
    spec.allow_power_cycling = bool(p.get("allow_power_cycling"))
    spec.shutdown_timeout = p.get("shutdown_timeout") or 120
    spec.keep_disks = bool(p.get("keep_disks"))
    spec.timeout = p.get("timeout") or 600
    spec.read_scope = p.get("read_scope") or "pool"
    if spec.timeout < 1:
        raise InvalidInput("timeout", "must be at least 1 second")

    used: dict[int, str] = {}

    def claim(device: int, param: str) -> None:
        if device < 0 or device > 15:
            raise InvalidInput(param, "userdevice must be between 0 and 15, got %d" % device)
        if device in used:
            raise InvalidInput(param, "userdevice %d is already used by %s" % (device, used[device]))
        used[device] = param

    if p.get("disks") is not None:
        spec.disks = []
        for i, d in enumerate(p["disks"]):
            param = "disks[%d]" % i
            claim(d["userdevice"], param + ".userdevice")
            size = parse_size(d["size"], param + ".size", "GiB") if d.get("size") is not None else None
            spec.disks.append(DiskSpec(d["userdevice"], size, d.get("sr"), d.get("name"), d.get("bootable")))
    if p.get("cdrom") is not None:
        cd = p["cdrom"]
        claim(cd.get("userdevice", 3), "cdrom.userdevice")
        spec.cdrom = {"iso": cd.get("iso") or None, "userdevice": cd.get("userdevice", 3)}
    if p.get("cloud_init") is not None:
        ci = p["cloud_init"]
        if not any(ci.get(k) is not None for k in ("user_data", "meta_data", "network_config")):
            raise InvalidInput("cloud_init", "give at least one of user_data, meta_data or network_config")
        claim(ci.get("userdevice", 4), "cloud_init.userdevice")
        spec.cloud_init = CloudInitSpec(
            ci.get("user_data"),
            _serialize(ci.get("meta_data"), "cloud_init.meta_data"),
            _serialize(ci.get("network_config"), "cloud_init.network_config"),
            ci.get("format") or "nocloud",
            ci.get("userdevice", 4),
            ci.get("sr"),
        )
    if p.get("networks") is not None:
        spec.networks = []
        seen = set()
        for i, n in enumerate(p["networks"]):
            param = "networks[%d]" % i
            if n["device"] < 0 or n["device"] > 6:
                raise InvalidInput(param + ".device", "device must be between 0 and 6, got %d" % n["device"])
            if n["device"] in seen:
                raise InvalidInput(param + ".device", "device %d is listed twice" % n["device"])
            seen.add(n["device"])
            mac = normalize_mac(n["mac"], param + ".mac") if n.get("mac") else None
            mtu = n.get("mtu")
            if mtu is not None and not 68 <= mtu <= 9216:
                raise InvalidInput(param + ".mtu", "must be between 68 and 9216, got %d" % mtu)
            spec.networks.append(NicSpec(n["device"], n["network"], mac, mtu))
    spec.wait_for_ip = parse_wait_for_ip(p.get("wait_for_ip"))
    if spec.state == "absent" and spec.power_state not in (None, "halted"):
        raise InvalidInput("power_state", "state=absent removes the VM; power_state=%s cannot apply" % spec.power_state)
    return spec
