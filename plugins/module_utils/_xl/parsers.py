# -*- coding: utf-8 -*-
# Copyright: virtops.compute contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure parsers for the output of ``xl`` 4.17 (tested on recordings from a real host).

No process is started here: each function takes the text ``xl`` printed and returns plain data, or
raises :class:`XlParseError` naming the command and the line it could not read.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from .errors import XlParseError

DOM0_NAME = "Domain-0"
_STATE_FLAGS = "rbpscd"
_STATE_NAMES = {"r": "running", "b": "blocked", "p": "paused", "s": "shutdown", "c": "crashed", "d": "dying"}


@dataclass(frozen=True)
class DomainState:
    """One row of ``xl list``: memory in MiB, cpu_time in seconds, ``flags`` the set of state letters."""

    name: str
    domid: int
    memory: int
    vcpus: int
    flags: frozenset[str]
    cpu_time: float

    @property
    def power_state(self) -> str:
        """The collection's vocabulary: running | paused | halted | crashed (xl's r/b both run)."""
        return power_state(self.flags)


def parse_state(text: str) -> frozenset[str]:
    """``-b----`` -> {"blocked"}; each position is one of r b p s c d, or '-'."""
    text = text.strip()
    if len(text) != len(_STATE_FLAGS) or any(c != "-" and c != _STATE_FLAGS[i] for i, c in enumerate(text)):
        raise XlParseError("xl list", "%r is not a state such as r----- or -b----" % text)
    return frozenset(_STATE_NAMES[c] for c in text if c != "-")


def power_state(flags: frozenset[str]) -> str:
    if "crashed" in flags:
        return "crashed"
    if "shutdown" in flags or "dying" in flags:
        return "halted"
    if "paused" in flags:
        return "paused"
    return "running"


_LIST_ROW = re.compile(
    r"^(?P<name>\S.*?)\s+(?P<id>\d+)\s+(?P<mem>\d+)\s+(?P<vcpus>\d+)\s+(?P<state>[rbpscd-]{6})\s+(?P<time>[\d.]+)"
)


