# -*- coding: utf-8 -*-
# Copyright: virtops.compute contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Addresses every backend treats alike: guest IPs worth reporting, MACs, the wait_for_ip option."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from .errors import InvalidInput

MAC_RE = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")

# The wait_for_ip option of every VM module (documented by the virtops.compute.wait_for_ip fragment).
WAIT_FOR_IP_SPEC: dict[str, Any] = {
    "type": "dict",
    "options": {
        "family": {"type": "str", "choices": ["ipv4", "ipv6", "any"], "default": "ipv4"},
        "cidr": {"type": "str"},
        "timeout": {"type": "int", "default": 300},
    },
}


def usable_ips(ips: list[str], family: str = "any", cidr: str | None = None) -> list[str]:
    """Addresses worth reporting or waiting for: no link-local, loopback or unspecified ones;
    optionally only one family (``ipv4``/``ipv6``) and only inside ``cidr``."""
    network = ipaddress.ip_network(cidr, strict=False) if cidr else None
    out = []
    for text in ips:
        try:
            addr = ipaddress.ip_address(text)
        except ValueError:
            continue
        if addr.is_link_local or addr.is_loopback or addr.is_unspecified:
            continue
        if (family == "ipv4" and addr.version != 4) or (family == "ipv6" and addr.version != 6):
            continue
        if network is not None and (addr.version != network.version or addr not in network):
            continue
        out.append(text)
    return out


def normalize_mac(value: str, param: str, example: str = "52:54:00:12:34:56") -> str:
    """``52-54-00-AB-CD-01`` -> ``52:54:00:ab:cd:01``; malformed or multicast MACs name ``param``."""
    mac = str(value).strip().lower().replace("-", ":")
    if not MAC_RE.match(mac):
        raise InvalidInput(param, "%r is not a MAC address like %s" % (value, example))
    if int(mac[:2], 16) & 1:
        raise InvalidInput(param, "%r is a multicast MAC address; a NIC needs a unicast one" % value)
    return mac


def parse_wait_for_ip(value: dict[str, Any] | None) -> dict[str, Any] | None:
    """Validate the ``wait_for_ip`` option (family, cidr, timeout) before anything happens."""
    if value is None:
        return None
    wait = dict(value)
    if wait.get("cidr"):
        try:
            ipaddress.ip_network(wait["cidr"], strict=False)
        except ValueError:
            raise InvalidInput("wait_for_ip.cidr", "%r is not a network like 192.0.2.0/24" % wait["cidr"]) from None
    if (wait.get("timeout") or 0) < 1:
        raise InvalidInput("wait_for_ip.timeout", "must be at least 1 second")
    return wait
