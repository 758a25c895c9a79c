"""Known gaps of vcsim 0.24.2 that the project documents instead of patching.

Each raises vmodl.fault.MethodNotFound ("... does not implement: <method>"); code
under test must not depend on them against vcsim. If one of these starts to pass,
update tests/simulators/vcsim/README.md.
"""

import pytest
from pyVmomi import vim, vmodl


@pytest.fixture(scope="module")
def content(vcsim_server):
    return vcsim_server.connect().RetrieveContent()


@pytest.fixture(scope="module")
def vm(content):
    view = content.viewManager.CreateContainerView(content.rootFolder, [vim.VirtualMachine], True)
    try:
        return view.view[0]
    finally:
        view.Destroy()


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda vm, content: vm.MigrateVM_Task(priority="defaultPriority"), id="MigrateVM_Task"),
        pytest.param(
            lambda vm, content: content.searchIndex.FindAllByUuid(uuid=vm.config.uuid, vmSearch=True),
            id="FindAllByUuid",
        ),
    ],
)
def test_not_implemented(vm, content, call):
    with pytest.raises(vmodl.fault.MethodNotFound):
        call(vm, content)


def test_implemented_alternatives(vm, content):
    # what callers can use instead against vcsim
    assert content.searchIndex.FindByUuid(uuid=vm.config.uuid, vmSearch=True) == vm
    assert callable(vm.RelocateVM_Task)
