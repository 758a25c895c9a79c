# -*- coding: utf-8 -*-
# Copyright: virtops.compute contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run a virtops.compute module inside the Ansible worker process when the task runs on the controller.

Every module has an action plugin of the same name that derives from :class:`InProcessAction`. When the
task's connection is ``ansible.builtin.local``, its Python interpreter is the controller's own, the
module's SDK imports, no become or async applies and the switch is on, the module's ``main()`` runs in
the worker (a forked process that ends with the task) exactly as AnsiballZ would run it: the same
``AnsibleModule`` validation, ``exit_json``/``fail_json`` and JSON profiles, the same result parsing.
Everywhere else the task goes through ``ansible.builtin.normal``, unchanged.

Switch it off with the environment variable ``VIRTOPS_IN_PROCESS=false`` or the variable
``virtops_in_process: false`` (the variable, when defined, wins).
"""

from __future__ import annotations

import contextlib
import copy
import importlib
import io
import json
import locale
import os
import shutil
import tempfile
import typing as t

from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase
from ansible.plugins.action.normal import ActionModule as NormalAction
from ansible.utils.display import Display

display = Display()

ENV_SWITCH = "VIRTOPS_IN_PROCESS"
# Tests and debugging: append "<module> <path> <reason>" per task to this file.
ENV_LOG = "VIRTOPS_IN_PROCESS_LOG"
VAR_SWITCH = "virtops_in_process"
MODULES_PACKAGE = "ansible_collections.virtops.compute.plugins.modules"
UTILS_PACKAGE = "ansible_collections.virtops.compute.plugins.module_utils"
PRELOAD = {
    "XenAPI": (UTILS_PACKAGE + "._xenapi.backend",),
    "pyVmomi": (UTILS_PACKAGE + "._vsphere.backend",),
}
_AUTO_INTERPRETERS = ("", "auto", "auto_legacy", "auto_silent", "auto_legacy_silent")

try:  # ansible-core 2.19+: modules (de)serialise through named JSON profiles
    from ansible.module_utils.common.json import Direction, get_module_encoder

    HAS_PROFILES = True
except ImportError:  # pragma: no cover - ansible-core < 2.19 runs modules through AnsiballZ only
    HAS_PROFILES = False


def same_interpreter(configured: str, controller: str) -> bool:
    """True when ``configured`` starts the controller's own Python (``sys.executable``).

    Unresolved absolute paths are compared first. A virtualenv's ``bin/python`` is a symlink to the base
    interpreter, whose ``sys.prefix`` differs, so resolving the whole path would call two environments one:
    beyond equal paths, both must resolve to the same binary *and* sit in the same (resolved) directory,
    which is what a symlinked checkout of the same virtualenv gives.
    """
    if not configured or not os.path.isabs(configured) or not controller:
        return False
    first, second = os.path.abspath(configured), os.path.abspath(controller)
    if first == second:
        return True
    real = os.path.realpath
    return real(os.path.dirname(first)) == real(os.path.dirname(second)) and real(first) == real(second)


@contextlib.contextmanager
def _task_environment(environment: dict[str, t.Any]) -> t.Iterator[None]:
    """The task's ``environment`` in ``os.environ`` (as the module process would see it), then exactly the
    previous ``os.environ``, working directory and locale again, whatever the module changed."""
    saved_env = dict(os.environ)
    saved_cwd = os.getcwd()
    try:
        saved_locale: str | None = locale.setlocale(locale.LC_ALL)
    except locale.Error:  # pragma: no cover
        saved_locale = None
    try:
        for key, value in environment.items():
            os.environ[str(key)] = str(value)
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved_env)
        with contextlib.suppress(OSError):
            os.chdir(saved_cwd)
        if saved_locale is not None:
            with contextlib.suppress(locale.Error):
                locale.setlocale(locale.LC_ALL, saved_locale)


class InProcessAction(NormalAction):
    """Subclass with ``module_name`` (the module's file name) and ``sdk`` (the import it needs)."""

    module_name: str = ""
    sdk: str = ""
    # set at class creation, in the strategy's process: imports are paid once and inherited by every worker
    _module: t.Any = None
    _import_error: str | None = None

    def __init_subclass__(cls, **kwargs: t.Any) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.module_name:
            return
        try:
            if cls.sdk:
                importlib.import_module(cls.sdk)
            cls._module = importlib.import_module("%s.%s" % (MODULES_PACKAGE, cls.module_name))
        except Exception as exc:  # a missing SDK (or any import failure) means the module path
            cls._module, cls._import_error = None, "%s: %s" % (type(exc).__name__, exc)
            return
        # What a run imports lazily, imported here once rather than in every worker (best effort).
        for name in PRELOAD.get(cls.sdk, ()):
            with contextlib.suppress(Exception):
                importlib.import_module(name)

    # --- the decision ---------------------------------------------------------------------------
    def _switch_on(self, task_vars: dict[str, t.Any]) -> bool:
        if VAR_SWITCH in task_vars:
            return boolean(self._templar.template(task_vars[VAR_SWITCH]), strict=False)
        return boolean(os.environ.get(ENV_SWITCH, "true"), strict=False)

    def _interpreter(self, task_vars: dict[str, t.Any]) -> str | None:
        """The Python the module path would run, as ``executor/module_common.py:_get_shebang`` finds it;
        None when discovery is still to happen (the module path then discovers it)."""
        from ansible import constants as C

        use_vars = task_vars
        if self._task.delegate_to:
            use_vars = task_vars.get("ansible_delegated_vars", {}).get(self._task.delegate_to, task_vars)
        value = C.config.get_config_value("INTERPRETER_PYTHON", variables=use_vars)
        value = str(self._templar.template(value) or "").strip()
        if value in _AUTO_INTERPRETERS:
            value = str(use_vars.get("ansible_facts", {}).get("discovered_interpreter_python") or "")
        return value or None

    def _module_path_reason(self, task_vars: dict[str, t.Any]) -> str | None:
        """Why this task must go through AnsiballZ, or None to run it in-process."""
        if not self._switch_on(task_vars):
            return "switched off (%s / %s)" % (ENV_SWITCH, VAR_SWITCH)
        if not HAS_PROFILES or not hasattr(self, "_parse_returned_data"):
            return "ansible-core older than 2.19"
        if self._module is None:
            return "the module or its SDK does not import on the controller (%s)" % self._import_error
        if not self._connection.matches_name(["ansible.builtin.local"]):
            name = getattr(self._connection, "ansible_name", None) or self._connection.transport
            return "connection is %s, not ansible.builtin.local" % name
        if self._connection.become is not None:
            return "become applies to this task"
        if self._task.async_val:
            return "async task"
        controller = task_vars.get("ansible_playbook_python") or ""
        interpreter = self._interpreter(task_vars)
        if interpreter is None:
            return "the Python interpreter is not known yet (discovery)"
        if not same_interpreter(interpreter, controller):
            return "interpreter %s is not the controller's %s" % (interpreter, controller)
        return None

    def run(self, tmp: t.Any = None, task_vars: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
        task_vars = task_vars if task_vars is not None else {}
        try:
            reason = self._module_path_reason(task_vars)
        except Exception as exc:  # anything unexpected in the decision: the path that always works
            reason = "cannot decide (%s)" % exc
        if reason is not None:
            self._record("module", reason)
            return super().run(tmp, task_vars)
        result = ActionBase.run(self, tmp, task_vars)  # only ActionBase's checks (check mode, async, options)
        self._record("in-process", "in the controller's worker, pid %d" % os.getpid())
        result.update(self._run_in_process(task_vars))
        return result

    def _record(self, path: str, reason: str) -> None:
        label = "module path (AnsiballZ)" if path == "module" else "in-process"
        display.vvv("virtops.compute.%s: %s: %s" % (self.module_name, label, reason))
        log = os.environ.get(ENV_LOG)
        if log:
            with open(log, "a", encoding="utf-8") as handle:
                handle.write("%s %s %s\n" % (self.module_name, path, reason))

    # --- the in-process run -----------------------------------------------------------------------
    def _run_in_process(self, task_vars: dict[str, t.Any]) -> dict[str, t.Any]:
        from ansible.module_utils import basic

        module_args = copy.deepcopy(self._task.args)
        self._update_module_args(self._task.action, module_args, task_vars)
        environment: dict[str, t.Any] = {}
        self._compute_environment_string(raw_environment_out=environment)
        tmpdir = tempfile.mkdtemp(prefix="virtops-inproc-")
        module_args["_ansible_tmpdir"] = tmpdir  # AnsibleModule.tmpdir would otherwise rely on atexit
        # The c2m wire format first: it drops Data Tagging tags the m2c encoder refuses.
        encoder = get_module_encoder("legacy", Direction.CONTROLLER_TO_MODULE)
        payload = json.dumps({"ANSIBLE_MODULE_ARGS": module_args}, cls=encoder).encode()

        stdout, stderr = io.StringIO(), io.StringIO()
        saved = (basic._ANSIBLE_ARGS, basic._ANSIBLE_PROFILE)
        rc = 0
        try:
            with _task_environment(environment), contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
                basic._ANSIBLE_ARGS, basic._ANSIBLE_PROFILE = payload, "legacy"
                try:
                    self._module.main()
                    raise RuntimeError("New-style module did not handle its own exit.")
                except SystemExit as exc:
                    rc = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
                except Exception as exc:  # what AnsiballZ's wrapper does with an unhandled exception
                    rc = 1
                    _print_unhandled(exc)
        finally:
            basic._ANSIBLE_ARGS, basic._ANSIBLE_PROFILE = saved
            shutil.rmtree(tmpdir, ignore_errors=True)

        parsed = self._parse_returned_data(
            {"stdout": stdout.getvalue(), "stderr": stderr.getvalue(), "rc": rc}, "legacy"
        )
        return _finish(parsed)


def _print_unhandled(exc: Exception) -> None:
    """Emit the module result AnsiballZ's wrapper prints for an exception the module did not handle."""
    try:
        from ansible.module_utils._internal._ansiballz._loader import _handle_exception
    except ImportError:  # pragma: no cover - same shape, by hand
        import traceback

        print(json.dumps({"failed": True, "msg": str(exc), "exception": traceback.format_exc()}))
        return
    try:
        _handle_exception(exc, "legacy")
    except SystemExit:
        pass


def _finish(parsed: t.Any) -> dict[str, t.Any]:
    """The module path's post-processing of a parsed result (``ActionBase._execute_module``)."""
    if hasattr(parsed, "as_result_dict"):  # ansible-core 2.21: UnifiedTaskResult
        parsed.remove_internal_keys()
        return t.cast("dict[str, t.Any]", parsed.as_result_dict(for_round_trip=True))
    from ansible.vars.clean import remove_internal_keys  # ansible-core 2.19/2.20

    data = t.cast("dict[str, t.Any]", parsed)
    data.pop("_ansible_suppress_tmpdir_delete", None)
    if "results" in data and (not isinstance(data["results"], list) or isinstance(data["results"], str)):
        data["ansible_module_results"] = data.pop("results")
        display.warning("Found internal 'results' key in module return, renamed to 'ansible_module_results'.")
    remove_internal_keys(data)
    for stream in ("stdout", "stderr"):
        if stream in data and "%s_lines" % stream not in data:
            data["%s_lines" % stream] = (data.get(stream) or "").splitlines()
    return data
