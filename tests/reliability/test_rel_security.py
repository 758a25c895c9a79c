"""Security: verified TLS by default (XenAPI simulator --tls, vcsim behind a TLS proxy with a known CA),
passwords never in results/diffs/warnings/-vvv output, no_log on every secret, inventory values unsafe."""

from __future__ import annotations

import ast
import json
import os
import re
from typing import Any

import pytest
from modrun import MODULES_DIR, full_spec, present_modules, run_module
from playbook_runner import run_playbook
from vsphere_fault_proxy import VSphereFaultProxy

ROOT = os.path.dirname(os.path.dirname(MODULES_DIR))
SECRET = "Zq7-virtops-Sekr1t-pw"
WRONG_SECRET = "Wx3-virtops-Wr0ng-pw"
SECRET_WORDS = re.compile(r"pass|secret|token|key", re.I)
NOT_SECRETS: set[str] = set()  # option names matching SECRET_WORDS that are not secrets (none so far)
XEN_READS = {
    "xen_vm": {"name": "db-01"},
    "xen_vm_power": {"name": "web-01", "state": "running"},
    "xen_vm_info": {"name": "db-01"},
}
VMWARE_READS = {
    "vmware_vm": {"name": "DC0_H0_VM0"},
    "vmware_vm_power": {"name": "DC0_H0_VM0", "state": "running"},
    "vmware_vm_info": {"name": "DC0_H0_VM0"},
    "vmware_snapshot": {"vm_name": "DC0_H0_VM0", "name": "rel-snap", "state": "absent"},
}


def _walk(spec: dict[str, Any], path: str = "") -> list[tuple[str, dict[str, Any]]]:
    out = []
    for name, opt in spec.items():
        out.append((path + name, opt))
        out += _walk(opt.get("options") or {}, path + name + ".")
    return out


@pytest.mark.parametrize("module", present_modules())
def test_secrets_are_no_log_and_tls_is_verified_by_default(module: str) -> None:
    spec = full_spec(module)
    for name, opt in _walk(spec):
        names = [name.split(".")[-1], *opt.get("aliases", [])]
        if any(SECRET_WORDS.search(n) for n in names) and name not in NOT_SECRETS:
            assert opt.get("no_log") is True, "%s: option %s looks secret but has no no_log" % (module, name)
    assert spec["validate_certs"].get("default") is True, module
    assert spec["validate_certs"].get("type") == "bool"


def test_every_module_is_covered_by_the_tls_tests() -> None:
    assert set(present_modules()) <= set(XEN_READS) | set(VMWARE_READS), present_modules()


@pytest.mark.parametrize("module", sorted(XEN_READS))
def test_xen_tls_fails_without_the_ca_and_passes_with_it(xapi_tls: Any, module: str) -> None:
    base = dict(XEN_READS[module], username="root", password=xapi_tls.password)
    bare = xapi_tls.url.split("://", 1)[1]  # no scheme: the module must pick https
    no_ca = run_module(module, dict(base, hostname=bare))
    assert no_ca.get("failed") is True and no_ca["error_code"] == "CERTIFICATE_VERIFY_FAILED", no_ca
    assert "cannot verify the TLS certificate of https://%s: " % bare in no_ca["msg"], no_ca
    ok = run_module(module, dict(base, hostname=bare, ca_path=xapi_tls.ca))
    assert not ok.get("failed"), ok.get("msg")
    off = run_module(module, dict(base, hostname=xapi_tls.url, validate_certs=False))
    assert not off.get("failed"), off.get("msg")


@pytest.mark.parametrize("module", sorted(m for m in VMWARE_READS if m in present_modules()))
def test_vsphere_tls_fails_without_the_ca_and_passes_with_it(vcsim_server: Any, module: str) -> None:
    base = dict(VMWARE_READS[module], username=vcsim_server.username, password=vcsim_server.password)
    direct = run_module(module, dict(base, hostname="127.0.0.1", port=vcsim_server.port))
    assert direct.get("failed") is True and "CERTIFICATE_VERIFY_FAILED" in json.dumps(direct), direct
    with VSphereFaultProxy("127.0.0.1", vcsim_server.port) as proxy:
        no_ca = run_module(module, dict(base, hostname="127.0.0.1", port=proxy.port))
        assert no_ca.get("failed") is True and "CERTIFICATE_VERIFY_FAILED" in json.dumps(no_ca), no_ca
        assert proxy.calls == {}, "a SOAP request went out over an unverified connection"
        ok = run_module(module, dict(base, hostname="127.0.0.1", port=proxy.port, ca_path=proxy.ca))
        assert not ok.get("failed"), ok.get("msg")
    assert SECRET not in json.dumps([direct, no_ca, ok])