def parse_list(text: str) -> list[DomainState]:
    """``xl list`` (the table) -> one :class:`DomainState` per domain, Domain-0 included."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines or not lines[0].startswith("Name"):
        raise XlParseError("xl list", "no 'Name ID Mem VCPUs State Time(s)' header", text)
    out = []
    for ln in lines[1:]:
        m = _LIST_ROW.match(ln)
        if not m:
            raise XlParseError("xl list", "cannot read the row %r" % ln, text)
        out.append(
            DomainState(
                name=m.group("name"),
                domid=int(m.group("id")),
                memory=int(m.group("mem")),
                vcpus=int(m.group("vcpus")),
                flags=parse_state(m.group("state")),
                cpu_time=float(m.group("time")),
            )
        )
    return out


def parse_list_long(text: str) -> list[dict[str, Any]]:
    """``xl list -l`` (JSON, libxl_domain_config per domain) -> a summary per domain.

    Keys: name, domid, uuid, type, memory (target MiB), maxmem (MiB), vcpus (max), kernel, ramdisk,
    cmdline, disks (vdev, target, format, mode), vifs (index, mac, bridge), on_poweroff/on_reboot/on_crash
    and ``config`` (the domain's raw JSON object).
    """
    try:
        data = json.loads(text) if text.strip() else []
    except ValueError as exc:
        raise XlParseError("xl list -l", "not JSON (%s)" % exc, text) from None
    if not isinstance(data, list):
        raise XlParseError("xl list -l", "expected a JSON list of domains", text)
    return [_summary(item, text) for item in data]


def _summary(item: Any, text: str) -> dict[str, Any]:
    if not isinstance(item, dict) or "domid" not in item or not isinstance(item.get("config"), dict):
        raise XlParseError("xl list -l", "an entry without domid/config", text)
    cfg: dict[str, Any] = item["config"]
    c_info = cfg.get("c_info") or {}
    b_info = cfg.get("b_info") or {}
    pv = (b_info.get("type.pv") or {}) if isinstance(b_info, dict) else {}
    kernel = b_info.get("kernel") or pv.get("kernel")
    ramdisk = b_info.get("ramdisk") or pv.get("ramdisk")
    cmdline = b_info.get("cmdline") or pv.get("cmdline")
    disks = []
    for d in cfg.get("disks") or []:
        disks.append(
            {
                "vdev": d.get("vdev"),
                "target": d.get("pdev_path"),
                "format": d.get("format", "raw"),
                "mode": "ro" if d.get("readwrite") == 0 else "rw",
            }
        )
    vifs = []
    for i, n in enumerate(cfg.get("nics") or []):
        vifs.append({"index": n.get("devid", i), "mac": n.get("mac"), "bridge": n.get("bridge")})
    max_kb = b_info.get("max_memkb")
    target_kb = b_info.get("target_memkb")
    return {
        "name": c_info.get("name"),
        "domid": int(item["domid"]),
        "uuid": c_info.get("uuid"),
        "type": c_info.get("type"),
        "memory": target_kb // 1024 if isinstance(target_kb, int) and target_kb >= 0 else None,
        "maxmem": max_kb // 1024 if isinstance(max_kb, int) and max_kb >= 0 else None,
        "vcpus": b_info.get("max_vcpus"),
        "kernel": kernel,
        "ramdisk": ramdisk,
        "cmdline": cmdline,
        "disks": disks,
        "vifs": vifs,
        # libxl leaves out actions equal to its default (destroy) and spells them with underscores.
        "on_poweroff": _action(cfg.get("on_poweroff")),
        "on_reboot": _action(cfg.get("on_reboot")),
        "on_crash": _action(cfg.get("on_crash")),
        "config": cfg,
    }


def _action(value: Any) -> str:
    return str(value or "destroy").replace("_", "-")


_INT_KEYS = {
    "nr_cpus",
    "max_cpu_id",
    "nr_nodes",
    "cores_per_socket",
    "threads_per_core",
    "cpu_mhz",
    "total_memory",
    "free_memory",
    "sharing_freed_memory",
    "sharing_used_memory",
    "outstanding_claims",
    "free_cpus",
    "xen_major",
    "xen_minor",
    "xend_config_format",
}


def parse_info(text: str) -> dict[str, Any]:
    """``xl info`` -> its ``key : value`` pairs; counts and MiB as int, ``virt_caps``/``xen_caps`` as lists."""
    out: dict[str, Any] = {}
    last = None
    for ln in text.splitlines():
        if not ln.strip():
            continue
        key, sep, val = ln.partition(":")
        key = key.strip()
        if not sep or not re.match(r"^[a-z_0-9]+$", key) or ln[:1].isspace():
            if last is None:
                raise XlParseError("xl info", "cannot read the line %r" % ln, text)
            out[last] = ("%s %s" % (out[last], ln.strip())).strip()  # a wrapped value
            continue
        val = val.strip()
        out[key] = int(val) if key in _INT_KEYS and re.match(r"^-?\d+$", val) else val
        last = key
    if "xen_major" not in out and "xen_version" not in out:
        raise XlParseError("xl info", "no xen_version or xen_major", text)
    for key in ("virt_caps", "xen_caps"):
        if isinstance(out.get(key), str):
            out[key] = out[key].split()
    return out


def node_info(info: dict[str, Any]) -> dict[str, Any]:
    """Ganeti ``GetNodeInfo``: memory in MiB and the CPU topology from parsed ``xl info``."""
    total = int(info.get("total_memory", 0))
    free = int(info.get("free_memory", 0))
    caps = list(info.get("virt_caps") or [])
    return {
        "memory_total": total,
        "memory_free": free,
        "cpu_total": int(info.get("nr_cpus", 0)),
        "cpu_nodes": int(info.get("nr_nodes", 0)),
        "cpu_sockets": _sockets(info),
        "cores_per_socket": int(info.get("cores_per_socket", 0)),
        "threads_per_core": int(info.get("threads_per_core", 0)),
        "xen_version": str(info.get("xen_version") or "%s.%s" % (info.get("xen_major"), info.get("xen_minor"))),
        "virt_caps": caps,
        "can_live_migrate_pv": "shadow" in caps,
        "hostname": info.get("host"),
    }


def _sockets(info: dict[str, Any]) -> int:
    cps = int(info.get("cores_per_socket", 0) or 0)
    tpc = int(info.get("threads_per_core", 0) or 0)
    cpus = int(info.get("nr_cpus", 0) or 0)
    return cpus // (cps * tpc) if cps and tpc else 0


_UPTIME = re.compile(r"^(?:(?P<days>\d+) days?, +)?(?P<h>\d+):(?P<m>\d\d)(?::(?P<s>\d\d))?$")


def parse_uptime_value(text: str) -> int:
    """``1 day,  2:03:04`` / `` 0:05:10`` -> seconds."""
    m = _UPTIME.match(text.strip())
    if not m:
        raise XlParseError("xl uptime", "%r is not an uptime such as 0:05:10" % text, text)
    days = int(m.group("days") or 0)
    return ((days * 24 + int(m.group("h"))) * 60 + int(m.group("m"))) * 60 + int(m.group("s") or 0)


_UPTIME_ROW = re.compile(r"^(?P<name>\S.*?)\s+(?P<id>\d+)\s+(?P<up>(?:\d+ days?, +)?\d+:\d\d(?::\d\d)?)\s*$")


def parse_uptime(text: str) -> dict[str, int]:
    """``xl uptime`` -> {domain name: uptime in seconds}."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines or not lines[0].startswith("Name"):
        raise XlParseError("xl uptime", "no 'Name ID Uptime' header", text)
    out = {}
    for ln in lines[1:]:
        m = _UPTIME_ROW.match(ln)
        if not m:
            raise XlParseError("xl uptime", "cannot read the row %r" % ln, text)
        out[m.group("name")] = parse_uptime_value(m.group("up"))
    return out


_VCPU_ROW = re.compile(
    r"^(?P<name>\S.*?)\s+(?P<id>\d+)\s+(?P<vcpu>\d+)\s+(?P<cpu>\d+|-)\s+(?P<state>[-a-z]{3}|---)\s+(?P<time>[\d.]+)\s+(?P<aff>.*)$"
)


def parse_vcpu_list(text: str) -> list[dict[str, Any]]:
    """``xl vcpu-list`` -> rows of name, domid, vcpu, cpu (None when not running), state, cpu_time, affinity."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines or not lines[0].startswith("Name"):
        raise XlParseError("xl vcpu-list", "no header", text)
    out = []
    for ln in lines[1:]:
        m = _VCPU_ROW.match(ln)
        if not m:
            raise XlParseError("xl vcpu-list", "cannot read the row %r" % ln, text)
        out.append(
            {
                "name": m.group("name"),
                "domid": int(m.group("id")),
                "vcpu": int(m.group("vcpu")),
                "cpu": None if m.group("cpu") == "-" else int(m.group("cpu")),
                "state": m.group("state"),
                "cpu_time": float(m.group("time")),
                "affinity": m.group("aff").strip(),
            }
        )
    return out
