"""-trace capture and SOAP round-trip counting."""

import os
import subprocess
import sys
import textwrap

import pytest
from pyVmomi import vim


@pytest.fixture
def plugin(request):
    """The vcsim plugin module, however tests/conftest.py registered it."""
    for mod in request.config.pluginmanager.get_plugins():
        if getattr(mod, "__name__", "").endswith("vcsim.pytest_plugin"):
            return mod
    pytest.fail("vcsim pytest plugin is not registered")


def test_parse_trace_calls(plugin):
    text = (
        'Request: <?xml version="1.0" encoding="UTF-8"?>\n'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">\n'
        '<soapenv:Body><Fetch xmlns="urn:vim25"><_this type="VirtualMachine">vm-1</_this>'
        "<prop>name</prop></Fetch></soapenv:Body>\n</soapenv:Envelope>\n"
        'Response: <?xml version="1.0" encoding="UTF-8"?>\n'
        "<soapenv:Envelope><soapenv:Body><FetchResponse><returnval>x</returnval>"
        "</FetchResponse></soapenv:Body></soapenv:Envelope>\n"
        "Request: <Envelope><Body>\n  <vim25:RetrievePropertiesEx/></Body></Envelope>\n"
    )
    assert plugin.parse_trace_calls(text) == ["Fetch", "RetrievePropertiesEx"]


@pytest.mark.vcsim(trace=True)
def test_count_round_trips(vcsim):
    si = vcsim.connect()
    assert vcsim.count_calls(method="RetrieveServiceContent") >= 1
    assert vcsim.count_calls(method="Login") == 1

    content = si.RetrieveContent()
    view = content.viewManager.CreateContainerView(content.rootFolder, [vim.VirtualMachine], True)
    vms = list(view.view)

    mark = vcsim.trace_mark()
    names = [vm.name for vm in vms]  # pyvmomi: one Fetch per property read
    assert len(names) == 4
    assert vcsim.count_calls(since=mark) == len(vms)
    assert vcsim.trace_calls(since=mark) == ["Fetch"] * len(vms)

    mark = vcsim.trace_mark()
    pc = content.propertyCollector
    spec = vim.PropertyCollector.FilterSpec(
        objectSet=[
            vim.PropertyCollector.ObjectSpec(
                obj=view,
                skip=True,
                selectSet=[vim.PropertyCollector.TraversalSpec(type=vim.view.ContainerView, path="view")],
            )
        ],
        propSet=[vim.PropertyCollector.PropertySpec(type=vim.VirtualMachine, pathSet=["name"])],
    )
    result = pc.RetrievePropertiesEx([spec], vim.PropertyCollector.RetrieveOptions())
    assert len(result.objects) == 4
    assert vcsim.call_counter(since=mark) == {"RetrievePropertiesEx": 1}
    assert vcsim.count_calls(since=vcsim.trace_mark()) == 0


def test_trace_requires_trace_option(vcsim, plugin):
    with pytest.raises(plugin.VcsimError):
        vcsim.count_calls()


_MISSING_TEST = textwrap.dedent(
    """
    def test_uses_vcsim(vcsim_server):
        pass
    """
)


@pytest.mark.parametrize("require, outcome", [(None, "1 skipped"), ("1", "1 error")])
def test_missing_binary_skip_or_fail(tmp_path, plugin, require, outcome):
    (tmp_path / "test_inner.py").write_text(_MISSING_TEST)
    env = {k: v for k, v in os.environ.items() if k != plugin.REQUIRE_ENV}
    env["VCSIM_BINARY"] = str(tmp_path / "no-such-vcsim")
    env["PYTHONPATH"] = str(plugin.REPO_ROOT)
    if require:
        env[plugin.REQUIRE_ENV] = require
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "tests.simulators.vcsim.pytest_plugin",
            "-p",
            "no:cacheprovider",
            "--rootdir",
            str(tmp_path),
            str(tmp_path / "test_inner.py"),
        ],
        cwd=tmp_path,
        env=env,
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert outcome in proc.stdout, proc.stdout + proc.stderr
