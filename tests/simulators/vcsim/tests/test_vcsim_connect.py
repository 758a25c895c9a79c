"""Basic vcsim peer checks: connect with pyvmomi, credentials, inventory options, isolation."""

import pytest
from pyVim.connect import Disconnect, SmartConnect
from pyVmomi import vim


def _all(si, vimtype):
    content = si.RetrieveContent()
    view = content.viewManager.CreateContainerView(content.rootFolder, [vimtype], True)
    try:
        return list(view.view)
    finally:
        view.Destroy()


def test_smartconnect_unverified(vcsim_server):
    si = SmartConnect(
        host=vcsim_server.host,
        port=vcsim_server.port,
        user=vcsim_server.username,
        pwd=vcsim_server.password,
        disableSslCertValidation=True,
    )
    try:
        about = si.RetrieveContent().about
        assert "govmomi simulator" in about.name
        assert about.apiType == "VirtualCenter"
        assert vcsim_server.url == f"https://127.0.0.1:{vcsim_server.port}/sdk"
        assert len(_all(si, vim.VirtualMachine)) == 4  # default inventory
    finally:
        Disconnect(si)


def test_wrong_password_is_rejected(vcsim_server):
    with pytest.raises(vim.fault.InvalidLogin):
        SmartConnect(
            host=vcsim_server.host,
            port=vcsim_server.port,
            user=vcsim_server.username,
            pwd="wrong-" + vcsim_server.password,
            disableSslCertValidation=True,
        )


@pytest.mark.vcsim(vm=3, cluster=2, host=2, standalone_host=0)
def test_inventory_options(vcsim):
    si = vcsim.connect()
    # -vm is per resource pool: 2 clusters x 1 root pool x 3 VMs
    assert len(_all(si, vim.VirtualMachine)) == 6
    assert len(_all(si, vim.ClusterComputeResource)) == 2
    assert len(_all(si, vim.HostSystem)) == 4


def test_fresh_inventory_per_test_part1(vcsim, vcsim_server):
    assert vcsim.port != vcsim_server.port
    si = vcsim.connect()
    vm = _all(si, vim.VirtualMachine)[0]
    vm.Rename_Task("renamed-by-part1")
    assert any(v.name == "renamed-by-part1" for v in _all(si, vim.VirtualMachine))


def test_fresh_inventory_per_test_part2(vcsim):
    si = vcsim.connect()
    assert not any(v.name == "renamed-by-part1" for v in _all(si, vim.VirtualMachine))


def test_server_is_stopped_and_cleaned(vcsim_factory):
    server = vcsim_factory()
    workdir, pid = server.workdir, server.pid
    assert server.running and workdir.is_dir()
    server.stop()
    assert not server.running and not workdir.exists()
    with pytest.raises(ProcessLookupError):
        import os

        os.kill(pid, 0)
