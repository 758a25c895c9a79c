"""Property-based bad input over every module's argument spec (hypothesis, in-process module runs).

Two families:
* spec-driven (every module, every option incl. suboptions): a value of the wrong type or outside
  ``choices``; the failure must name the option (and its parent for suboptions);
* semantic, per xen module: out-of-range sizes/counts, malformed MACs/UUIDs/CIDRs, unknown references,
  conflicting options; the failure must name the parameter path (e.g. ``networks[0].mac``).
Each example must fail, leave the simulator's state hash unchanged and make no mutating call. vSphere
modules are pointed at a dead endpoint: a type error must fail before any connection is attempted.
Examples are bounded (``max_examples``) and ``deadline=None`` (each example is a real module run).
"""

from __future__ import annotations

import copy
import socket
import string
import threading
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from modrun import full_spec, present_modules, run_module
from relhelp import ETH0, new_vm_args, xen_conn
from xen_state import mutating_calls

SETTINGS = settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
BOOLEANS = {"y", "yes", "on", "1", "true", "t", "n", "no", "off", "0", "false", "f"}
CONNECTION = {"hostname", "username", "password", "port", "validate_certs", "ca_path", "api_timeout"}
VALID = {
    "xen_vm": new_vm_args(),
    "xen_vm_power": {"name": "db-01", "state": "running"},
    "xen_vm_info": {"name": "db-01"},
    "vmware_vm": {"name": "rel-vm", "state": "present"},
    "vmware_vm_power": {"name": "DC0_H0_VM0", "state": "running"},
    "vmware_vm_info": {"name": "DC0_H0_VM0"},
    "vmware_snapshot": {"vm_name": "DC0_H0_VM0", "name": "s1"},
}


def walk(spec: dict[str, Any], path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], dict[str, Any], str]]:
    out = []
    for name, opt in spec.items():
        out.append(((*path, name), opt, spec.get("__parent_type__", "")))
        if opt.get("options"):
            child = dict(opt["options"])
            for key in child:
                child[key] = dict(child[key])
            out += [(p, o, opt.get("type", "str")) for p, o, _t in walk(opt["options"], (*path, name))]
    return out


def letters(exclude: set[str] = frozenset()) -> st.SearchStrategy[str]:  # type: ignore[assignment]
    return st.text(alphabet=string.ascii_letters, min_size=1, max_size=8).filter(lambda s: s.lower() not in exclude)


def wrong_value(opt: dict[str, Any]) -> st.SearchStrategy[Any] | None:
    kind = opt.get("type", "str")
    if opt.get("choices"):
        return letters({str(c).lower() for c in opt["choices"]})
    if kind == "int":
        return st.one_of(letters(), st.lists(st.integers(), min_size=1, max_size=2), st.just({"a": 1}))
    if kind == "bool":
        return st.one_of(letters(BOOLEANS), st.just([True]), st.just({"a": 1}))
    if kind == "dict" and opt.get("options"):
        # NOT generated: any non-dict here crashes ansible-core's own no_log scan
        # (parameters._list_no_log_values -> "argument of type 'int' is not iterable") inside
        # AnsibleModule.__init__, before any collection code runs: an ansible-core limitation
        return None
    if kind == "dict":
        return st.one_of(st.lists(st.integers(), min_size=1, max_size=3), st.integers(min_value=2))
    if kind == "list":
        return st.just({"not": "a list"})
    return None


def spec_cases(module: str) -> list[tuple[tuple[str, ...], dict[str, Any], str]]:
    return [
        (p, o, parent)
        for p, o, parent in walk(full_spec(module))
        if wrong_value(o) is not None and p[0] not in ("validate_certs",)
    ]


def place(base: dict[str, Any], path: tuple[str, ...], parent_type: str, value: Any, module: str) -> dict[str, Any]:
    args = copy.deepcopy(base)
    if len(path) == 1:
        args[path[0]] = value
        return args
    top, leaf = path[0], path[-1]
    spec = full_spec(module)[top]
    # a minimal valid element/dict carrying the required suboptions, then the bad value
    element = {
        k: {"int": 0, "bool": True}.get(v.get("type", "str"), "x")
        for k, v in spec["options"].items()
        if v.get("required")
    }
    if top == "networks" and "network" in element:
        element["network"] = ETH0
    element[leaf] = value
    args[top] = [element] if spec.get("type") == "list" else element
    return args


