# -*- coding: utf-8 -*-
# Copyright: virtops.compute contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The flow of ``xen_vm_info``.

By ``name``/``uuid`` (a lookup) the cost does not grow with the pool: login,
``VM.get_all_records_where`` (xapi filters), one ``event.from`` on exactly those VMs' devices, guest
metrics and snapshots plus the pool-wide networks/SRs/hosts, one ``event.from`` on their VDIs, logout.
Without them (every VM, or tags/filter only) one ``event.from`` snapshot of the classes involved is the
cheapest read. Diagnostics add one ``VM.get_data_sources`` per running or paused VM that matched (xapi
has no bulk call for RRDs).
"""

from __future__ import annotations

from typing import Any

from ansible_collections.virtops.compute.plugins.module_utils._common.errors import InvalidInput

from .diagnostics import DIAGNOSTICS_CLASSES, LIVE_STATES, read_data_sources, vm_diagnostics
from .facts import power_state, vm_facts
from .lookup import PoolSnapshot, Record, find_vms, is_uuid, vm_kind_ok

TRUE = ("true", "yes", "on", "1")
CASE_INSENSITIVE_FIELDS = ("power_state",)


def value_matches(actual: Any, wanted: Any, field: str = "") -> bool:
    """``wanted`` against a xapi record value: maps match as subsets, sets must contain every element,
    booleans accept ``true``/``false`` strings, numbers compare with xapi's string-encoded ints."""
    if isinstance(wanted, dict):
        if not isinstance(actual, dict):
            return False
        return all(k in actual and value_matches(actual[k], v) for k, v in wanted.items())
    if isinstance(actual, list):
        items = wanted if isinstance(wanted, list) else [wanted]
        return all(any(value_matches(a, w) for a in actual) for w in items)
    if isinstance(actual, bool):
        if isinstance(wanted, bool):
            return actual is wanted
        return actual == (str(wanted).strip().lower() in TRUE)
    if isinstance(wanted, bool):
        return str(actual).strip().lower() == str(wanted).lower()
    if field in CASE_INSENSITIVE_FIELDS:
        return str(actual).lower() == str(wanted).lower()
    return str(actual) == str(wanted)


def record_matches(rec: Record, filters: dict[str, Any]) -> bool:
    return all(field in rec and value_matches(rec[field], wanted, field) for field, wanted in filters.items())


def select_vms(
    snap: PoolSnapshot,
    name: str | None = None,
    uuid: str | None = None,
    tags: list[str] | None = None,
    filters: dict[str, Any] | None = None,
    templates: bool = False,
    snapshots: bool = False,
) -> list[tuple[str, Record]]:
    """Every VM that matches all of the given criteria, sorted by name then uuid."""
    vms = snap.of("VM")
    if uuid is not None and not is_uuid(uuid):
        raise InvalidInput("uuid", "%r is not a UUID" % uuid)
    if filters and vms:
        known = set(next(iter(vms.values())))
        unknown = sorted(f for f in filters if f not in known)
        if unknown:
            raise InvalidInput("filter", "unknown VM record field(s): %s" % ", ".join(unknown))
    wanted_tags = set(tags or [])
    out = []
    for ref, rec in vms.items():
        if not vm_kind_ok(rec, templates=templates, snapshots=snapshots):
            continue
        if uuid is not None and rec.get("uuid") != uuid.lower():
            continue
        if name is not None and rec.get("name_label") != name:
            continue
        if wanted_tags and not wanted_tags.issubset(rec.get("tags") or []):
            continue
        if filters and not record_matches(rec, filters):
            continue
        out.append((ref, rec))
    return sorted(out, key=lambda item: (str(item[1].get("name_label", "")), str(item[1].get("uuid", ""))))


def run_xen_vm_info(module: Any) -> dict[str, Any]:
    p = module.params
    backend = module.backend
    if p.get("name") is not None or p.get("uuid"):
        # A lookup: the VMs by name/uuid, filtered by xapi itself, then only their own objects; the
        # cost stays the same whatever the size of the pool.
        found_vms = dict(
            find_vms(backend.conn, p.get("name"), p.get("uuid"), p["include_templates"], p["include_snapshots"])
        )
        snap = PoolSnapshot.read_around(backend.conn, found_vms, p["diagnostics"]) if found_vms else PoolSnapshot({})
    else:
        classes = PoolSnapshot.CLASSES + (DIAGNOSTICS_CLASSES if p["diagnostics"] else ())
        snap = PoolSnapshot.read(backend.conn, classes)
    found = select_vms(
        snap,
        p.get("name"),
        p.get("uuid"),
        p.get("tags"),
        p.get("filter"),
        p["include_templates"],
        p["include_snapshots"],
    )
    vms = []
    for ref, rec in found:
        vm = vm_facts(snap, ref, rec)
        if p["diagnostics"]:
            sources = read_data_sources(backend.conn, ref) if power_state(rec) in LIVE_STATES else None
            vm["diagnostics"] = vm_diagnostics(snap, ref, rec, sources)
        vms.append(vm)
    return {"changed": False, "vms": vms}
