"""XlClient on a scripted runner: the exact xl command lines, their count, and Ganeti's stop protocol."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ansible_collections.virtops.compute.plugins.module_utils._xl.client import XlClient
from ansible_collections.virtops.compute.plugins.module_utils._xl.errors import XlError, XlTimeout
from ansible_collections.virtops.compute.plugins.module_utils._xl.runner import CmdResult, CmdTimeout, XlRunner

DATA = Path(__file__).parent / "data"


class Script:
    """A run-command function answering from (argv -> recording name | CmdResult | exception) in order."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.timeouts: list[float] = []

    def __call__(self, argv, timeout):
        expected, answer = self.answers.pop(0)
        assert list(argv) == expected
        self.timeouts.append(timeout)
        if isinstance(answer, BaseException):
            raise answer
        if isinstance(answer, str):
            rec = json.loads((DATA / f"{answer}.json").read_text())
            assert rec["argv"][1:] == expected[1:], (rec["argv"], expected)
            return CmdResult(tuple(argv), rec["rc"], rec["stdout"], rec["stderr"])
        return answer


def client(*answers):
    script = Script(*answers)
    return XlClient(XlRunner(run_cmd_fn=script, timeout=30)), script


def ok(argv):
    return CmdResult(tuple(argv), 0, "", "")


def test_reads_parse_real_output():
    c, _script = client(
        (["xl", "list", "tiny1"], "list_tiny1"),
        (["xl", "list", "-l", "tiny1"], "list_long_tiny1"),
        (["xl", "list", "nosuch"], "err_list_unknown"),
        (["xl", "list", "-l", "nosuch"], "err_list_long_unknown"),
    )
    state = c.state("tiny1")
    assert state is not None and state.name == "tiny1" and state.power_state == "running"
    (dom,) = c.list_long("tiny1")
    assert dom["name"] == "tiny1" and dom["domid"] == state.domid
    assert c.state("nosuch") is None
    assert c.list_long("nosuch") == []
    assert c.runner.calls == [
        ("xl", "list", "tiny1"),
        ("xl", "list", "-l", "tiny1"),
        ("xl", "list", "nosuch"),
        ("xl", "list", "-l", "nosuch"),
    ]


@pytest.mark.parametrize(
    "call, argv, timeout",
    [
        (lambda c: c.create("/etc/xen/auto/a.cfg"), ["create", "/etc/xen/auto/a.cfg"], 30),
        (lambda c: c.create("/a.cfg", paused=True), ["create", "-p", "/a.cfg"], 30),
        (lambda c: c.shutdown("a"), ["shutdown", "-w", "a"], 300),
        (lambda c: c.shutdown("a", wait=False, timeout=5), ["shutdown", "a"], 5),
        (lambda c: c.destroy("a"), ["destroy", "a"], 30),
        (lambda c: c.reboot("a"), ["reboot", "a"], 30),
        (lambda c: c.reboot("a", force=True), ["reboot", "-F", "a"], 30),
        (lambda c: c.pause("a"), ["pause", "a"], 30),
        (lambda c: c.unpause("a"), ["unpause", "a"], 30),
        (lambda c: c.save("a", "/var/lib/xen/save/a"), ["save", "a", "/var/lib/xen/save/a"], 1800),
        (lambda c: c.restore("/s/a", paused=True), ["restore", "-p", "/s/a"], 1800),
        (lambda c: c.mem_set("a", 96), ["mem-set", "a", "96m"], 30),
        (lambda c: c.vcpu_set("a", 2), ["vcpu-set", "a", "2"], 30),
        (lambda c: c.migrate("a", "192.168.77.2"), ["migrate", "a", "192.168.77.2"], 1800),
        (
            lambda c: c.migrate("a", "xl migrate-receive", ssh_command=""),
            ["migrate", "-s", "", "a", "xl migrate-receive"],
            1800,
        ),
    ],
)
def test_writes_are_one_xl_call_each(call, argv, timeout):
    c, script = client((["xl", *argv], ok(["xl", *argv])))
    call(c)
    assert c.runner.calls == [("xl", *argv)]
    assert script.timeouts == [timeout]


def test_console_command_runs_nothing():
    c, _script = client()
    assert c.console_command("web1") == ["xl", "console", "web1"]
    assert c.runner.calls == []


def test_stop_clean_shutdown():
    c, _script = client((["xl", "shutdown", "-w", "tiny1"], "shutdown_wait"))
    assert c.stop("tiny1", timeout=60) == "shutdown"
    assert len(c.runner.calls) == 1


def test_stop_absent_domain_is_not_an_error():
    c, _script = client((["xl", "shutdown", "-w", "nosuch"], CmdResult(("xl",), 1, "", _err("err_shutdown_unknown"))))
    assert c.stop("nosuch") == "absent"


def _err(name: str) -> str:
    return str(json.loads((DATA / f"{name}.json").read_text())["stderr"])


def test_stop_timeout_then_destroy_when_forced():
    c, script = client(
        (["xl", "shutdown", "-w", "tiny1"], CmdTimeout("Waiting for domain tiny1 (3) to shut down")),
        (["xl", "destroy", "tiny1"], ok(["xl"])),
    )
    assert c.stop("tiny1", timeout=2, force=True) == "destroyed"
    assert script.timeouts == [2, 30]


def test_stop_timeout_without_force_raises_and_does_not_destroy():
    c, _script = client((["xl", "shutdown", "-w", "tiny1"], CmdTimeout("")))
    with pytest.raises(XlTimeout, match="did not finish within 2s"):
        c.stop("tiny1", timeout=2)
    assert c.runner.calls == [("xl", "shutdown", "-w", "tiny1")]


def test_stop_forced_when_the_domain_vanished_meanwhile():
    c, _script = client(
        (["xl", "shutdown", "-w", "tiny1"], CmdResult(("xl",), 1, "", "libxl: error: shutdown failed")),
        (["xl", "destroy", "tiny1"], CmdResult(("xl",), 1, "", _err("err_destroy_unknown"))),
    )
    assert c.stop("tiny1", force=True) == "shutdown"
    with pytest.raises(XlError, match="shutdown failed"):
        client((["xl", "shutdown", "-w", "t"], CmdResult(("xl",), 1, "", "libxl: error: shutdown failed")))[0].stop("t")
