# -*- coding: utf-8 -*-
# Copyright: virtops.compute contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Domain configuration files (``xl.cfg``): a typed model, a renderer and a parser.

The model covers what Ganeti's ``XenHypervisor._GetConfig`` writes: name, type (pv/pvh/hvm), kernel,
ramdisk, cmdline, memory/maxmem, vcpus, disk and vif specs and the ``on_*`` actions. Any other key
is kept in ``extra`` with its value as xl.cfg spells it (string, number or list) and written back.
``render`` is deterministic, so comparing rendered text is comparing configurations.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Union

from .errors import XlConfigError

# typing.Union: pylint (ansible-test sanity) rejects "|" between types outside annotations.
Scalar = Union[str, int]  # noqa: UP007
Value = Union[str, int, list[Union[str, int]]]  # noqa: UP007

TYPES = ("pv", "pvh", "hvm")
ACTIONS = ("destroy", "restart", "rename-restart", "preserve", "coredump-destroy", "coredump-restart", "soft-reset")
ACTION_KEYS = ("on_poweroff", "on_reboot", "on_crash")
DISK_FORMATS = ("raw", "qcow", "qcow2", "vhd", "qed", "empty")
DISK_MODES = ("rw", "ro")
HEADER = "# Managed by virtops.compute: edits made here are replaced on the next run.\n"
_KNOWN = (
    "name",
    "type",
    "builder",
    "kernel",
    "ramdisk",
    "cmdline",
    "memory",
    "maxmem",
    "vcpus",
    "disk",
    "vif",
    *ACTION_KEYS,
)
_NAME_BAD = re.compile(r"[/\\\s\x00-\x1f'\"]")
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")


def validate_name(name: str, param: str = "name") -> str:
    """A domain name that is safe as a file name and cannot be mistaken for a domain id."""
    if not name:
        raise XlConfigError(param, "must not be empty")
    if _NAME_BAD.search(name) or name in (".", ".."):
        raise XlConfigError(
            param, "%r must not contain a path separator, whitespace, quotes or control characters" % name
        )
    if name.isdigit():
        raise XlConfigError(param, "%r is all digits, which xl would read as a domain id" % name)
    if len(name) > 64:
        raise XlConfigError(param, "%r is longer than 64 characters" % name)
    return name


@dataclass
class DiskSpec:
    """One ``disk=`` entry (xl-disk-configuration): ``target`` is a path, ``vdev`` the guest device."""

    vdev: str
    target: str
    format: str = "raw"
    mode: str = "rw"
    devtype: str | None = None  # "cdrom"
    options: dict[str, str] = field(default_factory=dict)  # any other key=value (backend, script, ...)

    def render(self) -> str:
        parts = ["format=%s" % self.format, "vdev=%s" % self.vdev, "access=%s" % self.mode]
        if self.devtype:
            parts.append("devtype=%s" % self.devtype)
        parts += ["%s=%s" % kv for kv in sorted(self.options.items())]
        parts.append("target=%s" % self.target)  # the target must come last: it may contain commas
        return ", ".join(parts)


_LEGACY_PREFIX = {"phy": "raw", "file": "raw", "aio": "raw", "tap:aio": "raw", "tap:qcow2": "qcow2", "tap:vhd": "vhd"}


def parse_disk(spec: str, param: str = "disks") -> DiskSpec:
    """Parse an xl disk spec, keyword form (``vdev=xvda, target=/p``) or positional (``phy:/p,xvda,w``)."""
    text = spec.strip()
    if not text:
        raise XlConfigError(param, "empty disk spec")
    first = text.split(",", 1)[0].strip()
    if "=" in first:
        head, sep, target = text.partition("target=")
        kv: dict[str, str] = {}
        for item in head.split(","):
            item = item.strip()
            if not item:
                continue
            key, eq, val = item.partition("=")
            if not eq:
                raise XlConfigError(
                    param, "%r: %r is not key=value (positional items cannot follow keywords)" % (spec, item)
                )
            kv[key.strip()] = val.strip()
        if not sep:
            target = kv.pop("target", "")
        access = kv.pop("access", "rw")
        disk = DiskSpec(
            vdev=kv.pop("vdev", ""),
            target=target.strip(),
            format=kv.pop("format", "raw"),
            mode={"w": "rw", "r": "ro"}.get(access, access),
            devtype=kv.pop("devtype", None),
            options=kv,
        )
    else:
        items = [i.strip() for i in text.split(",")]
        if len(items) < 2:
            raise XlConfigError(param, "%r: a positional disk spec is target,vdev[,access[,devtype]]" % spec)
        target, fmt = items[0], "raw"
        for prefix in sorted(_LEGACY_PREFIX, key=len, reverse=True):
            if target.startswith(prefix + ":"):
                target, fmt = target[len(prefix) + 1 :], _LEGACY_PREFIX[prefix]
                break
        else:
            m = re.match(r"^(%s):(.*)$" % "|".join(DISK_FORMATS), target)
            if m:
                fmt, target = m.group(1), m.group(2)
        vdev = items[1]
        devtype = None
        if ":" in vdev:  # "hdc:cdrom"
            vdev, _sep, devtype = vdev.partition(":")
        access = items[2] if len(items) > 2 else "rw"
        if len(items) > 3 and items[3]:
            devtype = items[3].partition("=")[2] or items[3]
        disk = DiskSpec(
            vdev=vdev, target=target, format=fmt, mode={"w": "rw", "r": "ro"}.get(access, access), devtype=devtype
        )
    check_disk(disk, param, spec)
    return disk


