# -*- coding: utf-8 -*-
# Copyright: virtops.compute contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pure snapshot-tree helpers of vmware_snapshot: reading, finding, retain and predictions."""

from __future__ import annotations

import datetime
from types import SimpleNamespace as NS
from typing import Any

import pytest

from ansible_collections.virtops.compute.plugins.module_utils._common.errors import (
    Ambiguous,
    InvalidInput,
    NotFound,
)
from ansible_collections.virtops.compute.plugins.module_utils._vsphere.snapshots import (
    NEW,
    SnapshotTree,
    describe,
)

T0 = datetime.datetime(2026, 1, 1, 12, 0, 0, tzinfo=datetime.timezone.utc)


def node(sid: int, name: str, children: list[Any] | None = None, minutes: int | None = None) -> NS:
    return NS(
        id=sid,
        snapshot=NS(_moId="snapshot-%d" % (100 + sid)),
        name=name,
        description="d" + name,
        createTime=T0 + datetime.timedelta(minutes=sid if minutes is None else minutes),
        state="poweredOff",
        quiesced=False,
        childSnapshotList=children or [],
    )


def tree(current: int | None = 3) -> SnapshotTree:
    # 1 base -> 2 a -> 3 b (current)
    #        -> 4 a
    # 5 other (second root)
    roots = [node(1, "base", [node(2, "a", [node(3, "b")]), node(4, "a")]), node(5, "other")]
    return SnapshotTree.from_vim(roots, NS(_moId="snapshot-%d" % (100 + current)) if current else None)


def shape(t: SnapshotTree) -> list[tuple[Any, str, Any, bool]]:
    return [(v["id"], v["name"], v["parent"], v["current"]) for v in t.view()]


def test_from_vim_flattens_pre_order_with_parents_and_current() -> None:
    t = tree()
    assert shape(t) == [
        (1, "base", None, False),
        (2, "a", 1, False),
        (3, "b", 2, True),
        (4, "a", 1, False),
        (5, "other", None, False),
    ]
    assert t.by_id(1).children == [2, 4]
    first = t.view()[0]
    assert first["moid"] == "snapshot-101" and first["description"] == "dbase"
    assert first["created"] == "2026-01-01T12:01:00+00:00" and first["state"] == "poweredOff"


def test_from_vim_empty_and_current_by_moid_string() -> None:
    assert SnapshotTree.from_vim(None, None).view() == []
    assert SnapshotTree.from_vim([node(1, "x")], "snapshot-101").current == 1


@pytest.mark.parametrize(
    "name,sid,expect",
    [
        ("b", None, 3),
        ("base", None, 1),
        ("missing", None, None),
        (None, "4", 4),
        (None, 4, 4),
        (None, "snapshot-102", 2),
        ("a", "2", 2),  # the id disambiguates a shared name
        (None, "99", None),
    ],
)
def test_find(name: str | None, sid: Any, expect: int | None) -> None:
    found = tree().find(name, sid)
    assert (found.id if found else None) == expect


def test_duplicate_names_are_ambiguous_and_list_ids() -> None:
    with pytest.raises(Ambiguous) as err:
        tree().find("a")
    assert err.value.param == "name"
    assert "2 snapshots are named 'a' (ids 2, 4)" in err.value.msg and "snapshot_id" in err.value.msg


def test_id_and_name_must_agree() -> None:
    with pytest.raises(InvalidInput) as err:
        tree().find("b", "2")
    assert err.value.param == "snapshot_id"


def test_require_names_the_parameter() -> None:
    with pytest.raises(NotFound) as err:
        tree().require(None, "77")
    assert err.value.param == "snapshot_id"
    with pytest.raises(NotFound) as err:
        tree().require("zzz", None)
    assert err.value.param == "name" and "zzz" in err.value.msg


def test_subtree_and_oldest_first() -> None:
    t = tree()
    assert [n.id for n in t.subtree(1)] == [1, 2, 3, 4]
    assert [n.id for n in t.subtree(99)] == []
    roots = [node(1, "x", minutes=50), node(2, "y", minutes=10), node(3, "z", minutes=10)]
    assert [n.id for n in SnapshotTree.from_vim(roots).oldest_first()] == [2, 3, 1]


