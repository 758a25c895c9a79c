"""Command line: python tests/simulators/xapi --port 0 [...]."""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import ssl
import sys
import tempfile
import threading
from typing import Any

from .server import SimHTTPServer
from .sim import DEFAULT_PASSWORD, Simulator


class TLSServer(SimHTTPServer):
    ssl_context: ssl.SSLContext | None = None

    def finish_request(self, request: Any, client_address: Any) -> None:
        if self.ssl_context is not None:
            try:
                request = self.ssl_context.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):
                return
        super().finish_request(request, client_address)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="xapi-simulator", description="XenAPI simulator for tests")
    p.add_argument("--port", type=int, default=0, help="port of the first pool (0: any free port)")
    p.add_argument("--host", default="127.0.0.1", help="listen address (loopback only)")
    p.add_argument("--scenario", help="YAML scenario file (default: built-in two-pool topology)")
    p.add_argument("--vms", type=int, default=0, help="extra halted VMs vm-00001... in the first pool")
    p.add_argument("--tls", action="store_true", help="serve HTTPS with a generated CA (XAPI_CA line)")
    p.add_argument("--username", default="root")
    p.add_argument("--password", default=DEFAULT_PASSWORD, help="default: %(default)s")
    p.add_argument("--ip-delay", type=float, default=0.5, help="seconds before a started VM reports IPs")
    p.add_argument("--parent-pid", type=int, default=0, help="exit when this process is gone (test runners)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print("error: the simulator only listens on loopback", file=sys.stderr)
        return 2
    scenario = None
    if args.scenario:
        from .scenario import load_scenario

        scenario = load_scenario(args.scenario)
    sim = Simulator(scenario, args.vms, args.username, args.password, args.ip_delay)
    tmpdir = tempfile.mkdtemp(prefix="xapi-sim-") if args.tls else None
    ca_path = None
    ctx = None
    if tmpdir:
        from .tlsgen import make_certs

        ca_path, cert, key = make_certs(tmpdir)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
    servers: list[TLSServer] = []
    scheme = "https" if args.tls else "http"
    host = "127.0.0.1" if args.host == "localhost" else args.host
    try:
        for i, pool in enumerate(sim.pools):
            port = args.port if i == 0 else (args.port + i if args.port else 0)
            srv = TLSServer((host, port), sim, pool)
            srv.ssl_context = ctx
            pool.base_url = f"{scheme}://{host}:{srv.server_address[1]}"
            servers.append(srv)
            # consoles of VMs the scenario started before the port was known
            for console in pool.db.all("console").values():
                uuid = console["location"].rpartition("uuid=")[2]
                console["location"] = f"{pool.base_url.replace('http://', 'https://')}/console?uuid={uuid}"
    except OSError as e:
        print(f"error: cannot listen: {e}", file=sys.stderr)
        return 1
    lines = [f"XAPI_URL={sim.pools[0].base_url}"]
    if ca_path:
        lines.append(f"XAPI_CA={ca_path}")
    for i, pool in enumerate(sim.pools[1:], start=2):
        lines.append(f"XAPI_URL_{i}={pool.base_url}")
    lines.append("XAPI_READY=1")
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    threads = [threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True) for s in servers]
    for t in threads:
        t.start()
    sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()
    try:
        while not stop.wait(0.5):
            if args.parent_pid and not _alive(args.parent_pid):
                break
    finally:
        for s in servers:
            s.shutdown()
            s.server_close()
        if tmpdir:
            shutil.rmtree(tmpdir, ignore_errors=True)
    return 0
