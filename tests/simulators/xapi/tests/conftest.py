import os
import sys

import pytest

_SIMS = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if _SIMS not in sys.path:
    sys.path.insert(0, _SIMS)

from xapi.xapisim import Simulator
from xapi.xapisim.api import dispatch
from xapi.xapisim.sim import DEFAULT_PASSWORD


def pytest_configure(config):
    # Same registration as `pytest_plugins = ["xapi.pytest_plugin"]`, without duplicating it when the
    # project's top-level conftest already loads the plugin.
    if not config.pluginmanager.has_plugin("xapi.pytest_plugin"):
        config.pluginmanager.import_plugin("xapi.pytest_plugin")


class Local:
    """In-process simulator access (no HTTP)."""

    def __init__(self, **kw):
        self.sim = Simulator(ip_delay=kw.pop("ip_delay", 0.05), **kw)
        self.pool = self.sim.pools[0]
        self.db = self.pool.db
        self.session = self.call_raw("session.login_with_password", "root", DEFAULT_PASSWORD)

    def call_raw(self, method, *params, pool=None):
        return dispatch(self.sim, pool or self.pool, method, list(params))

    def __call__(self, method, *params):
        return self.call_raw(method, self.session, *params)

    def vm(self, name):
        return self("VM.get_by_name_label", name)[0]

    def wait_agent(self, vm, timeout=3.0):
        """Wait until the guest agent of a started VM has reported (PV drivers and feature flags):
        until then xapi refuses the operations the guest must carry out (VM_LACKS_FEATURE)."""
        import time

        deadline = time.time() + timeout
        while self("VM.get_guest_metrics", vm) == "OpaqueRef:NULL":
            assert time.time() < deadline, "the guest agent never reported"
            time.sleep(0.01)


@pytest.fixture()
def local():
    return Local()
