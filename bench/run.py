"""Side-by-side benchmarks: virtops.compute against the peer collections (``make bench``).

Run with the project venv (``.venv/bin/python bench/run.py``): our collection runs from ``.venv``
(``ANSIBLE_COLLECTIONS_PATH=.build/collections``), the peers from ``.venv-bench`` (the PyPI
``ansible`` package, pinned in ``bench/requirements-peers.txt``). Both venvs carry the same
ansible-core, so only the collections differ.

Every scenario is a playbook per side (``bench/playbooks/<scenario>_<side>.yml``); one repetition is
one ``ansible-playbook`` run per side, sides alternating (A B A B ...), against a freshly reset
simulator. The primary figure is the controller-side task time (``bench/callback/bench_timer.py``: from
the task's start to its result), the same ruler for every side. Ours runs twice: in-process (its
default on the controller) and through AnsiballZ (``VIRTOPS_IN_PROCESS=false``). Each AnsiballZ module
process is also measured by ``bench/measure.py`` (the ``ansible_python_interpreter``): wall time, peak
RSS and the API round trips it made (XenAPI simulator counters, vcsim ``-trace``).

Results go to ``bench/results/latest.json``; ``--report`` (default on) writes ``docs/benchmarks.md``
and ``docs/benchmarks-scale.png`` (the plot is drawn by ``bench/plot.py`` with ``.venv-bench``'s
matplotlib).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
sys.path.insert(0, str(ROOT / "tests" / "simulators"))
sys.path.insert(0, str(ROOT))

OURS_VENV = ROOT / ".venv"
PEERS_VENV = Path(os.environ.get("BENCH_PEERS_VENV", ROOT / ".venv-bench"))
OUR_COLLECTIONS = ROOT / ".build" / "collections"
RESULTS = BENCH / "results"

ETH0 = "Pool-wide network associated with eth0"


# -- sides -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Side:
    key: str  # key in the results
    label: str  # collection shown in the report
    venv: Path
    playbook_key: str = ""  # playbook suffix when it is not the key
    in_process: bool = False  # ours on its default controller path: no module process to measure

    @property
    def pb(self) -> str:
        return self.playbook_key or self.key

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    @property
    def playbook_bin(self) -> Path:
        return self.venv / "bin" / "ansible-playbook"

    @property
    def ours(self) -> bool:
        return self.key in ("ours", "ours_az")


OURS = Side("ours", "virtops.compute", OURS_VENV, in_process=True)
OURS_AZ = Side("ours_az", "virtops.compute (AnsiballZ)", OURS_VENV, playbook_key="ours")
CG = Side("cg", "community.general", PEERS_VENV)
CV = Side("cv", "community.vmware", PEERS_VENV)
VV = Side("vv", "vmware.vmware", PEERS_VENV)


OURS_ONLY = False  # --ours-only: a quick check without the peers' venv


def _active(sides: list[Side]) -> list[Side]:
    return [s for s in sides if s.ours] if OURS_ONLY else sides


# -- one ansible-playbook run ------------------------------------------------------------------------
@dataclass
class StepResult:
    step: str
    status: str
    changed: bool
    seconds: float | None  # module process wall time (measure.py)
    task_seconds: float | None  # task wall time on the controller (callback)
    maxrss_kib: int | None
    round_trips: int | None
    calls: dict[str, int] = field(default_factory=dict)
    trace_bytes: int | None = None  # vcsim -trace bytes written for this module (SOAP requests + responses)
    msg: str = ""


def _write_interp(tmp: Path) -> Path:
    """A shell script Ansible runs as the interpreter; it execs measure.py (stdlib only, -I -S)."""
    path = tmp / "interp.sh"
    path.write_text(f'#!/bin/sh\nexec "{sys.executable}" -I -S "{BENCH / "measure.py"}" "$@"\n')
    path.chmod(0o755)
    return path


def run_playbook(
    side: Side,
    playbook: Path,
    extra_vars: dict[str, Any],
    *,
    xapi_url: str | None = None,
    vcsim: Any = None,
    env: dict[str, str] | None = None,
    timeout: float = 900,
) -> tuple[list[StepResult], float, str]:
    """Run one playbook for one side; return its steps, the ansible-playbook wall time and its output."""
    with tempfile.TemporaryDirectory(prefix="virtops-bench-") as tmpdir:
        tmp = Path(tmpdir)
        log, tasks_file = tmp / "modules.jsonl", tmp / "tasks.jsonl"
        run_env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "VIRTUAL_ENV"))}
        run_env.update(
            {
                "PATH": f"{side.venv / 'bin'}:{os.environ.get('PATH', '/usr/bin:/bin')}",
                # in-process needs the controller's own interpreter; a wrapper would send it to AnsiballZ
                "ANSIBLE_PYTHON_INTERPRETER": str(side.python) if side.in_process else str(_write_interp(tmp)),
                "ANSIBLE_CALLBACK_PLUGINS": str(BENCH / "callback"),
                "ANSIBLE_CALLBACKS_ENABLED": "bench_timer",
                "ANSIBLE_NOCOLOR": "1",
                "ANSIBLE_RETRY_FILES_ENABLED": "false",
                "ANSIBLE_LOCALHOST_WARNING": "false",
                "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false",
                "ANSIBLE_DEPRECATION_WARNINGS": "false",
                "ANSIBLE_LOCAL_TEMP": str(tmp / "local"),
                "ANSIBLE_REMOTE_TEMP": str(tmp / "remote"),
                "ANSIBLE_HOME": str(tmp / "home"),
                "BENCH_REAL_PYTHON": str(side.python),
                "BENCH_LOG": str(log),
                "BENCH_TASKS_FILE": str(tasks_file),
            }
        )
        if side.ours:
            run_env["VIRTOPS_IN_PROCESS"] = "true" if side.in_process else "false"
            run_env["ANSIBLE_COLLECTIONS_PATH"] = str(OUR_COLLECTIONS)
            run_env["ANSIBLE_COLLECTIONS_SCAN_SYS_PATH"] = "false"
        else:  # the peers come from the ansible package's site-packages only
            run_env["ANSIBLE_COLLECTIONS_PATH"] = str(tmp / "no-collections")
            run_env["ANSIBLE_COLLECTIONS_SCAN_SYS_PATH"] = "true"
        if xapi_url:
            run_env["BENCH_XAPI_URL"] = xapi_url
        if vcsim is not None:
            run_env["BENCH_VCSIM_TRACE"] = str(vcsim.trace_path)
        run_env.update(env or {})
        cmd = [str(side.playbook_bin), "-i", "localhost,", str(playbook), "-e", json.dumps(extra_vars)]
        started = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, env=run_env, timeout=timeout, check=False)
        wall = time.perf_counter() - started
        modules = _jsonl(log)
        tasks = _jsonl(tasks_file)
    steps = []
    for i, task in enumerate(tasks):
        mod = modules[i] if i < len(modules) else {}
        calls = mod.get("calls") or {}
        rt = mod.get("round_trips")
        wire = None
        if vcsim is not None and "trace_start" in mod:
            calls = dict(_trace_counter(vcsim, mod["trace_start"], mod["trace_end"]))
            wire = mod["trace_end"] - mod["trace_start"]
            rt = sum(calls.values())
        steps.append(
            StepResult(
                step=task["task"].split(":", 1)[0],
                status=task["status"],
                changed=task["changed"],
                seconds=mod.get("seconds"),
                task_seconds=task["seconds"],
                maxrss_kib=mod.get("maxrss_kib"),
                round_trips=rt,
                calls=calls,
                trace_bytes=wire,
                msg=task["msg"] if task["status"] != "ok" else "",
            )
        )
    if len(modules) != len(tasks) and not side.in_process:
        print(
            f"    note: {len(tasks)} task results but {len(modules)} module processes ({playbook.name}, {side.key})",
            file=sys.stderr,
        )
    return steps, wall, proc.stdout[-4000:] + proc.stderr[-4000:]


def _jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _trace_counter(vcsim: Any, start: int, end: int) -> dict[str, int]:
    from tests.simulators.vcsim.pytest_plugin import parse_trace_calls

    with open(vcsim.trace_path, "rb") as fh:
        fh.seek(start)
        data = fh.read(max(0, end - start))
    counts: dict[str, int] = {}
    for name in parse_trace_calls(data.decode("utf-8", errors="replace")):
        counts[name] = counts.get(name, 0) + 1
    return counts


# -- recording ------------------------------------------------------------------------------------
class Recorder:
    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self.errors: list[dict[str, Any]] = []
        self.notes: list[str] = []

    def add(
        self,
        scenario: str,
        size: int | None,
        rep: int,
        side: Side,
        steps: list[StepResult],
        wall: float,
        output: str,
        expect: dict[str, bool] | None = None,
    ) -> None:
        for s in steps:
            ok = s.status == "ok"
            flag = ""
            if ok and expect and s.step in expect and s.changed != expect[s.step]:
                # timed all the same; reported beside the numbers (e.g. a "no-op" that reconfigures)
                flag = f"changed={s.changed} (expected {expect[s.step]})"
            row = {
                "scenario": scenario,
                "size": size,
                "rep": rep,
                "side": side.key,
                "collection": side.label,
                "ok": ok,
                "flag": flag,
                **s.__dict__,
            }
            self.rows.append(row)
            if not ok and not any(
                e["scenario"] == scenario and e["side"] == side.key and e["step"] == s.step for e in self.errors
            ):
                self.errors.append(
                    {
                        "scenario": scenario,
                        "size": size,
                        "side": side.key,
                        "step": s.step,
                        "collection": side.label,
                        "status": s.status,
                        "msg": s.msg,
                    }
                )
        self.rows.append(
            {
                "scenario": scenario,
                "size": size,
                "rep": rep,
                "side": side.key,
                "collection": side.label,
                "step": "_playbook",
                "ok": True,
                "seconds": wall,
            }
        )
        if not steps:
            self.errors.append(
                {
                    "scenario": scenario,
                    "size": size,
                    "side": side.key,
                    "step": "*",
                    "collection": side.label,
                    "status": "no-result",
                    "msg": output[-1500:],
                }
            )

    def merge_previous(self, path: Path, meta: dict[str, Any]) -> None:
        """Keep the previous run's rows/errors/notes of every scenario not run now (``--merge``)."""
        old = json.loads(path.read_text())
        now = {r["scenario"].replace("_direct", "") for r in self.rows}
        keep = [r for r in old["rows"] if r["scenario"].replace("_direct", "") not in now]
        self.rows = keep + self.rows
        self.errors = [e for e in old["errors"] if e["scenario"] not in now] + self.errors
        self.notes = [n for n in old["notes"] if n.split(":")[0].split(" ")[0] not in now] + self.notes
        prev = old["meta"]
        meta["merged_from"] = prev.get("merged_from") or prev.get("date")
        groups = dict(prev.get("group_seconds", {}))
        groups.update(meta.get("group_seconds", {}))
        meta["group_seconds"] = groups
        meta["total_seconds"] = round(sum(groups.values()), 1)
        for key in ("reps", "reps_for", "sizes"):
            meta[key] = prev.get(key, meta.get(key))

    def dump(self, meta: dict[str, Any]) -> Path:
        RESULTS.mkdir(exist_ok=True)
        path = RESULTS / "latest.json"
        path.write_text(
            json.dumps({"meta": meta, "rows": self.rows, "errors": self.errors, "notes": self.notes}, indent=1)
        )
        return path