def check_disk(disk: DiskSpec, param: str = "disks", spec: str | None = None) -> DiskSpec:
    what = repr(spec) if spec is not None else "disk %r" % disk.vdev
    if not disk.vdev or not re.match(r"^(xvd|hd|sd|vd)[a-z]+[0-9]*$|^[0-9]+$", disk.vdev):
        raise XlConfigError(param, "%s: vdev %r is not a guest device name such as xvda" % (what, disk.vdev))
    if disk.format not in DISK_FORMATS:
        raise XlConfigError(param, "%s: format %r is not one of %s" % (what, disk.format, ", ".join(DISK_FORMATS)))
    if disk.mode not in DISK_MODES:
        raise XlConfigError(param, "%s: access %r is not one of rw, ro" % (what, disk.mode))
    if not disk.target and disk.devtype != "cdrom":
        raise XlConfigError(param, "%s: no target (the image file or block device)" % what)
    if '"' in disk.target or "\n" in disk.target:
        raise XlConfigError(param, "%s: the target must not contain quotes or newlines" % what)
    return disk


@dataclass
class VifSpec:
    """One ``vif=`` entry; its index in the list is the device number."""

    bridge: str | None = None
    mac: str | None = None
    options: dict[str, str] = field(default_factory=dict)  # ip, model, script, vifname, rate, type, ...

    def render(self) -> str:
        parts = []
        if self.mac:
            parts.append("mac=%s" % self.mac)
        if self.bridge:
            parts.append("bridge=%s" % self.bridge)
        parts += ["%s=%s" % kv for kv in sorted(self.options.items())]
        return ",".join(parts)


def parse_vif(spec: str, param: str = "vifs") -> VifSpec:
    vif = VifSpec()
    for item in spec.split(","):
        item = item.strip()
        if not item:
            continue
        key, eq, val = item.partition("=")
        if not eq:
            raise XlConfigError(param, "%r: %r is not key=value" % (spec, item))
        key, val = key.strip(), val.strip()
        if key == "bridge":
            vif.bridge = val
        elif key == "mac":
            vif.mac = val.lower()
        else:
            vif.options[key] = val
    return check_vif(vif, param, spec)


def check_vif(vif: VifSpec, param: str = "vifs", spec: str | None = None) -> VifSpec:
    what = repr(spec) if spec is not None else "vif"
    if vif.mac is not None and not _MAC.match(vif.mac):
        raise XlConfigError(param, "%s: mac %r is not six colon-separated hex octets" % (what, vif.mac))
    for val in [vif.bridge or "", *vif.options.values()]:
        if any(c in val for c in ',"\n'):
            raise XlConfigError(param, "%s: %r must not contain commas, quotes or newlines" % (what, val))
    return vif


