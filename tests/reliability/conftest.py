"""Reliability and security suites: shared helpers, and the fault matrix printed at the end of the run.

Tests that fill a cell of the matrix call ``fault_cell(module, fault)`` (a fixture); the cell counts as
passed only when that test's call phase passed. A cell with no test is printed as ``-`` and never counted.
The ``fail mid-update`` column (test_rel_update_faults.py) injects a fault at each step of a multi-step update,
including the restore of the power state after a power cycle; a cell passes only if every step's case passed.
"""

from __future__ import annotations

import os
import sys
from collections import OrderedDict
from typing import Any

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
INTEGRATION = os.path.join(os.path.dirname(HERE), "integration")
for _path in (HERE, INTEGRATION):
    if _path not in sys.path:
        sys.path.insert(0, _path)

FAULTS = [
    "drop",
    "INTERNAL_ERROR",
    "OTHER_OPERATION_IN_PROGRESS",
    "HTTP 503",
    "SESSION_INVALID",
    "fail mid-create",
    "slower than timeout",
    "fail mid-update",
]
_CELLS: OrderedDict[tuple[str, str], list[str]] = OrderedDict()


@pytest.fixture()
def fault_cell(request: Any) -> Any:
    def mark(module: str, fault: str) -> None:
        assert fault in FAULTS, fault
        request.node.user_properties.append(("fault_cell", (module, fault)))

    return mark


def pytest_runtest_logreport(report: Any) -> None:
    """Runs where the reports are gathered: in the only process, or in pytest-xdist's controller (which
    receives each worker's reports with their ``user_properties``)."""
    if report.when != "call":
        return
    for key, value in report.user_properties:
        if key == "fault_cell":
            if report.passed:
                status = "pass"
            elif getattr(report, "wasxfail", None) is not None:
                status = "xfail"
            else:
                status = "FAIL"
            _CELLS.setdefault(tuple(value), []).append(status)


def fault_matrix_lines() -> list[str]:
    if not _CELLS:
        return []
    modules = list(OrderedDict.fromkeys(m for m, _f in _CELLS))
    head = "| module | " + " | ".join(FAULTS) + " |"
    lines = [head, "|" + "---|" * (len(FAULTS) + 1)]
    passed = total = 0
    for module in modules:
        row = []
        for fault in FAULTS:
            results = _CELLS.get((module, fault))
            if not results:
                row.append("-")
                continue
            total += 1
            ok = all(r == "pass" for r in results)
            passed += ok
            row.append("pass" if ok else "/".join(sorted(set(results))))
        lines.append("| %s | %s |" % (module, " | ".join(row)))
    lines.append("")
    lines.append("fault matrix: %d/%d cells passed (xfail = known bug, strict)" % (passed, total))
    return lines


def pytest_terminal_summary(terminalreporter: Any) -> None:
    lines = fault_matrix_lines()
    if not lines:
        return
    terminalreporter.section("virtops.compute fault matrix (modules x faults)")
    for line in lines:
        terminalreporter.write_line(line)
    out = os.path.join(os.path.dirname(HERE), "output")
    try:
        os.makedirs(out, exist_ok=True)
        with open(os.path.join(out, "fault-matrix.md"), "w", encoding="utf-8") as handle:
            handle.write("# Fault matrix\n\n" + "\n".join(lines) + "\n")
    except OSError:
        pass
