# -*- coding: utf-8 -*-
# Copyright: virtops.compute contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""xen_vm: compare desired with current state and build the change set.

The comparison reads nothing from the API: it works on one :class:`PoolSnapshot`, so planning
costs no round trips, and check mode, ``changed`` and ``diff`` come from the same plan that a
real run applies.
"""

from __future__ import annotations

import copy
import xml.etree.ElementTree as ET
from collections.abc import Callable
from functools import partial
from typing import Any

from ansible_collections.virtops.compute.plugins.module_utils._common.changeset import ChangeSet
from ansible_collections.virtops.compute.plugins.module_utils._common.configdrive import user_data_diff, user_data_of
from ansible_collections.virtops.compute.plugins.module_utils._common.errors import (
    InvalidInput,
    NeedsHalt,
    NotFound,
    VirtopsError,
)
from ansible_collections.virtops.compute.plugins.module_utils._common.units import format_size

from .backend import BLANK_VM_RECORD
from .facts import BOOTABLE_BLOCK_REASON, vm_facts, with_power_state
from .lookup import NULL_REF, PoolSnapshot, Record, match_records, pick_one, resolve
from .vm_spec import VMSpec
from .vm_undo import attach_inverses

MiB = 1024 * 1024
NEW = "(new)"
HOTPLUG_OPS = frozenset({"add_disk", "remove_disk", "add_nic", "replace_nic", "remove_nic"})


class Refs:
    """Where the current VM's devices live, so operations can address them."""

    def __init__(self, snap: PoolSnapshot | None = None, rec: Record | None = None) -> None:
        self.disks: dict[int, tuple[str, str]] = {}
        self.vifs: dict[int, str] = {}
        self.cds: dict[int, tuple[str, str]] = {}
        if snap is None or rec is None:
            return
        for vbd_ref in rec.get("VBDs", []):
            vbd = snap.get("VBD", vbd_ref) or {}
            try:
                dev = int(vbd.get("userdevice", -1))
            except ValueError:
                continue
            if vbd.get("type") == "CD":
                self.cds[dev] = (vbd_ref, vbd.get("VDI", NULL_REF))
            elif snap.get("VDI", vbd.get("VDI", NULL_REF)) is not None:
                self.disks[dev] = (vbd_ref, vbd["VDI"])
        for vif_ref in rec.get("VIFs", []):
            vif = snap.get("VIF", vif_ref) or {}
            try:
                self.vifs[int(vif.get("device", -1))] = vif_ref
            except ValueError:
                continue


class Resolved:
    """Names in the parameters turned into refs, before anything changes."""

    def __init__(self, spec: VMSpec, snap: PoolSnapshot) -> None:
        self.snap = snap
        srs = snap.of("SR")
        self.sr = resolve(srs, spec.sr, "SR", "sr")[0] if spec.sr else None
        self.disk_srs: dict[int, str] = {}
        for i, d in enumerate(spec.disks or []):
            if d.sr:
                self.disk_srs[d.userdevice] = resolve(srs, d.sr, "SR", "disks[%d].sr" % i)[0]
        self.networks: dict[int, str] = {}
        for i, n in enumerate(spec.networks or []):
            self.networks[n.device] = resolve(snap.of("network"), n.network, "network", "networks[%d].network" % i)[0]
        self.home_server = (
            resolve(snap.of("host"), spec.home_server, "host", "home_server")[0] if spec.home_server else None
        )
        self.iso: str | None = None
        if spec.cdrom and spec.cdrom.get("iso"):
            iso_vdis = {r: v for r, v in snap.of("VDI").items() if _on_iso_sr(snap, v)}
            self.iso = resolve(iso_vdis, spec.cdrom["iso"], "ISO", "cdrom.iso")[0]
        self.ci_sr = (
            resolve(srs, spec.cloud_init.sr, "SR", "cloud_init.sr")[0]
            if spec.cloud_init and spec.cloud_init.sr
            else None
        )
        self.template: tuple[str, Record] | None = None
        if spec.template:
            templates = {
                r: v for r, v in snap.of("VM").items() if v.get("is_a_template") and not v.get("is_control_domain")
            }
            found = pick_one(match_records(templates, spec.template), "template %r" % spec.template)
            if found is None:
                raise InvalidInput("template", "no template named or with uuid %r" % spec.template)
            self.template = found

    def name_of(self, klass: str, ref: str | None) -> str | None:
        rec = self.snap.get(klass, ref or NULL_REF)
        return rec.get("name_label") if rec else None

    def uuid_of(self, klass: str, ref: str | None) -> str | None:
        rec = self.snap.get(klass, ref or NULL_REF)
        return rec.get("uuid") if rec else None


