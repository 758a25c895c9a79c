"""The xl tier: one real Xen 4.17 host booted under QEMU (scripts/xenlab), driven through Ansible over ssh.

The session fixture builds the lab image (cached under ~/.cache/virtops/xenlab) and boots one host;
its watchdog stops QEMU when this pytest process exits, whatever happens. When QEMU cannot run here
the tier says so loudly: it FAILS under CI=true and is skipped (with the reason) elsewhere.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAB = ROOT / "scripts" / "xenlab"
BIN = Path(sys.executable).parent
CALLBACKS = ROOT / "tests" / "integration" / "callback"
EXIT_NO_QEMU = 3


def _no_lab(msg: str) -> None:
    banner = "\n" + "!" * 78 + "\nXEN LAB UNAVAILABLE: " + msg + "\n" + "!" * 78
    print(banner, file=sys.stderr)
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(msg + " (CI=true: the xl tier must run, it is never skipped green)", pytrace=False)
    pytest.skip(msg)


@dataclass
class AnsibleResult:
    rc: int
    result: dict[str, Any]
    stdout: str
    stderr: str

    @property
    def out(self) -> str:
        return str(self.result.get("stdout", ""))

    @property
    def err(self) -> str:
        return str(self.result.get("stderr", ""))


@dataclass
class XenLab:
    run_dir: Path
    facts: dict[str, Any]
    boot_seconds: float

    @property
    def inventory(self) -> Path:
        return self.run_dir / "inventory.ini"

    def ansible(self, module: str, args: str, host: str = "h1", timeout: float = 1800) -> AnsibleResult:
        """One ad-hoc ``ansible`` run; the task's result for ``host`` (the project's results callback)."""
        results = self.run_dir / "results.jsonl"
        results.unlink(missing_ok=True)
        env = dict(
            os.environ,
            ANSIBLE_CALLBACK_PLUGINS=str(CALLBACKS),
            ANSIBLE_CALLBACKS_ENABLED="virtops_results",
            ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
            VIRTOPS_RESULTS_FILE=str(results),
            ANSIBLE_HOST_KEY_CHECKING="False",
            ANSIBLE_PIPELINING="True",
            ANSIBLE_TIMEOUT="600",
            # One ssh connection for the whole session: a new one costs seconds to minutes of key exchange
            # on the emulated CPU.
            ANSIBLE_SSH_ARGS="-C -o ControlMaster=auto -o ControlPersist=3600s -o ServerAliveInterval=30",
            ANSIBLE_SSH_CONTROL_PATH_DIR=str(self.run_dir / "cp"),
        )
        p = subprocess.run(
            [str(BIN / "ansible"), host, "-i", str(self.inventory), "-m", module, "-a", args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            check=False,
        )
        try:
            entry = json.loads(results.read_text().splitlines()[-1])
        except (OSError, ValueError, IndexError):
            raise AssertionError(
                "ansible recorded no result: rc=%d\n%s\n%s" % (p.returncode, p.stdout, p.stderr)
            ) from None
        return AnsibleResult(p.returncode, entry["result"], p.stdout, p.stderr)

    def xl(self, *args: str, ok: bool = True) -> AnsibleResult:
        """``xl ARGS`` on dom0 through ansible.builtin.command (over ssh, dom0's python3)."""
        r = self.ansible("ansible.builtin.command", "xl " + " ".join(args))
        if ok:
            assert r.result.get("rc") == 0 and not r.result.get("failed"), r.result
        return r

    def sh(self, script: str) -> AnsibleResult:
        r = self.ansible("ansible.builtin.shell", script)
        assert r.result.get("rc") == 0, r.result
        return r

    def wait_for(self, what: str, check: Any, timeout: float = 300, interval: float = 2) -> Any:
        end = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < end:
            last = check()
            if last:
                return last
            time.sleep(interval)
        raise AssertionError("timed out after %ss waiting for %s (last: %r)" % (timeout, what, last))


@pytest.fixture(scope="session")
def xen_lab() -> Iterator[XenLab]:
    reuse = os.environ.get("XENLAB_REUSE_RUN_DIR")  # a lab booted by hand (scripts/xenlab/boot): not stopped here
    if reuse:
        status = subprocess.run(
            [sys.executable, str(LAB / "lab.py"), "status", "--run-dir", reuse], capture_output=True, check=False
        )
        if status.returncode != 0:
            pytest.fail("XENLAB_REUSE_RUN_DIR=%s: no lab is running there" % reuse, pytrace=False)
        facts = json.loads(Path(reuse, "hosts.json").read_text())
        yield XenLab(Path(reuse), facts, facts["boot_seconds"])
        return
    # Not under pytest's basetemp: other sessions prune those directories while QEMU still uses this one.
    run_dir = Path(tempfile.mkdtemp(prefix="virtops-xenlab-"))
    t0 = time.monotonic()
    build = subprocess.run([str(LAB / "build")], capture_output=True, text=True, check=False)
    if build.returncode != 0:
        pytest.fail("scripts/xenlab/build failed:\n" + build.stderr[-4000:], pytrace=False)
    image = build.stdout.strip().splitlines()[-1]
    build_seconds = time.monotonic() - t0
    boot = subprocess.run(
        [
            sys.executable,
            str(LAB / "lab.py"),
            "boot",
            "1",
            "--image",
            image,
            "--run-dir",
            str(run_dir),
            "--owner-pid",
            str(os.getpid()),
            "--ttl",
            "3600",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if boot.returncode == EXIT_NO_QEMU:
        _no_lab("QEMU cannot run on this machine:\n" + boot.stderr[-3000:])
    if boot.returncode != 0:
        pytest.fail("scripts/xenlab boot failed:\n" + boot.stderr[-6000:], pytrace=False)
    facts = json.loads(boot.stdout)
    print("\nxen lab: image build/lookup %.0fs, boot %.0fs" % (build_seconds, facts["boot_seconds"]), file=sys.stderr)
    try:
        yield XenLab(run_dir, facts, facts["boot_seconds"])
    finally:
        subprocess.run([sys.executable, str(LAB / "lab.py"), "stop", "--run-dir", str(run_dir)], check=False)
        shutil.rmtree(run_dir, ignore_errors=True)
