"""Inverses of xen_vm's update steps (vm_undo.py) against the simulator in-process: apply an update of
every kind, fail after the last step, and the VM is as it was (except what has no inverse)."""

from __future__ import annotations

from typing import Any

import pytest

from ansible_collections.virtops.compute.plugins.module_utils._common.errors import BackendError, PowerRestoreFailed
from ansible_collections.virtops.compute.plugins.module_utils._common.undo import UndoStack
from ansible_collections.virtops.compute.plugins.module_utils._xenapi.lookup import PoolSnapshot
from ansible_collections.virtops.compute.plugins.module_utils._xenapi.vm_plan import VMPlanner
from ansible_collections.virtops.compute.plugins.module_utils._xenapi.vm_spec import parse_spec
from ansible_collections.virtops.compute.plugins.module_utils._xenapi.vm_undo import restore_power

ETH0 = "Pool-wide network associated with eth0"
ETH1 = "Pool-wide network associated with eth1"
VM_FIELDS = (
    "name_label",
    "name_description",
    "VCPUs_max",
    "VCPUs_at_startup",
    "memory_static_min",
    "memory_static_max",
    "memory_dynamic_min",
    "memory_dynamic_max",
    "platform",
    "HVM_boot_params",
    "tags",
    "other_config",
    "xenstore_data",
    "blocked_operations",
    "affinity",
    "power_state",
)


def _view(conn: Any, name_or_ref: str) -> dict[str, Any]:
    vms = conn.records("VM")
    ref = name_or_ref if name_or_ref in vms else conn.vm(name_or_ref)[0]
    vm = vms[ref]
    vbds, vifs, vdis = conn.records("VBD"), conn.records("VIF"), conn.records("VDI")
    disks, cds = {}, {}
    for r in vm["VBDs"]:
        vbd = vbds[r]
        vdi = vdis.get(vbd["VDI"], {})
        if vbd["type"] == "Disk":
            disks[vbd["userdevice"]] = (
                vdi.get("uuid"),
                vdi.get("name_label"),
                vbd["bootable"],
                vdi.get("virtual_size"),
            )
        else:
            cds[vbd["userdevice"]] = vdi.get("uuid")
    nics = {vifs[r]["device"]: (vifs[r]["network"], vifs[r]["MAC"], vifs[r]["MTU"]) for r in vm["VIFs"]}
    out = {k: vm[k] for k in VM_FIELDS}
    out.update(disks=disks, cds=cds, nics=nics, vdis=len(vdis))
    return out


def _plan(backend: Any, **params: Any) -> tuple[Any, str]:
    params.setdefault("state", "present")
    cs, ref = VMPlanner(backend, parse_spec(params), PoolSnapshot.read(backend.conn)).plan()
    return cs, ref


def test_every_inverse_puts_the_halted_vm_back(backend: Any, conn: Any) -> None:
    uuid = conn.vm("db-01")[1]["uuid"]
    before = _view(conn, "db-01")
    cs, ref = _plan(
        backend,
        uuid=uuid,
        name="db-01-renamed",
        description="changed",
        vcpus=2,
        memory="1GiB",
        boot={"order": "dc", "firmware": "uefi"},
        platform={"x": "1"},
        tags=["t"],
        other_config={"k": "v"},
        xenstore_data={"vm-data/k": "v"},
        bootable=False,
        home_server="xen-a2",
        disks=[
            {"userdevice": 0, "name": "renamed disk", "bootable": False},
            {"userdevice": 2, "size": "1GiB"},
        ],
        networks=[{"device": 0, "network": ETH1}],
        remove_unmanaged_networks=True,
        cdrom={"iso": "debian-12.iso"},
    )
    names = [op.name for op in cs.operations]
    assert {"rename", "set_vcpus", "set_memory", "add_disk", "replace_nic", "remove_nic", "add_cdrom"} <= set(names)
    assert all(op.undo is not None for op in cs.operations), [op.name for op in cs.operations if op.undo is None]
    with pytest.raises(BackendError) as err, UndoStack() as undo:
        cs.apply(undo)
        assert _view(conn, ref) != before
        raise BackendError("injected after the last step")
    assert err.value.applied == names and len(err.value.rolled_back) == len(names)
    assert err.value.not_undone == []
    after = _view(conn, ref)
    assert after == before


def test_a_grown_disk_has_no_inverse_and_is_reported(backend: Any, conn: Any) -> None:
    cs, ref = _plan(backend, name="db-01", disks=[{"userdevice": 0, "size": "30GiB"}], description="x")
    with pytest.raises(BackendError) as err, UndoStack() as undo:
        cs.apply(undo)
        raise BackendError("boom")
    assert err.value.not_undone == ["grow disk 0 20GiB -> 30GiB"]
    assert err.value.rolled_back == ["restore description"]
    assert _view(conn, ref)["disks"]["0"][3] == 30 * 1024**3


def test_a_running_vm_gets_its_cd_and_nics_back_live(backend: Any, conn: Any) -> None:
    before = _view(conn, "web-01")
    cs, ref = _plan(
        backend,
        name="web-01",
        cdrom={"iso": "debian-12.iso"},
        networks=[{"device": 0, "network": ETH1}, {"device": 1, "network": ETH0}],
    )
    assert [op.name for op in cs.operations] == ["replace_nic", "add_nic", "change_cdrom"]
    with pytest.raises(BackendError), UndoStack() as undo:
        cs.apply(undo)
        raise BackendError("boom")
    assert _view(conn, ref) == before
    vifs = conn.records("VIF")
    assert all(vifs[r]["currently_attached"] for r in conn.records("VM")[ref]["VIFs"])


def test_restore_power_names_the_current_state_when_it_fails(backend: Any, conn: Any) -> None:
    ref, _rec = conn.vm("db-01")

    def broken(*_args: Any, **_kwargs: Any) -> None:
        raise BackendError("VM.start failed: INTERNAL_ERROR", code="INTERNAL_ERROR")

    backend.power_on = broken
    with pytest.raises(PowerRestoreFailed) as err:
        restore_power(backend, ref, "running", 10, 10)
    assert err.value.power_state == "halted" and err.value.expected == "running"
    assert err.value.msg == (
        "could not bring the VM back to running: VM.start failed: INTERNAL_ERROR; the VM is now halted"
    )


def test_set_vcpus_is_not_left_half_applied(backend: Any, conn: Any) -> None:
    ref, _rec = conn.vm("db-01")
    real = conn.call

    def failing(method: str, *args: Any, **kwargs: Any) -> Any:
        if method == "VM.set_VCPUs_at_startup":
            raise BackendError("VM.set_VCPUs_at_startup failed: INTERNAL_ERROR", code="INTERNAL_ERROR")
        return real(method, *args, **kwargs)

    conn.call = failing
    with pytest.raises(BackendError):
        backend.set_vcpus(ref, 8)
    vm = conn.records("VM")[ref]
    assert (int(vm["VCPUs_max"]), int(vm["VCPUs_at_startup"])) == (4, 4)