@pytest.mark.parametrize("retain,victims", [(5, []), (6, []), (4, [1]), (2, [1, 2, 4]), (1, [1, 2, 4, 5])])
def test_retain_victims_oldest_first_never_the_kept_one(retain: int, victims: list[int]) -> None:
    t = tree()
    assert [n.id for n in t.retain_victims(retain, keep=t.by_id(3))] == victims


def test_retain_with_a_predicted_snapshot_keeps_it() -> None:
    t = tree().after_create("new")
    kept = t.by_id(NEW)
    assert [n.id for n in t.retain_victims(2, keep=kept)] == [1, 2, 3, 4]


@pytest.mark.parametrize("retain", [0, -1])
def test_retain_below_one_is_invalid(retain: int) -> None:
    with pytest.raises(InvalidInput) as err:
        tree().retain_victims(retain)
    assert err.value.param == "retain"


def test_after_create_is_child_of_current_and_becomes_current() -> None:
    t = tree().after_create("new", "desc", memory=True, quiesce=True, power_state="poweredOn")
    assert shape(t)[3] == (None, "new", 3, True)
    new = t.by_id(NEW)
    assert new.state == "poweredOn" and new.quiesced and new.description == "desc"
    assert t.diff_view()["current_snapshot"] == "new"
    off = tree().after_create("new", memory=True, power_state="poweredOff").by_id(NEW)
    assert off.state == "poweredOff" and not off.quiesced


def test_after_create_without_snapshots_is_a_root() -> None:
    t = SnapshotTree().after_create("first")
    assert shape(t) == [(None, "first", None, True)]


def test_after_create_under_a_parent_goes_after_its_subtree() -> None:
    t = tree(current=1).after_create("new")
    assert [v["name"] for v in t.view()] == ["base", "a", "b", "a", "new", "other"]


def test_after_remove_moves_children_up() -> None:
    t = tree().after_remove(2)
    assert shape(t) == [(1, "base", None, False), (3, "b", 1, True), (4, "a", 1, False), (5, "other", None, False)]
    assert t.by_id(1).children == [3, 4]


def test_after_remove_root_makes_children_roots() -> None:
    t = tree().after_remove(1)
    assert shape(t) == [(2, "a", None, False), (3, "b", 2, True), (4, "a", None, False), (5, "other", None, False)]


def test_after_remove_current_hands_current_to_parent() -> None:
    assert tree().after_remove(3).current == 2
    assert tree(current=1).after_remove(1).current is None  # a root has no parent (vcsim patch 3)


def test_after_remove_children_removes_the_subtree() -> None:
    t = tree().after_remove(2, children=True)
    assert shape(t) == [(1, "base", None, True), (4, "a", 1, False), (5, "other", None, False)]
    assert shape(tree().after_remove(1, children=True)) == [(5, "other", None, False)]


def test_after_remove_missing_and_remove_all_and_revert() -> None:
    assert shape(tree().after_remove(42)) == shape(tree())
    assert tree().after_remove_all().view() == []
    t = tree().after_revert(4)
    assert t.current == 4 and t.diff_view()["current_snapshot"] == "a"


def test_predictions_do_not_touch_the_original() -> None:
    t = tree()
    before = t.view()
    t.after_create("x")
    t.after_remove(1)
    t.after_remove(2, children=True)
    t.after_revert(5)
    assert t.view() == before and t.current == 3


def test_diff_view_and_describe() -> None:
    t = tree()
    assert t.diff_view()["snapshots"][2] == {"id": 3, "name": "b", "parent": 2, "current": True}
    assert describe(t.by_id(3)) == "'b' (id 3)"
    assert describe(t.after_create("n").by_id(NEW)) == "'n' (id new)"


def test_naive_create_time_is_utc() -> None:
    n = node(1, "x")
    n.createTime = datetime.datetime(2026, 1, 1, 0, 0, 0)
    assert SnapshotTree.from_vim([n]).view()[0]["created"] == "2026-01-01T00:00:00+00:00"
