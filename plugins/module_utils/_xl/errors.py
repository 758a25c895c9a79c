# -*- coding: utf-8 -*-
# Copyright: virtops.compute contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Typed errors of the xl driver. Each carries the command line and xl's own message."""

from __future__ import annotations

from collections.abc import Sequence

from ansible_collections.virtops.compute.plugins.module_utils._common.errors import (
    BackendError,
    InvalidInput,
    NotFound,
    TaskTimeout,
    VirtopsError,
)


def _cmdline(argv: Sequence[str]) -> str:
    return " ".join(argv)


class XlError(BackendError):
    """``xl`` ran and failed. ``xl_message`` is what xl printed (stderr, else stdout), stripped."""

    code = "XL_FAILED"

    def __init__(self, argv: Sequence[str], rc: int, xl_message: str, *, step: str | None = None) -> None:
        self.argv = list(argv)
        self.rc = rc
        self.xl_message = xl_message
        msg = "'%s' failed (exit code %d): %s" % (_cmdline(argv), rc, xl_message or "no output")
        super().__init__(msg, step=step)


class XlDomainNotFound(XlError, NotFound):
    """xl does not know the domain (``... is an invalid domain identifier``)."""

    code = "XL_DOMAIN_NOT_FOUND"


class XlTimeout(TaskTimeout):
    """``xl`` did not finish within its per-call timeout and was killed."""

    code = "XL_TIMEOUT"

    def __init__(self, argv: Sequence[str], timeout: float, partial_output: str = "") -> None:
        self.argv = list(argv)
        self.timeout = timeout
        self.partial_output = partial_output
        msg = "'%s' did not finish within %gs and was killed" % (_cmdline(argv), timeout)
        if partial_output:
            msg += "; its output so far: %s" % partial_output
        super().__init__(msg)


class XlNotAvailable(VirtopsError):
    """The ``xl`` executable cannot be started on this host (not a Xen dom0, or not installed)."""

    code = "XL_NOT_AVAILABLE"

    def __init__(self, cmd: str, reason: str) -> None:
        self.cmd = cmd
        super().__init__("cannot run '%s' on this host: %s (is this a Xen dom0 with the xl toolstack?)" % (cmd, reason))


class XlParseError(VirtopsError):
    """Output of xl that the parsers do not understand (a toolstack version we were not tested on)."""

    code = "XL_PARSE_ERROR"

    def __init__(self, what: str, reason: str, text: str = "") -> None:
        self.text = text
        snippet = text.strip().splitlines()[:3]
        msg = "cannot parse the output of %s: %s" % (what, reason)
        if snippet:
            msg += " (output starts: %s)" % " | ".join(snippet)
        super().__init__(msg)


class XlConfigError(InvalidInput):
    """A domain configuration (xl.cfg) value that cannot be written or read back."""

    code = "XL_CONFIG_INVALID"
