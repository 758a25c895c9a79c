"""Errors a user can act on, as ansible-playbook shows them: the endpoint named, the likely cause given."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import threading
from collections.abc import Iterator

import pytest
from playbook_runner import run_playbook


def failed(run, index=-1):
    assert run.rc != 0 and run.status(index) == "failed", run.stdout[-3000:]
    return run.result(index)


def info_task(module, **params):
    return {"virtops.compute.%s" % module: params}


def xen_info(hostname, **extra):
    params = {"hostname": hostname, "username": "root", "password": "anything", "name": "web01"}
    params.update(extra)
    return run_playbook([info_task("xen_vm_info", **params)], timeout=120)


def vmware_info(hostname, port, **extra):
    params = {"hostname": hostname, "port": port, "username": "u", "password": "anything", "name": "vm"}
    params.update(extra)
    return run_playbook([info_task("vmware_vm_info", **params)], timeout=120)


@contextlib.contextmanager
def raw_server(reply: bytes | None) -> Iterator[int]:
    """A TCP server on 127.0.0.1 that answers every connection with ``reply`` (None: never answers)."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    srv.settimeout(0.2)
    stop = threading.Event()
    held: list[socket.socket] = []

    def serve() -> None:
        while not stop.is_set():
            try:
                conn = srv.accept()[0]
            except OSError:
                continue
            if reply is None:
                held.append(conn)
                continue
            with conn:
                conn.settimeout(2)
                with contextlib.suppress(OSError):
                    conn.recv(4096)
                    conn.sendall(reply)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield srv.getsockname()[1]
    finally:
        stop.set()
        thread.join(5)
        for conn in held:
            conn.close()
        srv.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ------------------------------------------------------------------------------------------------ XenAPI
def test_xen_https_against_a_plain_port_says_use_http(xapi):
    port = xapi.url.rsplit(":", 1)[1]
    res = failed(xen_info("https://127.0.0.1:%s" % port, validate_certs=False))
    assert res["error_code"] == "TLS_NOT_SPOKEN"
    assert res["msg"] == (
        "session.login_with_password: connection to the XenAPI endpoint failed: https://127.0.0.1:%s does not "
        "speak TLS on that port (SSL WRONG_VERSION_NUMBER): it looks like a plain HTTP port; use http:// for a "
        "plain endpoint, or the port that serves https" % port
    )


def test_xen_http_against_a_tls_port_says_use_https(xapi_tls):
    port = xapi_tls.url.rsplit(":", 1)[1]
    res = failed(xen_info("http://127.0.0.1:%s" % port))
    assert res["error_code"] == "CONNECTION_CLOSED"
    assert res["msg"].startswith("session.login_with_password: connection to the XenAPI endpoint failed: ")
    assert "http://127.0.0.1:%s reset the connection" % port in res["msg"] or (
        "http://127.0.0.1:%s closed the connection" % port in res["msg"]
    ), res["msg"]
    assert res["msg"].endswith("; if the server speaks TLS on that port (xapi and vCenter do on 443), use https://")


def test_xen_bad_status_line_names_the_endpoint_and_hints_https():
    with raw_server(b"SSH-2.0-OpenSSH_9.2\r\n") as port:
        res = failed(xen_info("http://127.0.0.1:%d" % port))
    assert res["error_code"] == "CONNECTION_CLOSED"
    assert res["msg"] == (
        "session.login_with_password: connection to the XenAPI endpoint failed: http://127.0.0.1:%d did not "
        "answer with HTTP (bad status line 'SSH-2.0-OpenSSH_9.2\\r\\n'); if the server speaks TLS on that port "
        "(xapi and vCenter do on 443), use https://" % port
    )


def test_xen_connection_refused():
    port = free_port()
    res = failed(xen_info("http://127.0.0.1:%d" % port))
    assert res["error_code"] == "CONNECTION_REFUSED"
    assert res["msg"] == (
        "session.login_with_password: connection to the XenAPI endpoint failed: http://127.0.0.1:%d refused the "
        "connection (nothing listens on that port); check hostname and port, and that the service runs there" % port
    )


