"""The simulator: pools (one object DB each), shared lock, counters, faults, state dumps."""

from __future__ import annotations

import collections
import hashlib
import json
import threading
from dataclasses import dataclass, field
from typing import Any

from .model import DB, DT, NULL, public

# The default password: distinctive, so Ansible's no_log masking of it cannot mangle ordinary words in
# messages (with "password", ``session.login_with_password`` was shown as ``session.login_with_********``).
DEFAULT_PASSWORD = "xapisim-Secret"

# Left out of the state hash: client sessions and tasks, the guest agent's asynchronous reports, and
# timestamps / bookkeeping that change without any client mutation.
VOLATILE_CLASSES = {"session", "task", "VM_guest_metrics"}
VOLATILE_FIELDS = {"last_active", "validation_time", "current_operations", "guest_metrics"}
METRIC_CLASSES = {"VM_metrics", "host_metrics", "VM_guest_metrics", "VIF_metrics", "VBD_metrics"}


@dataclass
class Fault:
    method: str
    mode: str = "error"  # error | drop | delay | http_error
    error: list[str] = field(default_factory=lambda: ["INTERNAL_ERROR", "injected fault"])
    count: int | None = 1
    after: int = 0
    seconds: float = 0.0
    status: int = 500
    seen: int = 0

    def matches(self, name: str) -> bool:
        return self.method in (name, name[6:] if name.startswith("Async.") else None, "*")


@dataclass
class Pool:
    index: int
    db: DB
    base_url: str = "http://127.0.0.1:0"
    pool_ref: str = NULL
    registrations: dict[str, dict[str, Any]] = field(default_factory=dict)
    next_domid: int = 0
    next_mac: int = 0x100
    next_ip: int = 0
    next_bridge: int = 0

    def reset_counters(self) -> None:
        self.registrations.clear()
        self.next_domid, self.next_mac, self.next_ip, self.next_bridge = 0, 0x100, 0, 0

    @property
    def master(self) -> str:
        rec = self.db.tables["pool"].get(self.pool_ref)
        return rec["master"] if rec else NULL


class Simulator:
    def __init__(
        self,
        scenario: dict[str, Any] | None = None,
        extra_vms: int = 0,
        username: str = "root",
        password: str = DEFAULT_PASSWORD,
        ip_delay: float = 0.5,
    ) -> None:
        from .scenario import default_scenario

        self.lock = threading.Lock()
        self.scenario = scenario if scenario is not None else default_scenario()
        self.extra_vms = extra_vms
        self.username = username
        self.password = password
        self.ip_delay = ip_delay
        self.calls: collections.Counter[str] = collections.Counter()
        self.faults: list[Fault] = []
        self.io_counters: dict[str, dict[str, float]] = {}
        self.epoch = 0  # bumped by reset; background timers compare it
        self.pools: list[Pool] = []
        self.populate()

    # ------------------------------------------------------------ building
    def populate(self) -> None:
        from .scenario import build

        with self.lock:
            n = len(self.scenario.get("pools", [])) or 1
            while len(self.pools) < n:
                i = len(self.pools)
                self.pools.append(Pool(i, DB(self.lock, name=f"pool{i}")))
            for p in self.pools:
                p.db.clear()
                p.reset_counters()
            build(self, self.scenario, self.extra_vms)

    def reset(self) -> None:
        with self.lock:
            self.epoch += 1
            self.calls.clear()
            self.faults.clear()
            self.io_counters.clear()
        self.populate()

    def expire_sessions(self) -> int:
        n = 0
        with self.lock:
            for p in self.pools:
                for ref in list(p.db.tables["session"]):
                    p.db.destroy("session", ref)
                    n += 1
        return n

    def pool_of_host(self, host: str) -> Pool | None:
        for p in self.pools:
            if host in p.db.tables["host"]:
                return p
        return None

    # ------------------------------------------------------------ faults
    def take_fault(self, name: str) -> Fault | None:
        with self.lock:
            for f in self.faults:
                if not f.matches(name):
                    continue
                f.seen += 1
                if f.seen <= f.after:
                    continue
                if f.count is not None:
                    if f.count <= 0:
                        continue
                    f.count -= 1
                return f
            self.faults = [f for f in self.faults if f.count is None or f.count > 0]
        return None

    def add_fault(self, spec: dict[str, Any]) -> Fault:
        mode = str(spec.get("mode", "error"))
        if mode not in ("error", "drop", "delay", "http_error"):
            raise ValueError(f"unknown fault mode {mode!r}")
        if "method" not in spec:
            raise ValueError("fault needs a method")
        count = spec.get("count", None if mode == "delay" else 1)
        f = Fault(
            method=str(spec["method"]),
            mode=mode,
            count=None if count is None else int(count),
            after=int(spec.get("after", 0)),
            seconds=float(spec.get("seconds", 0.0)),
            status=int(spec.get("status", 500)),
        )
        if "error" in spec:
            err = spec["error"]
            f.error = [str(x) for x in (err if isinstance(err, list) else [err])]
        with self.lock:
            self.faults.append(f)
        return f

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()

    # ------------------------------------------------------------ state
    def state(self, stable: bool = False) -> dict[str, Any]:
        with self.lock:
            out: dict[str, Any] = {}
            for p in self.pools:
                classes: dict[str, Any] = {}
                for cls in sorted(p.db.tables):
                    if stable and cls in VOLATILE_CLASSES:
                        continue
                    objs = {}
                    for ref in sorted(p.db.tables[cls]):
                        rec = public(p.db.tables[cls][ref])
                        if stable:
                            rec = {
                                k: v
                                for k, v in rec.items()
                                if k not in VOLATILE_FIELDS and not (cls in METRIC_CLASSES and isinstance(v, DT))
                            }
                            if cls == "VDI":
                                content = p.db.tables[cls][ref].get("_content")
                                rec["_content_sha256"] = hashlib.sha256(content or b"").hexdigest()
                        objs[ref] = rec
                    classes[cls] = objs
                out[f"pool{p.index}"] = classes
            return out

    def state_hash(self) -> str:
        data = json.dumps(self.state(stable=True), sort_keys=True, default=str, separators=(",", ":"))
        return hashlib.sha256(data.encode()).hexdigest()
