# -*- coding: utf-8 -*-
# Copyright: virtops.compute contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Undo stack for multi-step creates and updates: a failure undoes what has an inverse.

Each step registers how to reverse itself (``push``) or that it cannot be reversed
(``irreversible``). On a failure the stack runs the inverses newest first and records on the
error what was applied, what was rolled back and what was left changed, so a failed run can
report ``changed``, ``applied`` and ``rolled_back`` honestly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Literal

from .errors import PowerRestoreFailed, VirtopsError


class UndoStack:
    """Each step registers how to reverse itself; ``rollback`` runs them newest first.

    Use as a context manager: on an exception the stack rolls back and the error is
    re-raised with the name of the step that failed, the steps applied, the inverses run and
    any rollback failures. A failed power-state restore replaces the error with
    :class:`PowerRestoreFailed`, which names the VM's current power state.
    """

    def __init__(self) -> None:
        self._undo: list[tuple[str, Callable[[], Any]]] = []
        self.current_step: str | None = None
        self.rollback_errors: list[str] = []
        self.applied: list[str] = []
        self.rolled_back: list[str] = []
        self.not_undone: list[str] = []
        self._power_failure: PowerRestoreFailed | None = None

    def push(self, description: str, undo: Callable[[], Any]) -> None:
        self._undo.append((description, undo))

    def irreversible(self, description: str) -> None:
        """Record a change that has no inverse (it stays applied if a later step fails)."""
        self.not_undone.append(description)

    def __len__(self) -> int:
        return len(self._undo)

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        previous, self.current_step = self.current_step, name
        try:
            yield
        except VirtopsError as exc:
            if exc.step is None:
                exc.step = name
            raise
        finally:
            self.current_step = previous
        if previous is None:
            self.applied.append(name)

    def rollback(self) -> list[str]:
        errors: list[str] = []
        while self._undo:
            description, undo = self._undo.pop()
            try:
                undo()
            except PowerRestoreFailed as exc:
                errors.append("%s: %s" % (description, exc.msg))
                if self._power_failure is None:
                    self._power_failure = exc
            except Exception as exc:
                errors.append("%s: %s" % (description, getattr(exc, "msg", None) or exc))
            else:
                self.rolled_back.append(description)
        self.rollback_errors = errors
        return errors

    def discard(self) -> None:
        """Forget the undo steps (the change succeeded)."""
        self._undo = []

    def summary(self) -> str:
        """`` (applied: ...; rolled back: ...; ...)``: what a failed run did and undid."""
        parts = ["applied: %s" % (", ".join(self.applied) if self.applied else "nothing")]
        if self.rolled_back:
            parts.append("rolled back: %s" % ", ".join(self.rolled_back))
        if self.not_undone:
            parts.append("left changed (no inverse): %s" % ", ".join(self.not_undone))
        if self.rollback_errors:
            parts.append("rollback also failed: %s" % "; ".join(self.rollback_errors))
        elif not self.not_undone:
            parts.append("nothing was left behind" if self.applied or self.rolled_back else "nothing was changed")
        return " (%s)" % "; ".join(parts)

    def record(self, exc: VirtopsError) -> None:
        exc.changed = exc.changed or bool(self.applied)
        exc.applied = list(self.applied)
        exc.rolled_back = list(self.rolled_back)
        exc.not_undone = list(self.not_undone)

    def __enter__(self) -> UndoStack:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> Literal[False]:
        if exc is None:
            self.discard()
            return False
        failed_step = self.current_step
        self.rollback()
        if not isinstance(exc, VirtopsError):
            return False
        if exc.step is None:
            exc.step = failed_step
        if self._power_failure is not None:
            restore = self._power_failure
            restore.msg = "step '%s' failed: %s%s; restoring the power state also failed: %s" % (
                exc.step,
                exc.msg,
                self.summary(),
                restore.msg,
            )
            restore.step = exc.step
            restore.details = [exc.code, *exc.details]
            self.record(restore)
            restore.changed = True
            raise restore from exc
        exc.msg += self.summary()
        self.record(exc)
        return False


def restore_power_state(
    read_state: Callable[[], str],
    transition_steps: Callable[[str, str], list[str]],
    run_step: Callable[[str], Any],
    original: str,
) -> None:
    """Take a VM back to ``original`` from whatever power state ``read_state()`` says it is in now.

    A failure raises :class:`PowerRestoreFailed` naming the state read after it (None when that read
    fails too); every backend's undo of a power cycle goes through here.
    """
    try:
        for step in transition_steps(read_state(), original):
            run_step(step)
    except VirtopsError as exc:
        try:
            now: str | None = read_state()
        except Exception:
            now = None
        raise PowerRestoreFailed(
            "could not bring the VM back to %s: %s; the VM is now %s"
            % (original, exc.message(), now or "in an unknown power state (reading it failed too)"),
            power_state=now,
            expected=original,
        ) from exc
