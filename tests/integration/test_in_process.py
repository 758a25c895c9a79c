# -*- coding: utf-8 -*-
# Copyright: virtops.compute contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""In-process execution (plugins/action, plugins/plugin_utils/in_process.py) against the module path.

The same playbook runs once in-process and once through AnsiballZ (``VIRTOPS_IN_PROCESS=false``) against a
fresh peer each time; every task's result must be the same dict, uuids and refs of new objects aside.
"""

from __future__ import annotations

import json
import os
import re
import stat
from typing import Any

import pytest
from playbook_runner import BIN, run_playbook
from xapi.pytest_plugin import start_simulator

PATHS = {"in-process": {"VIRTOPS_IN_PROCESS": "true"}, "module": {"VIRTOPS_IN_PROCESS": "false"}}
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
REF = re.compile(r"OpaqueRef:[0-9A-Za-z-]+")
WHEN = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?([+-]\d\d:\d\d|Z)?")  # creation times
VCSIM_DIR = re.compile(r"\S*/govcsim-[\w-]+")  # each vcsim keeps its datastores in its own temporary directory
TEMPLATE = "Debian Bookworm 12"
ETH0 = "Pool-wide network associated with eth0"


def normalise(value: Any, port: int | None = None) -> Any:
    """Mask what differs between two fresh peers: uuids, refs, times, the peer's own port and directory."""
    if isinstance(value, dict):
        return {k: normalise(v, port) for k, v in value.items()}
    if isinstance(value, list):
        return [normalise(v, port) for v in value]
    if isinstance(value, str):
        value = VCSIM_DIR.sub("<datastore dir>", REF.sub("<ref>", UUID.sub("<uuid>", value)))
        value = WHEN.sub("<time>", value)
        return value.replace(":%d" % port, ":<port>") if port else value
    if port and isinstance(value, int) and not isinstance(value, bool) and value == port:
        return "<port>"
    return value


def outcome(entry: dict[str, Any]) -> tuple[str, Any]:
    return entry["status"], entry["result"].get("changed")


def compare(runs: dict[str, Any], tasks: list[dict[str, Any]], ports: dict[str, int] | None = None) -> None:
    inproc, module = runs["in-process"], runs["module"]
    ports = ports or {}
    assert len(inproc.results) == len(module.results) == len(tasks), (inproc.stdout[-3000:], module.stdout[-3000:])
    for index, task in enumerate(tasks):
        a = normalise(inproc.results[index], ports.get("in-process"))
        b = normalise(module.results[index], ports.get("module"))
        assert a == b, "task %d (%s) differs:\nin-process %s\nmodule     %s" % (
            index,
            task.get("name"),
            json.dumps(a, sort_keys=True),
            json.dumps(b, sort_keys=True),
        )


# ------------------------------------------------------------------------------------------- xen
def xen(module: str, title: str, **args: Any) -> dict[str, Any]:
    return {"name": title, "virtops.compute.%s" % module: args, "ignore_errors": True}