def _on_iso_sr(snap: PoolSnapshot, vdi: Record) -> bool:
    sr = snap.get("SR", vdi.get("SR", NULL_REF)) or {}
    return sr.get("content_type") == "iso" or sr.get("type") == "iso"


def template_provision_disks(template: Record) -> list[dict[str, Any]]:
    """The ``<disk>`` elements of a template's ``other_config['disks']`` (what VM.provision makes)."""
    text = (template.get("other_config") or {}).get("disks")
    if not text:
        return []
    try:
        root = ET.fromstring(text)
    except ET.ParseError:
        return []
    out = []
    for disk in root.iter("disk"):
        out.append(
            {
                "userdevice": int(disk.get("device", "0")),
                "size": int(disk.get("size", "0")),
                "bootable": disk.get("bootable") == "true",
                "sr": disk.get("sr") or "",
                "type": disk.get("type") or "system",
            }
        )
    return out


def _sr_by_uuid(snap: PoolSnapshot, uuid: str) -> str | None:
    return next((ref for ref, r in snap.of("SR").items() if r.get("uuid") == uuid), None)


def provision_sr_uuids(snap: PoolSnapshot, template: Record, sr: str | None, param: str = "sr") -> list[str]:
    """The SR (uuid) each template disk will be provisioned on, in template order.

    xapi's ``VM.provision`` looks every ``<disk sr=...>`` up by uuid and fails with ``UUID_INVALID``
    on the ``sr=""`` that stock templates carry; like ``xe vm-install``, the chosen SR (``sr``) takes
    every disk, otherwise a disk keeps a valid SR of its own and the others go to the pool's default SR.
    """
    known = {str(r.get("uuid")): ref for ref, r in snap.of("SR").items()}
    chosen = snap.get("SR", sr) if sr else None
    default = snap.get("SR", snap.default_sr() or NULL_REF)
    out = []
    for d in template_provision_disks(template):
        if chosen is not None:
            out.append(str(chosen.get("uuid")))
        elif d["sr"] in known:
            out.append(d["sr"])
        elif default is not None:
            out.append(str(default.get("uuid")))
        else:
            raise InvalidInput(
                param,
                "template %r has disk %d without a usable SR (sr=%r) and the pool has no default SR%s"
                % (template.get("name_label"), d["userdevice"], d["sr"], "; give sr" if param == "sr" else ""),
            )
    return out


def provision_xml(template: Record, sr_uuids: list[str]) -> str:
    """The template's ``other_config['disks']`` with each disk's ``sr`` set to ``sr_uuids``."""
    root = ET.fromstring((template.get("other_config") or {})["disks"])
    for disk, uuid in zip(root.iter("disk"), sr_uuids, strict=True):
        disk.set("sr", uuid)
    return ET.tostring(root, encoding="unicode")


