"""XlRunner: the one place that runs xl — timeouts, typed errors carrying xl's words, call records.

Failures are replayed from real xl 4.17 recordings (data/*.json, scripts/xenlab/record-xl-output).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from ansible_collections.virtops.compute.plugins.module_utils._xl.errors import (
    XlDomainNotFound,
    XlError,
    XlNotAvailable,
    XlTimeout,
)
from ansible_collections.virtops.compute.plugins.module_utils._xl.runner import (
    CmdResult,
    CmdTimeout,
    XlRunner,
    run_cmd,
)

DATA = Path(__file__).parent / "data"


def recording(name: str) -> dict:
    return json.loads((DATA / f"{name}.json").read_text())


def replay(name: str):
    """A run-command function that answers with one recording (and checks it was asked the same)."""
    rec = recording(name)
    seen: list[tuple[tuple[str, ...], float]] = []

    def fn(argv, timeout):
        seen.append((tuple(argv), timeout))
        assert list(argv) == rec["argv"]
        return CmdResult(tuple(argv), rec["rc"], rec["stdout"], rec["stderr"])

    fn.seen = seen  # type: ignore[attr-defined]
    return fn


def test_success_returns_output_and_records_the_call():
    fn = replay("list_running")
    runner = XlRunner(run_cmd_fn=fn, timeout=7)
    result = runner.run(["list"])
    assert result.rc == 0 and result.stdout.startswith("Name")
    assert runner.calls == [("xl", "list")]
    assert fn.seen == [(("xl", "list"), 7)]


def test_per_call_timeout_overrides_the_default():
    fn = replay("shutdown_wait")
    XlRunner(run_cmd_fn=fn, timeout=7).run(["shutdown", "-w", "tiny1"], timeout=300)
    assert fn.seen[0][1] == 300


@pytest.mark.parametrize(
    "name, args",
    [
        ("err_list_unknown", ["list", "nosuch"]),
        ("err_pause_unknown", ["pause", "nosuch"]),
        ("err_destroy_unknown", ["destroy", "nosuch"]),
        ("err_shutdown_unknown", ["shutdown", "nosuch"]),
        ("err_mem_set_unknown", ["mem-set", "nosuch", "64m"]),
    ],
)
def test_unknown_domain_is_domain_not_found_with_xl_words(name, args):
    rec = recording(name)
    with pytest.raises(XlDomainNotFound) as err:
        XlRunner(run_cmd_fn=replay(name)).run(args)
    e = err.value
    assert e.code == "XL_DOMAIN_NOT_FOUND" and e.rc == rec["rc"] != 0
    assert e.xl_message and e.xl_message in str(e)
    assert e.xl_message == "nosuch is an invalid domain identifier (rc=-6)"
    assert str(e).startswith("'xl %s' failed (exit code %d): " % (" ".join(args), rec["rc"]))


@pytest.mark.parametrize(
    "name, args, words",
    [
        ("err_create_duplicate", ["create", "/var/lib/xen/xenlab/tiny.cfg"], "already exists"),
        ("err_create_bad_syntax", ["create", "/tmp/bad-syntax.cfg"], "config parsing error near"),
        ("err_create_missing_kernel", ["create", "/tmp/missing-kernel.cfg"], "no-such-vmlinux"),
        ("err_create_missing_file", ["create", "/var/lib/xen/no-such.cfg"], "no-such.cfg: No such file"),
        ("mem_set_above_maxmem", ["mem-set", "tiny1", "4096m"], "must be less than or equal to memory_static_max"),
        (
            "err_create_memory_below_kernel",
            ["create", "-p", "/var/lib/xen/full1-small.cfg"],
            "segment kernel too large",
        ),
        (
            "err_create_block_hotplug_timeout",
            ["create", "-p", "/var/lib/xen/full1.cfg"],
            "killing execution of /etc/xen/scripts/block add because of timeout",
        ),
    ],
)
def test_other_failures_are_xl_errors_carrying_xl_message(name, args, words):
    with pytest.raises(XlError) as err:
        XlRunner(run_cmd_fn=replay(name)).run(args)
    assert not isinstance(err.value, XlDomainNotFound)
    assert words in err.value.xl_message
    assert "Parsing config from" not in err.value.xl_message


def test_message_keeps_every_line_of_a_failed_create():
    with pytest.raises(XlError) as err:
        XlRunner(run_cmd_fn=replay("err_create_duplicate")).run(["create", "/var/lib/xen/xenlab/tiny.cfg"])
    msg = err.value.xl_message
    assert msg.startswith(
        'libxl: error: libxl_domain.c:81:libxl__domain_rename: Domain 3:Domain with name "tiny1" already exists.; '
    )
    assert msg.endswith("unable to destroy domain following failed creation")
    assert err.value.rc == 3


def test_check_false_returns_the_failure():
    result = XlRunner(run_cmd_fn=replay("err_list_unknown")).run(["list", "nosuch"], check=False)
    assert result.rc != 0 and result.stderr


def test_timeout_is_typed_and_names_the_limit():
    def fn(argv, timeout):
        raise CmdTimeout("Waiting for domain tiny1 (1) to shut down")

    with pytest.raises(XlTimeout) as err:
        XlRunner(run_cmd_fn=fn).run(["shutdown", "-w", "tiny1"], timeout=2.5)
    assert str(err.value) == (
        "'xl shutdown -w tiny1' did not finish within 2.5s and was killed; its output so far: "
        "Waiting for domain tiny1 (1) to shut down"
    )
    assert err.value.code == "XL_TIMEOUT"


def test_missing_xl_is_not_available():
    def fn(argv, timeout):
        raise FileNotFoundError(2, "No such file or directory")

    with pytest.raises(
        XlNotAvailable, match=r"cannot run 'xl' on this host: No such file or directory \(is this a Xen dom0"
    ):
        XlRunner(run_cmd_fn=fn).run(["info"])


def test_real_run_cmd_kills_at_the_timeout_and_reports_output():
    code = "import sys, time; print('started', flush=True); time.sleep(30)"
    with pytest.raises(CmdTimeout):
        run_cmd([sys.executable, "-c", code], 0.5)
    ok = run_cmd([sys.executable, "-c", "import sys; print('out'); print('err', file=sys.stderr); sys.exit(3)"], 30)
    assert (ok.rc, ok.stdout, ok.stderr) == (3, "out\n", "err\n")


def test_command_prefix_routes_through_another_program():
    seen = []

    def fn(argv, timeout):
        seen.append(tuple(argv))
        return CmdResult(tuple(argv), 0, "", "")

    XlRunner(cmd=("sudo", "-n", "xl"), run_cmd_fn=fn).run(["list"])
    assert seen == [("sudo", "-n", "xl", "list")]
