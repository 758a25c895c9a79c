# -*- coding: utf-8 -*-
# Copyright: virtops.compute contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A VM's snapshot tree as plain data, and the pure predictions ``vmware_snapshot`` plans with.

Nothing here talks to vSphere: :meth:`SnapshotTree.from_vim` reads the objects pyvmomi returns
for ``snapshot.rootSnapshotList`` (duck-typed, so tests pass simple namespaces), and every
``after_*`` method returns a new tree, which is how check mode predicts and ``--diff`` shows.
"""

from __future__ import annotations

import copy
import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.virtops.compute.plugins.module_utils._common.errors import (
    Ambiguous,
    InvalidInput,
    NotFound,
)

# A predicted snapshot (check mode) has no id yet: internally -1, shown as null.
NEW = -1


@dataclass
class Snapshot:
    """One node; ``parent`` and ``children`` hold vSphere's per-VM integer snapshot ids."""

    id: int
    moid: str | None
    name: str
    description: str = ""
    created: str | None = None
    state: str | None = None  # the VM's power state in the snapshot: poweredOn (with memory) / poweredOff
    quiesced: bool = False
    parent: int | None = None
    children: list[int] = field(default_factory=list)

    @property
    def public_id(self) -> int | None:
        return None if self.id == NEW else self.id

    def view(self, current: int | None) -> dict[str, Any]:
        return {
            "id": self.public_id,
            "moid": self.moid,
            "name": self.name,
            "description": self.description,
            "created": self.created,
            "state": self.state,
            "quiesced": self.quiesced,
            "parent": self.parent,
            "current": self.id == current,
        }


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.timezone.utc)
        return str(value.astimezone(datetime.timezone.utc).isoformat())
    return str(value)


def _moid(obj: Any) -> str | None:
    if obj is None:
        return None
    if isinstance(obj, str):
        return obj
    found = getattr(obj, "_moId", None) or getattr(obj, "value", None) or getattr(obj, "moid", None)
    return str(found) if found is not None else None


