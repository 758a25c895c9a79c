# -*- coding: utf-8 -*-
# Copyright: virtops.compute contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""vmware_snapshot through real ansible-playbook runs against vcsim; vcsim's state (read with pyvmomi) is the oracle."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from playbook_runner import ok, run_playbook
from pyVim.task import WaitForTask
from pyVmomi import vim, vmodl

VM = "DC0_H0_VM0"
OTHER = "DC0_H0_VM1"


# ---------------------------------------------------------------------- vcsim state, read with pyvmomi
def dump(si: Any) -> dict[str, dict[str, Any]]:
    """Every VM's power state, snapshot tree (with descriptions) and current snapshot, in one read."""
    content = si.RetrieveContent()
    view = content.viewManager.CreateContainerView(content.rootFolder, [vim.VirtualMachine], True)
    PC = vmodl.query.PropertyCollector
    spec = PC.FilterSpec(
        objectSet=[
            PC.ObjectSpec(
                obj=view,
                skip=True,
                selectSet=[PC.TraversalSpec(name="v", path="view", skip=False, type=vim.view.ContainerView)],
            )
        ],
        propSet=[
            PC.PropertySpec(
                type=vim.VirtualMachine, pathSet=["name", "runtime.powerState", "snapshot", "config.hardware.device"]
            )
        ],
    )
    try:
        objects = content.propertyCollector.RetrievePropertiesEx([spec], PC.RetrieveOptions()).objects
    finally:
        view.Destroy()
    out = {}
    for oc in objects:
        p = {x.name: x.val for x in oc.propSet}
        snap = p.get("snapshot")
        out[p["name"]] = {
            "power": p["runtime.powerState"],
            "snapshots": _tree(snap.rootSnapshotList) if snap else [],
            "current": _current(snap),
            "devices": sorted((type(d).__name__, d.key) for d in p.get("config.hardware.device") or []),
        }
    return out


def _tree(nodes: Any) -> list[Any]:
    return [(n.name, n.description, n.quiesced, _tree(n.childSnapshotList)) for n in nodes or []]


def _current(snap: Any) -> str | None:
    if not snap or not snap.currentSnapshot:
        return None

    def walk(nodes: Any) -> str | None:
        for n in nodes or []:
            if n.snapshot._moId == snap.currentSnapshot._moId:
                return str(n.name)
            found = walk(n.childSnapshotList)
            if found:
                return found
        return None

    return walk(snap.rootSnapshotList)


def vm_obj(si: Any, name: str = VM) -> Any:
    content = si.RetrieveContent()
    return content.searchIndex.FindChild(content.rootFolder.childEntity[0].vmFolder, name)


def take(vm: Any, name: str) -> Any:
    task = vm.CreateSnapshot_Task(name=name, description="", memory=False, quiesce=False)
    WaitForTask(task)
    return task.info.result


def ids(si: Any, name: str) -> list[int]:
    out: list[int] = []

    def walk(nodes: Any) -> None:
        for n in nodes or []:
            if n.name == name:
                out.append(n.id)
            walk(n.childSnapshotList)

    snap = vm_obj(si).snapshot
    walk(snap.rootSnapshotList if snap else [])
    return out


# ---------------------------------------------------------------------- fixtures
@pytest.fixture
def snap(vsphere_conn: dict[str, Any]):  # type: ignore[no-untyped-def]
    conn = vsphere_conn

    def task(**args: Any) -> dict[str, Any]:
        args.setdefault("vm_name", VM)
        return {"name": "vmware_snapshot", "virtops.compute.vmware_snapshot": dict(conn, **args), "ignore_errors": True}

    return task


def names(res: dict[str, Any]) -> list[tuple[str, Any, bool]]:
    return [(s["name"], s["parent"], s["current"]) for s in res["snapshots"]]


