# -*- coding: utf-8 -*-
# Copyright: virtops.compute contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Tests for the ISO 9660 writer.

Images are read back with an independent reader written here, from ECMA-119
(volume descriptors, path tables, both the primary and the Joliet directory
hierarchy). When an external reader is available it is used as well:
libarchive (through ctypes), ``isoinfo``, ``xorriso``, ``7z`` and ``blkid``.
None of them is required.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
import itertools
import os
import shutil
import struct
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ansible_collections.virtops.compute.plugins.module_utils._common import iso9660

SECTOR = 2048


# --------------------------------------------------------------------------
# Independent reader
# --------------------------------------------------------------------------


def _both16(buf: bytes, offset: int) -> int:
    little = struct.unpack_from("<H", buf, offset)[0]
    big = struct.unpack_from(">H", buf, offset + 2)[0]
    assert little == big, "both-endian 16-bit field at %d disagrees: %d != %d" % (offset, little, big)
    return int(little)


def _both32(buf: bytes, offset: int) -> int:
    little = struct.unpack_from("<I", buf, offset)[0]
    big = struct.unpack_from(">I", buf, offset + 4)[0]
    assert little == big, "both-endian 32-bit field at %d disagrees: %d != %d" % (offset, little, big)
    return int(little)


@dataclass
class Record:
    extent: int
    size: int
    is_dir: bool
    ident: bytes


@dataclass
class Volume:
    label: str
    root: Record
    files: dict[str, bytes] = field(default_factory=dict)
    dirs: dict[str, Record] = field(default_factory=dict)  # "" is the root
    file_records: dict[str, Record] = field(default_factory=dict)


@dataclass
class Image:
    total_sectors: int
    primary: Volume
    joliet: Volume


def _parse_record(buf: bytes, offset: int) -> Record:
    length = buf[offset]
    assert length >= 34, "directory record too short: %d" % length
    assert buf[offset + 1] == 0, "extended attribute records are not expected"
    extent = _both32(buf, offset + 2)
    size = _both32(buf, offset + 10)
    year, month, day = buf[offset + 18], buf[offset + 19], buf[offset + 20]
    assert (year + 1900, month, day) == (1980, 1, 1), "unexpected recording date"
    assert buf[offset + 21 : offset + 25] == b"\x00\x00\x00\x00", "time must be 00:00:00 UTC"
    flags = buf[offset + 25]
    assert flags & ~0x02 == 0, "unexpected file flags %#x" % flags
    assert _both16(buf, offset + 28) == 1
    ident_len = buf[offset + 32]
    assert 33 + ident_len <= length
    ident = bytes(buf[offset + 33 : offset + 33 + ident_len])
    return Record(extent=extent, size=size, is_dir=bool(flags & 0x02), ident=ident)


def _decode_name(ident: bytes, joliet: bool) -> str:
    if joliet:
        assert len(ident) % 2 == 0
        name = ident.decode("utf-16-be")
        return name[:-2] if name.endswith(";1") else name
    name = ident.decode("ascii")
    base, sep, version = name.partition(";")
    if sep:
        assert version == "1", name
        assert base.count(".") == 1, "a file identifier has exactly one separator: %r" % name
        name = base[:-1] if base.endswith(".") else base
    return name


def _check_primary_ident(ident: bytes, is_dir: bool) -> None:
    d_chars = set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
    text = ident.decode("ascii")
    if is_dir:
        assert 1 <= len(ident) <= 31 and set(ident) <= d_chars, "bad directory identifier %r" % text
        return
    base, _unused, version = text.partition(";")
    name, _unused, ext = base.partition(".")
    assert version == "1", text
    assert len(name) + len(ext) <= 30, text
    assert set((name + ext).encode()) <= d_chars, "bad file identifier %r" % text


def _primary_key(ident: bytes) -> tuple[bytes, ...]:
    name, _unused, ext = ident.split(b";")[0].partition(b".")
    return name, ext


