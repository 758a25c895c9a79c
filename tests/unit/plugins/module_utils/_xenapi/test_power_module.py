# -*- coding: utf-8 -*-
# Copyright: virtops.compute contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Planning of xen_vm_power (target states, restart, rescue, unrescue) against hand-made snapshots."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from ansible_collections.virtops.compute.plugins.module_utils._common.errors import (
    BackendError,
    Conflict,
    InvalidInput,
)
from ansible_collections.virtops.compute.plugins.module_utils._common.undo import UndoStack
from ansible_collections.virtops.compute.plugins.module_utils._xenapi.backend import XenAPIBackend
from ansible_collections.virtops.compute.plugins.module_utils._xenapi.facts import RESCUE_OF_KEY
from ansible_collections.virtops.compute.plugins.module_utils._xenapi.lookup import NULL_REF, PoolSnapshot
from ansible_collections.virtops.compute.plugins.module_utils._xenapi.power_module import (
    RESCUE_BLOCK_REASON,
    PowerPlanner,
    destroy_rescue_vm,
    predict_vm,
    rescue_device,
    rescue_vms_of,
    root_vdi,
)

UUID = "11111111-1111-1111-1111-111111111111"
RUUID = "22222222-2222-2222-2222-222222222222"
DISKS_XML = '<provision><disk device="0" size="1073741824" sr="" bootable="true" type="system"/></provision>'