# ---------------------------------------------------------------------- present
@pytest.mark.vcsim(trace=True)
def test_present_creates_once_check_and_diff(si: Any, vcsim: Any, snap: Any) -> None:
    before = dump(si)
    args = {"name": "s1", "description": "first", "memory": True, "quiesce": True}
    check = run_playbook([snap(**args)], check=True, diff=True)
    res = ok(check)
    assert res["changed"] is True and res["snapshot"]["id"] is None and res["snapshot"]["name"] == "s1"
    assert res["diff"] == {
        "before": {"snapshots": [], "current_snapshot": None},
        "after": {"snapshots": [{"id": None, "name": "s1", "parent": None, "current": True}], "current_snapshot": "s1"},
    }
    assert dump(si) == before

    run = run_playbook([snap(**args), snap(**args)], diff=True)
    res = ok(run, 0)
    assert res["changed"] is True and res["snapshot"]["name"] == "s1" and res["snapshot"]["current"] is True
    assert res["snapshot"]["id"] == ids(si, "s1")[0] and res["snapshot"]["moid"].startswith("snapshot-")
    assert res["diff"]["after"]["snapshots"] == [
        {"id": res["snapshot"]["id"], "name": "s1", "parent": None, "current": True}
    ]
    assert "current_snapshot" in run.stdout  # --diff rendered
    state = dump(si)
    assert state[VM]["snapshots"] == [("s1", "first", True, [])] and state[VM]["current"] == "s1"
    again = ok(run, 1)
    assert again["changed"] is False and again["changes"] == [] and again["snapshot"]["id"] == res["snapshot"]["id"]
    assert {k: v for k, v in state.items() if k != VM} == {k: v for k, v in before.items() if k != VM}


def test_present_creates_children_of_the_current_snapshot(si: Any, snap: Any) -> None:
    run = run_playbook([snap(name="a"), snap(name="b"), snap(name="c", uuid=vm_obj(si).config.uuid, vm_name=None)])
    res = ok(run)
    assert names(res) == [("a", None, False), ("b", ids(si, "a")[0], False), ("c", ids(si, "b")[0], True)]
    assert dump(si)[VM]["snapshots"] == [("a", "", False, [("b", "", False, [("c", "", False, [])])])]


def test_retain_removes_the_oldest(si: Any, snap: Any) -> None:
    vm = vm_obj(si)
    for n in ("old1", "old2", "old3"):
        take(vm, n)
    before = dump(si)
    check = run_playbook([snap(name="new", retain=2)], check=True, diff=True)
    res = ok(check)
    assert res["changed"] is True and [r["name"] for r in res["removed"]] == ["old1", "old2"]
    assert [c["operation"] for c in res["changes"]] == ["create", "remove", "remove"]
    assert [s["name"] for s in res["diff"]["after"]["snapshots"]] == ["old3", "new"]
    assert dump(si) == before

    run = run_playbook([snap(name="new", retain=2), snap(name="new", retain=2)])
    assert ok(run, 0)["changed"] is True and ok(run, 1)["changed"] is False
    assert dump(si)[VM]["snapshots"] == [("old3", "", False, [("new", "", False, [])])]
    assert names(run.result(1)) == [("old3", None, False), ("new", ids(si, "old3")[0], True)]


# ---------------------------------------------------------------------- reverted (patched vcsim bug 2)
@pytest.mark.vcsim(trace=True)
def test_reverted_is_an_action(si: Any, vcsim: Any, snap: Any) -> None:
    vm = vm_obj(si)
    take(vm, "s1")
    take(vm, "s2")
    before = dump(si)
    check = run_playbook([snap(name="s1", state="reverted")], check=True, diff=True)
    res = ok(check)
    assert res["changed"] is True and res["diff"]["before"]["current_snapshot"] == "s2"
    assert res["diff"]["after"]["current_snapshot"] == "s1"
    assert dump(si) == before

    run = run_playbook([snap(name="s1", state="reverted"), snap(name="s1", state="reverted")], diff=True)
    assert [ok(run, i)["changed"] for i in range(2)] == [True, True]
    assert run.result(0)["diff"] == check.result()["diff"]
    assert run.result(0)["current_snapshot"]["name"] == "s1"
    assert dump(si)[VM]["current"] == "s1"