@dataclass
class DomainConfig:
    name: str
    type: str = "pv"
    memory: int = 128
    maxmem: int | None = None
    vcpus: int = 1
    kernel: str | None = None
    ramdisk: str | None = None
    cmdline: str | None = None
    disks: list[DiskSpec] = field(default_factory=list)
    vifs: list[VifSpec] = field(default_factory=list)
    on_poweroff: str | None = None
    on_reboot: str | None = None
    on_crash: str | None = None
    extra: dict[str, Value] = field(default_factory=dict)

    def validate(self) -> DomainConfig:
        validate_name(self.name)
        if self.type not in TYPES:
            raise XlConfigError("type", "%r is not one of %s" % (self.type, ", ".join(TYPES)))
        for key in ("memory", "vcpus"):
            val = getattr(self, key)
            if isinstance(val, bool) or not isinstance(val, int) or val < 1:
                raise XlConfigError(key, "must be a positive integer, got %r" % (val,))
        if self.maxmem is not None and (
            isinstance(self.maxmem, bool) or not isinstance(self.maxmem, int) or self.maxmem < self.memory
        ):
            raise XlConfigError(
                "maxmem", "must be an integer not below memory (%d MiB), got %r" % (self.memory, self.maxmem)
            )
        if self.type != "hvm" and not self.kernel and "bootloader" not in self.extra:
            raise XlConfigError("kernel", "a %s domain needs a kernel (or a bootloader in extra)" % self.type)
        for key in ACTION_KEYS:
            val = getattr(self, key)
            if val is not None and val not in ACTIONS:
                raise XlConfigError(key, "%r is not one of %s" % (val, ", ".join(ACTIONS)))
        vdevs = [d.vdev for d in self.disks]
        dup = sorted({v for v in vdevs if vdevs.count(v) > 1})
        if dup:
            raise XlConfigError("disks", "vdev %s appears more than once" % ", ".join(dup))
        for d in self.disks:
            check_disk(d)
        for v in self.vifs:
            check_vif(v)
        for key in self.extra:
            if not _KEY.match(key):
                raise XlConfigError("extra", "%r is not an xl.cfg key" % key)
            if key in _KNOWN:
                raise XlConfigError("extra", "%r has its own option; set it there, not in extra" % key)
        return self


def _quote(value: str) -> str:
    return '"%s"' % value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _render_value(value: Value) -> str:
    if isinstance(value, list):
        return "[ %s ]" % ", ".join(_render_value(v) for v in value) if value else "[ ]"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    return _quote(value)


def render(cfg: DomainConfig) -> str:
    """The xl.cfg text of ``cfg`` (validated first): fixed key order, extra keys sorted, one per line."""
    cfg.validate()
    items: list[tuple[str, Value]] = [("name", cfg.name), ("type", cfg.type)]
    for key in ("kernel", "ramdisk", "cmdline"):
        val = getattr(cfg, key)
        if val is not None:
            items.append((key, val))
    items.append(("memory", cfg.memory))
    if cfg.maxmem is not None:
        items.append(("maxmem", cfg.maxmem))
    items.append(("vcpus", cfg.vcpus))
    if cfg.disks:
        items.append(("disk", [d.render() for d in cfg.disks]))
    if cfg.vifs:
        items.append(("vif", [v.render() for v in cfg.vifs]))
    for key in ACTION_KEYS:
        val = getattr(cfg, key)
        if val is not None:
            items.append((key, val))
    items += sorted(cfg.extra.items())
    return HEADER + "".join("%s = %s\n" % (k, _render_value(v)) for k, v in items)


# --- parsing (libxlu's grammar: KEY = VALUE [;], values "str" 'str' number [list], # comments) ---
_TOKEN = re.compile(
    r"""[ \t\r\f]*(?:
        (?P<comment>\#[^\n]*)
      | (?P<nl>[\n;])
      | (?P<str>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
      | (?P<num>0x[0-9a-fA-F]+|[0-9]+(?![A-Za-z_]))
      | (?P<id>[A-Za-z_][A-Za-z0-9_]*)
      | (?P<op>\+=|[=\[\],])
    )""",
    re.VERBOSE,
)
_ESC = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'"}


def _unquote(tok: str) -> str:
    body = tok[1:-1]
    return re.sub(r"\\(x[0-9a-fA-F]{2}|[0-7]{1,3}|.)", lambda m: _esc(m.group(1)), body)


def _esc(code: str) -> str:
    if code[0] == "x" and len(code) == 3:
        return chr(int(code[1:], 16))
    if code[0] in "01234567":
        return chr(int(code, 8))
    return _ESC.get(code, code)


