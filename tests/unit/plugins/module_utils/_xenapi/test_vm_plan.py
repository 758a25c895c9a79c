"""The xen_vm planner and backend against the simulator in-process (no HTTP)."""

from __future__ import annotations

import pytest

from ansible_collections.virtops.compute.plugins.module_utils._common.errors import (
    BackendError,
    InvalidInput,
    NeedsHalt,
)
from ansible_collections.virtops.compute.plugins.module_utils._common.undo import UndoStack
from ansible_collections.virtops.compute.plugins.module_utils._xenapi.lookup import PoolSnapshot
from ansible_collections.virtops.compute.plugins.module_utils._xenapi.vm_plan import (
    VMPlanner,
    provision_sr_uuids,
    provision_xml,
    template_provision_disks,
)
from ansible_collections.virtops.compute.plugins.module_utils._xenapi.vm_spec import parse_spec

GiB = 1024**3
ETH0 = "Pool-wide network associated with eth0"


def planner(backend, **params):
    params.setdefault("state", "present")
    return VMPlanner(backend, parse_spec(params), PoolSnapshot.read(backend.conn))


def test_noop_plans_nothing_and_reads_once(backend, conn):
    p = planner(backend, name="db-01", power_state="halted")
    cs, ref = p.plan()
    assert ref is not None and not cs.changed and cs.before == cs.after
    assert dict(conn.calls) == {"event.from": 1}


def test_shrink_is_refused_before_any_call(backend, conn):
    with pytest.raises(InvalidInput) as err:
        planner(backend, name="db-01", disks=[{"userdevice": 0, "size": 1}]).plan()
    assert err.value.param == "disks[0].size" and "shrinking disk 0" in str(err.value)
    assert dict(conn.calls) == {"event.from": 1}


def test_running_vm_halt_only_change_needs_permission(backend):
    with pytest.raises(NeedsHalt) as err:
        planner(backend, name="web-01", vcpus=4, memory="4GiB").plan()
    assert err.value.changes == ["set vcpus 2 -> 4", "set memory 2048MiB -> 4GiB"]
    cs, _unused = planner(backend, name="web-01", vcpus=4, allow_power_cycling=True).plan()
    assert [op.name for op in cs.operations] == ["shutdown", "set_vcpus", "power_start"]
    assert cs.after["power_state"] == "running" and cs.after["vcpus"] == 4


def test_power_state_halted_implies_permission(backend, conn):
    cs, ref = planner(backend, name="web-01", vcpus=4, power_state="halted").plan()
    assert [op.name for op in cs.operations] == ["shutdown", "set_vcpus"]
    cs.apply()
    vm = conn.records("VM")[ref]
    assert vm["power_state"] == "Halted" and int(vm["VCPUs_max"]) == 4


def test_hot_plug_on_running_vm(backend, conn):
    cs, ref = planner(
        backend, name="web-01", disks=[{"userdevice": 1, "size": "1GiB"}], networks=[{"device": 1, "network": ETH0}]
    ).plan()
    assert [op.name for op in cs.operations] == ["add_disk", "add_nic"]
    assert "hot-plugged" in cs.operations[0].description
    cs.apply()
    vm = conn.records("VM")[ref]
    vbds = [conn.records("VBD")[r] for r in vm["VBDs"]]
    assert any(v["userdevice"] == "1" and v["currently_attached"] for v in vbds)


def test_create_prediction_includes_template_disks(backend, conn):
    p = planner(backend, name="new-01", template="Debian Bookworm 12", disks=[{"userdevice": 0, "size": "20GiB"}])
    template = p.res.template[1]
    assert template_provision_disks(template) == [
        {"userdevice": 0, "size": 10 * GiB, "bootable": True, "sr": "", "type": "system"}
    ]
    cs, ref = p.plan()
    assert ref is None
    assert [op.name for op in cs.operations] == ["create", "provision", "resize_disk"]
    default_sr = conn.records("SR")[next(iter(conn.records("pool").values()))["default_SR"]]
    provision = cs.operations[1]
    assert provision.params == {"sr_uuids": [default_sr["uuid"]]}
    assert provision.description == "provision the template's disks on SR %r" % default_sr["name_label"]
    disk = cs.after["disks"][0]
    assert disk["size"] == 20 * GiB and cs.after["uuid"] == "(new)"
    # named as xapi_templates.ml create_disk names it: after the userdevice
    assert disk["name"] == "0" and disk["sr_uuid"] == default_sr["uuid"] and disk["type"] == "system"
    assert not any(v["name_label"] == "new-01" for v in conn.records("VM").values())


def test_provision_sr_choice_and_xml_rewrite(backend, conn):
    p = planner(backend, name="new-01", template="Debian Bookworm 12")
    template = dict(p.res.template[1])
    srs = conn.records("SR")
    nfs = next(r for r in srs.values() if r["type"] == "nfs")
    ext_ref, ext = next((ref, r) for ref, r in srs.items() if r["type"] == "ext")
    xml = '<provision><disk device="0" size="1" sr="" bootable="true" type="system"/>'
    xml += '<disk device="1" size="2" sr="%s" bootable="false" type="user"/></provision>' % nfs["uuid"]
    template["other_config"] = {"disks": xml}
    default_uuid = srs[next(iter(conn.records("pool").values()))["default_SR"]]["uuid"]
    # no sr option: a disk keeps its valid SR, sr="" goes to the pool's default SR
    assert provision_sr_uuids(p.snap, template, None) == [default_uuid, nfs["uuid"]]
    # the sr option takes every disk
    assert provision_sr_uuids(p.snap, template, ext_ref) == [ext["uuid"], ext["uuid"]]
    out = provision_xml(template, [ext["uuid"], ext["uuid"]])
    assert out.count('sr="%s"' % ext["uuid"]) == 2 and 'sr=""' not in out and 'device="1"' in out


def test_create_rollback_leaves_nothing(backend, conn, monkeypatch):
    before = {k: set(conn.records(k)) for k in ("VM", "VDI", "VBD", "VIF")}
    p = planner(backend, name="new-01", template="Debian Bookworm 12", networks=[{"device": 0, "network": ETH0}])
    p.plan()
    real_call = conn.call

    def failing(method, *args, **kw):
        if method == "VIF.create":
            raise BackendError("VIF.create failed: INTERNAL_ERROR", code="INTERNAL_ERROR")
        return real_call(method, *args, **kw)

    monkeypatch.setattr(conn, "call", failing)
    with pytest.raises(BackendError) as err, UndoStack() as undo:
        p.apply_create(undo)
    assert err.value.step == "add_nic"
    assert {k: set(conn.records(k)) for k in before} == before
