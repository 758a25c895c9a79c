# -*- coding: utf-8 -*-
# Copyright: virtops.compute contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Retry with jittered exponential backoff, only on errors a predicate names transient."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def retry(
    call: Callable[[], T],
    is_transient: Callable[[BaseException], bool],
    attempts: int = 5,
    base_delay: float = 0.5,
    max_delay: float = 8.0,
    sleep: Callable[[float], None] = time.sleep,
    jitter: Callable[[], float] = random.random,
    on_retry: Callable[[int, BaseException], Any] | None = None,
) -> T:
    """Call ``call()``; on a transient error wait and try again, up to ``attempts`` calls.

    Non-transient errors and the last transient one propagate unchanged.
    """
    if attempts < 1:
        raise ValueError("attempts must be >= 1")
    attempt = 1
    while True:
        try:
            return call()
        except Exception as exc:
            if attempt >= attempts or not is_transient(exc):
                raise
            if on_retry is not None:
                on_retry(attempt, exc)
            delay = min(max_delay, base_delay * (2 ** (attempt - 1)))
            sleep(delay * (0.5 + jitter() / 2))
            attempt += 1
