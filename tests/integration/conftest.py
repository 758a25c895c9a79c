"""Fixtures for integration tests: real ansible-playbook runs against the simulators."""

from __future__ import annotations

from typing import Any

import pytest
from playbook_runner import PlaybookRun, run_playbook


@pytest.fixture()
def xen_defaults(xapi: Any) -> dict[str, Any]:
    return {"hostname": xapi.url, "username": xapi.username, "password": xapi.password}


@pytest.fixture()
def playbook(xapi: Any, xen_defaults: dict[str, Any]):  # type: ignore[no-untyped-def]
    """``playbook(tasks, check=..., diff=...)`` runs against the simulator with connection defaults set."""

    def run(tasks: list[dict[str, Any]], **kwargs: Any) -> PlaybookRun:
        kwargs.setdefault("defaults", xen_defaults)
        return run_playbook(tasks, **kwargs)

    return run


@pytest.fixture()
def si(vcsim: Any) -> Any:
    """A pyvmomi connection to the test's vcsim, to read its state; vcsim must not have panicked."""
    yield vcsim.connect()
    assert vcsim.panics() == [], vcsim.log_text()


@pytest.fixture()
def vsphere_conn(vcsim: Any) -> dict[str, Any]:
    """Connection options of the vmware modules for the test's vcsim."""
    return {
        "hostname": vcsim.host,
        "port": vcsim.port,
        "username": vcsim.username,
        "password": vcsim.password,
        "validate_certs": False,
    }
