# -*- coding: utf-8 -*-
# Copyright: virtops.compute contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One XenAPI session per module run: https by default, verified TLS, typed errors, logout at exit."""

from __future__ import annotations

import http.client
import socket
import ssl
import xmlrpc.client
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ansible_collections.virtops.compute.plugins.module_utils._common.connection import check_ca_path, explain
from ansible_collections.virtops.compute.plugins.module_utils._common.errors import (
    AuthenticationFailed,
    ConnectionFailed,
    MissingLibrary,
)
from ansible_collections.virtops.compute.plugins.module_utils._common.retry import retry

from .errors import Resolver, backend_error, describe_failure

__all__ = ["XenAPIConnection", "build_url", "describe_failure", "is_transient", "translate"]

try:
    import XenAPI  # type: ignore[import-not-found]

    HAS_XENAPI = True
    XENAPI_IMPORT_ERROR: str | None = None
except ImportError as _exc:  # pragma: no cover - exercised by the sanity import test
    XenAPI = None
    HAS_XENAPI = False
    XENAPI_IMPORT_ERROR = str(_exc)

# xapi error codes after which the same call may be sent again: the operation did not happen.
TRANSIENT_CODES = frozenset(
    {"OTHER_OPERATION_IN_PROGRESS", "HOST_STILL_BOOTING", "TOO_BUSY", "HOST_IS_SLAVE_TRANSIENT"}
)
# Read-only calls may also be retried after errors that say nothing about the server's state.
READ_TRANSIENT_CODES = TRANSIENT_CODES | {"INTERNAL_ERROR"}
RETRYABLE_HTTP_STATUS = frozenset({502, 503, 504})


def build_url(hostname: str, port: int | None = None) -> str:
    """``pool1`` -> ``https://pool1``; a URL keeps its scheme; ``port`` fills in a missing port."""
    text = hostname.strip()
    if "://" not in text:
        text = "https://" + text
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https"):
        raise ConnectionFailed("hostname: unsupported scheme %r (use https:// or http://)" % parts.scheme)
    if not parts.hostname:
        raise ConnectionFailed("hostname: no host name in %r" % hostname)
    netloc = parts.netloc
    if port is not None and parts.port is None:
        netloc = "%s:%d" % (netloc, port)
    return urlunsplit((parts.scheme, netloc, parts.path or "", "", ""))


def ssl_context(validate_certs: bool, ca_path: str | None = None) -> ssl.SSLContext:
    if not validate_certs:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return ctx
    ctx = ssl.create_default_context(cafile=ca_path) if ca_path else ssl.create_default_context()
    return ctx


class _Transport(xmlrpc.client.SafeTransport):
    """XML-RPC transport with a socket timeout and an explicit TLS context."""

    def __init__(self, https: bool, context: ssl.SSLContext | None, timeout: float) -> None:
        super().__init__(use_datetime=False, context=context)
        self._https = https
        self._timeout = timeout

    def make_connection(self, host: Any) -> http.client.HTTPConnection:
        if self._connection and host == self._connection[0]:
            return self._connection[1]
        chost, self._extra_headers, _x509 = self.get_host_info(host)
        conn: http.client.HTTPConnection
        if self._https:
            conn = http.client.HTTPSConnection(chost, timeout=self._timeout, context=self.context)
        else:
            conn = http.client.HTTPConnection(chost, timeout=self._timeout)
        self._connection = host, conn
        return conn


def failure_details(exc: BaseException) -> list | None:
    details = getattr(exc, "details", None)
    if XenAPI is not None and isinstance(exc, XenAPI.Failure) and isinstance(details, list) and details:
        return [str(d) for d in details]
    return None


def is_transient(exc: BaseException, read_only: bool = False) -> bool:
    details = failure_details(exc)
    if details:
        return details[0] in (READ_TRANSIENT_CODES if read_only else TRANSIENT_CODES)
    if isinstance(exc, xmlrpc.client.ProtocolError):
        return exc.errcode in RETRYABLE_HTTP_STATUS
    return read_only and isinstance(exc, (ConnectionError, http.client.HTTPException, socket.timeout))


