# -*- coding: utf-8 -*-
# Copyright: virtops.compute contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""vmware_vm: compare desired with current state and build the change set.

Planning reads nothing from vSphere: it works on the VM's property dict and the
:class:`~.lookup.Inventory` read before. All configuration changes of one run go into ONE
``ReconfigVM_Task`` (a ``vim.vm.ConfigSpec`` built here); the change set lists them per aspect
so ``changes``/``diff``/check mode describe exactly what the reconfigure does.
"""

from __future__ import annotations

import copy
from typing import Any

from ansible_collections.virtops.compute.plugins.module_utils._common.changeset import ChangeSet
from ansible_collections.virtops.compute.plugins.module_utils._common.errors import InvalidInput, NeedsHalt
from ansible_collections.virtops.compute.plugins.module_utils._common.units import format_size

from .backend import transition_steps
from .client import vim
from .facts import SCSI_TYPES, cls_name, controllers, devices, vm_facts
from .lookup import Entity, Inventory
from .vm_spec import DS_PATH_RE, VMSpec
from .vm_undo import attach_inverses

NEW = "(new)"
NIC_CLASSES = {"vmxnet3": "VirtualVmxnet3", "e1000e": "VirtualE1000e", "e1000": "VirtualE1000"}


class Resolved:
    """Names in the parameters resolved against the inventory, before anything changes."""

    def __init__(self, spec: VMSpec, inv: Inventory, creating: bool) -> None:
        self.inv = inv
        self.dc: Entity | None = inv.resolve("datacenter", spec.datacenter, "datacenter") if spec.datacenter else None
        within = self.dc
        self.datastore = inv.resolve("datastore", spec.datastore, "datastore", within) if spec.datastore else None
        self.disk_ds: dict[int, Entity] = {}
        for i, d in enumerate(spec.disks or []):
            if d.datastore:
                self.disk_ds[i] = inv.resolve("datastore", d.datastore, "disks[%d].datastore" % i, within)
        self.portgroups: dict[int, Entity] = {}
        for n in spec.networks or []:
            self.portgroups[n.device] = inv.resolve("network", n.portgroup, n.param + ".portgroup", within)
        iso = (spec.cdrom or {}).get("iso")
        if iso:
            m = DS_PATH_RE.match(iso)
            ds_name = m.group(1) if m else ""
            if not [e for e in inv.of("datastore") if e.name == ds_name]:
                raise InvalidInput("cdrom.iso", "no datastore named %r (in %r)" % (ds_name, iso))
        self.template: Entity | None = None
        self.folder: Entity | None = None
        self.pool: Entity | None = None
        self.host: Entity | None = None
        if not creating:
            return
        if spec.template:
            vms = inv.of("vm")
            self.template = inv.resolve("vm", spec.template, "template", within, candidates=vms)
        if self.dc is None:
            dcs = inv.of("datacenter")
            if self.template is not None:
                self.dc = inv.datacenter_of(self.template)
            elif len(dcs) == 1:
                self.dc = dcs[0]
            else:
                raise InvalidInput("datacenter", "there are %d datacenters; say which one" % len(dcs))
        self.folder = inv.resolve_folder(spec.folder, self.dc) if spec.folder else inv.get(self.dc.get("vmFolder"))
        if spec.host:
            self.host = inv.resolve("host", spec.host, "host", self.dc)
        if spec.resource_pool:
            self.pool = inv.resolve("resource_pool", spec.resource_pool, "resource_pool", self.dc)
        elif spec.cluster:
            cluster = inv.resolve("cluster", spec.cluster, "cluster", self.dc)
            self.pool = inv.get(cluster.get("resourcePool"))
        elif self.host is not None:
            self.pool = inv.get((inv.parent(self.host) or self.host).get("resourcePool"))
        if self.datastore is None and self.template is None:
            stores = [e for e in inv.of("datastore") if inv._below(e, self.dc)]
            if len(stores) != 1:
                raise InvalidInput(
                    "datastore", "give the datastore for the new VM (the datacenter has %d)" % len(stores)
                )
            self.datastore = stores[0]
        if self.pool is None and self.template is None:
            raise InvalidInput("cluster", "give cluster, host or resource_pool to place the new VM")


def _ds_of_path(path: str | None) -> str | None:
    m = DS_PATH_RE.match(path or "") if path else None
    return m.group(1) if m else (path[1:-1] if path and path.startswith("[") and path.endswith("]") else None)


class Reconfig:
    """The one ConfigSpec of a run, and what each part of it does."""

    def __init__(self) -> None:
        self.spec = vim.vm.ConfigSpec()
        self.device_changes: list[Any] = []
        self.extra: list[Any] = []
        self.items: list[tuple[str, str, bool, dict[str, Any]]] = []  # (name, description, needs_halt, params)
        self._key = -1

    def next_key(self) -> int:
        self._key -= 1
        return self._key

    def add(self, name: str, desc: str, halt: bool = False, **params: Any) -> None:
        self.items.append((name, desc, halt, params))

    def build(self) -> Any:
        if self.device_changes:
            self.spec.deviceChange = self.device_changes
        if self.extra:
            self.spec.extraConfig = self.extra
        return self.spec


def plan_config(spec: VMSpec, res: Resolved, props: dict[str, Any], cur: dict[str, Any]) -> tuple[Reconfig, dict]:
    """Compare; returns the reconfiguration and the predicted facts. Pure (no calls)."""
    rc = Reconfig()
    after = copy.deepcopy(cur)
    hw, ahw = cur["hardware"], after["hardware"]
    live = cur["power_state"] != "halted"

    if spec.num_cpus is not None and spec.num_cpus != hw["num_cpus"]:
        hot = spec.num_cpus > hw["num_cpus"] and hw["cpu_hot_add"] and spec.cpu_hot_add is not False
        rc.spec.numCPUs = spec.num_cpus
        rc.add("set_cpus", "CPUs %s -> %d" % (hw["num_cpus"], spec.num_cpus), live and not hot)
        ahw["num_cpus"] = spec.num_cpus
    if spec.cores_per_socket is not None and spec.cores_per_socket != hw["cores_per_socket"]:
        rc.spec.numCoresPerSocket = spec.cores_per_socket
        rc.add(
            "set_cores_per_socket", "cores per socket %s -> %d" % (hw["cores_per_socket"], spec.cores_per_socket), live
        )
        ahw["cores_per_socket"] = spec.cores_per_socket
    if spec.memory_mib is not None and spec.memory_mib != hw["memory_mib"]:
        hot = spec.memory_mib > (hw["memory_mib"] or 0) and hw["memory_hot_add"] and spec.memory_hot_add is not False
        rc.spec.memoryMB = spec.memory_mib
        rc.add("set_memory", "memory %sMiB -> %dMiB" % (hw["memory_mib"], spec.memory_mib), live and not hot)
        ahw["memory_mib"] = spec.memory_mib
    if spec.cpu_hot_add is not None and spec.cpu_hot_add != hw["cpu_hot_add"]:
        rc.spec.cpuHotAddEnabled = spec.cpu_hot_add
        rc.add("set_cpu_hot_add", "CPU hot add -> %s" % spec.cpu_hot_add, live)
        ahw["cpu_hot_add"] = spec.cpu_hot_add
    if spec.memory_hot_add is not None and spec.memory_hot_add != hw["memory_hot_add"]:
        rc.spec.memoryHotAddEnabled = spec.memory_hot_add
        rc.add("set_memory_hot_add", "memory hot add -> %s" % spec.memory_hot_add, live)
        ahw["memory_hot_add"] = spec.memory_hot_add
    if (spec.uuid or spec.moid) and spec.name and spec.name != cur["name"]:
        # found by uuid/MoID, named differently: rename (documented under the uuid option)
        rc.spec.name = spec.name
        rc.add("rename", "rename %r -> %r" % (cur["name"], spec.name), False)
        after["name"] = spec.name
    if spec.annotation is not None and spec.annotation != cur["annotation"]:
        rc.spec.annotation = spec.annotation
        rc.add("set_annotation", "annotation", False)
        after["annotation"] = spec.annotation
    changed_keys = []
    for key, val in sorted(spec.extra_config.items()):
        have = cur["extra_config"].get(key)
        if (val == "" and have is None) or have == val:
            continue
        rc.extra.append(vim.option.OptionValue(key=key, value=val))
        changed_keys.append(key)
        if val == "":
            after["extra_config"].pop(key, None)
        else:
            after["extra_config"][key] = val
    if changed_keys:
        rc.add("set_extra_config", "extra_config: %s" % ", ".join(changed_keys), False, keys=changed_keys)

    _plan_disks(spec, res, props, cur, after, rc)
    _plan_nics(spec, res, props, cur, after, rc)
    _plan_cdrom(spec, props, cur, after, rc)
    return rc, after


def _plan_disks(
    spec: VMSpec, res: Resolved, props: dict[str, Any], cur: dict[str, Any], after: dict[str, Any], rc: Reconfig
) -> None:
    if spec.disks is None:
        return
    devs = devices(props)
    ctrls = controllers(devs)
    scsi = {c.busNumber: c for c in ctrls.values() if cls_name(c) in SCSI_TYPES}
    by_key = {d.key: d for d in devs}
    current = {
        (d["controller_bus"], d["unit_number"]): d for d in cur["disks"] if d["controller_type"] in SCSI_TYPES.values()
    }
    occupied = {
        (getattr(ctrls.get(d.controllerKey), "busNumber", None), d.unitNumber)
        for d in devs
        if d.controllerKey in ctrls and cls_name(ctrls[d.controllerKey]) in SCSI_TYPES and cls_name(d) != "VirtualDisk"
    }
    vm_ds = _ds_of_path(cur.get("vmx_path")) or (res.datastore.name if res.datastore else None)
    after_disks = {d["key"]: copy.deepcopy(d) for d in cur["disks"]}
    new_ctrls: dict[int, int] = {}
    for i, d in enumerate(spec.disks):
        have = current.get((d.bus, d.unit))
        want_ds = res.disk_ds[i].name if i in res.disk_ds else None
        if have is not None:
            if d.size is not None and d.size < have["size"]:
                raise InvalidInput(
                    d.param + ".size",
                    "shrinking disk %d:%d from %s to %s is not supported"
                    % (d.bus, d.unit, format_size(have["size"]), format_size(d.size)),
                )
            if d.provisioning and d.provisioning != have["provisioning"]:
                raise InvalidInput(
                    d.param + ".provisioning",
                    "disk %d:%d is %s; changing the provisioning of an "
                    "existing disk is not supported" % (d.bus, d.unit, have["provisioning"]),
                )
            if want_ds and want_ds != have["datastore"]:
                raise InvalidInput(
                    d.param + ".datastore",
                    "disk %d:%d is on %r; moving a disk is not supported" % (d.bus, d.unit, have["datastore"]),
                )
            if d.size is not None and d.size > have["size"]:
                dev = copy.deepcopy(by_key[have["key"]])
                dev.capacityInKB = d.size // 1024
                dev.capacityInBytes = d.size
                rc.device_changes.append(vim.vm.device.VirtualDeviceSpec(operation="edit", device=dev))
                rc.add(
                    "grow_disk",
                    "grow disk %d:%d %s -> %s" % (d.bus, d.unit, format_size(have["size"]), format_size(d.size)),
                    controller_bus=d.bus,
                    unit_number=d.unit,
                )
                after_disks[have["key"]]["size"] = d.size
            continue
        if d.size is None:
            raise InvalidInput(d.param + ".size", "disk %d:%d does not exist yet; give its size" % (d.bus, d.unit))
        if (d.bus, d.unit) in occupied:
            raise InvalidInput(
                d.param + ".unit_number", "controller %d unit %d is taken by another device" % (d.bus, d.unit)
            )
        ctrl = scsi.get(d.bus)
        if ctrl is not None:
            ctrl_key, ctrl_type = ctrl.key, SCSI_TYPES[cls_name(ctrl)]
        else:
            if d.bus not in new_ctrls:
                new_ctrls[d.bus] = rc.next_key()
                c = vim.vm.device.ParaVirtualSCSIController(
                    key=new_ctrls[d.bus], busNumber=d.bus, sharedBus="noSharing"
                )
                rc.device_changes.append(vim.vm.device.VirtualDeviceSpec(operation="add", device=c))
                rc.add("add_controller", "add paravirtual SCSI controller %d" % d.bus, controller_bus=d.bus)
            ctrl_key, ctrl_type = new_ctrls[d.bus], "paravirtual"
        ds = want_ds or (res.datastore.name if res.datastore else None) or vm_ds
        prov = d.provisioning or "thin"
        backing = vim.vm.device.VirtualDisk.FlatVer2BackingInfo(
            diskMode="persistent",
            thinProvisioned=prov == "thin",
            eagerlyScrub=prov == "eager_zeroed",
            fileName="[%s]" % ds if ds else "",
        )
        key = rc.next_key()
        disk = vim.vm.device.VirtualDisk(
            key=key,
            controllerKey=ctrl_key,
            unitNumber=d.unit,
            backing=backing,
            capacityInKB=d.size // 1024,
            capacityInBytes=d.size,
        )
        rc.device_changes.append(vim.vm.device.VirtualDeviceSpec(operation="add", fileOperation="create", device=disk))
        rc.add(
            "add_disk",
            "add disk %d:%d (%s, %s, on %s)" % (d.bus, d.unit, format_size(d.size), prov, ds),
            controller_bus=d.bus,
            unit_number=d.unit,
        )
        after_disks[key] = {
            "controller_type": ctrl_type,
            "controller_bus": d.bus,
            "unit_number": d.unit,
            "key": NEW,
            "label": NEW,
            "size": d.size,
            "datastore": ds,
            "file": NEW,
            "provisioning": prov,
            "disk_mode": "persistent",
        }
    if spec.remove_unmanaged_disks:
        wanted = {(d.bus, d.unit) for d in spec.disks}
        for disk in cur["disks"]:
            addr = (disk["controller_bus"], disk["unit_number"])
            if disk["controller_type"] in SCSI_TYPES.values() and addr in wanted:
                continue
            rc.device_changes.append(
                vim.vm.device.VirtualDeviceSpec(operation="remove", fileOperation="destroy", device=by_key[disk["key"]])
            )
            rc.add(
                "remove_disk",
                "remove unmanaged disk %s:%s (%s, deletes %s)"
                % (disk["controller_bus"], disk["unit_number"], format_size(disk["size"]), disk["file"]),
                controller_bus=disk["controller_bus"],
                unit_number=disk["unit_number"],
            )
            after_disks.pop(disk["key"], None)
    after["disks"] = sorted(
        after_disks.values(), key=lambda x: (str(x["controller_type"]), x["controller_bus"] or 0, x["unit_number"] or 0)
    )
    after["datastores"] = sorted(set(after["datastores"]) | {x["datastore"] for x in after["disks"] if x["datastore"]})


def _nic_backing(pg: Entity, inv: Inventory) -> Any:
    if pg.kind == "DistributedVirtualPortgroup":
        dvs = inv.get(pg.get("config.distributedVirtualSwitch"))
        port = vim.dvs.PortConnection(
            portgroupKey=pg.get("key") or pg.moid, switchUuid=dvs.get("uuid") if dvs else None
        )
        return vim.vm.device.VirtualEthernetCard.DistributedVirtualPortBackingInfo(port=port)
    return vim.vm.device.VirtualEthernetCard.NetworkBackingInfo(deviceName=pg.name, network=pg.obj)


def _plan_nics(
    spec: VMSpec, res: Resolved, props: dict[str, Any], cur: dict[str, Any], after: dict[str, Any], rc: Reconfig
) -> None:
    if spec.networks is None:
        return
    by_key = {d.key: d for d in devices(props)}
    live = cur["power_state"] != "halted"
    current = {n["device"]: n for n in cur["networks"]}
    wanted = {n.device: n for n in spec.networks}
    kept = [n for n in cur["networks"] if n["device"] in wanted or not spec.remove_unmanaged_networks]
    final: list[dict[str, Any]] = []
    for have in kept:
        nic = copy.deepcopy(have)
        want = wanted.get(have["device"])
        if want is None:
            final.append(nic)
            continue
        pg = res.portgroups[want.device]
        reasons, halt = [], False
        dev = copy.deepcopy(by_key[have["key"]])
        if want.adapter and want.adapter != have["adapter"]:
            raise InvalidInput(
                want.param + ".adapter",
                "NIC %d is a %s; changing the adapter type of an existing NIC "
                "is not supported (remove it and add a new one)" % (want.device, have["adapter"]),
            )
        if have["network_moid"] != pg.moid:
            dev.backing = _nic_backing(pg, res.inv)
            reasons.append("portgroup %r -> %r" % (have["portgroup"], pg.name))
            nic.update(portgroup=pg.name, network_moid=pg.moid)
        if want.mac and want.mac != have["mac"]:
            dev.macAddress, dev.addressType = want.mac, "manual"
            reasons.append("MAC %s -> %s" % (have["mac"], want.mac))
            halt = live
            nic.update(mac=want.mac, address_type="manual")
        if reasons:
            rc.device_changes.append(vim.vm.device.VirtualDeviceSpec(operation="edit", device=dev))
            rc.add("edit_nic", "NIC %d: %s" % (want.device, ", ".join(reasons)), halt, device=want.device)
        final.append(nic)
    for n in cur["networks"]:
        if n not in kept:
            rc.device_changes.append(vim.vm.device.VirtualDeviceSpec(operation="remove", device=by_key[n["key"]]))
            rc.add(
                "remove_nic",
                "remove unmanaged NIC %d (%s on %r)" % (n["device"], n["mac"], n["portgroup"]),
                device=n["device"],
            )
    for want in spec.networks:
        if want.device in current:
            continue
        pg = res.portgroups[want.device]
        adapter = want.adapter or "vmxnet3"
        klass = getattr(vim.vm.device, NIC_CLASSES[adapter])
        dev = klass(
            key=rc.next_key(),
            backing=_nic_backing(pg, res.inv),
            connectable=vim.vm.device.VirtualDevice.ConnectInfo(
                startConnected=True, connected=live, allowGuestControl=True
            ),
            addressType="manual" if want.mac else "generated",
            macAddress=want.mac,
        )
        rc.device_changes.append(vim.vm.device.VirtualDeviceSpec(operation="add", device=dev))
        rc.add("add_nic", "add NIC %d (%s on %r)" % (want.device, adapter, pg.name), device=want.device)
        final.append(
            {
                "device": want.device,
                "key": NEW,
                "label": NEW,
                "adapter": adapter,
                "mac": want.mac or NEW,
                "address_type": "manual" if want.mac else "generated",
                "portgroup": pg.name,
                "network_moid": pg.moid,
                "connected": live,
                "start_connected": True,
                "ipv4": [],
                "ipv6": [],
            }
        )
    # NICs are numbered in device-key order, new ones last: the numbering must come out as declared
    for index, nic in enumerate(final):
        declared = wanted.get(nic["device"])
        if nic["device"] != index and (declared is not None or nic["key"] != NEW):
            who = declared.param + ".device" if declared is not None else "remove_unmanaged_networks"
            raise InvalidInput(
                who,
                "NIC %d would become NIC %d (NICs are numbered in device order, new ones "
                "last); list the NICs so the numbering stays 0..%d" % (nic["device"], index, len(final) - 1),
            )
        nic["device"] = index
    after["networks"] = final


def _plan_cdrom(spec: VMSpec, props: dict[str, Any], cur: dict[str, Any], after: dict[str, Any], rc: Reconfig) -> None:
    if spec.cdrom is None:
        return
    iso = spec.cdrom["iso"]
    live = cur["power_state"] == "running"
    by_key = {d.key: d for d in devices(props)}
    if cur["cdroms"]:
        have = cur["cdroms"][0]
        if have["iso"] == iso:
            return
        dev = copy.deepcopy(by_key[have["key"]])
        new = copy.deepcopy(have)
    else:
        devs = devices(props)
        ctrls = controllers(devs)
        ide = sorted((c for c in ctrls.values() if cls_name(c) == "VirtualIDEController"), key=lambda c: c.busNumber)
        used = {(d.controllerKey, d.unitNumber) for d in devs}
        slot = next(((c, u) for c in ide for u in (0, 1) if (c.key, u) not in used), None)
        if slot is None:
            raise InvalidInput("cdrom", "the VM has no free IDE slot for a CD drive")
        dev = vim.vm.device.VirtualCdrom(key=rc.next_key(), controllerKey=slot[0].key, unitNumber=slot[1])
        new = {"key": NEW, "controller_type": "ide", "controller_bus": slot[0].busNumber, "unit_number": slot[1]}
    if iso:
        dev.backing = vim.vm.device.VirtualCdrom.IsoBackingInfo(fileName=iso)
    else:
        dev.backing = vim.vm.device.VirtualCdrom.RemotePassthroughBackingInfo(exclusive=False, deviceName="")
    dev.connectable = vim.vm.device.VirtualDevice.ConnectInfo(
        startConnected=bool(iso), connected=bool(iso) and live, allowGuestControl=True
    )
    op = "edit" if cur["cdroms"] else "add"
    rc.device_changes.append(vim.vm.device.VirtualDeviceSpec(operation=op, device=dev))
    rc.add("set_cdrom", ("insert %r" % iso) if iso else "empty the CD drive", False)
    new.update(iso=iso, type="iso" if iso else "client", connected=bool(iso) and live, start_connected=bool(iso))
    after["cdroms"] = [new, *cur["cdroms"][1:]]


def _clone_paths(predicted: dict[str, Any], source: dict[str, Any], name: str, datastore: str | None) -> None:
    """The new VM's own files, as vSphere names a clone's: ``[ds] name/name.vmx``, disks ``name.vmdk``,
    ``name_1.vmdk``... in device order, on the target datastore (or where the source's file was)."""
    vmx_ds = datastore or _ds_of_path(predicted.get("vmx_path"))
    predicted["vmx_path"] = "[%s] %s/%s.vmx" % (vmx_ds, name, name) if vmx_ds else None
    order = sorted(d.key for d in devices(source) if cls_name(d) == "VirtualDisk")
    for disk in predicted["disks"]:
        if disk["key"] not in order:
            continue
        index = order.index(disk["key"])
        ds = datastore or disk["datastore"]
        disk["file"] = "[%s] %s/%s%s.vmdk" % (ds, name, name, "_%d" % index if index else "")
        disk["datastore"] = ds
    stores = {d["datastore"] for d in predicted["disks"] if d["datastore"]}
    if vmx_ds:
        stores.add(vmx_ds)
    predicted["datastores"] = sorted(stores)


# ------------------------------------------------------------------------------ the plan
class VMPlanner:
    """Plans one VM's desired state; the ChangeSet's operations are closures over the backend."""

    def __init__(
        self,
        backend: Any,
        spec: VMSpec,
        inv: Inventory,
        vm: Any | None,
        props: dict[str, Any] | None,
        template_props: dict[str, Any] | None = None,
    ) -> None:
        self.backend = backend
        self.spec = spec
        self.inv = inv
        self.vm = vm
        self.props = props
        self.res = Resolved(spec, inv, creating=vm is None and spec.state == "present")
        self.template_props = template_props
        self.reconfig: Reconfig | None = None

    def facts(self) -> dict[str, Any] | None:
        return vm_facts(self.props, self.inv, self.vm._moId) if self.vm is not None and self.props else None

    def plan(self) -> ChangeSet:
        s, b = self.spec, self.backend
        cur = self.facts()
        cs = ChangeSet(cur)
        if s.state == "absent":
            if cur is not None:
                vm, state = self.vm, cur["power_state"]
                cs.add(
                    "destroy",
                    "power off (guest, then hard) and destroy %r with its disks" % cur["name"],
                    lambda: b.destroy(vm, state, s.timeout, s.shutdown_timeout),
                )
                cs.set_after(None)
            return cs
        if cur is None:
            return self._plan_create(cs)
        self._plan_update(cs, self.props or {}, cur)
        return cs

    def _plan_update(self, cs: ChangeSet, props: dict[str, Any], cur: dict[str, Any]) -> None:
        s, b = self.spec, self.backend
        rc, after = plan_config(s, self.res, props, cur)
        self.reconfig = rc
        power = cur["power_state"]
        target = s.power_state or power
        halt_reasons = [desc for _op, desc, halt, _run in rc.items if halt]
        if power == "suspended" and rc.items:
            halt_reasons = [desc for _op, desc, _halt, _run in rc.items]
        cycling = False
        if halt_reasons:
            if target == "halted" or s.allow_power_cycling:
                cycling = True
            else:
                raise NeedsHalt(halt_reasons, param="allow_power_cycling")
        vm = self.vm
        start = power
        if cycling or (target == "halted" and power != "halted" and rc.items):
            off = "power_off" if power == "running" else "hard_power_off"
            cs.add(
                "power_off",
                "power off (guest shutdown, hard after %ss) to apply: %s"
                % (s.shutdown_timeout, ", ".join(halt_reasons) or "changes"),
                lambda: b.run_step(vm, off, s.timeout, s.shutdown_timeout),
                needs_halt=bool(halt_reasons),
            )
            start = "halted"
        if rc.items:
            config = rc.build()
            for name, desc, halt, params in rc.items:
                cs.add(name, desc, params=params, needs_halt=halt)
            cs.add(
                "reconfigure",
                "ReconfigVM_Task with %d change(s)" % len(rc.items),
                lambda: b.reconfigure(self.vm, config, s.timeout),
            )
        for step in transition_steps(start, target):
            cs.add(
                step,
                "power: %s" % step.replace("_", " "),
                (lambda st=step: b.run_step(self.vm, st, s.timeout, s.shutdown_timeout)),
            )
        if self.vm is not None:
            attach_inverses(cs, b, self.vm, props, cur, rc, s.timeout, s.shutdown_timeout)
        after["power_state"] = target
        if target != "running" and target != power:
            for nic in after["networks"]:
                nic["ipv4"], nic["ipv6"], nic["connected"] = [], [], False
            after["ip"], after["ipv4"], after["ipv6"] = None, [], []
        cs.set_after(after)

    # creation -------------------------------------------------------------------
    def _plan_create(self, cs: ChangeSet) -> ChangeSet:
        s, res = self.spec, self.res
        if not s.name:
            raise InvalidInput("name", "a new VM needs a name (no VM has uuid/moid %r)" % (s.uuid or s.moid))
        if res.template is None and not s.from_scratch and not s.disks:
            raise InvalidInput(
                "template",
                "no VM named %r exists; to create it give template (a VM or template to clone, or 'none' for an "
                "empty VM from scratch) or a disks list" % s.name,
            )
        if res.template is not None:
            src = res.template
            cs.add(
                "clone",
                "clone %r as %r into %s" % (src.name, s.name, self.inv.path(res.folder)),
                params={"source": src.moid},
            )
            base = dict(self.template_props or {})
        else:
            cs.add(
                "create",
                "create %r in %s on datastore %r" % (s.name, self.inv.path(res.folder), res.datastore.name),
                params={},
            )
            base = self._blank_props()
        base.update(
            {
                "name": s.name,
                "runtime.powerState": "poweredOff",
                "config.template": False,
                "parent": res.folder.obj,
                "guest.net": [],
                "guest.ipAddress": None,
                "snapshot": None,
            }
        )
        if res.pool is not None:
            base["resourcePool"] = res.pool.obj
        predicted = vm_facts(base, self.inv, NEW)
        predicted.update(uuid=NEW, instance_uuid=NEW, moid=NEW)
        if res.template is None:
            predicted["vmx_path"] = "[%s] %s/%s.vmx" % (res.datastore.name, s.name, s.name)
        else:
            _clone_paths(predicted, base, s.name, res.datastore.name if res.datastore else None)
        sub = ChangeSet(predicted)
        self._plan_update(sub, base, predicted)
        cs.operations.extend(op for op in sub.operations if op.name != "reconfigure")
        cs.set_after(sub.after)
        return cs

    def _blank_props(self) -> dict[str, Any]:
        s = self.spec
        hw = vim.vm.VirtualHardware(
            numCPU=s.num_cpus or 1,
            numCoresPerSocket=s.cores_per_socket or 1,
            memoryMB=s.memory_mib or 1024,
            # vSphere (and vcsim) give every new VM its two IDE controllers
            device=[vim.vm.device.VirtualIDEController(key=200 + i, busNumber=i) for i in (0, 1)],
        )
        return {
            "config.hardware": hw,
            "config.guestId": s.guest_id or "otherGuest64",
            "config.extraConfig": [],
            "config.annotation": "",
            "config.cpuHotAddEnabled": False,
            "config.memoryHotAddEnabled": False,
            "datastore": [self.res.datastore.obj],
        }

    def create_spec(self) -> Any:
        """The ConfigSpec for ``CreateVM_Task``: name, guest, files, CPU and memory; devices come after."""
        s = self.spec
        return vim.vm.ConfigSpec(
            name=s.name,
            guestId=s.guest_id or "otherGuest64",
            files=vim.vm.FileInfo(vmPathName="[%s]" % self.res.datastore.name),
            numCPUs=s.num_cpus or 1,
            numCoresPerSocket=s.cores_per_socket or 1,
            memoryMB=s.memory_mib or 1024,
        )

    def clone_spec(self) -> Any:
        res = self.res
        loc = vim.vm.RelocateSpec(
            pool=res.pool.obj if res.pool else None,
            datastore=res.datastore.obj if res.datastore else None,
            host=res.host.obj if res.host else None,
        )
        return vim.vm.CloneSpec(location=loc, powerOn=False, template=False)
