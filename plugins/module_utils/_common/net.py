# -*- coding: utf-8 -*-
# Copyright: virtops.compute contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Addresses every backend treats alike: guest IPs worth reporting, MACs, the wait_for_ip option."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from typing import Any

from .errors import InvalidInput, TaskTimeout
from .waiter import Waiter

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


def why_not_usable(text: str, family: str = "any", cidr: str | None = None) -> str | None:
    """None for an address worth reporting or waiting for, else why it is filtered out: not an
    address, link-local, loopback, unspecified, the other family, or outside ``cidr``."""
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        return "not an IP address"
    for flag in ("link_local", "loopback", "unspecified"):
        if getattr(addr, "is_" + flag):
            return flag.replace("_", "-")
    if (family == "ipv4" and addr.version != 4) or (family == "ipv6" and addr.version != 6):
        return "IPv%d, waiting for %s" % (addr.version, FAMILY_LABEL[family])
    network = ipaddress.ip_network(cidr, strict=False) if cidr else None
    if network is not None and (addr.version != network.version or addr not in network):
        return "outside %s" % cidr
    return None


def usable_ips(ips: list[str], family: str = "any", cidr: str | None = None) -> list[str]:
    """Addresses worth reporting or waiting for: no link-local, loopback or unspecified ones;
    optionally only one family (``ipv4``/``ipv6``) and only inside ``cidr``."""
    return [text for text in ips if why_not_usable(text, family, cidr) is None]


FAMILY_LABEL = {"any": "IP", "ipv4": "IPv4", "ipv6": "IPv6"}


def wait_for_usable_ip(read_ips: Callable[[], list[str]], family: str, cidr: str | None, waiter: Waiter) -> list[str]:
    """Poll ``read_ips`` until a usable address shows up. On timeout the message lists what the
    guest did report and why each address was filtered out (family, CIDR, link-local ...)."""
    seen: list[str] = []

    def probe() -> list[str] | None:
        seen[:] = list(dict.fromkeys(str(ip) for ip in read_ips()))
        return usable_ips(seen, family, cidr) or None

    what = "the guest to report an %s address%s" % (FAMILY_LABEL[family], " in %s" % cidr if cidr else "")
    try:
        found: list[str] = waiter.until(probe, what)
    except TaskTimeout as exc:
        if seen:
            why = ", ".join("%s (%s)" % (ip, why_not_usable(ip, family, cidr)) for ip in seen)
            detail = "the guest reported %s" % why
        else:
            detail = "the guest reported no address (are its guest tools or agent running?)"
        raise TaskTimeout("%s; %s" % (exc.msg, detail), step=exc.step) from None
    return found


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
