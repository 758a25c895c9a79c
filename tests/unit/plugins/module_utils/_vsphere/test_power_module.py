# -*- coding: utf-8 -*-
# Copyright: virtops.compute contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Planning and rescue steps of vmware_vm_power against a recording fake backend (no vSphere)."""

from __future__ import annotations

from typing import Any

import pytest
from pyVmomi import vim

from ansible_collections.virtops.compute.plugins.module_utils._common.errors import (
    BackendError,
    Conflict,
    InvalidInput,
    NotFound,
    TaskFailed,
)
from ansible_collections.virtops.compute.plugins.module_utils._common.undo import UndoStack
from ansible_collections.virtops.compute.plugins.module_utils._vsphere import power_module as pm
from ansible_collections.virtops.compute.plugins.module_utils._vsphere.backend import VSphereBackend

VM_UUID = "11111111-1111-1111-1111-111111111111"
RESCUE_UUID = "22222222-2222-2222-2222-222222222222"
ROOT = "[ds1] web/web.vmdk"


class FakeObj:
    """A managed object stub: ``obj.Method`` is a callable that remembers its name."""

    def __init__(self, moid: str) -> None:
        self._moId = moid

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)

        def method(*args: Any, **kwargs: Any) -> Any:
            return (self._moId, name, args, kwargs)

        method.__name__ = name
        return method


class FakeClient:
    def __init__(self, props: dict[str, dict[str, Any]]) -> None:
        self.props = props
        self.log: list[tuple[str, str]] = []
        self.fail: dict[str, Exception] = {}

    def properties(self, obj: Any, paths: list[str]) -> dict[str, Any]:
        if obj._moId not in self.props:
            raise NotFound("gone", code="ManagedObjectNotFound")
        return dict(self.props[obj._moId])

    def call(self, method: Any, *args: Any, what: str | None = None, **kwargs: Any) -> Any:
        moid, name, _a, _k = method(*args, **kwargs)
        self.log.append((moid, name))
        if name in self.fail:
            raise self.fail[name]
        return None

    def run_task(self, method: Any, *args: Any, timeout: float, what: str, **kwargs: Any) -> Any:
        moid, name, _a, _k = method(*args, **kwargs)
        self.log.append((moid, name))
        if name in self.fail:
            raise self.fail[name]
        if name == "Destroy_Task":
            self.props.pop(moid, None)
        return None

    def ref(self, kind: str, moid: str) -> FakeObj:
        return FakeObj(moid)


class FakeBackend(VSphereBackend):
    """The real transition table and fallbacks (reboot is the real one, over FakeClient.call/run_task);
    power/reconfigure/clone record instead of calling vSphere."""

    def __init__(self, client: FakeClient) -> None:
        super().__init__(client)  # type: ignore[arg-type]
        self.log = client.log

    def power_on(self, vm: Any, timeout: float) -> None:
        self.log.append((vm._moId, "power_on"))
        self.client.props[vm._moId]["runtime.powerState"] = "poweredOn"

    def power_off(
        self, vm: Any, timeout: float, shutdown_timeout: float, current: str = "running", force: bool = False
    ) -> str:
        self.log.append((vm._moId, "power_off_hard" if force else "power_off"))
        self.client.props[vm._moId]["runtime.powerState"] = "poweredOff"
        return "hard" if force else "guest"

    def reconfigure(self, vm: Any, spec: Any, timeout: float) -> None:
        self.log.append((vm._moId, "reconfigure"))
        if "reconfigure" in self.client.fail:
            raise self.client.fail["reconfigure"]
        self.specs = [*getattr(self, "specs", []), spec]

    def clone(self, source: Any, folder: Any, name: str, spec: Any, timeout: float) -> Any:
        self.log.append((source._moId, "clone"))
        self.clone_spec = spec
        self.client.props["vm-9"] = vm_props(
            "rescue", "poweredOff", instance=RESCUE_UUID, marks={pm.RESCUE_OF_KEY: VM_UUID}, disks_=["[ds1] r/r.vmdk"]
        )
        return FakeObj("vm-9")


