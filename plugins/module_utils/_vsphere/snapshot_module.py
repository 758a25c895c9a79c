# -*- coding: utf-8 -*-
# Copyright: virtops.compute contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The flow of ``vmware_snapshot``: one read, a change set planned on the pure tree, predict or apply.

The VM's whole snapshot state (``snapshot.rootSnapshotList`` and ``snapshot.currentSnapshot``,
with its name and power state) is ONE ``RetrievePropertiesEx``; every prediction comes from
:class:`~.snapshots.SnapshotTree`, so ``changed``, ``diff`` and check mode cannot disagree.
"""

from __future__ import annotations

from typing import Any

from ansible_collections.virtops.compute.plugins.module_utils._common.changeset import ChangeSet
from ansible_collections.virtops.compute.plugins.module_utils._common.errors import InvalidInput, NotFound
from ansible_collections.virtops.compute.plugins.module_utils._common.undo import UndoStack

from .power_module import find_target
from .snapshots import NEW, Snapshot, SnapshotTree, describe

SNAPSHOT_PROPS = [
    "name",
    "config.instanceUuid",
    "runtime.powerState",
    "snapshot.rootSnapshotList",
    "snapshot.currentSnapshot",
]


def read_tree(client: Any, vm: Any) -> tuple[dict[str, Any], SnapshotTree]:
    """The VM's name, power state and snapshot tree in ONE ``RetrievePropertiesEx``."""
    props = client.properties(vm, SNAPSHOT_PROPS)
    return props, SnapshotTree.from_vim(props.get("snapshot.rootSnapshotList"), props.get("snapshot.currentSnapshot"))


def validate(params: dict[str, Any]) -> None:
    """Checks ``argument_spec`` cannot express; raised before anything is read or changed."""
    state = params["state"]
    retain = params.get("retain")
    if retain is not None:
        if retain < 1:
            raise InvalidInput("retain", "must be 1 or more, got %d" % retain)
        if state != "present":
            raise InvalidInput("retain", "only applies with state=present")
    if params.get("remove_all") and state != "absent":
        raise InvalidInput("remove_all", "only applies with state=absent")
    if params.get("remove_children") and state != "absent":
        raise InvalidInput("remove_children", "only applies with state=absent")


