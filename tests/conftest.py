"""Shared pytest setup: the collection importable as ansible_collections.virtops.compute, and the simulators."""

from __future__ import annotations

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS = os.path.join(ROOT, ".build", "collections")
SIMULATORS = os.path.join(ROOT, "tests", "simulators")


def _ensure_collection_link() -> None:
    """`make collection` does this too; tests must also work when pytest is run directly."""
    link = os.path.join(COLLECTIONS, "ansible_collections", "virtops", "compute")
    if not os.path.exists(link):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(ROOT, link)


_ensure_collection_link()
for path in (COLLECTIONS, SIMULATORS):
    if path not in sys.path:
        sys.path.insert(0, path)

pytest_plugins = ["xapi.pytest_plugin", "vcsim.pytest_plugin"]