def _progress(msg: str) -> None:
    print(time.strftime("%H:%M:%S"), msg, flush=True)


def _summary(steps: list[StepResult]) -> str:
    """task time (controller side), then module process time / round trips when there is a module process"""
    out = []
    for s in steps:
        if s.status != "ok" or s.task_seconds is None:
            out.append(f"{s.step}={s.status}")
        elif s.seconds is None:
            out.append(f"{s.step}={s.task_seconds:.2f}s")
        else:
            out.append(f"{s.step}={s.task_seconds:.2f}s[{s.seconds:.2f}s/{s.round_trips}rt]")
    return " ".join(out)


# -- XenServer ------------------------------------------------------------------------------------
@contextlib.contextmanager
def xapi_sim(*args: str) -> Iterator[Any]:
    from xapi.pytest_plugin import start_simulator

    with start_simulator("--ip-delay", "0", *args, timeout=300) as sim:
        yield sim


LIFECYCLE_EXPECT = {
    "create": True,
    "noop": False,
    "power_on": True,
    "power_off": True,
    "add_disk": True,
    "destroy": True,
}
SCALE_EXPECT = {"lookup": False, "noop": False}


def bench_xen_lifecycle(rec: Recorder, reps: int) -> None:
    sides = [OURS, OURS_AZ, CG]
    with xapi_sim() as sim:
        for rep in range(reps):
            for side in _active(sides):
                sim.control.reset()
                steps, wall, out = run_playbook(
                    side, BENCH / "playbooks" / f"xen_lifecycle_{side.pb}.yml", {"xen_url": sim.url}, xapi_url=sim.url
                )
                rec.add("xen_lifecycle", None, rep, side, steps, wall, out, LIFECYCLE_EXPECT)
                _progress(f"xen lifecycle rep {rep} {side.label}: {_summary(steps)}")


