"""A XenAPI (xapi) simulator for tests: see ../README.md."""

from __future__ import annotations

from . import api, msg_core, msg_net, msg_storage, msg_vm  # noqa: F401 - importing registers the messages
from .sim import Simulator

api.register_implicit()

__all__ = ["Simulator"]
