"""xen_vm through ansible-playbook against the XenAPI simulator: state of the simulator is the oracle."""

from __future__ import annotations

import json
import urllib.request

import pytest
from xen_state import mutating_calls, one_vm, pool, vm_cds, vm_disks, vm_nics, vms_named

ETH0 = "Pool-wide network associated with eth0"
ETH1 = "Pool-wide network associated with eth1"
GiB = 1024**3


def xen_vm(**params):
    return {"virtops.compute.xen_vm": params}


def new_vm(**extra):
    params = {
        "name": "app-01",
        "template": "Debian Bookworm 12",
        "vcpus": 2,
        "memory": "2GiB",
        "disks": [{"userdevice": 0, "size": "20GiB"}, {"userdevice": 1, "size": "5GiB"}],
        "networks": [{"device": 0, "network": ETH0}, {"device": 1, "network": ETH1}],
    }
    params.update(extra)
    return xen_vm(**params)


def test_create_from_template_start_wait_for_ip_then_idempotent(xapi, playbook):
    task = new_vm(
        power_state="running",
        wait_for_ip={"family": "ipv4", "timeout": 30},
        cloud_init={"user_data": "#cloud-config\nhostname: app-01\n"},
    )
    run = playbook([task])
    assert run.rc == 0, run.stdout
    res = run.result()
    assert res["changed"] is True
    assert [c["operation"] for c in res["changes"]][:2] == ["create", "provision"]
    state = pool(xapi.control)
    vm = one_vm(state, "app-01")
    assert vm["power_state"] == "Running"
    assert int(vm["VCPUs_at_startup"]) == 2 and int(vm["memory_static_max"]) == 2 * GiB
    disks = vm_disks(state, vm)
    assert {d: int(v["virtual_size"]) for d, v in disks.items()} == {0: 20 * GiB, 1: 5 * GiB}
    nets = {d: state["network"][v["network"]]["name_label"] for d, v in vm_nics(state, vm).items()}
    assert nets == {0: ETH0, 1: ETH1}
    assert res["vm"]["ip"].startswith("192.0.2.")
    cds = vm_cds(state, vm)
    assert list(cds) == [4]
    # the config drive's content really is an ISO with our user-data
    vdi = state["VDI"][cds[4]["VDI"]]
    assert vdi["other_config"]["virtops_config_drive_sha256"] == res["vm"]["config_drive"]["sha256"]
    s = xapi.session()
    try:
        url = "%s/export_raw_vdi?session_id=%s&vdi=%s&format=raw" % (xapi.url, s._session, vdi["uuid"])
        data = urllib.request.urlopen(url, timeout=10).read()
    finally:
        s.xenapi.session.logout()
    assert data[32769:32774] == b"CD001" and b"cidata" in data[:65536] and b"hostname: app-01" in data

    xapi.control.reset_calls()
    again = playbook([task])
    assert again.rc == 0 and again.result()["changed"] is False, again.result()
    assert again.result()["changes"] == []
    assert sum(xapi.control.calls().values()) == 3


