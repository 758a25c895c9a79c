"""Boot and stop N Xen 4.17 hosts under QEMU (TCG) for the xl test tier.

    lab.py boot N [--run-dir DIR] [--ttl SECONDS] [--owner-pid PID] [--timeout SECONDS]
    lab.py stop [--run-dir DIR]
    lab.py status [--run-dir DIR]

`boot` takes the image from `scripts/xenlab/build` (cached), starts N QEMU VMs, each with dom0's ssh on
127.0.0.1:<free port> and a private L2 link to h1 (-netdev socket over 127.0.0.1: a star, h1 the hub;
dom0 link addresses 192.168.77.<i>), waits for XEN-DOM0-READY on each serial log, and writes
<run-dir>/inventory.ini (Ansible) and <run-dir>/hosts.json, then prints hosts.json.

Nothing is left running: a watchdog process owns the QEMU processes (they die with it, PR_SET_PDEATHSIG)
and stops them when the owner process (default: the caller of `boot`) exits, when the time to live runs
out (default 3600 s), or on `stop`. If QEMU cannot run, `boot` says why and exits 3.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_RUN = Path(os.environ.get("XENLAB_RUN", str(Path.home() / ".cache" / "virtops" / "xenlab-run")))
EXIT_NO_QEMU = 3
# SMAP emulation crashes dom0 at its first instruction; QEMU 7.2's new TCG AVX/AVX2 showed as memory
# corruption in dom0 userspace (xl and python3 aborting in malloc / segfaulting): glibc's SSE paths instead.
CPU = os.environ.get("XENLAB_CPU", "max,-smap,-smep,-avx,-avx2")
MEM_MB = int(os.environ.get("XENLAB_MEM_MB", "2048"))
XEN_ARGS = (
    "console=com1 com1=115200,8n1 console_timestamps=boot bootscrub=0 dom0_mem=1024M,max:1024M "
    "dom0_max_vcpus=2 loglvl=all guest_loglvl=all noreboot"
)


def log(msg: str) -> None:
    print(f"xenlab: {msg}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is not alive
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    except OSError:
        return False


def qemu_argv(art: Path, run: Path, i: int, host: dict, links: list[str]) -> list[str]:
    tag = host["name"]
    argv = [
        shutil.which("qemu-system-x86_64") or "qemu-system-x86_64",
        "-accel",
        "tcg,thread=multi,tb-size=256",
        "-cpu",
        CPU,
        "-machine",
        "q35",
        "-smp",
        "2",
        "-m",
        str(MEM_MB),
        "-display",
        "none",
        "-no-reboot",
        "-nodefaults",
        "-chardev",
        f"socket,id=ser0,path={run}/{tag}.console,server=on,wait=off,logfile={run}/{tag}.serial",
        "-serial",
        "chardev:ser0",
        "-monitor",
        f"unix:{run}/{tag}.monitor,server,nowait",
        "-pidfile",
        f"{run}/{tag}.pid",
        "-netdev",
        f"user,id=n0,net=10.0.2.0/24,restrict=on,hostfwd=tcp:127.0.0.1:{host['port']}-:22",
        "-device",
        f"virtio-net-pci,netdev=n0,mac=52:54:00:12:34:{i:02x}",
    ]
    for k, spec in enumerate(links, start=1):
        argv += [
            "-netdev",
            f"socket,id=l{k},{spec}",
            "-device",
            f"virtio-net-pci,netdev=l{k},mac=52:54:00:77:{i:02x}:{k:02x}",
        ]
    argv += [
        "-drive",
        f"file={run}/{tag}-scratch.img,if=virtio,format=raw,cache=unsafe",
        "-kernel",
        str(art / "xen.elf"),
        "-append",
        XEN_ARGS,
        "-initrd",
        f"{art}/vmlinuz console=hvc0 earlyprintk=xen xh.name={tag} xh.ip2={host['link_ip']}/24,{art}/dom0-initrd.zst",
    ]
    return argv


def set_pdeathsig() -> None:
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: QEMU dies with the watchdog, whatever kills it
    os.setsid()


def monitor_quit(run: Path, tag: str) -> None:
    try:
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(3)
            s.connect(str(run / f"{tag}.monitor"))
            s.sendall(b"quit\n")
            time.sleep(0.3)
    except OSError:
        pass


def watchdog(run: Path, owner: int, deadline: float, plan: list[dict], grace: float = 10) -> None:
    """The process that owns the QEMUs: start them, then stop them all on owner exit/ttl/SIGTERM."""
    procs: list[subprocess.Popen[bytes]] = []
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for h in plan:
        with open(run / f"{h['name']}.qemu.log", "wb") as out:
            procs.append(
                subprocess.Popen(h["argv"], stdin=subprocess.DEVNULL, stdout=out, stderr=out, preexec_fn=set_pdeathsig)
            )
    reason = "stop requested"
    while not stopping:
        if not alive(owner):
            reason = f"owner process {owner} exited"
            break
        if time.time() > deadline:
            reason = "time to live ran out"
            break
        if all(p.poll() is not None for p in procs):
            reason = "every QEMU exited"
            break
        time.sleep(1)
    for h in plan:
        monitor_quit(run, h["name"])
    end = time.time() + grace
    for p in procs:
        try:
            p.wait(timeout=max(0.1, end - time.time()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    (run / "watchdog.log").open("a").write(f"{time.strftime('%H:%M:%S')} stopped: {reason}\n")
    for h in plan:
        (run / f"{h['name']}-scratch.img").unlink(missing_ok=True)
    (run / "watchdog.pid").unlink(missing_ok=True)


def qemu_usable() -> str | None:
    """None when QEMU can run here, else why not."""
    exe = shutil.which("qemu-system-x86_64")
    if not exe:
        return "qemu-system-x86_64 is not installed (scripts/apt-packages.sh installs qemu-system-x86)"
    try:
        r = subprocess.run([exe, "-version"], capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"qemu-system-x86_64 does not start: {e}"
    if r.returncode != 0:
        return f"qemu-system-x86_64 does not start: {r.stderr.strip() or r.stdout.strip()}"
    return None


def plan(n: int, art: Path, run: Path, port: Callable[[], int] = free_port) -> list[dict]:
    """The N hosts: names, ssh ports, link addresses and QEMU command lines.

    The private link is a star of point-to-point sockets: h1 listens once per other host, h<i> connects
    to its own port on h1; each dom0 bridges its link NICs into xlink0 (192.168.77.<i>).
    """
    link_ports = [port() for _i in range(max(0, n - 1))]
    hosts = []
    for i in range(1, n + 1):
        h: dict = {"name": f"h{i}", "port": port(), "link_ip": f"192.168.77.{i}"}
        links = [f"listen=127.0.0.1:{p}" for p in link_ports] if i == 1 else [f"connect=127.0.0.1:{link_ports[i - 2]}"]
        h["argv"] = qemu_argv(art, run, i, h, links)
        hosts.append(h)
    return hosts


def cmd_boot(a: argparse.Namespace) -> int:
    why = qemu_usable()
    if why:
        log(f"QEMU CANNOT RUN ON THIS MACHINE: {why}")
        return EXIT_NO_QEMU
    run = Path(a.run_dir).resolve()
    if (run / "watchdog.pid").exists() and alive(int((run / "watchdog.pid").read_text())):
        log(f"hosts are already running in {run}; stopping them first")
        cmd_stop(a)
    run.mkdir(parents=True, exist_ok=True)
    for f in run.glob("h[0-9]*"):
        shutil.rmtree(f) if f.is_dir() else f.unlink()
    art = Path(
        a.image
        or subprocess.run([str(HERE / "build")], check=True, stdout=subprocess.PIPE, text=True)
        .stdout.strip()
        .splitlines()[-1]
    )
    if not (art / "BUILT").exists():
        log(f"{art} is not a built lab image")
        return 2
    hosts = plan(a.n, art, run)
    for h in hosts:
        img = run / f"{h['name']}-scratch.img"
        stage = run / f"{h['name']}-scratch"
        shutil.rmtree(stage, ignore_errors=True)
        shutil.copytree(art / "domu", stage / "xenlab")
        subprocess.run(["truncate", "-s", "2G", str(img)], check=True)
        subprocess.run(["mkfs.ext4", "-q", "-F", "-E", "lazy_itable_init=1", "-d", str(stage), str(img)], check=True)
        shutil.rmtree(stage)
    owner = a.owner_pid or os.getppid()
    deadline = time.time() + a.ttl
    t0 = time.time()
    pid = os.fork()
    if pid == 0:  # the watchdog: detach from the caller's session and stdio
        os.setsid()
        fd = os.open(os.devnull, os.O_RDWR)
        for k in (0, 1, 2):
            os.dup2(fd, k)
        try:
            watchdog(run, owner, deadline, hosts)
        finally:
            os._exit(0)
    (run / "watchdog.pid").write_text(str(pid))
    # Wait until every dom0 prints XEN-DOM0-READY (or FAILED / QEMU exits / timeout).
    pending = {h["name"] for h in hosts}
    while pending:
        for h in hosts:
            if h["name"] not in pending:
                continue
            serial = run / f"{h['name']}.serial"
            text = serial.read_text(errors="replace") if serial.exists() else ""
            if "XEN-DOM0-READY" in text:
                pending.discard(h["name"])
                log(f"{h['name']} ready after {time.time() - t0:.0f}s (ssh 127.0.0.1:{h['port']})")
            elif "XEN-DOM0-FAILED" in text or "Kernel panic" in text or "Panic on CPU" in text:
                log(f"{h['name']} failed to boot; the end of {serial}:\n" + text[-3000:])
                cmd_stop(a)
                return 1
        if not alive(pid):
            qlog = "\n".join(
                (run / f"{h['name']}.qemu.log").read_text(errors="replace")
                for h in hosts
                if (run / f"{h['name']}.qemu.log").exists()
            )
            log(f"QEMU exited before the hosts were ready:\n{qlog}")
            return EXIT_NO_QEMU
        if pending and time.time() - t0 > a.timeout:
            log(f"timed out after {a.timeout}s waiting for {sorted(pending)}; serial logs in {run}")
            cmd_stop(a)
            return 1
        time.sleep(0.5)
    key = art / "id_ed25519"
    facts = {
        "run_dir": str(run),
        "image": str(art),
        "ssh_key": str(key),
        "watchdog_pid": pid,
        "boot_seconds": round(time.time() - t0, 1),
        "hosts": [{k: h[k] for k in ("name", "port", "link_ip")} | {"address": "127.0.0.1"} for h in hosts],
    }
    ssh_args = "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ServerAliveInterval=30"
    lines = (
        ["[xen_hosts]"]
        + [
            f"{h['name']} ansible_host=127.0.0.1 ansible_port={h['port']} ansible_user=root "
            f"ansible_ssh_private_key_file={key} ansible_python_interpreter=/usr/bin/python3 link_ip={h['link_ip']}"
            for h in hosts
        ]
        + [
            "",
            "[xen_hosts:vars]",
            f"ansible_ssh_common_args={ssh_args!r}".replace("'", '"'),
            "ansible_ssh_timeout=300",
            "",
        ]
    )
    (run / "inventory.ini").write_text("\n".join(lines))
    (run / "hosts.json").write_text(json.dumps(facts, indent=2) + "\n")
    print(json.dumps(facts, indent=2))
    return 0


def cmd_stop(a: argparse.Namespace) -> int:
    run = Path(a.run_dir).resolve()
    pidf = run / "watchdog.pid"
    if not pidf.exists():
        log(f"nothing running in {run}")
        return 0
    pid = int(pidf.read_text())
    if alive(pid):
        os.kill(pid, signal.SIGTERM)
        end = time.time() + 30
        while alive(pid) and time.time() < end:
            time.sleep(0.2)
        if alive(pid):
            os.kill(pid, signal.SIGKILL)  # its QEMUs die with it (PR_SET_PDEATHSIG)
    pidf.unlink(missing_ok=True)
    log(f"stopped the hosts in {run}")
    return 0


def cmd_status(a: argparse.Namespace) -> int:
    run = Path(a.run_dir).resolve()
    pidf = run / "watchdog.pid"
    up = pidf.exists() and alive(int(pidf.read_text()))
    print((run / "hosts.json").read_text() if up and (run / "hosts.json").exists() else "not running")
    return 0 if up else 1


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("boot")
    b.add_argument("n", type=int, nargs="?", default=1)
    b.add_argument("--ttl", type=int, default=3600)
    b.add_argument("--owner-pid", type=int, default=0)
    b.add_argument("--timeout", type=int, default=int(os.environ.get("XENLAB_BOOT_TIMEOUT", "600")))
    b.add_argument("--image", help="a built image directory (default: run scripts/xenlab/build)")
    for s in (b, sub.add_parser("stop"), sub.add_parser("status")):
        s.add_argument("--run-dir", default=str(DEFAULT_RUN))
    a = p.parse_args()
    return {"boot": cmd_boot, "stop": cmd_stop, "status": cmd_status}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
