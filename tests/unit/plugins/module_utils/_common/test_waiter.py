from __future__ import annotations

import pytest

from ansible_collections.virtops.compute.plugins.module_utils._common.errors import TaskTimeout
from ansible_collections.virtops.compute.plugins.module_utils._common.waiter import Waiter


class FakeClock:
    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def test_returns_first_non_none_value():
    fc = FakeClock()
    values = iter([None, None, "ip"])
    assert Waiter(10, interval=1, clock=fc.clock, sleep=fc.sleep).until(lambda: next(values), "x") == "ip"
    assert fc.sleeps == [1, 1]


def test_times_out_with_message_and_never_oversleeps():
    fc = FakeClock()
    with pytest.raises(TaskTimeout) as err:
        Waiter(2.5, interval=1, clock=fc.clock, sleep=fc.sleep).until(lambda: None, "the guest IP")
    assert str(err.value) == "timed out after 2.5s waiting for the guest IP"
    assert fc.sleeps == [1, 1, 0.5]


def test_backoff_grows_to_max_interval():
    fc = FakeClock()
    with pytest.raises(TaskTimeout):
        Waiter(10, interval=1, max_interval=2, clock=fc.clock, sleep=fc.sleep).until(lambda: None, "x")
    assert fc.sleeps[:4] == [1, 1.5, 2, 2]


def test_negative_timeout_rejected():
    with pytest.raises(ValueError):
        Waiter(-1)