def test_xen_dns_failure_names_the_host():
    res = failed(xen_info("pool1.example.invalid"))
    assert res["error_code"] == "NAME_RESOLUTION_FAILED"
    assert res["msg"].startswith(
        "session.login_with_password: connection to the XenAPI endpoint failed: the host name of "
        "https://pool1.example.invalid does not resolve (DNS: "
    )
    assert res["msg"].endswith("); check the spelling of hostname")


def test_xen_timeout_names_the_endpoint_and_api_timeout():
    with raw_server(None) as port:
        res = failed(xen_info("http://127.0.0.1:%d" % port, api_timeout=1))
    assert res["error_code"] == "CONNECTION_TIMEOUT"
    assert res["msg"] == (
        "session.login_with_password: connection to the XenAPI endpoint failed: http://127.0.0.1:%d did not "
        "answer within 1s (api_timeout); the host may be down, or a firewall drops the traffic" % port
    )


# ------------------------------------------------------------------------------------------------ vSphere
def test_vmware_against_a_plain_port_says_check_port(xapi):
    port = int(xapi.url.rsplit(":", 1)[1])
    res = failed(vmware_info("127.0.0.1", port, validate_certs=False))
    assert res["error_code"] == "TLS_NOT_SPOKEN"
    assert res["msg"] == (
        "https://127.0.0.1:%d does not speak TLS on that port (SSL WRONG_VERSION_NUMBER): it looks like a plain "
        "HTTP port; check port" % port
    )


def test_vmware_connection_refused_and_dns():
    port = free_port()
    res = failed(vmware_info("127.0.0.1", port))
    assert res["error_code"] == "CONNECTION_REFUSED"
    assert res["msg"] == (
        "https://127.0.0.1:%d refused the connection (nothing listens on that port); check hostname and port, "
        "and that the service runs there" % port
    )
    res = failed(vmware_info("vcenter.example.invalid", 443))
    assert res["error_code"] == "NAME_RESOLUTION_FAILED"
    assert res["msg"].startswith("the host name of https://vcenter.example.invalid:443 does not resolve (DNS: ")


def test_vmware_timeout():
    with raw_server(None) as port:
        res = failed(vmware_info("127.0.0.1", port, validate_certs=False, api_timeout=1))
    assert res["error_code"] == "CONNECTION_TIMEOUT"
    assert res["msg"] == (
        "https://127.0.0.1:%d did not answer within 1s (api_timeout); the host may be down, or a firewall "
        "drops the traffic" % port
    )


# ------------------------------------------------------------------------------------------------ ca_path
@pytest.mark.parametrize("module", ["xen_vm_info", "vmware_vm_info"])
def test_ca_path_errors_name_the_option_and_the_file(tmp_path, module):
    missing = tmp_path / "nope.pem"
    der = tmp_path / "ca.der"
    der.write_bytes(b"\x30\x82\x01\x0a\x02\x82\x01\x01\x00")
    bad_pem = tmp_path / "broken.pem"
    bad_pem.write_text("-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n")
    conn = {"hostname": "127.0.0.1", "username": "u", "password": "Xq-7Zr-secret", "name": "x"}
    if module == "vmware_vm_info":
        conn["port"] = free_port()
    tasks = [
        dict(info_task(module, ca_path=str(path), **conn), ignore_errors=True)
        for path in (missing, tmp_path, der, bad_pem)
    ]
    run = run_playbook(tasks, timeout=120)
    msgs = [r["result"]["msg"] for r in run.results]
    codes = {r["result"].get("error_code") for r in run.results}
    params = {r["result"].get("param") for r in run.results}
    assert codes == {"INVALID_INPUT"} and params == {"ca_path"}, run.results
    assert msgs == [
        "ca_path: the CA file %s does not exist" % missing,
        "ca_path: %s is a directory; give the path of a PEM file with the CA certificates" % tmp_path,
        "ca_path: %s holds no PEM certificate (no '-----BEGIN CERTIFICATE-----' line); convert a DER file with "
        "'openssl x509 -inform der -in FILE -out FILE.pem'" % der,
        msgs[3],
    ]
    assert msgs[3].startswith("ca_path: %s is not a valid PEM certificate file: " % bad_pem), msgs[3]


