# -*- coding: utf-8 -*-
# Copyright: virtops.compute contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The xl operations the driver needs, each one ``xl`` call through :class:`XlRunner` (no Ansible import).

Reads return parsed data (:mod:`.parsers`); writes return nothing and raise the runner's typed errors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .errors import XlDomainNotFound, XlError, XlTimeout
from .parsers import DomainState, parse_info, parse_list, parse_list_long, parse_uptime
from .runner import XlRunner

SHUTDOWN_TIMEOUT = 300.0
LONG_TIMEOUT = 1800.0  # save, restore, migrate: they copy the guest's memory


@dataclass
class XlClient:
    runner: XlRunner = field(default_factory=XlRunner)

    # --- reads -------------------------------------------------------------------------------------
    def info(self) -> dict[str, Any]:
        return parse_info(self.runner.run(["info"]).stdout)

    def list_domains(self) -> list[DomainState]:
        return parse_list(self.runner.run(["list"]).stdout)

    def list_long(self, name: str | None = None) -> list[dict[str, Any]]:
        """``xl list -l [name]``: the domains' configurations ([] when ``name`` does not exist)."""
        try:
            return parse_list_long(self.runner.run(["list", "-l", *([name] if name else [])]).stdout)
        except XlDomainNotFound:
            return []

    def state(self, name: str) -> DomainState | None:
        """The ``xl list`` row of one domain, or None when xl does not know it."""
        try:
            rows = parse_list(self.runner.run(["list", name]).stdout)
        except XlDomainNotFound:
            return None
        return rows[0] if rows else None

    def uptime(self) -> dict[str, int]:
        return parse_uptime(self.runner.run(["uptime"]).stdout)

    # --- writes ------------------------------------------------------------------------------------
    def create(self, config_path: str, *, paused: bool = False) -> None:
        self.runner.run(["create", *(["-p"] if paused else []), config_path])

    def shutdown(self, name: str, *, wait: bool = True, timeout: float = SHUTDOWN_TIMEOUT) -> None:
        self.runner.run(["shutdown", *(["-w"] if wait else []), name], timeout=timeout)

    def destroy(self, name: str) -> None:
        self.runner.run(["destroy", name])

    def reboot(self, name: str, *, force: bool = False) -> None:
        self.runner.run(["reboot", *(["-F"] if force else []), name])

    def pause(self, name: str) -> None:
        self.runner.run(["pause", name])

    def unpause(self, name: str) -> None:
        self.runner.run(["unpause", name])

    def save(self, name: str, path: str) -> None:
        self.runner.run(["save", name, path], timeout=LONG_TIMEOUT)

    def restore(self, path: str, *, paused: bool = False) -> None:
        self.runner.run(["restore", *(["-p"] if paused else []), path], timeout=LONG_TIMEOUT)

    def mem_set(self, name: str, mib: int) -> None:
        """Balloon the running domain to ``mib`` MiB (Ganeti ``BalloonInstanceMemory``)."""
        self.runner.run(["mem-set", name, "%dm" % mib])

    def vcpu_set(self, name: str, vcpus: int) -> None:
        self.runner.run(["vcpu-set", name, str(vcpus)])

    def migrate(self, name: str, host: str, *, ssh_command: str | None = None) -> None:
        """Live-migrate to ``host``; ``ssh_command`` is xl's ``-s`` (``''`` runs ``host`` as the transport)."""
        args = ["migrate"]
        if ssh_command is not None:
            args += ["-s", ssh_command]
        self.runner.run([*args, name, host], timeout=LONG_TIMEOUT)

    def console_command(self, name: str) -> list[str]:
        """The command a user runs on dom0 to reach the guest's console (Ganeti ``GetInstanceConsole``)."""
        return [*self.runner.cmd, "console", name]

    def stop(self, name: str, *, timeout: float = SHUTDOWN_TIMEOUT, force: bool = False) -> str:
        """Ganeti ``_StopInstance``: ``shutdown -w`` within ``timeout``; then ``destroy`` when ``force``.

        Returns how the domain stopped: ``absent`` (it was not there), ``shutdown`` or ``destroyed``.
        Without ``force`` a shutdown that fails or times out raises.
        """
        try:
            self.shutdown(name, wait=True, timeout=timeout)
            return "shutdown"
        except XlDomainNotFound:
            return "absent"
        except (XlTimeout, XlError):
            if not force:
                raise
        try:
            self.destroy(name)
        except XlDomainNotFound:
            return "shutdown"  # it finished shutting down after all
        return "destroyed"
