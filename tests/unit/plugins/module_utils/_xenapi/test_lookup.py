from __future__ import annotations

import pytest

from ansible_collections.virtops.compute.plugins.module_utils._common.errors import Ambiguous, InvalidInput, NotFound
from ansible_collections.virtops.compute.plugins.module_utils._xenapi.lookup import (
    PoolSnapshot,
    find_vms,
    lookup_vm,
    quote,
    resolve,
    vm_ref_or_raise,
)


def test_quote_escapes_for_the_query_language():
    assert quote('a "b" \\c') == '"a \\"b\\" \\\\c"'


def test_lookup_by_name_is_one_call_and_excludes_templates_and_dom0(conn):
    _ref, rec = lookup_vm(conn, name="db-01")
    assert rec["name_label"] == "db-01" and dict(conn.calls) == {"VM.get_all_records_where": 1}
    assert lookup_vm(conn, name="Debian Bookworm 12") is None
    assert lookup_vm(conn, name="Debian Bookworm 12", templates=True)[1]["is_a_template"]
    assert all(not r["is_control_domain"] for _r, r in find_vms(conn))


def test_lookup_by_uuid_wins_and_is_validated(conn):
    ref, rec = conn.vm("web-01")
    assert lookup_vm(conn, name="db-01", uuid=rec["uuid"])[0] == ref
    with pytest.raises(InvalidInput) as err:
        lookup_vm(conn, uuid="not-a-uuid")
    assert err.value.param == "uuid"


def test_duplicates_name_both_uuids_and_missing_raises(conn):
    ref, rec = conn.vm("db-01")
    clone = conn.call("VM.clone", ref, "db-01")
    uuids = sorted([rec["uuid"], conn.records("VM")[clone]["uuid"]])
    with pytest.raises(Ambiguous) as err:
        lookup_vm(conn, name="db-01")
    assert str(err.value) == "VM name 'db-01' matches 2 objects (uuids %s, %s); give the uuid to choose one" % tuple(
        uuids
    )
    with pytest.raises(NotFound):
        vm_ref_or_raise(conn, name="nope")


def test_snapshot_resolve_by_name_or_uuid(conn):
    snap = PoolSnapshot.read(conn)
    ref, sr = resolve(snap.of("SR"), "Shared storage", "SR", "sr")
    assert resolve(snap.of("SR"), sr["uuid"], "SR", "sr")[0] == ref
    with pytest.raises(Ambiguous):
        resolve(snap.of("SR"), "Local storage", "SR", "sr")
    with pytest.raises(InvalidInput) as err:
        resolve(snap.of("network"), "nope", "network", "networks[0].network")
    assert str(err.value) == "networks[0].network: no network named or with uuid 'nope'"
    assert snap.default_sr() == ref


def test_read_around_reads_only_the_vms_own_objects(conn):
    for i in range(5):  # other VMs and their disks must not reach the read
        conn.call("VM.clone", conn.vm("db-01")[0], "filler-%d" % i)
    found = dict(find_vms(conn, name="web-01"))
    conn.calls.clear()
    snap = PoolSnapshot.read_around(conn, found)
    assert dict(conn.calls) == {"event.from": 2}
    ((ref, rec),) = found.items()
    own_vbds = set(rec["VBDs"])
    assert set(snap.of("VBD")) == own_vbds and set(snap.of("VIF")) == set(rec["VIFs"])
    own_vdis = {conn.records("VBD")[v]["VDI"] for v in own_vbds} - {"OpaqueRef:NULL"}
    assert set(snap.of("VDI")) == own_vdis
    assert set(snap.of("VM")) == {ref} | set(rec["snapshots"])
    assert len(snap.of("network")) == len(conn.records("network")) and snap.of("pool")