def bench_xen_scale(rec: Recorder, sizes: list[int], reps_for: dict[int, int]) -> None:
    sides = [OURS, OURS_AZ, CG]
    for size in sizes:
        with xapi_sim("--vms", str(size)) as sim:
            name = "db-01"  # 2 disks, 2 NICs; the --vms VMs have no devices
            for rep in range(reps_for[size]):
                for side in _active(sides):
                    steps, wall, out = run_playbook(
                        side,
                        BENCH / "playbooks" / f"xen_scale_{side.pb}.yml",
                        {"xen_url": sim.url, "vm_name": name},
                        xapi_url=sim.url,
                    )
                    rec.add("xen_scale", size, rep, side, steps, wall, out, SCALE_EXPECT)
                    _progress(f"xen scale N={size} rep {rep} {side.label}: {_summary(steps)}")
            proto = xen_read_prototype(sim, name)
            proto["bytes_snapshot"] = _event_from_bytes(sim.url)
            rec.rows.append(
                {
                    "scenario": "xen_read_prototype",
                    "size": size,
                    "rep": 0,
                    "side": "ours",
                    "collection": "virtops.compute",
                    "step": "read",
                    "ok": True,
                    **proto,
                }
            )
            _progress(f"xen read prototype N={size}: {proto}")


