"""pytest plugin: vcsim (govmomi 0.24.2 vCenter simulator, patched) as a test peer.

Register it once, from the top-level ``tests/conftest.py``::

    pytest_plugins = ["tests.simulators.vcsim.pytest_plugin"]

(or ad hoc: ``python -m pytest -p tests.simulators.vcsim.pytest_plugin ...``
run from the repository root).

Fixtures
--------
``vcsim_binary`` (session)
    Path of the vcsim binary. Skips the test when it cannot be found, unless
    ``VIRTOPS_REQUIRE_VCSIM`` is set (CI), where it is a hard failure.
``vcsim_server`` (session)
    ONE shared vcsim with the default inventory, for tests that only read.
    Started with ``-trace`` when pytest runs with ``--vcsim-trace``.
``vcsim`` (function)
    A FRESH vcsim (own process, own inventory) for one test: vcsim has no
    reset API and starts in ~0.07 s, so each test gets its own. Options come
    from ``@pytest.mark.vcsim(trace=True, vm=10, host=2, cluster=1, ...)``.
``vcsim_factory`` (function) / ``vcsim_session_factory`` (session)
    ``factory(**options) -> VcsimServer``; every server started through it is
    stopped at the end of the test / session. Use the session one from a
    module- or session-scoped fixture for big inventories (5,000 VMs take ~8 s).

Options (keyword arguments of the marker / factories, see ``VcsimServer``):
    trace, vm, host, cluster, standalone_host, dc, ds, pool, folder, app, pod,
    pg, api_version, esx, autostart, username, password, load, pc_page_size
    (patch 0002: at most N objects per RetrievePropertiesEx page), extra_args.

Every server is terminated when its fixture ends, and runs with
``-stdinexit`` on a pipe, so it also exits if pytest itself is killed.
"""

from __future__ import annotations

import collections
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
BUILD_SCRIPT = REPO_ROOT / "scripts" / "build-vcsim.sh"
REQUIRE_ENV = "VIRTOPS_REQUIRE_VCSIM"
BINARY_ENV = "VCSIM_BINARY"

DEFAULT_USERNAME = "user"
DEFAULT_PASSWORD = "pass"
_WORKDIR_PREFIX = "virtops-vcsim-"
START_TIMEOUT = 120.0  # seconds; 5,000 VMs take ~8 s on 2 cores

_URL_RE = re.compile(r"export GOVC_URL=(\S+) GOVC_SIM_PID=(\d+)")
# -trace writes "Request: <body>\n" and "Response: <body>\n" per SOAP call
_TRACE_SPLIT_RE = re.compile(r"^(Request|Response): ", re.MULTILINE)
_BODY_CHILD_RE = re.compile(r"<(?:[\w.-]+:)?Body\b[^>]*>\s*<(?:[\w.-]+:)?([A-Za-z_][\w.-]*)")

# marker / factory keyword -> vcsim flag (integer / string options)
_VALUE_FLAGS = {
    "vm": "-vm",
    "host": "-host",
    "cluster": "-cluster",
    "standalone_host": "-standalone-host",
    "dc": "-dc",
    "ds": "-ds",
    "pool": "-pool",
    "folder": "-folder",
    "app": "-app",
    "pod": "-pod",
    "pg": "-pg",
    "pg_nsx": "-pg-nsx",
    "nsx": "-nsx",
    "api_version": "-api-version",
    "load": "-load",
    "delay": "-delay",
    "method_delay": "-method-delay",
    "pc_page_size": "-pc-page-size",  # patch 0002: cap on RetrievePropertiesEx pages
}


class VcsimNotFound(Exception):
    pass


class VcsimError(RuntimeError):
    pass


def _truthy(value: str | None) -> bool:
    return bool(value) and value.strip().lower() not in ("0", "false", "no", "off")


def vcsim_required() -> bool:
    """True when ``VIRTOPS_REQUIRE_VCSIM`` is set (a missing binary must fail, not skip)."""
    return _truthy(os.environ.get(REQUIRE_ENV))