def test_password_never_appears_in_results_diffs_warnings_or_vvv_output() -> None:
    from xapi.pytest_plugin import start_simulator

    with start_simulator("--ip-delay", "0.2", password=SECRET) as sim:
        # secrets come from the environment (as from a vault): the playbook file itself holds none, because
        # ansible-core 2.19 quotes the failing task's source lines in its error output
        good = {"hostname": sim.url, "username": "root", "password": "{{ lookup('env', 'REL_PW') }}"}
        env = {"REL_PW": SECRET, "REL_WRONG_PW": WRONG_SECRET}
        tasks = [
            {
                "name": "create",
                "virtops.compute.xen_vm": {
                    "name": "sec-01",
                    "template": "Debian Bookworm 12",
                    "description": "has %s nowhere" % "pw",
                },
            },
            {"name": "update diff", "virtops.compute.xen_vm": {"name": "db-01", "description": "x"}},
            {
                "name": "needs halt (fails)",
                "virtops.compute.xen_vm": {"name": "web-01", "vcpus": 8},
                "ignore_errors": True,
            },
            {
                "name": "bad input (fails)",
                "virtops.compute.xen_vm": {"name": "db-01", "vcpus": "many"},
                "ignore_errors": True,
            },
            {"name": "power", "virtops.compute.xen_vm_power": {"name": "db-01", "state": "running"}},
            {
                "name": "rescue",
                "virtops.compute.xen_vm_power": {
                    "name": "db-01",
                    "state": "rescued",
                    "rescue_template": "Debian Bookworm 12",
                },
            },
            {"name": "info", "virtops.compute.xen_vm_info": {"diagnostics": True}},
            {
                "name": "wrong password",
                "virtops.compute.xen_vm_info": {"password": "{{ lookup('env', 'REL_WRONG_PW') }}"},
                "ignore_errors": True,
            },
            {
                "name": "unreachable",
                "virtops.compute.xen_vm_info": {"hostname": "http://127.0.0.1:9"},
                "ignore_errors": True,
            },
        ]
        runs = [
            run_playbook(tasks, defaults=good, diff=True, verbosity=3, env=env),
            run_playbook(tasks[:3], defaults=good, diff=True, check=True, verbosity=3, env=env),
        ]
    for run in runs:
        assert run.results, run.stdout[-2000:]
        blob = run.stdout + run.stderr + json.dumps(run.results)
        assert SECRET not in blob
        assert WRONG_SECRET not in blob
    statuses = [e["status"] for e in runs[0].results]
    assert statuses.count("failed") == 4, statuses  # the failure paths were really exercised
    assert any("diff" in e["result"] for e in runs[0].results)


def unsafe_violations(source: str) -> list[str]:
    """Every host-variable write in an inventory plugin's source whose value is not wrapped: a
    ``set_variable(host, key, value)`` call (or ``_set_composite_vars(..., variables, ...)``) whose value is
    not a ``wrap_var(...)``/``make_unsafe(...)`` call, returned as ``"line N: code"``."""
    out = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        if node.func.attr == "set_variable" and len(node.args) >= 3:
            value = node.args[2]
        elif node.func.attr in ("_set_composite_vars", "_add_host_to_composed_groups") and len(node.args) >= 2:
            value = node.args[1]
        else:
            continue
        wrapped = isinstance(value, ast.Call) and getattr(value.func, "id", getattr(value.func, "attr", "")) in (
            "wrap_var",
            "make_unsafe",
        )
        if not wrapped:
            out.append("line %d: %s" % (node.lineno, ast.unparse(node)))
    return out


def test_unsafe_detector_tells_wrapped_from_raw_host_vars() -> None:
    raw = "class P:\n    def parse(self):\n        self.inventory.set_variable(h, 'name', rec['name_label'])\n"
    wrapped = "class P:\n    def parse(self):\n        self.inventory.set_variable(h, 'name', wrap_var(rec['x']))\n"
    composite = "self._set_composite_vars(self.get_option('compose'), host_vars, h, strict=True)\n"
    assert unsafe_violations(raw) == ["line 3: self.inventory.set_variable(h, 'name', rec['name_label'])"]
    assert unsafe_violations(wrapped) == []
    assert len(unsafe_violations(composite)) == 1
    assert unsafe_violations(composite.replace("host_vars", "make_unsafe(host_vars)")) == []


def test_inventory_plugins_mark_values_unsafe() -> None:
    """Every inventory plugin must pass host variables through ``wrap_var``/``make_unsafe`` (an API that
    returns a VM name such as ``{{ lookup('pipe', 'id') }}`` must never be templated). Each plugin file in
    plugins/inventory is checked with the detector above (itself tested on raw and wrapped samples); with
    no plugin yet the loop is empty, and the first plugin added is checked without changing this test."""
    directory = os.path.join(ROOT, "plugins", "inventory")
    plugins = (
        sorted(f for f in os.listdir(directory) if f.endswith(".py") and f != "__init__.py")
        if os.path.isdir(directory)
        else []
    )
    for name in plugins:
        with open(os.path.join(directory, name), encoding="utf-8") as handle:
            source = handle.read()
        assert "set_variable(" in source or "_set_composite_vars(" in source, "%s sets no host vars?" % name
        assert unsafe_violations(source) == [], "%s sets host vars without marking them unsafe" % name