class SnapshotTree:
    """Nodes in pre-order (parents before children, siblings oldest first) plus the current one."""

    def __init__(self, nodes: Sequence[Snapshot] = (), current: int | None = None) -> None:
        self.nodes: list[Snapshot] = [copy.deepcopy(n) for n in nodes]
        self.current = current

    # building ---------------------------------------------------------
    @classmethod
    def from_vim(cls, root_list: Iterable[Any] | None, current: Any = None) -> SnapshotTree:
        """From ``snapshot.rootSnapshotList`` and ``snapshot.currentSnapshot`` (a moref or moid)."""
        nodes: list[Snapshot] = []
        current_moid = _moid(current)
        current_id: int | None = None

        def walk(trees: Iterable[Any], parent: int | None) -> list[int]:
            ids: list[int] = []
            for t in trees or []:
                node = Snapshot(
                    id=int(t.id),
                    moid=_moid(getattr(t, "snapshot", None)),
                    name=str(t.name),
                    description=str(getattr(t, "description", "") or ""),
                    created=_iso(getattr(t, "createTime", None)),
                    state=str(getattr(t, "state", "") or "") or None,
                    quiesced=bool(getattr(t, "quiesced", False)),
                    parent=parent,
                )
                nodes.append(node)
                node.children = walk(getattr(t, "childSnapshotList", None) or [], node.id)
                ids.append(node.id)
            return ids

        walk(root_list or [], None)
        if current_moid is not None:
            current_id = next((n.id for n in nodes if n.moid == current_moid), None)
        return cls(nodes, current_id)

    # reading ----------------------------------------------------------
    def __len__(self) -> int:
        return len(self.nodes)

    def by_id(self, snap_id: int | None) -> Snapshot | None:
        return next((n for n in self.nodes if n.id == snap_id), None)

    def named(self, name: str) -> list[Snapshot]:
        return [n for n in self.nodes if n.name == name]

    def find(self, name: str | None = None, snapshot_id: str | int | None = None) -> Snapshot | None:
        """The snapshot asked for, or ``None``.

        ``snapshot_id`` (vSphere's integer id, or the moid such as ``snapshot-42``) wins over
        ``name``; when both are given they must agree. A name shared by several snapshots is
        :class:`Ambiguous` (the message lists their ids).
        """
        if snapshot_id is not None and str(snapshot_id) != "":
            key = str(snapshot_id).strip()
            found = next((n for n in self.nodes if str(n.id) == key or n.moid == key), None)
            if found is not None and name and found.name != name:
                raise InvalidInput("snapshot_id", "snapshot %s is named %r, not %r" % (key, found.name, name))
            return found
        if not name:
            return None
        matches = self.named(name)
        if len(matches) > 1:
            raise Ambiguous(
                "name: %d snapshots are named %r (ids %s); choose one with snapshot_id"
                % (len(matches), name, ", ".join(str(m.id) for m in matches)),
                param="name",
                details=[m.id for m in matches],
            )
        return matches[0] if matches else None

    def require(self, name: str | None, snapshot_id: str | int | None) -> Snapshot:
        found = self.find(name, snapshot_id)
        if found is None:
            if snapshot_id is not None and str(snapshot_id) != "":
                raise NotFound("snapshot_id: no snapshot with id %r" % str(snapshot_id), param="snapshot_id")
            raise NotFound("name: no snapshot named %r" % name, param="name")
        return found

    def subtree(self, snap_id: int | None) -> list[Snapshot]:
        """The snapshot and all its descendants, pre-order."""
        root = self.by_id(snap_id)
        if root is None:
            return []
        out = [root]
        for child in root.children:
            out.extend(self.subtree(child))
        return out

    def oldest_first(self) -> list[Snapshot]:
        """Every snapshot by creation time (ties: lower id first); predicted ones are the newest."""

        def key(n: Snapshot) -> tuple[int, str, int]:
            if n.id == NEW:
                return (1, "", 0)
            return (0, n.created or "", n.id)

        return sorted(self.nodes, key=key)

    def retain_victims(self, retain: int, keep: Snapshot | None = None) -> list[Snapshot]:
        """The oldest snapshots to remove so that at most ``retain`` remain; ``keep`` is never one."""
        if retain < 1:
            raise InvalidInput("retain", "must be 1 or more, got %d" % retain)
        excess = len(self.nodes) - retain
        if excess <= 0:
            return []
        victims: list[Snapshot] = []
        for n in self.oldest_first():
            if len(victims) == excess:
                break
            if keep is not None and n.id == keep.id:
                continue
            victims.append(n)
        return victims

    def view(self) -> list[dict[str, Any]]:
        return [n.view(self.current) for n in self.nodes]

    def diff_view(self) -> dict[str, Any]:
        """What ``--diff`` shows: names, ids, parents and the current snapshot."""
        cur = self.by_id(self.current)
        return {
            "snapshots": [
                {"id": n.public_id, "name": n.name, "parent": n.parent, "current": n.id == self.current}
                for n in self.nodes
            ],
            "current_snapshot": cur.name if cur else None,
        }

    # predictions --------------------------------------------------------
    def after_create(
        self,
        name: str,
        description: str = "",
        memory: bool = False,
        quiesce: bool = False,
        power_state: str | None = None,
    ) -> SnapshotTree:
        """A new snapshot, child of the current one, becomes current (vSphere's CreateSnapshot)."""
        tree = SnapshotTree(self.nodes, self.current)
        with_memory = bool(memory) and power_state == "poweredOn"
        node = Snapshot(
            id=NEW,
            moid=None,
            name=name,
            description=description or "",
            state="poweredOn" if with_memory else "poweredOff",
            quiesced=bool(quiesce) and power_state == "poweredOn",
            parent=self.current,
        )
        parent = tree.by_id(self.current)
        if parent is None:
            tree.nodes.append(node)
        else:
            last = tree.subtree(parent.id)[-1]
            tree.nodes.insert(tree.nodes.index(last) + 1, node)
            parent.children.append(NEW)
        tree.current = NEW
        return tree

    def after_remove(self, snap_id: int, children: bool = False) -> SnapshotTree:
        """``RemoveSnapshot_Task``: the children move up to the parent unless removed too;
        a removed current snapshot hands "current" to its parent."""
        node = self.by_id(snap_id)
        if node is None:
            return SnapshotTree(self.nodes, self.current)
        gone = {n.id for n in self.subtree(snap_id)} if children else {snap_id}
        tree = SnapshotTree([n for n in self.nodes if n.id not in gone], self.current)
        parent = tree.by_id(node.parent)
        if parent is not None:
            at = parent.children.index(snap_id)
            parent.children[at : at + 1] = [] if children else list(node.children)
        if not children:
            for child in node.children:
                moved = tree.by_id(child)
                if moved is not None:
                    moved.parent = node.parent
        if self.current in gone:
            tree.current = node.parent
        tree._reorder()
        return tree

    def after_remove_all(self) -> SnapshotTree:
        return SnapshotTree([], None)

    def after_revert(self, snap_id: int) -> SnapshotTree:
        return SnapshotTree(self.nodes, snap_id)

    def _reorder(self) -> None:
        """Pre-order again after children moved up (roots keep their relative order)."""
        index = {n.id: n for n in self.nodes}
        roots = [n for n in self.nodes if n.parent is None or n.parent not in index]
        out: list[Snapshot] = []

        def walk(n: Snapshot) -> None:
            out.append(n)
            for child in n.children:
                if child in index:
                    walk(index[child])

        for root in sorted(roots, key=self.nodes.index):
            walk(root)
        self.nodes = out


def describe(node: Snapshot) -> str:
    return "%r (id %s)" % (node.name, node.public_id if node.public_id is not None else "new")