def _assert_names(msg: str, path: tuple[str, ...]) -> None:
    for part in path:
        assert part in msg, "failure does not name %r: %s" % (part, msg)


@pytest.mark.parametrize("module", present_modules())
def test_wrong_types_and_choices_name_the_option(xapi: Any, module: str) -> None:
    cases = spec_cases(module)
    assert cases, module
    xen = module.startswith("xen_")
    listener = _CountingListener()
    dead = {"hostname": "127.0.0.1", "port": listener.port, "username": "u", "password": "rel-unused-Pw9"}
    conn = xen_conn(xapi) if xen else dead
    before = xapi.control.state_hash()
    xapi.control.reset_calls()

    @SETTINGS
    @given(data=st.data())
    def check(data: Any) -> None:
        path, opt, parent = data.draw(st.sampled_from(cases))
        value = data.draw(wrong_value(opt))
        base = dict(VALID.get(module, {}), **conn)
        args = place(base, path, parent, value, module)
        try:
            result = run_module(module, args)
        except TypeError as exc:
            # ansible-core itself (parameters._list_no_log_values, before the module's code runs) raises
            # TypeError for a non-dict given to a dict option that has suboptions; under ansible-playbook
            # that is a MODULE FAILURE whose message names the option. Not fixable in the collection.
            assert opt.get("type") == "dict" and opt.get("options") and len(path) == 1, exc
            assert "'%s' must be a dict" % path[0] in str(exc), exc
            return
        assert result.get("failed") is True, (path, value, result)
        _assert_names(result["msg"], path)
        assert "Traceback" not in result["msg"]

    try:
        check()
    finally:
        listener.close()
    assert xapi.control.state_hash() == before
    assert mutating_calls(xapi.control.calls()) == {}
    # vSphere modules must fail on argument validation alone: nothing ever connected to their endpoint
    assert listener.accepted == 0, "%s connected %d times before refusing bad input" % (module, listener.accepted)


