"""An in-process XenAPI connection onto the simulator's dispatcher: backend and planner tests without HTTP."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from xapi.xapisim import Simulator
from xapi.xapisim.api import dispatch
from xapi.xapisim.model import XapiError
from xapi.xapisim.sim import DEFAULT_PASSWORD

from ansible_collections.virtops.compute.plugins.module_utils._common.errors import BackendError
from ansible_collections.virtops.compute.plugins.module_utils._xenapi.backend import XenAPIBackend
from ansible_collections.virtops.compute.plugins.module_utils._xenapi.session import describe_failure


class InProcessConn:
    def __init__(self) -> None:
        self.sim = Simulator(ip_delay=0.05)
        self.pool = self.sim.pools[0]
        self.session_ref = dispatch(self.sim, self.pool, "session.login_with_password", ["root", DEFAULT_PASSWORD])
        self.calls: Counter[str] = Counter()
        self.api_calls = 0

    def call(self, method: str, *args: Any, read_only: bool = False, attempts: int = 4) -> Any:
        self.calls[method] += 1
        self.api_calls += 1
        try:
            return dispatch(self.sim, self.pool, method, [self.session_ref, *args])
        except XapiError as exc:
            raise BackendError(
                "%s failed: %s" % (method, describe_failure(exc.code, exc.params)), code=exc.code, details=exc.params
            ) from None

    def logout(self) -> None:
        pass

    def records(self, klass: str) -> dict[str, dict[str, Any]]:
        return self.pool.db.all(klass)

    def vm(self, name: str) -> tuple[str, dict[str, Any]]:
        found = [(r, v) for r, v in self.records("VM").items() if v["name_label"] == name]
        assert len(found) == 1
        return found[0]


@pytest.fixture()
def conn() -> InProcessConn:
    return InProcessConn()


@pytest.fixture()
def backend(conn: InProcessConn) -> XenAPIBackend:
    return XenAPIBackend(conn, sleep=lambda s: None)
