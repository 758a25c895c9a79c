"""The lab harness itself, without QEMU: the N-host plan and the watchdog that leaves nothing running."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

LAB_PY = Path(__file__).resolve().parents[2] / "scripts" / "xenlab" / "lab.py"
spec = importlib.util.spec_from_file_location("xenlab_lab", LAB_PY)
assert spec and spec.loader
lab = importlib.util.module_from_spec(spec)
spec.loader.exec_module(lab)


def opt(argv: list[str], flag: str) -> list[str]:
    return [argv[i + 1] for i, a in enumerate(argv) if a == flag]


def test_plan_three_hosts_is_a_star_on_loopback(tmp_path):
    ports = iter(range(40001, 40100))
    hosts = lab.plan(3, Path("/img"), tmp_path, port=lambda: next(ports))
    assert [(h["name"], h["port"], h["link_ip"]) for h in hosts] == [
        ("h1", 40003, "192.168.77.1"),
        ("h2", 40004, "192.168.77.2"),
        ("h3", 40005, "192.168.77.3"),
    ]
    links = [[n for n in opt(h["argv"], "-netdev") if n.startswith("socket")] for h in hosts]
    assert links == [
        ["socket,id=l1,listen=127.0.0.1:40001", "socket,id=l2,listen=127.0.0.1:40002"],
        ["socket,id=l1,connect=127.0.0.1:40001"],
        ["socket,id=l1,connect=127.0.0.1:40002"],
    ]
    for h in hosts:
        user = opt(h["argv"], "-netdev")[0]
        assert f"hostfwd=tcp:127.0.0.1:{h['port']}-:22" in user and "restrict=on" in user
        assert opt(h["argv"], "-cpu") == ["max,-smap,-smep,-avx,-avx2"]  # SMAP: gotcha 1; AVX: see lab.CPU
        assert f"xh.name={h['name']} xh.ip2={h['link_ip']}/24" in opt(h["argv"], "-initrd")[0]
    assert not any(n.startswith("socket") for n in opt(lab.plan(1, Path("/i"), tmp_path)[0]["argv"], "-netdev"))


def _stand_in(pidfile: Path) -> list[str]:
    """A 'QEMU' that records its pid and would run for ten minutes."""
    code = "import os, sys, time; open(sys.argv[1], 'w').write(str(os.getpid())); time.sleep(600)"
    return [sys.executable, "-c", code, str(pidfile)]


def _start_watchdog(tmp_path: Path, owner: int, ttl: float) -> tuple[subprocess.Popen[bytes], list[Path]]:
    pids = [tmp_path / "q1.pid", tmp_path / "q2.pid"]
    plan = [{"name": f"h{i}", "argv": _stand_in(p)} for i, p in enumerate(pids, 1)]
    code = (
        "import importlib.util, sys, time, pathlib\n"
        f"s = importlib.util.spec_from_file_location('l', {str(LAB_PY)!r}); m = importlib.util.module_from_spec(s)\n"
        "s.loader.exec_module(m)\n"
        f"m.watchdog(pathlib.Path({str(tmp_path)!r}), {owner}, time.time() + {ttl}, {plan!r}, grace=1)\n"
    )
    wd = subprocess.Popen([sys.executable, "-c", code])
    end = time.monotonic() + 60
    while not all(p.exists() and p.read_text() for p in pids):
        assert time.monotonic() < end, "the stand-ins did not start"
        time.sleep(0.1)
    return wd, pids


def _gone(pid: int) -> bool:
    return not lab.alive(pid)


@pytest.mark.parametrize("why", ["owner exits", "ttl", "sigkill"])
def test_watchdog_leaves_nothing_running(tmp_path, why):
    owner = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    wd, pidfiles = _start_watchdog(tmp_path, owner.pid, ttl=3 if why == "ttl" else 600)
    qpids = [int(p.read_text()) for p in pidfiles]
    assert all(lab.alive(p) for p in qpids)
    try:
        if why == "owner exits":
            owner.kill()
            owner.wait()
        elif why == "sigkill":  # the watchdog itself killed: QEMU dies with it (PR_SET_PDEATHSIG)
            wd.kill()
        wd.wait(timeout=60)
        end = time.monotonic() + 30
        while not all(_gone(p) for p in qpids) and time.monotonic() < end:
            time.sleep(0.2)
        assert all(_gone(p) for p in qpids), "stand-in QEMU processes survived: %s" % qpids
        if why != "sigkill":
            assert "stopped: " in (tmp_path / "watchdog.log").read_text()
    finally:
        owner.kill()
        owner.wait()
        for p in qpids:
            if lab.alive(p):
                os.kill(p, 9)


def test_boot_says_loudly_when_qemu_cannot_run(tmp_path):
    env = dict(os.environ, PATH=str(tmp_path))  # no qemu-system-x86_64 on this PATH
    p = subprocess.run(
        [sys.executable, str(LAB_PY), "boot", "1", "--run-dir", str(tmp_path / "run")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert p.returncode == lab.EXIT_NO_QEMU == 3
    assert "QEMU CANNOT RUN ON THIS MACHINE: qemu-system-x86_64 is not installed" in p.stderr
    assert p.stdout == ""
    assert not (tmp_path / "run" / "watchdog.pid").exists()
