# -*- coding: utf-8 -*-
# Copyright: virtops.compute contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One waiter for everything that polls: tasks, power states, guest IPs."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from .errors import TaskTimeout


class Waiter:
    """Poll ``probe`` until it returns something other than ``None``.

    ``clock`` and ``sleep`` are injectable so tests run without real time passing.
    """

    def __init__(
        self,
        timeout: float,
        interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        max_interval: float | None = None,
    ) -> None:
        if timeout < 0:
            raise ValueError("timeout must be >= 0")
        self.timeout = float(timeout)
        self.interval = max(float(interval), 0.0)
        self.max_interval = max_interval if max_interval is not None else self.interval
        self.clock = clock
        self.sleep = sleep

    def until(self, probe: Callable[[], Any], what: str) -> Any:
        deadline = self.clock() + self.timeout
        interval = self.interval
        while True:
            value = probe()
            if value is not None:
                return value
            remaining = deadline - self.clock()
            if remaining <= 0:
                raise TaskTimeout("timed out after %ss waiting for %s" % (format_seconds(self.timeout), what))
            self.sleep(min(interval, remaining))
            interval = min(interval * 1.5, self.max_interval) if self.max_interval > self.interval else interval


def format_seconds(seconds: float) -> str:
    """``30`` -> ``30``, ``2.5`` -> ``2.5``: for messages."""
    return ("%d" % seconds) if float(seconds).is_integer() else ("%.1f" % seconds)