# ------------------------------------------------------------------------------------------------ simulator password
def test_simulator_default_password_does_not_mangle_messages(xapi, playbook):
    from xapi.xapisim.cli import parse_args

    assert parse_args([]).password == xapi.password == "xapisim-Secret"
    xapi.control.fault("session.login_with_password", mode="http_error", status=500)
    res = failed(playbook([info_task("xen_vm_info", name="web01")]))
    assert res["msg"] == "session.login_with_password: %s answered HTTP 500 Internal Server Error" % xapi.url
    assert "********" not in json.dumps(res)


# ------------------------------------------------------------------------------------------------ xapi failures
GiB = 1024**3
MiB = 1024**2


def xen_vm(**params):
    return {"virtops.compute.xen_vm": params}


def vm_ref(xapi, name):
    state = xapi.control.state()["pool0"]
    refs = [ref for ref, rec in state["VM"].items() if rec["name_label"] == name]
    assert len(refs) == 1, refs
    return refs[0]


def test_sr_full_names_the_sr_and_shows_gib(xapi, playbook):
    state = xapi.control.state()["pool0"]
    shared = next(r for r in state["SR"].values() if r["name_label"] == "Shared storage")
    free = int(shared["physical_size"]) - int(shared["physical_utilisation"])
    task = xen_vm(
        name="big-01",
        template="Debian Bookworm 12",
        disks=[{"userdevice": 0, "size": "10GiB"}, {"userdevice": 1, "size": "5000GiB"}],
    )
    res = failed(playbook([task]))
    assert res["error_code"] == "SR_FULL"
    requested, available = res["error"]["params"]
    assert int(requested) == 5000 * GiB and 0 < int(available) <= free, res["error"]  # the root disk took some
    sentence = "SR_FULL: SR 'Shared storage' is full: 5000.0 GiB requested, %.1f GiB available" % (int(available) / GiB)
    assert sentence in res["msg"], res["msg"]


def test_host_not_enough_memory_names_the_vm_and_shows_mib(xapi, playbook):
    task = xen_vm(name="huge-01", template="Debian Bookworm 12", memory="200GiB", power_state="running")
    res = failed(playbook([task]))
    assert res["error_code"] == "HOST_NOT_ENOUGH_FREE_MEMORY"
    needed, free = res["error"]["params"]
    assert int(needed) >= 200 * GiB
    sentence = (
        "HOST_NOT_ENOUGH_FREE_MEMORY: not enough free memory on any host of the pool for VM 'huge-01': "
        "%.1f MiB needed, %.1f MiB free" % (int(needed) / MiB, int(free) / MiB)
    )
    assert sentence in res["msg"], res["msg"]


@pytest.mark.parametrize(
    "error,sentence",
    [
        (["VM_BAD_POWER_STATE", "{vm}", "halted", "running"], "VM 'web-01' is running; this operation needs it halted"),
        (
            ["OTHER_OPERATION_IN_PROGRESS", "VM", "{vm}", "clean_shutdown", "OpaqueRef:task-1"],
            "another operation (clean_shutdown) is running on VM 'web-01'; try again when it has finished",
        ),
        (
            ["HANDLE_INVALID", "VM", "OpaqueRef:gone"],
            "the VM OpaqueRef:gone does not exist (any more): it was deleted, or the reference is wrong",
        ),
        (["SOME_NEW_CODE", "a", "b"], "SOME_NEW_CODE: a, b"),
    ],
)
def test_injected_xapi_errors_are_readable_and_keep_the_raw_params(xapi, playbook, error, sentence):
    ref = vm_ref(xapi, "web-01")
    error = [p.replace("{vm}", ref) for p in error]
    xapi.control.fault("VM.set_name_description", error=error, count=10)
    res = failed(playbook([xen_vm(name="web-01", description="changed")]))
    assert res["error_code"] == error[0]
    assert res["error"] == {"code": error[0], "params": error[1:]}
    assert (
        "VM.set_name_description failed: %s%s"
        % (
            "" if sentence.startswith(error[0]) else error[0] + ": ",
            sentence,
        )
        in res["msg"]
    ), res["msg"]


