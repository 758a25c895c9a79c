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
