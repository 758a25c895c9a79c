# -*- coding: utf-8 -*-
# Copyright: virtops.compute contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The vSphere connection: pyvmomi behind one small client, no Ansible import.

Every read goes through the PropertyCollector (``RetrievePropertiesEx``) with the exact property
paths needed, never attribute by attribute: pyvmomi >= 8 turns each attribute read of a managed
object into its own ``Fetch`` round trip. Faults become the typed errors of ``_common.errors``.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from ansible_collections.virtops.compute.plugins.module_utils._common.connection import check_ca_path, explain
from ansible_collections.virtops.compute.plugins.module_utils._common.errors import (
    AuthenticationFailed,
    BackendError,
    ConnectionFailed,
    MissingLibrary,
    NotFound,
    TaskFailed,
    VirtopsError,
)
from ansible_collections.virtops.compute.plugins.module_utils._common.retry import retry
from ansible_collections.virtops.compute.plugins.module_utils._common.waiter import Waiter

try:
    from pyVim.connect import SmartStubAdapter
    from pyVmomi import vim, vmodl

    HAS_PYVMOMI = True
    PYVMOMI_IMPORT_ERROR: str | None = None
except ImportError as _exc:  # pragma: no cover - depends on the controller
    HAS_PYVMOMI = False
    PYVMOMI_IMPORT_ERROR = str(_exc)
    vim = vmodl = SmartStubAdapter = None

# Big enough that one page usually holds the whole inventory; a vCenter may still cut the answer into
# pages (see retrieve(); the tests make vcsim do so with its -pc-page-size).
MAX_OBJECTS = 100000


def require_pyvmomi() -> None:
    if not HAS_PYVMOMI:
        raise MissingLibrary("pyvmomi", PYVMOMI_IMPORT_ERROR)


def fault_name(exc: BaseException) -> str:
    """``vim.fault.InvalidPowerState`` -> ``InvalidPowerState``; other exceptions: their class name."""
    return type(exc).__name__.rsplit(".", 1)[-1]


def fault_message(exc: BaseException) -> str:
    msg = getattr(exc, "msg", None) or getattr(exc, "localizedMessage", None)
    if not msg:
        for fm in getattr(exc, "faultMessage", None) or []:
            msg = getattr(fm, "message", None)
            if msg:
                break
    return str(msg or exc or fault_name(exc))


def translate(exc: BaseException, what: str | None = None) -> VirtopsError:
    """A pyvmomi fault (or socket error) as a typed error; ``code`` is the fault's name."""
    if isinstance(exc, VirtopsError):
        return exc
    name = fault_name(exc)
    prefix = "%s: " % what if what else ""
    text = "%s%s: %s" % (prefix, name, fault_message(exc))
    if name in ("InvalidLogin", "NotAuthenticated", "NoPermission"):
        return AuthenticationFailed(text, code=name)
    if name == "ManagedObjectNotFound":
        return NotFound(text, code=name)
    if isinstance(exc, (ssl.SSLError, socket.error, ConnectionError)):
        return ConnectionFailed(text, code="CONNECTION_FAILED")
    return BackendError(text, code=name)


RETRYABLE_HTTP = ("502", "503", "504")


def _transient(exc: BaseException, read_only: bool) -> bool:
    """Refused before it ran (HTTP 502/503/504): safe to send again. A dropped connection: only reads."""
    if isinstance(exc, http.client.HTTPException) and str(exc).startswith(RETRYABLE_HTTP):
        return True
    return read_only and isinstance(exc, (ConnectionError, http.client.HTTPException, socket.timeout))


def _pc_types() -> Any:
    return vmodl.query.PropertyCollector


