"""Each project patch is needed: its tests fail, every one of them, on vcsim built without it.

``scripts/build-vcsim.sh --patch-level NNNN`` builds (and caches) vcsim with only the patches
numbered <= NNNN; the patch's test file then runs in a child pytest against that binary
(``VCSIM_BINARY``), and every test case must fail: not pass, not skip, not only error in setup.
"""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[3]
BUILD_SCRIPT = REPO_ROOT / "scripts" / "build-vcsim.sh"

# (build without this patch and later ones, the test file of that patch, its minimum number of tests)
PROOFS = [
    ("0000", "test_vcsim_patches.py", 6),  # patch 0001: pyvmomi >= 8 crashes
    ("0001", "test_vcsim_guest_and_paging.py", 20),  # patch 0002: guest with Tools, guest IPs, paging
]


def build_variant(level: str) -> str:
    proc = subprocess.run(
        ["bash", str(BUILD_SCRIPT), "--patch-level", level],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    path = proc.stdout.strip().splitlines()[-1]
    assert os.access(path, os.X_OK) and f"-p{level}-" in path, path
    return path


@pytest.mark.parametrize("level, test_file, minimum", PROOFS, ids=[p[1] for p in PROOFS])
def test_patch_tests_fail_without_the_patch(vcsim_binary, tmp_path, level, test_file, minimum):
    variant = build_variant(level)
    assert os.path.realpath(variant) != os.path.realpath(vcsim_binary)
    junit = tmp_path / "junit.xml"
    env = dict(os.environ, VCSIM_BINARY=variant, VIRTOPS_REQUIRE_VCSIM="1")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:randomly",
            f"--junitxml={junit}",
            str(HERE / test_file),
        ],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert junit.exists(), proc.stdout[-3000:] + proc.stderr[-3000:]
    cases = ET.parse(junit).getroot().iter("testcase")
    kinds: dict[str, set[str]] = {}
    for case in cases:  # a test that fails and then errors at teardown is listed twice
        kinds.setdefault(case.get("name"), set()).update({c.tag for c in case} & {"failure", "error", "skipped"})
    # failed in its call (an error at teardown as well, e.g. vcsim logged a panic, is still a failure)
    outcome = {name: "failure" if "failure" in k else ",".join(sorted(k)) or "passed" for name, k in kinds.items()}
    assert len(outcome) >= minimum, proc.stdout[-3000:]
    not_failed = {name: what for name, what in outcome.items() if what != "failure"}
    assert not_failed == {}, proc.stdout[-5000:]
