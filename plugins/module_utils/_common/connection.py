# -*- coding: utf-8 -*-
# Copyright: virtops.compute contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection failures a user can act on: the endpoint named, the likely cause given.

Shared by every backend (no SDK import). :func:`explain` turns a socket, TLS or HTTP-layer
exception into ``(code, text)``; :func:`check_ca_path` refuses an unusable ``ca_path`` before any
connection is tried.
"""

from __future__ import annotations

import http.client
import os
import socket
import ssl

from .errors import InvalidInput

# The TLS alert / reason strings OpenSSL gives when the peer does not speak TLS on that port.
_NOT_TLS_REASONS = ("WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "PACKET_LENGTH_TOO_LONG", "HTTP_REQUEST")
_NOT_TLS_TEXT = ("wrong version number", "record layer failure", "packet length too long", "http request")


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and its causes/contexts, outermost first (SDKs often wrap the socket error)."""
    seen: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and cur not in seen:
        seen.append(cur)
        cur = cur.__cause__ or cur.__context__
        # urllib-style wrappers keep the real error in ``reason``
        reason = getattr(seen[-1], "reason", None)
        if cur is None and isinstance(reason, BaseException):
            cur = reason
    return seen


def _is_not_tls(exc: BaseException) -> bool:
    if not isinstance(exc, ssl.SSLError) or isinstance(exc, ssl.SSLCertVerificationError):
        return False
    reason = str(getattr(exc, "reason", "") or "").upper()
    text = str(exc).lower()
    return reason in _NOT_TLS_REASONS or any(t in text for t in _NOT_TLS_TEXT)


def explain(
    exc: BaseException,
    endpoint: str,
    *,
    tls: bool,
    timeout: float | None = None,
    plain_ok: bool = True,
    established: bool = False,
) -> tuple[str, str]:
    """``(code, text)`` for a failure talking to ``endpoint`` (a URL or ``host:port``).

    ``tls`` says whether https was used; the hint for a plain/TLS mismatch depends on it, and on
    ``plain_ok`` (whether the backend can speak plain http at all) and ``established`` (earlier calls
    on this endpoint worked, so a dropped connection is not a scheme mistake).
    """
    chain = _chain(exc)
    for err in chain:
        if isinstance(err, ssl.SSLCertVerificationError):
            return (
                "CERTIFICATE_VERIFY_FAILED",
                "cannot verify the TLS certificate of %s: %s; give the CA that signed it with ca_path, "
                "or, only for a test system, set validate_certs=false" % (endpoint, err.verify_message or err),
            )
        if isinstance(err, socket.gaierror):
            return (
                "NAME_RESOLUTION_FAILED",
                "the host name of %s does not resolve (DNS: %s); check the spelling of hostname" % (endpoint, err),
            )
        if isinstance(err, ConnectionRefusedError):
            return (
                "CONNECTION_REFUSED",
                "%s refused the connection (nothing listens on that port); check hostname and port, "
                "and that the service runs there" % endpoint,
            )
        if isinstance(err, (socket.timeout, TimeoutError)):
            secs = " within %gs (api_timeout)" % timeout if timeout else ""
            return (
                "CONNECTION_TIMEOUT",
                "%s did not answer%s; the host may be down, or a firewall drops the traffic" % (endpoint, secs),
            )
        if _is_not_tls(err):
            fix = "use http:// for a plain endpoint, or the port that serves https" if plain_ok else "check port"
            return (
                "TLS_NOT_SPOKEN",
                "%s does not speak TLS on that port (SSL %s): it looks like a plain HTTP port; %s"
                % (endpoint, _reason(err), fix),
            )
    root = chain[-1]
    closed = (ConnectionAbortedError, ConnectionResetError, BrokenPipeError, http.client.BadStatusLine, ssl.SSLEOFError)
    if isinstance(root, closed):
        kind = _describe_closed(root)
        if not tls and not established:
            return (
                "CONNECTION_CLOSED",
                "%s %s; if the server speaks TLS on that port (xapi and vCenter do on 443), use https://"
                % (endpoint, kind),
            )
        return ("CONNECTION_CLOSED", "%s %s; the server or a proxy in between dropped the request" % (endpoint, kind))
    return ("CONNECTION_FAILED", "cannot talk to %s: %s" % (endpoint, _text(root)))


def _reason(err: BaseException) -> str:
    reason = getattr(err, "reason", None)
    return str(reason) if reason else _text(err)


def _text(err: BaseException) -> str:
    text = str(err)
    return "%s: %s" % (type(err).__name__, text) if text else type(err).__name__


def _describe_closed(err: BaseException) -> str:
    if isinstance(err, http.client.RemoteDisconnected):
        return "closed the connection without a reply"
    if isinstance(err, http.client.BadStatusLine):
        return "did not answer with HTTP (bad status line %r)" % (getattr(err, "line", "") or str(err))
    if isinstance(err, ConnectionResetError):
        return "reset the connection"
    return "closed the connection (%s)" % _text(err)


def check_ca_path(ca_path: str | None, option: str = "ca_path") -> None:
    """Refuse a ``ca_path`` that is missing, unreadable or holds no PEM certificate (option and file named)."""
    if not ca_path:
        return
    if not os.path.exists(ca_path):
        raise InvalidInput(option, "the CA file %s does not exist" % ca_path)
    if os.path.isdir(ca_path):
        raise InvalidInput(option, "%s is a directory; give the path of a PEM file with the CA certificates" % ca_path)
    try:
        with open(ca_path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise InvalidInput(option, "cannot read the CA file %s: %s" % (ca_path, exc.strerror or exc)) from None
    if b"-----BEGIN CERTIFICATE-----" not in data:
        raise InvalidInput(
            option,
            "%s holds no PEM certificate (no '-----BEGIN CERTIFICATE-----' line); convert a DER file with "
            "'openssl x509 -inform der -in FILE -out FILE.pem'" % ca_path,
        )
    try:
        ssl.create_default_context().load_verify_locations(cafile=ca_path)
    except ssl.SSLError as exc:
        raise InvalidInput(option, "%s is not a valid PEM certificate file: %s" % (ca_path, _reason(exc))) from None