def test_noop_on_existing_vm_with_two_disks_two_nics_costs_three_calls(xapi, playbook):
    state = pool(xapi.control)
    db = one_vm(state, "db-01")
    disks = vm_disks(state, db)
    assert len(disks) == 2 and len(db["VIFs"]) == 2
    task = xen_vm(
        name="db-01",
        vcpus=int(db["VCPUs_at_startup"]),
        memory="%dMiB" % (int(db["memory_static_max"]) // 1024**2),
        power_state="halted",
        disks=[{"userdevice": d, "size": "%dB" % int(v["virtual_size"])} for d, v in disks.items()],
        networks=[
            {"device": d, "network": state["network"][v["network"]]["uuid"]} for d, v in vm_nics(state, db).items()
        ],
    )
    xapi.control.reset_calls()
    run = playbook([task])
    assert run.rc == 0 and run.result()["changed"] is False, run.result()
    calls = xapi.control.calls()
    assert calls == {"session.login_with_password": 1, "event.from": 1, "session.logout": 1}, calls


CHECK_CASES = {
    "create": new_vm(power_state="running"),
    "destroy": xen_vm(name="db-01", state="absent"),
    "grow_disk_and_add_nic": xen_vm(
        name="db-01", disks=[{"userdevice": 0, "size": "50GiB"}], networks=[{"device": 2, "network": ETH0}]
    ),
    "memory_with_power_cycle": xen_vm(name="web-01", memory="3GiB", allow_power_cycling=True),
    "power_on": xen_vm(name="db-01", power_state="running"),
    "tags_and_maps": xen_vm(
        name="web-01",
        tags=["prod"],
        other_config={"owner": "ops"},
        xenstore_data={"vm-data/role": "web"},
        bootable=False,
    ),
}


@pytest.mark.parametrize("case", sorted(CHECK_CASES))
def test_check_mode_never_mutates_and_predicts_the_real_run(xapi, playbook, case):
    task = CHECK_CASES[case]
    before = xapi.control.state_hash()
    xapi.control.reset_calls()
    check = playbook([task], check=True, diff=True)
    assert check.rc == 0, check.stdout
    assert xapi.control.state_hash() == before
    assert mutating_calls(xapi.control.calls()) == {}
    predicted = check.result()
    assert predicted["changed"] is True
    assert "before" in predicted["diff"] and "after" in predicted["diff"]
    real = playbook([task], diff=True)
    assert real.rc == 0, real.stdout
    done = real.result()
    assert done["changed"] is True
    assert xapi.control.state_hash() != before
    assert [c["operation"] for c in done["changes"]] == [c["operation"] for c in predicted["changes"]]
    for key in ("power_state", "vcpus", "memory_mib", "tags", "bootable"):
        if predicted["vm"]:
            assert predicted["vm"].get(key) == done["vm"].get(key), key
    assert playbook([task]).result()["changed"] is False


def test_diff_output_shows_before_and_after(xapi, playbook):
    run = playbook([xen_vm(name="web-01", description="front end")], check=True, diff=True)
    assert run.rc == 0
    assert '-    "description": ""' in run.stdout or '-    "description": ""' in run.stdout.replace("'", '"')
    assert '+    "description": "front end"' in run.stdout


@pytest.mark.parametrize("method", ["Async.VM.provision", "VDI.resize", "VIF.create"])
def test_failed_create_leaves_nothing_behind_and_names_the_step(xapi, playbook, method):
    state = pool(xapi.control)
    counts = {k: len(state[k]) for k in ("VM", "VDI", "VBD", "VIF")}
    xapi.control.fault(method, error=["INTERNAL_ERROR", "injected by the test"], count=1)
    run = playbook([new_vm()])
    assert run.rc != 0
    res = run.result()
    assert run.status() == "failed"
    step = {"Async.VM.provision": "provision", "VDI.resize": "resize_disk", "VIF.create": "add_nic"}[method]
    assert res["failed_step"] == step
    assert "step '%s' failed" % step in res["msg"] and "INTERNAL_ERROR: injected by the test" in res["msg"]
    assert "rolled back" in res["msg"]
    after = pool(xapi.control)
    assert vms_named(after, "app-01") == []
    assert {k: len(after[k]) for k in counts} == counts
    xapi.control.clear_faults()
    assert playbook([new_vm()]).result()["changed"] is True  # converges without the fault


BAD_INPUT = [
    (new_vm(template="No Such Template"), "template", "no template named or with uuid 'No Such Template'"),
    (new_vm(disks=[{"userdevice": 0, "size": "-5GiB"}]), "disks[0].size", "size must be positive"),
    (xen_vm(name="db-01", disks=[{"userdevice": 0, "size": "1GiB"}]), "disks[0].size", "shrinking disk 0"),
    (
        new_vm(disks=[{"userdevice": 0, "size": "1GiB"}, {"userdevice": 0, "size": "2GiB"}]),
        "disks[1].userdevice",
        "userdevice 0 is already used by disks[0].userdevice",
    ),
    (
        new_vm(networks=[{"device": 0, "network": "no-such-net"}]),
        "networks[0].network",
        "no network named or with uuid 'no-such-net'",
    ),
    (
        new_vm(networks=[{"device": 0, "network": ETH0, "mac": "52:54:00:zz:00:01"}]),
        "networks[0].mac",
        "is not a MAC address",
    ),
    (new_vm(memory="2 GiBs"), "memory", "unknown unit 'GiBs'"),
    (new_vm(disks=[{"userdevice": 0, "size": "20 Gigs"}]), "disks[0].size", "unknown unit 'Gigs'"),
    (xen_vm(name="web-01", vcpus=8), None, "these changes need the VM to be halted: set vcpus 2 -> 8"),
    (new_vm(sr="Local storage"), "sr", "matches 2 objects"),
]


@pytest.mark.parametrize("task,param,message", BAD_INPUT, ids=[str(i) for i in range(len(BAD_INPUT))])
def test_bad_input_fails_before_any_change(xapi, playbook, task, param, message):
    before = xapi.control.state_hash()
    xapi.control.reset_calls()
    run = playbook([task])
    assert run.rc != 0
    res = run.result()
    assert message in res["msg"], res["msg"]
    if param:
        # the option is named where the user reads first: "disks[1].userdevice: ..." or "SR 'x' (sr) matches ..."
        assert res["msg"].startswith(param + ": ") or " (%s) " % param in res["msg"], res["msg"]
        assert res.get("param") == param, res
    else:
        assert "param" not in res, res
    assert mutating_calls(xapi.control.calls()) == {}
    assert xapi.control.state_hash() == before


def test_power_states_and_idempotence(xapi, playbook):
    for target, xapi_state in (
        ("running", "Running"),
        ("paused", "Paused"),
        ("running", "Running"),
        ("suspended", "Suspended"),
        ("running", "Running"),
        ("halted", "Halted"),
    ):
        task = xen_vm(name="db-01", power_state=target)
        run = playbook([task])
        assert run.rc == 0 and run.result()["changed"] is True, (target, run.result())
        assert one_vm(pool(xapi.control), "db-01")["power_state"] == xapi_state
        assert playbook([task]).result()["changed"] is False


def test_halt_only_changes_with_power_cycling_restore_running(xapi, playbook):
    run = playbook([xen_vm(name="web-01", vcpus=4, memory="4GiB", allow_power_cycling=True)])
    assert run.rc == 0, run.result()
    ops = [c["operation"] for c in run.result()["changes"]]
    assert ops[0] == "shutdown" and ops[-1] == "power_start"
    vm = one_vm(pool(xapi.control), "web-01")
    assert vm["power_state"] == "Running" and int(vm["VCPUs_max"]) == 4 and int(vm["memory_static_max"]) == 4 * GiB


def test_hot_plug_disk_nic_and_cd_on_running_vm(xapi, playbook):
    run = playbook(
        [
            xen_vm(
                name="web-01",
                disks=[{"userdevice": 2, "size": "1GiB", "name": "scratch"}],
                networks=[{"device": 1, "network": ETH1, "mac": "52:54:00:aa:bb:cc", "mtu": 9000}],
            )
        ]
    )
    assert run.rc == 0, run.result()
    state = pool(xapi.control)
    vm = one_vm(state, "web-01")
    assert vm["power_state"] == "Running"
    disk = vm_disks(state, vm)[2]
    assert disk["name_label"] == "scratch" and disk["_vbd"]["currently_attached"] is True
    nic = vm_nics(state, vm)[1]
    assert nic["MAC"] == "52:54:00:aa:bb:cc" and int(nic["MTU"]) == 9000 and nic["currently_attached"] is True
    # replace the MAC: the NIC is recreated, still attached
    run = playbook([xen_vm(name="web-01", networks=[{"device": 1, "network": ETH1, "mac": "52:54:00:aa:bb:cd"}])])
    assert [c["operation"] for c in run.result()["changes"]] == ["replace_nic"]
    assert vm_nics(pool(xapi.control), one_vm(pool(xapi.control), "web-01"))[1]["MAC"] == "52:54:00:aa:bb:cd"


def test_cdrom_insert_and_eject_on_halted_vm(xapi, playbook):
    run = playbook([xen_vm(name="db-01", cdrom={"iso": "debian-12.iso"})])
    assert run.rc == 0, run.result()
    state = pool(xapi.control)
    cd = vm_cds(state, one_vm(state, "db-01"))[3]
    assert state["VDI"][cd["VDI"]]["name_label"] == "debian-12.iso"
    assert playbook([xen_vm(name="db-01", cdrom={"iso": "debian-12.iso"})]).result()["changed"] is False
    run = playbook([xen_vm(name="db-01", cdrom={"iso": ""})])
    assert run.result()["changed"] is True
    state = pool(xapi.control)
    assert vm_cds(state, one_vm(state, "db-01"))[3]["empty"] is True


def test_metadata_fields(xapi, playbook):
    task = xen_vm(
        name="web-01",
        description="web",
        tags=["prod", "web"],
        other_config={"owner": "ops"},
        platform={"viridian": "true"},
        xenstore_data={"vm-data/role": "web"},
        bootable=False,
        home_server="xen-a2",
        boot={"order": "dcn"},
    )
    assert playbook([task]).result()["changed"] is True
    vm = one_vm(pool(xapi.control), "web-01")
    assert vm["name_description"] == "web" and sorted(vm["tags"]) == ["prod", "web"]
    assert vm["other_config"]["owner"] == "ops" and vm["xenstore_data"]["vm-data/role"] == "web"
    assert vm["platform"]["viridian"] == "true" and "start" in vm["blocked_operations"]
    assert vm["HVM_boot_params"]["order"] == "dcn"
    assert playbook([task]).result()["changed"] is False


def test_remove_unmanaged_disks_and_nics(xapi, playbook):
    state = pool(xapi.control)
    db = one_vm(state, "db-01")
    keep = vm_disks(state, db)[0]
    task = xen_vm(
        name="db-01",
        disks=[{"userdevice": 0}],
        remove_unmanaged_disks=True,
        networks=[{"device": 0, "network": state["network"][vm_nics(state, db)[0]["network"]]["name_label"]}],
        remove_unmanaged_networks=True,
    )
    assert playbook([task]).result()["changed"] is True
    after = pool(xapi.control)
    vm = one_vm(after, "db-01")
    assert list(vm_disks(after, vm)) == [0] and list(vm_nics(after, vm)) == [0]
    assert keep["uuid"] in {v["uuid"] for v in after["VDI"].values()}
    assert len(after["VDI"]) == len(state["VDI"]) - 1
    assert playbook([task]).result()["changed"] is False


def test_destroy_removes_own_disks_but_not_isos_and_is_idempotent(xapi, playbook):
    playbook([xen_vm(name="web-01", cdrom={"iso": "guest-tools.iso"}, allow_power_cycling=True)])
    state = pool(xapi.control)
    web = one_vm(state, "web-01")
    own = {v["uuid"] for v in vm_disks(state, web).values()}
    run = playbook([xen_vm(name="web-01", state="absent")])
    assert run.rc == 0 and run.result()["changed"] is True
    after = pool(xapi.control)
    assert vms_named(after, "web-01") == []
    uuids = {v["uuid"] for v in after["VDI"].values()}
    assert not own & uuids
    assert {"debian-12.iso", "guest-tools.iso", "ubuntu-22.04.iso"} <= {v["name_label"] for v in after["VDI"].values()}
    assert playbook([xen_vm(name="web-01", state="absent")]).result()["changed"] is False


def test_destroy_keep_disks(xapi, playbook):
    state = pool(xapi.control)
    own = {v["uuid"] for v in vm_disks(state, one_vm(state, "db-01")).values()}
    assert playbook([xen_vm(name="db-01", state="absent", keep_disks=True)]).result()["changed"] is True
    assert own <= {v["uuid"] for v in pool(xapi.control)["VDI"].values()}


def test_create_from_scratch(xapi, playbook):
    task = xen_vm(
        name="scratch-01",
        vcpus=1,
        memory=512,
        boot={"firmware": "uefi", "order": "ndc"},
        disks=[{"userdevice": 0, "size": "8GiB", "sr": "Shared storage"}],
        networks=[{"device": 0, "network": ETH0}],
    )
    run = playbook([task])
    assert run.rc == 0, run.result()
    vm = one_vm(pool(xapi.control), "scratch-01")
    assert vm["HVM_boot_params"]["order"] == "ndc", vm["HVM_boot_params"]
    assert vm["HVM_boot_params"]["firmware"] == "uefi", vm["HVM_boot_params"]
    assert int(vm["memory_static_max"]) == 512 * 1024**2
    assert playbook([task]).result()["changed"] is False


def test_duplicate_names_are_an_error_naming_both_uuids(xapi, playbook):
    s = xapi.session()
    try:
        ref = s.xenapi.VM.get_by_name_label("db-01")[0]
        clone = s.xenapi.VM.clone(ref, "db-01")
        uuids = sorted([s.xenapi.VM.get_uuid(ref), s.xenapi.VM.get_uuid(clone)])
    finally:
        s.xenapi.session.logout()
    run = playbook([xen_vm(name="db-01", description="x")])
    assert run.rc != 0
    msg = run.result()["msg"]
    assert "matches 2 objects" in msg and uuids[0] in msg and uuids[1] in msg
    by_uuid = playbook([xen_vm(uuid=uuids[0], description="x")])
    assert by_uuid.rc == 0 and by_uuid.result()["changed"] is True


def test_wait_for_ip_times_out_with_a_clear_error(xapi, playbook):
    run = playbook(
        [
            xen_vm(
                name="db-01",
                power_state="running",
                wait_for_ip={"family": "ipv4", "cidr": "198.51.100.0/24", "timeout": 2},
            )
        ]
    )
    assert run.rc != 0
    expected = "timed out after 2s waiting for the guest to report an IPv4 address in 198.51.100.0/24"
    assert expected in run.result()["msg"]


def test_ipv6_wait_ignores_link_local(xapi, playbook):
    # the simulated guest reports a link-local fe80:: address and a global 2001:db8:: one on each NIC:
    # only the global one may satisfy the wait, so a wait restricted to fe80::/10 must time out
    run = playbook(
        [xen_vm(name="db-01", power_state="running", wait_for_ip={"family": "ipv6", "cidr": "fe80::/10", "timeout": 3})]
    )
    assert run.rc != 0
    assert "waiting for the guest to report an IPv6 address in fe80::/10" in run.result()["msg"], run.result()["msg"]
    vm = one_vm(pool(xapi.control), "db-01")
    metrics = pool(xapi.control)["VM_guest_metrics"][vm["guest_metrics"]]["networks"]
    assert any(v.startswith("fe80:") for v in metrics.values()), metrics  # the link-local address was there
    run = playbook([xen_vm(name="db-01", power_state="running", wait_for_ip={"family": "ipv6", "timeout": 30})])
    assert run.rc == 0, run.result()
    global_v6 = [ip for ip in run.result()["vm"]["ipv6"] if not ip.lower().startswith("fe80:")]
    assert global_v6 and all(ip.startswith("2001:db8:") for ip in global_v6), run.result()["vm"]["ipv6"]


def test_env_fallbacks_for_connection(xapi):
    from playbook_runner import run_playbook

    run = run_playbook(
        [xen_vm(name="db-01")], env={"XENAPI_HOST": xapi.url, "XENAPI_USER": "root", "XENAPI_PASSWORD": xapi.password}
    )
    assert run.rc == 0, run.result()
    assert run.result()["changed"] is False
    # the environment also wins over username's default (root)
    other = run_playbook(
        [xen_vm(name="db-01")], env={"XENAPI_HOST": xapi.url, "XENAPI_USER": "alice", "XENAPI_PASSWORD": "al1ce-pw"}
    )

    assert other.result()["msg"] == "login to %s as 'alice' failed: the user name or password is wrong" % xapi.url


def test_wrong_password_is_a_clear_error(xapi, playbook):
    run = playbook([xen_vm(name="db-01")], defaults={"hostname": xapi.url, "password": "not-the-password"})
    assert run.rc != 0
    assert run.result()["msg"] == "login to %s as 'root' failed: the user name or password is wrong" % xapi.url
    assert run.result()["error_code"] == "SESSION_AUTHENTICATION_FAILED"


def test_validate_certs_defaults_to_true_and_ca_path_makes_it_pass(xapi_tls):
    from playbook_runner import run_playbook

    base = {"hostname": xapi_tls.url, "username": "root", "password": xapi_tls.password}
    run = run_playbook([xen_vm(name="db-01")], defaults=base)
    assert run.rc != 0
    assert run.result()["error_code"] == "CERTIFICATE_VERIFY_FAILED", run.result()
    assert "cannot verify the TLS certificate of %s: " % xapi_tls.url in run.result()["msg"], run.result()
    ok = run_playbook([xen_vm(name="db-01")], defaults=dict(base, ca_path=xapi_tls.ca))
    assert ok.rc == 0 and ok.result()["changed"] is False, ok.result()
    off = run_playbook([xen_vm(name="db-01")], defaults=dict(base, validate_certs=False))
    assert off.rc == 0


def test_password_never_in_output(xapi, playbook):
    secret = "S3cr3t-pa55"
    s = xapi.session()
    s.xenapi.session.logout()
    run = playbook([xen_vm(name="db-01")], defaults={"hostname": xapi.url, "password": secret}, verbosity=3)
    assert run.rc != 0
    blob = run.stdout + run.stderr + json.dumps(run.results)
    assert secret not in blob


def test_config_drive_regenerated_only_when_content_changes(xapi, playbook):
    first = {"user_data": "#cloud-config\nhostname: a\n", "meta_data": {"role": "web"}}
    run = playbook([xen_vm(name="web-01", cloud_init=first, allow_power_cycling=True)])
    assert run.rc == 0, run.result()
    old_sha = run.result()["vm"]["config_drive"]["sha256"]
    state = pool(xapi.control)
    old_vdi = state["VBD"][next(r for r in one_vm(state, "web-01")["VBDs"] if state["VBD"][r]["userdevice"] == "4")][
        "VDI"
    ]
    assert playbook([xen_vm(name="web-01", cloud_init=first)]).result()["changed"] is False
    second = dict(first, user_data="#cloud-config\nhostname: b\n")
    run = playbook([xen_vm(name="web-01", cloud_init=second)])
    res = run.result()
    assert run.rc == 0 and [c["operation"] for c in res["changes"]] == ["config_drive"], res
    assert "regenerate" in res["changes"][0]["description"]
    assert res["vm"]["config_drive"]["sha256"] != old_sha
    state = pool(xapi.control)
    vm = one_vm(state, "web-01")
    assert vm["power_state"] == "Running"
    cd = vm_cds(state, vm)[4]
    assert cd["VDI"] != old_vdi and old_vdi not in state["VDI"]  # the old drive is gone
    assert state["VDI"][cd["VDI"]]["other_config"]["virtops_config_drive_sha256"] == res["vm"]["config_drive"]["sha256"]


def test_destroy_falls_back_to_hard_shutdown_after_shutdown_timeout(xapi, playbook):
    xapi.control.fault("VM.clean_shutdown", mode="delay", seconds=6)
    xapi.control.reset_calls()
    run = playbook([xen_vm(name="web-01", state="absent", shutdown_timeout=1)])
    assert run.rc == 0, run.result()
    calls = xapi.control.calls()
    assert calls.get("Async.VM.clean_shutdown") == 1 and calls.get("Async.VM.hard_shutdown") == 1
    assert calls.get("task.cancel") == 1
    assert vms_named(pool(xapi.control), "web-01") == []


def test_concurrent_creates_of_one_name_give_one_vm(xapi, playbook):
    """Two runs race to create the same VM: the creation lock makes the second converge onto the first's VM."""
    from concurrent.futures import ThreadPoolExecutor

    xapi.control.fault("VM.clone", mode="delay", seconds=2)  # widen the race window
    task = new_vm()
    with ThreadPoolExecutor(2) as pool_:
        runs = list(pool_.map(lambda _i: playbook([task]), range(2)))
    assert [r.rc for r in runs] == [0, 0], [r.result() for r in runs]
    assert sorted(r.result()["changed"] for r in runs) in ([False, True], [True, True])
    state = pool(xapi.control)
    assert len(vms_named(state, "app-01")) == 1
    assert not any(k.startswith("virtops_create_lock:") for p in state["pool"].values() for k in p["other_config"])


def test_stale_creation_lock_is_broken_after_timeout(xapi, playbook):
    s = xapi.session()
    try:
        pool_ref = s.xenapi.pool.get_all()[0]
        s.xenapi.pool.add_to_other_config(pool_ref, "virtops_create_lock:app-01", "left-by-a-killed-run 1000")
    finally:
        s.xenapi.session.logout()
    run = playbook([new_vm(timeout=5)])
    assert run.rc == 0, run.result()
    state = pool(xapi.control)
    assert len(vms_named(state, "app-01")) == 1
    assert "virtops_create_lock:app-01" not in next(iter(state["pool"].values()))["other_config"]


def _noop_db01(state, **extra):
    db = one_vm(state, "db-01")
    return xen_vm(
        name="db-01",
        vcpus=int(db["VCPUs_at_startup"]),
        disks=[{"userdevice": d, "size": "%dB" % int(v["virtual_size"])} for d, v in vm_disks(state, db).items()],
        networks=[
            {"device": d, "network": state["network"][v["network"]]["name_label"]}
            for d, v in vm_nics(state, db).items()
        ],
        **extra,
    )


def test_read_scope_vm_sees_the_same_vm_at_a_constant_cost(xapi, playbook):
    state = pool(xapi.control)
    whole = playbook([_noop_db01(state)]).result()
    xapi.control.reset_calls()
    scoped = playbook([_noop_db01(state, read_scope="vm")]).result()
    assert scoped["changed"] is False and scoped["vm"] == whole["vm"]
    assert xapi.control.calls() == {
        "session.login_with_password": 1,
        "VM.get_all_records_where": 1,
        "event.from": 2,
        "session.logout": 1,
    }


def test_read_scope_vm_updates_creates_and_checks(xapi, playbook):
    before = xapi.control.state_hash()
    task = xen_vm(name="db-01", tags=["db"], cdrom={"iso": "debian-12.iso"}, read_scope="vm")
    assert playbook([task], check=True).result()["changed"] is True
    assert xapi.control.state_hash() == before
    assert playbook([task]).result()["changed"] is True
    state = pool(xapi.control)
    vm = one_vm(state, "db-01")
    assert vm["tags"] == ["db"] and state["VDI"][vm_cds(state, vm)[3]["VDI"]]["name_label"] == "debian-12.iso"
    assert playbook([task]).result()["changed"] is False
    created = playbook([new_vm(read_scope="vm")])
    assert created.rc == 0 and created.result()["changed"] is True, created.result()
    again = playbook([new_vm(read_scope="vm")])
    assert again.result()["changed"] is False, again.result()["changes"]
    gone = playbook([xen_vm(name="app-01", state="absent", read_scope="vm")])
    assert gone.result()["changed"] is True and vms_named(pool(xapi.control), "app-01") == []
