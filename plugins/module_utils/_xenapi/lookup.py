# -*- coding: utf-8 -*-
# Copyright: virtops.compute contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Finding VMs and other objects: one call, full records, duplicates are an error."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from ansible_collections.virtops.compute.plugins.module_utils._common.errors import (
    Ambiguous,
    InvalidInput,
    NotFound,
)

NULL_REF = "OpaqueRef:NULL"
UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
Record = dict[str, Any]


def quote(value: str) -> str:
    """Quote a string for xapi's query language."""
    return '"%s"' % value.replace("\\", "\\\\").replace('"', '\\"')


def is_uuid(value: str | None) -> bool:
    return bool(value) and bool(UUID_RE.match(str(value)))


def vm_kind_ok(rec: Record, templates: bool = False, snapshots: bool = False, control_domain: bool = False) -> bool:
    if rec.get("is_control_domain") and not control_domain:
        return False
    if rec.get("is_a_snapshot"):
        return snapshots
    if rec.get("is_a_template"):
        return templates
    return True


def pick_one(matches: list[tuple[str, Record]], what: str, param: str | None = None) -> tuple[str, Record] | None:
    if not matches:
        return None
    if len(matches) > 1:
        uuids = sorted(rec.get("uuid", "?") for _ref, rec in matches)
        raise Ambiguous(
            "%s matches %d objects (uuids %s); give the uuid to choose one" % (what, len(matches), ", ".join(uuids)),
            param=param,
        )
    return matches[0]


def find_vms(
    conn: Any,
    name: str | None = None,
    uuid: str | None = None,
    templates: bool = False,
    snapshots: bool = False,
    control_domain: bool = False,
    where: str | None = None,
) -> list[tuple[str, Record]]:
    """All VMs matching ``uuid`` or ``name`` (or a raw query), in one ``get_all_records_where`` call."""
    if uuid:
        if not is_uuid(uuid):
            raise InvalidInput("uuid", "%r is not a UUID" % uuid)
        expr = "field %s=%s" % (quote("uuid"), quote(uuid.lower()))
    elif name is not None:
        expr = "field %s=%s" % (quote("name__label"), quote(name))
    elif where is not None:
        expr = where
    else:
        expr = "true"
    records = conn.call("VM.get_all_records_where", expr, read_only=True)
    return sorted(
        ((ref, rec) for ref, rec in records.items() if vm_kind_ok(rec, templates, snapshots, control_domain)),
        key=lambda item: item[1].get("name_label", ""),
    )


def lookup_vm(conn: Any, name: str | None = None, uuid: str | None = None, **kinds: bool) -> tuple[str, Record] | None:
    """nova's ``lookup``: ``None`` or exactly one VM; two with the same name is an error."""
    what = "VM uuid %r" % uuid if uuid else "VM name %r" % name
    return pick_one(find_vms(conn, name=name, uuid=uuid, **kinds), what)


def vm_ref_or_raise(conn: Any, name: str | None = None, uuid: str | None = None, **kinds: bool) -> tuple[str, Record]:
    found = lookup_vm(conn, name=name, uuid=uuid, **kinds)
    if found is None:
        raise NotFound("no VM with %s" % ("uuid %r" % uuid if uuid else "name %r" % name))
    return found


def match_records(records: dict[str, Record], ident: str, label_field: str = "name_label") -> list[tuple[str, Record]]:
    """Records whose uuid (or, failing that, name) is ``ident``."""
    if is_uuid(ident):
        by_uuid = [(r, rec) for r, rec in records.items() if rec.get("uuid") == ident.lower()]
        if by_uuid:
            return by_uuid
    return [(r, rec) for r, rec in records.items() if rec.get(label_field) == ident]


def resolve(
    records: dict[str, Record], ident: str, kind: str, param: str, label_field: str = "name_label"
) -> tuple[str, Record]:
    """One object of ``kind`` by uuid or name among ``records``; typed errors name the parameter."""
    found = pick_one(match_records(records, ident, label_field), "%s %r (%s)" % (kind, ident, param), param)
    if found is None:
        raise InvalidInput(param, "no %s named or with uuid %r" % (kind, ident))
    return found


