# -*- coding: utf-8 -*-
# Copyright: virtops.compute contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The change set: one comparison of desired with current state.

``changed``, ``diff``, the check-mode prediction and the list of operations all come
from one :class:`ChangeSet`, so they cannot disagree.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Operation:
    """One step of a change, in the order it must run.

    ``run`` performs the step (a closure over the backend); ``needs_halt`` marks
    steps xapi/vSphere only allow on a halted VM; ``undo`` (optional) reverses it when a
    later step fails (``undo_description`` says how); a step without ``undo`` is reported as
    left changed.
    """

    name: str
    description: str
    run: Callable[[], Any] | None = None
    needs_halt: bool = False
    params: dict[str, Any] = field(default_factory=dict)
    undo: Callable[[], Any] | None = None
    undo_description: str | None = None
    # parts of a step its inverse cannot reverse (reported as left changed if a later step fails)
    left_changed: list[str] = field(default_factory=list)

    def reversible(self, description: str, undo: Callable[[], Any]) -> Operation:
        self.undo_description, self.undo = description, undo
        return self

    def to_result(self) -> dict[str, Any]:
        result: dict[str, Any] = {"operation": self.name, "description": self.description}
        if self.needs_halt:
            result["needs_halt"] = True
        if self.params:
            result["params"] = self.params
        return result


class ChangeSet:
    """Ordered operations plus the ``before`` and predicted ``after`` views of an object."""

    def __init__(self, before: dict[str, Any] | None) -> None:
        self.before = copy.deepcopy(before) if before is not None else None
        self.after: dict[str, Any] | None = copy.deepcopy(before) if before is not None else None
        self.operations: list[Operation] = []

    # building ---------------------------------------------------------
    def add(
        self,
        name: str,
        description: str,
        run: Callable[[], Any] | None = None,
        *,
        needs_halt: bool = False,
        params: dict[str, Any] | None = None,
    ) -> Operation:
        op = Operation(name, description, run, needs_halt, dict(params or {}))
        self.operations.append(op)
        return op

    def set_after(self, after: dict[str, Any] | None) -> None:
        self.after = copy.deepcopy(after) if after is not None else None

    def update_after(self, path: list[str], value: Any) -> None:
        """Set ``after[path...] = value`` creating intermediate dicts."""
        if self.after is None:
            self.after = {}
        node = self.after
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = copy.deepcopy(value)

    # reading ----------------------------------------------------------
    @property
    def changed(self) -> bool:
        return bool(self.operations)

    @property
    def needs_halt(self) -> bool:
        return any(op.needs_halt for op in self.operations)

    def halt_reasons(self) -> list[str]:
        return [op.description for op in self.operations if op.needs_halt]

    @property
    def diff(self) -> dict[str, Any]:
        return {"before": _diff_side(self.before), "after": _diff_side(self.after)}

    def summary(self) -> list[dict[str, Any]]:
        return [op.to_result() for op in self.operations]

    def result(self, obj_key: str, obj: dict[str, Any] | None = None) -> dict[str, Any]:
        """The module result for this change set; ``obj`` defaults to the prediction."""
        return {
            "changed": self.changed,
            "diff": self.diff,
            "changes": self.summary(),
            obj_key: obj if obj is not None else (copy.deepcopy(self.after) if self.after is not None else {}),
        }

    # applying ---------------------------------------------------------
    def apply(self, undo: Any = None) -> None:
        """Run every operation in order; on error the step name is attached. Under ``undo`` (an
        :class:`~.undo.UndoStack`) each applied step registers its inverse, or that it has none."""
        from .errors import VirtopsError  # local import keeps this module dependency free

        for op in self.operations:
            if op.run is None:
                continue
            if undo is not None:
                with undo.step(op.name):
                    op.run()
                if op.undo is not None:
                    undo.push(op.undo_description or "undo " + op.name, op.undo)
                    for part in op.left_changed:
                        undo.irreversible(part)
                else:
                    undo.irreversible(op.description)
                continue
            try:
                op.run()
            except VirtopsError as exc:
                if exc.step is None:
                    exc.step = op.name
                raise


def _diff_side(value: dict[str, Any] | None) -> dict[str, Any]:
    # Ansible's diff callback renders dicts; an absent object is shown as {}.
    return copy.deepcopy(value) if value is not None else {}