SNAPSHOT_CLASSES = ["VM", "VBD", "VDI", "VIF", "network", "SR", "host", "pool", "VM_guest_metrics"]


def xen_read_prototype(sim: Any, name: str, reps: int = 2) -> dict[str, Any]:
    """In-process comparison of two ways to read one VM with its devices (XenAPI SDK, no Ansible):

    * snapshot: what xen_vm/xen_vm_info do today, ONE ``event.from(<9 classes>, "", 0)`` (O(pool));
    * targeted: ``VM.get_all_records_where(name)`` + ``event.from`` on the VM's own objects
      (``VBD/<ref>``, ``VIF/<ref>``, ``VM_guest_metrics/<ref>``) plus the small pool-wide classes
      (network, SR, host, pool) + ``event.from(VDI/<ref>...)``: a fixed 3 calls, O(VM) bytes.
    Best of ``reps`` each (seconds, login/logout excluded)."""
    session = sim.session()
    x = session.xenapi
    event_from = x.event.__getattr__("from")
    try:
        snap, targeted = [], []
        for _rep in range(reps):
            t = time.perf_counter()
            event_from(SNAPSHOT_CLASSES, "", 0.0)
            snap.append(time.perf_counter() - t)
            t = time.perf_counter()
            recs = x.VM.get_all_records_where(f'field "name__label" = "{name}"')
            ((_ref, vm),) = recs.items()
            subs = [f"VBD/{r}" for r in vm["VBDs"]] + [f"VIF/{r}" for r in vm["VIFs"]]
            if vm["guest_metrics"] != "OpaqueRef:NULL":
                subs.append(f"VM_guest_metrics/{vm['guest_metrics']}")
            devices = event_from([*subs, "network", "SR", "host", "pool"], "", 0.0)["events"]
            vdis = [
                f"VDI/{e['snapshot']['VDI']}"
                for e in devices
                if e["class"].lower() == "vbd" and e["snapshot"]["VDI"] != "OpaqueRef:NULL"
            ]
            if vdis:
                event_from(vdis, "", 0.0)
            targeted.append(time.perf_counter() - t)
    finally:
        session.xenapi.session.logout()
    return {"snapshot_seconds": min(snap), "targeted_seconds": min(targeted), "targeted_calls": 3 if vdis else 2}


def _event_from_bytes(url: str) -> int:
    """Bytes of the XML-RPC response to the event.from snapshot our modules read (same classes)."""
    import urllib.request
    import xmlrpc.client

    classes = SNAPSHOT_CLASSES
    from xapi.xapisim.sim import DEFAULT_PASSWORD

    login = xmlrpc.client.dumps(("root", DEFAULT_PASSWORD, "1.0", "bench"), "session.login_with_password")
    with urllib.request.urlopen(
        urllib.request.Request(url, data=login.encode(), headers={"Content-Type": "text/xml"}), timeout=60
    ) as r:
        session = xmlrpc.client.loads(r.read())[0][0]["Value"]
    body = xmlrpc.client.dumps((session, classes, "", 0.0), "event.from")
    with urllib.request.urlopen(
        urllib.request.Request(url, data=body.encode(), headers={"Content-Type": "text/xml"}), timeout=120
    ) as r:
        return len(r.read())


