"""Run real ansible-playbook against the simulators and read back every task's result.

The modules run in-process on the controller unless ``VIRTOPS_IN_PROCESS=false`` is in the environment
(``make integration-module-path`` runs the suite that way). Every run records which path each task took
(``PlaybookRun.paths``) and, unless told otherwise, fails when a task did not take the path asked for: a
suite meant to prove one path cannot silently run the other.
"""

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

# VIRTOPS_ANSIBLE_BIN: another venv's bin/ (e.g. .venv-3.13 with a newer ansible-core) runs the playbooks
BIN = os.environ.get("VIRTOPS_ANSIBLE_BIN") or os.path.join(ROOT, ".venv", "bin")
CALLBACKS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "callback")


@dataclass
class PlaybookRun:
    rc: int
    stdout: str
    stderr: str
    results: list[dict[str, Any]] = field(default_factory=list)
    # one (module, "in-process" | "module", reason) per task of ours, in order
    paths: list[tuple[str, str, str]] = field(default_factory=list)

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


def expected_path(env: dict[str, str] | None = None) -> str:
    """The path the switch asks for: "in-process" unless VIRTOPS_IN_PROCESS is false-ish."""
    value = dict(os.environ, **(env or {})).get("VIRTOPS_IN_PROCESS", "true")
    return "module" if value.strip().lower() in ("0", "false", "no", "off", "n", "f") else "in-process"


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
    expect_path: str | None = "switch",
) -> PlaybookRun:
    """Run ``tasks`` in one play on localhost with module_defaults for the xen group.

    ``expect_path``: "switch" (every task takes the path VIRTOPS_IN_PROCESS asks for), "in-process",
    "module", or None (not checked).
    """
    play: dict[str, Any] = {"hosts": "localhost", "gather_facts": False, "connection": "local", "tasks": tasks}
    if defaults:
        play["module_defaults"] = {"group/virtops.compute.xen": defaults}
    with tempfile.TemporaryDirectory(prefix="virtops-it-") as tmp:
        book = os.path.join(tmp, "play.yml")
        results = os.path.join(tmp, "results.jsonl")
        paths_log = os.path.join(tmp, "paths.log")
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
            env=ansible_env(dict(env or {}, VIRTOPS_RESULTS_FILE=results, VIRTOPS_IN_PROCESS_LOG=paths_log)),
            timeout=timeout,
            check=False,
        )
        entries = []
        if os.path.exists(results):
            with open(results, encoding="utf-8") as handle:
                entries = [json.loads(line) for line in handle if line.strip()]
        paths: list[tuple[str, str, str]] = []
        if os.path.exists(paths_log):
            with open(paths_log, encoding="utf-8") as handle:
                paths = [tuple(line.rstrip("\n").split(" ", 2)) for line in handle if line.strip()]  # type: ignore[misc]
    run = PlaybookRun(proc.returncode, proc.stdout, proc.stderr, entries, paths)
    if expect_path is not None:
        want = expected_path(env) if expect_path == "switch" else expect_path
        wrong = [p for p in run.paths if p[1] != want]
        assert not wrong, "tasks did not run %s: %s" % (want, wrong)
    return run


def ok(run: PlaybookRun, index: int = -1) -> dict[str, Any]:
    """The result of task ``index``, which must have succeeded."""
    assert run.status(index) == "ok", (run.result(index), run.stdout[-3000:])
    return run.result(index)
