# -*- coding: utf-8 -*-
# Copyright: virtops.compute contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The flow of ``vmware_vm_power``: read once, plan a change set, predict or apply, read again.

Target power states (running, halted, suspended) come from ``backend.transition_steps`` and are
idempotent; ``restarted`` and ``reset`` always act. ``rescued``/``unrescued`` follow nova's
vmwareapi ``rescue``/``unrescue``: power the VM off, build ``<name>-rescue`` (a clone of
``rescue_template``, or a new VM booting ``rescue_image``), attach the VM's root disk to it as an
extra, non-boot disk, power it on — and on the way back detach that disk (never deleting it),
destroy the rescue VM and power the VM on. Both VMs carry a mark in ``extraConfig``
(``virtops.rescue_of`` on the rescue VM, ``virtops.rescued_by`` on the VM) so that the state is
found again with a constant number of calls.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from ansible_collections.virtops.compute.plugins.module_utils._common.changeset import ChangeSet
from ansible_collections.virtops.compute.plugins.module_utils._common.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    VirtopsError,
)
from ansible_collections.virtops.compute.plugins.module_utils._common.net import parse_wait_for_ip, usable_ips
from ansible_collections.virtops.compute.plugins.module_utils._common.undo import UndoStack
from ansible_collections.virtops.compute.plugins.module_utils._common.waiter import format_seconds

from .backend import POWER_STATES
from .client import vim
from .facts import SCSI_TYPES, cls_name, datastore_of_file, devices, extra_config, power_state, vm_facts
from .lookup import UUID_RE, Inventory, find_vm
from .vm_undo import restore_power

RESCUE_OF_KEY = "virtops.rescue_of"  # on the rescue VM: the rescued VM's instance UUID
RESCUED_BY_KEY = "virtops.rescued_by"  # on the rescued VM: the rescue VM's instance UUID
RESCUE_SUFFIX = "-rescue"
MOID_RE = re.compile(r"^vm-\d+$")
TEMPLATE_PROPS = ["name", "config.template", "config.instanceUuid", "config.hardware", "config.extraConfig"]
RESCUE_PROPS = ["name", "runtime.powerState", "config.instanceUuid", "config.hardware", "config.extraConfig"]
STEP_TEXT = {
    "power_on": "power on the VM",
    "suspend": "suspend the VM",
    "hard_power_off": "power off the VM (hard)",
}


# ---------------------------------------------------------------------- pure helpers
def disks(props: dict[str, Any]) -> list[Any]:
    return [d for d in devices(props) if cls_name(d) == "VirtualDisk"]


def disk_file(dev: Any) -> str | None:
    return getattr(getattr(dev, "backing", None), "fileName", None) or None


def root_disk(props: dict[str, Any]) -> Any | None:
    """The VM's first disk (the device list's order), whose backing file the rescue VM gets."""
    return next((d for d in disks(props) if disk_file(d)), None)


def free_scsi_slot(props: dict[str, Any]) -> tuple[int, int]:
    """``(controller key, unit number)`` of the first free slot on the VM's first SCSI controller."""
    devs = devices(props)
    ctrls = sorted((d for d in devs if cls_name(d) in SCSI_TYPES), key=lambda d: (d.busNumber, d.key))
    for ctrl in ctrls:
        used = {d.unitNumber for d in devs if getattr(d, "controllerKey", None) == ctrl.key}
        used.add(getattr(ctrl, "scsiCtlrUnitNumber", None) or 7)
        free = [u for u in range(16) if u not in used]
        if free:
            return ctrl.key, free[0]
    raise Conflict(
        "the rescue VM %r has no SCSI controller with a free slot for the rescued disk" % props.get("name"),
        code="NO_FREE_SCSI_SLOT",
    )


def mark(props: dict[str, Any], key: str) -> str | None:
    """An extraConfig mark; an empty value is no mark (that is how a mark is removed)."""
    return extra_config(props).get(key) or None


def power_view(props: dict[str, Any], rescue: dict[str, Any] | None) -> dict[str, Any]:
    """What ``--diff`` shows: the VM's power state and its rescue VM (name and power state)."""
    return {
        "power_state": power_state(props),
        "rescue_vm": ({"name": rescue.get("name"), "power_state": power_state(rescue)} if rescue else None),
    }