class VSphereClient:
    """One logged-in vSphere session.

    ``content`` is the ServiceContent read at connect time (a data object: reading its fields
    costs nothing). ``calls`` counts the SOAP calls this client made itself (not connect).
    """

    def __init__(
        self,
        si: Any,
        content: Any,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.si = si
        self.content = content
        self.stub = si._stub
        self.sleep = sleep
        self.clock = clock
        self._views: dict[tuple[str, ...], Any] = {}
        self.calls = 0

    # connection ------------------------------------------------------------
    @classmethod
    def connect(
        cls,
        hostname: str,
        username: str,
        password: str | None,
        port: int = 443,
        validate_certs: bool = True,
        ca_path: str | None = None,
        timeout: int = 60,
    ) -> VSphereClient:
        """Connect as ``SmartConnect`` does, with verified TLS unless ``validate_certs`` is false.

        ``SmartStubAdapter`` (SmartConnect's own first half: API version negotiation over a plain
        HTTPS GET of ``/sdk/vimServiceVersions.xml``), then ``RetrieveServiceContent`` + ``Login``:
        two SOAP calls, the same as ``SmartConnect``, but the ServiceContent is kept instead of
        being read again. ``ssl.create_default_context(cafile=ca_path)`` verifies the certificate
        and host name (even for 127.0.0.1, where pyvmomi would otherwise skip verification).
        """
        require_pyvmomi()
        port = int(port or 443)
        kwargs: dict[str, Any] = {"host": hostname, "port": port, "httpConnectionTimeout": timeout}
        if validate_certs:
            check_ca_path(ca_path)
            kwargs["sslContext"] = ssl.create_default_context(cafile=ca_path)
        else:
            kwargs["disableSslCertValidation"] = True
        where = "https://%s:%s" % (hostname, port)
        # pyvmomi's version probe (a plain HTTPS GET) opens its socket without a timeout: bound it too.
        previous_timeout = socket.getdefaulttimeout()
        socket.setdefaulttimeout(timeout)
        try:
            stub = SmartStubAdapter(**kwargs)
            si = vim.ServiceInstance("ServiceInstance", stub)
            content = si.RetrieveContent()
            content.sessionManager.Login(username, password or "", None)
        except vim.fault.InvalidLogin as exc:
            raise AuthenticationFailed(
                "login to %s as %r failed: %s" % (where, username, fault_message(exc)), code="InvalidLogin"
            ) from None
        except vmodl.MethodFault as exc:
            raise translate(exc, "connect to %s" % where) from None
        except (OSError, ssl.SSLError, http.client.HTTPException) as exc:
            code, text = explain(exc, where, tls=True, timeout=timeout, plain_ok=False)
            raise ConnectionFailed(text, code=code) from None
        finally:
            socket.setdefaulttimeout(previous_timeout)
        return cls(si, content)

    def close(self) -> None:
        """Log out (one ``Logout`` call); container views die with the session."""
        si, self.si = self.si, None
        if si is None:
            return
        self._views = {}
        try:
            self.content.sessionManager.Logout()
        except Exception as exc:  # a session that is gone is logged out
            if fault_name(exc) not in ("NotAuthenticated",):
                raise translate(exc, "logout") from None

    # calls -----------------------------------------------------------------
    def call(
        self,
        method: Callable[..., Any],
        *args: Any,
        what: str | None = None,
        read_only: bool = False,
        attempts: int = 4,
        **kwargs: Any,
    ) -> Any:
        """Call one API method; faults raise typed errors (code = fault name).

        HTTP 502/503/504 (the server or a proxy refused the request before running it) are retried
        for every call; a dropped connection only for ``read_only`` calls, where a retry is safe.
        """

        def once() -> Any:
            self.calls += 1
            return method(*args, **kwargs)

        try:
            return retry(
                once,
                lambda e: _transient(e, read_only),
                attempts=attempts,
                base_delay=0.25,
                max_delay=2.0,
                sleep=self.sleep,
            )
        except vmodl.MethodFault as exc:
            raise translate(exc, what) from None
        except http.client.HTTPException as exc:
            status = str(exc).split(" ", 1)[0]
            code = "HTTP_%s" % status if status.isdigit() else "CONNECTION_FAILED"
            raise ConnectionFailed(
                "%sthe vSphere endpoint answered %s" % ("%s: " % what if what else "", exc), code=code
            ) from None
        except (OSError, ssl.SSLError) as exc:
            raise ConnectionFailed("%s%s" % ("%s: " % what if what else "", exc)) from None

    def ref(self, kind: str | type, moid: str) -> Any:
        """A managed object stub for ``moid`` (no call). ``kind`` e.g. ``"VirtualMachine"``."""
        klass = getattr(vim, kind) if isinstance(kind, str) else kind
        return klass(moid, self.stub)

    # property collector ------------------------------------------------------
    def retrieve(self, specs: Sequence[Any]) -> list[Any]:
        """``RetrievePropertiesEx`` with all ``specs`` in ONE call; follows continuation tokens.

        Returns the ``ObjectContent`` list. A server may cut a large answer into pages whatever
        ``MAX_OBJECTS`` asks (one ``ContinueRetrievePropertiesEx`` each).
        """
        pc = self.content.propertyCollector
        options = _pc_types().RetrieveOptions(maxObjects=MAX_OBJECTS)
        result = self.call(
            pc.RetrievePropertiesEx, specSet=list(specs), options=options, what="read properties", read_only=True
        )
        objects: list[Any] = []
        while result is not None:
            objects.extend(result.objects or [])
            token = result.token
            if not token:
                break
            result = self.call(pc.ContinueRetrievePropertiesEx, token=token, what="read properties", read_only=True)
        return objects

    def properties(self, obj: Any, paths: Iterable[str]) -> dict[str, Any]:
        """The values of ``paths`` of one object, in ONE call. Unset properties are absent.

        Raises :class:`NotFound` (code ``ManagedObjectNotFound``) when the object does not exist.
        """
        return self.properties_of([(obj, list(paths))])[obj._moId]

    def properties_of(self, wanted: Sequence[tuple[Any, list[str]]]) -> dict[str, dict[str, Any]]:
        """Several objects' properties in ONE call: ``{moid: {path: value}}``."""
        PC = _pc_types()
        specs = []
        for obj, paths in wanted:
            specs.append(
                PC.FilterSpec(
                    objectSet=[PC.ObjectSpec(obj=obj, skip=False)],
                    propSet=[PC.PropertySpec(type=type(obj), pathSet=list(paths), all=False)],
                )
            )
        out: dict[str, dict[str, Any]] = {obj._moId: {} for obj, _paths in wanted}
        for oc in self.retrieve(specs):
            _missing_to_error(oc)
            out.setdefault(oc.obj._moId, {}).update(_props(oc))
        return out

    def view(self, types: Sequence[type], container: Any = None) -> Any:
        """A recursive ContainerView over ``container`` (default rootFolder), cached for the session."""
        container = container if container is not None else self.content.rootFolder
        key = (*sorted(t.__name__ for t in types), container._moId)
        if key not in self._views:
            self._views[key] = self.call(
                self.content.viewManager.CreateContainerView, container, list(types), True, what="create container view"
            )
        return self._views[key]

    def collect(
        self, props: dict[type, list[str]], container: Any = None, extra: Sequence[tuple[Any, list[str]]] = ()
    ) -> tuple[dict[str, tuple[Any, dict[str, Any]]], dict[str, dict[str, Any]]]:
        """Properties of every object of the given types under ``container``: ONE view (cached) + ONE read.

        ``extra`` objects (``(obj, paths)``) are read in the same ``RetrievePropertiesEx``.
        Returns ``({moid: (obj, {path: value})}, {extra_moid: {path: value}})``.
        """
        PC = _pc_types()
        view = self.view(list(props), container)
        traversal = PC.TraversalSpec(name="view", path="view", skip=False, type=vim.view.ContainerView)
        specs = [
            PC.FilterSpec(
                objectSet=[PC.ObjectSpec(obj=view, skip=True, selectSet=[traversal])],
                propSet=[PC.PropertySpec(type=t, pathSet=list(paths), all=False) for t, paths in props.items()],
            )
        ]
        extra_ids = set()
        for obj, paths in extra:
            extra_ids.add(obj._moId)
            specs.append(
                PC.FilterSpec(
                    objectSet=[PC.ObjectSpec(obj=obj, skip=False)],
                    propSet=[PC.PropertySpec(type=type(obj), pathSet=list(paths), all=False)],
                )
            )
        found: dict[str, tuple[Any, dict[str, Any]]] = {}
        extras: dict[str, dict[str, Any]] = {m: {} for m in extra_ids}
        for oc in self.retrieve(specs):
            moid = oc.obj._moId
            if moid in extra_ids:
                _missing_to_error(oc)
                extras[moid].update(_props(oc))
            if moid not in extra_ids or isinstance(oc.obj, tuple(props)):
                entry = found.setdefault(moid, (oc.obj, {}))
                entry[1].update(_props(oc))
        return found, extras

    # tasks -------------------------------------------------------------------
    def wait_task(self, task: Any, timeout: float, what: str, interval: float = 0.1) -> Any:
        """Poll ``info`` of ``task`` (one ``RetrievePropertiesEx`` per poll) until it ends.

        Returns ``info.result``; raises :class:`TaskFailed` (code = fault name, message = the
        fault's) or :class:`TaskTimeout` after ``timeout`` seconds.
        """

        def probe() -> Any:
            info = self.properties(task, ["info"]).get("info")
            state = getattr(info, "state", None)
            if state == "success":
                return ("ok", info.result)
            if state == "error":
                err = info.error
                raise TaskFailed("%s failed: %s" % (what, fault_message(err)), code=fault_name(err))
            return None

        waiter = Waiter(timeout, interval=interval, max_interval=2.0, clock=self.clock, sleep=self.sleep)
        return waiter.until(probe, what)[1]

    def run_task(self, method: Callable[..., Any], *args: Any, timeout: float, what: str, **kwargs: Any) -> Any:
        """Start a ``*_Task`` method and wait for it; returns the task's result."""
        task = self.call(method, *args, what=what, **kwargs)
        return self.wait_task(task, timeout, what)


def _props(oc: Any) -> dict[str, Any]:
    return {p.name: p.val for p in (oc.propSet or [])}


def _missing_to_error(oc: Any) -> None:
    for missing in oc.missingSet or []:
        fault = missing.fault
        name = fault_name(fault)
        if name == "ManagedObjectNotFound":
            raise NotFound(
                "the %s %s no longer exists" % (type(oc.obj).__name__.rsplit(".", 1)[-1], oc.obj._moId), code=name
            )
        if name in ("NotAuthenticated", "NoPermission"):
            raise AuthenticationFailed("%s: no permission to read %s" % (oc.obj._moId, missing.path), code=name)
        # an unset or inapplicable property: leave it absent


def moid(obj: Any) -> str | None:
    """The moref value of a managed object (no call), ``None`` for ``None``."""
    return getattr(obj, "_moId", None) if obj is not None else None
