"""Wire marshalling: internal values <-> XML-RPC / JSON-RPC values."""

from __future__ import annotations

import xmlrpc.client
from typing import Any

from .model import DT


def to_xmlrpc(v: Any) -> Any:
    t = type(v)
    if t is str or t is bool or t is float:
        return v
    if t is int:
        return str(v)
    if t is DT:
        return xmlrpc.client.DateTime(str(v))
    if t is dict:
        return {(k if isinstance(k, str) else str(k)): to_xmlrpc(x) for k, x in v.items()}
    if t is list or t is tuple:
        return [to_xmlrpc(x) for x in v]
    if v is None:
        return ""
    if isinstance(v, str):
        return str(v)
    return v


def to_json(v: Any) -> Any:
    t = type(v)
    if t is str or t is bool or t is float or t is int:
        return v
    if t is DT:
        return str(v)
    if t is dict:
        return {(k if isinstance(k, str) else str(k)): to_json(x) for k, x in v.items()}
    if t is list or t is tuple:
        return [to_json(x) for x in v]
    if v is None:
        return ""
    if isinstance(v, str):
        return str(v)
    return v


def from_xmlrpc(v: Any) -> Any:
    """Normalise decoded XML-RPC params (DateTime -> DT)."""
    if isinstance(v, xmlrpc.client.DateTime):
        return DT(v.value)
    if isinstance(v, list):
        return [from_xmlrpc(x) for x in v]
    if isinstance(v, dict):
        return {k: from_xmlrpc(x) for k, x in v.items()}
    return v


def success(value: Any) -> dict[str, Any]:
    return {"Status": "Success", "Value": value}


def failure(description: list[str]) -> dict[str, Any]:
    return {"Status": "Failure", "ErrorDescription": description}


def xmlrpc_response(envelope: dict[str, Any]) -> bytes:
    return xmlrpc.client.dumps((envelope,), methodresponse=True, allow_none=False).encode("utf-8")
