# -*- coding: utf-8 -*-
# Copyright: virtops.compute contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Sizes with units (binary, 1024-based), parsed strictly so typos fail before any change."""

from __future__ import annotations

import re

from .errors import InvalidInput

_UNITS = {
    "b": 1,
    "k": 1024,
    "kb": 1024,
    "kib": 1024,
    "m": 1024**2,
    "mb": 1024**2,
    "mib": 1024**2,
    "g": 1024**3,
    "gb": 1024**3,
    "gib": 1024**3,
    "t": 1024**4,
    "tb": 1024**4,
    "tib": 1024**4,
}
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$")


def parse_size(value: int | float | str, param: str, default_unit: str = "MiB") -> int:
    """Return bytes. Numbers without a unit are in ``default_unit``; ``4GiB``, ``512 MiB``, ``2G`` work.

    Units are binary whatever their spelling (``GB`` = ``GiB``). Raises :class:`InvalidInput`
    naming ``param`` for negative, zero, fractional-byte or unknown-unit values.
    """
    if isinstance(value, bool):
        raise InvalidInput(param, "expected a size such as '4GiB' or '512MiB', got %r" % (value,))
    if isinstance(value, (int, float)):
        number, unit = float(value), default_unit
        if value < 0:
            raise InvalidInput(param, "size must be positive, got %s" % value)
    else:
        match = _SIZE_RE.match(str(value))
        if not match:
            if str(value).strip().startswith("-"):
                raise InvalidInput(param, "size must be positive, got %r" % value)
            raise InvalidInput(param, "expected a size such as '4GiB' or '512MiB', got %r" % value)
        number, unit = float(match.group(1)), match.group(2) or default_unit
    factor = _UNITS.get(unit.lower())
    if factor is None:
        raise InvalidInput(
            param,
            "unknown unit %r in %r; use B, KiB, MiB, GiB or TiB (K/M/G/T and KB/MB/GB/TB are read as binary)"
            % (unit, value),
        )
    size = number * factor
    if size <= 0:
        raise InvalidInput(param, "size must be greater than zero, got %r" % (value,))
    if not float(size).is_integer():
        raise InvalidInput(param, "size %r is not a whole number of bytes" % (value,))
    return int(size)


def format_size(size: int) -> str:
    """Shortest exact binary rendering: 4294967296 -> '4GiB'."""
    for unit, factor in (("TiB", 1024**4), ("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if size and size % factor == 0:
            return "%d%s" % (size // factor, unit)
    return "%dB" % size