def vm(
    name: str,
    uuid: str,
    power: str = "Running",
    vbds: list[str] | None = None,
    vifs: list[str] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    rec = {
        "name_label": name,
        "uuid": uuid,
        "power_state": power,
        "is_a_template": False,
        "is_a_snapshot": False,
        "is_control_domain": False,
        "VBDs": vbds or [],
        "VIFs": vifs or [],
        "other_config": {},
        "blocked_operations": {},
        "tags": [],
        "VCPUs_at_startup": "1",
        "VCPUs_max": "1",
        "memory_static_max": str(1 << 30),
        "snapshots": [],
        "guest_metrics": NULL_REF,
    }
    rec.update(extra)
    return rec


def pool(**extra_vms: dict[str, Any]) -> dict[str, dict[str, Any]]:
    records: dict[str, dict[str, Any]] = {
        "VM": {
            "OpaqueRef:web": vm("web", UUID, vbds=["OpaqueRef:vbd0", "OpaqueRef:cd"], vifs=["OpaqueRef:vif0"]),
            "OpaqueRef:tmpl": vm(
                "Rescue tmpl",
                "33333333-3333-3333-3333-333333333333",
                "Halted",
                is_a_template=True,
                other_config={"disks": DISKS_XML},
            ),
        },
        "VBD": {
            "OpaqueRef:vbd0": {
                "VM": "OpaqueRef:web",
                "VDI": "OpaqueRef:root",
                "userdevice": "0",
                "type": "Disk",
                "bootable": True,
                "mode": "RW",
                "currently_attached": True,
            },
            "OpaqueRef:cd": {"VM": "OpaqueRef:web", "VDI": NULL_REF, "userdevice": "3", "type": "CD", "empty": True},
        },
        "VDI": {
            "OpaqueRef:root": {
                "uuid": "44444444-4444-4444-4444-444444444444",
                "name_label": "web root",
                "SR": "OpaqueRef:sr",
                "virtual_size": str(10 << 30),
                "VBDs": ["OpaqueRef:vbd0"],
                "type": "system",
            }
        },
        "VIF": {
            "OpaqueRef:vif0": {
                "VM": "OpaqueRef:web",
                "network": "OpaqueRef:net",
                "device": "0",
                "MAC": "AA:00:00:00:00:01",
                "MTU": "1500",
                "currently_attached": True,
            }
        },
        "network": {"OpaqueRef:net": {"name_label": "net0", "uuid": "55555555-5555-5555-5555-555555555555"}},
        "SR": {
            "OpaqueRef:sr": {
                "name_label": "Local storage",
                "uuid": "66666666-6666-6666-6666-666666666666",
                "content_type": "user",
                "type": "ext",
            }
        },
        "host": {},
        "pool": {"OpaqueRef:pool": {"default_SR": "OpaqueRef:sr"}},
        "VM_guest_metrics": {},
    }
    records["VM"].update(extra_vms)
    return records


def params(state: str, **kw: Any) -> dict[str, Any]:
    out = {
        "name": "web",
        "uuid": None,
        "state": state,
        "reboot_type": "soft",
        "force": False,
        "timeout": 300,
        "shutdown_timeout": 120,
        "rescue_template": None,
    }
    out.update(kw)
    return out


class FakeConn:
    """Records calls; tasks succeed at once; ``event.from`` serves ``records``."""

    def __init__(self, records: dict[str, dict[str, Any]], fail: dict[str, BackendError] | None = None) -> None:
        self.records = records
        self.calls: list[tuple[Any, ...]] = []
        self.fail = fail or {}

    def call(self, method: str, *args: Any, **_kw: Any) -> Any:
        self.calls.append((method, *args))
        if method in self.fail:
            raise self.fail[method]
        if method == "event.from":
            return {
                "events": [
                    {"class": k.lower(), "operation": "add", "ref": r, "snapshot": rec}
                    for k in args[0]
                    for r, rec in self.records.get(k, {}).items()
                ]
            }
        if method.startswith("Async."):
            return "OpaqueRef:task"
        if method == "task.get_record":
            return {"status": "success", "result": "<value>OpaqueRef:new</value>"}
        if method.endswith(".create"):
            return "OpaqueRef:created"
        return ""

    def methods(self) -> list[str]:
        return [c[0] for c in self.calls]


def planner(
    records: dict[str, dict[str, Any]], p: dict[str, Any], conn: FakeConn | None = None
) -> tuple[PowerPlanner, FakeConn]:
    conn = conn or FakeConn(records)
    snap = PoolSnapshot(copy.deepcopy(records))
    ref, rec = snap.vm(p["name"], p["uuid"])
    return PowerPlanner(XenAPIBackend(conn), snap, ref, rec, p), conn


# ---------------------------------------------------------------------- target states
@pytest.mark.parametrize(
    "current,target,ops",
    [
        ("Running", "halted", ["shutdown"]),
        ("Running", "running", []),
        ("Halted", "running", ["start"]),
        ("Running", "paused", ["pause"]),
        ("Paused", "suspended", ["unpause", "suspend"]),
        ("Suspended", "halted", ["hard_shutdown"]),
        ("Halted", "halted", []),
    ],
)
def test_target_states(current: str, target: str, ops: list[str]) -> None:
    records = pool()
    records["VM"]["OpaqueRef:web"]["power_state"] = current
    plan, _unused = planner(records, params(target))
    cs = plan.plan()
    assert [op.name for op in cs.operations] == ops
    assert cs.after["power_state"] == target
    assert plan.predicted["power_state"] == target


def test_halted_prediction_drops_addresses_and_host() -> None:
    facts = {
        "power_state": "running",
        "ip": "192.0.2.1",
        "ipv4": ["192.0.2.1"],
        "ipv6": [],
        "host": "h1",
        "disks": [{"attached": True}],
        "networks": [{"ipv4": ["192.0.2.1"], "ipv6": [], "attached": True}],
    }
    out = predict_vm(facts, "halted", blocked=True)
    assert out["ip"] == "" and out["host"] is None and out["bootable"] is False
    assert out["networks"][0] == {"ipv4": [], "ipv6": [], "attached": False}
    assert facts["ip"] == "192.0.2.1"  # the input is not modified


def test_force_halt_is_hard_and_runs_hard_shutdown() -> None:
    plan, conn = planner(pool(), params("halted", force=True))
    cs = plan.plan()
    assert cs.operations[0].description == "hard shut down the VM"
    cs.apply()
    assert "Async.VM.hard_shutdown" in conn.methods()
    assert "Async.VM.clean_shutdown" not in conn.methods()


def test_restart_needs_a_running_vm() -> None:
    records = pool()
    records["VM"]["OpaqueRef:web"]["power_state"] = "Halted"
    plan, _unused = planner(records, params("restarted"))
    with pytest.raises(Conflict) as err:
        plan.plan()
    assert err.value.code == "VM_BAD_POWER_STATE"
    assert err.value.msg == (
        "cannot restart VM 'web': it is halted, and state=restarted needs a running VM (use state=running to start it)"
    )


@pytest.mark.parametrize(
    "kw,method",
    [
        ({}, "Async.VM.clean_reboot"),
        ({"force": True}, "Async.VM.hard_reboot"),
        ({"reboot_type": "hard"}, "Async.VM.hard_reboot"),
    ],
)
def test_restart_always_changes(kw: dict[str, Any], method: str) -> None:
    plan, conn = planner(pool(), params("restarted", **kw))
    cs = plan.plan()
    assert cs.changed and [op.name for op in cs.operations] == ["reboot"]
    cs.apply()
    assert conn.methods()[0] == method


def test_soft_reboot_falls_back_to_hard() -> None:
    conn = FakeConn(pool(), fail={"Async.VM.clean_reboot": BackendError("x", code="VM_LACKS_FEATURE")})
    plan, _unused = planner(pool(), params("restarted"), conn)
    plan.plan().apply()
    assert plan.reboot_used == "hard"
    assert "Async.VM.hard_reboot" in conn.methods()


# ---------------------------------------------------------------------- rescue
def test_rescue_plan() -> None:
    plan, _unused = planner(pool(), params("rescued", rescue_template="Rescue tmpl"))
    cs = plan.plan()
    assert [op.name for op in cs.operations] == [
        "halt",
        "block_start",
        "create_rescue_vm",
        "provision",
        "attach_root_disk",
        "networks",
        "start_rescue_vm",
    ]
    assert cs.after == {"power_state": "halted", "start_blocked": RESCUE_BLOCK_REASON, "rescue_vm": "web-rescue"}
    assert cs.before == {"power_state": "running", "start_blocked": None, "rescue_vm": None}
    disk = plan.rescue_predicted["disks"][0]
    assert (disk["userdevice"], disk["bootable"], disk["vdi_uuid"]) == (
        1,
        False,
        "44444444-4444-4444-4444-444444444444",
    )
    assert plan.rescue_predicted["other_config"] == {RESCUE_OF_KEY: UUID}
    assert plan.predicted["bootable"] is False and plan.predicted["power_state"] == "halted"


def test_rescue_apply_order_and_arguments() -> None:
    plan, conn = planner(pool(), params("rescued", rescue_template="Rescue tmpl"))
    plan.plan()
    with UndoStack() as undo:
        new = plan.apply_rescue(undo)
    assert new == "OpaqueRef:new"
    calls = [c for c in conn.calls if c[0] not in ("task.get_record", "task.destroy")]
    assert [c[0] for c in calls] == [
        "Async.VM.clean_shutdown",
        "VM.add_to_blocked_operations",
        "Async.VM.clone",
        # the template says sr="": VM.provision needs a real SR uuid (the pool's default SR)
        "VM.remove_from_other_config",
        "VM.add_to_other_config",
        "Async.VM.provision",
        "VM.set_is_a_template",
        "VM.add_to_other_config",
        "VM.set_name_description",
        "VBD.create",
        "VIF.create",
        "Async.VM.start",
    ]
    assert calls[1][1:] == ("OpaqueRef:web", "start", RESCUE_BLOCK_REASON)
    assert calls[3][1:] == ("OpaqueRef:new", "disks")
    assert calls[4][1:3] == ("OpaqueRef:new", "disks")
    assert 'sr="66666666-6666-6666-6666-666666666666"' in calls[4][3] and 'sr=""' not in calls[4][3]
    assert calls[7][1:] == ("OpaqueRef:new", RESCUE_OF_KEY, UUID)
    vbd = calls[9][1]
    assert (vbd["VM"], vbd["VDI"], vbd["userdevice"], vbd["bootable"]) == (
        "OpaqueRef:new",
        "OpaqueRef:root",
        "1",
        False,
    )
    vif = calls[10][1]
    assert (vif["network"], vif["MAC"], vif["device"]) == ("OpaqueRef:net", "AA:00:00:00:00:01", "0")


def test_rescue_is_idempotent_when_a_rescue_vm_exists() -> None:
    records = pool(**{"OpaqueRef:r": vm("web-rescue", RUUID, other_config={RESCUE_OF_KEY: UUID})})
    records["VM"]["OpaqueRef:web"].update(power_state="Halted", blocked_operations={"start": RESCUE_BLOCK_REASON})
    plan, _unused = planner(records, params("rescued", rescue_template="Rescue tmpl"))
    assert not plan.plan().changed
    assert plan.rescue_predicted["uuid"] == RUUID


def test_rescue_errors_before_any_change() -> None:
    plan, conn = planner(pool(), params("rescued", rescue_template="nope"))
    with pytest.raises(InvalidInput) as err:
        plan.plan()
    assert err.value.param == "rescue_template"
    records = pool()
    records["VM"]["OpaqueRef:web"]["VBDs"] = ["OpaqueRef:cd"]
    plan, conn2 = planner(records, params("rescued", rescue_template="Rescue tmpl"))
    with pytest.raises(Conflict, match="no disk at userdevice 0"):
        plan.plan()
    assert conn.calls == [] and conn2.calls == []


def test_rescued_vm_cannot_be_started() -> None:
    records = pool(**{"OpaqueRef:r": vm("web-rescue", RUUID, other_config={RESCUE_OF_KEY: UUID})})
    records["VM"]["OpaqueRef:web"]["power_state"] = "Halted"
    plan, _unused = planner(records, params("running"))
    with pytest.raises(Conflict) as err:
        plan.plan()
    assert err.value.code == "VM_RESCUED"


def test_rescue_device_skips_used_devices() -> None:
    records = pool()
    snap = PoolSnapshot(records)
    tmpl = records["VM"]["OpaqueRef:tmpl"]
    assert rescue_device(snap, tmpl) == 1
    tmpl["other_config"]["disks"] = DISKS_XML.replace('device="0"', 'device="1"')
    assert rescue_device(snap, tmpl) == 2
    assert root_vdi(snap, records["VM"]["OpaqueRef:web"]) == "OpaqueRef:root"


# ---------------------------------------------------------------------- unrescue
def rescued_pool() -> dict[str, dict[str, Any]]:
    records = pool(
        **{
            "OpaqueRef:r": vm(
                "web-rescue", RUUID, vbds=["OpaqueRef:rvbd0", "OpaqueRef:rvbd1"], other_config={RESCUE_OF_KEY: UUID}
            )
        }
    )
    records["VM"]["OpaqueRef:web"].update(power_state="Halted", blocked_operations={"start": RESCUE_BLOCK_REASON})
    records["VBD"]["OpaqueRef:rvbd0"] = {"VM": "OpaqueRef:r", "VDI": "OpaqueRef:own", "userdevice": "0", "type": "Disk"}
    records["VBD"]["OpaqueRef:rvbd1"] = {
        "VM": "OpaqueRef:r",
        "VDI": "OpaqueRef:root",
        "userdevice": "1",
        "type": "Disk",
    }
    records["VDI"]["OpaqueRef:root"]["VBDs"] = ["OpaqueRef:vbd0", "OpaqueRef:rvbd1"]
    records["VDI"]["OpaqueRef:own"] = {
        "uuid": "77777777-7777-7777-7777-777777777777",
        "SR": "OpaqueRef:sr",
        "VBDs": ["OpaqueRef:rvbd0"],
    }
    return records


def test_unrescue_plan_and_apply_keeps_the_original_disk() -> None:
    records = rescued_pool()
    plan, conn = planner(records, params("unrescued"))
    cs = plan.plan()
    assert [op.name for op in cs.operations] == ["destroy_rescue_vm", "unblock_start", "start"]
    assert cs.after == {"power_state": "running", "start_blocked": None, "rescue_vm": None}
    cs.apply()
    calls = [c for c in conn.calls if c[0] not in ("task.get_record", "task.destroy", "event.from")]
    assert calls[:4] == [
        ("Async.VM.hard_shutdown", "OpaqueRef:r"),
        ("VBD.destroy", "OpaqueRef:rvbd1"),
        ("VM.destroy", "OpaqueRef:r"),
        ("VDI.destroy", "OpaqueRef:own"),
    ]
    assert ("VDI.destroy", "OpaqueRef:root") not in conn.calls
    assert calls[4] == ("VM.remove_from_blocked_operations", "OpaqueRef:web", "start")
    assert calls[5][0] == "Async.VM.start"


def test_unrescue_without_rescue_vm_is_no_change() -> None:
    plan, _unused = planner(pool(), params("unrescued"))
    assert not plan.plan().changed


def test_unrescue_keeps_a_foreign_start_block() -> None:
    records = rescued_pool()
    records["VM"]["OpaqueRef:web"]["blocked_operations"] = {"start": "virtops.compute: bootable=false"}
    plan, _unused = planner(records, params("unrescued"))
    cs = plan.plan()
    assert [op.name for op in cs.operations] == ["destroy_rescue_vm"]
    assert cs.after["power_state"] == "halted"


def test_destroy_rescue_vm_is_safe_to_repeat() -> None:
    conn = FakeConn({"VM": {}})
    destroy_rescue_vm(XenAPIBackend(conn), "OpaqueRef:gone", set())
    assert conn.methods() == ["event.from"]
    assert rescue_vms_of(PoolSnapshot(rescued_pool()), UUID)[0][0] == "OpaqueRef:r"