class _CountingListener:
    """A TCP listener on 127.0.0.1 that accepts, counts and closes every connection (a daemon thread)."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn = self.sock.accept()[0]
            except OSError:
                return
            self.accepted += 1
            conn.close()

    def close(self) -> None:
        # shutdown() wakes the blocked accept() on Linux (it then raises OSError and the thread ends)
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self.thread.join(5)


def _xen_semantic() -> dict[str, st.SearchStrategy[tuple[str, dict[str, Any], str]]]:
    size_units = st.sampled_from(["", "B", "MiB", "GiB", "TiB"])
    bad_mac = st.one_of(
        st.text(alphabet="0123456789abcdefxyz:-", min_size=1, max_size=20).filter(
            lambda s: len(s.replace("-", ":").split(":")) != 6 or any(c in s for c in "xyz")
        ),
        st.integers(1, 255).filter(lambda n: n & 1).map(lambda n: "%02x:54:00:12:34:56" % n),
    )  # multicast
    bad_uuid = st.text(alphabet="0123456789abcdefg-", min_size=1, max_size=40).filter(
        lambda s: not (len(s) == 36 and s.count("-") == 4 and "g" not in s)
    )
    bad_cidr = st.one_of(
        st.text(alphabet="0123456789./:xz", min_size=1, max_size=20), st.just("300.1.1.0/24"), st.just("192.0.2.0/33")
    )
    unknown = st.text(alphabet=string.ascii_letters + " -", min_size=3, max_size=20).map(lambda s: "nope " + s)
    vm = new_vm_args
    return {
        "xen_vm": st.one_of(
            st.integers(-1000, 0).map(lambda n: ("vcpus", vm(vcpus=n), "must be at least 1")),
            st.integers(257, 10**6).map(lambda n: ("vcpus", vm(vcpus=n), "must be at most 256")),
            st.tuples(st.integers(-100, 15), size_units).map(
                lambda t: ("memory", vm(memory="%d%s" % (t[0], t[1] or "MiB")), "memory")
            ),
            st.tuples(st.integers(-(10**6), 0), size_units).map(
                lambda t: ("disks[0].size", vm(disks=[{"userdevice": 0, "size": "%d%s" % t}]), "size")
            ),
            st.integers(16, 10**4).map(
                lambda n: ("disks[0].userdevice", vm(disks=[{"userdevice": n, "size": "1GiB"}]), "userdevice")
            ),
            st.one_of(st.integers(-1000, 67), st.integers(9217, 10**6)).map(
                lambda n: ("networks[0].mtu", vm(networks=[{"device": 0, "network": ETH0, "mtu": n}]), "mtu")
            ),
            bad_mac.map(lambda m: ("networks[0].mac", vm(networks=[{"device": 0, "network": ETH0, "mac": m}]), "MAC")),
            bad_uuid.map(lambda u: ("uuid", {"uuid": u, "description": "x"}, "uuid")),
            bad_cidr.map(lambda c: ("wait_for_ip.cidr", vm(wait_for_ip={"cidr": c}), "is not a network")),
            unknown.map(lambda n: ("template", vm(template=n), "no template named")),
            unknown.map(
                lambda n: ("networks[0].network", vm(networks=[{"device": 0, "network": n}]), "no network named")
            ),
            unknown.map(lambda n: ("disks[0].sr", vm(disks=[{"userdevice": 0, "size": "1GiB", "sr": n}]), "no SR")),
            unknown.map(lambda n: ("home_server", vm(home_server=n), "no host named")),
            unknown.map(lambda n: ("cdrom.iso", vm(cdrom={"iso": n}), "no ISO named")),
            st.sampled_from(["running", "paused", "suspended"]).map(
                lambda p: ("power_state", {"name": "db-01", "state": "absent", "power_state": p}, "state=absent")
            ),
            st.integers(0, 15).map(
                lambda d: (
                    "disks[1].userdevice",
                    vm(disks=[{"userdevice": d, "size": "1GiB"}, {"userdevice": d, "size": "2GiB"}]),
                    "already used",
                )
            ),
            st.tuples(st.integers(2, 64), st.integers(2, 16))
            .filter(lambda t: t[0] % t[1])
            .map(lambda t: ("cores_per_socket", vm(vcpus=t[0], cores_per_socket=t[1]), "multiple")),
            st.text(alphabet="abexyz", min_size=1, max_size=5)
            .filter(lambda s: set(s) - set("cdn"))
            .map(lambda o: ("boot.order", vm(boot={"order": o}), "boot.order")),
        ),
        "xen_vm_power": st.one_of(
            bad_uuid.map(lambda u: ("uuid", {"uuid": u, "state": "running"}, "uuid")),
            unknown.map(lambda n: ("name", {"name": n, "state": "running"}, "no VM with name")),
            unknown.map(
                lambda n: (
                    "rescue_template",
                    {"name": "web-01", "state": "rescued", "rescue_template": n},
                    "rescue_template",
                )
            ),
            st.just(("rescue_template", {"name": "web-01", "state": "rescued"}, "rescue_template")),
            st.just(("state", {"name": "db-01", "state": "restarted"}, "state=restarted")),
        ),
        "xen_vm_info": st.one_of(
            bad_uuid.map(lambda u: ("uuid", {"uuid": u}, "uuid")),
        ),
    }


SEMANTIC = _xen_semantic()


@pytest.mark.parametrize("module", sorted(SEMANTIC))
def test_semantic_bad_input_names_the_parameter_and_changes_nothing(xapi: Any, module: str) -> None:
    before = xapi.control.state_hash()
    xapi.control.reset_calls()
    conn = xen_conn(xapi)

    @SETTINGS
    @given(case=SEMANTIC[module])
    def check(case: tuple[str, dict[str, Any], str]) -> None:
        param, args, text = case
        result = run_module(module, dict(args, **conn))
        assert result.get("failed") is True, (case, result)
        msg = result["msg"]
        assert text in msg, (case, msg)
        leaf = param.split(".")[-1].split("[")[0]
        assert param in msg or leaf in msg, "failure does not name %r: %s" % (param, msg)
        if result.get("param") is not None:
            assert result["param"] == param, (case, result)
        assert xapi.control.state_hash() == before

    check()
    assert mutating_calls(xapi.control.calls()) == {}
