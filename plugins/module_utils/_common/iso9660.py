# -*- coding: utf-8 -*-
# Copyright: virtops.compute contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A minimal, deterministic ISO 9660 image writer (stdlib only).

:func:`build_iso` lays out a small read-only image, as used for cloud-init seed
volumes (NoCloud ``cidata``, OpenStack ``config-2``):

* a primary volume descriptor with ISO 9660 level 2 names (upper case
  d-characters, ``NAME.EXT;1``), which every reader understands;
* a Joliet supplementary volume descriptor (UCS-2 names, escape ``%/E``) that
  keeps the original names such as ``user-data`` or ``network-config``. Linux
  and libarchive prefer Joliet over the primary names when no Rock Ridge is
  present, so cloud-init sees the lower-case names.

The output only depends on the input: every timestamp is 1980-01-01 00:00:00
UTC and directory entries and files are laid out in sorted order, so the same
files always give byte-identical images (callers hash the image to decide
whether it must be regenerated).

Layout (2048-byte sectors)::

    0-15   system area (zeros)
    16     primary volume descriptor
    17     Joliet supplementary volume descriptor
    18     volume descriptor set terminator
    19...  path tables (primary L, primary M, Joliet L, Joliet M)
    ...    primary directories, Joliet directories (breadth-first)
    ...    file data, each file starting on a sector boundary
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field

SECTOR = 2048
_FIRST_FREE_SECTOR = 19  # after the system area and the three descriptors
_MAX_DEPTH = 8  # ECMA-119 6.8.2.1: at most 8 directory levels, root included
_MAX_FILE_SIZE = 0xFFFFFFFF
_D_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
_JOLIET_FORBIDDEN = frozenset("*/:;?\\")
_JOLIET_MAX_NAME = 64
_PRIMARY_MAX_DIR_NAME = 31
_PRIMARY_MAX_FILE_NAME = 30  # name + extension, without "." and ";1"
_MAX_COLLISIONS = 100000
_APPLICATION_ID = "VIRTOPS.COMPUTE CONFIG DRIVE BUILDER"

# 1980-01-01 00:00:00 UTC
_DIR_DATE = bytes((80, 1, 1, 0, 0, 0, 0))
_VOL_DATE = b"1980010100000000\x00"
_VOL_DATE_UNSET = b"0000000000000000\x00"


def _both16(value: int) -> bytes:
    return struct.pack("<H", value) + struct.pack(">H", value)


def _both32(value: int) -> bytes:
    return struct.pack("<I", value) + struct.pack(">I", value)


def _sectors(size: int) -> int:
    return (size + SECTOR - 1) // SECTOR


def _pad_ascii(text: str, length: int) -> bytes:
    return text.encode("ascii").ljust(length, b" ")[:length]


def _pad_ucs2(text: str, length: int) -> bytes:
    raw = text.encode("utf-16-be")[: length - (length % 2)]
    while len(raw) < length - 1:
        raw += b"\x00 "
    return raw.ljust(length, b"\x00")


@dataclass
class _Node:
    """One file or directory of the tree being written."""

    name: str
    parent: _Node | None = None
    data: bytes | None = None  # None for a directory
    children: dict[str, _Node] = field(default_factory=dict)
    primary_id: bytes = b""
    joliet_id: bytes = b""
    # Layout, filled in by the planner
    extent: int = 0
    joliet_extent: int = 0
    dir_size: int = 0
    joliet_dir_size: int = 0
    number: int = 0  # 1-based position in the primary path table
    joliet_number: int = 0  # 1-based position in the Joliet path table

    @property
    def is_dir(self) -> bool:
        return self.data is None

    def sorted_children(self, joliet: bool) -> list[_Node]:
        if joliet:
            return sorted(self.children.values(), key=lambda n: n.joliet_id)
        return sorted(self.children.values(), key=lambda n: _primary_sort_key(n.primary_id))


def _primary_sort_key(identifier: bytes) -> tuple[bytes, bytes, bytes]:
    # ECMA-119 9.3: order by name, then extension, then version. All d-characters
    # sort after the padding space, so comparing the raw parts is equivalent.
    base, _unused, version = identifier.partition(b";")
    name, _unused, ext = base.partition(b".")
    return name, ext, version


def _d_chars(text: str) -> str:
    return "".join(c if c in _D_CHARS else "_" for c in text.upper())


