"""HTTP front end: XML-RPC, JSON-RPC, raw VDI transfer and the /_control API."""

from __future__ import annotations

import json
import socket
import time
import traceback
import urllib.parse
import xmlrpc.client
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from . import vhd
from .api import dispatch, finish_task
from .model import XapiError
from .wire import failure, from_xmlrpc, success, to_json, to_xmlrpc, xmlrpc_response

if TYPE_CHECKING:
    from .sim import Pool, Simulator


class SimHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr: tuple[str, int], sim: Simulator, pool: Pool) -> None:
        super().__init__(addr, Handler)
        self.sim = sim
        self.pool = pool


class _Drop(Exception):
    pass


class _HTTPFault(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class Handler(BaseHTTPRequestHandler):
    server: SimHTTPServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "xapi-simulator"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    # ------------------------------------------------------------ plumbing
    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = bytearray()
            while True:
                line = self.rfile.readline()
                n = int(line.split(b";")[0].strip() or b"0", 16)
                if n == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(out)
                out += self.rfile.read(n)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length", "0") or 0)
        return self.rfile.read(n) if n else b""

    def _send(self, status: int, body: bytes, ctype: str = "text/xml") -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, obj: Any) -> None:
        self._send(status, json.dumps(obj, sort_keys=True, default=str).encode(), "application/json")

    def _drop(self) -> None:
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    @property
    def sim(self) -> Simulator:
        return self.server.sim

    @property
    def pool(self) -> Pool:
        return self.server.pool

    def _route(self) -> tuple[str, dict[str, str]]:
        parsed = urllib.parse.urlsplit(self.path)
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(parsed.query, keep_blank_values=True).items()}
        return parsed.path, query

    # ------------------------------------------------------------ RPC
    def _call(self, method: str, params: list[Any]) -> Any:
        """Count, apply faults, dispatch. Raises XapiError, _Drop or _HTTPFault."""
        sim = self.sim
        with sim.lock:
            sim.calls[method] += 1
        fault = sim.take_fault(method)
        delay, fail = 0.0, None
        if fault is not None:
            if fault.mode == "drop":
                raise _Drop()
            if fault.mode == "http_error":
                raise _HTTPFault(fault.status)
            if fault.mode == "delay":
                delay = fault.seconds
            else:
                fail = fault.error
        try:
            return dispatch(sim, self.pool, method, params, delay=delay, fail=fail)
        except XapiError:
            raise
        except Exception as e:
            traceback.print_exc()
            raise XapiError("INTERNAL_ERROR", f"{type(e).__name__}: {e}") from None

    def _xmlrpc(self) -> None:
        body = self._body()
        try:
            params, method = xmlrpc.client.loads(body, use_builtin_types=False)
        except Exception as e:
            self._send(200, xmlrpc_response(failure(["INTERNAL_ERROR", f"XML-RPC parse error: {e}"])))
            return
        method = method or ""
        try:
            value = self._call(method, [from_xmlrpc(p) for p in params])
            envelope = success(to_xmlrpc(value))
        except XapiError as e:
            envelope = failure(e.description)
        except _Drop:
            self._drop()
            return
        except _HTTPFault as e:
            self._send(e.status, f"HTTP {e.status}\n".encode(), "text/plain")
            return
        self._send(200, xmlrpc_response(envelope))

    def _jsonrpc(self) -> None:
        body = self._body()
        try:
            req = json.loads(body or b"{}")
            method = str(req.get("method", ""))
            params = req.get("params", [])
            rid = req.get("id")
            v2 = req.get("jsonrpc") == "2.0"
        except (ValueError, AttributeError) as e:
            self._json(
                200,
                {"jsonrpc": "2.0", "error": {"code": -32700, "message": "PARSE_ERROR", "data": [str(e)]}, "id": None},
            )
            return
        if not isinstance(params, list):
            params = [params]
        try:
            value = to_json(self._call(method, params))
            resp: dict[str, Any] = (
                {"jsonrpc": "2.0", "result": value, "id": rid} if v2 else {"result": value, "error": None, "id": rid}
            )
        except XapiError as e:
            resp = (
                {"jsonrpc": "2.0", "error": {"code": 1, "message": e.code, "data": e.params}, "id": rid}
                if v2
                else {"result": None, "error": e.description, "id": rid}
            )
        except _Drop:
            self._drop()
            return
        except _HTTPFault as e:
            self._send(e.status, f"HTTP {e.status}\n".encode(), "text/plain")
            return
        self._json(200, resp)

    # ------------------------------------------------------------ raw VDI
    def _vdi_request(self, query: dict[str, str], name: str) -> tuple[str, str | None] | None:
        sim, db = self.sim, self.pool.db
        with sim.lock:
            sim.calls[name] += 1
        fault = sim.take_fault(name)
        if fault is not None and fault.mode == "drop":
            self._drop()
            return None
        if fault is not None and fault.mode == "http_error":
            self._send(fault.status, b"injected\n", "text/plain")
            return None
        if fault is not None and fault.mode == "delay":
            time.sleep(fault.seconds)
        session = query.get("session_id", "")
        task = query.get("task_id") or None
        with db.lock:
            if session not in db.tables["session"]:
                self._send(401, b"Unauthorised\n", "text/plain")
                if task in db.tables["task"]:
                    finish_task(db, task, "failure", ["SESSION_INVALID", session])
                return None
            vdi = query.get("vdi", "")
            if vdi not in db.tables["VDI"]:
                vdi = db.uuids["VDI"].get(vdi, "")
            if not vdi:
                self._send(404, b"VDI not found\n", "text/plain")
                if task in db.tables["task"]:
                    finish_task(db, task, "failure", ["HANDLE_INVALID", "VDI", query.get("vdi", "")])
                return None
            if fault is not None and fault.mode == "error":
                self._send(500, b"injected\n", "text/plain")
                if task in db.tables["task"]:
                    finish_task(db, task, "failure", fault.error)
                return None
        return vdi, task

    def _import_raw_vdi(self, query: dict[str, str]) -> None:
        body = self._body()
        got = self._vdi_request(query, "import_raw_vdi")
        if got is None:
            return
        vdi, task = got
        fmt = query.get("format", "raw")
        db = self.pool.db
        try:
            if fmt == "vhd":
                content, size = vhd.decode(body)
            elif fmt == "raw":
                content, size = body, len(body)
            else:
                raise vhd.VhdError(f"unsupported format {fmt}")
        except vhd.VhdError as e:
            with db.lock:
                if task in db.tables["task"]:
                    finish_task(db, task, "failure", ["INTERNAL_ERROR", str(e)])
            self._send(400, f"{e}\n".encode(), "text/plain")
            return
        with db.lock:
            rec = db.tables["VDI"].get(vdi)
            if rec is None:
                self._send(404, b"VDI not found\n", "text/plain")
                return
            if size > rec["virtual_size"]:
                if task in db.tables["task"]:
                    finish_task(db, task, "failure", ["VDI_TOO_SMALL", vdi, str(size)])
                self._send(400, b"Image is larger than the VDI virtual size\n", "text/plain")
                return
            rec["_content"] = content
            rec["physical_utilisation"] = max(len(content), 0)
            db.touch("VDI", vdi)
            from .api import Ctx
            from .msg_storage import sr_refresh

            sr_refresh(Ctx(self.sim, self.pool, "import_raw_vdi"), rec["SR"])
            if task in db.tables["task"]:
                finish_task(db, task, "success", "")
        self._send(200, b"", "text/plain")

    def _export_raw_vdi(self, query: dict[str, str]) -> None:
        got = self._vdi_request(query, "export_raw_vdi")
        if got is None:
            return
        vdi, task = got
        db = self.pool.db
        with db.lock:
            rec = db.tables["VDI"][vdi]
            content = rec.get("_content") or b""
            size = rec["virtual_size"]
            if task in db.tables["task"]:
                finish_task(db, task, "success", "")
        if query.get("format", "raw") == "vhd":
            content = vhd.encode_fixed(content, max(len(content), min(size, len(content) or 0)))
        self._send(200, content, "application/octet-stream")

    # ------------------------------------------------------------ control
    def _control(self, method: str, path: str, query: dict[str, str]) -> None:
        sim = self.sim
        sub = path[len("/_control") :].rstrip("/") or "/"
        body = self._body() if method in ("POST", "PUT", "DELETE") else b""
        try:
            if method == "GET" and sub == "/calls":
                with sim.lock:
                    return self._json(200, dict(sorted(sim.calls.items())))
            if method == "POST" and sub == "/calls/reset":
                with sim.lock:
                    sim.calls.clear()
                return self._json(200, {"ok": True})
            if method == "POST" and sub == "/faults":
                spec = json.loads(body or b"{}")
                for s in spec if isinstance(spec, list) else [spec]:
                    sim.add_fault(s)
                return self._json(200, {"ok": True})
            if method == "GET" and sub == "/faults":
                with sim.lock:
                    return self._json(200, [f.__dict__ for f in sim.faults])
            if method == "DELETE" and sub == "/faults":
                sim.clear_faults()
                return self._json(200, {"ok": True})
            if method == "POST" and sub == "/expire_sessions":
                return self._json(200, {"ok": True, "expired": sim.expire_sessions()})
            if method == "GET" and sub == "/state":
                return self._json(200, sim.state())
            if method == "GET" and sub == "/state/hash":
                return self._json(200, {"sha256": sim.state_hash()})
            if method == "POST" and sub == "/reset":
                sim.reset()
                return self._json(200, {"ok": True})
            if method == "GET" and sub == "/info":
                return self._json(
                    200, {"pools": [p.base_url for p in sim.pools], "pool": self.pool.index, "username": sim.username}
                )
            if method == "GET" and sub == "/metrics":
                return self._json(200, self._metrics(query.get("vm", "")))
        except (ValueError, TypeError, KeyError) as e:
            return self._json(400, {"error": str(e)})
        self._json(404, {"error": f"unknown control endpoint {method} {sub}"})

    def _metrics(self, vm: str) -> dict[str, Any]:
        from .api import Ctx
        from .msg_vm import data_sources

        db = self.pool.db
        with db.lock:
            ctx = Ctx(self.sim, self.pool, "metrics")
            refs = [db.uuids["VM"].get(vm, vm)] if vm else list(db.tables["VM"])
            return {
                db.tables["VM"][r]["uuid"]: {k: v for k, (v, _u) in data_sources(ctx, r).items()}
                for r in refs
                if r in db.tables["VM"]
            }

    # ------------------------------------------------------------ verbs
    def _dispatch_http(self) -> None:
        path, query = self._route()
        try:
            if path.startswith("/_control"):
                self._control(self.command, path, query)
            elif self.command == "POST" and path in ("/", "/RPC2"):
                self._xmlrpc()
            elif self.command == "POST" and path == "/jsonrpc":
                self._jsonrpc()
            elif self.command == "PUT" and path == "/import_raw_vdi":
                self._import_raw_vdi(query)
            elif self.command in ("GET", "HEAD") and path == "/export_raw_vdi":
                self._export_raw_vdi(query)
            elif self.command == "GET" and path == "/console":
                self._send(200, b"RFB 003.008\n", "text/plain")
            else:
                self._body()
                self._send(404, b"Not found\n", "text/plain")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _dispatch_http
