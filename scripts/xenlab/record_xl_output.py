"""Record real `xl` 4.17 output from a booted lab host into the unit tests' data directory.

    scripts/xenlab/record-xl-output [--run-dir DIR] [--host h1] [--out DIR]

Boot a host first (scripts/xenlab/boot 1). Each recording is <out>/<name>.json:
{"argv": [...], "rc": N, "stdout": "...", "stderr": "..."} — exactly what xl printed, so the unit
tests can replay it through XlRunner's injectable run-command function. The whole session runs on
dom0 in one ssh round trip (dom0's python3 runs the steps), because every ssh command costs seconds
on the emulated CPU. The host is left as it was found: the domains created here are destroyed.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
DEFAULT_OUT = ROOT / "tests" / "unit" / "plugins" / "module_utils" / "_xl" / "data"
DEFAULT_RUN = Path(os.environ.get("XENLAB_RUN", str(Path.home() / ".cache" / "virtops" / "xenlab-run")))
PAYLOAD = "/var/lib/xen/xenlab"

FULL_CFG = f"""name = "full1"
type = "pv"
kernel = "{PAYLOAD}/vmlinux"
ramdisk = "{PAYLOAD}/domu-initrd.gz"
cmdline = "console=hvc0 quiet"
memory = 128
maxmem = 192
vcpus = 2
disk = [ "format=raw, vdev=xvda, access=rw, target=/var/lib/xen/full1.img" ]
vif = [ "mac=00:16:3e:5a:00:01,bridge=xenbr0" ]
on_crash = "preserve"
"""
BAD_SYNTAX_CFG = 'name = "bad1"\nmemory = 64\nkernel = "/nonexistent\n'
MISSING_KERNEL_CFG = 'name = "nokernel1"\ntype = "pv"\nmemory = 64\nkernel = "/var/lib/xen/no-such-vmlinux"\n'
CONSOLE = "/var/log/xen/console/guest-tiny1.log"

# (kind, name or shell text, argv, expected rc: 0, 1 = must fail, None = either)
STEPS: list[tuple[str, str, list[str], int | None]] = [
    ("sh", "xl destroy tiny1 2>/dev/null; xl destroy full1 2>/dev/null; rm -f " + CONSOLE + "; true", [], None),
    ("rec", "info", ["xl", "info"], 0),
    ("rec", "list_dom0", ["xl", "list"], 0),
    ("rec", "list_long_dom0", ["xl", "list", "-l"], 0),
    ("rec", "create_tiny", ["xl", "create", f"{PAYLOAD}/tiny.cfg"], 0),
    ("wait", "grep -q XENLAB-DOMU-UP " + CONSOLE, [], None),
    ("rec", "list_running", ["xl", "list"], 0),
    ("rec", "list_long_running", ["xl", "list", "-l"], 0),
    ("rec", "list_long_tiny1", ["xl", "list", "-l", "tiny1"], 0),
    ("rec", "list_tiny1", ["xl", "list", "tiny1"], 0),
    ("rec", "uptime", ["xl", "uptime"], 0),
    ("rec", "vcpu_list", ["xl", "vcpu-list"], 0),
    ("rec", "domid_tiny1", ["xl", "domid", "tiny1"], 0),
    ("rec", "pause", ["xl", "pause", "tiny1"], 0),
    ("rec", "list_paused", ["xl", "list", "tiny1"], 0),
    ("rec", "unpause", ["xl", "unpause", "tiny1"], 0),
    ("rec", "mem_set", ["xl", "mem-set", "tiny1", "96m"], 0),
    ("sh", "sleep 5", [], None),
    ("rec", "list_after_mem_set", ["xl", "list", "tiny1"], 0),
    ("rec", "list_long_after_mem_set", ["xl", "list", "-l", "tiny1"], 0),
    ("rec", "mem_set_above_maxmem", ["xl", "mem-set", "tiny1", "4096m"], None),
    ("rec", "mem_set_back", ["xl", "mem-set", "tiny1", "128m"], 0),
    ("rec", "err_create_duplicate", ["xl", "create", f"{PAYLOAD}/tiny.cfg"], 1),
    ("rec", "err_list_unknown", ["xl", "list", "nosuch"], 1),
    ("rec", "err_list_long_unknown", ["xl", "list", "-l", "nosuch"], 1),
    ("rec", "err_pause_unknown", ["xl", "pause", "nosuch"], 1),
    ("rec", "err_shutdown_unknown", ["xl", "shutdown", "nosuch"], 1),
    ("rec", "err_destroy_unknown", ["xl", "destroy", "nosuch"], 1),
    ("rec", "err_mem_set_unknown", ["xl", "mem-set", "nosuch", "64m"], 1),
    ("rec", "err_create_missing_file", ["xl", "create", "/var/lib/xen/no-such.cfg"], 1),
    ("file", "/tmp/bad-syntax.cfg", [BAD_SYNTAX_CFG], None),
    ("rec", "err_create_bad_syntax", ["xl", "create", "/tmp/bad-syntax.cfg"], 1),
    ("file", "/tmp/missing-kernel.cfg", [MISSING_KERNEL_CFG], None),
    ("rec", "err_create_missing_kernel", ["xl", "create", "/tmp/missing-kernel.cfg"], 1),
    ("rec", "shutdown_wait", ["xl", "shutdown", "-w", "tiny1"], 0),
    ("rec", "list_after_shutdown", ["xl", "list"], 0),
]
# A domain with a file-backed disk and a vif on xenbr0: disks and nics in `xl list -l`.
FULL_STEPS: list[tuple[str, str, list[str], int | None]] = [
    ("sh", "xl destroy full1 2>/dev/null; true", [], None),
    ("file", "/var/lib/xen/full1-small.cfg", [FULL_CFG.replace("memory = 128", "memory = 64")], None),
    ("rec", "err_create_memory_below_kernel", ["xl", "create", "-p", "/var/lib/xen/full1-small.cfg"], 1),
    ("file", "/var/lib/xen/full1.cfg", [FULL_CFG], None),
    ("sh", "truncate -s 16M /var/lib/xen/full1.img", [], None),
    ("rec", "create_full_paused", ["xl", "create", "-p", "/var/lib/xen/full1.cfg"], 0),
    ("rec", "list_full_paused", ["xl", "list", "full1"], 0),
    ("rec", "list_long_full1", ["xl", "list", "-l", "full1"], 0),
    ("rec", "block_list_full1", ["xl", "block-list", "full1"], 0),
    ("rec", "network_list_full1", ["xl", "network-list", "full1"], 0),
    ("rec", "destroy_full1", ["xl", "destroy", "full1"], 0),
    ("sh", "rm -f /var/lib/xen/full1.img /var/lib/xen/full1*.cfg /tmp/*.cfg", [], None),
    ("rec", "list_end", ["xl", "list"], 0),
]

# Runs on dom0 (python3 there): the steps in order, one JSON object with every recording on stdout.
REMOTE = r"""
import json, os, subprocess, sys, time
steps = json.loads(sys.stdin.readline())
env = dict(os.environ, LC_ALL="C", LANG="C")
out = {}
for kind, name, argv, expect in steps:
    if kind == "rec":
        p = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=600)
        out[name] = {"argv": argv, "rc": p.returncode, "stdout": p.stdout, "stderr": p.stderr}
        if expect is not None and (p.returncode == 0) != (expect == 0):
            out["__error__"] = "%s: %s exited %d: %s" % (name, argv, p.returncode, p.stderr)
            break
    elif kind == "file":
        with open(name, "w") as fh:
            fh.write(argv[0])
    elif kind == "wait":
        end = time.time() + 900
        while subprocess.run(name, shell=True).returncode != 0:
            if time.time() > end:
                out["__error__"] = "timed out: " + name
                break
            time.sleep(2)
        if "__error__" in out:
            break
    else:
        subprocess.run(name, shell=True, env=env)