def _primary_candidates(name: str, is_dir: bool) -> Iterator[str]:
    """Level 2 identifier for ``name``, then fall-backs used on collisions."""
    if is_dir:
        base = _d_chars(name)[:_PRIMARY_MAX_DIR_NAME] or "_"
        yield base
        for n in range(1, _MAX_COLLISIONS):
            suffix = "_%d" % n
            yield base[: _PRIMARY_MAX_DIR_NAME - len(suffix)] + suffix
        return
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem:
        stem, ext = name, ""
    ext = _d_chars(ext)[:8]
    stem = _d_chars(stem)[: _PRIMARY_MAX_FILE_NAME - len(ext)] or "_"
    yield "%s.%s;1" % (stem, ext)
    for n in range(1, _MAX_COLLISIONS):
        suffix = "_%d" % n
        yield "%s%s.%s;1" % (stem[: _PRIMARY_MAX_FILE_NAME - len(ext) - len(suffix)], suffix, ext)


def _check_joliet_name(name: str, path: str) -> None:
    if len(name) > _JOLIET_MAX_NAME:
        raise ValueError("path component %r of %r is longer than %d characters" % (name, path, _JOLIET_MAX_NAME))
    for char in name:
        if ord(char) < 0x20 or char in _JOLIET_FORBIDDEN or ord(char) > 0xFFFF:
            raise ValueError("path %r contains a character not allowed on an ISO image: %r" % (path, char))


def _build_tree(files: dict[str, bytes]) -> _Node:
    root = _Node(name="")
    for path in sorted(files):
        content = files[path]
        if not isinstance(content, (bytes, bytearray)):
            raise TypeError("content of %r must be bytes, not %s" % (path, type(content).__name__))
        if len(content) > _MAX_FILE_SIZE:
            raise ValueError("file %r is too large for ISO 9660" % path)
        parts = path.strip("/").split("/")
        if not path.strip("/") or any(p in ("", ".", "..") for p in parts):
            raise ValueError("invalid path on an ISO image: %r" % path)
        if len(parts) > _MAX_DEPTH:
            raise ValueError("path %r is nested more than %d levels deep" % (path, _MAX_DEPTH - 1))
        node = root
        for depth, part in enumerate(parts):
            _check_joliet_name(part, path)
            last = depth == len(parts) - 1
            child = node.children.get(part)
            if child is None:
                child = _Node(name=part, parent=node, data=bytes(content) if last else None)
                node.children[part] = child
            elif last or not child.is_dir:
                raise ValueError("path %r conflicts with another file or directory" % path)
            node = child
    _assign_identifiers(root)
    return root


def _assign_identifiers(directory: _Node) -> None:
    used: set[str] = set()
    for name in sorted(directory.children):
        child = directory.children[name]
        for candidate in _primary_candidates(name, child.is_dir):
            if candidate not in used:
                used.add(candidate)
                child.primary_id = candidate.encode("ascii")
                break
        else:  # pragma: no cover - needs 100000 colliding names
            raise ValueError("too many names colliding with %r" % name)
        child.joliet_id = name.encode("utf-16-be")
        if child.is_dir:
            _assign_identifiers(child)


def _directories(root: _Node, joliet: bool) -> list[_Node]:
    """Directories in path table order: by level, then parent number, then name."""
    order = [root]
    index = 0
    while index < len(order):
        current = order[index]
        order.extend(c for c in current.sorted_children(joliet) if c.is_dir)
        index += 1
    return order


def _record_length(identifier_length: int) -> int:
    length = 33 + identifier_length
    return length + (length % 2)


def _directory_size(directory: _Node, joliet: bool) -> int:
    used = 2 * _record_length(1)  # "." and ".."
    for child in directory.sorted_children(joliet):
        length = _record_length(len(child.joliet_id if joliet else child.primary_id))
        if (used % SECTOR) + length > SECTOR:  # records never cross a sector boundary
            used += SECTOR - used % SECTOR
        used += length
    return _sectors(used) * SECTOR


def _path_table_size(directories: list[_Node], joliet: bool) -> int:
    size = 0
    for directory in directories:
        ident = 1 if directory.parent is None else len(directory.joliet_id if joliet else directory.primary_id)
        size += 8 + ident + (ident % 2)
    return size


def _dir_record(identifier: bytes, extent: int, size: int, is_dir: bool) -> bytes:
    length = _record_length(len(identifier))
    record = (
        struct.pack("<BB", length, 0)
        + _both32(extent)
        + _both32(size)
        + _DIR_DATE
        + struct.pack("<BBB", 2 if is_dir else 0, 0, 0)
        + _both16(1)
        + struct.pack("<B", len(identifier))
        + identifier
    )
    return record.ljust(length, b"\x00")


def _node_location(node: _Node, joliet: bool) -> tuple[int, int]:
    if node.is_dir:
        if joliet:
            return node.joliet_extent, node.joliet_dir_size
        return node.extent, node.dir_size
    if node.data is None:
        raise AssertionError("internal error: node.data is not None")
    return node.extent, len(node.data)