def predict_vm(vm: dict[str, Any], state: str, marks: dict[str, str] | None = None) -> dict[str, Any]:
    out = copy.deepcopy(vm)
    out["power_state"] = state
    if state != "running":
        out.update({"ip": None, "ipv4": [], "ipv6": []})
        for nic in out.get("networks", []):
            nic.update({"ipv4": [], "ipv6": []})
    for key, value in (marks or {}).items():
        if value:
            out.setdefault("extra_config", {})[key] = value
        else:
            out.setdefault("extra_config", {}).pop(key, None)
    return out


def _bind(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Callable[[], Any]:
    return lambda: func(*args, **kwargs)


def option(key: str, value: str) -> Any:
    return vim.option.OptionValue(key=key, value=value)


# ---------------------------------------------------------------------- vSphere steps
def destroy_rescue_vm(backend: Any, rescue: Any, keep_files: set[str], timeout: float) -> None:
    """Hard power off, DETACH the rescued VM's disks (a remove with no ``fileOperation``), destroy.

    ``Destroy_Task`` deletes every disk still attached, so the detach must come first. Used by
    ``unrescued`` and as the undo of a failed rescue; a rescue VM that is already gone is fine.
    """
    client = backend.client
    try:
        props = client.properties(rescue, ["runtime.powerState", "config.hardware"])
    except NotFound:
        return
    if power_state(props) != "halted":
        backend.power_off(rescue, timeout, 0, power_state(props), force=True)
    detach = [d for d in disks(props) if disk_file(d) in keep_files]
    if detach:
        changes = [vim.vm.device.VirtualDeviceSpec(operation="remove", device=d) for d in detach]
        backend.reconfigure(rescue, vim.vm.ConfigSpec(deviceChange=changes), timeout)
    client.run_task(rescue.Destroy_Task, timeout=timeout, what="destroy the rescue VM")


def set_mark(backend: Any, vm: Any, key: str, value: str, timeout: float) -> None:
    backend.reconfigure(vm, vim.vm.ConfigSpec(extraConfig=[option(key, value)]), timeout)


# ---------------------------------------------------------------------- planner
class PowerPlanner:
    """Reads the VM (and its rescue VM) and plans one :class:`ChangeSet` for ``params['state']``."""

    def __init__(
        self, backend: Any, vm: Any, props: dict[str, Any], params: dict[str, Any], inv: Inventory | None = None
    ) -> None:
        self.b, self.vm, self.props, self.p, self.inv = backend, vm, props, params, inv
        self.facts = vm_facts(props, inv, vm._moId)
        self.name = str(props.get("name"))
        self.uuid = str(props.get("config.instanceUuid"))
        self.task_timeout = float(params.get("task_timeout") or 300)
        timeout = params.get("timeout")
        self.shutdown_timeout = float(timeout if timeout is not None else 120)
        self.rescue: Any = None
        self.rescue_props: dict[str, Any] = {}
        self.predicted = self.facts
        self.rescue_predicted: dict[str, Any] | None = None
        self.result_extra: dict[str, Any] = {}
        self._find_rescue()

    @property
    def current(self) -> str:
        return str(power_state(self.props))

    def _find_rescue(self) -> None:
        by = mark(self.props, RESCUED_BY_KEY)
        if not by:
            return
        rescue = find_vm(self.b.client, uuid=by, uuid_type="instance")
        if rescue is None:
            return  # a stale mark: unrescued clears it, rescued replaces it
        props = self.b.client.properties(rescue, RESCUE_PROPS)
        if mark(props, RESCUE_OF_KEY) != self.uuid:
            raise Conflict(
                "VM %r is marked as rescued by %r, which is not marked as its rescue VM (%s=%r)"
                % (self.name, props.get("name"), RESCUE_OF_KEY, mark(props, RESCUE_OF_KEY)),
                code="RESCUE_MARK_MISMATCH",
            )
        self.rescue, self.rescue_props = rescue, props

    def plan(self) -> ChangeSet:
        cs = ChangeSet(power_view(self.props, self.rescue_props or None))
        state = self.p["state"]
        if state in POWER_STATES:
            self._plan_target(cs, state)
        elif state in ("restarted", "reset"):
            self._plan_restart(cs, state)
        elif state == "rescued":
            self._plan_rescue(cs)
        else:
            self._plan_unrescue(cs)
        return cs

    # target states -------------------------------------------------------
    def _halt_text(self) -> str:
        if self.p["force"] or self.current != "running":
            return "power off the VM (hard)"
        return "shut down the guest (hard power off after %ss)" % format_seconds(self.shutdown_timeout)

    def _plan_target(self, cs: ChangeSet, target: str) -> None:
        steps = self.b.transition_steps(self.current, target)
        if not steps:
            return
        if self.rescue is not None and target != "halted":
            raise Conflict(
                "VM %r is rescued by %r; use state=unrescued before powering it on"
                % (self.name, self.rescue_props["name"]),
                code="VM_RESCUED",
            )
        for step in steps:
            if step in ("power_off", "hard_power_off"):
                cs.add("power_off", self._halt_text(), self._halt)
            else:
                cs.add(
                    step,
                    STEP_TEXT[step],
                    _bind(self.b.run_step, self.vm, step, self.task_timeout, self.shutdown_timeout),
                )
        cs.update_after(["power_state"], target)
        self.predicted = predict_vm(self.facts, target)

    def _halt(self) -> None:
        self.result_extra["halt_method"] = self.b.power_off(
            self.vm, self.task_timeout, self.shutdown_timeout, self.current, force=self.p["force"]
        )

    def _plan_restart(self, cs: ChangeSet, state: str) -> None:
        if self.current != "running":
            raise Conflict(
                "cannot %s VM %r: it is %s, and state=%s needs a running VM (use state=running to "
                "start it)" % ("restart" if state == "restarted" else "reset", self.name, self.current, state),
                code="VM_BAD_POWER_STATE",
            )
        hard = state == "reset" or self.p["force"]

        def restart() -> None:
            used = self.b.reboot(self.vm, "hard" if hard else "soft", self.task_timeout)
            self.result_extra["restart_method"] = "guest" if used == "soft" else "reset"

        cs.add(
            "restart",
            "reset the VM" if hard else "reboot the guest (RebootGuest; ResetVM_Task where the guest or server cannot)",
            restart,
        )
        cs.update_after(["restarted"], "reset" if hard else "guest")

    # rescue --------------------------------------------------------------
    def _plan_rescue(self, cs: ChangeSet) -> None:
        p = self.p
        if mark(self.props, RESCUE_OF_KEY):
            raise InvalidInput("name", "VM %r is itself a rescue VM" % self.name)
        after_rescue: dict[str, Any]
        if self.rescue is not None:  # already rescued: only put the power states right
            if self.current != "halted":
                cs.add("power_off", self._halt_text(), self._halt)
            if power_state(self.rescue_props) != "running":
                cs.add(
                    "power_on_rescue_vm",
                    "power on the rescue VM %r" % self.rescue_props["name"],
                    _bind(self.b.power_on, self.rescue, self.task_timeout),
                )
            after_rescue = {"name": self.rescue_props["name"], "power_state": "running"}
            self.rescue_predicted = predict_vm(vm_facts(self.rescue_props, self.inv, self.rescue._moId), "running")
        else:
            root = root_disk(self.props)
            if root is None:
                raise Conflict("VM %r has no disk to rescue" % self.name, code="VM_NO_ROOT_DISK")
            source = None
            if p.get("rescue_template"):
                source = self._resolve_template(p["rescue_template"])
            name = self.name + RESCUE_SUFFIX
            self._check_name_free(name)
            self._rescue_args = {"root": root, "source": source, "name": name, "image": p.get("rescue_image")}
            if self.current != "halted":
                cs.add("power_off", self._halt_text())
            how = ("clone %r" % source[1].get("name")) if source else ("create a VM booting %r" % p["rescue_image"])
            cs.add(
                "create_rescue_vm",
                "%s as %r, marked %s=%s" % (how, name, RESCUE_OF_KEY, self.uuid),
                params={"name": name},
            )
            cs.add(
                "attach_root_disk",
                "attach the VM's root disk %s to the rescue VM (not a boot disk)" % disk_file(root),
                params={"file": disk_file(root)},
            )
            cs.add("mark_vm", "mark the VM %s=<the rescue VM's instance uuid>" % RESCUED_BY_KEY)
            cs.add("power_on_rescue_vm", "power on the rescue VM")
            after_rescue = {"name": name, "power_state": "running"}
            self.rescue_predicted = {
                "name": name,
                "moid": None,
                "instance_uuid": None,
                "power_state": "running",
                "extra_config": {RESCUE_OF_KEY: self.uuid},
                "disks": [{"file": disk_file(root), "key": None}],
            }
        cs.set_after({"power_state": "halted", "rescue_vm": after_rescue})
        self.predicted = predict_vm(
            self.facts, "halted", {RESCUED_BY_KEY: mark(self.props, RESCUED_BY_KEY) or "(new rescue VM)"}
        )

    def _check_name_free(self, name: str) -> None:
        """A VM already called ``<name>-rescue`` next to the VM (not ours: ours is found by its mark) is a conflict."""
        if self.inv is None:
            return  # looked up by uuid/moid: vSphere's DuplicateName fault (rolled back) is the check
        folder = self.inv.get(self.props.get("parent"))
        taken = self.inv.vms_named(name, folder)
        if taken:
            raise Conflict(
                "a VM named %r already exists in %s (%s) and is not %r's rescue VM; rename or remove it"
                % (
                    name,
                    self.inv.path(folder) if folder else "the VM's folder",
                    ", ".join(e.moid for e in taken),
                    self.name,
                ),
                code="RESCUE_NAME_TAKEN",
            )

    def _resolve_template(self, ident: str) -> tuple[Any, dict[str, Any]]:
        client = self.b.client
        ident = ident.strip()
        if UUID_RE.match(ident):
            found = find_vm(client, uuid=ident)
        elif MOID_RE.match(ident):
            found = client.ref("VirtualMachine", ident)
        else:
            if self.inv is None:
                self.inv = Inventory.load(client)
            matches = [e for e in self.inv.of("vm") if e.name == ident or self.inv.path(e) == ident.rstrip("/")]
            if len(matches) > 1:
                raise InvalidInput(
                    "rescue_template",
                    "%d VMs or templates are named %r (%s); use its uuid or moid"
                    % (len(matches), ident, ", ".join(sorted(e.moid for e in matches))),
                )
            found = matches[0].obj if matches else None
        if found is None or found._moId == self.vm._moId:
            raise InvalidInput("rescue_template", "no VM or template named or with uuid/moid %r" % ident)
        try:
            return found, client.properties(found, TEMPLATE_PROPS)
        except NotFound:
            raise InvalidInput("rescue_template", "no VM or template with moid %r" % ident) from None

    def apply_rescue(self, undo: UndoStack) -> None:
        """Run the rescue under ``undo``: each step registers its reverse, a failure rolls back."""
        b, a, t = self.b, self._rescue_args, self.task_timeout
        was = self.current
        if was != "halted":
            with _step(undo, "power_off"):
                self._halt()
            if was == "running":
                undo.push("power the VM on again", _bind(b.power_on, self.vm, t))
        keep = {f for f in (disk_file(d) for d in disks(self.props)) if f}
        with _step(undo, "create_rescue_vm"):
            rescue = self._create_rescue_vm(a)
            undo.push("destroy the rescue VM", _bind(destroy_rescue_vm, b, rescue, keep, t))
        with _step(undo, "attach_root_disk"):
            rprops = b.client.properties(rescue, RESCUE_PROPS)
            b.reconfigure(rescue, self._attach_spec(rprops, a), t)
        with _step(undo, "mark_vm"):
            set_mark(b, self.vm, RESCUED_BY_KEY, str(rprops.get("config.instanceUuid")), t)
            undo.push("remove the rescue mark", _bind(set_mark, b, self.vm, RESCUED_BY_KEY, "", t))
        with _step(undo, "power_on_rescue_vm"):
            b.power_on(rescue, t)
        self.rescue = rescue

    def _create_rescue_vm(self, a: dict[str, Any]) -> Any:
        b, t = self.b, self.task_timeout
        folder = self.props.get("parent")
        pool = self.props.get("resourcePool")
        note = "rescue VM of %s (%s), made by virtops.compute.vmware_vm_power" % (self.name, self.uuid)
        marks = [option(RESCUE_OF_KEY, self.uuid)]
        if a["source"] is not None:
            spec = vim.vm.CloneSpec(
                location=vim.vm.RelocateSpec(pool=pool),
                powerOn=False,
                template=False,
                config=vim.vm.ConfigSpec(annotation=note, extraConfig=marks),
            )
            return b.clone(a["source"][0], folder, a["name"], spec, t)
        hw = self.props.get("config.hardware")
        ds = datastore_of_file(self.props.get("config.files.vmPathName")) or ""
        scsi = vim.vm.device.ParaVirtualSCSIController(key=-100, busNumber=0, sharedBus="noSharing")
        config = vim.vm.ConfigSpec(
            name=a["name"],
            guestId=self.props.get("config.guestId") or "otherGuest64",
            numCPUs=getattr(hw, "numCPU", 1) or 1,
            memoryMB=getattr(hw, "memoryMB", 1024) or 1024,
            annotation=note,
            extraConfig=marks,
            files=vim.vm.FileInfo(vmPathName="[%s]" % ds),
            deviceChange=[vim.vm.device.VirtualDeviceSpec(operation="add", device=scsi)],
        )
        return b.create(folder, config, pool, None, t)

    def _attach_spec(self, rprops: dict[str, Any], a: dict[str, Any]) -> Any:
        root = a["root"]
        own = disks(rprops)
        ctrl, unit = free_scsi_slot(rprops)
        disk = vim.vm.device.VirtualDisk(
            key=-200,
            controllerKey=ctrl,
            unitNumber=unit,
            capacityInKB=root.capacityInKB,
            backing=vim.vm.device.VirtualDisk.FlatVer2BackingInfo(fileName=disk_file(root), diskMode="persistent"),
        )
        changes = [vim.vm.device.VirtualDeviceSpec(operation="add", device=disk)]  # no fileOperation: existing file
        boot: list[Any] = []
        if a["image"]:
            cdroms = [d for d in devices(rprops) if cls_name(d) == "VirtualCdrom"]
            backing = vim.vm.device.VirtualCdrom.IsoBackingInfo(fileName=a["image"])
            connect = vim.vm.device.VirtualDevice.ConnectInfo(
                startConnected=True, connected=True, allowGuestControl=True
            )
            if cdroms:
                cd = cdroms[0]
                cd.backing, cd.connectable = backing, connect
                changes.append(vim.vm.device.VirtualDeviceSpec(operation="edit", device=cd))
            else:
                ide = next((d for d in devices(rprops) if cls_name(d) == "VirtualIDEController"), None)
                if ide is None:
                    raise Conflict(
                        "the rescue VM has no IDE controller for the rescue_image CD-ROM", code="NO_CDROM_CONTROLLER"
                    )
                cd = vim.vm.device.VirtualCdrom(
                    key=-201, controllerKey=ide.key, unitNumber=0, backing=backing, connectable=connect
                )
                changes.append(vim.vm.device.VirtualDeviceSpec(operation="add", device=cd))
            boot.append(vim.vm.BootOptions.BootableCdromDevice())
        if own:
            boot.append(vim.vm.BootOptions.BootableDiskDevice(deviceKey=own[0].key))
        spec = vim.vm.ConfigSpec(deviceChange=changes)
        if boot:  # the rescued disk must not be booted: the rescue system's own devices come first
            spec.bootOptions = vim.vm.BootOptions(bootOrder=boot)
        return spec

    # unrescue ------------------------------------------------------------
    def _plan_unrescue(self, cs: ChangeSet) -> None:
        t = self.task_timeout
        if self.rescue is None and not mark(self.props, RESCUED_BY_KEY):
            return
        if self.rescue is not None:
            keep = {f for f in (disk_file(d) for d in disks(self.props)) if f}
            cs.add(
                "destroy_rescue_vm",
                "power off rescue VM %r, detach (never delete) the VM's disk from it and "
                "destroy it" % self.rescue_props["name"],
                _bind(destroy_rescue_vm, self.b, self.rescue, keep, t),
                params={"name": self.rescue_props["name"]},
            )
        cs.add(
            "unmark_vm",
            "remove the VM's %s mark" % RESCUED_BY_KEY,
            _bind(set_mark, self.b, self.vm, RESCUED_BY_KEY, "", t),
        )
        state = self.current
        if state != "running":
            cs.add("power_on", "power on the VM", _bind(self.b.power_on, self.vm, t))
            state = "running"
        cs.set_after({"power_state": state, "rescue_vm": None})
        self.predicted = predict_vm(self.facts, state, {RESCUED_BY_KEY: ""})
        self.rescue_predicted = {}


@contextmanager
def _step(undo: UndoStack, name: str) -> Iterator[None]:
    """``undo.step`` whose name wins over a lower step's own label."""
    with undo.step(name):
        try:
            yield
        except VirtopsError as exc:
            exc.step = name
            raise


# ---------------------------------------------------------------------- flow
def find_target(backend: Any, params: dict[str, Any], name_key: str = "name") -> tuple[Any, Inventory | None]:
    """The VM by ``moid`` > ``uuid`` > name (``params[name_key]``); by name the inventory is loaded and kept."""
    inv = None
    name = params.get(name_key)
    if not params.get("uuid") and not params.get("moid"):
        inv = backend.inventory()
    try:
        vm = find_vm(
            backend.client,
            name=name,
            uuid=params.get("uuid"),
            moid_=params.get("moid"),
            folder=params.get("folder"),
            datacenter=params.get("datacenter"),
            inventory=inv,
        )
    except VirtopsError as exc:
        if exc.param == "name":
            exc.param = name_key
            exc.msg = exc.msg if exc.msg.startswith(name_key) else "%s: %s" % (name_key, exc.msg)
        raise
    if vm is None:
        if params.get("uuid"):
            raise NotFound("uuid: no VM with uuid %r" % params["uuid"], param="uuid")
        raise NotFound(
            "%s: no VM named %r%s"
            % (name_key, name, " in folder %r" % params["folder"] if params.get("folder") else ""),
            param=name_key,
        )
    return vm, inv


def wait_for_ip(backend: Any, vm: Any, wait: dict[str, Any], inv: Inventory | None, facts: dict[str, Any]) -> Any:
    """``wait_for_ip`` once the VM is running: wait for a matching guest address, then read the VM again."""
    family, cidr = wait.get("family") or "ipv4", wait.get("cidr")
    if facts.get("power_state") != "running":
        return None
    if not usable_ips(facts.get("ipv4", []) + facts.get("ipv6", []), family, cidr):
        backend.wait_for_ip(vm, family, cidr, wait.get("timeout") or 300)
    return backend.read_vm(vm)


def run_vmware_vm_power(module: Any) -> dict[str, Any]:
    p = module.params
    wait = parse_wait_for_ip(p.get("wait_for_ip"))  # bad input fails here, before the first call
    backend = module.backend
    vm, inv = find_target(backend, p)
    try:
        props = backend.read_vm(vm)
    except NotFound:
        raise NotFound("moid: no VM with moid %r" % p.get("moid"), param="moid") from None
    planner = PowerPlanner(backend, vm, props, p, inv)
    cs = planner.plan()
    state = p["state"]
    if module.check_mode or not cs.changed:
        result: dict[str, Any] = cs.result("vm", planner.predicted)
        if state in ("rescued", "unrescued"):
            result["rescue_vm"] = planner.rescue_predicted or {}
        if wait and not module.check_mode:
            props = wait_for_ip(backend, vm, wait, planner.inv, result["vm"])
            if props is not None:
                result["vm"] = vm_facts(props, planner.inv, vm._moId)
        return result

    with UndoStack() as undo:
        if state == "rescued" and planner.rescue is None:
            planner.apply_rescue(undo)
        else:
            if state in POWER_STATES:  # a transition of two steps is undone back to where it started
                original = planner.current
                for op in cs.operations:
                    op.reversible(
                        "restore power state %s" % original,
                        _bind(restore_power, backend, vm, original, planner.task_timeout, planner.shutdown_timeout),
                    )
            cs.apply(undo)
    props = backend.read_vm(vm)
    if wait:
        props = wait_for_ip(backend, vm, wait, planner.inv, vm_facts(props, planner.inv, vm._moId)) or props
    result = dict(cs.result("vm", vm_facts(props, planner.inv, vm._moId)))
    rescue_props = None
    if state != "unrescued" and planner.rescue is not None:
        rescue_props = backend.read_vm(planner.rescue)
        if state == "rescued":
            result["rescue_vm"] = vm_facts(rescue_props, planner.inv, planner.rescue._moId)
    elif state == "unrescued":
        result["rescue_vm"] = {}
    result["diff"]["after"] = power_view(props, rescue_props)
    result.update(planner.result_extra)
    if "restart_method" in planner.result_extra:
        result["diff"]["after"]["restarted"] = planner.result_extra["restart_method"]
    if backend.notes:
        result["notes"] = list(backend.notes)
    return result