class PoolSnapshot:
    """Every record of a few classes, read in ONE call (``event.from`` with an empty token).

    xapi has no joins or batch calls; the only single round trip that returns a VM together
    with its VBDs, VDIs, VIFs, networks and SRs is an event snapshot of those classes.
    """

    CLASSES = ("VM", "VBD", "VDI", "VIF", "network", "SR", "host", "pool", "VM_guest_metrics")

    def __init__(self, records: dict[str, dict[str, Record]]) -> None:
        self.records = records

    @classmethod
    def read(cls, conn: Any, classes: Iterable[str] = CLASSES) -> PoolSnapshot:
        wanted = list(classes)
        records: dict[str, dict[str, Record]] = {c: {} for c in wanted}
        _merge_events(conn, wanted, records)
        return cls(records)

    @classmethod
    def read_around(cls, conn: Any, vms: dict[str, Record], metrics: bool = False, iso: bool = False) -> PoolSnapshot:
        """Only what ``vms`` (already read, e.g. by :func:`find_vms`) refer to, at a cost that does not
        grow with the pool: ONE ``event.from`` for their VBDs, VIFs, guest metrics, snapshots (and
        metrics/consoles) plus the pool-wide networks, SRs, hosts and pool, and ONE for their VDIs.
        xapi's ``event.from`` takes ``class/ref`` subscriptions for single objects. ``iso`` adds the VDIs of
        ISO SRs (to resolve a CD's ISO by name)."""
        extra = ("VM_metrics", "console") if metrics else ()
        records: dict[str, dict[str, Record]] = {c: {} for c in (*cls.CLASSES, *extra)}
        records["VM"].update(vms)
        wanted = ["network", "SR", "host", "pool"]
        for rec in vms.values():
            wanted += ["VBD/" + r for r in rec.get("VBDs", [])] + ["VIF/" + r for r in rec.get("VIFs", [])]
            wanted += ["VM/" + r for r in rec.get("snapshots", [])]
            refs = [("VM_guest_metrics", rec.get("guest_metrics"))]
            if metrics:
                refs.append(("VM_metrics", rec.get("metrics")))
                refs += [("console", c) for c in rec.get("consoles", [])]
            wanted += ["%s/%s" % (k, r) for k, r in refs if r and r != NULL_REF]
        _merge_events(conn, wanted, records)
        vdis = {str(v["VDI"]) for v in records["VBD"].values() if v.get("VDI", NULL_REF) != NULL_REF}
        if iso:
            for sr in records["SR"].values():
                if sr.get("content_type") == "iso" or sr.get("type") == "iso":
                    vdis.update(str(r) for r in sr.get("VDIs", []))
        vdis = sorted(vdis)
        if vdis:
            _merge_events(conn, ["VDI/" + r for r in vdis], records)
        return cls(records)

    def of(self, klass: str) -> dict[str, Record]:
        return self.records.get(klass, {})

    def get(self, klass: str, ref: str) -> Record | None:
        if not ref or ref == NULL_REF:
            return None
        return self.records.get(klass, {}).get(ref)

    def vm(self, name: str | None, uuid: str | None, **kinds: bool) -> tuple[str, Record] | None:
        vms = self.of("VM")
        if uuid:
            matches = [(r, v) for r, v in vms.items() if v.get("uuid") == uuid.lower()]
            what = "VM uuid %r" % uuid
        else:
            matches = [(r, v) for r, v in vms.items() if v.get("name_label") == name]
            what = "VM name %r" % name
        return pick_one([m for m in matches if vm_kind_ok(m[1], **kinds)], what)

    def default_sr(self) -> str | None:
        for pool in self.of("pool").values():
            ref = pool.get("default_SR")
            if ref and ref != NULL_REF:
                return str(ref)
        return None


def _merge_events(conn: Any, wanted: list[str], records: dict[str, dict[str, Record]]) -> None:
    """One ``event.from`` with an empty token: the current record of every subscribed object."""
    result = conn.call("event.from", wanted, "", 0.0, read_only=True)
    canon = {c.lower(): c for c in records}
    for event in result.get("events", []):
        klass = canon.get(str(event.get("class", "")).lower())
        if klass is None:
            continue
        if event.get("operation") == "del":
            records[klass].pop(event.get("ref"), None)
        elif "snapshot" in event:
            records[klass][event["ref"]] = event["snapshot"]
