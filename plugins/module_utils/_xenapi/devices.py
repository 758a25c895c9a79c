# -*- coding: utf-8 -*-
# Copyright: virtops.compute contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""VDI, VBD and VIF helpers (nova ``vm_utils``): create, destroy, plug and unplug safely."""

from __future__ import annotations

import http.client
import ssl
from typing import Any
from urllib.parse import urlencode, urlsplit

from ansible_collections.virtops.compute.plugins.module_utils._common.errors import (
    BackendError,
    ConnectionFailed,
)
from ansible_collections.virtops.compute.plugins.module_utils._common.retry import retry

from .facts import CONFIG_DRIVE_KEY
from .lookup import NULL_REF

# Unplug/plug may be refused while the guest is busy; these say "try again", nothing else does.
PLUG_TRANSIENT = frozenset({"DEVICE_DETACH_REJECTED", "OTHER_OPERATION_IN_PROGRESS", "INTERNAL_ERROR"})


class Devices:
    def __init__(self, conn: Any, sleep: Any = None) -> None:
        self.conn = conn
        self._retry_kwargs: dict[str, Any] = {"sleep": sleep} if sleep is not None else {}

    # VDI ---------------------------------------------------------------
    def create_vdi(
        self,
        sr: str,
        name: str,
        size: int,
        vdi_type: str = "user",
        read_only: bool = False,
        other_config: dict[str, str] | None = None,
        description: str = "",
    ) -> str:
        record = {
            "name_label": name,
            "name_description": description,
            "SR": sr,
            "virtual_size": str(size),
            "type": vdi_type,
            "sharable": False,
            "read_only": read_only,
            "other_config": other_config or {},
            "xenstore_data": {},
            "sm_config": {},
            "tags": [],
        }
        return str(self.conn.call("VDI.create", record))

    def destroy_vdi(self, vdi: str) -> None:
        try:
            self.conn.call("VDI.destroy", vdi)
        except BackendError as exc:
            if exc.code != "HANDLE_INVALID":
                raise

    def resize_vdi(self, vdi: str, size: int, online: bool) -> None:
        self.conn.call("VDI.resize_online" if online else "VDI.resize", vdi, str(size))

    def _http(self) -> http.client.HTTPConnection:
        url, context, timeout = self.conn.http_target()
        parts = urlsplit(url)
        if parts.scheme == "https":
            return http.client.HTTPSConnection(
                parts.hostname or "",
                parts.port or 443,
                timeout=timeout,
                context=context or ssl.create_default_context(),
            )
        return http.client.HTTPConnection(parts.hostname or "", parts.port or 80, timeout=timeout)

    def import_raw(self, vdi: str, data: bytes, fmt: str = "raw") -> None:
        """PUT ``data`` into ``vdi`` through xapi's ``/import_raw_vdi`` handler."""
        query = urlencode({"session_id": self.conn.session_ref, "vdi": vdi, "format": fmt})
        conn = self._http()
        try:
            conn.request(
                "PUT",
                "/import_raw_vdi?" + query,
                body=data,
                headers={"Content-Length": str(len(data)), "Content-Type": "application/octet-stream"},
            )
            response = conn.getresponse()
            body = response.read()
        except OSError as exc:
            raise ConnectionFailed("upload to /import_raw_vdi failed: %s" % exc) from None
        finally:
            conn.close()
        if response.status >= 300:
            raise BackendError(
                "upload to /import_raw_vdi failed: HTTP %s %s"
                % (response.status, body[:200].decode("utf-8", "replace")),
                code="VDI_IMPORT_FAILED",
            )

    def export_raw(self, vdi: str, limit: int = 64 * 1024 * 1024) -> bytes:
        """GET the content of a (small) ``vdi`` through xapi's ``/export_raw_vdi`` handler (a read)."""
        query = urlencode({"session_id": self.conn.session_ref, "vdi": vdi, "format": "raw"})
        conn = self._http()
        try:
            conn.request("GET", "/export_raw_vdi?" + query)
            response = conn.getresponse()
            body = response.read(limit)
        except OSError as exc:
            raise ConnectionFailed("download from /export_raw_vdi failed: %s" % exc) from None
        finally:
            conn.close()
        if response.status >= 300:
            raise BackendError(
                "download from /export_raw_vdi failed: HTTP %s" % response.status, code="VDI_EXPORT_FAILED"
            )
        return body

    # VBD ---------------------------------------------------------------
    def create_vbd(
        self,
        vm: str,
        vdi: str | None,
        userdevice: int,
        vbd_type: str = "Disk",
        mode: str = "RW",
        bootable: bool = False,
        empty: bool = False,
    ) -> str:
        record = {
            "VM": vm,
            "VDI": vdi or NULL_REF,
            "userdevice": str(userdevice),
            "bootable": bootable,
            "mode": mode,
            "type": vbd_type,
            "empty": empty or vdi is None,
            "unpluggable": True,
            "other_config": {},
            "qos_algorithm_type": "",
            "qos_algorithm_params": {},
        }
        return str(self.conn.call("VBD.create", record))

    def destroy_vbd(self, vbd: str) -> None:
        try:
            self.conn.call("VBD.destroy", vbd)
        except BackendError as exc:
            if exc.code != "HANDLE_INVALID":
                raise

    def plug_vbd(self, vbd: str) -> None:
        self._plug("VBD.plug", vbd, "DEVICE_ALREADY_ATTACHED")

    def unplug_vbd(self, vbd: str) -> None:
        """nova ``unplug_vbd``: retry only transient refusals; already detached is success."""
        self._plug("VBD.unplug", vbd, "DEVICE_ALREADY_DETACHED")

    def insert_cd(self, vbd: str, vdi: str) -> None:
        self.conn.call("VBD.insert", vbd, vdi)

    def eject_cd(self, vbd: str) -> None:
        try:
            self.conn.call("VBD.eject", vbd)
        except BackendError as exc:
            if exc.code != "VBD_IS_EMPTY":
                raise

    # VIF ---------------------------------------------------------------
    def create_vif(self, vm: str, network: str, device: int, mac: str | None = None, mtu: int | None = None) -> str:
        record = {
            "device": str(device),
            "network": network,
            "VM": vm,
            "MAC": mac or "",
            "MTU": str(mtu or 1500),
            "other_config": {},
            "qos_algorithm_type": "",
            "qos_algorithm_params": {},
        }
        return str(self.conn.call("VIF.create", record))

    def destroy_vif(self, vif: str) -> None:
        try:
            self.conn.call("VIF.destroy", vif)
        except BackendError as exc:
            if exc.code != "HANDLE_INVALID":
                raise

    def plug_vif(self, vif: str) -> None:
        self._plug("VIF.plug", vif, "DEVICE_ALREADY_ATTACHED")

    def unplug_vif(self, vif: str) -> None:
        self._plug("VIF.unplug", vif, "DEVICE_ALREADY_DETACHED")

    # shared ------------------------------------------------------------
    def _plug(self, method: str, ref: str, done_code: str) -> None:
        def once() -> None:
            try:
                self.conn.call(method, ref, attempts=1)
            except BackendError as exc:
                if exc.code == done_code:
                    return
                raise

        retry(
            once,
            lambda e: isinstance(e, BackendError) and e.code in PLUG_TRANSIENT,
            attempts=5,
            base_delay=0.5,
            max_delay=4.0,
            **self._retry_kwargs,
        )


def own_disk_vdis(snap: Any, vm_rec: dict[str, Any]) -> list[str]:
    """VDIs a VM owns: its Disk VBDs' VDIs not shared with another VM and not on an ISO SR,
    plus the config drive this collection made for it."""
    owned = []
    for vbd_ref in vm_rec.get("VBDs", []):
        vbd = snap.get("VBD", vbd_ref)
        if not vbd:
            continue
        vdi_ref = vbd.get("VDI", NULL_REF)
        vdi = snap.get("VDI", vdi_ref)
        if not vdi:
            continue
        sr = snap.get("SR", vdi.get("SR", NULL_REF)) or {}
        if vbd.get("type") == "CD" and CONFIG_DRIVE_KEY not in (vdi.get("other_config") or {}):
            continue
        if sr.get("content_type") == "iso" or sr.get("type") == "iso":
            continue
        if vdi.get("sharable") or len(vdi.get("VBDs", [])) > 1:
            continue
        owned.append(vdi_ref)
    return owned