XEN_TASKS: list[dict[str, Any]] = [
    xen("xen_vm_info", "info by name", name="web-01"),
    xen("xen_vm_info", "info of a VM that does not exist", name="nope"),
    dict(xen("xen_vm", "create, check mode", name="app-01", template=TEMPLATE, memory="1GiB"), check_mode=True),
    xen("xen_vm", "create", name="app-01", template=TEMPLATE, memory="1GiB", networks=[{"device": 0, "network": ETH0}]),
    xen("xen_vm", "create again: no-op", name="app-01", template=TEMPLATE, memory="1GiB"),
    xen("xen_vm", "update the description", name="app-01", description="in-process or not"),
    xen("xen_vm", "bad memory unit", name="app-01", memory="2 GiBs"),
    xen("xen_vm", "unsupported option", name="app-01", bogus=1),
    xen("xen_vm", "alias pool= for hostname", name="web-01", pool="{{ xen_url }}"),
    dict(xen("xen_vm_power", "halt, check mode", name="web-01", state="halted"), check_mode=True),
    xen("xen_vm_power", "halt", name="web-01", state="halted"),
    xen("xen_vm_power", "halt again: no-op", name="web-01", state="halted"),
    xen("xen_vm_power", "start", name="web-01", state="running"),
    xen("xen_vm_power", "restart", name="web-01", state="restarted", reboot_type="hard"),
    xen("xen_vm_power", "pause", name="web-01", state="paused"),
    xen("xen_vm_power", "suspend", name="web-01", state="suspended"),
    xen("xen_vm_power", "rescue without a template", name="db-01", state="rescued"),
    xen("xen_vm_power", "rescue", name="db-01", state="rescued", rescue_template=TEMPLATE),
    xen("xen_vm_power", "unrescue", name="db-01", state="unrescued"),
    xen("xen_vm_power", "power of a VM that does not exist", name="nope", state="running"),
    xen("xen_vm", "halt through xen_vm", name="app-01", power_state="halted"),
    xen("xen_vm", "destroy", name="app-01", state="absent"),
    xen("xen_vm", "destroy again: no-op", name="app-01", state="absent"),
    # env fallbacks from the task's environment, and none of it left for the next loop item
    dict(
        xen("xen_vm_info", "hostname from the task environment per loop item", name="web-01"),
        environment="{{ item }}",
        loop=[{"XENAPI_HOST": "{{ xen_url }}"}, {}],
        module_defaults={"group/virtops.compute.xen": {"username": "root", "password": "{{ xen_password }}"}},
    ),
]
XEN_OUTCOMES = [
    ("ok", False),
    ("ok", False),
    ("ok", True),
    ("ok", True),
    ("ok", False),
    ("ok", True),
    ("failed", False),
    ("failed", False),
    ("ok", False),
    ("ok", True),
    ("ok", True),
    ("ok", False),
    ("ok", True),
    ("ok", True),
    ("ok", True),
    ("ok", True),
    ("failed", False),
    ("ok", True),
    ("ok", True),
    ("failed", False),
    ("ok", False),
    ("ok", True),
    ("ok", False),
    ("failed", False),
]


def test_xen_modules_give_the_same_result_dicts_on_both_paths(xapi: Any, xen_defaults: dict[str, Any]) -> None:
    runs = {}
    for path, env in PATHS.items():
        xapi.control.reset()
        extra = ["-e", "xen_url=%s xen_password=%s" % (xapi.url, xapi.password)]
        runs[path] = run_playbook(XEN_TASKS, defaults=xen_defaults, diff=True, env=env, extra_args=extra, timeout=900)
        assert [p[1] for p in runs[path].paths] == [path] * (len(XEN_TASKS) + 1)  # the loop: two items
        got = [outcome(e) for e in runs[path].results]
        assert got == XEN_OUTCOMES, [(e["task"], outcome(e), e["result"].get("msg")) for e in runs[path].results]
    loop = runs["in-process"].result(-1)["results"]
    assert [vm["name"] for vm in loop[0]["vms"]] == ["web-01"]
    # XENAPI_HOST did not outlive item 1 (ansible-core 2.21 keeps "failed" out of item results)
    assert loop[1].get("failed", True) is True and "missing required arguments: hostname" in loop[1]["msg"], loop[1]
    compare(runs, XEN_TASKS)


# ----------------------------------------------------------------------------------------- vmware
VM = "DC0_H0_VM0"


def vmw(module: str, title: str, **args: Any) -> dict[str, Any]:
    return {"name": title, "virtops.compute.%s" % module: args, "ignore_errors": True}


