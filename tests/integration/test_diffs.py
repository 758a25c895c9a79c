"""Diffs people can read, through ansible-playbook --diff: cloud-init data as lines, no echo of
user_data in results, runtime fields (ip, host ...) left out, check-mode diff equal to the real one."""

from __future__ import annotations

import base64
import json

from playbook_runner import run_playbook

HIDDEN = "(cloud-init data, not shown: see cloud_init in the diff)"
OLD = "#cloud-config\nhostname: app-01\npackages: [nginx]\nruncmd:\n  - echo one\n"
NEW = "#cloud-config\nhostname: app-01\npackages: [nginx, curl]\nruncmd:\n  - echo one\n"


def vm_task(module="vmware_vm", **params):
    return {"virtops.compute.%s" % module: params}


def vmware(vcsim, tasks, **kwargs):
    return run_playbook(tasks if isinstance(tasks, list) else [tasks], env=vcsim.env(), **kwargs)


def ok(run, index=-1):
    assert run.rc == 0 and run.status(index) == "ok", run.stdout[-3000:]
    return run.result(index)


def test_vmware_cloud_init_diff_shows_changed_lines_and_never_echoes_user_data(vcsim):
    base = {"name": "DC0_H0_VM0", "power_state": "running"}
    ok(vmware(vcsim, vm_task(**base, cloud_init={"user_data": OLD})))
    task = vm_task(**base, cloud_init={"user_data": NEW})
    check = ok(vmware(vcsim, task, check=True, diff=True))
    real = ok(vmware(vcsim, task, diff=True))
    assert check["changed"] is real["changed"] is True
    for res in (check, real):
        before, after = res["diff"]["before"], res["diff"]["after"]
        assert before["cloud_init"]["user_data"] == OLD.splitlines()
        assert after["cloud_init"]["user_data"] == NEW.splitlines()
        # the encoded blob is never echoed: not in the diff, not in the returned VM
        assert after["extra_config"]["guestinfo.userdata"] == HIDDEN
        assert res["vm"]["extra_config"]["guestinfo.userdata"] == HIDDEN
        # (``invocation`` is Ansible's own echo of the task's arguments, not the module's result)
        text = json.dumps({k: v for k, v in res.items() if k not in ("diff", "invocation")})
        assert base64.b64encode(NEW.encode()).decode() not in text and "curl" not in text
        assert base64.b64encode(NEW.encode()).decode() not in json.dumps(res["diff"])
        # runtime fields stay out of diffs (they are in the result's vm)
        for side in (before, after):
            assert not {"ip", "ipv4", "ipv6", "host", "guest_hostname", "tools_running_status"} & set(side)
            assert all("ipv4" not in nic for nic in side["networks"])
    assert "host" in real["vm"] and "ip" in real["vm"]
    assert check["diff"] == real["diff"]
    # Ansible's --diff output shows the changed line, with the unchanged ones as context
    shown = vmware(vcsim, vm_task(**base, cloud_init={"user_data": OLD}), diff=True)
    removed = [line[1:].strip() for line in shown.stdout.splitlines() if line.startswith("-") and '"' in line]
    added = [line[1:].strip() for line in shown.stdout.splitlines() if line.startswith("+") and '"' in line]
    assert '"packages: [nginx, curl]",' in removed and '"packages: [nginx]",' in added, shown.stdout
    assert '"hostname: app-01",' not in removed + added  # unchanged lines are context only


def xen_vm(**params):
    return {"virtops.compute.xen_vm": params}


def test_xen_cloud_init_diff_shows_the_changed_lines_of_user_data(xapi, playbook):
    base = {"name": "ci-01", "template": "Debian Bookworm 12", "power_state": "halted"}
    created = ok(playbook([xen_vm(**base, cloud_init={"user_data": OLD})], diff=True))
    assert created["diff"]["before"] == {}
    assert created["diff"]["after"]["cloud_init"] == {"user_data": OLD.splitlines()}
    task = xen_vm(**base, cloud_init={"user_data": NEW})
    xapi.control.reset_calls()
    check = ok(playbook([task], check=True, diff=True))
    assert xapi.control.calls().get("export_raw_vdi") == 1  # the current drive is read back once, on a change
    real = ok(playbook([task], diff=True))
    assert check["changed"] is real["changed"] is True
    for res in (check, real):
        assert res["diff"]["before"]["cloud_init"] == {"user_data": OLD.splitlines()}
        assert res["diff"]["after"]["cloud_init"] == {"user_data": NEW.splitlines()}
        assert "cloud_init" not in res["vm"]  # only the diff shows the text
        for side in res["diff"].values():
            assert not {"ip", "ipv4", "ipv6", "host"} & set(side)
    assert check["diff"]["before"] == real["diff"]["before"]
    assert check["diff"]["after"]["cloud_init"] == real["diff"]["after"]["cloud_init"]
    # no change: no diff, and the drive is not read
    xapi.control.reset_calls()
    again = ok(playbook([task], diff=True))
    assert again["changed"] is False and xapi.control.calls().get("export_raw_vdi") is None
    assert again["diff"]["before"] == again["diff"]["after"] and "cloud_init" not in again["diff"]["after"]
