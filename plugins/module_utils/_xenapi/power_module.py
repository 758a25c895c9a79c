# -*- coding: utf-8 -*-
# Copyright: virtops.compute contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The flow of ``xen_vm_power``: read once, plan a change set, predict or apply, read again.

Target power states (running, halted, paused, suspended) come from ``backend.transition_steps``
and are idempotent; ``restarted`` always acts; ``rescued``/``unrescued`` follow nova's xenapi
``rescue``/``unrescue``: halt the VM, hold a boot lock on it, boot a ``<name>-rescue`` VM with
the VM's root disk attached as a second, non-bootable disk, and undo all of that again.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ansible_collections.virtops.compute.plugins.module_utils._common.changeset import ChangeSet
from ansible_collections.virtops.compute.plugins.module_utils._common.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    VirtopsError,
)
from ansible_collections.virtops.compute.plugins.module_utils._common.undo import UndoStack

from .backend import POWER_STATES
from .devices import own_disk_vdis
from .facts import RESCUE_OF_KEY, power_state, vm_facts, with_power_state
from .lookup import NULL_REF, PoolSnapshot, Record, resolve, vm_kind_ok
from .vm_plan import NEW, provision_sr_uuids, provision_xml, template_provision_disks
from .vm_undo import restore_power

RESCUE_BLOCK_REASON = "virtops.compute: rescued"
RESCUE_SUFFIX = "-rescue"
RESCUE_DEVICE = 1  # nova's DEVICE_RESCUE: the rescued VM's root disk is the rescue VM's second disk
STEP_TEXT = {
    "start": "start the VM",
    "start_paused": "start the VM paused",
    "unpause": "unpause the VM",
    "resume": "resume the VM",
    "resume_paused": "resume the VM paused",
    "pause": "pause the VM",
    "suspend": "suspend the VM",
    "hard_shutdown": "hard shut down the VM",
}


# ---------------------------------------------------------------------- pure helpers
def rescue_vms_of(snap: PoolSnapshot, vm_uuid: str) -> list[tuple[str, Record]]:
    """The rescue VM(s) made for the VM with ``vm_uuid`` (marked in other_config)."""
    found = [(r, v) for r, v in snap.of("VM").items() if (v.get("other_config") or {}).get(RESCUE_OF_KEY) == vm_uuid]
    return sorted(found, key=lambda item: str(item[1].get("name_label", "")))


def root_vdi(snap: PoolSnapshot, rec: Record) -> str | None:
    """The VDI of the VM's disk at userdevice 0 (nova ``get_vdi_for_vm_safely(userdevice='0')``)."""
    for vbd_ref in rec.get("VBDs", []):
        vbd = snap.get("VBD", vbd_ref) or {}
        if str(vbd.get("userdevice")) == "0" and vbd.get("type") == "Disk" and snap.get("VDI", vbd.get("VDI", "")):
            return str(vbd["VDI"])
    return None


def attached_vdis(snap: PoolSnapshot, rec: Record) -> set[str]:
    out = set()
    for vbd_ref in rec.get("VBDs", []):
        vdi = (snap.get("VBD", vbd_ref) or {}).get("VDI", NULL_REF)
        if vdi and vdi != NULL_REF:
            out.add(str(vdi))
    return out


def rescue_device(snap: PoolSnapshot, source: Record) -> int:
    """Userdevice 1 unless the rescue VM's own disks already use it; then the next free one."""
    used = {str((snap.get("VBD", b) or {}).get("userdevice")) for b in source.get("VBDs", [])}
    if source.get("is_a_template"):
        used |= {str(d["userdevice"]) for d in template_provision_disks(source)}
    device = RESCUE_DEVICE
    while str(device) in used:
        device += 1
    return device


def start_block(rec: Record) -> str | None:
    return (rec.get("blocked_operations") or {}).get("start")


def power_view(rec: Record, rescue: list[tuple[str, Record]]) -> dict[str, Any]:
    """What ``--diff`` shows: the power state, the boot lock and the rescue VM."""
    return {
        "power_state": power_state(rec),
        "start_blocked": start_block(rec),
        "rescue_vm": str(rescue[0][1].get("name_label")) if rescue else None,
    }


def predict_vm(vm: dict[str, Any], state: str, blocked: bool | None = None) -> dict[str, Any]:
    """The VM's facts after a power change (check mode)."""
    out = with_power_state(copy.deepcopy(vm), state)
    if blocked is not None:
        out["bootable"] = not blocked
    return out


