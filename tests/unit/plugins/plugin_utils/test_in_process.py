# -*- coding: utf-8 -*-
# Copyright: virtops.compute contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pieces of the in-process action base that do not need a playbook (those are in tests/integration)."""

from __future__ import annotations

import os
import sys

import pytest

from ansible_collections.virtops.compute.plugins.plugin_utils import in_process
from ansible_collections.virtops.compute.plugins.plugin_utils.in_process import (
    InProcessAction,
    _finish,
    _task_environment,
    same_interpreter,
)


@pytest.fixture()
def two_venvs(tmp_path):
    """Two virtualenv-like bin/ directories whose python is a symlink to the same base interpreter, and a
    symlink to the first venv (a worktree's .venv pointing at the main checkout's)."""
    base = os.path.realpath(sys.executable)
    for name in ("a", "b"):
        (tmp_path / name / "bin").mkdir(parents=True)
        os.symlink(base, tmp_path / name / "bin" / "python")
        os.symlink(base, tmp_path / name / "bin" / "python3")
    os.symlink(tmp_path / "a", tmp_path / "link-to-a")
    return tmp_path


def test_same_path_is_the_controller(two_venvs):
    assert same_interpreter(str(two_venvs / "a/bin/python"), str(two_venvs / "a/bin/python"))
    assert same_interpreter(str(two_venvs / "a/bin/../bin/python"), str(two_venvs / "a/bin/python"))


def test_a_symlinked_checkout_of_the_same_venv_is_the_controller(two_venvs):
    assert same_interpreter(str(two_venvs / "link-to-a/bin/python"), str(two_venvs / "a/bin/python"))
    assert same_interpreter(str(two_venvs / "a/bin/python3"), str(two_venvs / "a/bin/python"))


def test_another_venv_on_the_same_base_interpreter_is_not(two_venvs):
    # realpath() of both is the base python: comparing resolved paths alone would call them one
    assert os.path.realpath(two_venvs / "a/bin/python") == os.path.realpath(two_venvs / "b/bin/python")
    assert not same_interpreter(str(two_venvs / "b/bin/python"), str(two_venvs / "a/bin/python"))
    assert not same_interpreter(os.path.realpath(sys.executable), str(two_venvs / "a/bin/python"))


@pytest.mark.parametrize("configured", ["", "python3", "auto", "bin/python"])
def test_relative_or_unset_interpreters_are_not(configured):
    assert not same_interpreter(configured, sys.executable)


def test_task_environment_is_visible_during_the_run_and_gone_after(monkeypatch, tmp_path):
    monkeypatch.setenv("VIRTOPS_UT_KEEP", "kept")
    monkeypatch.delenv("VIRTOPS_UT_NEW", raising=False)
    before_env, before_cwd = dict(os.environ), os.getcwd()
    with _task_environment({"VIRTOPS_UT_NEW": 8, "VIRTOPS_UT_KEEP": "overlaid"}):
        assert os.environ["VIRTOPS_UT_NEW"] == "8"  # as str, like the module process' environment
        assert os.environ["VIRTOPS_UT_KEEP"] == "overlaid"
        os.environ["VIRTOPS_UT_BY_MODULE"] = "x"  # e.g. AnsibleModule._check_locale sets LANG
        os.chdir(tmp_path)  # e.g. AnsibleModule._set_cwd
    assert dict(os.environ) == before_env
    assert os.getcwd() == before_cwd


def test_task_environment_is_restored_when_the_run_raises(monkeypatch):
    monkeypatch.delenv("VIRTOPS_UT_NEW", raising=False)
    with pytest.raises(KeyboardInterrupt), _task_environment({"VIRTOPS_UT_NEW": "1"}):
        raise KeyboardInterrupt  # BaseExceptions (a task timeout) pass through, the environment still returns
    assert "VIRTOPS_UT_NEW" not in os.environ


def test_finish_post_processes_like_the_module_path():
    parsed = {
        "changed": True,
        "results": "not a list",
        "_ansible_no_log": False,
        "_ansible_suppress_tmpdir_delete": True,
        "stdout": "a\nb",
        "warnings": [],
    }
    data = _finish(parsed)
    assert data["ansible_module_results"] == "not a list" and "results" not in data
    assert not [k for k in data if k.startswith("_ansible_")]
    assert data["stdout_lines"] == ["a", "b"]
    assert "warnings" not in data  # empty warnings are dropped, as remove_internal_keys does


def test_a_module_that_does_not_import_records_why(monkeypatch):
    class Missing(InProcessAction):
        module_name = "xen_vm"
        sdk = "virtops_no_such_sdk"

    assert Missing._module is None
    assert "virtops_no_such_sdk" in Missing._import_error


def test_the_action_plugins_load_their_modules_at_import():
    from ansible_collections.virtops.compute.plugins.action import vmware_vm, xen_vm

    assert xen_vm.ActionModule._module.__name__ == in_process.MODULES_PACKAGE + ".xen_vm"
    assert vmware_vm.ActionModule._module.__name__ == in_process.MODULES_PACKAGE + ".vmware_vm"
    assert xen_vm.ActionModule._import_error is None