def _render_directory(directory: _Node, joliet: bool) -> bytes:
    parent = directory.parent or directory
    extent, size = _node_location(directory, joliet)
    parent_extent, parent_size = _node_location(parent, joliet)
    out = bytearray(_dir_record(b"\x00", extent, size, True) + _dir_record(b"\x01", parent_extent, parent_size, True))
    for child in directory.sorted_children(joliet):
        ident = child.joliet_id if joliet else child.primary_id
        record = _dir_record(ident, *_node_location(child, joliet), child.is_dir)
        if (len(out) % SECTOR) + len(record) > SECTOR:
            out.extend(b"\x00" * (SECTOR - len(out) % SECTOR))
        out.extend(record)
    out.extend(b"\x00" * (size - len(out)))
    return bytes(out)


def _render_path_table(directories: list[_Node], joliet: bool, big_endian: bool) -> bytes:
    out = bytearray()
    fmt = ">IH" if big_endian else "<IH"
    for directory in directories:
        if directory.parent is None:
            ident, parent_number = b"\x00", 1
        else:
            ident = directory.joliet_id if joliet else directory.primary_id
            parent_number = directory.parent.joliet_number if joliet else directory.parent.number
        extent = directory.joliet_extent if joliet else directory.extent
        out.extend(struct.pack("<BB", len(ident), 0) + struct.pack(fmt, extent, parent_number) + ident)
        if len(ident) % 2:
            out.append(0)
    return bytes(out)


def _volume_descriptor(
    joliet: bool,
    volume_id: str,
    total_sectors: int,
    root: _Node,
    path_table_size: int,
    path_table_l: int,
    path_table_m: int,
) -> bytes:
    text_field = _pad_ucs2 if joliet else _pad_ascii
    extent, size = _node_location(root, joliet)
    descriptor = (
        struct.pack("<B", 2 if joliet else 1)
        + b"CD001\x01\x00"
        + text_field("", 32)  # system identifier
        + text_field(volume_id, 32)
        + b"\x00" * 8
        + _both32(total_sectors)
        + (b"%/E".ljust(32, b"\x00") if joliet else b"\x00" * 32)
        + _both16(1)  # volume set size
        + _both16(1)  # volume sequence number
        + _both16(SECTOR)
        + _both32(path_table_size)
        + struct.pack("<I", path_table_l)
        + struct.pack("<I", 0)
        + struct.pack(">I", path_table_m)
        + struct.pack(">I", 0)
        + _dir_record(b"\x00", extent, size, True)
        + text_field("", 128)  # volume set identifier
        + text_field("", 128)  # publisher
        + text_field("", 128)  # data preparer
        + text_field(_APPLICATION_ID, 128)
        + text_field("", 37)  # copyright file
        + text_field("", 37)  # abstract file
        + text_field("", 37)  # bibliographic file
        + _VOL_DATE  # creation
        + _VOL_DATE  # modification
        + _VOL_DATE_UNSET  # expiration
        + _VOL_DATE_UNSET  # effective
        + b"\x01\x00"  # file structure version, reserved
    )
    if len(descriptor) != 883:
        raise AssertionError(len(descriptor))
    return descriptor.ljust(SECTOR, b"\x00")


def _check_volume_id(volume_id: str) -> None:
    if not volume_id:
        raise ValueError("the volume identifier must not be empty")
    if len(volume_id) > 16:
        raise ValueError("the volume identifier %r is longer than 16 characters" % volume_id)
    if any(not (0x20 < ord(c) < 0x7F) for c in volume_id):
        raise ValueError("the volume identifier %r must be printable ASCII without spaces" % volume_id)