VMWARE_TASKS: list[dict[str, Any]] = [
    vmw("vmware_vm_info", "info by name", name=VM),
    vmw("vmware_vm_info", "info of a VM that does not exist", name="nope"),
    dict(
        vmw(
            "vmware_vm",
            "create, check mode",
            name="app-01",
            template="none",
            cluster="DC0_C0",
            hardware={"num_cpus": 1, "memory": "512MiB"},
        ),
        check_mode=True,
    ),
    vmw(
        "vmware_vm",
        "create",
        name="app-01",
        cluster="DC0_C0",
        hardware={"num_cpus": 1, "memory": "512MiB"},
        disks=[{"unit_number": 0, "size": "1GiB"}],
    ),
    vmw(
        "vmware_vm",
        "create again: no-op",
        name="app-01",
        cluster="DC0_C0",
        hardware={"num_cpus": 1, "memory": "512MiB"},
    ),
    vmw("vmware_vm", "annotate", name="app-01", annotation="in-process or not"),
    vmw("vmware_vm", "bad memory unit", name="app-01", hardware={"memory": "2 GiBs"}),
    vmw("vmware_vm", "unsupported option", name="app-01", bogus=1),
    dict(vmw("vmware_vm_power", "halt, check mode", name=VM, state="halted", force=True), check_mode=True),
    vmw("vmware_vm_power", "halt", name=VM, state="halted", force=True),
    vmw("vmware_vm_power", "halt again: no-op", name=VM, state="halted"),
    vmw("vmware_vm_power", "start", name=VM, state="running"),
    vmw("vmware_vm_power", "reset", name=VM, state="reset"),
    vmw("vmware_vm_power", "suspend", name=VM, state="suspended"),
    vmw("vmware_vm_power", "start again", name=VM, state="running"),
    vmw("vmware_vm_power", "power of a VM that does not exist", name="nope", state="running"),
    vmw("vmware_snapshot", "snapshot, check mode", vm_name=VM, name="s1"),
    vmw("vmware_snapshot", "snapshot", vm_name=VM, name="s1"),
    vmw("vmware_snapshot", "snapshot again: no-op", vm_name=VM, name="s1"),
    vmw("vmware_snapshot", "second snapshot", vm_name=VM, name="s2"),
    vmw("vmware_snapshot", "revert to the first", vm_name=VM, name="s1", state="reverted"),
    vmw("vmware_snapshot", "remove the second", vm_name=VM, name="s2", state="absent"),
    vmw("vmware_snapshot", "remove a snapshot that is not there", vm_name=VM, name="s9", state="absent"),
    vmw("vmware_vm", "destroy", name="app-01", state="absent"),
    vmw("vmware_vm", "destroy again: no-op", name="app-01", state="absent"),
]
VMWARE_TASKS[16]["check_mode"] = True
VMWARE_OUTCOMES = [
    ("ok", False),
    ("failed", False),
    ("ok", True),
    ("ok", True),
    ("ok", False),
    ("ok", True),
    ("failed", False),
    ("failed", False),
    ("ok", True),
    ("ok", True),
    ("ok", False),
    ("ok", True),
    ("ok", True),
    ("ok", True),
    ("ok", True),
    ("failed", False),
    ("ok", True),
    ("ok", True),
    ("ok", False),
    ("ok", True),
    ("ok", True),
    ("ok", True),
    ("ok", False),
    ("ok", True),
    ("ok", False),
]


def test_vmware_modules_give_the_same_result_dicts_on_both_paths(vcsim_factory: Any) -> None:
    runs, ports = {}, {}
    for path, env in PATHS.items():
        server = vcsim_factory()  # a fresh vCenter for each path
        ports[path] = server.port
        runs[path] = run_playbook(VMWARE_TASKS, diff=True, env=dict(server.env(), **env), timeout=900)
        assert [p[1] for p in runs[path].paths] == [path] * len(VMWARE_TASKS)
        got = [outcome(e) for e in runs[path].results]
        assert got == VMWARE_OUTCOMES, [(e["task"], outcome(e), e["result"].get("msg")) for e in runs[path].results]
    compare(runs, VMWARE_TASKS, ports)


