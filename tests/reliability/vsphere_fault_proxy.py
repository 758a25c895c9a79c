"""A small TLS-terminating fault proxy in front of vcsim (or any HTTPS SOAP endpoint).

    with VSphereFaultProxy("127.0.0.1", vcsim.port) as proxy:
        proxy.drop("CreateSnapshot_Task")           # close the connection on the 1st matching request
        proxy.http_error("PowerOnVM_Task", 503)      # answer HTTP 503 instead of forwarding
        ... connect modules to 127.0.0.1:proxy.port, validate_certs with ca_path=proxy.ca ...
        proxy.calls  # Counter of SOAP methods seen

Clients talk TLS to the proxy with a throw-away CA (``proxy.ca``, SAN 127.0.0.1/localhost); the proxy
talks TLS to the upstream without verification (vcsim's certificate is self-signed). The SOAP method is
the first element inside ``<Body>`` of each POST (the same rule as vcsim's ``-trace`` parser). Rules
match the ``nth`` request of a method (1-based) and fire ``count`` times. Every thread is a daemon, the
listener stops on ``stop()``/context exit, and the temp dir with the keys is removed.
"""

from __future__ import annotations

import collections
import http.client
import re
import shutil
import socketserver
import ssl
import sys
import tempfile
import threading
from dataclasses import dataclass
from typing import Any

_BODY_CHILD_RE = re.compile(rb"<(?:[\w.-]+:)?Body\b[^>]*>\s*<(?:[\w.-]+:)?([A-Za-z_][\w.-]*)")
_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "proxy-connection", "upgrade"}


def soap_method(body: bytes) -> str | None:
    m = _BODY_CHILD_RE.search(body or b"")
    return m.group(1).decode() if m else None


@dataclass
class Rule:
    method: str
    mode: str  # "drop" | "http_error"
    nth: int = 1
    count: int = 1
    status: int = 503
    seen: int = 0
    fired: int = 0


class _Handler(socketserver.BaseRequestHandler):
    server: _Server

    def handle(self) -> None:
        proxy = self.server.proxy
        try:
            conn = proxy.server_ctx.wrap_socket(self.request, server_side=True)
        except (ssl.SSLError, OSError):
            return  # e.g. a client that refused our certificate: exactly what TLS tests want
        upstream: http.client.HTTPSConnection | None = None
        reader = conn.makefile("rb")
        try:
            while not proxy.stopped.is_set():
                head = self._read_head(reader)
                if head is None:
                    return
                request_line, headers = head
                length = int(headers.get("content-length", "0") or 0)
                body = reader.read(length) if length else b""
                method = soap_method(body) or ""
                action = proxy._decide(method)
                if action is not None and action.mode == "drop":
                    return  # close without a reply
                if action is not None:
                    text = b"injected HTTP %d by vsphere_fault_proxy\n" % action.status
                    conn.sendall(
                        b"HTTP/1.1 %d Injected\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
                        b"Connection: close\r\n\r\n%s" % (action.status, len(text), text)
                    )
                    return
                if upstream is None:
                    upstream = http.client.HTTPSConnection(
                        proxy.upstream_host, proxy.upstream_port, context=proxy.client_ctx, timeout=120
                    )
                verb, path, _version = request_line.split(" ", 2)
                fwd = {k: v for k, v in headers.items() if k not in _HOP and k != "host"}
                fwd["Host"] = "%s:%d" % (proxy.upstream_host, proxy.upstream_port)
                upstream.request(verb, path, body=body or None, headers=fwd)
                resp = upstream.getresponse()
                data = resp.read()
                out = [b"HTTP/1.1 %d %s\r\n" % (resp.status, resp.reason.encode("latin-1"))]
                for key, value in resp.getheaders():
                    if key.lower() not in _HOP:
                        out.append(("%s: %s\r\n" % (key, value)).encode("latin-1"))
                out.append(b"Content-Length: %d\r\n\r\n" % len(data))
                conn.sendall(b"".join(out) + data)
        except (OSError, http.client.HTTPException, ValueError):
            return
        finally:
            if upstream is not None:
                upstream.close()
            try:
                conn.close()
            except OSError:
                pass

    @staticmethod
    def _read_head(reader: Any) -> tuple[str, dict[str, str]] | None:
        line = reader.readline(65537)
        if not line:
            return None
        request_line = line.decode("latin-1").rstrip("\r\n")
        headers: dict[str, str] = {}
        while True:
            raw = reader.readline(65537)
            if not raw or raw in (b"\r\n", b"\n"):
                break
            key, _sep, value = raw.decode("latin-1").partition(":")
            headers[key.strip().lower()] = value.strip()
        return request_line, headers


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    proxy: VSphereFaultProxy


class VSphereFaultProxy:
    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream_host, self.upstream_port = upstream_host, int(upstream_port)
        self.rules: list[Rule] = []
        self.calls: collections.Counter[str] = collections.Counter()
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self._tmp = tempfile.mkdtemp(prefix="virtops-vsproxy-")
        sys.path.insert(0, _simulators_dir())
        from xapi.xapisim.tlsgen import make_certs

        self.ca, cert, key = make_certs(self._tmp)
        self.server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.server_ctx.load_cert_chain(cert, key)
        self.client_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        self.client_ctx.check_hostname = False
        self.client_ctx.verify_mode = ssl.CERT_NONE
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.proxy = self
        self.host, self.port = self._server.server_address[:2]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="vsphere-fault-proxy", daemon=True
        )
        self._thread.start()

    # rules ----------------------------------------------------------------
    def drop(self, method: str, nth: int = 1, count: int = 1) -> None:
        with self.lock:
            self.rules.append(Rule(method, "drop", nth, count))

    def http_error(self, method: str, status: int = 503, nth: int = 1, count: int = 1) -> None:
        with self.lock:
            self.rules.append(Rule(method, "http_error", nth, count, status))

    def clear(self) -> None:
        with self.lock:
            self.rules.clear()

    def _decide(self, method: str) -> Rule | None:
        with self.lock:
            self.calls[method] += 1
            for rule in self.rules:
                if rule.method not in (method, "*"):
                    continue
                rule.seen += 1
                if rule.seen >= rule.nth and rule.fired < rule.count:
                    rule.fired += 1
                    return rule
        return None

    # lifecycle --------------------------------------------------------------
    def stop(self) -> None:
        if self.stopped.is_set():
            return
        self.stopped.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self) -> VSphereFaultProxy:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def _simulators_dir() -> str:
    import os

    return os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "simulators")
