# -*- coding: utf-8 -*-
# Copyright: virtops.compute contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one place that runs ``xl`` (Ganeti's ``XenHypervisor._RunXen``).

Every call has a timeout. The function that starts the process is injected (Ganeti's ``_run_cmd_fn``),
so tests replace it with recorded output, and a caller can route ``xl`` through ``sudo`` or ``ssh``.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from .errors import XlDomainNotFound, XlError, XlNotAvailable, XlTimeout

DEFAULT_TIMEOUT = 60.0

# xl's wording for "no such domain" (libxl_name_to_domid / libxl_domain_info, 4.x).
_NOT_FOUND = re.compile(r"invalid domain identifier|is not a valid domain|no such domain", re.IGNORECASE)


@dataclass(frozen=True)
class CmdResult:
    """What one run of a command produced."""

    argv: tuple[str, ...]
    rc: int
    stdout: str
    stderr: str
    seconds: float = 0.0


class CmdTimeout(Exception):
    """Raised by a run-command function when the command outlived its timeout (and was killed)."""

    def __init__(self, partial_output: str = "") -> None:
        super().__init__(partial_output)
        self.partial_output = partial_output


RunCmdFn = Callable[[Sequence[str], float], CmdResult]
"""``fn(argv, timeout) -> CmdResult``; raises :class:`CmdTimeout` or ``OSError`` (cannot start)."""


def run_cmd(argv: Sequence[str], timeout: float) -> CmdResult:
    """The default: a child process with a C locale, no stdin, killed after ``timeout`` seconds."""
    env = dict(os.environ, LC_ALL="C", LANG="C")
    start = time.monotonic()
    try:
        # The client has no Ansible import (tests and inventory plugins use it too), so it cannot call
        # AnsibleModule.run_command; this function is the one place a child process starts, and modules may
        # inject one built on run_command instead.
        proc = subprocess.run(  # pylint: disable=ansible-bad-function
            list(argv), stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout, env=env, check=False
        )
    except subprocess.TimeoutExpired as exc:
        out = exc.stderr or exc.stdout or b""
        raise CmdTimeout(out.decode("utf-8", "replace").strip() if isinstance(out, bytes) else str(out)) from None
    return CmdResult(
        tuple(argv),
        proc.returncode,
        proc.stdout.decode("utf-8", "replace"),
        proc.stderr.decode("utf-8", "replace"),
        time.monotonic() - start,
    )


def xl_message(stdout: str, stderr: str, limit: int = 2000) -> str:
    """xl's own words for a failure: its stderr (else stdout) lines joined, minus the "Parsing config" echo."""
    lines = [ln.strip() for ln in ((stderr.strip() and stderr) or stdout).splitlines()]
    lines = [ln for ln in lines if ln and not ln.startswith("Parsing config from ")]
    text = "; ".join(lines)
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass
class XlRunner:
    """Runs ``xl`` subcommands; ``calls`` records every argv (tests count round trips with it)."""

    cmd: Sequence[str] = ("xl",)
    timeout: float = DEFAULT_TIMEOUT
    run_cmd_fn: RunCmdFn = run_cmd
    calls: list[tuple[str, ...]] = field(default_factory=list)

    def argv(self, args: Sequence[str]) -> tuple[str, ...]:
        return (*self.cmd, *args)

    def run(self, args: Sequence[str], *, timeout: float | None = None, check: bool = True) -> CmdResult:
        """Run ``xl ARGS``; raise a typed error when it fails (``check``), cannot start or times out."""
        argv = self.argv(args)
        limit = self.timeout if timeout is None else timeout
        self.calls.append(argv)
        try:
            result = self.run_cmd_fn(argv, limit)
        except CmdTimeout as exc:
            raise XlTimeout(argv, limit, exc.partial_output) from None
        except OSError as exc:
            raise XlNotAvailable(argv[0], exc.strerror or str(exc)) from None
        if check and result.rc != 0:
            raise self.error(result)
        return result

    @staticmethod
    def error(result: CmdResult) -> XlError | XlNotAvailable:
        """The typed error for a failed ``xl`` call."""
        msg = xl_message(result.stdout, result.stderr)
        if result.rc == 127 and not result.stdout and "not found" in result.stderr:
            return XlNotAvailable(result.argv[0], msg)
        cls = XlDomainNotFound if _NOT_FOUND.search(msg) else XlError
        return cls(result.argv, result.rc, msg)