def destroy_rescue_vm(backend: Any, vm: str, keep: set[str]) -> None:
    """Hard shut down and destroy a rescue VM and its own disks; VBDs of ``keep`` VDIs go first.

    Used by ``unrescued`` and as the undo of a failed rescue; safe to run twice.
    """
    snap = PoolSnapshot.read(backend.conn, ("VM", "VBD", "VDI", "SR"))
    rec = snap.get("VM", vm)
    if rec is None:
        return
    if power_state(rec) != "halted":
        backend.tasks.run("VM.hard_shutdown", vm, timeout=120, what="hard shutdown of the rescue VM")
    for vbd_ref in rec.get("VBDs", []):
        if (snap.get("VBD", vbd_ref) or {}).get("VDI") in keep:
            backend.devices.destroy_vbd(vbd_ref)  # detach the rescued VM's disk; never destroy it
    vdis = [v for v in own_disk_vdis(snap, rec) if v not in keep]
    backend.conn.call("VM.destroy", vm)
    for vdi in vdis:
        backend.devices.destroy_vdi(vdi)


# ---------------------------------------------------------------------- planner
class PowerPlanner:
    def __init__(self, backend: Any, snap: PoolSnapshot, ref: str, rec: Record, params: dict[str, Any]) -> None:
        self.b, self.snap, self.ref, self.rec, self.p = backend, snap, ref, rec, params
        self.uuid = str(rec.get("uuid"))
        self.rescue = rescue_vms_of(snap, self.uuid)
        self.vm = vm_facts(snap, ref, rec)
        self.predicted = self.vm
        self.rescue_predicted: dict[str, Any] | None = None
        self.reboot_used: str | None = None
        self._rescue_args: dict[str, Any] = {}

    @property
    def current(self) -> str:
        return str(power_state(self.rec))

    def plan(self) -> ChangeSet:
        cs = ChangeSet(power_view(self.rec, self.rescue))
        state = self.p["state"]
        if state in POWER_STATES:
            self._plan_target(cs, state)
        elif state == "restarted":
            self._plan_restart(cs)
        elif state == "rescued":
            self._plan_rescue(cs)
        else:
            self._plan_unrescue(cs)
        return cs

    # target states -------------------------------------------------------
    def _plan_target(self, cs: ChangeSet, target: str) -> None:
        b, p, ref = self.b, self.p, self.ref
        steps = b.transition_steps(self.current, target)
        if not steps:
            return
        if self.rescue and target != "halted":
            raise Conflict(
                "VM %r is rescued by %r; use state=unrescued before powering it on"
                % (self.vm["name"], self.rescue[0][1].get("name_label")),
                code="VM_RESCUED",
            )
        for step in steps:
            if step == "shutdown":
                text = (
                    "hard shut down the VM"
                    if p["force"]
                    else ("shut down the VM cleanly (hard after %ss)" % p["shutdown_timeout"])
                )
            else:
                text = STEP_TEXT[step]
            cs.add(step, text, _bind(b.run_step, ref, step, p["timeout"], p["shutdown_timeout"], p["force"]))
        cs.update_after(["power_state"], target)
        self.predicted = predict_vm(self.vm, target)

    def _plan_restart(self, cs: ChangeSet) -> None:
        if self.current != "running":
            raise Conflict(
                "cannot restart VM %r: it is %s, and state=restarted needs a running VM (use "
                "state=running to start it)" % (self.vm["name"], self.current),
                code="VM_BAD_POWER_STATE",
            )
        kind = "hard" if self.p["force"] else self.p["reboot_type"]

        def reboot() -> None:
            self.reboot_used = self.b.reboot(self.ref, kind, self.p["timeout"])

        cs.add(
            "reboot",
            "hard reboot the VM" if kind == "hard" else "reboot the VM cleanly (hard after %ss)" % self.p["timeout"],
            reboot,
            params={"reboot_type": kind},
        )
        cs.update_after(["restarted"], kind)

    # rescue --------------------------------------------------------------
    def _plan_rescue(self, cs: ChangeSet) -> None:
        if self.rescue:
            self.rescue_predicted = vm_facts(self.snap, *self.rescue[0])
            return
        if RESCUE_OF_KEY in (self.rec.get("other_config") or {}):
            raise InvalidInput("name", "VM %r is itself a rescue VM" % self.vm["name"])
        vdi = root_vdi(self.snap, self.rec)
        if vdi is None:
            raise Conflict("VM %r has no disk at userdevice 0 to rescue" % self.vm["name"], code="VM_NO_ROOT_DISK")
        candidates = {
            r: v
            for r, v in self.snap.of("VM").items()
            if vm_kind_ok(v, templates=True, snapshots=True) and r != self.ref
        }
        tref, trec = resolve(candidates, self.p["rescue_template"], "VM or template", "rescue_template")
        name = "%s%s" % (self.vm["name"], RESCUE_SUFFIX)
        device = rescue_device(self.snap, trec)
        provision = bool(trec.get("is_a_template")) and bool(template_provision_disks(trec))
        self._rescue_args = {
            "template": tref,
            "trec": trec,
            "name": name,
            "vdi": vdi,
            "device": device,
            "provision": provision,
            # VM.provision needs real SR uuids in the disks XML (stock templates say sr="")
            "sr_uuids": provision_sr_uuids(self.snap, trec, None, "rescue_template") if provision else [],
        }
        if self.current != "halted":
            cs.add(
                "halt",
                "hard shut down the VM"
                if self.p["force"]
                else "shut down the VM cleanly (hard after %ss)" % self.p["shutdown_timeout"],
            )
        blocked = start_block(self.rec)
        if blocked is None:
            cs.add("block_start", "block the VM's start operation (%r)" % RESCUE_BLOCK_REASON)
        cs.add(
            "create_rescue_vm", "clone %r as %r" % (trec.get("name_label"), name), params={"template": trec.get("uuid")}
        )
        if provision:
            cs.add(
                "provision",
                "provision the rescue VM's own disks",
                params={"sr_uuids": self._rescue_args["sr_uuids"]},
            )
        root = next(d for d in self.vm["disks"] if d["userdevice"] == 0)
        cs.add(
            "attach_root_disk",
            "attach the VM's root disk (VDI %s) to the rescue VM as userdevice %d, "
            "not bootable" % (root["vdi_uuid"], device),
            params={"userdevice": device},
        )
        if self.vm["networks"]:
            cs.add("networks", "connect the rescue VM to the VM's networks")
        cs.add("start_rescue_vm", "start the rescue VM")
        cs.set_after({"power_state": "halted", "start_blocked": blocked or RESCUE_BLOCK_REASON, "rescue_vm": name})
        self.predicted = predict_vm(self.vm, "halted", blocked=True)
        disk = dict(root, userdevice=device, bootable=False, attached=True)
        self.rescue_predicted = {
            "uuid": NEW,
            "name": name,
            "power_state": "running",
            "is_template": False,
            "other_config": {RESCUE_OF_KEY: self.uuid},
            "disks": [disk],
        }

    def apply_rescue(self, undo: UndoStack) -> str:
        """Run the rescue under ``undo`` (each step registers its reverse); returns the rescue VM's ref."""
        b, p, ref, a = self.b, self.p, self.ref, self._rescue_args
        conn, was = b.conn, self.current
        if was != "halted":
            with _step(undo, "halt"):
                b.power_off(ref, p["timeout"], p["shutdown_timeout"], was, force=p["force"])
            if was == "running":
                undo.push("start the VM again", lambda: b.power_on(ref, p["timeout"]))
        if start_block(self.rec) is None:
            with _step(undo, "block_start"):
                conn.call("VM.add_to_blocked_operations", ref, "start", RESCUE_BLOCK_REASON)
            undo.push("unblock start", lambda: conn.call("VM.remove_from_blocked_operations", ref, "start"))
        with _step(undo, "create_rescue_vm"):
            keep = attached_vdis(self.snap, self.rec)
            new = b.tasks.run(
                "VM.clone",
                a["template"],
                a["name"],
                timeout=p["timeout"],
                what="clone rescue template",
                # a clone that finishes after the timeout is still ours to remove
                on_late_success=lambda late: undo.push(
                    "destroy the rescue VM", lambda: destroy_rescue_vm(b, late, keep)
                ),
            )
            undo.push("destroy the rescue VM", lambda: destroy_rescue_vm(b, new, keep))
        if a["provision"]:
            with _step(undo, "provision"):
                xml = provision_xml(a["trec"], a["sr_uuids"])
                if xml != a["trec"]["other_config"]["disks"]:
                    conn.call("VM.remove_from_other_config", new, "disks")
                    conn.call("VM.add_to_other_config", new, "disks", xml)
                b.tasks.run("VM.provision", new, timeout=p["timeout"], what="provision the rescue VM")
        with _step(undo, "create_rescue_vm"):
            if a["trec"].get("is_a_template"):
                conn.call("VM.set_is_a_template", new, False)
            if RESCUE_OF_KEY in (a["trec"].get("other_config") or {}):
                conn.call("VM.remove_from_other_config", new, RESCUE_OF_KEY)
            conn.call("VM.add_to_other_config", new, RESCUE_OF_KEY, self.uuid)
            conn.call("VM.set_name_description", new, "rescue VM of %s (%s)" % (self.vm["name"], self.uuid))
        with _step(undo, "attach_root_disk"):
            b.devices.create_vbd(new, a["vdi"], a["device"], bootable=False)
        used = {str((self.snap.get("VIF", x) or {}).get("device")) for x in a["trec"].get("VIFs", [])}
        with _step(undo, "networks"):
            for vif_ref in self.rec.get("VIFs", []):
                vif = self.snap.get("VIF", vif_ref) or {}
                if vif and str(vif.get("device")) not in used:
                    # nova's rescue spawns with the instance's network_info: same networks, same MACs
                    b.devices.create_vif(
                        new,
                        vif["network"],
                        int(vif.get("device", 0)),
                        vif.get("MAC") or None,
                        int(vif.get("MTU") or 1500),
                    )
        with _step(undo, "start_rescue_vm"):
            b.power_on(new, p["timeout"])
        return str(new)

    # unrescue ------------------------------------------------------------
    def _plan_unrescue(self, cs: ChangeSet) -> None:
        ours = start_block(self.rec) == RESCUE_BLOCK_REASON
        if not self.rescue and not ours:
            return
        keep = attached_vdis(self.snap, self.rec)
        for rref, rrec in self.rescue:
            cs.add(
                "destroy_rescue_vm",
                "hard shut down and destroy rescue VM %r with its own disks, detaching "
                "(not destroying) the VM's disk" % rrec.get("name_label"),
                _bind(destroy_rescue_vm, self.b, rref, keep),
                params={"uuid": rrec.get("uuid")},
            )
        blocked: str | None = start_block(self.rec)
        if ours:
            cs.add(
                "unblock_start",
                "unblock the VM's start operation",
                _bind(self.b.conn.call, "VM.remove_from_blocked_operations", self.ref, "start"),
            )
            blocked = None
        state = self.current
        if state == "halted" and blocked is None:
            cs.add("start", "start the VM", _bind(self.b.power_on, self.ref, self.p["timeout"]))
            state = "running"
        cs.set_after({"power_state": state, "start_blocked": blocked, "rescue_vm": None})
        self.predicted = predict_vm(self.vm, state, blocked=blocked is not None)
        self.rescue_predicted = {}