def hardware(disks_: list[str], scsi: bool = True, used_units: tuple[int, ...] = ()) -> Any:
    devs: list[Any] = []
    if scsi:
        devs.append(vim.vm.device.ParaVirtualSCSIController(key=1000, busNumber=0))
    for unit, f in enumerate(disks_):
        devs.append(
            vim.vm.device.VirtualDisk(
                key=2000 + unit,
                controllerKey=1000,
                unitNumber=unit,
                capacityInKB=1024,
                backing=vim.vm.device.VirtualDisk.FlatVer2BackingInfo(fileName=f, diskMode="persistent"),
            )
        )
    for unit in used_units:
        devs.append(
            vim.vm.device.VirtualDisk(
                key=3000 + unit,
                controllerKey=1000,
                unitNumber=unit,
                backing=vim.vm.device.VirtualDisk.FlatVer2BackingInfo(fileName=""),
            )
        )
    return vim.vm.VirtualHardware(device=devs, numCPU=2, memoryMB=2048)


def vm_props(
    name: str, power: str, instance: str = VM_UUID, marks: dict[str, str] | None = None, disks_: list[str] | None = None
) -> dict[str, Any]:
    return {
        "name": name,
        "runtime.powerState": power,
        "config.instanceUuid": instance,
        "config.hardware": hardware([ROOT] if disks_ is None else disks_),
        "config.extraConfig": [vim.option.OptionValue(key=k, value=v) for k, v in (marks or {}).items()],
        "parent": None,
        "resourcePool": None,
    }


def params(**kw: Any) -> dict[str, Any]:
    base = {
        "state": "running",
        "force": False,
        "timeout": 120,
        "task_timeout": 300,
        "rescue_template": None,
        "rescue_image": None,
    }
    base.update(kw)
    return base


def planner(
    power: str = "poweredOn",
    marks: dict[str, str] | None = None,
    monkeypatch: Any = None,
    rescue: dict[str, Any] | None = None,
    **kw: Any,
) -> tuple[pm.PowerPlanner, FakeBackend]:
    props = {"vm-1": vm_props("web", power, marks=marks)}
    if rescue is not None:
        props["vm-9"] = rescue
    client = FakeClient(props)
    backend = FakeBackend(client)
    if monkeypatch is not None:
        monkeypatch.setattr(pm, "find_vm", lambda c, **k: FakeObj("vm-9") if "vm-9" in client.props else None)
    return pm.PowerPlanner(backend, FakeObj("vm-1"), client.props["vm-1"], params(**kw)), backend


# ---------------------------------------------------------------------- pure helpers
def test_free_scsi_slot_skips_used_units_and_the_controller_unit() -> None:
    props = {"config.hardware": hardware(["a", "b"], used_units=(3, 4, 5, 6))}
    assert pm.free_scsi_slot(props) == (1000, 2)
    props = {"config.hardware": hardware([], used_units=(0, 1, 2, 3, 4, 5, 6))}
    assert pm.free_scsi_slot(props) == (1000, 8)  # 7 is the controller's own unit


def test_free_scsi_slot_without_a_controller_is_a_conflict() -> None:
    with pytest.raises(Conflict) as err:
        pm.free_scsi_slot({"name": "x", "config.hardware": hardware([], scsi=False)})
    assert err.value.code == "NO_FREE_SCSI_SLOT"


def test_root_disk_and_marks() -> None:
    props = vm_props("web", "poweredOn", marks={pm.RESCUED_BY_KEY: "", "other": "1"}, disks_=[ROOT, "[ds1] b.vmdk"])
    assert pm.disk_file(pm.root_disk(props)) == ROOT
    assert pm.mark(props, pm.RESCUED_BY_KEY) is None  # an empty value is a removed mark
    assert pm.mark(props, "other") == "1"
    assert pm.root_disk(vm_props("x", "poweredOff", disks_=[])) is None


def test_predict_vm_clears_addresses_and_sets_marks() -> None:
    vm = {
        "power_state": "running",
        "ip": "10.0.0.1",
        "ipv4": ["10.0.0.1"],
        "ipv6": [],
        "networks": [{"ipv4": ["10.0.0.1"], "ipv6": []}],
        "extra_config": {"a": "1"},
    }
    out = pm.predict_vm(vm, "halted", {"b": "2", "a": ""})
    assert out["power_state"] == "halted" and out["ip"] is None and out["networks"][0]["ipv4"] == []
    assert out["extra_config"] == {"b": "2"} and vm["ip"] == "10.0.0.1"


