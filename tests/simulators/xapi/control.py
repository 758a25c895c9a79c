"""Stdlib client for the simulator's /_control API."""

from __future__ import annotations

import json
import ssl
import urllib.request
from typing import Any


class SimControl:
    """SimControl("http://127.0.0.1:PORT", cafile=None)."""

    def __init__(self, url: str, cafile: str | None = None, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._ctx = ssl.create_default_context(cafile=cafile) if url.startswith("https") else None

    def _req(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            self.url + "/_control" + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(req, timeout=self.timeout, context=self._ctx) as resp:
            return json.loads(resp.read() or b"null")

    def calls(self) -> dict[str, int]:
        return self._req("GET", "/calls")

    def reset_calls(self) -> None:
        self._req("POST", "/calls/reset", {})

    def fault(
        self,
        method: str,
        error: list[str] | None = None,
        count: int | None = None,
        after: int = 0,
        mode: str = "error",
        seconds: float = 0.0,
        status: int = 500,
    ) -> None:
        spec: dict[str, Any] = {"method": method, "mode": mode, "after": after}
        if error is not None:
            spec["error"] = error
        if count is not None:
            spec["count"] = count
        if mode == "delay":
            spec["seconds"] = seconds
        if mode == "http_error":
            spec["status"] = status
        self._req("POST", "/faults", spec)

    def faults(self) -> list[dict[str, Any]]:
        return self._req("GET", "/faults")

    def clear_faults(self) -> None:
        self._req("DELETE", "/faults")

    def expire_sessions(self) -> int:
        return int(self._req("POST", "/expire_sessions", {})["expired"])

    def state(self) -> dict[str, Any]:
        return self._req("GET", "/state")

    def state_hash(self) -> str:
        return str(self._req("GET", "/state/hash")["sha256"])

    def reset(self) -> None:
        self._req("POST", "/reset", {})

    def info(self) -> dict[str, Any]:
        return self._req("GET", "/info")

    def metrics(self, vm_uuid: str = "") -> dict[str, Any]:
        return self._req("GET", "/metrics" + (f"?vm={vm_uuid}" if vm_uuid else ""))
