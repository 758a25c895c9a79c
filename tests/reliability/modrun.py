"""Run a collection module in-process: real AnsibleModule argument parsing, real peer, ~ms per call.

Why in-process: an ansible-playbook run costs ~3 s on 2 cores, a module subprocess ~0.3 s; importing the
module once and calling ``main()`` under ``ansible.module_utils.testing.patch_module_args`` costs ~1 ms of
overhead, so hypothesis can afford dozens of examples per module. What is skipped is only the controller
side (action plugin, templating, callbacks); the tests that need that (``--check --diff`` output, ``-vvv``)
use ``playbook_runner.run_playbook``. For races a module also runs as a subprocess (``spawn_module``).
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import os
import subprocess
import sys
import tempfile
from typing import Any

from ansible.module_utils.testing import patch_module_args

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLLECTIONS = os.path.join(ROOT, ".build", "collections")
MODULES_DIR = os.path.join(ROOT, "plugins", "modules")
PKG = "ansible_collections.virtops.compute.plugins.modules."


def present_modules() -> list[str]:
    return sorted(f[:-3] for f in os.listdir(MODULES_DIR) if f.endswith(".py") and not f.startswith("_"))


def load(name: str) -> Any:
    return importlib.import_module(PKG + name)


def module_class(name: str) -> Any:
    """The VirtopsModule subclass defined in the module file (the one whose ``main`` it calls)."""
    from ansible_collections.virtops.compute.plugins.module_utils._common.module import VirtopsModule

    mod = load(name)
    found = [
        v
        for v in vars(mod).values()
        if isinstance(v, type) and issubclass(v, VirtopsModule) and v.__module__ == mod.__name__
    ]
    assert len(found) == 1, (name, found)
    return found[0]


def full_spec(name: str) -> dict[str, Any]:
    return module_class(name).full_argument_spec()


def run_module(name: str, args: dict[str, Any], check: bool = False, diff: bool = False) -> dict[str, Any]:
    """``main()`` of module ``name`` with ``args``; returns the JSON it printed (``failed`` on fail_json)."""
    mod = load(name)
    call = dict(args)
    if check:
        call["_ansible_check_mode"] = True
    if diff:
        call["_ansible_diff"] = True
    out = io.StringIO()
    with patch_module_args(call), contextlib.redirect_stdout(out):
        try:
            mod.main()
        except SystemExit:
            pass
    text = out.getvalue()
    try:
        return json.loads(text)
    except ValueError:
        raise AssertionError("module %s printed no JSON result: %r" % (name, text[-2000:])) from None


def spawn_module(name: str, args: dict[str, Any]) -> subprocess.Popen[str]:
    """The module as its own process (``python -m ... args.json``), for tests that need two at once."""
    fd, path = tempfile.mkstemp(prefix="virtops-rel-", suffix=".json")
    with os.fdopen(fd, "w") as handle:
        json.dump({"ANSIBLE_MODULE_ARGS": args}, handle)
    env = dict(os.environ, PYTHONPATH=COLLECTIONS)
    proc = subprocess.Popen(
        [sys.executable, "-m", PKG + name, path], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    proc.args_file = path  # type: ignore[attr-defined]
    return proc


def collect(proc: subprocess.Popen[str], timeout: float = 120) -> dict[str, Any]:
    out, err = proc.communicate(timeout=timeout)
    with contextlib.suppress(OSError):
        os.unlink(proc.args_file)  # type: ignore[attr-defined]
    try:
        return json.loads(out)
    except ValueError:
        raise AssertionError("no JSON from module process: %r %r" % (out[-2000:], err[-2000:])) from None
