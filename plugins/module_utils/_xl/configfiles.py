# -*- coding: utf-8 -*-
# Copyright: virtops.compute contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Domain config files in a directory (default ``/etc/xen/auto``, where xendomains starts them at boot).

Writes are atomic (a 0600 temporary file in the same directory, fsync, rename, fsync of the directory),
so a crash leaves the old file or the new one, never half of one. Removing a file stashes it in a
separate directory with a timestamp (Ganeti ``_StashConfigFile``): never inside the auto directory,
where xendomains would start it again.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from .config import validate_name

DEFAULT_CONFIG_DIR = "/etc/xen/auto"
DEFAULT_STASH_DIR = "/var/log/xen/virtops-stash"
SUFFIX = ".cfg"
MODE = 0o600


def _fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass
class ConfigDir:
    path: str = DEFAULT_CONFIG_DIR
    stash_path: str = DEFAULT_STASH_DIR
    clock: Callable[[], float] = field(default=time.time, repr=False)

    def file_for(self, name: str, param: str = "name") -> str:
        """The config file of domain ``name``; the name is checked (no path separators)."""
        return os.path.join(self.path, validate_name(name, param) + SUFFIX)

    def read(self, name: str) -> str | None:
        """The file's text, or None when there is none."""
        try:
            with open(self.file_for(name), encoding="utf-8") as fh:
                return fh.read()
        except FileNotFoundError:
            return None

    def write(self, name: str, text: str) -> bool:
        """Write ``text`` atomically with mode 0600. False (and no write at all) when it is already there."""
        target = self.file_for(name)
        if self.read(name) == text and (os.stat(target).st_mode & 0o777) == MODE:
            return False
        os.makedirs(self.path, mode=0o755, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".%s." % name, suffix=".tmp", dir=self.path)  # mkstemp: 0600
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, MODE)
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        _fsync_dir(self.path)
        return True

    def remove(self, name: str) -> str | None:
        """Move the file to the stash directory; its new path, or None when there was no file."""
        source = self.file_for(name)
        if not os.path.exists(source):
            return None
        os.makedirs(self.stash_path, mode=0o700, exist_ok=True)
        stamp = time.strftime("%Y-%m-%dT%H%M%S", time.gmtime(self.clock()))
        dest = os.path.join(self.stash_path, "%s-%s%s" % (name, stamp, SUFFIX))
        n = 1
        while os.path.exists(dest):
            n += 1
            dest = os.path.join(self.stash_path, "%s-%s.%d%s" % (name, stamp, n, SUFFIX))
        try:
            os.rename(source, dest)
        except OSError:  # another file system: copy, then remove
            with open(source, "rb") as src, open(dest, "xb") as dst:
                dst.write(src.read())
                dst.flush()
                os.fsync(dst.fileno())
            os.chmod(dest, MODE)
            os.unlink(source)
        _fsync_dir(self.path)
        return dest

    def leftovers(self) -> list[str]:
        """Temporary files an interrupted write left behind (for a verify step or a fault test)."""
        try:
            return sorted(f for f in os.listdir(self.path) if f.startswith(".") and f.endswith(".tmp"))
        except FileNotFoundError:
            return []