# ------------------------------------------------------------------------------ where things run
def test_remote_style_tasks_take_the_module_path(xapi: Any, xen_defaults: dict[str, Any], tmp_path: Any) -> None:
    """Another interpreter, another connection, become, async and the variable switch: all AnsiballZ."""
    wrapper = tmp_path / "python"
    wrapper.write_text('#!/bin/sh\nexec "%s" "$@"\n' % os.path.join(BIN, "python"))
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    info = {"virtops.compute.xen_vm_info": {"name": "web-01"}, "ignore_errors": True}
    tasks = [
        dict(info, name="controller"),
        dict(info, name="other interpreter", vars={"ansible_python_interpreter": str(wrapper)}),
        dict(
            info,
            name="ssh",
            ignore_unreachable=True,
            vars={"ansible_connection": "ssh", "ansible_host": "127.0.0.1", "ansible_port": 1},
        ),
        dict(info, name="become", become=True, become_method="su"),
        dict(info, name="async", **{"async": 60, "poll": 1}),
        dict(info, name="switched off by variable", vars={"virtops_in_process": False}),
    ]
    run = run_playbook(tasks, defaults=xen_defaults, env=PATHS["in-process"], expect_path=None, verbosity=3)
    paths = [(p[1], p[2]) for p in run.paths]
    assert [p[0] for p in paths] == ["in-process", "module", "module", "module", "module", "module"], paths
    assert "is not the controller's" in paths[1][1] and str(wrapper) in paths[1][1]
    assert paths[2][1] == "connection is ansible.builtin.ssh, not ansible.builtin.local"
    assert paths[3][1] == "become applies to this task"
    assert paths[4][1] == "async task"
    assert paths[5][1].startswith("switched off")
    # -vvv says which way each task went; only the AnsiballZ tasks ship a module
    assert run.stdout.count("virtops.compute.xen_vm_info: in-process:") == 1
    assert run.stdout.count("virtops.compute.xen_vm_info: module path (AnsiballZ):") == 5
    assert run.stdout.count("AnsiballZ_xen_vm_info.py") >= 4
    statuses = {e["task"]: e["status"] for e in run.results}
    for name in ("controller", "other interpreter", "become", "async", "switched off by variable"):
        assert statuses[name] == "ok", (name, run.stdout[-3000:])
    same = [normalise(e["result"]) for e in run.results if e["task"] in ("controller", "other interpreter")]
    assert same[0]["vms"] == same[1]["vms"] and same[0]["vms"][0]["name"] == "web-01"


SECRET = "Zq8-n0-log-s3cret"


def test_no_log_secret_never_appears_in_process() -> None:
    with start_simulator(password=SECRET) as sim:
        tasks = [
            {"name": "password option", "virtops.compute.xen_vm_info": {"name": "web-01", "password": "{{ secret }}"}},
            {
                "name": "password from the environment",
                "virtops.compute.xen_vm_info": {"name": "web-01"},
                "environment": {"XENAPI_PASSWORD": "{{ secret }}"},
            },
            {
                "name": "failure with the password",
                "virtops.compute.xen_vm_power": {"name": "nope", "state": "running", "password": "{{ secret }}"},
                "ignore_errors": True,
            },
            {
                "name": "wrong password echoes nothing",
                "virtops.compute.xen_vm_info": {"name": "web-01", "password": "{{ secret }}x"},
                "ignore_errors": True,
            },
        ]
        # the secret comes from extra vars: the task source that failures quote shows only "{{ secret }}"
        extra = ["-e", "secret=" + SECRET]
        run = run_playbook(
            tasks, defaults={"hostname": sim.url}, env=PATHS["in-process"], verbosity=3, extra_args=extra
        )
    assert [e["status"] for e in run.results] == ["ok", "ok", "failed", "failed"], run.stdout[-3000:]
    assert [vm["name"] for vm in run.results[0]["result"]["vms"]] == ["web-01"]
    assert [p[1] for p in run.paths] == ["in-process"] * 4
    everything = run.stdout + run.stderr + json.dumps(run.results)
    assert SECRET not in everything
    invocation = run.results[0]["result"].get("invocation")  # ansible-core 2.21: only with INJECT_INVOCATION
    if invocation is not None:
        assert invocation["module_args"]["password"] == "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"


@pytest.mark.parametrize("value", ["false", "0", "no"])
def test_environment_switch_turns_it_off(xapi: Any, xen_defaults: dict[str, Any], value: str) -> None:
    run = run_playbook(
        [{"virtops.compute.xen_vm_info": {"name": "web-01"}}], defaults=xen_defaults, env={"VIRTOPS_IN_PROCESS": value}
    )
    assert run.status() == "ok"
    assert [p[1] for p in run.paths] == ["module"] and "switched off" in run.paths[0][2]
