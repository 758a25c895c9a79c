"""vcsim at scale: 5,000 VMs in one inventory (startup ~6 s on 2 cores), shared by the module."""

import pytest
from pyVmomi import vim


@pytest.fixture(scope="module")
def big_vcsim(vcsim_session_factory):
    # -vm counts VMs per resource pool: 1 cluster + 1 standalone host = 2 pools
    server = vcsim_session_factory(vm=2500, trace=True)
    yield server
    server.stop()


def test_5000_vms_in_one_round_trip(big_vcsim):
    si = big_vcsim.connect()
    content = si.RetrieveContent()
    view = content.viewManager.CreateContainerView(content.rootFolder, [vim.VirtualMachine], True)
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
    mark = big_vcsim.trace_mark()
    result = content.propertyCollector.RetrievePropertiesEx([spec], vim.PropertyCollector.RetrieveOptions())
    assert len(result.objects) == 5000
    assert result.token is None
    assert big_vcsim.count_calls(since=mark) == 1
    assert big_vcsim.startup_seconds < 60
