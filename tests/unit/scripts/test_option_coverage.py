"""scripts/option-coverage.py: what counts as exercising an option, and that a gap fails the run."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
SCRIPT = os.path.join(ROOT, "scripts", "option-coverage.py")


def _load() -> Any:
    spec = importlib.util.spec_from_file_location("option_coverage", SCRIPT)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


OC = _load()
OPTIONS = {
    "name": {"type": "str"},
    "timeout": {"type": "int"},
    "boot": {"type": "dict", "suboptions": {"firmware": {"type": "str", "choices": ["bios", "uefi"]}}},
    "disks": {"type": "list", "suboptions": {"bootable": {"type": "bool"}, "timeout": {"type": "int"}}},
    "wait_for_ip": {"type": "dict", "suboptions": {"timeout": {"type": "int"}}},
}


def paths(tmp_path: Any, source: str) -> set[str]:
    path = tmp_path / "test_sample.py"
    path.write_text(textwrap.dedent(source))
    return OC.exercised_paths(OC.FileScan(str(path)), "xen_vm", OPTIONS)


def test_task_args_with_suboptions_and_choices(tmp_path: Any) -> None:
    found = paths(
        tmp_path,
        """
        def xen_vm(**p):
            return {"virtops.compute.xen_vm": p}
        t = xen_vm(name="a", boot={"firmware": "uefi"}, disks=[{"bootable": True}])
        """,
    )
    assert found == {"name", "boot", "boot.firmware", "boot.firmware=uefi", "disks", "disks.bootable"}


def test_suboption_keys_are_not_top_level_and_runner_kwargs_do_not_count(tmp_path: Any) -> None:
    found = paths(
        tmp_path,
        """
        t = {"virtops.compute.xen_vm": {"name": "a", "wait_for_ip": {"timeout": 3}}}
        run = run_playbook([t], timeout=300)
        other = {"timeout": 5, "not_an_option": 1}
        """,
    )
    assert "timeout" not in found and "wait_for_ip.timeout" in found


def test_another_modules_task_does_not_count(tmp_path: Any) -> None:
    found = paths(tmp_path, 't = {"virtops.compute.xen_vm_info": {"name": "a", "timeout": 2}}\n')
    assert found == set()


def test_the_repository_is_fully_covered_and_a_gap_fails(tmp_path: Any) -> None:
    ok = subprocess.run([sys.executable, SCRIPT], capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.strip().splitlines()[-1].startswith("option coverage: ")
    # the same script with an empty allow-list and no test files reports every option as a gap and fails
    # (the real allow-list may be empty, so the gap is made by hiding the tests)
    copy = tmp_path / "oc.py"
    empty = tmp_path / "allow.yml"
    empty.write_text("{}\n")
    (tmp_path / "no-tests").mkdir()
    script = Path(SCRIPT).read_text(encoding="utf-8")
    tests_line = next(line for line in script.splitlines() if line.startswith("TEST_DIRS = "))
    copy.write_text(
        script.replace('ALLOW = os.path.join(ROOT, "tests", "option-coverage-allow.yml")', "ALLOW = %r" % str(empty))
        .replace("ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))", "ROOT = %r" % ROOT)
        .replace(tests_line, "TEST_DIRS = [%r]" % str(tmp_path / "no-tests"))
    )
    bad = subprocess.run([sys.executable, str(copy)], capture_output=True, text=True, check=False)
    assert bad.returncode == 1, bad.stdout
    assert "documented, exercised by no test" in bad.stdout