def find_vcsim_binary() -> str:
    """Locate the vcsim binary built from the project's current patches.

    1. ``$VCSIM_BINARY`` when set;
    2. ``scripts/build-vcsim.sh --print-path`` (the cached build matching the
       patches in tests/simulators/vcsim/patches; honours ``$VCSIM_CACHE_DIR``).
    A binary from older patches or a ``vcsim`` on PATH is never used.
    """
    explicit = os.environ.get(BINARY_ENV)
    if explicit:
        if os.path.isfile(explicit) and os.access(explicit, os.X_OK):
            return explicit
        raise VcsimNotFound(f"${BINARY_ENV}={explicit} is not an executable file")
    if not BUILD_SCRIPT.is_file():
        raise VcsimNotFound(f"{BUILD_SCRIPT} is missing")
    try:
        proc = subprocess.run(
            ["bash", str(BUILD_SCRIPT), "--print-path"],
            check=False,
            capture_output=True,
            text=True,
            timeout=60,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise VcsimNotFound(f"{BUILD_SCRIPT} --print-path failed: {exc}") from exc
    path = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
    if proc.returncode == 0 and path and os.access(path, os.X_OK):
        return path
    raise VcsimNotFound(
        f"vcsim is not built for the current patches (expected {path or '?'}; "
        f"{proc.stderr.strip()}). Run: scripts/build-vcsim.sh"
    )


def parse_trace_calls(text: str) -> list[str]:
    """SOAP method names of the requests in a chunk of vcsim ``-trace`` output, in order."""
    parts = _TRACE_SPLIT_RE.split(text)
    # parts: [prefix, kind, body, kind, body, ...]
    calls = []
    for kind, body in zip(parts[1::2], parts[2::2], strict=False):
        if kind != "Request":
            continue
        m = _BODY_CHILD_RE.search(body)
        calls.append(m.group(1) if m else "?")
    return calls


class VcsimServer:
    """One vcsim process.

    Attributes once started: ``url`` (``https://host:port/sdk``), ``host``,
    ``port``, ``username``, ``password``, ``pid``, ``govc_url`` (with
    credentials), ``workdir`` (its TMPDIR: datastores, logs, trace),
    ``log_path`` (stderr), ``trace_path`` (None without ``trace=True``),
    ``startup_seconds``.
    """

    def __init__(
        self,
        binary: str,
        *,
        trace: bool = False,
        username: str = DEFAULT_USERNAME,
        password: str = DEFAULT_PASSWORD,
        esx: bool = False,
        autostart: bool | None = None,
        extra_args: Sequence[str] = (),
        start_timeout: float = START_TIMEOUT,
        **options: int | str,
    ) -> None:
        unknown = set(options) - set(_VALUE_FLAGS)
        if unknown:
            raise TypeError(f"unknown vcsim option(s): {', '.join(sorted(unknown))}")
        self.binary = binary
        self.trace = trace
        self.username = username
        self.password = password
        self.host = "127.0.0.1"
        self.port: int | None = None
        self.url: str | None = None
        self.govc_url: str | None = None
        self.pid: int | None = None
        self.startup_seconds: float | None = None
        self.start_timeout = start_timeout
        self.workdir: Path | None = None
        self.log_path: Path | None = None
        self.trace_path: Path | None = None
        self._proc: subprocess.Popen | None = None
        self._args = ["-l", f"{self.host}:0", "-stdinexit", "-username", username, "-password", password]
        if esx:
            self._args.append("-esx")
        if autostart is not None:
            self._args.append(f"-autostart={'true' if autostart else 'false'}")
        for key, value in options.items():
            if value is not None:
                self._args += [_VALUE_FLAGS[key], str(value)]
        self._args += list(extra_args)

    # -- lifecycle -------------------------------------------------------------
    @staticmethod
    def _tmp_base() -> str | None:
        shm = "/dev/shm"
        if os.path.isdir(shm) and os.access(shm, os.W_OK | os.X_OK):
            return shm
        return None

    @property
    def args(self) -> list[str]:
        return list(self._args)

    @classmethod
    def sweep_stale_workdirs(cls) -> None:
        """Remove work dirs left by test runs that were killed (their owner pid is gone)."""
        base = Path(cls._tmp_base() or tempfile.gettempdir())
        for d in base.glob(_WORKDIR_PREFIX + "*"):
            try:
                owner = int((d / "owner.pid").read_text())
                os.kill(owner, 0)
            except ProcessLookupError:
                shutil.rmtree(d, ignore_errors=True)
            except (OSError, ValueError):
                pass  # not ours to judge (or being created right now)

    def start(self) -> VcsimServer:
        if self._proc is not None:
            raise VcsimError("already started")
        self.workdir = Path(tempfile.mkdtemp(prefix=_WORKDIR_PREFIX, dir=self._tmp_base()))
        (self.workdir / "owner.pid").write_text(str(os.getpid()))
        self.log_path = self.workdir / "vcsim.log"
        out_path = self.workdir / "vcsim.out"
        args = [self.binary, *self._args]
        if self.trace:
            self.trace_path = self.workdir / "trace.log"
            args += ["-trace", "-trace-file", str(self.trace_path)]
        env = dict(os.environ, TMPDIR=str(self.workdir))
        started = time.monotonic()
        with open(out_path, "wb") as out, open(self.log_path, "wb") as err:
            self._proc = subprocess.Popen(
                args,
                stdin=subprocess.PIPE,
                stdout=out,
                stderr=err,
                cwd=str(self.workdir),
                env=env,
                close_fds=True,
            )
        try:
            self._wait_ready(out_path, started)
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - started
        return self

    def _wait_ready(self, out_path: Path, started: float) -> None:
        # vcsim prints "export GOVC_URL=https://user:pass@127.0.0.1:PORT/sdk GOVC_SIM_PID=N"
        # once its listener is bound (-l 127.0.0.1:0 picks a free port).
        deadline = started + self.start_timeout
        delay = 0.005
        while True:
            text = out_path.read_text(errors="replace")
            m = _URL_RE.search(text)
            if m:
                break
            if self._proc.poll() is not None:
                raise VcsimError(f"vcsim exited with {self._proc.returncode} before it was ready:\n{self.log_text()}")
            if time.monotonic() > deadline:
                raise VcsimError(f"vcsim not ready after {self.start_timeout}s:\n{self.log_text()}")
            time.sleep(delay)
            delay = min(delay * 2, 0.1)
        self.govc_url = m.group(1)
        self.pid = int(m.group(2))
        hostport = self.govc_url.split("@")[-1].split("/")[0]
        self.host, port = hostport.rsplit(":", 1)
        self.port = int(port)
        self.url = f"https://{self.host}:{self.port}/sdk"
        # the listener is bound before the line is printed; make sure it accepts
        with socket.create_connection((self.host, self.port), timeout=5):
            pass

    def stop(self, timeout: float = 10.0) -> None:
        """Terminate vcsim (SIGTERM, then SIGKILL) and remove its TMPDIR."""
        proc, self._proc = self._proc, None
        if proc is not None:
            if proc.poll() is None:
                try:
                    proc.send_signal(signal.SIGTERM)
                    proc.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=timeout)
            if proc.stdin:
                proc.stdin.close()
        if self.workdir is not None and self.workdir.exists():
            shutil.rmtree(self.workdir, ignore_errors=True)

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def __enter__(self) -> VcsimServer:
        return self.start() if self._proc is None else self

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- helpers ---------------------------------------------------------------
    def env(self) -> dict:
        """Connection settings as environment variables (govc and VMWARE_* style)."""
        return {
            "GOVC_URL": self.govc_url,
            "GOVC_INSECURE": "1",
            "VMWARE_HOST": self.host,
            "VMWARE_PORT": str(self.port),
            "VMWARE_USER": self.username,
            "VMWARE_PASSWORD": self.password,
            "VMWARE_VALIDATE_CERTS": "false",
        }

    def log_text(self) -> str:
        """vcsim's stderr so far (Go log lines, panics; the trace too without a trace file)."""
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")

    def panics(self) -> list[str]:
        """Lines of vcsim's stderr reporting a recovered handler panic ("http: panic serving ...")."""
        return [line for line in self.log_text().splitlines() if "panic" in line]

    def connect(self):
        """pyvmomi ServiceInstance (certificate checks off); disconnect it yourself or let vcsim stop."""
        from pyVim.connect import SmartConnect  # imported lazily: the plugin does not need pyvmomi

        return SmartConnect(
            host=self.host,
            port=self.port,
            user=self.username,
            pwd=self.password,
            disableSslCertValidation=True,
        )

    # -- -trace round-trip counting --------------------------------------------
    def _require_trace(self) -> Path:
        if self.trace_path is None:
            raise VcsimError("this vcsim was started without trace=True")
        return self.trace_path

    def trace_mark(self) -> int:
        """A marker for ``count_calls``/``trace_calls``: the current end of the trace (byte offset)."""
        path = self._require_trace()
        return path.stat().st_size if path.exists() else 0

    def trace_calls(self, since: int = 0) -> list[str]:
        """SOAP method names requested since ``since`` (a ``trace_mark()``), in order.

        vcsim writes each request to the trace before handling it, so every call
        whose response the client has received is counted.
        """
        path = self._require_trace()
        if not path.exists():
            return []
        with open(path, "rb") as fh:
            fh.seek(since)
            data = fh.read()
        return parse_trace_calls(data.decode("utf-8", errors="replace"))

    def count_calls(self, since: int = 0, method: str | Iterable[str] | None = None) -> int:
        """Number of SOAP round trips since ``since``; only of ``method`` (a name or names) if given."""
        calls = self.trace_calls(since)
        if method is None:
            return len(calls)
        names = {method} if isinstance(method, str) else set(method)
        return sum(1 for c in calls if c in names)

    def call_counter(self, since: int = 0) -> collections.Counter:
        """``Counter`` of SOAP method names since ``since``."""
        return collections.Counter(self.trace_calls(since))

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<VcsimServer {self.url or '-'} pid={self.pid} {state}>"