def bench_latency(rec: Recorder, reps: int, delay_ms: int) -> None:
    """Lookup and no-op with every API call delayed by ``delay_ms`` (a LAN/WAN-like server latency):
    XenAPI simulator fault ``{"method": "*", "mode": "delay"}``; vcsim ``-delay``. Small inventories
    (XenAPI default scenario, vcsim 10 VMs) so the time is start-up + round trips x latency."""
    with xapi_sim() as sim:
        for rep in range(reps):
            for side in _active([OURS, OURS_AZ, CG]):
                sim.control.reset()
                sim.control.fault("*", mode="delay", seconds=delay_ms / 1000.0)
                steps, wall, out = run_playbook(
                    side,
                    BENCH / "playbooks" / f"xen_scale_{side.pb}.yml",
                    {"xen_url": sim.url, "vm_name": "db-01"},
                    xapi_url=sim.url,
                )
                rec.add("xen_latency", delay_ms, rep, side, steps, wall, out, SCALE_EXPECT)
                _progress(f"xen latency {delay_ms} ms rep {rep} {side.label}: {_summary(steps)}")
    sides = _vmware_sides(rec, "vmware_scale")
    with vcsim_server(vm=5, delay=delay_ms) as server:
        for rep in range(reps):
            for side in _active(sides):
                steps, wall, out = run_playbook(
                    side,
                    BENCH / "playbooks" / f"vmware_scale_{side.pb}.yml",
                    _vc_vars(server, vm_name="DC0_C0_RP0_VM2"),
                    vcsim=server,
                )
                rec.add("vmware_latency", delay_ms, rep, side, steps, wall, out, SCALE_EXPECT)
                _progress(f"vmware latency {delay_ms} ms rep {rep} {side.label}: {_summary(steps)}")


# -- start-up ---------------------------------------------------------------------------------------
def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bench_startup(rec: Recorder, reps: int) -> None:
    """Module process start-up: (a) a real AnsiballZ run failing fast on a closed port (wrapper-measured);
    (b) the bare module run as ``python -m <module> args.json`` (imports + argument parsing + the
    connection attempt), against ``python -c pass`` of the same interpreter."""
    port = _closed_port()
    pairs = [
        (
            OURS_AZ,
            "xen_startup",
            "ansible_collections.virtops.compute.plugins.modules.xen_vm",
            {"hostname": f"http://127.0.0.1:{port}", "password": "x", "name": "bench-vm"},
        ),
        (
            CG,
            "xen_startup",
            "ansible_collections.community.general.plugins.modules.xenserver_guest",
            {"hostname": f"http://127.0.0.1:{port}", "password": "x", "name": "bench-vm"},
        ),
    ]
    pairs += _vmware_startup_pairs(port)
    for rep in range(reps):
        for side, scenario, module, args in [p for p in pairs if p[0] in _active([p[0]])]:
            playbook = BENCH / "playbooks" / f"{scenario}_{side.pb}.yml"
            if not playbook.exists():
                continue
            steps, wall, out = run_playbook(side, playbook, {"closed_port": port})
            for s in steps:  # the module is expected to fail; the run itself is what is measured
                s.status = "ok" if s.status == "failed" else f"unexpected-{s.status}"
            rec.add(scenario, None, rep, side, steps, wall, out)
            t_mod, t_pass = _direct_module_time(side, module, args)
            rec.rows.append(
                {
                    "scenario": scenario + "_direct",
                    "size": None,
                    "rep": rep,
                    "side": side.key,
                    "collection": side.label,
                    "step": "python -m module",
                    "ok": True,
                    "seconds": t_mod,
                }
            )
            rec.rows.append(
                {
                    "scenario": scenario + "_direct",
                    "size": None,
                    "rep": rep,
                    "side": side.key,
                    "collection": side.label,
                    "step": "python -c pass",
                    "ok": True,
                    "seconds": t_pass,
                }
            )
            _progress(
                f"startup rep {rep} {side.label} {scenario}: AnsiballZ {_summary(steps)}, "
                f"python -m {t_mod:.3f}s (bare interpreter {t_pass:.3f}s)"
            )