def translate(
    exc: BaseException,
    method: str,
    url: str | None = None,
    timeout: float | None = None,
    args: Sequence[Any] = (),
    resolve: Resolver | None = None,
    established: bool = False,
) -> Exception:
    """Turn an SDK/transport exception into a typed virtops error (``url``: the endpoint, for the message;
    ``args`` and ``resolve``: to name the objects a xapi failure is about)."""
    details = failure_details(exc)
    if details:
        return backend_error(method, details[0], details[1:], method=method, args=args, resolve=resolve)
    endpoint = url or "the XenAPI endpoint"
    tls = bool(url and url.startswith("https://"))
    if isinstance(exc, xmlrpc.client.ProtocolError):
        hint = ""
        if exc.errcode == 400 and not tls:
            hint = "; if the server speaks TLS on that port (xapi does on 443), use https://"
        return ConnectionFailed("%s: %s answered HTTP %s %s%s" % (method, endpoint, exc.errcode, exc.errmsg, hint))
    if isinstance(exc, (OSError, http.client.HTTPException, xmlrpc.client.Fault)):
        code, text = explain(exc, endpoint, tls=tls, timeout=timeout, established=established)
        return ConnectionFailed("%s: connection to the XenAPI endpoint failed: %s" % (method, text), code=code)
    return exc if isinstance(exc, Exception) else Exception(str(exc))


class XenAPIConnection:
    """Thin wrapper over ``XenAPI.Session``: typed errors, retry of safe calls, one logout."""

    def __init__(
        self,
        hostname: str,
        username: str,
        password: str | None,
        port: int | None = None,
        validate_certs: bool = True,
        ca_path: str | None = None,
        api_timeout: float = 60,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        if not HAS_XENAPI:
            raise MissingLibrary("XenAPI", XENAPI_IMPORT_ERROR)
        self.url = build_url(hostname, port)
        https = self.url.startswith("https://")
        if https and validate_certs:
            check_ca_path(ca_path)
        context = ssl_context(validate_certs, ca_path) if https else None
        self._transport = _Transport(https, context, float(api_timeout))
        self._session = XenAPI.Session(self.url, transport=self._transport)
        self._username = username
        self._password = password
        self._logged_in = False
        self._sleep = sleep
        self._resolving = False

    # session ----------------------------------------------------------
    def login(self) -> None:
        try:
            self._session.xenapi.login_with_password(self._username, self._password or "", "2.21", "virtops.compute")
        except Exception as exc:
            details = failure_details(exc)
            if details and details[0] == "SESSION_AUTHENTICATION_FAILED":
                raise AuthenticationFailed(
                    "login to %s as %r failed: the user name or password is wrong" % (self.url, self._username),
                    code="SESSION_AUTHENTICATION_FAILED",
                ) from None
            raise translate(exc, "session.login_with_password", self.url, self._transport._timeout) from None
        self._logged_in = True

    def logout(self) -> None:
        if not self._logged_in:
            return
        self._logged_in = False
        try:
            self._session.xenapi.session.logout()
        finally:
            self._transport.close()

    @property
    def session_ref(self) -> str:
        return self._session._session

    # calls --------------------------------------------------------------
    def call(self, method: str, *args: Any, read_only: bool = False, attempts: int = 4) -> Any:
        """Call ``Class.message`` with the session; retry only the transient errors."""
        target: Any = self._session.xenapi
        for part in method.split("."):
            target = getattr(target, part)

        def once() -> Any:
            return target(*args)

        kwargs: dict[str, Any] = {}
        if self._sleep is not None:
            kwargs["sleep"] = self._sleep
        try:
            return retry(
                once, lambda e: is_transient(e, read_only), attempts=attempts, base_delay=0.25, max_delay=2.0, **kwargs
            )
        except Exception as exc:
            raise translate(
                exc, method, self.url, self._transport._timeout, args, self.read_field, established=self._logged_in
            ) from None

    def read_field(self, cls: str, field: str, ref: str) -> Any:
        """One ``<cls>.get_<field>`` read, to name the objects of an error; None when it cannot be read."""
        if self._resolving or not self._logged_in:
            return None
        self._resolving = True
        try:
            return self.call("%s.get_%s" % (cls, field), ref, read_only=True, attempts=1)
        except Exception:
            return None
        finally:
            self._resolving = False

    def http_target(self) -> tuple[str, ssl.SSLContext | None, float]:
        return self.url, self._transport.context, self._transport._timeout