# ---------------------------------------------------------------------- target states
@pytest.mark.parametrize(
    "power,state,ops",
    [
        ("poweredOn", "running", []),
        ("poweredOff", "running", ["power_on"]),
        ("suspended", "running", ["power_on"]),
        ("poweredOn", "halted", ["power_off"]),
        ("suspended", "halted", ["power_off"]),
        ("poweredOff", "halted", []),
        ("poweredOn", "suspended", ["suspend"]),
        ("poweredOff", "suspended", ["power_on", "suspend"]),
        ("suspended", "suspended", []),
    ],
)
def test_target_state_table(power: str, state: str, ops: list[str]) -> None:
    p, _b = planner(power, state=state)
    cs = p.plan()
    assert [o.name for o in cs.operations] == ops
    assert cs.after["power_state"] == (state if ops else pm.power_state({"runtime.powerState": power}))
    assert p.predicted["power_state"] == state


def test_halt_text_names_the_timeout_or_force() -> None:
    p, _b = planner(state="halted", timeout=30)
    assert p.plan().operations[0].description == "shut down the guest (hard power off after 30s)"
    p, b = planner(state="halted", force=True)
    cs = p.plan()
    assert cs.operations[0].description == "power off the VM (hard)"
    cs.apply()
    assert b.log == [("vm-1", "power_off_hard")] and p.result_extra == {"halt_method": "hard"}


SOFT_REBOOT_NOTE = "soft reboot unavailable (ToolsUnavailable: no Tools): reset the VM instead"


@pytest.mark.parametrize(
    "state,force,guest_fault,calls,method,notes",
    [
        ("restarted", False, None, ["RebootGuest"], "guest", []),
        ("restarted", False, "ToolsUnavailable", ["RebootGuest", "ResetVM_Task"], "reset", [SOFT_REBOOT_NOTE]),
        ("restarted", True, None, ["ResetVM_Task"], "reset", []),
        ("reset", False, None, ["ResetVM_Task"], "reset", []),
    ],
)
def test_restart_always_changes(
    state: str, force: bool, guest_fault: str | None, calls: list[str], method: str, notes: list[str]
) -> None:
    p, b = planner(state=state, force=force)
    if guest_fault:
        b.client.fail["RebootGuest"] = BackendError("no Tools", code=guest_fault)
    cs = p.plan()
    assert cs.changed
    cs.apply()
    assert b.log == [("vm-1", c) for c in calls]
    assert p.result_extra["restart_method"] == method
    assert b.notes == notes


def test_a_guest_reboot_fault_that_is_not_unavailability_is_raised() -> None:
    p, b = planner(state="restarted")
    b.client.fail["RebootGuest"] = BackendError("denied", code="NoPermission")
    with pytest.raises(BackendError) as err:
        p.plan().apply()
    assert err.value.code == "NoPermission"
    assert b.log == [("vm-1", "RebootGuest")]  # no reset behind the user's back


@pytest.mark.parametrize("power", ["poweredOff", "suspended"])
def test_restart_needs_a_running_vm(power: str) -> None:
    p, _b = planner(power, state="restarted")
    with pytest.raises(Conflict) as err:
        p.plan()
    assert err.value.code == "VM_BAD_POWER_STATE"


# ---------------------------------------------------------------------- rescue
def rescued_vm(power: str = "poweredOn") -> dict[str, Any]:
    return vm_props(
        "web-rescue", power, instance=RESCUE_UUID, marks={pm.RESCUE_OF_KEY: VM_UUID}, disks_=["[ds1] r/r.vmdk", ROOT]
    )


def test_a_rescued_vm_cannot_be_started(monkeypatch: Any) -> None:
    p, _b = planner(
        "poweredOff",
        marks={pm.RESCUED_BY_KEY: RESCUE_UUID},
        monkeypatch=monkeypatch,
        rescue=rescued_vm(),
        state="running",
    )
    with pytest.raises(Conflict) as err:
        p.plan()
    assert err.value.code == "VM_RESCUED"


def test_mark_mismatch_is_a_conflict(monkeypatch: Any) -> None:
    other = vm_props("x", "poweredOn", instance=RESCUE_UUID, marks={pm.RESCUE_OF_KEY: "someone-else"})
    with pytest.raises(Conflict) as err:
        planner(marks={pm.RESCUED_BY_KEY: RESCUE_UUID}, monkeypatch=monkeypatch, rescue=other, state="rescued")
    assert err.value.code == "RESCUE_MARK_MISMATCH"


