"""Interpreter wrapper used as ``ansible_python_interpreter`` by the benchmarks.

Ansible runs every module as ``<interpreter> <AnsiballZ_module.py>``. The harness points the
interpreter at a tiny shell script that execs this file with the real Python of the side being
measured in ``BENCH_REAL_PYTHON``. For each module process it:

* takes a round-trip baseline: ``POST <BENCH_XAPI_URL>/_control/calls/reset`` (XenAPI simulator)
  or the byte size of ``BENCH_VCSIM_TRACE`` (vcsim ``-trace`` file);
* runs the real interpreter with the same arguments, stdin/stdout/stderr passed through;
* records the module process' wall time (spawn to exit), its peak RSS
  (``getrusage(RUSAGE_CHILDREN).ru_maxrss`` after the wait: the module is this wrapper's only
  child), and the XenAPI call counters / vcsim trace byte range after it;
* appends one JSON line to ``BENCH_LOG`` and exits with the module's exit code.

Only the standard library is used so the wrapper itself adds a few milliseconds outside the
measured interval and nothing inside it.
"""

import json
import os
import resource
import subprocess
import sys
import time
import urllib.request


def _xapi(url, path, post=False):
    req = urllib.request.Request(url + path, data=b"" if post else None, method="POST" if post else "GET")
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read() or b"null")


def main():
    real = os.environ["BENCH_REAL_PYTHON"]
    xapi_url = os.environ.get("BENCH_XAPI_URL")
    trace = os.environ.get("BENCH_VCSIM_TRACE")
    log = os.environ.get("BENCH_LOG")
    module = os.path.basename(sys.argv[1]) if len(sys.argv) > 1 else "-"
    if module.startswith("AnsiballZ_"):
        module = module[len("AnsiballZ_") : -3]
    record = {"module": module}
    if xapi_url:
        _xapi(xapi_url, "/_control/calls/reset", post=True)
    if trace:
        record["trace_start"] = os.path.getsize(trace) if os.path.exists(trace) else 0
    start = time.perf_counter()
    rc = subprocess.call([real, *sys.argv[1:]])
    record["seconds"] = time.perf_counter() - start
    record["maxrss_kib"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    record["rc"] = rc
    if xapi_url:
        calls = _xapi(xapi_url, "/_control/calls")
        record["calls"] = calls
        record["round_trips"] = sum(calls.values())
    if trace:
        record["trace_end"] = os.path.getsize(trace) if os.path.exists(trace) else 0
    if log:
        with open(log, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")
    return rc


if __name__ == "__main__":
    sys.exit(main())