def parse_values(text: str, what: str = "xl.cfg") -> dict[str, Value]:
    """All ``KEY = VALUE`` settings of an xl.cfg text, in file order (``+=`` appends to a list)."""
    tokens: list[tuple[str, str, int]] = []
    pos, line = 0, 1
    text = text.replace("\r\n", "\n")
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            rest = text[pos:].strip()
            if not rest:
                break
            raise XlConfigError("config", "%s line %d: unexpected %r" % (what, line, rest[:20]))
        kind = m.lastgroup or ""
        if kind != "comment":
            tokens.append((kind, m.group(kind), line))
        line += text.count("\n", pos, m.end())
        pos = m.end()
    out: dict[str, Value] = {}
    i = 0

    def fail(msg: str, at: int) -> XlConfigError:
        ln = tokens[at][2] if at < len(tokens) else line
        return XlConfigError("config", "%s line %d: %s" % (what, ln, msg))

    def scalar(at: int) -> Scalar:
        kind, tok, _line = tokens[at]
        if kind == "str":
            return _unquote(tok)
        if kind == "num":
            return int(tok, 0)
        raise fail("expected a string or a number, got %r" % tok, at)

    while i < len(tokens):
        kind, tok, _line = tokens[i]
        if kind == "nl":
            i += 1
            continue
        if kind != "id":
            raise fail("expected a setting name, got %r" % tok, i)
        if i + 2 >= len(tokens) + 0 and i + 1 >= len(tokens):
            raise fail("%s has no value" % tok, i)
        op = tokens[i + 1][1] if i + 1 < len(tokens) else ""
        if op not in ("=", "+="):
            raise fail("expected '=' after %s" % tok, i + 1)
        key, i = tok, i + 2
        if i >= len(tokens):
            raise fail("%s has no value" % key, i)
        value: Value
        if tokens[i][1] == "[":
            items: list[Scalar] = []
            i += 1
            while True:
                while i < len(tokens) and tokens[i][0] == "nl" and tokens[i][1] == "\n":
                    i += 1
                if i >= len(tokens):
                    raise fail("unterminated list for %s" % key, i)
                if tokens[i][1] == "]":
                    i += 1
                    break
                items.append(scalar(i))
                i += 1
                while i < len(tokens) and tokens[i][0] == "nl" and tokens[i][1] == "\n":
                    i += 1
                if i < len(tokens) and tokens[i][1] == ",":
                    i += 1
                elif i < len(tokens) and tokens[i][1] != "]":
                    raise fail("expected ',' or ']' in the list for %s" % key, i)
            value = items
        else:
            value = scalar(i)
            i += 1
        if op == "+=":
            prev = out.get(key, [])
            value = (prev if isinstance(prev, list) else [prev]) + (value if isinstance(value, list) else [value])
        out[key] = value
        if i < len(tokens) and tokens[i][0] != "nl":
            raise fail("expected the end of the line after %s" % key, i)
    return out


def _str(values: dict[str, Value], key: str) -> str | None:
    val = values.get(key)
    if val is None:
        return None
    if isinstance(val, list):
        raise XlConfigError(key, "expected a string, got a list")
    return str(val)


def _int(values: dict[str, Value], key: str) -> int | None:
    val = values.get(key)
    if val is None:
        return None
    if isinstance(val, int):
        return val
    if isinstance(val, str) and val.isdigit():
        return int(val)
    raise XlConfigError(key, "expected an integer, got %r" % (val,))


def _list(values: dict[str, Value], key: str) -> list[str]:
    val = values.get(key, [])
    return [str(v) for v in (val if isinstance(val, list) else [val])]


def parse(text: str, what: str = "xl.cfg") -> DomainConfig:
    """A :class:`DomainConfig` from xl.cfg text; keys the model does not know land in ``extra``."""
    values = parse_values(text, what)
    name = _str(values, "name")
    if not name:
        raise XlConfigError("name", "%s has no name setting" % what)
    dtype = _str(values, "type")
    if dtype is None:
        builder = _str(values, "builder")
        dtype = "hvm" if builder == "hvm" else "pv"
    cfg = DomainConfig(
        name=name,
        type=dtype,
        memory=_int(values, "memory") or 128,
        maxmem=_int(values, "maxmem"),
        vcpus=_int(values, "vcpus") or 1,
        kernel=_str(values, "kernel"),
        ramdisk=_str(values, "ramdisk"),
        cmdline=_str(values, "cmdline"),
        disks=[parse_disk(s) for s in _list(values, "disk")],
        vifs=[parse_vif(s) for s in _list(values, "vif")],
        on_poweroff=_str(values, "on_poweroff"),
        on_reboot=_str(values, "on_reboot"),
        on_crash=_str(values, "on_crash"),
        extra={k: v for k, v in values.items() if k not in _KNOWN},
    )
    return cfg