class VMPlanner:
    """Plans (and, through operation closures, applies) one VM's desired state."""

    def __init__(
        self,
        backend: Any,
        spec: VMSpec,
        snap: PoolSnapshot,
        config_drive: Callable[[str, str], tuple[bytes, str]] | None = None,
    ) -> None:
        self.backend = backend
        self.spec = spec
        self.snap = snap
        self.res = Resolved(spec, snap)
        self.config_drive = config_drive
        # cloud-init user data as lines, for --diff only (not part of the VM's facts)
        self.diff_notes: dict[str, Any] = {"before": {}, "after": {}}

    # ------------------------------------------------------------------ entry points
    def find(self) -> tuple[str, Record] | None:
        return self.snap.vm(self.spec.name, self.spec.uuid, templates=self.spec.is_template is not None)

    def plan(self) -> tuple[ChangeSet, str | None]:
        found = self.find()
        if self.spec.state == "absent":
            return self.plan_absent(found), found[0] if found else None
        if found is None:
            self.check_create_intent()
            return self.plan_create(), None
        ref, rec = found
        cs = ChangeSet(vm_facts(self.snap, ref, rec))
        self.plan_update(cs, ref, Refs(self.snap, rec))
        return cs, ref

    def check_create_intent(self) -> None:
        """An identity that matches nothing never creates by accident (issue 10): a uuid cannot be
        chosen, and a name alone (a typo?) does not make an empty VM without explicit intent."""
        s = self.spec
        if s.uuid:
            raise NotFound(
                "uuid: no VM with uuid %r; a uuid cannot be chosen, so it never creates a VM%s"
                % (s.uuid, ": omit uuid to create one named %r" % s.name if s.name else ""),
                param="uuid",
            )
        if not s.template and not s.from_scratch and not s.disks:
            raise InvalidInput(
                "template",
                "no VM named %r exists; to create it give template (a template's name or uuid, or 'none' for an "
                "empty VM from scratch) or a disks list" % s.name,
            )

    # ------------------------------------------------------------------ absent
    def plan_absent(self, found: tuple[str, Record] | None) -> ChangeSet:
        if found is None:
            return ChangeSet(None)
        ref, rec = found
        cs = ChangeSet(vm_facts(self.snap, ref, rec))
        b, s = self.backend, self.spec
        cs.add(
            "destroy",
            "halt the VM if needed and destroy it%s" % ("" if s.keep_disks else " with its own disks"),
            lambda: b.destroy(ref, rec, self.snap, s.timeout, s.shutdown_timeout, keep_disks=s.keep_disks),
            params={"keep_disks": s.keep_disks},
        )
        cs.set_after(None)
        return cs

    # ------------------------------------------------------------------ create
    def plan_create(self) -> ChangeSet:
        s = self.spec
        cs = ChangeSet(None)
        template = self.res.template
        virtual = self._virtual_facts(template[1] if template else None)
        if template:
            how = "copy" if self.res.sr else "clone"
            cs.add(
                "create",
                "%s template %r as %r%s"
                % (
                    how,
                    template[1].get("name_label"),
                    s.name,
                    " to SR %r" % self.res.name_of("SR", self.res.sr) if self.res.sr else "",
                ),
                params={"template": template[1].get("uuid"), "method": how},
            )
            if template_provision_disks(template[1]):
                uuids = provision_sr_uuids(self.snap, template[1], self.res.sr)
                names = sorted({str(self.res.name_of("SR", _sr_by_uuid(self.snap, u))) for u in uuids})
                cs.add(
                    "provision",
                    "provision the template's disks on SR %s" % ", ".join(repr(n) for n in names),
                    params={"sr_uuids": uuids},
                )
            elif template[1].get("is_a_template") and not s.is_template:
                cs.add("unmark_template", "make the clone an ordinary VM (the template has no disks to provision)")
        else:
            cs.add("create", "create VM %r from scratch" % s.name)
        # plan the configuration against the predicted new VM, without refs (never run)
        preview = ChangeSet(virtual)
        self.plan_update(preview, None, Refs(), creating=True)
        for op in preview.operations:
            cs.add(op.name, op.description, needs_halt=False, params=op.params)
        cs.set_after(preview.after)
        return cs  # applied by apply_create, which needs the undo stack

    def apply_create(self, undo: Any) -> str:
        """Create the VM under ``undo``; returns its ref. Every step registers how to reverse it."""
        b, s = self.backend, self.spec
        template = self.res.template
        with undo.step("create"):
            if template is None:
                ref = b.create_blank_vm(s.name, s.description or "")
            else:

                def adopt(late_ref: str) -> None:  # the clone/copy finished after its timeout
                    undo.push("destroy new VM", lambda: b.destroy_new_vm(late_ref))

                if self.res.sr:
                    ref = b.tasks.run(
                        "VM.copy",
                        template[0],
                        s.name,
                        self.res.sr,
                        timeout=s.timeout,
                        what="copy template",
                        on_late_success=adopt,
                    )
                else:
                    ref = b.tasks.run(
                        "VM.clone", template[0], s.name, timeout=s.timeout, what="clone template", on_late_success=adopt
                    )
            undo.push("destroy new VM", lambda: b.destroy_new_vm(ref))
        if template is not None and template_provision_disks(template[1]):
            with undo.step("provision"):  # provision also clears is_a_template
                uuids = provision_sr_uuids(self.snap, template[1], self.res.sr)
                xml = provision_xml(template[1], uuids)
                if xml != template[1]["other_config"]["disks"]:
                    # VM.provision needs real SR uuids in the clone's disks XML (stock templates say sr="")
                    b.conn.call("VM.remove_from_other_config", ref, "disks")
                    b.conn.call("VM.add_to_other_config", ref, "disks", xml)
                b.tasks.run("VM.provision", ref, timeout=s.timeout, what="provision")
        elif template is not None and template[1].get("is_a_template") and not s.is_template:
            with undo.step("unmark_template"):  # a clone of a template is a template until provisioned
                b.conn.call("VM.set_is_a_template", ref, False)
        snap = b.snapshot()
        rec = snap.get("VM", ref)
        if rec is None:
            raise NotFound("the new VM %s disappeared while it was being created" % ref)
        self.snap = snap
        self.res.snap = snap
        cs = ChangeSet(vm_facts(snap, ref, rec))
        self.plan_update(cs, ref, Refs(snap, rec), creating=True)
        for op in cs.operations:
            with undo.step(op.name):
                if op.run is not None:
                    op.run()
        return ref

    # ------------------------------------------------------------------ update
    def plan_update(self, cs: ChangeSet, ref: str | None, refs: Refs, creating: bool = False) -> None:
        s, b = self.spec, self.backend
        cur = cs.before if cs.before is not None else {}
        after = cs.after if cs.after is not None else {}
        power = cur.get("power_state", "halted")
        target = s.power_state or power
        halt_fields: list[tuple[str, Callable[[], Any], str]] = []  # (description, run, name)
        live: list[tuple[str, str, Callable[[], Any] | None, dict[str, Any]]] = []

        def vmcall(method: str, *args: Any) -> Callable[[], Any]:
            return lambda: b.conn.call(method, ref, *args)

        # --- fields that need a halted VM
        if s.vcpus is not None and s.vcpus != cur.get("vcpus"):
            halt_fields.append(
                ("set vcpus %s -> %s" % (cur.get("vcpus"), s.vcpus), lambda: b.set_vcpus(ref, s.vcpus), "set_vcpus")
            )
            after["vcpus"] = s.vcpus
            after["vcpus_max"] = s.vcpus
        want_platform = dict(cur.get("platform", {}))
        if s.platform:
            want_platform.update(s.platform)
        if s.cores_per_socket is not None:
            want_platform["cores-per-socket"] = str(s.cores_per_socket)
        if want_platform != cur.get("platform", {}):
            cores_changed = want_platform.get("cores-per-socket") != cur.get("platform", {}).get("cores-per-socket")
            desc = "set platform %s" % _changed_keys(cur.get("platform", {}), want_platform)
            if cores_changed:
                halt_fields.append((desc, vmcall("VM.set_platform", want_platform), "set_platform"))
            else:
                live.append(("set_platform", desc, vmcall("VM.set_platform", want_platform), {}))
            after["platform"] = want_platform
            after["cores_per_socket"] = int(want_platform.get("cores-per-socket", 1) or 1)
        if s.memory is not None and s.memory // MiB != cur.get("memory_mib"):
            halt_fields.append(
                (
                    "set memory %sMiB -> %s" % (cur.get("memory_mib"), format_size(s.memory)),
                    lambda: b.set_memory(ref, s.memory),
                    "set_memory",
                )
            )
            after["memory_mib"] = s.memory // MiB
        boot = dict(cur.get("boot", {}))
        if s.firmware and s.firmware != boot.get("firmware"):
            halt_fields.append(
                (
                    "set firmware %s -> %s" % (boot.get("firmware"), s.firmware),
                    lambda: b.set_boot(ref, firmware=s.firmware),
                    "set_firmware",
                )
            )
            after.setdefault("boot", {})["firmware"] = s.firmware
        if s.is_template is not None and s.is_template != cur.get("is_template"):
            halt_fields.append(
                (
                    "mark as %s" % ("template" if s.is_template else "VM"),
                    vmcall("VM.set_is_a_template", s.is_template),
                    "set_is_template",
                )
            )
            after["is_template"] = s.is_template

        # --- fields that can change in any power state
        if s.boot_order and s.boot_order != boot.get("order"):
            live.append(
                (
                    "set_boot_order",
                    "set boot order %r -> %r" % (boot.get("order"), s.boot_order),
                    lambda: b.set_boot(ref, order=s.boot_order),
                    {},
                )
            )
            after.setdefault("boot", {})["order"] = s.boot_order
        if s.uuid and s.name and not creating and s.name != cur.get("name"):
            # found by uuid, named differently: rename (documented under the uuid option)
            live.append(
                ("rename", "rename %r -> %r" % (cur.get("name"), s.name), vmcall("VM.set_name_label", s.name), {})
            )
            after["name"] = s.name
        if s.description is not None and s.description != cur.get("description"):
            live.append(("set_description", "set description", vmcall("VM.set_name_description", s.description), {}))
            after["description"] = s.description
        if s.home_server and self.res.name_of("host", self.res.home_server) != cur.get("home_server"):
            live.append(
                (
                    "set_home_server",
                    "set home server %r" % s.home_server,
                    vmcall("VM.set_affinity", self.res.home_server),
                    {},
                )
            )
            after["home_server"] = self.res.name_of("host", self.res.home_server)
        if s.tags is not None and s.tags != sorted(cur.get("tags", [])):
            live.append(("set_tags", "set tags %s" % s.tags, vmcall("VM.set_tags", s.tags), {}))
            after["tags"] = s.tags
        for key, method in (("other_config", "VM.set_other_config"), ("xenstore_data", "VM.set_xenstore_data")):
            wanted = getattr(s, key)
            if wanted:
                merged = dict(cur.get(key, {}))
                merged.update(wanted)
                if merged != cur.get(key, {}):
                    live.append(
                        (
                            "set_" + key,
                            "set %s %s" % (key, _changed_keys(cur.get(key, {}), merged)),
                            vmcall(method, merged),
                            {},
                        )
                    )
                    after[key] = merged
        if s.bootable is not None and s.bootable != cur.get("bootable", True):
            if s.bootable:
                run = vmcall("VM.remove_from_blocked_operations", "start")
            else:
                run = vmcall("VM.add_to_blocked_operations", "start", BOOTABLE_BLOCK_REASON)
            live.append(("set_bootable", "set bootable=%s" % s.bootable, run, {}))
            after["bootable"] = s.bootable

        # --- decide whether the VM will be halted while devices change
        halt_needed = [d for d, _r, _n in halt_fields]
        device_halt: list[str] = []
        cycling = False
        if halt_fields and power != "halted":
            if target == "halted" or s.allow_power_cycling:
                cycling = True
            else:
                raise NeedsHalt(halt_needed)
        live_devices = power == "running" and not cycling

        dev_ops = self._plan_devices(cur, after, ref, refs, live_devices, device_halt, creating)
        if device_halt and power != "halted" and not cycling:
            if target == "halted" or s.allow_power_cycling:
                # plan the devices again for a halted VM: no hot-plug, no online resize
                cycling = True
                dev_ops = self._plan_devices(cur, after, ref, refs, False, [], creating)
            else:
                raise NeedsHalt(halt_needed + device_halt)

        # --- order: [halt] halted-only fields, devices, live fields, power
        tmo, sdt = s.timeout, s.shutdown_timeout
        if cycling:
            cs.add(
                "shutdown",
                "shut the VM down (clean, then hard after %ss) to apply: %s"
                % (sdt, ", ".join(halt_needed + device_halt)),
                lambda: b.power_off(ref, tmo, sdt, power),
                needs_halt=True,
            )
        for desc, run, name in halt_fields:
            cs.add(name, desc, run, needs_halt=True)
        for name, desc, run, params in dev_ops + live:
            cs.add(name, desc, run, params=params)
        start_from = "halted" if cycling else power
        if creating and ref is None:
            start_from = "halted"
        steps = b.transition_steps(start_from, target)
        for step in steps:
            cs.add(
                "power_" + step, "power: %s" % step.replace("_", " "), (lambda st=step: b.run_step(ref, st, tmo, sdt))
            )
        if steps or cycling:
            with_power_state(after, target)
        cs.set_after(after)
        if ref is not None and not creating:
            attach_inverses(cs, b, ref, self.snap, tmo, sdt)

    # ------------------------------------------------------------------ devices
    def _plan_devices(
        self,
        cur: dict[str, Any],
        after: dict[str, Any],
        ref: str | None,
        refs: Refs,
        live: bool,
        device_halt: list[str],
        creating: bool,
    ) -> list[tuple[str, str, Any, dict[str, Any]]]:
        ops: list[tuple[str, str, Any, dict[str, Any]]] = []
        s, b, res = self.spec, self.backend, self.res
        dv = b.devices if b is not None else None

        # disks
        current_disks = {d["userdevice"]: d for d in cur.get("disks", [])}
        after_disks = {d["userdevice"]: copy.deepcopy(d) for d in cur.get("disks", [])}
        if s.disks is not None:
            for i, d in enumerate(s.disks):
                param = "disks[%d]" % i
                have = current_disks.get(d.userdevice)
                if have is not None:
                    vbd, vdi = refs.disks.get(d.userdevice, (NULL_REF, NULL_REF))
                    if d.size is not None and d.size < have["size"]:
                        raise InvalidInput(
                            param + ".size",
                            "shrinking disk %d from %s to %s is not supported"
                            % (d.userdevice, format_size(have["size"]), format_size(d.size)),
                        )
                    if d.sr and res.uuid_of("SR", res.disk_srs[d.userdevice]) != have.get("sr_uuid"):
                        raise InvalidInput(
                            param + ".sr",
                            "disk %d is on SR %r; moving an existing disk to another "
                            "SR is not supported" % (d.userdevice, have.get("sr")),
                        )
                    if d.size is not None and d.size > have["size"]:
                        online = live and have.get("attached", False)
                        desc = "grow disk %d %s -> %s" % (d.userdevice, format_size(have["size"]), format_size(d.size))
                        vdi_ops = (self.snap.get("VDI", vdi) or {}).get("allowed_operations", [])
                        if online and "resize_online" not in vdi_ops:
                            # xapi allows VDI.resize_online only where the SR's driver declares
                            # VDI_RESIZE_ONLINE (none of the stock LVM/EXT/NFS drivers does)
                            device_halt.append("%s (SR %r cannot resize a disk in use)" % (desc, have.get("sr")))
                        ops.append(
                            (
                                "resize_disk",
                                desc + (" (online)" if online else ""),
                                (lambda v=vdi, sz=d.size, o=online: dv.resize_vdi(v, sz, o)),
                                {"userdevice": d.userdevice},
                            )
                        )
                        after_disks[d.userdevice]["size"] = d.size
                    if d.name and d.name != have.get("name"):
                        ops.append(
                            (
                                "rename_disk",
                                "rename disk %d to %r" % (d.userdevice, d.name),
                                (lambda v=vdi, n=d.name: b.conn.call("VDI.set_name_label", v, n)),
                                {"userdevice": d.userdevice},
                            )
                        )
                        after_disks[d.userdevice]["name"] = d.name
                    if d.bootable is not None and d.bootable != have.get("bootable"):
                        ops.append(
                            (
                                "set_disk_bootable",
                                "set disk %d bootable=%s" % (d.userdevice, d.bootable),
                                (lambda v=vbd, bt=d.bootable: b.conn.call("VBD.set_bootable", v, bt)),
                                {"userdevice": d.userdevice},
                            )
                        )
                        after_disks[d.userdevice]["bootable"] = d.bootable
                    continue
                self._check_slot_free(refs, d.userdevice, param + ".userdevice", "the disk", cur)
                if d.size is None:
                    raise InvalidInput(param + ".size", "disk %d does not exist yet; give its size" % d.userdevice)
                sr_ref = res.disk_srs.get(d.userdevice) or res.sr or self._default_disk_sr(cur, refs)
                if sr_ref is None:
                    raise InvalidInput(param + ".sr", "no SR given and the pool has no default SR")
                name = d.name or "%s %d" % (s.name or cur.get("name") or "disk", d.userdevice)
                bootable = d.bootable if d.bootable is not None else (d.userdevice == 0 and not current_disks)
                ops.append(
                    (
                        "add_disk",
                        "add disk %d (%s on SR %r)%s"
                        % (
                            d.userdevice,
                            format_size(d.size),
                            res.name_of("SR", sr_ref),
                            ", hot-plugged" if live else "",
                        ),
                        (
                            lambda dd=d, sr=sr_ref, nm=name, bt=bootable: b.add_disk(
                                ref, sr, nm, dd.size, dd.userdevice, bt, live
                            )
                        ),
                        {"userdevice": d.userdevice},
                    )
                )
                after_disks[d.userdevice] = {
                    "userdevice": d.userdevice,
                    "name": name,
                    "size": d.size,
                    "sr": res.name_of("SR", sr_ref),
                    "sr_uuid": res.uuid_of("SR", sr_ref),
                    "vdi_uuid": NEW,
                    "type": "user",
                    "mode": "RW",
                    "bootable": bootable,
                    "attached": live,
                }
            if s.remove_unmanaged_disks:
                wanted = {d.userdevice for d in s.disks}
                for dev in sorted(set(current_disks) - wanted):
                    vbd, vdi = refs.disks.get(dev, (NULL_REF, NULL_REF))
                    attached = live and current_disks[dev].get("attached", False)
                    ops.append(
                        (
                            "remove_disk",
                            "remove unmanaged disk %d (%s)" % (dev, current_disks[dev]["name"]),
                            (lambda v=vbd, vd=vdi, a=attached: b.remove_disk(v, vd, a)),
                            {"userdevice": dev},
                        )
                    )
                    after_disks.pop(dev, None)
        after["disks"] = [after_disks[k] for k in sorted(after_disks)]

        # networks
        current_nics = {n["device"]: n for n in cur.get("networks", [])}
        after_nics = {n["device"]: copy.deepcopy(n) for n in cur.get("networks", [])}
        if s.networks is not None:
            for n in s.networks:
                net_ref = res.networks[n.device]
                net_name, net_uuid = res.name_of("network", net_ref), res.uuid_of("network", net_ref)
                have = current_nics.get(n.device)
                if have is not None:
                    reasons = []
                    if have.get("network_uuid") != net_uuid:
                        reasons.append("network %r -> %r" % (have.get("network"), net_name))
                    if n.mac and n.mac != have.get("mac"):
                        reasons.append("MAC %s -> %s" % (have.get("mac"), n.mac))
                    if n.mtu and n.mtu != have.get("mtu"):
                        reasons.append("MTU %s -> %s" % (have.get("mtu"), n.mtu))
                    if not reasons:
                        continue
                    vif = refs.vifs.get(n.device, NULL_REF)
                    mac = n.mac or have.get("mac")
                    was_attached = live and bool(have.get("attached"))
                    ops.append(
                        (
                            "replace_nic",
                            "replace NIC %d (%s)" % (n.device, ", ".join(reasons)),
                            (
                                lambda v=vif, nn=n, nr=net_ref, m=mac, a=was_attached: b.replace_nic(
                                    ref, v, nr, nn.device, m, nn.mtu, a, live
                                )
                            ),
                            {"device": n.device},
                        )
                    )
                    after_nics[n.device].update(
                        {
                            "network": net_name,
                            "network_uuid": net_uuid,
                            "mac": mac,
                            "mtu": n.mtu or have.get("mtu"),
                            "attached": live,
                        }
                    )
                    continue
                ops.append(
                    (
                        "add_nic",
                        "add NIC %d on %r%s" % (n.device, net_name, ", hot-plugged" if live else ""),
                        (lambda nn=n, nr=net_ref: b.add_nic(ref, nr, nn.device, nn.mac, nn.mtu, live)),
                        {"device": n.device},
                    )
                )
                after_nics[n.device] = {
                    "device": n.device,
                    "network": net_name,
                    "network_uuid": net_uuid,
                    "mac": n.mac or NEW,
                    "mtu": n.mtu or 1500,
                    "attached": live,
                    "ipv4": [],
                    "ipv6": [],
                }
            if s.remove_unmanaged_networks:
                wanted = {n.device for n in s.networks}
                for dev in sorted(set(current_nics) - wanted):
                    vif = refs.vifs.get(dev, NULL_REF)
                    was_attached = live and bool(current_nics[dev].get("attached"))
                    ops.append(
                        (
                            "remove_nic",
                            "remove unmanaged NIC %d" % dev,
                            (lambda v=vif, a=was_attached: b.remove_nic(v, a)),
                            {"device": dev},
                        )
                    )
                    after_nics.pop(dev, None)
        after["networks"] = [after_nics[k] for k in sorted(after_nics)]
        if live and not self._guest_can_hotplug(ref):
            # xapi refuses VBD/VIF plug and unplug on an HVM guest without PV drivers
            # (VM_MISSING_PV_DRIVERS): these device changes need the VM halted
            for name, desc, _run, _params in ops:
                if name in HOTPLUG_OPS:
                    device_halt.append("%s (the guest has no PV drivers, so no hot-plug)" % desc)

        # CD-ROM with an ISO (or empty)
        if s.cdrom is not None:
            dev = s.cdrom["userdevice"]
            want_iso = res.iso
            have_cd = cur.get("cdrom") if (cur.get("cdrom") or {}).get("userdevice") == dev else None
            cd_vbd = refs.cds.get(dev, (None, None))[0]
            if have_cd is None:
                self._check_slot_free(refs, dev, "cdrom.userdevice", "the CD drive", cur)
                if live:
                    device_halt.append("add a CD drive at userdevice %d" % dev)
                content = " with %r" % s.cdrom["iso"] if want_iso else " (empty)"
                ops.append(
                    (
                        "add_cdrom",
                        "add CD drive %d%s" % (dev, content),
                        (lambda: b.devices.create_vbd(ref, want_iso, dev, "CD", "RO", False, want_iso is None)),
                        {"userdevice": dev},
                    )
                )
            else:
                have_iso = None if have_cd.get("empty") else have_cd.get("vdi_uuid")
                if have_iso != res.uuid_of("VDI", want_iso):
                    run: Callable[[], Any]
                    if live:
                        run = partial(b.swap_cd, cd_vbd, want_iso, have_iso is not None)
                    else:
                        run = partial(b.replace_cd_vbd, ref, cd_vbd, want_iso, dev)
                    action = "insert %r in" % s.cdrom["iso"] if want_iso else "eject"
                    ops.append(("change_cdrom", "%s CD %d" % (action, dev), run, {"userdevice": dev}))
            after["cdrom"] = {
                "userdevice": dev,
                "iso": res.name_of("VDI", want_iso) if want_iso else None,
                "vdi_uuid": res.uuid_of("VDI", want_iso) if want_iso else None,
                "empty": want_iso is None,
                "attached": live or bool((have_cd or {}).get("attached")),
            }

        # config drive
        if s.cloud_init is not None and self.config_drive is not None:
            ci = s.cloud_init
            have_cfg = cur.get("config_drive")
            uuid = cur.get("uuid")
            if uuid and uuid != NEW:
                iso, digest = self.config_drive(uuid, s.name or cur.get("name") or "")
            else:
                iso, digest = b"", NEW
            if have_cfg is None or have_cfg.get("sha256") != digest or have_cfg.get("userdevice") != ci.userdevice:
                old = refs.cds.get(have_cfg["userdevice"]) if have_cfg else None
                if have_cfg is None or have_cfg.get("userdevice") != ci.userdevice:
                    self._check_slot_free(refs, ci.userdevice, "cloud_init.userdevice", "the config drive", cur)
                if have_cfg is None and live:
                    device_halt.append("add the config drive at userdevice %d" % ci.userdevice)
                sr_ref = res.ci_sr or res.sr or self._default_disk_sr(cur, refs)
                self.diff_notes = self._user_data_diff(old, ci.user_data)
                ops.append(
                    (
                        "config_drive",
                        "%s the config drive (%s, sha256 %s)"
                        % ("regenerate" if have_cfg else "attach", ci.fmt, digest[:12]),
                        (lambda o=old: b.attach_config_drive(ref, sr_ref, iso, digest, ci.userdevice, o, live)),
                        {},
                    )
                )
                after["config_drive"] = {
                    "userdevice": ci.userdevice,
                    "sha256": digest,
                    "vdi_uuid": NEW,
                    "attached": live,
                }
        return ops

    def _check_slot_free(self, refs: Refs, dev: int, param: str, what: str, cur: dict[str, Any]) -> None:
        """xapi refuses a second VBD at a taken userdevice (DEVICE_ALREADY_EXISTS) only when the step
        runs; check mode and the real run refuse it here, before any change."""
        taken = None
        if dev in refs.disks:
            taken = "disk %d" % dev
        elif dev in refs.cds:
            cfg = cur.get("config_drive") or {}
            taken = "its config drive" if cfg.get("userdevice") == dev else "its CD drive"
        if taken is not None:
            raise InvalidInput(
                param,
                "userdevice %d of VM %r is taken by %s; choose a free device number for %s"
                % (dev, cur.get("name"), taken, what),
            )

    def _user_data_diff(self, old: tuple[str, str] | None, new: str | None) -> dict[str, Any]:
        """The user data as lines for --diff; the current drive is read back (one HTTP GET) only on a change."""
        if old is None or old[1] == NULL_REF:
            return user_data_diff(None, new)
        try:
            return user_data_diff(user_data_of(self.backend.devices.export_raw(old[1])), new)
        except (VirtopsError, ValueError) as exc:
            return user_data_diff(None, new, read_error=str(exc))

    def _guest_can_hotplug(self, ref: str | None) -> bool:
        """xapi_vbd_helpers / xapi_vif_helpers: a running HVM guest hot-plugs only with PV drivers."""
        rec = self.snap.get("VM", ref or NULL_REF)
        if rec is None or str(rec.get("domain_type")) in ("pv", "pvh", "pv_in_pvh"):
            return True
        gm = self.snap.get("VM_guest_metrics", rec.get("guest_metrics", NULL_REF)) or {}
        version = gm.get("PV_drivers_version") or {}
        return bool(gm.get("PV_drivers_detected")) or ("major" in version and "minor" in version)

    def _default_disk_sr(self, cur: dict[str, Any], refs: Refs) -> str | None:
        for dev in sorted(refs.disks):
            vdi = self.snap.get("VDI", refs.disks[dev][1])
            if vdi:
                return str(vdi.get("SR"))
        return self.snap.default_sr()

    # ------------------------------------------------------------------ prediction
    def _virtual_facts(self, template: Record | None) -> dict[str, Any]:
        """What a new VM will look like right after clone/copy + provision (for check mode)."""
        s = self.spec
        if template is None:
            base = dict(BLANK_VM_RECORD, VBDs=[], VIFs=[], snapshots=[])
            facts = vm_facts(self.snap, "", base)
            # xapi_vm.ml create adds a random other_config:mac_seed
            facts["other_config"] = dict(facts["other_config"], mac_seed=NEW)
        else:
            rec = dict(template)
            rec["snapshots"] = []
            facts = vm_facts(self.snap, "", rec)
            # what VM.clone/copy and VM.provision do to other_config
            oc = dict(facts["other_config"])
            oc.pop("default_template", None)
            oc["mac_seed"] = NEW
            if not template.get("is_a_snapshot"):
                oc["base_template_name"] = template.get("name_label", "")
            if template_provision_disks(template):
                oc.pop("disks", None)
                oc.pop("postinstall", None)
            facts["other_config"] = oc
            if template_provision_disks(template):
                # as xapi_templates.ml create_disk makes them: VDI named after the userdevice
                uuids = provision_sr_uuids(self.snap, template, self.res.sr)
                for d, sr_uuid in zip(template_provision_disks(template), uuids, strict=True):
                    sr_ref = _sr_by_uuid(self.snap, sr_uuid)
                    facts["disks"].append(
                        {
                            "userdevice": d["userdevice"],
                            "name": str(d["userdevice"]),
                            "size": d["size"],
                            "sr": self.res.name_of("SR", sr_ref),
                            "sr_uuid": sr_uuid,
                            "vdi_uuid": NEW,
                            "type": d["type"],
                            "mode": "RW",
                            "bootable": d["bootable"],
                            "attached": False,
                        }
                    )
            for nic in facts["networks"]:
                nic["mac"] = NEW
        facts.update(
            {
                "uuid": NEW,
                "name": s.name,
                "power_state": "halted",
                "is_template": False,
                "host": None,
                "snapshots": [],
                "ip": "",
                "ipv4": [],
                "ipv6": [],
            }
        )
        if s.description is None and template is not None:
            facts["description"] = template.get("name_description", "")
        return facts


def _changed_keys(before: dict[str, Any], after: dict[str, Any]) -> str:
    keys = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    return "(%s)" % ", ".join(keys)