# ---------------------------------------------------------------------- absent (patched vcsim bugs 2 and 3)
def test_absent_removes_and_children_move_up(si: Any, snap: Any) -> None:
    vm = vm_obj(si)
    for n in ("s1", "s2", "s3"):
        take(vm, n)
    before = dump(si)
    check = run_playbook([snap(name="s1", state="absent")], check=True, diff=True)
    assert ok(check)["changed"] is True and dump(si) == before
    run = run_playbook([snap(name="s1", state="absent"), snap(name="s1", state="absent")], diff=True)
    assert ok(run, 0)["changed"] is True and ok(run, 1)["changed"] is False
    assert run.result(0)["diff"]["after"] == {**check.result()["diff"]["after"]}
    assert dump(si)[VM]["snapshots"] == [("s2", "", False, [("s3", "", False, [])])]
    assert dump(si)[VM]["current"] == "s3"


def test_remove_current_root_after_revert(si: Any, snap: Any) -> None:
    # the exact case that crashed vcsim before patch 3: the current snapshot is a root with a child
    vm = vm_obj(si)
    take(vm, "s1")
    take(vm, "s2")
    run = run_playbook([snap(name="s1", state="reverted"), snap(name="s1", state="absent")], diff=True)
    res = ok(run, 1)
    assert res["changed"] is True and res["current_snapshot"] is None
    assert res["diff"]["after"] == {
        "snapshots": [{"id": ids(si, "s2")[0], "name": "s2", "parent": None, "current": False}],
        "current_snapshot": None,
    }
    assert dump(si)[VM]["snapshots"] == [("s2", "", False, [])] and dump(si)[VM]["current"] is None


def test_remove_root_with_children(si: Any, snap: Any) -> None:
    vm = vm_obj(si)
    for n in ("s1", "s2", "s3"):
        take(vm, n)
    before = dump(si)
    check = run_playbook([snap(name="s1", state="absent", remove_children=True)], check=True, diff=True)
    res = ok(check)
    assert [r["name"] for r in res["removed"]] == ["s1", "s2", "s3"] and res["diff"]["after"]["snapshots"] == []
    assert dump(si) == before
    run = run_playbook([snap(name="s1", state="absent", remove_children=True), snap(name="again")])
    assert ok(run, 0)["changed"] is True and ok(run, 1)["changed"] is True  # the VM takes new snapshots again
    assert dump(si)[VM]["snapshots"] == [("again", "", False, [])]


def test_remove_all(si: Any, snap: Any) -> None:
    vm = vm_obj(si)
    for n in ("s1", "s2"):
        take(vm, n)
    before = dump(si)
    check = run_playbook([snap(state="absent", remove_all=True)], check=True)
    assert ok(check)["changed"] is True and dump(si) == before
    run = run_playbook([snap(state="absent", remove_all=True), snap(state="absent", remove_all=True)])
    assert ok(run, 0)["changed"] is True and ok(run, 1)["changed"] is False
    assert dump(si)[VM]["snapshots"] == [] and dump(si)[VM]["current"] is None


# ---------------------------------------------------------------------- duplicates and bad input
def test_duplicate_names_need_snapshot_id(si: Any, snap: Any) -> None:
    vm = vm_obj(si)
    for n in ("dup", "mid", "dup"):
        take(vm, n)
    first, second = ids(si, "dup")
    before = dump(si)
    run = run_playbook([snap(name="dup", state="absent"), snap(name="dup", state="reverted"), snap(name="dup")])
    for i in range(3):
        res = run.result(i)
        assert run.status(i) == "failed" and res["param"] == "name" and res["error_code"] == "AMBIGUOUS"
        assert "2 snapshots are named 'dup' (ids %d, %d); choose one with snapshot_id" % (first, second) in res["msg"]
    assert dump(si) == before

    run = run_playbook([snap(name="dup", snapshot_id=str(first), state="absent")])
    assert ok(run)["changed"] is True and [r["id"] for r in run.result()["removed"]] == [first]
    assert ids(si, "dup") == [second]


