from __future__ import annotations

import pytest

from ansible_collections.virtops.compute.plugins.module_utils._common.retry import retry


class Transient(Exception):
    pass


def test_retries_only_transient_errors_with_backoff():
    calls, sleeps = [], []

    def call():
        calls.append(1)
        if len(calls) < 3:
            raise Transient()
        return "ok"

    assert (
        retry(
            call, lambda e: isinstance(e, Transient), attempts=5, base_delay=1, sleep=sleeps.append, jitter=lambda: 1.0
        )
        == "ok"
    )
    assert len(calls) == 3 and sleeps == [1.0, 2.0]


def test_non_transient_error_propagates_at_once():
    calls = []

    def call():
        calls.append(1)
        raise KeyError("x")

    with pytest.raises(KeyError):
        retry(call, lambda e: isinstance(e, Transient), sleep=lambda s: None)
    assert len(calls) == 1


def test_gives_up_after_attempts_with_the_last_error():
    calls = []

    def call():
        calls.append(1)
        raise Transient(len(calls))

    with pytest.raises(Transient) as err:
        retry(call, lambda e: True, attempts=3, sleep=lambda s: None)
    assert err.value.args == (3,)


def test_delay_is_capped():
    sleeps = []
    with pytest.raises(Transient):
        retry(
            lambda: (x for x in ()).throw(Transient()),
            lambda e: True,
            attempts=6,
            base_delay=1,
            max_delay=4,
            sleep=sleeps.append,
            jitter=lambda: 1.0,
        )
    assert sleeps == [1.0, 2.0, 4.0, 4.0, 4.0]
