# -*- coding: utf-8 -*-
# Copyright: virtops.compute contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The XenAPI backend: nova's compute-driver operations on one VM, raising typed errors.

Method names follow ``nova.virt.driver.ComputeDriver`` (power_on, power_off, reboot, pause,
unpause, suspend, resume, destroy, get_info, get_diagnostics, rescue, unrescue) so that the
vSphere and xl backends can offer the same contract.
"""

from __future__ import annotations

import time
import uuid as uuidlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from ansible_collections.virtops.compute.plugins.module_utils._common.errors import (
    BackendError,
    TaskTimeout,
    VirtopsError,
)
from ansible_collections.virtops.compute.plugins.module_utils._common.net import wait_for_usable_ip
from ansible_collections.virtops.compute.plugins.module_utils._common.waiter import Waiter

from .devices import Devices, own_disk_vdis
from .facts import CONFIG_DRIVE_KEY, power_state
from .lookup import NULL_REF, PoolSnapshot, find_vms
from .session import XenAPIConnection
from .tasks import TaskRunner

POWER_STATES = ("running", "halted", "paused", "suspended")
CREATE_LOCK_PREFIX = "virtops_create_lock:"
# VM.create needs every field; a VM "from scratch" starts as this (1 vCPU, 1 GiB, HVM, BIOS boot order cdn).
BLANK_VM_RECORD: dict[str, Any] = {
    "name_label": "",
    "name_description": "",
    "user_version": "1",
    "is_a_template": False,
    "affinity": NULL_REF,
    "memory_static_max": str(1024**3),
    "memory_dynamic_max": str(1024**3),
    "memory_dynamic_min": str(1024**3),
    "memory_static_min": str(512 * 1024**2),
    "VCPUs_params": {},
    "VCPUs_max": "1",
    "VCPUs_at_startup": "1",
    "actions_after_shutdown": "destroy",
    "actions_after_reboot": "restart",
    "actions_after_crash": "restart",
    "PV_bootloader": "",
    "PV_kernel": "",
    "PV_ramdisk": "",
    "PV_args": "",
    "PV_bootloader_args": "",
    "PV_legacy_args": "",
    "HVM_boot_policy": "BIOS order",
    "HVM_boot_params": {"order": "cdn"},
    "HVM_shadow_multiplier": 1.0,
    "platform": {"acpi": "1", "apic": "true", "pae": "true", "viridian": "true"},
    "PCI_bus": "",
    "other_config": {},
    "recommendations": "",
    "xenstore_data": {},
    "ha_always_run": False,
    "ha_restart_priority": "",
    "tags": [],
    "blocked_operations": {},
    "domain_type": "hvm",
}


class VMConfigMixin:
    """Configuration and device operations used by the xen_vm plan (each is one small XenAPI step)."""

    conn: Any
    devices: Devices
    tasks: TaskRunner

    def set_vcpus(self, vm: str, count: int) -> None:
        # xapi requires VCPUs_at_startup <= VCPUs_max at every moment: order the two calls.
        current_max = int(self.conn.call("VM.get_VCPUs_max", vm, read_only=True))
        if count > current_max:
            self.conn.call("VM.set_VCPUs_max", vm, str(count))
            try:
                self.conn.call("VM.set_VCPUs_at_startup", vm, str(count))
            except BackendError:  # not half-applied: the undo stack only reverses whole steps
                self.conn.call("VM.set_VCPUs_max", vm, str(current_max))
                raise
        else:
            self.conn.call("VM.set_VCPUs_at_startup", vm, str(count))
            self.conn.call("VM.set_VCPUs_max", vm, str(count))

    def set_memory(self, vm: str, size: int) -> None:
        static_min = int(self.conn.call("VM.get_memory_static_min", vm, read_only=True))
        self.conn.call("VM.set_memory_limits", vm, str(min(static_min, size)), str(size), str(size), str(size))

    def set_boot(self, vm: str, firmware: str | None = None, order: str | None = None) -> None:
        params = dict(self.conn.call("VM.get_HVM_boot_params", vm, read_only=True) or {})
        if firmware:
            params["firmware"] = firmware
        if order:
            params["order"] = order
        self.conn.call("VM.set_HVM_boot_params", vm, params)

    def create_blank_vm(self, name: str, description: str) -> str:
        record = dict(BLANK_VM_RECORD, name_label=name, name_description=description)
        return str(self.conn.call("VM.create", record))

    def destroy_new_vm(self, vm: str) -> None:
        """Undo of a create: remove the VM and every disk it got, whatever state it reached."""
        snap = PoolSnapshot.read(self.conn, ("VM", "VBD", "VDI", "SR"))
        rec = snap.get("VM", vm)
        if rec is None:
            return
        if power_state(rec) != "halted":
            self.tasks.run("VM.hard_shutdown", vm, timeout=120, what="hard shutdown")
        vdis = own_disk_vdis(snap, rec)
        self.conn.call("VM.destroy", vm)
        for vdi in vdis:
            self.devices.destroy_vdi(vdi)

    def add_disk(self, vm: str, sr: str, name: str, size: int, userdevice: int, bootable: bool, live: bool) -> None:
        vdi = self.devices.create_vdi(sr, name, size)
        try:
            vbd = self.devices.create_vbd(vm, vdi, userdevice, bootable=bootable)
        except BackendError:
            self.devices.destroy_vdi(vdi)
            raise
        if live:
            self.devices.plug_vbd(vbd)

    def remove_disk(self, vbd: str, vdi: str, attached: bool) -> None:
        if attached:
            self.devices.unplug_vbd(vbd)
        others = [v for v in self.conn.call("VDI.get_VBDs", vdi, read_only=True) if v != vbd]
        self.devices.destroy_vbd(vbd)
        if not others:
            self.devices.destroy_vdi(vdi)

    def add_nic(self, vm: str, network: str, device: int, mac: str | None, mtu: int | None, live: bool) -> None:
        vif = self.devices.create_vif(vm, network, device, mac, mtu)
        if live:
            self.devices.plug_vif(vif)

    def remove_nic(self, vif: str, attached: bool) -> None:
        if attached:
            self.devices.unplug_vif(vif)
        self.devices.destroy_vif(vif)

    def replace_nic(
        self, vm: str, vif: str, network: str, device: int, mac: str | None, mtu: int | None, attached: bool, live: bool
    ) -> None:
        self.remove_nic(vif, attached)
        self.add_nic(vm, network, device, mac, mtu, live)

    def swap_cd(self, vbd: str, vdi: str | None, has_disc: bool) -> None:
        if has_disc:
            self.devices.eject_cd(vbd)
        if vdi:
            self.devices.insert_cd(vbd, vdi)

    def replace_cd_vbd(self, vm: str, vbd: str, vdi: str | None, userdevice: int) -> None:
        self.devices.destroy_vbd(vbd)
        self.devices.create_vbd(vm, vdi, userdevice, "CD", "RO", False, vdi is None)

    def attach_config_drive(
        self, vm: str, sr: str, iso: bytes, digest: str, userdevice: int, old: tuple[str, str] | None, live: bool
    ) -> None:
        """Upload a new config drive VDI and attach it as a CD; the old one (if any) goes away."""
        size = max(len(iso), 1024 * 1024)
        size = (size + 1024 * 1024 - 1) // (1024 * 1024) * (1024 * 1024)
        vdi = self.devices.create_vdi(
            sr,
            "config drive",
            size,
            other_config={CONFIG_DRIVE_KEY: digest},
            description="cloud-init config drive made by virtops.compute",
        )
        try:
            self.devices.import_raw(vdi, iso)
            if old is not None and live:
                self.devices.eject_cd(old[0])
                self.devices.insert_cd(old[0], vdi)
            else:
                if old is not None:
                    self.devices.destroy_vbd(old[0])
                vbd = self.devices.create_vbd(vm, vdi, userdevice, "CD", "RO", False, False)
                if live:
                    self.devices.plug_vbd(vbd)
        except BackendError:
            self.devices.destroy_vdi(vdi)
            raise
        if old is not None and old[1] != NULL_REF:
            self.devices.destroy_vdi(old[1])


def connect(params: dict[str, Any]) -> XenAPIBackend:
    conn = XenAPIConnection(
        hostname=params["hostname"],
        username=params["username"],
        password=params.get("password"),
        port=params.get("port"),
        validate_certs=params.get("validate_certs", True),
        ca_path=params.get("ca_path"),
        api_timeout=params.get("api_timeout") or 60,
    )
    conn.login()
    return XenAPIBackend(conn)


class XenAPIBackend(VMConfigMixin):
    def __init__(
        self, conn: Any, sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.conn = conn
        self.tasks = TaskRunner(conn)
        self.devices = Devices(conn)
        self.sleep = sleep
        self.clock = clock

    def close(self) -> None:
        self.conn.logout()

    def snapshot(self) -> PoolSnapshot:
        return PoolSnapshot.read(self.conn)

    def read(
        self,
        scope: str,
        name: str | None = None,
        uuid: str | None = None,
        templates: bool = False,
        iso: bool = False,
        pool_on_miss: bool = True,
    ) -> PoolSnapshot:
        """The state a plan needs. ``pool``: one ``event.from`` of the pool (3 calls a run, the payload
        grows with the pool). ``vm``: the VM by name/uuid, then only its own objects (constant cost);
        without a match the pool is read (a create needs the templates) unless ``pool_on_miss`` is off."""
        if scope == "vm":
            found = dict(find_vms(self.conn, name=name, uuid=uuid, templates=templates))
            if found:
                return PoolSnapshot.read_around(self.conn, found, iso=iso)
            if not pool_on_miss:
                return PoolSnapshot({})
        return self.snapshot()

    def reread(self, scope: str, ref: str, iso: bool = False) -> PoolSnapshot:
        """The state after a change, in the same scope."""
        if scope == "vm":
            return PoolSnapshot.read_around(
                self.conn, {ref: self.conn.call("VM.get_record", ref, read_only=True)}, iso=iso
            )
        return self.snapshot()

    # power (ComputeDriver) ------------------------------------------------
    def power_on(self, vm: str, timeout: float, paused: bool = False) -> None:
        self.tasks.run("VM.start", vm, paused, False, timeout=timeout, what="start")

    def power_off(self, vm: str, timeout: float, shutdown_timeout: float, current: str, force: bool = False) -> None:
        """Clean shutdown, hard after ``shutdown_timeout`` (nova ``power_off`` + ``_clean_shutdown_vm``)."""
        if current in ("paused", "suspended") or force:
            self.tasks.run("VM.hard_shutdown", vm, timeout=timeout, what="hard shutdown")
            return
        try:
            self.tasks.run("VM.clean_shutdown", vm, timeout=shutdown_timeout, what="clean shutdown")
            return
        except TaskTimeout:
            pass
        except BackendError as exc:
            if exc.code not in ("VM_LACKS_FEATURE", "VM_LACKS_FEATURE_SHUTDOWN", "OPERATION_NOT_ALLOWED"):
                raise
        self.tasks.run("VM.hard_shutdown", vm, timeout=timeout, what="hard shutdown")

    def reboot(self, vm: str, reboot_type: str, timeout: float) -> str:
        """Soft reboot falls back to hard after ``timeout`` (nova ``reboot``); returns the type used."""
        if reboot_type == "soft":
            try:
                self.tasks.run("VM.clean_reboot", vm, timeout=timeout, what="clean reboot")
                return "soft"
            except TaskTimeout:
                pass
            except BackendError as exc:
                if exc.code not in ("VM_LACKS_FEATURE", "VM_LACKS_FEATURE_SHUTDOWN", "OPERATION_NOT_ALLOWED"):
                    raise
        self.tasks.run("VM.hard_reboot", vm, timeout=timeout, what="hard reboot")
        return "hard"

    def pause(self, vm: str, timeout: float) -> None:
        self.tasks.run("VM.pause", vm, timeout=timeout, what="pause")

    def unpause(self, vm: str, timeout: float) -> None:
        self.tasks.run("VM.unpause", vm, timeout=timeout, what="unpause")

    def suspend(self, vm: str, timeout: float) -> None:
        """xapi refuses to suspend a live HVM guest (VM_LACKS_FEATURE) until its agent reports
        ``feature-suspend``; a guest started a moment ago gets that long (within ``timeout``) to report."""
        try:
            self.tasks.run("VM.suspend", vm, timeout=timeout, what="suspend")
            return
        except VirtopsError as exc:
            if exc.code != "VM_LACKS_FEATURE":
                raise

        def agent_says_suspend() -> bool | None:
            gm = self.conn.call("VM.get_guest_metrics", vm, read_only=True)
            if gm == NULL_REF:
                return None
            other = self.conn.call("VM_guest_metrics.get_other", gm, read_only=True)
            return True if other.get("feature-suspend") == "1" else None

        Waiter(timeout, interval=0.5, max_interval=2.0, clock=self.clock, sleep=self.sleep).until(
            agent_says_suspend, "the guest agent of the VM to report that it can suspend"
        )
        self.tasks.run("VM.suspend", vm, timeout=timeout, what="suspend")

    def resume(self, vm: str, timeout: float, paused: bool = False) -> None:
        self.tasks.run("VM.resume", vm, paused, False, timeout=timeout, what="resume")

    def transition_steps(self, current: str, target: str) -> list[str]:
        """The calls that take a VM from ``current`` to ``target`` power state."""
        table = {
            ("halted", "running"): ["start"],
            ("paused", "running"): ["unpause"],
            ("suspended", "running"): ["resume"],
            ("running", "halted"): ["shutdown"],
            ("paused", "halted"): ["hard_shutdown"],
            ("suspended", "halted"): ["hard_shutdown"],
            ("halted", "paused"): ["start_paused"],
            ("running", "paused"): ["pause"],
            ("suspended", "paused"): ["resume_paused"],
            ("running", "suspended"): ["suspend"],
            ("paused", "suspended"): ["unpause", "suspend"],
            ("halted", "suspended"): ["start", "suspend"],
        }
        return [] if current == target else table[(current, target)]

    def run_step(self, vm: str, step: str, timeout: float, shutdown_timeout: float, force: bool = False) -> None:
        if step == "start":
            self.power_on(vm, timeout)
        elif step == "start_paused":
            self.power_on(vm, timeout, paused=True)
        elif step == "shutdown":
            self.power_off(vm, timeout, shutdown_timeout, "running", force=force)
        elif step == "hard_shutdown":
            self.power_off(vm, timeout, shutdown_timeout, "paused", force=True)
        elif step == "pause":
            self.pause(vm, timeout)
        elif step == "unpause":
            self.unpause(vm, timeout)
        elif step == "suspend":
            self.suspend(vm, timeout)
        elif step == "resume":
            self.resume(vm, timeout)
        elif step == "resume_paused":
            self.resume(vm, timeout, paused=True)
        else:  # pragma: no cover - table and dispatcher are kept together
            raise ValueError(step)

    # destroy ------------------------------------------------------------
    def destroy(
        self,
        vm: str,
        rec: dict[str, Any],
        snap: PoolSnapshot,
        timeout: float,
        shutdown_timeout: float,
        keep_disks: bool = False,
    ) -> list[str]:
        """Halt (clean, then hard), destroy the VM and, unless kept, its own disks. Returns VDIs destroyed."""
        current = power_state(rec)
        if current != "halted":
            self.power_off(vm, timeout, shutdown_timeout, current)
        vdis = [] if keep_disks else own_disk_vdis(snap, rec)
        self.conn.call("VM.destroy", vm)
        for vdi in vdis:
            self.devices.destroy_vdi(vdi)
        return vdis

    # creation lock -----------------------------------------------------------
    @contextmanager
    def creation_lock(self, name: str, timeout: float) -> Iterator[None]:
        """Serialise creators of one VM name across runs: xapi has no unique names, but
        ``pool.add_to_other_config`` refuses an existing key (MAP_DUPLICATE_KEY), which makes an
        atomic lock. A lock older than ``timeout`` seconds is taken to be left by a killed run."""
        from ansible_collections.virtops.compute.plugins.module_utils._common.waiter import Waiter

        pool = self.conn.call("pool.get_all", read_only=True)[0]
        key = CREATE_LOCK_PREFIX + name
        token = "%s %d" % (uuidlib.uuid4(), int(time.time()))

        def acquire() -> bool | None:
            try:
                self.conn.call("pool.add_to_other_config", pool, key, token, attempts=1)
                return True
            except BackendError as exc:
                if exc.code != "MAP_DUPLICATE_KEY":
                    raise
            held = str(self.conn.call("pool.get_other_config", pool, read_only=True).get(key, ""))
            since = held.rsplit(" ", 1)[-1]
            if since.isdigit() and time.time() - int(since) > timeout:
                self.conn.call("pool.remove_from_other_config", pool, key)
            return None

        Waiter(timeout, interval=0.5, max_interval=2.0, clock=self.clock, sleep=self.sleep).until(
            acquire, "another run that is creating VM %r to finish" % name
        )
        try:
            yield
        finally:
            try:
                if self.conn.call("pool.get_other_config", pool, read_only=True).get(key) == token:
                    self.conn.call("pool.remove_from_other_config", pool, key)
            except BackendError:
                pass

    # guest ------------------------------------------------------------------
    def guest_networks(self, vm: str) -> dict[str, str]:
        gm = self.conn.call("VM.get_guest_metrics", vm, read_only=True)
        if not gm or gm == NULL_REF:
            return {}
        try:
            return dict(self.conn.call("VM_guest_metrics.get_networks", gm, read_only=True) or {})
        except BackendError as exc:
            if exc.code == "HANDLE_INVALID":
                return {}
            raise

    def wait_for_ip(self, vm: str, family: str, cidr: str | None, timeout: float, interval: float = 1.0) -> list[str]:
        waiter = Waiter(timeout, interval=interval, clock=self.clock, sleep=self.sleep)
        return wait_for_usable_ip(lambda: list(self.guest_networks(vm).values()), family, cidr, waiter)
