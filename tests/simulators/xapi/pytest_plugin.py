"""pytest plugin: `pytest_plugins = ["xapi.pytest_plugin"]` with tests/simulators on sys.path.

Fixtures: xapi_server / xapi_tls_server (session scope: a simulator subprocess), xapi / xapi_tls (function
scope: the same server after POST /_control/reset). Helper: start_simulator(*args) context manager.
"""

from __future__ import annotations

import contextlib
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from .control import SimControl
from .xapisim.sim import DEFAULT_PASSWORD

SIM_DIR = os.path.dirname(os.path.abspath(__file__))


@dataclass
class XapiSim:
    url: str
    control: SimControl
    username: str = "root"
    password: str = DEFAULT_PASSWORD
    ca: str | None = None
    urls: list[str] = field(default_factory=list)
    process: subprocess.Popen[str] | None = None

    @property
    def url2(self) -> str | None:
        return self.urls[1] if len(self.urls) > 1 else None

    def session(self, url: str | None = None) -> Any:
        """A logged-in XenAPI.Session (needs the XenAPI SDK)."""
        import ssl
        import xmlrpc.client

        import XenAPI

        target = url or self.url
        transport = None
        if target.startswith("https"):
            transport = xmlrpc.client.SafeTransport(context=ssl.create_default_context(cafile=self.ca))
        s = XenAPI.Session(target, transport=transport)
        s.xenapi.login_with_password(self.username, self.password, "1.0", "pytest")
        return s


def _reader(stream: Any, q: queue.Queue[str]) -> None:
    for line in stream:
        q.put(line)
    q.put("")


@contextlib.contextmanager
def start_simulator(
    *args: str, timeout: float = 30.0, username: str = "root", password: str = DEFAULT_PASSWORD
) -> Iterator[XapiSim]:
    """Run the simulator as a subprocess on port 0; always terminated on exit."""
    cmd = [
        sys.executable,
        SIM_DIR,
        "--port",
        "0",
        "--username",
        username,
        "--password",
        password,
        "--parent-pid",
        str(os.getpid()),
        *args,
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, bufsize=1)
    try:
        q: queue.Queue[str] = queue.Queue()
        threading.Thread(target=_reader, args=(proc.stdout, q), daemon=True).start()
        values: dict[str, str] = {}
        while "XAPI_READY" not in values:
            try:
                line = q.get(timeout=timeout)
            except queue.Empty:
                raise RuntimeError("xapi simulator did not start in time") from None
            if line == "":
                raise RuntimeError(f"xapi simulator exited early (rc={proc.poll()})")
            if "=" in line:
                k, v = line.strip().split("=", 1)
                values[k] = v
        urls = [values["XAPI_URL"]] + [values[k] for k in sorted(values) if k.startswith("XAPI_URL_")]
        ca = values.get("XAPI_CA")
        yield XapiSim(
            url=urls[0],
            control=SimControl(urls[0], cafile=ca),
            username=username,
            password=password,
            ca=ca,
            urls=urls,
            process=proc,
        )
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture(scope="session")
def xapi_server() -> Iterator[XapiSim]:
    with start_simulator("--ip-delay", "0.2") as sim:
        yield sim


@pytest.fixture()
def xapi(xapi_server: XapiSim) -> XapiSim:
    xapi_server.control.reset()
    return xapi_server


@pytest.fixture(scope="session")
def xapi_tls_server() -> Iterator[XapiSim]:
    with start_simulator("--tls", "--ip-delay", "0.2") as sim:
        yield sim


@pytest.fixture()
def xapi_tls(xapi_tls_server: XapiSim) -> XapiSim:
    xapi_tls_server.control.reset()
    return xapi_tls_server