def test_rescued_is_idempotent_but_fixes_power_states(monkeypatch: Any) -> None:
    p, _b = planner(
        "poweredOff",
        marks={pm.RESCUED_BY_KEY: RESCUE_UUID},
        monkeypatch=monkeypatch,
        rescue=rescued_vm(),
        state="rescued",
        rescue_template="t",
    )
    assert p.plan().operations == []
    p, _b = planner(
        "poweredOn",
        marks={pm.RESCUED_BY_KEY: RESCUE_UUID},
        monkeypatch=monkeypatch,
        rescue=rescued_vm("poweredOff"),
        state="rescued",
        rescue_template="t",
    )
    assert [o.name for o in p.plan().operations] == ["power_off", "power_on_rescue_vm"]


def test_a_rescue_vm_cannot_be_rescued() -> None:
    props = {"vm-1": vm_props("web-rescue", "poweredOn", marks={pm.RESCUE_OF_KEY: VM_UUID})}
    client = FakeClient(props)
    p = pm.PowerPlanner(
        FakeBackend(client), FakeObj("vm-1"), props["vm-1"], params(state="rescued", rescue_image="[ds] x.iso")
    )
    with pytest.raises(InvalidInput) as err:
        p.plan()
    assert err.value.param == "name"


def rescue_planner(monkeypatch: Any) -> tuple[pm.PowerPlanner, FakeBackend]:
    p, b = planner("poweredOn", monkeypatch=monkeypatch, state="rescued", rescue_template="vm-5")
    b.client.props["vm-5"] = vm_props("tmpl", "poweredOff", instance="t", disks_=["[ds1] t/t.vmdk"])
    return p, b


def test_rescue_plan_and_apply(monkeypatch: Any) -> None:
    p, b = rescue_planner(monkeypatch)
    cs = p.plan()
    assert [o.name for o in cs.operations] == [
        "power_off",
        "create_rescue_vm",
        "attach_root_disk",
        "mark_vm",
        "power_on_rescue_vm",
    ]
    assert cs.after == {"power_state": "halted", "rescue_vm": {"name": "web-rescue", "power_state": "running"}}
    assert p.rescue_predicted["extra_config"] == {pm.RESCUE_OF_KEY: VM_UUID}
    with UndoStack() as undo:
        p.apply_rescue(undo)
    assert b.log == [
        ("vm-1", "power_off"),
        ("vm-5", "clone"),
        ("vm-9", "reconfigure"),
        ("vm-1", "reconfigure"),
        ("vm-9", "power_on"),
    ]
    marks = {o.key: o.value for o in b.clone_spec.config.extraConfig}
    assert marks == {pm.RESCUE_OF_KEY: VM_UUID}
    attach, mark = b.specs
    add = attach.deviceChange[0]
    assert add.operation == "add" and add.fileOperation is None  # an existing file: never created or copied
    assert add.device.backing.fileName == ROOT and (add.device.controllerKey, add.device.unitNumber) == (1000, 1)
    assert attach.bootOptions.bootOrder[0].deviceKey == 2000  # the rescue VM's own disk boots, not the rescued one
    assert {o.key: o.value for o in mark.extraConfig} == {pm.RESCUED_BY_KEY: RESCUE_UUID}


def test_failed_rescue_rolls_back_and_keeps_the_disk(monkeypatch: Any) -> None:
    p, b = rescue_planner(monkeypatch)
    p.plan()

    def failing_power_on(vm: Any, timeout: float) -> None:
        if vm._moId == "vm-9":
            raise TaskFailed("power on failed", code="InsufficientResourcesFault")
        FakeBackend.power_on(b, vm, timeout)

    def clone_with_attached_root(*args: Any) -> Any:
        new = FakeBackend.clone(b, *args)
        b.client.props["vm-9"] = rescued_vm("poweredOff")  # as after the attach step
        return new

    b.power_on = failing_power_on  # type: ignore[method-assign]
    b.clone = clone_with_attached_root  # type: ignore[method-assign]
    with pytest.raises(TaskFailed) as err, UndoStack() as undo:
        p.apply_rescue(undo)
    assert err.value.step == "power_on_rescue_vm" and "rolled back" in err.value.msg
    # undo, newest first: remove the mark, destroy the rescue VM (detaching ROOT first), power the VM on
    assert b.log == [
        ("vm-1", "power_off"),
        ("vm-5", "clone"),
        ("vm-9", "reconfigure"),
        ("vm-1", "reconfigure"),
        ("vm-1", "reconfigure"),
        ("vm-9", "reconfigure"),
        ("vm-9", "Destroy_Task"),
        ("vm-1", "power_on"),
    ]
    unmark, detach = b.specs[-2:]
    assert {o.key: o.value for o in unmark.extraConfig} == {pm.RESCUED_BY_KEY: ""}
    changes = detach.deviceChange
    assert [(c.operation, c.fileOperation, c.device.backing.fileName) for c in changes] == [("remove", None, ROOT)]
    assert "vm-9" not in b.client.props and b.client.props["vm-1"]["runtime.powerState"] == "poweredOn"