def _read_directory(image: bytes, record: Record, joliet: bool) -> list[Record]:
    assert record.size % SECTOR == 0 and record.size > 0
    data = image[record.extent * SECTOR : record.extent * SECTOR + record.size]
    assert len(data) == record.size, "directory extends past the end of the image"
    records: list[Record] = []
    offset = 0
    while offset < len(data):
        if data[offset] == 0:  # rest of this sector is padding
            assert not any(data[offset : (offset // SECTOR + 1) * SECTOR])
            offset = (offset // SECTOR + 1) * SECTOR
            continue
        length = data[offset]
        assert length % 2 == 0, "directory record length must be even"
        assert offset // SECTOR == (offset + length - 1) // SECTOR, "record crosses a sector boundary"
        records.append(_parse_record(data, offset))
        offset += length
    assert len(records) >= 2
    dot, dotdot = records[0], records[1]
    assert dot.ident == b"\x00" and dot.is_dir and (dot.extent, dot.size) == (record.extent, record.size)
    assert dotdot.ident == b"\x01" and dotdot.is_dir
    children = records[2:]
    # Joliet: by UCS-2 code units; primary (ECMA-119 9.3): by name, then extension
    keys = [(c.ident,) if joliet else _primary_key(c.ident) for c in children]
    assert keys == sorted(keys), "directory records are not sorted"
    assert len({c.ident for c in children}) == len(children), "duplicate identifiers"
    return children


def _walk(image: bytes, volume: Volume, joliet: bool) -> None:
    pending = [("", volume.root)]
    volume.dirs[""] = volume.root
    while pending:
        path, record = pending.pop()
        for child in _read_directory(image, record, joliet):
            if not joliet:
                _check_primary_ident(child.ident, child.is_dir)
            name = _decode_name(child.ident, joliet)
            child_path = name if not path else path + "/" + name
            if child.is_dir:
                volume.dirs[child_path] = child
                pending.append((child_path, child))
            else:
                if child.size:
                    assert (child.extent + (child.size + SECTOR - 1) // SECTOR) * SECTOR <= len(image)
                volume.file_records[child_path] = child
                volume.files[child_path] = image[child.extent * SECTOR : child.extent * SECTOR + child.size]


def _check_path_tables(image: bytes, descriptor: bytes, volume: Volume, joliet: bool) -> None:
    size = _both32(descriptor, 132)
    l_loc = struct.unpack_from("<I", descriptor, 140)[0]
    m_loc = struct.unpack_from(">I", descriptor, 148)[0]
    tables = []
    for location, fmt in ((l_loc, "<IH"), (m_loc, ">IH")):
        table = image[location * SECTOR : location * SECTOR + size]
        entries = []
        offset = 0
        while offset < size:
            ident_len = table[offset]
            extent, parent = struct.unpack_from(fmt, table, offset + 2)
            ident = bytes(table[offset + 8 : offset + 8 + ident_len])
            entries.append((ident, extent, parent))
            offset += 8 + ident_len + (ident_len % 2)
        assert offset == size
        tables.append(entries)
    assert tables[0] == tables[1], "L and M path tables differ"
    entries = tables[0]
    assert entries[0] == (b"\x00", volume.root.extent, 1)
    # Rebuild the paths from the table and compare with the directory walk.
    paths = [""]
    previous = (0, b"")
    for ident, _extent, parent in entries[1:]:
        assert 1 <= parent <= len(paths)
        assert (parent, ident) >= previous, "path table is not sorted by parent number"
        previous = (parent, ident)
        name = _decode_name(ident, joliet)
        paths.append(name if not paths[parent - 1] else paths[parent - 1] + "/" + name)
    by_path = {p: e[1] for p, e in zip(paths, entries, strict=True)}
    assert by_path == {p: r.extent for p, r in volume.dirs.items()}
    depths = [p.count("/") + (1 if p else 0) for p in paths]
    assert depths == sorted(depths), "path table is not ordered by level"


def read_iso(image: bytes) -> Image:
    """Parse ``image`` and check it against ECMA-119 and the Joliet specification."""
    assert len(image) % SECTOR == 0 and len(image) >= 19 * SECTOR
    descriptors: dict[int, bytes] = {}
    sector = 16
    while True:
        desc = image[sector * SECTOR : (sector + 1) * SECTOR]
        assert desc[1:6] == b"CD001" and desc[6] == 1, "bad volume descriptor at sector %d" % sector
        if desc[0] == 255:
            break
        descriptors[desc[0]] = desc
        sector += 1
    primary, joliet = descriptors[1], descriptors[2]
    assert joliet[88:91] in (b"%/@", b"%/C", b"%/E"), "no Joliet escape sequence"
    total = _both32(primary, 80)
    assert total == _both32(joliet, 80) == len(image) // SECTOR
    for desc in (primary, joliet):
        assert _both16(desc, 128) == SECTOR
        assert desc[881] == 1
        assert desc[813:830] == b"1980010100000000\x00"
        assert desc[830:847] == b"1980010100000000\x00"
    p_vol = Volume(label=primary[40:72].decode("ascii").rstrip(" "), root=_parse_record(primary, 156))
    j_vol = Volume(label=joliet[40:72].decode("utf-16-be").rstrip(" "), root=_parse_record(joliet, 156))
    assert p_vol.root.ident == j_vol.root.ident == b"\x00"
    _walk(image, p_vol, joliet=False)
    _walk(image, j_vol, joliet=True)
    _check_path_tables(image, primary, p_vol, joliet=False)
    _check_path_tables(image, joliet, j_vol, joliet=True)
    # Both hierarchies point at the same file extents.
    assert sorted((r.extent, r.size) for r in p_vol.file_records.values()) == sorted(
        (r.extent, r.size) for r in j_vol.file_records.values()
    )
    # Nothing overlaps: descriptors and path tables, directories and file data.
    spans = [(0, 19)]
    for desc in (primary, joliet):
        table_sectors = (_both32(desc, 132) + SECTOR - 1) // SECTOR
        for location in (struct.unpack_from("<I", desc, 140)[0], struct.unpack_from(">I", desc, 148)[0]):
            spans.append((location, location + table_sectors))
    for vol in (p_vol, j_vol):
        spans.extend((r.extent, r.extent + r.size // SECTOR) for r in vol.dirs.values())
    spans.extend((r.extent, r.extent + (r.size + SECTOR - 1) // SECTOR) for r in j_vol.file_records.values() if r.size)
    spans = sorted(set(spans))
    for (_unused, end), (start, _unused) in itertools.pairwise(spans):
        assert end <= start, "extents overlap"
    assert spans[-1][1] <= total
    return Image(total_sectors=total, primary=p_vol, joliet=j_vol)


# --------------------------------------------------------------------------
# Optional external readers
# --------------------------------------------------------------------------


def _libarchive_files(image: bytes) -> dict[str, bytes] | None:
    name = ctypes.util.find_library("archive")
    if not name:
        return None
    try:
        lib = ctypes.CDLL(name)
    except OSError:
        return None
    lib.archive_read_new.restype = ctypes.c_void_p
    lib.archive_read_support_format_iso9660.argtypes = [ctypes.c_void_p]
    lib.archive_read_open_memory.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t]
    lib.archive_read_next_header.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p)]
    lib.archive_entry_pathname_utf8.argtypes = [ctypes.c_void_p]
    lib.archive_entry_pathname_utf8.restype = ctypes.c_char_p
    lib.archive_entry_filetype.argtypes = [ctypes.c_void_p]
    lib.archive_entry_size.argtypes = [ctypes.c_void_p]
    lib.archive_entry_size.restype = ctypes.c_int64
    lib.archive_read_data.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t]
    lib.archive_read_data.restype = ctypes.c_ssize_t
    lib.archive_error_string.argtypes = [ctypes.c_void_p]
    lib.archive_error_string.restype = ctypes.c_char_p
    lib.archive_read_free.argtypes = [ctypes.c_void_p]

    archive = lib.archive_read_new()
    buf = ctypes.create_string_buffer(image, len(image))
    files: dict[str, bytes] = {}
    try:
        assert lib.archive_read_support_format_iso9660(archive) == 0
        assert lib.archive_read_open_memory(archive, buf, len(image)) == 0, lib.archive_error_string(archive)
        entry = ctypes.c_void_p()
        while True:
            status = lib.archive_read_next_header(archive, ctypes.byref(entry))
            if status == 1:  # ARCHIVE_EOF
                break
            assert status == 0, lib.archive_error_string(archive)
            path = lib.archive_entry_pathname_utf8(entry).decode("utf-8").rstrip("/")
            if lib.archive_entry_filetype(entry) != 0o100000:  # AE_IFREG
                continue
            size = lib.archive_entry_size(entry)
            chunk = ctypes.create_string_buffer(max(size, 1))
            got = lib.archive_read_data(archive, chunk, size) if size else 0
            assert got == size, lib.archive_error_string(archive)
            files[path] = chunk.raw[:size]
    finally:
        lib.archive_read_free(archive)
    return files


def _tree(root: Path) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            full = Path(dirpath) / name
            out[full.relative_to(root).as_posix()] = full.read_bytes()
    return out


def check_with_external_tools(image: bytes, files: dict[str, bytes], label: str, tmp_path: Path) -> list[str]:
    """Cross-check with whatever external readers exist; return the names of those used."""
    used: list[str] = []
    iso_path = tmp_path / "image.iso"
    iso_path.write_bytes(image)

    extracted = _libarchive_files(image)
    if extracted is not None:
        assert extracted == files
        used.append("libarchive")

    if shutil.which("blkid"):
        result = subprocess.run(
            ["blkid", "-p", "-o", "export", str(iso_path)], capture_output=True, text=True, check=False
        )
        if result.returncode == 0:
            fields = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
            assert fields.get("TYPE") == "iso9660"
            assert fields.get("LABEL") == label
            used.append("blkid")

    isoinfo = shutil.which("isoinfo")
    if isoinfo:
        listing = subprocess.run(
            [isoinfo, "-J", "-f", "-i", str(iso_path)], capture_output=True, text=True, check=True
        ).stdout.split()
        listed = {p.lstrip("/") for p in listing}
        assert set(files) <= listed
        for path, data in files.items():
            out = subprocess.run(
                [isoinfo, "-J", "-x", "/" + path, "-i", str(iso_path)], capture_output=True, check=True
            )
            assert out.stdout == data, path
        pvd = subprocess.run([isoinfo, "-d", "-i", str(iso_path)], capture_output=True, text=True, check=True)
        assert "Volume id: %s" % label in pvd.stdout
        used.append("isoinfo")

    xorriso = shutil.which("xorriso")
    if xorriso:
        target = tmp_path / "xorriso"
        subprocess.run(
            [xorriso, "-abort_on", "FAILURE", "-read_fs", "any", "-osirrox", "on", "-indev", str(iso_path),
             "-extract", "/", str(target)],
            capture_output=True, check=True,
        )  # fmt: skip
        assert _tree(target) == files
        used.append("xorriso")

    seven_zip = shutil.which("7z") or shutil.which("7za") or shutil.which("7zz")
    if seven_zip:
        target = tmp_path / "7z"
        subprocess.run([seven_zip, "x", "-y", "-o" + str(target), str(iso_path)], capture_output=True, check=True)
        assert _tree(target) == files
        used.append("7z")
    return used


def roundtrip(files: dict[str, bytes], label: str, tmp_path: Path) -> Image:
    image = iso9660.build_iso(files, label)
    parsed = read_iso(image)
    assert parsed.primary.label == label
    assert parsed.joliet.label == label
    assert parsed.joliet.files == files
    check_with_external_tools(image, files, label, tmp_path)
    return parsed


# --------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------


NOCLOUD = {
    "user-data": b"#cloud-config\nhostname: vm1\n",
    "meta-data": b'{"instance-id": "i-1", "local-hostname": "vm1"}\n',
    "network-config": b"version: 2\n",
}


def test_deterministic_output() -> None:
    first = iso9660.build_iso(dict(NOCLOUD), "cidata")
    second = iso9660.build_iso(dict(reversed(list(NOCLOUD.items()))), "cidata")
    assert first == second
    assert hashlib.sha256(first).hexdigest() == hashlib.sha256(iso9660.build_iso(dict(NOCLOUD), "cidata")).hexdigest()


def test_different_content_different_hash() -> None:
    base = iso9660.build_iso(dict(NOCLOUD), "cidata")
    changed = dict(NOCLOUD, **{"user-data": b"#cloud-config\nhostname: vm2\n"})
    assert hashlib.sha256(base).digest() != hashlib.sha256(iso9660.build_iso(changed, "cidata")).digest()
    assert base != iso9660.build_iso(dict(NOCLOUD), "CIDATA")
    renamed = {("user-data2" if k == "user-data" else k): v for k, v in NOCLOUD.items()}
    assert base != iso9660.build_iso(renamed, "cidata")


def test_size_is_sector_multiple() -> None:
    image = iso9660.build_iso(dict(NOCLOUD), "cidata")
    assert len(image) % SECTOR == 0
    assert image[: 16 * SECTOR] == b"\x00" * 16 * SECTOR


def test_nocloud_names_and_label(tmp_path: Path) -> None:
    parsed = roundtrip(dict(NOCLOUD), "cidata", tmp_path)
    assert sorted(parsed.joliet.files) == ["meta-data", "network-config", "user-data"]
    # Primary names are upper-case d-characters with a version number.
    assert sorted(parsed.primary.files) == ["META_DATA", "NETWORK_CONFIG", "USER_DATA"]
    assert parsed.primary.files["USER_DATA"] == NOCLOUD["user-data"]


def test_nested_paths(tmp_path: Path) -> None:
    files = {
        "openstack/latest/meta_data.json": b'{"uuid": "x"}',
        "openstack/latest/user_data": b"#cloud-config\n",
        "openstack/latest/network_data.json": b"{}",
        "openstack/2012-08-10/meta_data.json": b"{}",
        "ec2/latest/meta-data.json": b"{}",
        "top.txt": b"top",
    }
    parsed = roundtrip(files, "config-2", tmp_path)
    assert set(parsed.joliet.dirs) == {"", "openstack", "openstack/latest", "openstack/2012-08-10", "ec2", "ec2/latest"}
    assert parsed.primary.files["OPENSTACK/LATEST/META_DATA.JSON"] == files["openstack/latest/meta_data.json"]
    assert parsed.primary.files["OPENSTACK/2012_08_10/META_DATA.JSON"] == b"{}"


def test_large_file_spans_many_sectors(tmp_path: Path) -> None:
    big = bytes((i * 7 + i // 2048) % 256 for i in range(1024 * 1024))
    files = {"big.bin": big, "user-data": b"x"}
    parsed = roundtrip(files, "cidata", tmp_path)
    assert parsed.joliet.files["big.bin"] == big
    assert parsed.total_sectors >= 512


def test_empty_file(tmp_path: Path) -> None:
    parsed = roundtrip({"meta-data": b"", "user-data": b"#cloud-config\n"}, "cidata", tmp_path)
    assert parsed.joliet.files["meta-data"] == b""


def test_exact_sector_sized_file(tmp_path: Path) -> None:
    exact = bytes(range(256)) * 8
    assert len(exact) == SECTOR
    files = {"exact": exact, "after": b"next"}
    image = iso9660.build_iso(files, "cidata")
    parsed = roundtrip(files, "cidata", tmp_path)
    assert parsed.joliet.files["exact"] == exact
    assert parsed.joliet.files["after"] == b"next"
    assert image.count(exact) == 1


def test_many_entries_span_directory_sectors(tmp_path: Path) -> None:
    files = {"dir/file-with-a-rather-long-name-%03d.txt" % i: b"%d" % i for i in range(120)}
    parsed = roundtrip(files, "cidata", tmp_path)
    assert parsed.joliet.dirs["dir"].size > SECTOR
    assert parsed.primary.dirs["DIR"].size > SECTOR
    assert len(parsed.primary.files) == 120  # colliding primary names were made unique


def test_primary_name_collisions(tmp_path: Path) -> None:
    files = {"user-data": b"1", "user_data": b"2", "User-Data": b"3"}
    parsed = roundtrip(files, "cidata", tmp_path)
    assert len(parsed.primary.files) == 3
    assert sorted(parsed.primary.files.values()) == [b"1", b"2", b"3"]


@pytest.mark.parametrize(
    "files",
    [
        {"": b"x"},
        {"a//b": b"x"},
        {"../x": b"x"},
        {"a": b"x", "a/b": b"y"},
        {"a:b": b"x"},
        {"x" * 65: b"x"},
        {"/".join("d" * 8) + "/f": b"x"},
    ],
)
def test_invalid_paths(files: dict[str, bytes]) -> None:
    with pytest.raises(ValueError):
        iso9660.build_iso(files, "cidata")


@pytest.mark.parametrize("label", ["", "x" * 17, "with space", "caf\u00e9"])
def test_invalid_labels(label: str) -> None:
    with pytest.raises(ValueError):
        iso9660.build_iso({"a": b"b"}, label)


def test_no_files(tmp_path: Path) -> None:
    parsed = roundtrip({}, "cidata", tmp_path)
    assert parsed.joliet.files == {}
