from __future__ import annotations

import builtins
import http.client
import socket
import ssl
import xmlrpc.client

import pytest

from ansible_collections.virtops.compute.plugins.module_utils._common.connection import check_ca_path, explain
from ansible_collections.virtops.compute.plugins.module_utils._common.errors import InvalidInput
from ansible_collections.virtops.compute.plugins.module_utils._xenapi.session import translate

EP = "https://pool1:443"


def _wrapped(inner: BaseException) -> BaseException:
    """An SDK-style wrapper that keeps the real error as its context."""
    try:
        try:
            raise inner
        except BaseException:
            raise OSError("wrapped") from None
    except OSError as outer:
        outer.__cause__ = inner
        return outer


@pytest.mark.parametrize(
    "exc,tls,code,text",
    [
        (ConnectionRefusedError(111, "refused"), True, "CONNECTION_REFUSED", EP + " refused the connection"),
        (socket.gaierror(-2, "Name or service not known"), True, "NAME_RESOLUTION_FAILED", "the host name of " + EP),
        (TimeoutError("timed out"), True, "CONNECTION_TIMEOUT", EP + " did not answer within 5s (api_timeout)"),
        (http.client.RemoteDisconnected("x"), False, "CONNECTION_CLOSED", EP + " closed the connection without"),
        (ConnectionResetError(104, "reset"), True, "CONNECTION_CLOSED", EP + " reset the connection; the server"),
        (http.client.BadStatusLine("SSH-2.0\r\n"), False, "CONNECTION_CLOSED", "bad status line 'SSH-2.0\\r\\n'"),
        (_wrapped(ConnectionRefusedError(111, "refused")), True, "CONNECTION_REFUSED", "refused the connection"),
        (OSError(99, "Cannot assign"), True, "CONNECTION_FAILED", "cannot talk to %s: OSError: [Errno 99]" % EP),
    ],
)
def test_explain_names_the_endpoint_and_the_cause(exc, tls, code, text):
    got_code, got_text = explain(exc, EP, tls=tls, timeout=5)
    assert got_code == code and text in got_text, got_text


def test_wrong_version_number_is_tls_against_a_plain_port():
    err = ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1006)")
    err.reason = "WRONG_VERSION_NUMBER"
    assert explain(err, EP, tls=True) == (
        "TLS_NOT_SPOKEN",
        EP + " does not speak TLS on that port (SSL WRONG_VERSION_NUMBER): it looks like a plain HTTP port; "
        "use http:// for a plain endpoint, or the port that serves https",
    )
    assert explain(err, EP, tls=True, plain_ok=False)[1].endswith("it looks like a plain HTTP port; check port")


def test_plain_http_against_tls_hints_https_only_for_http_urls():
    assert explain(ConnectionResetError(104, "x"), "http://pool1", tls=False)[1] == (
        "http://pool1 reset the connection; if the server speaks TLS on that port (xapi and vCenter do on 443), "
        "use https://"
    )


def test_a_connection_dropped_after_earlier_calls_worked_gets_no_scheme_hint():
    assert explain(http.client.RemoteDisconnected("x"), "http://pool1", tls=False, established=True)[1] == (
        "http://pool1 closed the connection without a reply; the server or a proxy in between dropped the request"
    )


def test_xen_http_400_on_a_plain_url_hints_https():
    exc = xmlrpc.client.ProtocolError("pool1", 400, "Bad Request", {})
    assert str(translate(exc, "session.login_with_password", "http://pool1:443")) == (
        "session.login_with_password: http://pool1:443 answered HTTP 400 Bad Request; if the server speaks TLS on "
        "that port (xapi does on 443), use https://"
    )


def test_ca_path_unreadable_names_the_option_and_the_file(tmp_path, monkeypatch):
    path = tmp_path / "ca.pem"
    path.write_text("-----BEGIN CERTIFICATE-----\n")
    real_open = builtins.open

    def deny(file, *args, **kwargs):
        if str(file) == str(path):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", deny)
    with pytest.raises(InvalidInput) as err:
        check_ca_path(str(path))
    assert err.value.param == "ca_path"
    assert str(err.value) == "ca_path: cannot read the CA file %s: Permission denied" % path


def test_ca_path_none_is_fine_and_a_real_pem_passes(tmp_path):
    from xapi.xapisim.tlsgen import make_certs

    check_ca_path(None)
    ca = make_certs(str(tmp_path))[0]
    assert (tmp_path / "ca.pem").read_text().startswith("-----BEGIN CERTIFICATE-----")
    check_ca_path(ca)  # no exception
