"""End-to-end tests through the unmodified XenAPI SDK (and raw HTTP) against a simulator subprocess."""

import http.client
import json
import signal
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
import xmlrpc.client

import pytest

XenAPI = pytest.importorskip("XenAPI")

from xapi.pytest_plugin import SIM_DIR, start_simulator
from xapi.xapisim import vhd
from xapi.xapisim.sim import DEFAULT_PASSWORD


def failure(fn, *a):
    with pytest.raises(XenAPI.Failure) as ei:
        fn(*a)
    return ei.value.details


def wait_task(x, task, timeout=5.0):
    deadline = time.time() + timeout
    while x.task.get_status(task) == "pending" and time.time() < deadline:
        time.sleep(0.02)
    return x.task.get_record(task)


def raw_call(url, method, *params):
    body = xmlrpc.client.dumps(params, method).encode()
    req = urllib.request.Request(url + "/RPC2", data=body, headers={"Content-Type": "text/xml"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return xmlrpc.client.loads(resp.read())[0][0]


def test_login_logout_and_errors(xapi):
    s = XenAPI.Session(xapi.url)
    assert failure(s.xenapi.login_with_password, "root", "wrong") == [
        "SESSION_AUTHENTICATION_FAILED",
        "root",
        "Authentication failure",
    ]
    s.xenapi.login_with_password(xapi.username, xapi.password, "1.0", "pytest")
    x = s.xenapi
    assert s.API_version == "2.21"
    assert failure(x.VM.frobnicate) == ["MESSAGE_METHOD_UNKNOWN", "VM.frobnicate"]
    assert failure(x.VM.get_record) == ["MESSAGE_PARAMETER_COUNT_MISMATCH", "VM.get_record", "2", "1"]
    assert failure(x.VM.get_record, "OpaqueRef:nope") == ["HANDLE_INVALID", "VM", "OpaqueRef:nope"]
    assert failure(x.VM.get_by_uuid, "nope") == ["UUID_INVALID", "VM", "nope"]
    this_host = x.session.get_this_host(s.handle)
    assert x.host.get_name_label(this_host) == "xen-a1"
    s.xenapi.session.logout()
    reply = raw_call(xapi.url, "VM.get_all", "OpaqueRef:gone")
    assert reply == {"Status": "Failure", "ErrorDescription": ["SESSION_INVALID", "OpaqueRef:gone"]}
    # two-argument login works too
    assert raw_call(xapi.url, "session.login_with_password", "root", DEFAULT_PASSWORD)["Status"] == "Success"


def test_integers_as_strings_and_records(xapi):
    x = xapi.session().xenapi
    vms = x.VM.get_all_records_where('field "name__label"="db-01"')
    ((ref, rec),) = vms.items()
    assert rec["memory_static_max"] == "4294967296" and rec["VCPUs_max"] == "4"
    assert rec["domid"] == "-1" and rec["snapshot_of"] == "OpaqueRef:NULL"
    assert isinstance(rec["snapshot_time"], xmlrpc.client.DateTime)
    x.VM.set_VCPUs_max(ref, 6)
    x.VM.set_VCPUs_at_startup(ref, "5")
    assert x.VM.get_VCPUs_at_startup(ref) == "5"
    assert x.VM.set_name_label(ref, "db-x") == ""
    x.VM.add_to_other_config(ref, "k", "v")
    assert failure(x.VM.add_to_other_config, ref, "k", "v")[0] == "MAP_DUPLICATE_KEY"
    x.VM.add_tags(ref, "t1")
    assert "t1" in x.VM.get_tags(ref)
    console_vm = x.VM.get_by_name_label("web-01")[0]
    (console,) = x.VM.get_consoles(console_vm)
    assert x.console.get_location(console).startswith("https://127.0.0.1:")
    tmpl = x.VM.get_by_name_label("Debian Bookworm 12")[0]
    assert x.VM.get_other_config(tmpl)["default_template"] == "true"
    assert "<provision>" in x.VM.get_other_config(tmpl)["disks"]


def test_async_task_lifecycle(xapi):
    x = xapi.session().xenapi
    vm = x.VM.get_by_name_label("db-01")[0]
    xapi.control.fault("VM.start", mode="delay", seconds=0.4)
    task = x.Async.VM.start(vm, False, False)
    assert task.startswith("OpaqueRef:")
    time.sleep(0.1)
    assert x.task.get_status(task) == "pending"
    assert failure(x.VM.clone, vm, "c")[0] == "OTHER_OPERATION_IN_PROGRESS"
    rec = wait_task(x, task)
    assert rec["status"] == "success" and rec["result"] == ""
    assert x.VM.get_power_state(vm) == "Running"
    xapi.control.clear_faults()
    x.VM.hard_shutdown(vm)
    task = x.Async.VM.clone(vm, "clone-a")
    rec = wait_task(x, task)
    assert rec["status"] == "success"
    new = rec["result"].replace("<value>", "").replace("</value>", "")
    assert x.VM.get_name_label(new) == "clone-a"
    task = x.Async.VM.pause(vm)
    rec = wait_task(x, task)
    assert rec["status"] == "failure" and rec["error_info"][0] == "VM_BAD_POWER_STATE"
    x.task.destroy(task)


def test_event_from(xapi):
    time.sleep(0.4)  # let the running VM's guest agent report first
    x = xapi.session().xenapi
    ev_from = getattr(x.event, "from")
    first = ev_from(["vm"], "", 0.1)
    assert first["events"] and first["valid_ref_counts"]["vm"]
    t0 = time.time()
    empty = ev_from(["vm"], first["token"], 0.5)
    assert empty["events"] == [] and time.time() - t0 >= 0.45
    vm = x.VM.get_by_name_label("db-01")[0]
    x.VM.set_name_description(vm, "hello")
    got = ev_from(["vm"], empty["token"], 5.0)
    mods = [e for e in got["events"] if e["ref"] == vm]
    assert mods and mods[-1]["operation"] == "mod" and mods[-1]["snapshot"]["name_description"] == "hello"


def test_event_long_poll_does_not_block(xapi):
    import threading

    time.sleep(0.4)
    x1 = xapi.session().xenapi
    x2 = xapi.session().xenapi
    token = getattr(x1.event, "from")(["task"], "", 0)["token"]
    out = {}
    t = threading.Thread(target=lambda: out.update(r=getattr(x1.event, "from")(["vm"], token, 3.0)))
    t.start()
    time.sleep(0.2)
    t0 = time.time()
    vm = x2.VM.get_by_name_label("db-01")[0]
    x2.VM.set_name_description(vm, "ping")
    assert time.time() - t0 < 1.0
    t.join(5)
    assert any(e["ref"] == vm for e in out["r"]["events"])


def test_import_export_raw_vdi(xapi):
    x = xapi.session().xenapi
    sr = x.SR.get_by_name_label("Shared storage")[0]
    vdi = x.VDI.create(
        {
            "SR": sr,
            "virtual_size": str(4 << 20),
            "type": "user",
            "name_label": "img",
            "sharable": False,
            "read_only": False,
            "other_config": {},
        }
    )
    sid = xapi_session_id(xapi, x)
    data = bytes(range(256)) * 4096  # 1 MiB
    status, _unused = http_req(xapi.url, "PUT", f"/import_raw_vdi?session_id={sid}&vdi={vdi}&format=raw", data)
    assert status == 200
    status, body = http_req(xapi.url, "GET", f"/export_raw_vdi?session_id={sid}&vdi={x.VDI.get_uuid(vdi)}&format=raw")
    assert status == 200 and body == data
    dyn = vhd.encode_dynamic(b"\x01" * 3000 + b"\0" * 5000 + b"\x07" * 100, 3 << 20)
    status, _unused = http_req(xapi.url, "PUT", f"/import_raw_vdi?session_id={sid}&vdi={vdi}&format=vhd", dyn)
    assert status == 200
    status, body = http_req(xapi.url, "GET", f"/export_raw_vdi?session_id={sid}&vdi={vdi}")
    assert body[:8100] == b"\x01" * 3000 + b"\0" * 5000 + b"\x07" * 100
    status, _unused = http_req(
        xapi.url, "PUT", f"/import_raw_vdi?session_id={sid}&vdi={vdi}&format=raw", b"x" * (5 << 20)
    )
    assert status == 400
    status, _unused = http_req(xapi.url, "PUT", f"/import_raw_vdi?session_id=OpaqueRef:bad&vdi={vdi}", b"x")
    assert status == 401


def xapi_session_id(xapi, x):
    return raw_call(xapi.url, "session.login_with_password", "root", DEFAULT_PASSWORD)["Value"]


def http_req(url, method, path, body=None):
    req = urllib.request.Request(url + path, data=body, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_jsonrpc(xapi):
    def call(method, params, v2=True):
        req = {"method": method, "params": params, "id": 7}
        if v2:
            req["jsonrpc"] = "2.0"
        r = urllib.request.Request(
            xapi.url + "/jsonrpc", data=json.dumps(req).encode(), headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(r, timeout=10) as resp:
            return json.loads(resp.read())

    login = call("session.login_with_password", ["root", DEFAULT_PASSWORD, "1.0", "json"])
    assert login["jsonrpc"] == "2.0" and login["id"] == 7
    sid = login["result"]
    vms = call("VM.get_all_records_where", [sid, 'field "name__label"="db-01"'])["result"]
    assert next(iter(vms.values()))["name_label"] == "db-01"
    bad = call("session.login_with_password", ["root", "nope"])
    assert bad["error"]["message"] == "SESSION_AUTHENTICATION_FAILED"
    v1 = call("VM.get_record", [sid, "OpaqueRef:x"], v2=False)
    assert v1["result"] is None and v1["error"] == ["HANDLE_INVALID", "VM", "OpaqueRef:x"]


def test_tls(xapi_tls):
    assert xapi_tls.url.startswith("https://127.0.0.1:") and xapi_tls.ca
    s = XenAPI.Session(xapi_tls.url)
    with pytest.raises(ssl.SSLError):
        s.xenapi.login_with_password("root", DEFAULT_PASSWORD)
    ctx = ssl.create_default_context(cafile=xapi_tls.ca)
    s = XenAPI.Session(xapi_tls.url, transport=xmlrpc.client.SafeTransport(context=ctx))
    s.xenapi.login_with_password("root", DEFAULT_PASSWORD)
    assert s.xenapi.pool.get_all()
    assert XenAPI.Session(xapi_tls.url, ignore_ssl=True)
    assert xapi_tls.control.calls()["session.login_with_password"] >= 1


def test_control_counters_and_faults(xapi):
    c = xapi.control
    s = xapi.session()
    x = s.xenapi
    x.VM.get_all_records_where("true")
    vm = x.VM.get_by_name_label("db-01")[0]
    x.Async.VM.start(vm, False, False)
    calls = c.calls()
    assert calls["session.login_with_password"] == 1
    assert calls["VM.get_all_records_where"] == 1 and calls["Async.VM.start"] == 1
    c.reset_calls()
    assert c.calls() == {}
    c.fault("VM.get_name_label", error=["INTERNAL_ERROR", "boom"], count=1, after=1)
    assert x.VM.get_name_label(vm) == "db-01"
    assert failure(x.VM.get_name_label, vm) == ["INTERNAL_ERROR", "boom"]
    assert x.VM.get_name_label(vm) == "db-01"
    c.fault("VM.get_uuid", mode="drop", count=2)  # xmlrpc.client retries a dropped connection once
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError, xmlrpc.client.ProtocolError)):
        x.VM.get_uuid(vm)
    c.fault("VM.get_domid", mode="http_error", status=503)
    with pytest.raises(xmlrpc.client.ProtocolError) as ei:
        x.VM.get_domid(vm)
    assert ei.value.errcode == 503
    c.fault("VM.get_memory_static_max", mode="delay", seconds=0.3)
    t0 = time.time()
    x.VM.get_memory_static_max(vm)
    assert time.time() - t0 >= 0.3
    c.clear_faults()
    c.fault("VM.provision", error=["SR_FULL", "1", "0"])
    new = x.VM.clone(x.VM.get_by_name_label("Debian Bookworm 12")[0], "p")
    task = x.Async.VM.provision(new)
    assert wait_task(x, task)["error_info"] == ["SR_FULL", "1", "0"]
    n = c.expire_sessions()
    assert n >= 1
    assert x.VM.get_name_label(vm) == "db-01"  # the SDK logs in again on SESSION_INVALID


def test_state_hash_and_reset(xapi):
    c = xapi.control
    h = c.state_hash()
    x = xapi.session().xenapi
    x.VM.get_all_records()
    assert c.state_hash() == h  # reads and logins do not change it
    state = c.state()
    assert "VM" in state["pool0"] and "session" in state["pool0"]
    vm = x.VM.get_by_name_label("db-01")[0]
    x.VM.set_name_label(vm, "changed")
    assert c.state_hash() != h
    c.reset()
    assert c.state_hash() == h
    assert c.calls() == {}


def test_cross_pool_migrate(xapi):
    x = xapi.session().xenapi
    y = xapi.session(xapi.url2).xenapi
    vm = x.VM.get_by_name_label("web-01")[0]
    uuid = x.VM.get_uuid(vm)
    dest_host = y.host.get_all()[0]
    dest_net = y.network.get_by_name_label("Pool-wide network associated with eth0")[0]
    dest_sr = y.SR.get_by_name_label("Shared storage")[0]
    dest = y.host.migrate_receive(dest_host, dest_net, {})
    vdis = [x.VBD.get_VDI(b) for b in x.VM.get_VBDs(vm) if x.VBD.get_type(b) == "Disk"]
    vif_map = {v: dest_net for v in x.VM.get_VIFs(vm)}
    assert failure(x.VM.assert_can_migrate, vm, dest, True, {}, vif_map, {})[0] == "VDI_NOT_IN_MAP"
    vdi_map = {v: dest_sr for v in vdis}
    x.VM.assert_can_migrate(vm, dest, True, vdi_map, vif_map, {})
    new = x.VM.migrate_send(vm, dest, True, vdi_map, vif_map, {})
    assert y.VM.get_uuid(new) == uuid and y.VM.get_power_state(new) == "Running"
    assert failure(x.VM.get_by_uuid, uuid)[0] == "UUID_INVALID"


def test_many_vms_and_sigterm():
    t0 = time.time()
    with start_simulator("--vms", "5000") as sim:
        startup = time.time() - t0
        x = sim.session().xenapi
        t1 = time.perf_counter()
        res = x.VM.get_all_records_where('field "name__label"="vm-04999"')
        elapsed = time.perf_counter() - t1
        assert len(res) == 1 and elapsed < 0.1, elapsed
        assert startup < 10
        proc = sim.process
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0


def test_cli_by_path_prints_url_first():
    proc = subprocess.Popen([sys.executable, SIM_DIR, "--port", "0"], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().startswith("XAPI_URL=http://127.0.0.1:")
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_vm_create_full_record_and_devices(xapi):
    s = xapi.session()
    x = s.xenapi
    tmpl = x.VM.get_by_name_label("Other install media")[0]
    record = x.VM.get_record(tmpl)
    record.update(
        name_label="from-record",
        is_a_template=False,
        other_config={},
        VCPUs_max="2",
        VCPUs_at_startup="2",
        memory_static_max=str(1 << 30),
    )
    vm = x.VM.create(record)
    rec = x.VM.get_record(vm)
    assert rec["power_state"] == "Halted" and rec["VBDs"] == [] and rec["VCPUs_max"] == "2"
    assert rec["metrics"] != "OpaqueRef:NULL" and rec["uuid"] != record["uuid"]
    sr = x.SR.get_by_name_label("Shared storage")[0]
    vdi = x.VDI.create(
        {
            "SR": sr,
            "virtual_size": str(1 << 30),
            "type": "user",
            "name_label": "d0",
            "sharable": False,
            "read_only": False,
            "other_config": {},
        }
    )
    x.VBD.create(
        {
            "VM": vm,
            "VDI": vdi,
            "userdevice": "0",
            "bootable": True,
            "mode": "RW",
            "type": "Disk",
            "empty": False,
            "other_config": {},
            "qos_algorithm_type": "",
            "qos_algorithm_params": {},
        }
    )
    cd = x.VBD.create(
        {
            "VM": vm,
            "VDI": "OpaqueRef:NULL",
            "userdevice": "3",
            "bootable": False,
            "mode": "RO",
            "type": "CD",
            "empty": True,
            "other_config": {},
            "qos_algorithm_type": "",
            "qos_algorithm_params": {},
        }
    )
    net = x.network.get_by_name_label("Pool-wide network associated with eth0")[0]
    x.VIF.create(
        {
            "VM": vm,
            "network": net,
            "device": "0",
            "MAC": "",
            "MTU": "1500",
            "other_config": {},
            "qos_algorithm_type": "",
            "qos_algorithm_params": {},
        }
    )
    x.VBD.insert(cd, x.VDI.get_by_name_label("debian-12.iso")[0])
    x.VM.start(vm, False, False)
    deadline = time.time() + 3
    while x.VM.get_guest_metrics(vm) == "OpaqueRef:NULL" and time.time() < deadline:
        time.sleep(0.05)
    nets = x.VM_guest_metrics.get_networks(x.VM.get_guest_metrics(vm))
    assert nets["0/ip"].startswith("192.0.2.")
    sources = {d["name_label"]: d["value"] for d in x.VM.get_data_sources(vm)}
    assert sources["vif_0_rx"] > 0 and "vbd_xvda_read" in sources
    assert failure(x.VDI.destroy, vdi) == ["VDI_IN_USE", vdi, "destroy"]
    assert failure(x.VM.destroy, vm)[0] == "VM_BAD_POWER_STATE"
    x.VM.hard_shutdown(vm)
    x.VM.destroy(vm)
    assert x.VDI.get_VBDs(vdi) == []


def test_import_with_task_and_events_register(xapi):
    x = xapi.session().xenapi
    sid = xapi_session_id(xapi, x)
    sr = x.SR.get_by_name_label("Shared storage")[0]
    vdi = x.VDI.create(
        {
            "SR": sr,
            "virtual_size": "1048576",
            "type": "user",
            "name_label": "small",
            "sharable": False,
            "read_only": False,
            "other_config": {},
        }
    )
    task = x.task.create("import", "")
    assert x.task.get_status(task) == "pending"
    status, _unused = http_req(
        xapi.url, "PUT", f"/import_raw_vdi?session_id={sid}&vdi={vdi}&task_id={task}", b"y" * 2048
    )
    assert status == 200 and x.task.get_status(task) == "success"
    task = x.task.create("import", "")
    status, _unused = http_req(
        xapi.url, "PUT", f"/import_raw_vdi?session_id={sid}&vdi={vdi}&task_id={task}", b"y" * (2 << 20)
    )
    assert status == 400 and x.task.get_error_info(task)[0] == "VDI_TOO_SMALL"
    x.event.register(["vm"])
    vm = x.VM.get_by_name_label("db-01")[0]
    x.VM.set_name_description(vm, "evt")
    events = x.event.next()
    assert any(e["ref"] == vm and e["operation"] == "mod" for e in events)


def test_hash_ignores_guest_agent_timing(xapi):
    h = xapi.control.state_hash()
    time.sleep(0.3)
    assert xapi.control.state_hash() == h


def test_parent_pid_watchdog():
    parent = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(0.5)"])
    proc = subprocess.Popen(
        [sys.executable, SIM_DIR, "--port", "0", "--parent-pid", str(parent.pid)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout.readline().startswith("XAPI_URL=")
        parent.wait()
        assert proc.wait(timeout=10) == 0
    finally:
        for p in (proc, parent):
            if p.poll() is None:
                p.kill()
                p.wait()


def test_unexpected_exception_is_internal_error():
    import threading

    from xapi.xapisim import Simulator, api
    from xapi.xapisim.server import SimHTTPServer

    def boom(ctx, vm):
        raise ZeroDivisionError("division by zero")

    sim = Simulator(ip_delay=0)
    srv = SimHTTPServer(("127.0.0.1", 0), sim, sim.pools[0])
    url = "http://127.0.0.1:%d" % srv.server_address[1]
    sim.pools[0].base_url = url
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    saved = api.REGISTRY["VM.get_domarch"]
    api.REGISTRY["VM.get_domarch"] = api.Method("VM.get_domarch", boom, ("self",))
    try:
        s = XenAPI.Session(url)
        s.xenapi.login_with_password("root", DEFAULT_PASSWORD)
        vm = s.xenapi.VM.get_all()[0]
        assert failure(s.xenapi.VM.get_domarch, vm) == ["INTERNAL_ERROR", "ZeroDivisionError: division by zero"]
    finally:
        api.REGISTRY["VM.get_domarch"] = saved
        srv.shutdown()
        srv.server_close()