# ------------------------------------------------------------------------------------------------ wait_for_ip
def test_wait_for_ip_timeout_lists_what_the_guest_reported_and_why_each_was_filtered(xapi, playbook):
    res = failed(playbook([xen_vm(name="web-01", wait_for_ip={"family": "ipv4", "cidr": "10.0.0.0/8", "timeout": 2})]))
    assert res["error_code"] == "TASK_TIMEOUT"
    state = xapi.control.state()["pool0"]
    vm = next(v for v in state["VM"].values() if v["name_label"] == "web-01")
    nets = state["VM_guest_metrics"][vm["guest_metrics"]]["networks"]
    v4, ll, glob = nets["0/ipv4/0"], nets["0/ipv6/0"], nets["0/ipv6/1"]
    assert ll.startswith("fe80:") and glob.startswith("2001:db8:")
    assert res["msg"].endswith(
        "timed out after 2s waiting for the guest to report an IPv4 address in 10.0.0.0/8; the guest reported "
        "%s (outside 10.0.0.0/8), %s (link-local), %s (IPv6, waiting for IPv4)" % (v4, ll, glob)
    ), res["msg"]


# ------------------------------------------------------------------------------------------------ missing SDK
@pytest.mark.parametrize(
    "module,params,library",
    [
        ("xen_vm_info", {"hostname": "http://127.0.0.1:9", "name": "x"}, "XenAPI"),
        ("vmware_vm_info", {"hostname": "127.0.0.1", "username": "u", "name": "x"}, "pyvmomi"),
    ],
)
def test_missing_sdk_names_the_interpreter_and_the_pip_command(module, params, library):
    python = "/usr/bin/python3"
    imported = "XenAPI" if library == "XenAPI" else "pyVmomi"
    probe = subprocess.run([python, "-c", "import " + imported], capture_output=True, check=False)
    assert probe.returncode != 0, "this test needs a Python without the SDKs at %s" % python
    # another interpreter than the controller's: the module path, whatever the in-process switch says
    run = run_playbook(
        [info_task(module, **params)], env={"ANSIBLE_PYTHON_INTERPRETER": python}, timeout=120, expect_path="module"
    )
    res = failed(run)
    assert res["error_code"] == "MISSING_LIBRARY" and res["interpreter"] == python
    assert res["msg"].startswith(
        "the Python library '%s' is required by this module but %s cannot import it (No module named "
        % (library, python)
    ), res["msg"]
    assert res["msg"].endswith(
        "; install it for that interpreter with '%s -m pip install %s', or point ansible_python_interpreter at a "
        "Python that has it" % (python, library)
    ), res["msg"]


def test_xen_connection_dropped_mid_run_names_the_endpoint_without_a_scheme_hint(xapi, playbook):
    # (count=2: the stdlib xmlrpc transport silently re-sends once on a dropped keep-alive connection)
    xapi.control.fault("VM.set_name_description", mode="drop", count=2)
    res = failed(playbook([xen_vm(name="web-01", description="changed")]))
    assert res["error_code"] == "CONNECTION_CLOSED"
    assert (
        "VM.set_name_description: connection to the XenAPI endpoint failed: %s closed the connection without a "
        "reply; the server or a proxy in between dropped the request" % xapi.url
    ) in res["msg"], res["msg"]
