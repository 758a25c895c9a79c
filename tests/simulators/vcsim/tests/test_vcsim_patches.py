"""The project's vcsim patches (tests/simulators/vcsim/patches): pyvmomi >= 8 no longer crashes vcsim."""

import pytest
from pyVim.task import WaitForTask
from pyVmomi import vim, vmodl


@pytest.fixture
def si(vcsim):
    yield vcsim.connect()
    assert vcsim.panics() == [], vcsim.log_text()  # no recovered handler panic either


@pytest.fixture
def vm(si):
    content = si.RetrieveContent()
    view = content.viewManager.CreateContainerView(content.rootFolder, [vim.VirtualMachine], True)
    try:
        return sorted(view.view, key=lambda v: v.name)[0]
    finally:
        view.Destroy()


def _snapshot(vm, name):
    task = vm.CreateSnapshot_Task(name=name, description="", memory=False, quiesce=False)
    WaitForTask(task)
    return task.info.result


def _tree_names(trees):
    return [(t.name, _tree_names(t.childSnapshotList)) for t in trees]


# 1. Fetch of an unset property
def test_unset_snapshot_property_is_none(vm):
    assert vm.snapshot is None
    assert vm.rootSnapshot == []  # an unset array reads as empty, still no crash


def test_unset_property_after_last_snapshot_removed(vm):
    snap = _snapshot(vm, "only")
    assert vm.snapshot.currentSnapshot == snap
    WaitForTask(snap.RemoveSnapshot_Task(removeChildren=False))
    assert vm.snapshot is None


# 2. Revert / remove tasks: task.info.entity is the VM
def test_revert_and_remove_task_info_entity_is_vm(vm):
    s1 = _snapshot(vm, "s1")
    s2 = _snapshot(vm, "s2")
    assert vm.snapshot.currentSnapshot == s2

    revert = s1.RevertToSnapshot_Task()
    WaitForTask(revert)
    info = revert.info  # pyvmomi >= 8 raised TypeError here: entity was the snapshot
    assert info.state == vim.TaskInfo.State.success
    assert info.entity == vm
    assert isinstance(info.entity, vim.VirtualMachine)
    assert vm.snapshot.currentSnapshot == s1

    remove = s2.RemoveSnapshot_Task(removeChildren=False)
    WaitForTask(remove)
    info = remove.info
    assert info.state == vim.TaskInfo.State.success
    assert info.entity == vm
    assert _tree_names(vm.snapshot.rootSnapshotList) == [("s1", [])]


# 3. Removing a root snapshot while others exist
def test_remove_current_root_snapshot_with_child(vm):
    s1 = _snapshot(vm, "s1")
    _snapshot(vm, "s2")
    WaitForTask(s1.RevertToSnapshot_Task())  # s1 (root, has a child) is current

    task = s1.RemoveSnapshot_Task(removeChildren=False)
    WaitForTask(task)  # vcsim panicked (nil *ManagedObjectReference) and dropped the connection
    assert task.info.entity == vm
    snapshot = vm.snapshot
    assert snapshot.currentSnapshot is None  # a root has no parent to become current
    assert _tree_names(snapshot.rootSnapshotList) == [("s2", [])]


def test_remove_root_snapshot_while_child_is_current(vm):
    s1 = _snapshot(vm, "s1")
    s2 = _snapshot(vm, "s2")
    WaitForTask(s1.RemoveSnapshot_Task(removeChildren=False))
    snapshot = vm.snapshot
    assert snapshot.currentSnapshot == s2
    assert _tree_names(snapshot.rootSnapshotList) == [("s2", [])]


def test_remove_root_snapshot_with_children(vcsim, vm):
    s1 = _snapshot(vm, "s1")
    s2 = _snapshot(vm, "s2")
    _snapshot(vm, "s3")
    WaitForTask(s1.RemoveSnapshot_Task(removeChildren=True))
    assert vm.snapshot is None
    # the children went with it: they are gone from the inventory too
    with pytest.raises(vmodl.fault.ManagedObjectNotFound):
        assert s2.vm is not None
    # and the VM takes new snapshots again
    s4 = _snapshot(vm, "s4")
    assert vm.snapshot.currentSnapshot == s4
    assert _tree_names(vm.snapshot.rootSnapshotList) == [("s4", [])]
