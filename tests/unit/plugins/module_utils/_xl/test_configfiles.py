"""Config files on disk: atomic 0600 writes, no rewrite when unchanged, stash on removal."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from ansible_collections.virtops.compute.plugins.module_utils._xl import configfiles
from ansible_collections.virtops.compute.plugins.module_utils._xl.configfiles import ConfigDir
from ansible_collections.virtops.compute.plugins.module_utils._xl.errors import XlConfigError


@pytest.fixture()
def cdir(tmp_path):
    return ConfigDir(path=str(tmp_path / "auto"), stash_path=str(tmp_path / "stash"), clock=lambda: 1700000000.0)


def mode(path: str) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_defaults_are_etc_xen_auto():
    assert ConfigDir().path == "/etc/xen/auto"
    assert not ConfigDir().stash_path.startswith("/etc/xen/auto")


def test_write_creates_0600_file_and_reports_change(cdir):
    assert cdir.read("web1") is None
    assert cdir.write("web1", 'name = "web1"\n') is True
    path = os.path.join(cdir.path, "web1.cfg")
    assert Path(path).read_text() == 'name = "web1"\n'
    assert mode(path) == 0o600
    assert cdir.leftovers() == []


def test_unchanged_write_does_not_touch_the_file(cdir):
    cdir.write("web1", "a\n")
    path = cdir.file_for("web1")
    before = os.stat(path)
    assert cdir.write("web1", "a\n") is False
    after = os.stat(path)
    assert (before.st_ino, before.st_mtime_ns) == (after.st_ino, after.st_mtime_ns)


def test_rewrite_replaces_atomically_and_fixes_mode(cdir):
    cdir.write("web1", "a\n")
    path = cdir.file_for("web1")
    os.chmod(path, 0o644)
    assert cdir.write("web1", "a\n") is True  # same bytes, wrong mode: rewritten
    assert mode(path) == 0o600
    with open(path) as old:  # a new file is renamed over the old one, never written in place
        assert cdir.write("web1", "b\n") is True
        assert old.read() == "a\n"
    assert Path(path).read_text() == "b\n"


def test_failed_write_leaves_old_file_and_no_temp(cdir, monkeypatch):
    cdir.write("web1", "old\n")

    def boom(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(configfiles.os, "replace", boom)
    with pytest.raises(OSError, match="No space left"):
        cdir.write("web1", "new\n")
    assert cdir.read("web1") == "old\n"
    assert cdir.leftovers() == []
    assert sorted(os.listdir(cdir.path)) == ["web1.cfg"]


def test_remove_stashes_with_timestamp_and_keeps_each_version(cdir):
    assert cdir.remove("web1") is None
    cdir.write("web1", "v1\n")
    first = cdir.remove("web1")
    assert first == os.path.join(cdir.stash_path, "web1-2023-11-14T221320.cfg")
    assert Path(first).read_text() == "v1\n"
    assert mode(first) == 0o600
    assert cdir.read("web1") is None
    cdir.write("web1", "v2\n")
    second = cdir.remove("web1")
    assert second == os.path.join(cdir.stash_path, "web1-2023-11-14T221320.2.cfg")
    assert Path(second).read_text() == "v2\n" and Path(first).read_text() == "v1\n"
    assert os.listdir(cdir.path) == []


@pytest.mark.parametrize("name", ["../evil", "a/b", "", "12"])
def test_names_that_escape_the_directory_are_refused(cdir, name, tmp_path):
    with pytest.raises(XlConfigError) as err:
        cdir.write(name, "x\n")
    assert err.value.param == "name"
    assert not (tmp_path / "evil.cfg").exists()
    assert not os.path.exists(cdir.path) or os.listdir(cdir.path) == []