class VcsimFactory:
    """Starts servers with ``factory(**options)``; ``close()`` stops them all."""

    def __init__(self, binary: str) -> None:
        self.binary = binary
        self._servers: list[VcsimServer] = []

    def __call__(self, **options) -> VcsimServer:
        server = VcsimServer(self.binary, **options)
        self._servers.append(server)
        return server.start()

    def close(self) -> None:
        while self._servers:
            self._servers.pop().stop()


# -- pytest hooks and fixtures ---------------------------------------------------
def pytest_addoption(parser):
    group = parser.getgroup("vcsim", "vcsim vCenter simulator")
    group.addoption(
        "--vcsim-trace",
        action="store_true",
        default=False,
        help="start the shared vcsim_server with -trace (enables its count_calls())",
    )


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "vcsim(**options): options for the function-scoped `vcsim` fixture "
        "(trace=True, vm=N, host=N, cluster=N, standalone_host=N, ...)",
    )


@pytest.fixture(scope="session")
def vcsim_binary() -> str:
    """Path of the vcsim binary; skip (or fail under VIRTOPS_REQUIRE_VCSIM) when missing."""
    try:
        binary = find_vcsim_binary()
    except VcsimNotFound as exc:
        if vcsim_required():
            pytest.fail(f"{REQUIRE_ENV} is set and vcsim is missing: {exc}", pytrace=False)
        pytest.skip(f"vcsim not available: {exc}")
    VcsimServer.sweep_stale_workdirs()
    return binary


@pytest.fixture(scope="session")
def vcsim_session_factory(vcsim_binary) -> Iterator[VcsimFactory]:
    factory = VcsimFactory(vcsim_binary)
    try:
        yield factory
    finally:
        factory.close()


@pytest.fixture
def vcsim_factory(vcsim_binary) -> Iterator[VcsimFactory]:
    factory = VcsimFactory(vcsim_binary)
    try:
        yield factory
    finally:
        factory.close()


@pytest.fixture(scope="session")
def vcsim_server(vcsim_session_factory, pytestconfig) -> VcsimServer:
    """The session's shared vcsim (default inventory). Don't mutate it: use `vcsim` for that."""
    return vcsim_session_factory(trace=pytestconfig.getoption("vcsim_trace"))


@pytest.fixture
def vcsim(request, vcsim_factory) -> VcsimServer:
    """A fresh vcsim with its own inventory for this test (options: @pytest.mark.vcsim(...))."""
    options = {}
    for marker in reversed(list(request.node.iter_markers("vcsim"))):
        options.update(marker.kwargs)  # closest marker wins
    return vcsim_factory(**options)