def build_iso(files: dict[str, bytes], volume_id: str) -> bytes:
    """Return an ISO 9660 image (with Joliet names) holding ``files``.

    ``files`` maps slash-separated paths (``user-data``,
    ``openstack/latest/meta_data.json``) to their content; intermediate
    directories are created. ``volume_id`` is the label (at most 16 printable
    ASCII characters, e.g. ``cidata`` or ``config-2``); like ``genisoimage -V``
    it is written unchanged to both volume descriptors, so ``blkid`` reports it
    as given.

    The result is deterministic and its length is a multiple of 2048 bytes.
    Raises :class:`ValueError` for invalid paths, names or labels.
    """
    _check_volume_id(volume_id)
    root = _build_tree(files)
    primary_dirs = _directories(root, joliet=False)
    joliet_dirs = _directories(root, joliet=True)
    for number, directory in enumerate(primary_dirs, start=1):
        directory.number = number
        directory.dir_size = _directory_size(directory, joliet=False)
    for number, directory in enumerate(joliet_dirs, start=1):
        directory.joliet_number = number
        directory.joliet_dir_size = _directory_size(directory, joliet=True)

    # Path tables
    primary_pt_size = _path_table_size(primary_dirs, joliet=False)
    joliet_pt_size = _path_table_size(joliet_dirs, joliet=True)
    sector = _FIRST_FREE_SECTOR
    pt_locations = []
    for size in (primary_pt_size, primary_pt_size, joliet_pt_size, joliet_pt_size):
        pt_locations.append(sector)
        sector += _sectors(size)

    # Directories
    for directory in primary_dirs:
        directory.extent = sector
        sector += directory.dir_size // SECTOR
    for directory in joliet_dirs:
        directory.joliet_extent = sector
        sector += directory.joliet_dir_size // SECTOR

    # File data, in sorted path order
    file_nodes: list[_Node] = []
    pending = [root]
    while pending:
        current = pending.pop()
        for child in reversed(current.sorted_children(joliet=True)):
            if child.is_dir:
                pending.append(child)
            else:
                file_nodes.append(child)
    for node in file_nodes:
        if node.data is None:
            raise AssertionError("internal error: node.data is not None")
        if node.data:
            node.extent = sector
            sector += _sectors(len(node.data))
        # an empty file has no extent; it points at sector 0 with length 0
    total_sectors = sector

    image = bytearray(SECTOR * _FIRST_FREE_SECTOR)
    image[16 * SECTOR : 17 * SECTOR] = _volume_descriptor(
        False, volume_id, total_sectors, root, primary_pt_size, pt_locations[0], pt_locations[1]
    )
    image[17 * SECTOR : 18 * SECTOR] = _volume_descriptor(
        True, volume_id, total_sectors, root, joliet_pt_size, pt_locations[2], pt_locations[3]
    )
    image[18 * SECTOR : 19 * SECTOR] = (b"\xffCD001\x01").ljust(SECTOR, b"\x00")

    def append(chunk: bytes) -> None:
        image.extend(chunk)
        image.extend(b"\x00" * (-len(chunk) % SECTOR))

    append(_render_path_table(primary_dirs, joliet=False, big_endian=False))
    append(_render_path_table(primary_dirs, joliet=False, big_endian=True))
    append(_render_path_table(joliet_dirs, joliet=True, big_endian=False))
    append(_render_path_table(joliet_dirs, joliet=True, big_endian=True))
    for directory in primary_dirs:
        append(_render_directory(directory, joliet=False))
    for directory in joliet_dirs:
        append(_render_directory(directory, joliet=True))
    for node in file_nodes:
        if node.data is None:
            raise AssertionError("internal error: node.data is not None")
        append(node.data)
    if len(image) != total_sectors * SECTOR:
        raise AssertionError("internal error: len(image) == total_sectors * SECTOR")
    return bytes(image)


def read_files(image: bytes, limit: int = 64) -> dict[str, bytes]:
    """The files of a small ISO 9660 image, ``{"path/name": data}`` (the reverse of :func:`build_iso`).

    Joliet names are used when the image has a Joliet descriptor, else the primary names (without
    ``;1``, lower-cased). Used to show what an existing config drive holds; ``limit`` bounds the
    number of directories read, so a hostile image cannot make this loop.
    """
    root: bytes | None = None
    joliet = False
    for sector in range(16, 32):
        vd = image[sector * SECTOR : (sector + 1) * SECTOR]
        if len(vd) < SECTOR or vd[1:6] != b"CD001" or vd[0] == 255:
            break
        if vd[0] == 2 and vd[88:91] in (b"%/@", b"%/C", b"%/E"):
            root, joliet = vd[156:190], True
        elif vd[0] == 1 and root is None:
            root = vd[156:190]
    if root is None:
        raise ValueError("not an ISO 9660 image")
    files: dict[str, bytes] = {}
    todo = [("", struct.unpack_from("<I", root, 2)[0], struct.unpack_from("<I", root, 10)[0])]
    while todo and limit > 0:
        limit -= 1
        prefix, extent, size = todo.pop()
        data = image[extent * SECTOR : extent * SECTOR + size]
        pos = 0
        while pos < len(data):
            length = data[pos]
            if length == 0:  # records do not cross sectors: skip to the next one
                pos = (pos // SECTOR + 1) * SECTOR
                continue
            rec = data[pos : pos + length]
            pos += length
            name_raw = rec[33 : 33 + rec[32]]
            if name_raw in (b"\x00", b"\x01"):
                continue
            name = name_raw.decode("utf-16-be" if joliet else "ascii", "replace").split(";", 1)[0]
            name = name if joliet else name.rstrip(".").lower()
            start, length_ = struct.unpack_from("<I", rec, 2)[0], struct.unpack_from("<I", rec, 10)[0]
            if rec[25] & 2:
                todo.append((prefix + name + "/", start, length_))
            else:
                files[prefix + name] = image[start * SECTOR : start * SECTOR + length_]
    return files