def test_destroy_rescue_vm_detaches_before_destroying_and_tolerates_gone() -> None:
    client = FakeClient({"vm-9": rescued_vm()})
    b = FakeBackend(client)
    pm.destroy_rescue_vm(b, FakeObj("vm-9"), {ROOT}, 10)
    assert client.log == [("vm-9", "power_off_hard"), ("vm-9", "reconfigure"), ("vm-9", "Destroy_Task")]
    assert b.specs[0].deviceChange[0].device.backing.fileName == ROOT
    pm.destroy_rescue_vm(b, FakeObj("vm-9"), {ROOT}, 10)  # gone: nothing more
    assert len(client.log) == 3


def test_unrescue_plan(monkeypatch: Any) -> None:
    p, b = planner(
        "poweredOff",
        marks={pm.RESCUED_BY_KEY: RESCUE_UUID},
        monkeypatch=monkeypatch,
        rescue=rescued_vm(),
        state="unrescued",
    )
    cs = p.plan()
    assert [o.name for o in cs.operations] == ["destroy_rescue_vm", "unmark_vm", "power_on"]
    assert cs.after == {"power_state": "running", "rescue_vm": None}
    cs.apply()
    assert b.log == [
        ("vm-9", "power_off_hard"),
        ("vm-9", "reconfigure"),
        ("vm-9", "Destroy_Task"),
        ("vm-1", "reconfigure"),
        ("vm-1", "power_on"),
    ]


def test_unrescue_of_a_vm_that_is_not_rescued_changes_nothing(monkeypatch: Any) -> None:
    p, _b = planner("poweredOff", monkeypatch=monkeypatch, state="unrescued")
    assert p.plan().operations == []


def test_unrescue_with_a_stale_mark_clears_it(monkeypatch: Any) -> None:
    p, _b = planner("poweredOn", marks={pm.RESCUED_BY_KEY: RESCUE_UUID}, monkeypatch=monkeypatch, state="unrescued")
    assert [o.name for o in p.plan().operations] == ["unmark_vm"]


# ---------------------------------------------------------------------- wait_for_ip
class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def _nic(ips: list[str]) -> Any:
    return vim.vm.GuestInfo.NicInfo(deviceConfigId=4000, ipAddress=ips)


@pytest.mark.parametrize(
    "family,cidr,reported,waits",
    [
        ("ipv4", None, ["10.0.0.5"], False),  # already there: no wait, one read
        ("ipv6", None, ["10.0.0.5", "fe80::1"], True),  # link-local only: wait (and time out)
        ("ipv4", "192.0.2.0/24", ["10.0.0.5"], True),
        ("any", "fd00::/64", ["10.0.0.5", "fd00::5"], False),
    ],
)
def test_wait_for_ip_waits_only_for_a_matching_address(
    family: str, cidr: str | None, reported: list[str], waits: bool
) -> None:
    from ansible_collections.virtops.compute.plugins.module_utils._common.errors import TaskTimeout

    client = FakeClient({"vm-1": dict(vm_props("web", "poweredOn"), **{"guest.net": [_nic(reported)]})})
    clock = _Clock()
    client.clock, client.sleep = clock, clock.sleep  # type: ignore[attr-defined]
    b = FakeBackend(client)
    facts = {
        "power_state": "running",
        "ipv4": [i for i in reported if "." in i],
        "ipv6": [i for i in reported if ":" in i],
    }
    wait = {"family": family, "cidr": cidr, "timeout": 5}
    if waits:
        with pytest.raises(TaskTimeout):
            pm.wait_for_ip(b, FakeObj("vm-1"), wait, None, facts)
        assert clock.now >= 5
    else:
        props = pm.wait_for_ip(b, FakeObj("vm-1"), wait, None, facts)
        assert props is not None and props["name"] == "web" and clock.now == 0


def test_wait_for_ip_does_nothing_for_a_vm_that_is_not_running() -> None:
    b = FakeBackend(FakeClient({}))  # any read would fail: the VM is not there
    assert pm.wait_for_ip(b, FakeObj("vm-1"), {"family": "any", "timeout": 5}, None, {"power_state": "halted"}) is None
