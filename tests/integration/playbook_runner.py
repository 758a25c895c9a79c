"""Run real ansible-playbook against the simulators and read back every task's result."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from dataclasses import dataclass, field
from typing import Any

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLLECTIONS = os.path.join(ROOT, ".build", "collections")

BIN = os.path.join(ROOT, ".venv", "bin")
CALLBACKS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "callback")


@dataclass
class PlaybookRun:
    rc: int
    stdout: str
    stderr: str
    results: list[dict[str, Any]] = field(default_factory=list)

    def result(self, index: int = -1) -> dict[str, Any]:
        return self.results[index]["result"]

    def status(self, index: int = -1) -> str:
        return self.results[index]["status"]


def ansible_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "ANSIBLE_COLLECTIONS_PATH": COLLECTIONS,
            "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "false",
            "ANSIBLE_CALLBACK_PLUGINS": CALLBACKS,
            "ANSIBLE_CALLBACKS_ENABLED": "virtops_results",
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_RETRY_FILES_ENABLED": "false",
            "ANSIBLE_HOST_KEY_CHECKING": "false",
            "ANSIBLE_LOCALHOST_WARNING": "false",
            "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false",
            "ANSIBLE_PYTHON_INTERPRETER": os.path.join(BIN, "python"),
            "ANSIBLE_LOCAL_TEMP": os.path.join(tempfile.gettempdir(), "virtops-ansible-tmp"),
            "ANSIBLE_FORCE_COLOR": "0",
        }
    )
    env.update(extra or {})
    return env


def run_playbook(
    tasks: list[dict[str, Any]],
    *,
    defaults: dict[str, Any] | None = None,
    check: bool = False,
    diff: bool = False,
    extra_args: list[str] | None = None,
    env: dict[str, str] | None = None,
    verbosity: int = 0,
    timeout: float = 300,
) -> PlaybookRun:
    """Run ``tasks`` in one play on localhost with module_defaults for the xen group."""
    play: dict[str, Any] = {"hosts": "localhost", "gather_facts": False, "connection": "local", "tasks": tasks}
    if defaults:
        play["module_defaults"] = {"group/virtops.compute.xen": defaults}
    with tempfile.TemporaryDirectory(prefix="virtops-it-") as tmp:
        book = os.path.join(tmp, "play.yml")
        results = os.path.join(tmp, "results.jsonl")
        with open(book, "w", encoding="utf-8") as handle:
            yaml.safe_dump([play], handle, sort_keys=False)
        cmd = [os.path.join(BIN, "ansible-playbook"), "-i", "localhost,", book]
        if check:
            cmd.append("--check")
        if diff:
            cmd.append("--diff")
        if verbosity:
            cmd.append("-" + "v" * verbosity)
        cmd += extra_args or []
        proc = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            env=ansible_env(dict(env or {}, VIRTOPS_RESULTS_FILE=results)),
            timeout=timeout,
            check=False,
        )
        entries = []
        if os.path.exists(results):
            with open(results, encoding="utf-8") as handle:
                entries = [json.loads(line) for line in handle if line.strip()]
    return PlaybookRun(proc.returncode, proc.stdout, proc.stderr, entries)


def ok(run: PlaybookRun, index: int = -1) -> dict[str, Any]:
    """The result of task ``index``, which must have succeeded."""
    assert run.status(index) == "ok", (run.result(index), run.stdout[-3000:])
    return run.result(index)