def _bind(func: Any, *args: Any) -> Any:
    return lambda: func(*args)


@contextmanager
def _step(undo: UndoStack, name: str) -> Iterator[None]:
    """``undo.step`` whose name wins over the task's own label (``start`` -> ``start_rescue_vm``)."""
    with undo.step(name):
        try:
            yield
        except VirtopsError as exc:
            exc.step = name
            raise


# ---------------------------------------------------------------------- flow
def run_xen_vm_power(module: Any) -> dict[str, Any]:
    p = module.params
    backend = module.backend
    snap = backend.snapshot()
    found = snap.vm(p.get("name"), p.get("uuid"))
    if found is None:
        raise NotFound("no VM with %s" % ("uuid %r" % p["uuid"] if p.get("uuid") else "name %r" % p["name"]))
    ref, rec = found
    planner = PowerPlanner(backend, snap, ref, rec, p)
    cs = planner.plan()
    state = p["state"]
    if module.check_mode or not cs.changed:
        result: dict[str, Any] = cs.result("vm", planner.predicted)
        if state in ("rescued", "unrescued"):
            result["rescue_vm"] = planner.rescue_predicted or {}
        return result

    rescue_ref = None
    with UndoStack() as undo:
        if state == "rescued":
            rescue_ref = planner.apply_rescue(undo)
        else:
            if state in POWER_STATES:  # a transition of two steps is undone back to where it started
                original = planner.current
                for op in cs.operations:
                    op.reversible(
                        "restore power state %s" % original,
                        _bind(restore_power, backend, ref, original, p["timeout"], p["shutdown_timeout"]),
                    )
            cs.apply(undo)
    snap = backend.snapshot()
    rec = snap.get("VM", ref) or rec
    result = dict(cs.result("vm", vm_facts(snap, ref, rec)))
    result["diff"]["after"] = power_view(rec, rescue_vms_of(snap, str(rec.get("uuid"))))
    if state == "restarted":
        result["diff"]["after"]["restarted"] = planner.reboot_used
        result["reboot_type"] = planner.reboot_used
    if state == "rescued":
        rrec = snap.get("VM", rescue_ref or "")
        result["rescue_vm"] = vm_facts(snap, str(rescue_ref), rrec) if rrec else {}
    elif state == "unrescued":
        result["rescue_vm"] = {}
    return result
