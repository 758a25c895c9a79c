"""VSphereClient.call: which failures are retried, and what the user sees."""

from __future__ import annotations

import http.client

import pytest

from ansible_collections.virtops.compute.plugins.module_utils._common.errors import ConnectionFailed
from ansible_collections.virtops.compute.plugins.module_utils._vsphere.client import VSphereClient, _transient


class Flaky:
    def __init__(self, failures: list[BaseException]) -> None:
        self.failures = list(failures)
        self.count = 0

    def __call__(self) -> str:
        self.count += 1
        if self.failures:
            raise self.failures.pop(0)
        return "ok"


def client() -> VSphereClient:
    si = type("SI", (), {"_stub": None})()
    return VSphereClient(si, content=None, sleep=lambda s: None)


@pytest.mark.parametrize(
    "exc,read_only,expected",
    [
        (http.client.HTTPException("503 Service Unavailable"), False, True),
        (http.client.HTTPException("502 Bad Gateway"), False, True),
        (http.client.HTTPException("500 Internal Server Error"), False, False),
        (ConnectionResetError(), False, False),
        (ConnectionResetError(), True, True),
        (http.client.RemoteDisconnected("closed"), True, True),
    ],
)
def test_transient(exc, read_only, expected):
    assert _transient(exc, read_only) is expected


def test_503_is_retried_and_succeeds():
    c, method = client(), Flaky([http.client.HTTPException("503 Service Unavailable")])
    assert c.call(method, what="power off") == "ok" and method.count == 2 and c.calls == 2


def test_dropped_connection_on_a_write_is_not_resent():
    c, method = client(), Flaky([ConnectionResetError("reset by peer")])
    with pytest.raises(ConnectionFailed) as err:
        c.call(method, what="ReconfigVM_Task")
    assert method.count == 1 and str(err.value) == "ReconfigVM_Task: reset by peer"


def test_persistent_503_becomes_a_clear_error():
    c = client()
    method = Flaky([http.client.HTTPException("503 Service Unavailable")] * 4)
    with pytest.raises(ConnectionFailed) as err:
        c.call(method, what="read properties", read_only=True)
    assert err.value.code == "HTTP_503" and method.count == 4
    assert str(err.value) == "read properties: the vSphere endpoint answered 503 Service Unavailable"
