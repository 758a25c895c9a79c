# -*- coding: utf-8 -*-
# Copyright: virtops.compute contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The vSphere backend: nova's compute-driver operations on one VM, raising typed errors.

Method names follow ``nova.virt.driver.ComputeDriver`` / nova's ``VMwareVMOps`` (power_on,
power_off, suspend, reboot, destroy ...) like the XenAPI backend. VMs are pyvmomi stubs
(``vim.VirtualMachine``); every read is one ``RetrievePropertiesEx``.
"""

from __future__ import annotations

from typing import Any

from ansible_collections.virtops.compute.plugins.module_utils._common.errors import (
    BackendError,
    InvalidInput,
    TaskFailed,
    TaskTimeout,
)
from ansible_collections.virtops.compute.plugins.module_utils._common.net import wait_for_usable_ip
from ansible_collections.virtops.compute.plugins.module_utils._common.waiter import Waiter

from .client import VSphereClient, vim
from .facts import DIAG_PROPS, VM_PROPS, power_state
from .lookup import Inventory, find_vm, get_vm

POWER_STATES = ("running", "halted", "suspended")
# faults that mean "the guest cannot do this" -> fall back to the hard operation
GUEST_OP_UNAVAILABLE = (
    "ToolsUnavailable",
    "MethodNotFound",
    "NotSupported",
    "InvalidState",
    "TaskInProgress",
    "ToolsUnavailableFault",
)


def connect(params: dict[str, Any]) -> VSphereBackend:
    client = VSphereClient.connect(
        hostname=params["hostname"],
        username=params.get("username") or "",
        password=params.get("password"),
        port=params.get("port") or 443,
        validate_certs=params.get("validate_certs", True),
        ca_path=params.get("ca_path"),
        timeout=params.get("api_timeout") or 60,
    )
    return VSphereBackend(client)


class VSphereBackend:
    def __init__(self, client: VSphereClient) -> None:
        self.client = client
        self.notes: list[str] = []  # things worth reporting (fallbacks taken ...)

    def close(self) -> None:
        self.client.close()

    # reads ------------------------------------------------------------------
    def inventory(self, full: bool = False) -> Inventory:
        return Inventory.load(self.client, full=full)

    def find_vm(self, **kwargs: Any) -> Any | None:
        return find_vm(self.client, **kwargs)

    def get_vm(self, **kwargs: Any) -> Any:
        return get_vm(self.client, **kwargs)

    def read_vm(self, vm: Any, diagnostics: bool = False, extra: list[str] | None = None) -> dict[str, Any]:
        """Every property the facts need, in ONE ``RetrievePropertiesEx``. ``NotFound`` if the VM is gone."""
        paths = VM_PROPS + (DIAG_PROPS if diagnostics else []) + list(extra or [])
        return self.client.properties(vm, paths)

    def read_vm_and_inventory(
        self, vm: Any | None, full: bool = True, diagnostics: bool = False, extra: list[str] | None = None
    ) -> tuple[dict[str, Any] | None, Inventory]:
        """The VM's state AND the inventory names in ONE ``RetrievePropertiesEx`` (plus the view, once)."""
        paths = VM_PROPS + (DIAG_PROPS if diagnostics else []) + list(extra or [])
        inv = Inventory.load(self.client, full=full, extra=[(vm, paths)] if vm is not None else [])
        return (inv.extra.get(vm._moId) if vm is not None else None), inv

    def power_state(self, vm: Any) -> str:
        return power_state(self.client.properties(vm, ["runtime.powerState"]))

    # power (ComputeDriver) --------------------------------------------------
    def power_on(self, vm: Any, timeout: float) -> None:
        self.client.run_task(vm.PowerOnVM_Task, timeout=timeout, what="power on")

    def power_off(
        self, vm: Any, timeout: float, shutdown_timeout: float, current: str = "running", force: bool = False
    ) -> str:
        """Guest shutdown (``ShutdownGuest``), hard ``PowerOffVM_Task`` after ``shutdown_timeout``
        or when the guest cannot shut down (no tools). Returns ``"guest"`` or ``"hard"``."""
        if current == "halted":
            return "none"
        if current == "running" and not force and shutdown_timeout > 0:
            try:
                self.client.call(vm.ShutdownGuest, what="guest shutdown")
                self.wait_for_power_state(vm, "halted", shutdown_timeout)
                return "guest"
            except TaskTimeout:
                self.notes.append("the guest did not shut down within %ss: powered off hard" % shutdown_timeout)
            except BackendError as exc:
                if exc.code not in GUEST_OP_UNAVAILABLE:
                    raise
                self.notes.append("guest shutdown unavailable (%s): powered off hard" % exc.code)
        try:
            self.client.run_task(vm.PowerOffVM_Task, timeout=timeout, what="power off")
        except TaskFailed as exc:
            if exc.code != "InvalidPowerState" or self.power_state(vm) != "halted":
                raise
        return "hard"

    def suspend(self, vm: Any, timeout: float) -> None:
        self.client.run_task(vm.SuspendVM_Task, timeout=timeout, what="suspend")

    def reset(self, vm: Any, timeout: float) -> None:
        self.client.run_task(vm.ResetVM_Task, timeout=timeout, what="reset")

    def reboot(self, vm: Any, reboot_type: str, timeout: float) -> str:
        """``soft``: ``RebootGuest``; when the guest or server cannot (no VMware Tools running, a server
        without RebootGuest) falls back to ``ResetVM_Task`` and records why in ``notes``. Returns ``"soft"``
        or ``"hard"`` (what was done)."""
        if reboot_type == "soft":
            try:
                self.client.call(vm.RebootGuest, what="guest reboot")
                return "soft"
            except BackendError as exc:
                if exc.code not in GUEST_OP_UNAVAILABLE:
                    raise
                self.notes.append("soft reboot unavailable (%s: %s): reset the VM instead" % (exc.code, exc.msg))
        self.reset(vm, timeout)
        return "hard"

    def transition_steps(self, current: str, target: str) -> list[str]:
        return transition_steps(current, target)

    def run_step(self, vm: Any, step: str, timeout: float, shutdown_timeout: float) -> None:
        if step == "power_on":
            self.power_on(vm, timeout)
        elif step == "power_off":
            self.power_off(vm, timeout, shutdown_timeout, "running")
        elif step == "hard_power_off":
            self.power_off(vm, timeout, shutdown_timeout, "suspended", force=True)
        elif step == "suspend":
            self.suspend(vm, timeout)
        else:  # pragma: no cover - table and dispatcher are kept together
            raise ValueError(step)

    def wait_for_power_state(self, vm: Any, state: str, timeout: float) -> None:
        def probe() -> bool | None:
            return True if self.power_state(vm) == state else None

        Waiter(timeout, interval=0.2, max_interval=2.0, clock=self.client.clock, sleep=self.client.sleep).until(
            probe, "the VM to be %s" % state
        )

    # lifecycle --------------------------------------------------------------
    def destroy(self, vm: Any, current: str, timeout: float, shutdown_timeout: float) -> None:
        """Power off (guest, then hard) unless halted, then ``Destroy_Task`` (deletes the VM's files)."""
        if current != "halted":
            self.power_off(vm, timeout, shutdown_timeout, current)
        self.client.run_task(vm.Destroy_Task, timeout=timeout, what="destroy")

    def reconfigure(self, vm: Any, spec: Any, timeout: float) -> None:
        self.client.run_task(vm.ReconfigVM_Task, spec=spec, timeout=timeout, what="reconfigure")

    def create(self, folder: Any, config: Any, pool: Any, host: Any | None, timeout: float) -> Any:
        """``Folder.CreateVM_Task``; returns the new VM stub."""
        return self.client.run_task(
            folder.CreateVM_Task, config=config, pool=pool, host=host, timeout=timeout, what="create VM"
        )

    def clone(self, source: Any, folder: Any, name: str, spec: Any, timeout: float) -> Any:
        """``CloneVM_Task``; returns the new VM stub."""
        return self.client.run_task(
            source.CloneVM_Task, folder=folder, name=name, spec=spec, timeout=timeout, what="clone"
        )

    def delete_vm_quietly(self, vm: Any, timeout: float) -> None:
        """Undo of a create/clone: hard power off if needed and ``Destroy_Task``."""
        state = self.power_state(vm)
        if state != "halted":
            self.power_off(vm, timeout, 0, state, force=True)
        self.client.run_task(vm.Destroy_Task, timeout=timeout, what="destroy (rollback)")

    # guest ------------------------------------------------------------------
    def guest_ips(self, vm: Any) -> list[str]:
        props = self.client.properties(vm, ["guest.net", "guest.ipAddress"])
        ips: list[str] = []
        for nic in props.get("guest.net") or []:
            ips.extend(str(ip) for ip in (nic.ipAddress or []))
        if props.get("guest.ipAddress"):
            ips.append(str(props["guest.ipAddress"]))
        return ips

    def wait_for_ip(self, vm: Any, family: str, cidr: str | None, timeout: float, interval: float = 1.0) -> list[str]:
        waiter = Waiter(timeout, interval=interval, max_interval=5.0, clock=self.client.clock, sleep=self.client.sleep)
        return wait_for_usable_ip(lambda: self.guest_ips(vm), family, cidr, waiter)

    def console(self, vm: Any) -> tuple[dict[str, Any] | None, str | None]:
        """A console ticket: ``AcquireTicket('webmks')``, else ``AcquireMksTicket``.

        Returns ``(console, None)`` or ``(None, reason)`` when the server supports neither.
        """
        reasons = []
        try:
            t = self.client.call(vm.AcquireTicket, ticketType="webmks", what="acquire webmks ticket")
            host = t.host or None
            url = "wss://%s:%s/ticket/%s" % (host, t.port or 443, t.ticket) if host else None
            return {
                "type": "webmks",
                "ticket": t.ticket,
                "host": host,
                "port": t.port,
                "url": url,
                "ssl_thumbprint": t.sslThumbprint,
            }, None
        except BackendError as exc:
            reasons.append("AcquireTicket(webmks): %s" % exc.code)
        try:
            t = self.client.call(vm.AcquireMksTicket, what="acquire MKS ticket")
            return {
                "type": "mks",
                "ticket": t.ticket,
                "host": t.host,
                "port": t.port,
                "url": None,
                "ssl_thumbprint": t.sslThumbprint,
                "cfg_file": t.cfgFile,
            }, None
        except BackendError as exc:
            reasons.append("AcquireMksTicket: %s" % exc.code)
        return None, "the server offers no console ticket (%s)" % "; ".join(reasons)


TRANSITIONS = {
    ("halted", "running"): ["power_on"],
    ("suspended", "running"): ["power_on"],
    ("running", "halted"): ["power_off"],
    ("suspended", "halted"): ["hard_power_off"],
    ("running", "suspended"): ["suspend"],
    ("halted", "suspended"): ["power_on", "suspend"],
}


def transition_steps(current: str, target: str) -> list[str]:
    """The steps (``run_step`` names) that take a VM from ``current`` to ``target`` power state (pure)."""
    if current == target:
        return []
    if (current, target) not in TRANSITIONS:
        raise InvalidInput("power_state", "cannot go from %s to %s" % (current, target))
    return list(TRANSITIONS[(current, target)])


__all__ = [
    "POWER_STATES",
    "TRANSITIONS",
    "VSphereBackend",
    "connect",
    "transition_steps",
    "vim",
]
