from __future__ import annotations

import xmlrpc.client

import pytest
import XenAPI

from ansible_collections.virtops.compute.plugins.module_utils._common.errors import BackendError, ConnectionFailed
from ansible_collections.virtops.compute.plugins.module_utils._xenapi.session import (
    build_url,
    describe_failure,
    is_transient,
    translate,
)


@pytest.mark.parametrize(
    "host,port,url",
    [
        ("pool1", None, "https://pool1"),
        ("pool1", 8443, "https://pool1:8443"),
        ("localhost", None, "https://localhost"),
        ("http://127.0.0.1:8080", None, "http://127.0.0.1:8080"),
        ("http://127.0.0.1:8080", 9000, "http://127.0.0.1:8080"),
        ("https://pool1/", None, "https://pool1/"),
    ],
)
def test_build_url_defaults_to_https_and_keeps_given_scheme(host, port, url):
    assert build_url(host, port) == url


def test_build_url_rejects_other_schemes():
    with pytest.raises(ConnectionFailed):
        build_url("ftp://pool1")


@pytest.mark.parametrize(
    "exc,read_only,expected",
    [
        (XenAPI.Failure(["OTHER_OPERATION_IN_PROGRESS", "VM", "x"]), False, True),
        (XenAPI.Failure(["INTERNAL_ERROR", "x"]), False, False),
        (XenAPI.Failure(["INTERNAL_ERROR", "x"]), True, True),
        (XenAPI.Failure(["VM_BAD_POWER_STATE", "r", "halted", "running"]), True, False),
        (xmlrpc.client.ProtocolError("u", 503, "Service Unavailable", {}), False, True),
        (xmlrpc.client.ProtocolError("u", 500, "Internal", {}), False, False),
        (ConnectionResetError(), False, False),
        (ConnectionResetError(), True, True),
    ],
)
def test_transient_classification(exc, read_only, expected):
    assert is_transient(exc, read_only) is expected


def test_translate_keeps_the_xapi_code():
    err = translate(XenAPI.Failure(["VDI_IN_USE", "OpaqueRef:1", "destroy"]), "VDI.destroy")
    assert isinstance(err, BackendError)
    assert err.code == "VDI_IN_USE" and err.details == ["OpaqueRef:1", "destroy"]
    assert str(err) == "VDI.destroy failed: VDI_IN_USE: VDI OpaqueRef:1 is in use by another operation (destroy)"
    assert err.to_result()["error"] == {"code": "VDI_IN_USE", "params": ["OpaqueRef:1", "destroy"]}
    assert describe_failure("X", []) == "X"