@pytest.mark.parametrize(
    "args,msg,param",
    [
        ({"vm_name": "nope", "name": "x"}, "vm_name: no VM named 'nope'", "vm_name"),
        ({"name": "x", "retain": 0}, "retain: must be 1 or more, got 0", "retain"),
        ({"name": "x", "state": "absent", "retain": 2}, "retain: only applies with state=present", "retain"),
        ({"name": "nope", "state": "reverted"}, "name: no snapshot named 'nope'", "name"),
        ({"snapshot_id": "42", "state": "reverted"}, "snapshot_id: no snapshot with id '42'", "snapshot_id"),
        ({"snapshot_id": "42"}, "snapshot_id: no snapshot with id '42'", "snapshot_id"),
        (
            {"name": "s1", "snapshot_id": "1", "state": "absent"},
            "snapshot_id: snapshot 1 is named 'base', not 's1'",
            "snapshot_id",
        ),
        ({"state": "reverted"}, "state is reverted but any of the following are missing: name, snapshot_id", None),
        (
            {"state": "absent", "remove_all": True, "name": "x"},
            "parameters are mutually exclusive: remove_all|name",
            None,
        ),
    ],
)
def test_bad_input_fails_naming_the_parameter_and_changes_nothing(
    si: Any, snap: Any, args: dict[str, Any], msg: str, param: str | None
) -> None:
    take(vm_obj(si), "base")
    before = dump(si)
    run = run_playbook([snap(**args)])
    assert run.status() == "failed", run.result()
    assert msg in run.result()["msg"], run.result()
    if param:
        assert run.result()["param"] == param
    assert dump(si) == before


# ---------------------------------------------------------------------- SOAP round trips
@pytest.mark.vcsim(trace=True)
def test_round_trips_create_revert_delete(si: Any, vcsim: Any, snap: Any) -> None:
    """The SOAP calls of one create, revert and delete (by VM name and by uuid), for the benchmarks."""
    uuid = vm_obj(si).config.instanceUuid
    counts: dict[str, dict[str, int]] = {}
    for label, extra in (("name", {}), ("uuid", {"uuid": uuid, "vm_name": None})):
        for op, args in (
            ("create", {"name": "rt-" + label}),
            ("revert", {"name": "rt-" + label, "state": "reverted"}),
            ("delete", {"name": "rt-" + label, "state": "absent"}),
            ("noop", {"name": "rt-" + label, "state": "absent"}),
        ):
            mark = vcsim.trace_mark()
            ok(run_playbook([snap(**args, **extra)]))
            counts["%s by %s" % (op, label)] = dict(vcsim.call_counter(since=mark))
    totals = {k: sum(v.values()) for k, v in counts.items()}
    report = os.environ.get("VIRTOPS_ROUNDTRIP_REPORT")
    if report:
        with open(report, "w", encoding="utf-8") as handle:
            json.dump({"totals": totals, "calls": counts}, handle, indent=1, sort_keys=True)
    for key, calls in counts.items():
        # connect (RetrieveServiceContent, Login) + Logout; the snapshot tree is ONE RetrievePropertiesEx
        assert calls["RetrieveServiceContent"] == 1 and calls["Login"] == 1 and calls["Logout"] == 1, (key, calls)
        assert "Fetch" not in calls, (key, calls)  # never attribute-by-attribute reads
    assert totals["noop by uuid"] == 5 and totals["noop by name"] == 6, totals
    for op, task in (
        ("create", "CreateSnapshot_Task"),
        ("revert", "RevertToSnapshot_Task"),
        ("delete", "RemoveSnapshot_Task"),
    ):
        for label in ("name", "uuid"):
            calls = counts["%s by %s" % (op, label)]
            assert calls[task] == 1
            # lookup + one read before + task + its polls + one read after
            assert totals["%s by %s" % (op, label)] <= totals["noop by %s" % label] + 4, (op, label, calls)
