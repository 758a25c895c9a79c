# -*- coding: utf-8 -*-
# Copyright: virtops.compute contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Undo stack for multi-step creates: a failed create leaves nothing behind."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Literal

from .errors import VirtopsError


class UndoStack:
    """Each step registers how to reverse itself; ``rollback`` runs them newest first.

    Use as a context manager: on an exception the stack rolls back and the error is
    re-raised with the name of the step that failed and any rollback failures.
    """

    def __init__(self) -> None:
        self._undo: list[tuple[str, Callable[[], Any]]] = []
        self.current_step: str | None = None
        self.rollback_errors: list[str] = []

    def push(self, description: str, undo: Callable[[], Any]) -> None:
        self._undo.append((description, undo))

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

    def rollback(self) -> list[str]:
        errors: list[str] = []
        while self._undo:
            description, undo = self._undo.pop()
            try:
                undo()
            except Exception as exc:
                errors.append("%s: %s" % (description, exc))
        self.rollback_errors = errors
        return errors

    def discard(self) -> None:
        """Forget the undo steps (the create succeeded)."""
        self._undo = []

    def __enter__(self) -> UndoStack:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> Literal[False]:
        if exc is None:
            self.discard()
            return False
        failed_step = self.current_step
        errors = self.rollback()
        if isinstance(exc, VirtopsError):
            if exc.step is None:
                exc.step = failed_step
            if errors:
                exc.msg += "; rollback also failed: %s" % "; ".join(errors)
            else:
                exc.msg += " (rolled back: nothing was left behind)"
        return False