json.dump(out, sys.stdout)
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run-dir", default=str(DEFAULT_RUN))
    ap.add_argument("--host", default="h1")
    ap.add_argument("--out", default=str(DEFAULT_OUT))
    # "full" (a domain with a file disk and a vif) needs a host fast enough for libxl's 40 s hotplug-script
    # timeout: on a loaded 2-core machine the block script is killed before it finishes.
    ap.add_argument("--only", choices=("all", "base", "full"), default="base", help="a part of the session")
    a = ap.parse_args()
    steps = {"all": STEPS + FULL_STEPS, "base": STEPS, "full": FULL_STEPS}[a.only]
    facts = json.loads((Path(a.run_dir) / "hosts.json").read_text())
    h = next(h for h in facts["hosts"] if h["name"] == a.host)
    ssh = [
        "ssh", "-p", str(h["port"]), "-i", facts["ssh_key"], "-o", "StrictHostKeyChecking=no",
        "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-o", "BatchMode=yes",
        "-o", "ServerAliveInterval=30", "-o", "ConnectTimeout=600", f"root@{h['address']}",
    ]  # fmt: skip
    code = base64.b64encode(REMOTE.encode()).decode()
    program = "exec python3 -c 'import base64, sys; exec(base64.b64decode(sys.argv[1]))' " + code
    p = subprocess.run(
        [*ssh, program], input=json.dumps(steps) + "\n", capture_output=True, text=True, timeout=3600, check=False
    )
    if p.returncode != 0:
        sys.exit(f"the recording session failed on {a.host} (exit {p.returncode}): {p.stderr}")
    recordings = json.loads(p.stdout)
    error = recordings.pop("__error__", None)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    for name, rec in recordings.items():
        (out / f"{name}.json").write_text(json.dumps(rec, indent=1) + "\n")
        print(f"recorded {name}: rc={rec['rc']}", file=sys.stderr)
    if error:
        sys.exit(f"recording stopped: {error}")
    (out / "INDEX.txt").write_text(
        "Recorded by scripts/xenlab/record-xl-output from a lab host (Xen in QEMU); refresh by re-running it.\n"
        + "".join(f"{p.name}\n" for p in sorted(out.glob("*.json")))
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