def _direct_module_time(side: Side, module: str, args: dict[str, Any]) -> tuple[float, float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "PYTHON"))}
    if side.ours:
        env["PYTHONPATH"] = str(OUR_COLLECTIONS)
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump({"ANSIBLE_MODULE_ARGS": args}, fh)
    try:
        t = time.perf_counter()
        subprocess.run(
            [str(side.python), "-m", module, fh.name],
            env=env,
            capture_output=True,
            check=False,
            cwd=tempfile.gettempdir(),
        )
        t_mod = time.perf_counter() - t
        t = time.perf_counter()
        subprocess.run([str(side.python), "-c", "pass"], env=env, capture_output=True, check=False)
        t_pass = time.perf_counter() - t
    finally:
        os.unlink(fh.name)
    return t_mod, t_pass


# -- vSphere ----------------------------------------------------------------------------------------
def _vmware_startup_pairs(port: int) -> list[tuple[Side, str, str, dict[str, Any]]]:
    conn = {"hostname": "127.0.0.1", "port": port, "username": "u", "password": "p", "validate_certs": False}
    pairs: list[tuple[Side, str, str, dict[str, Any]]] = []
    if (ROOT / "plugins" / "modules" / "vmware_vm.py").exists():
        pairs.append(
            (
                OURS_AZ,
                "vmware_startup",
                "ansible_collections.virtops.compute.plugins.modules.vmware_vm",
                dict(conn, name="bench-vm"),
            )
        )
    pairs.append(
        (
            CV,
            "vmware_startup",
            "ansible_collections.community.vmware.plugins.modules.vmware_guest",
            dict(conn, name="bench-vm"),
        )
    )
    pairs.append(
        (VV, "vmware_startup", "ansible_collections.vmware.vmware.plugins.modules.vm", dict(conn, name="bench-vm"))
    )
    return pairs


def ours_vmware_available() -> bool:
    """Our vSphere modules are there (the playbooks for them exist and their files are in plugins/)."""
    return all(
        (ROOT / "plugins" / "modules" / f"{m}.py").exists()
        for m in ("vmware_vm", "vmware_vm_power", "vmware_snapshot", "vmware_vm_info")
    )


def vcsim_binary() -> str:
    from tests.simulators.vcsim.pytest_plugin import find_vcsim_binary

    return find_vcsim_binary()


@contextlib.contextmanager
def vcsim_server(autostart: bool | None = None, **options: Any) -> Iterator[Any]:
    from tests.simulators.vcsim.pytest_plugin import VcsimServer

    with VcsimServer(vcsim_binary(), trace=True, start_timeout=300, autostart=autostart, **options) as server:
        yield server


def _vc_vars(server: Any, **extra: Any) -> dict[str, Any]:
    return {
        "vc_host": server.host,
        "vc_port": server.port,
        "vc_user": server.username,
        "vc_password": server.password,
        **extra,
    }


def _vmware_sides(rec: Recorder, scenario: str) -> list[Side]:
    sides = [CV, VV]
    if ours_vmware_available() and (BENCH / "playbooks" / f"{scenario}_ours.yml").exists():
        sides[:0] = [OURS, OURS_AZ]
    else:
        note = f"{scenario}: ours not yet available (plugins/modules/vmware_*.py missing at run time)"
        if note not in rec.notes:
            rec.notes.append(note)
    return sides


def bench_vmware_lifecycle(rec: Recorder, reps: int) -> None:
    sides = _vmware_sides(rec, "vmware_lifecycle")
    for rep in range(reps):
        for side in _active(sides):
            # vcsim has no reset: a fresh inventory per run (~0.05 s); its VMs start powered off so that
            # the clone source (and so the clone) can be reconfigured without CPU hot-add
            with vcsim_server(autostart=False) as server:
                steps, wall, out = run_playbook(
                    side, BENCH / "playbooks" / f"vmware_lifecycle_{side.pb}.yml", _vc_vars(server), vcsim=server
                )
                if server.panics():
                    rec.notes.append(f"vmware_lifecycle {side.label}: vcsim panics: {server.panics()[:3]}")
            rec.add("vmware_lifecycle", None, rep, side, steps, wall, out, LIFECYCLE_EXPECT)
            _progress(f"vmware lifecycle rep {rep} {side.label}: {_summary(steps)}")