class SnapshotPlanner:
    def __init__(self, client: Any, vm: Any, props: dict[str, Any], tree: SnapshotTree, params: dict[str, Any]) -> None:
        self.client, self.vm, self.props, self.tree, self.p = client, vm, props, tree, params
        self.timeout = float(params.get("timeout") or 1800)
        self.after = tree
        self.target: Snapshot | None = None
        self.removed: list[dict[str, Any]] = []
        self.created_moid: str | None = None

    def plan(self) -> ChangeSet:
        cs = ChangeSet(self.tree.diff_view())
        state = self.p["state"]
        getattr(self, "_plan_" + state)(cs)
        cs.set_after(self.after.diff_view())
        return cs

    # present --------------------------------------------------------------
    def _plan_present(self, cs: ChangeSet) -> None:
        p, tree = self.p, self.tree
        found = tree.find(p.get("name"), p.get("snapshot_id"))
        if found is None and p.get("snapshot_id"):
            raise NotFound(
                "snapshot_id: no snapshot with id %r (state=present creates snapshots by name only)" % p["snapshot_id"],
                param="snapshot_id",
            )
        if found is None:
            power = self.props.get("runtime.powerState")
            tree = tree.after_create(p["name"], p.get("description") or "", p["memory"], p["quiesce"], power)
            found = tree.by_id(NEW)
            cs.add(
                "create",
                "create snapshot %r (memory=%s, quiesce=%s) as a child of %s"
                % (
                    p["name"],
                    p["memory"],
                    p["quiesce"],
                    describe(self.tree.by_id(self.tree.current)) if self.tree.current is not None else "the VM",
                ),
                self._create,
                params={"name": p["name"], "memory": p["memory"], "quiesce": p["quiesce"]},
            ).reversible("remove the new snapshot %r" % p["name"], self._remove_created)
        if p.get("retain"):
            for victim in tree.retain_victims(p["retain"], keep=found):
                tree = tree.after_remove(victim.id)
                self._remove_op(cs, victim, children=False, why="retain=%d: " % p["retain"])
        self.after, self.target = tree, found

    def _create(self) -> None:
        p = self.p
        snap = self.client.run_task(
            self.vm.CreateSnapshot_Task,
            name=p["name"],
            description=p.get("description") or "",
            memory=p["memory"],
            quiesce=p["quiesce"],
            timeout=self.timeout,
            what="create snapshot %r" % p["name"],
        )
        self.created_moid = getattr(snap, "_moId", None)

    def _remove_created(self) -> None:
        if self.created_moid:
            self.client.run_task(
                self.client.ref("vm.Snapshot", self.created_moid).RemoveSnapshot_Task,
                removeChildren=False,
                consolidate=True,
                timeout=self.timeout,
                what="remove the new snapshot (rollback)",
            )

    def _remove_op(self, cs: ChangeSet, node: Snapshot, children: bool, why: str = "") -> None:
        gone = self.tree.subtree(node.id) if children else [node]
        self.removed.extend({"id": n.id, "moid": n.moid, "name": n.name} for n in gone)
        text = "%sremove snapshot %s%s" % (
            why,
            describe(node),
            " and its %d descendant(s)" % (len(gone) - 1) if children and len(gone) > 1 else "",
        )

        def run() -> None:
            ref = self.client.ref("vm.Snapshot", node.moid)
            self.client.run_task(
                ref.RemoveSnapshot_Task,
                removeChildren=children,
                consolidate=True,
                timeout=self.timeout,
                what="remove snapshot %s" % describe(node),
            )

        cs.add("remove", text, run, params={"id": node.id, "name": node.name, "remove_children": children})

    # absent ----------------------------------------------------------------
    def _plan_absent(self, cs: ChangeSet) -> None:
        p, tree = self.p, self.tree
        if p.get("remove_all"):
            if len(tree):
                self.removed = [{"id": n.id, "moid": n.moid, "name": n.name} for n in tree.nodes]
                cs.add("remove_all", "remove all %d snapshot(s)" % len(tree), self._remove_all)
                self.after = tree.after_remove_all()
            return
        found = tree.find(p.get("name"), p.get("snapshot_id"))
        if found is None:
            return
        self._remove_op(cs, found, children=bool(p.get("remove_children")))
        self.after = tree.after_remove(found.id, children=bool(p.get("remove_children")))

    def _remove_all(self) -> None:
        self.client.run_task(
            self.vm.RemoveAllSnapshots_Task, consolidate=True, timeout=self.timeout, what="remove all snapshots"
        )

    # reverted --------------------------------------------------------------
    def _plan_reverted(self, cs: ChangeSet) -> None:
        found = self.tree.require(self.p.get("name"), self.p.get("snapshot_id"))

        def run() -> None:
            ref = self.client.ref("vm.Snapshot", found.moid)
            self.client.run_task(
                ref.RevertToSnapshot_Task, timeout=self.timeout, what="revert to snapshot %s" % describe(found)
            )

        # reverting is an action: the VM may have changed since the snapshot whatever the tree says
        cs.add(
            "revert", "revert the VM to snapshot %s" % describe(found), run, params={"id": found.id, "name": found.name}
        )
        self.after, self.target = self.tree.after_revert(found.id), found


def result_for(tree: SnapshotTree, target: Snapshot | None) -> dict[str, Any]:
    cur = tree.by_id(tree.current)
    node = tree.by_id(target.id) if target is not None else None
    return {
        "snapshots": tree.view(),
        "current_snapshot": cur.view(tree.current) if cur else None,
        "snapshot": node.view(tree.current) if node else {},
    }


def run_vmware_snapshot(module: Any) -> dict[str, Any]:
    p = module.params
    validate(p)
    backend = module.backend
    client = backend.client
    vm, _inv = find_target(backend, p, name_key="vm_name")
    try:
        props, tree = read_tree(client, vm)
    except NotFound:
        raise NotFound("moid: no VM with moid %r" % p.get("moid"), param="moid") from None
    planner = SnapshotPlanner(client, vm, props, tree, p)
    cs = planner.plan()
    if module.check_mode or not cs.changed:
        result = cs.result(
            "vm", {"name": props.get("name"), "moid": vm._moId, "instance_uuid": props.get("config.instanceUuid")}
        )
        result.update(result_for(planner.after, planner.target))
        result["removed"] = planner.removed
        return result

    with UndoStack() as undo:  # a new snapshot is removed again if a later step (retain) fails
        cs.apply(undo)
    props, after = read_tree(client, vm)
    target = planner.target
    if target is not None and target.id == NEW:
        target = next((n for n in after.nodes if n.moid == planner.created_moid), None)
    elif target is not None:
        target = after.by_id(target.id)
    result = cs.result(
        "vm", {"name": props.get("name"), "moid": vm._moId, "instance_uuid": props.get("config.instanceUuid")}
    )
    result["diff"]["after"] = after.diff_view()
    result.update(result_for(after, target))
    result["removed"] = planner.removed
    return result
