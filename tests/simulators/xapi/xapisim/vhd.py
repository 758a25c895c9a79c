"""Minimal VHD (fixed and dynamic) decoding and fixed-VHD encoding."""

from __future__ import annotations

import struct
import time
import uuid

SECTOR = 512


class VhdError(ValueError):
    pass


def _footer_fields(footer: bytes) -> tuple[int, int]:
    if footer[:8] != b"conectix":
        raise VhdError("missing VHD footer cookie")
    current_size = struct.unpack(">Q", footer[48:56])[0]
    disk_type = struct.unpack(">I", footer[60:64])[0]
    return current_size, disk_type


def virtual_size(data: bytes) -> int:
    if len(data) < SECTOR:
        raise VhdError("VHD too short")
    return _footer_fields(data[-SECTOR:])[0]


def decode(data: bytes) -> tuple[bytes, int]:
    """Return (raw content, virtual size). Dynamic disks: content ends with the last allocated block."""
    if len(data) < SECTOR:
        raise VhdError("VHD too short")
    size, dtype = _footer_fields(data[-SECTOR:])
    if dtype == 2:
        return data[:-SECTOR][:size], size
    if dtype != 3:
        raise VhdError(f"unsupported VHD disk type {dtype}")
    head = data[:SECTOR]
    _footer_fields(head)
    dyn_off = struct.unpack(">Q", head[16:24])[0]
    dyn = data[dyn_off : dyn_off + 1024]
    if dyn[:8] != b"cxsparse":
        raise VhdError("missing dynamic header cookie")
    table_off = struct.unpack(">Q", dyn[16:24])[0]
    entries = struct.unpack(">I", dyn[28:32])[0]
    block_size = struct.unpack(">I", dyn[32:36])[0]
    spb = block_size // SECTOR
    bitmap_len = ((spb // 8 + SECTOR - 1) // SECTOR) * SECTOR
    bat = struct.unpack(f">{entries}I", data[table_off : table_off + 4 * entries])
    last = -1
    for i, e in enumerate(bat):
        if e != 0xFFFFFFFF:
            last = i
    out = bytearray(min(size, (last + 1) * block_size))
    for i, e in enumerate(bat[: last + 1]):
        if e == 0xFFFFFFFF:
            continue
        start = e * SECTOR
        bitmap = data[start : start + bitmap_len]
        block = data[start + bitmap_len : start + bitmap_len + block_size]
        base = i * block_size
        for s in range(spb):
            if base + s * SECTOR >= len(out):
                break
            if bitmap[s // 8] & (0x80 >> (s % 8)):
                chunk = block[s * SECTOR : (s + 1) * SECTOR]
                out[base + s * SECTOR : base + s * SECTOR + len(chunk)] = chunk
    return bytes(out), size


def _geometry(size: int) -> int:
    sectors = min(size // SECTOR, 65535 * 16 * 255)
    if sectors >= 65535 * 16 * 63:
        spt, heads = 255, 16
        cth = sectors // spt
    else:
        spt = 17
        cth = sectors // spt
        heads = max((cth + 1023) // 1024, 4)
        if cth >= heads * 1024 or heads > 16:
            spt, heads = 31, 16
            cth = sectors // spt
        if cth >= heads * 1024:
            spt, heads = 63, 16
            cth = sectors // spt
    cyl = cth // heads
    return (cyl << 16) | (heads << 8) | spt


def footer(size: int, disk_type: int = 2, data_offset: int = 0xFFFFFFFFFFFFFFFF) -> bytes:
    f = bytearray(SECTOR)
    f[0:8] = b"conectix"
    struct.pack_into(">I", f, 8, 2)
    struct.pack_into(">I", f, 12, 0x00010000)
    struct.pack_into(">Q", f, 16, data_offset)
    struct.pack_into(">I", f, 24, int(time.time()) - 946684800)
    f[28:32] = b"xsim"
    struct.pack_into(">I", f, 32, 0x00010000)
    f[36:40] = b"Wi2k"
    struct.pack_into(">Q", f, 40, size)
    struct.pack_into(">Q", f, 48, size)
    struct.pack_into(">I", f, 56, _geometry(size))
    struct.pack_into(">I", f, 60, disk_type)
    f[68:84] = uuid.uuid4().bytes
    checksum = (~sum(f)) & 0xFFFFFFFF
    struct.pack_into(">I", f, 64, checksum)
    return bytes(f)


def encode_fixed(content: bytes, size: int) -> bytes:
    size = max(size, len(content))
    size = (size + SECTOR - 1) // SECTOR * SECTOR
    return content + b"\0" * (size - len(content)) + footer(size)


def encode_dynamic(content: bytes, size: int, block_size: int = 2 * 1024 * 1024) -> bytes:
    """Encode a dynamic VHD (used by tests and exports)."""
    size = (max(size, len(content)) + SECTOR - 1) // SECTOR * SECTOR
    entries = (size + block_size - 1) // block_size
    ftr = footer(size, 3, SECTOR)
    dyn = bytearray(1024)
    dyn[0:8] = b"cxsparse"
    struct.pack_into(">Q", dyn, 8, 0xFFFFFFFFFFFFFFFF)
    table_off = SECTOR + 1024
    struct.pack_into(">Q", dyn, 16, table_off)
    struct.pack_into(">I", dyn, 24, 0x00010000)
    struct.pack_into(">I", dyn, 28, entries)
    struct.pack_into(">I", dyn, 32, block_size)
    struct.pack_into(">I", dyn, 36, (~sum(dyn)) & 0xFFFFFFFF)
    bat_len = ((entries * 4 + SECTOR - 1) // SECTOR) * SECTOR
    spb = block_size // SECTOR
    bitmap_len = ((spb // 8 + SECTOR - 1) // SECTOR) * SECTOR
    bat = [0xFFFFFFFF] * entries
    blocks = bytearray()
    pos = table_off + bat_len
    for i in range(entries):
        chunk = content[i * block_size : (i + 1) * block_size]
        if not chunk.strip(b"\0"):
            continue
        bat[i] = pos // SECTOR
        blocks += b"\xff" * bitmap_len + chunk + b"\0" * (block_size - len(chunk))
        pos += bitmap_len + block_size
    batb = struct.pack(f">{entries}I", *bat) + b"\xff" * (bat_len - 4 * entries)
    return ftr + bytes(dyn) + batb + bytes(blocks) + ftr