SNAPSHOT_EXPECT = {"snap_create": True, "snap_revert": True, "snap_delete": True}


def bench_vmware_snapshot(rec: Recorder, reps: int) -> None:
    sides = _vmware_sides(rec, "vmware_snapshot")
    for rep in range(reps):
        for side in _active(sides):
            with vcsim_server() as server:
                steps, wall, out = run_playbook(
                    side,
                    BENCH / "playbooks" / f"vmware_snapshot_{side.pb}.yml",
                    _vc_vars(server, vm_name="DC0_H0_VM0"),
                    vcsim=server,
                )
            rec.add("vmware_snapshot", None, rep, side, steps, wall, out, SNAPSHOT_EXPECT)
            _progress(f"vmware snapshot rep {rep} {side.label}: {_summary(steps)}")


def bench_vmware_scale(rec: Recorder, sizes: list[int], reps_for: dict[int, int]) -> None:
    sides = _vmware_sides(rec, "vmware_scale")
    for size in sizes:
        per_pool = max(1, size // 2)  # -vm is per resource pool: 1 cluster + 1 standalone host = 2 pools
        t = time.perf_counter()
        with vcsim_server(vm=per_pool) as server:
            rec.notes.append(f"vmware_scale N={2 * per_pool}: vcsim start {time.perf_counter() - t:.1f} s")
            name = f"DC0_C0_RP0_VM{per_pool // 2}"
            for rep in range(reps_for[size]):
                for side in _active(sides):
                    steps, wall, out = run_playbook(
                        side,
                        BENCH / "playbooks" / f"vmware_scale_{side.pb}.yml",
                        _vc_vars(server, vm_name=name),
                        vcsim=server,
                    )
                    rec.add("vmware_scale", 2 * per_pool, rep, side, steps, wall, out, SCALE_EXPECT)
                    _progress(f"vmware scale N={2 * per_pool} rep {rep} {side.label}: {_summary(steps)}")


# -- main -------------------------------------------------------------------------------------------
def _version(python: Path, code: str) -> str:
    try:
        return subprocess.run(
            [str(python), "-c", code], capture_output=True, text=True, timeout=60, check=False
        ).stdout.strip()
    except OSError:
        return "?"


def machine_meta() -> dict[str, Any]:
    cpu = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = "?"
    with contextlib.suppress(OSError, ValueError, IndexError):
        mem = f"{int(Path('/proc/meminfo').read_text().split()[1]) // 1024 // 1024} GiB"
    peers_manifest = PEERS_VENV / "lib"
    coll_versions: dict[str, str] = {}
    for name in ("community/general", "community/vmware", "vmware/vmware"):
        for manifest in peers_manifest.glob(f"python3*/site-packages/ansible_collections/{name}/MANIFEST.json"):
            coll_versions[name.replace("/", ".")] = json.loads(manifest.read_text())["collection_info"]["version"]
    galaxy = (ROOT / "galaxy.yml").read_text()
    ours_version = next(
        (line.split(":", 1)[1].strip() for line in galaxy.splitlines() if line.startswith("version:")), "?"
    )
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    vcsim = "?"
    with contextlib.suppress(Exception):
        vcsim = Path(vcsim_binary()).name
    code_core = "import ansible.release as r; print(r.__version__)"
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.system()} {platform.release()} {platform.machine()}, {os.cpu_count()} CPUs "
        f"({cpu}), {mem} RAM",
        "ours": f"virtops.compute {ours_version} (git {commit}{' + local changes' if dirty else ''})",
        "ours_python": _version(OURS.python, "import sys; print(sys.version.split()[0])"),
        "ours_core": _version(OURS.python, code_core),
        "peers_python": _version(CG.python, "import sys; print(sys.version.split()[0])"),
        "peers_core": _version(CG.python, code_core),
        "peers_ansible": _version(CG.python, "import importlib.metadata as m; print(m.version('ansible'))"),
        "peers": coll_versions,
        "xenapi": _version(CG.python, "import importlib.metadata as m; print(m.version('XenAPI'))"),
        "pyvmomi": _version(CG.python, "import importlib.metadata as m; print(m.version('pyvmomi'))"),
        "vcsim": vcsim,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    ap.add_argument("--reps", type=int, default=5, help="repetitions of the main scenarios (>= 5 for the report)")
    ap.add_argument("--sizes", default="10,1000,5000", help="inventory sizes for the scale scenarios")
    ap.add_argument("--reps-large", type=int, default=3, help="repetitions at the largest size")
    ap.add_argument(
        "--only",
        default="startup,xen,xen_scale,vmware,vmware_snapshot,vmware_scale,latency",
        help="comma-separated scenario groups",
    )
    ap.add_argument("--no-report", action="store_true", help="only write bench/results/latest.json")
    ap.add_argument(
        "--latency-ms", default="20,50", help="comma-separated per-call server delays (ms) of the latency scenario"
    )
    ap.add_argument(
        "--merge",
        action="store_true",
        help="keep the other scenarios of bench/results/latest.json, replace the ones run now",
    )
    ap.add_argument(
        "--ours-only",
        action="store_true",
        help="run only our sides (in-process and AnsiballZ), e.g. for a quick check without .venv-bench",
    )
    args = ap.parse_args(argv)
    global OURS_ONLY
    OURS_ONLY = args.ours_only
    if not CG.playbook_bin.exists() and not OURS_ONLY:
        print(f"{CG.playbook_bin} is missing: run `make bench` (it creates {PEERS_VENV})", file=sys.stderr)
        return 2
    if not (OUR_COLLECTIONS / "ansible_collections" / "virtops" / "compute").exists():
        print("the collection is not linked: run `make collection`", file=sys.stderr)
        return 2
    sizes = [int(x) for x in args.sizes.split(",") if x]
    reps_for = {n: (args.reps_large if n == max(sizes) else args.reps) for n in sizes}
    only = set(args.only.split(","))
    rec = Recorder()
    started = time.perf_counter()
    meta = machine_meta()
    meta.update(
        {
            "reps": args.reps,
            "reps_for": {str(k): v for k, v in reps_for.items()},
            "sizes": sizes,
            "ours_vmware": ours_vmware_available(),
        }
    )
    _progress(f"bench: {meta['machine']}; ours {meta['ours']}; peers ansible {meta['peers_ansible']}")
    try:
        group_seconds: dict[str, float] = {}
        meta["group_seconds"] = group_seconds

        def timed(group: str, fn: Any, *fn_args: Any) -> None:
            t0 = time.perf_counter()
            fn(rec, *fn_args)
            group_seconds[group] = round(time.perf_counter() - t0, 1)

        if "startup" in only:
            timed("startup", bench_startup, max(args.reps, 5))
        if "xen" in only:
            timed("xen", bench_xen_lifecycle, args.reps)
        if "xen_scale" in only:
            timed("xen_scale", bench_xen_scale, sizes, reps_for)
        vmware_groups = only & {"vmware", "vmware_snapshot", "vmware_scale", "latency"}
        if vmware_groups:
            try:
                vcsim_binary()
            except Exception as exc:  # reported, not fatal for the Xen part
                rec.notes.append(f"vSphere scenarios skipped: {exc}")
                vmware_groups = set()
        if "vmware" in vmware_groups:
            timed("vmware", bench_vmware_lifecycle, args.reps)
        if "vmware_snapshot" in vmware_groups:
            timed("vmware_snapshot", bench_vmware_snapshot, args.reps)
        if "vmware_scale" in vmware_groups:
            timed("vmware_scale", bench_vmware_scale, sizes, reps_for)
        if "latency" in only:
            delays = [int(x) for x in args.latency_ms.split(",") if x]
            timed("latency", lambda r: [bench_latency(r, args.reps, ms) for ms in delays])
    finally:
        meta["total_seconds"] = round(time.perf_counter() - started, 1)
        meta["ours_vmware"] = ours_vmware_available()
        meta["latency_ms"] = args.latency_ms
        if args.merge and (RESULTS / "latest.json").exists():
            rec.merge_previous(RESULTS / "latest.json", meta)
        path = rec.dump(meta)
        _progress(f"results: {path} ({meta['total_seconds']} s)")
    if not args.no_report:
        from report import write_report  # bench/report.py

        write_report(path)
        plot = subprocess.run(
            [str(CG.python), str(BENCH / "plot.py"), str(path), str(ROOT / "docs" / "benchmarks-scale.png")],
            check=False,
        )
        if plot.returncode:
            print("plot failed", file=sys.stderr)
            return 1
    if rec.errors:
        print(f"{len(rec.errors)} step(s) failed; see docs/benchmarks.md (failures section)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(BENCH))
    sys.exit(main())
