"""List documented module options that no integration/reliability test exercises; exit 1 if any.

Documented options: every module's DOCUMENTATION plus its ``extends_documentation_fragment`` fragments,
with suboptions as dotted paths (``disks.bootable``, ``cloud_init.format``) and every ``choices`` value
as ``path=value`` (``boot.firmware=bios``).

Exercised: read statically (ast) from tests/integration and tests/reliability, as task arguments. A test
file counts for the modules it names (a string constant ``"xen_vm"`` or ``"virtops.compute.xen_vm"``);
files naming no module (conftest.py, shared helpers) count for every module. In a file, "argument sets"
are dict literals, ``dict(...)`` calls and the keyword arguments of calls to plain functions (the task
builders ``xen_vm(...)``, ``new_vm(...)``, ``power(...)``; test-runner calls such as ``run_playbook`` are
skipped). A set counts for module M only when every key in it is an option (or alias) of M, so unrelated
dicts do not count; the value of a ``"virtops.compute.M"`` key counts for M alone. Values that are dict
literals, ``dict(...)`` calls or lists of them are followed, giving suboption paths. A choice value is
exercised when its option is and the value appears as a string (or bool/int) constant in that file.

Options that truly cannot be exercised on our peers (or are owned by another lane for now) are listed,
each with its reason, in tests/option-coverage-allow.yml; an allow-list entry that is no longer documented
is an error, one that a test now exercises a warning (so that another lane's new test cannot break the build).

    python scripts/option-coverage.py            # report and exit 1 on gaps
    python scripts/option-coverage.py --list     # every documented path and where it is exercised
"""

from __future__ import annotations

import argparse
import ast
import os
import sys
from collections import defaultdict
from typing import Any

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODULES = os.path.join(ROOT, "plugins", "modules")
FRAGMENTS = os.path.join(ROOT, "plugins", "doc_fragments")
TEST_DIRS = [os.path.join(ROOT, "tests", "integration"), os.path.join(ROOT, "tests", "reliability")]
ALLOW = os.path.join(ROOT, "tests", "option-coverage-allow.yml")
PREFIX = "virtops.compute."
NOT_TASK_BUILDERS = {"run_playbook", "playbook", "play", "run_module", "spawn_module", "collect", "ok"}
# files whose module runs feed invalid values only: they prove validation, not that an option works
NOT_EXERCISING = {"test_rel_bad_input.py"}


def _doc_strings(path: str) -> dict[str, str]:
    """Module-level (or class-level, for fragments) string assignments of a plugin file."""
    with open(path, encoding="utf-8") as handle:
        tree = ast.parse(handle.read(), path)
    out: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    out[target.id] = node.value.value
    return out


def _merge(into: dict[str, Any], extra: dict[str, Any]) -> None:
    for name, spec in (extra or {}).items():
        into.setdefault(name, spec)


def module_options(name: str) -> dict[str, Any]:
    """The module's documented options, fragments merged in (as ansible-doc does)."""
    doc = yaml.safe_load(_doc_strings(os.path.join(MODULES, name + ".py"))["DOCUMENTATION"])
    options: dict[str, Any] = dict(doc.get("options") or {})
    for fragment in doc.get("extends_documentation_fragment") or []:
        parts = fragment[len(PREFIX) :].split(".") if fragment.startswith(PREFIX) else [fragment]
        var = parts[1].upper() if len(parts) > 1 else "DOCUMENTATION"
        path = os.path.join(FRAGMENTS, parts[0] + ".py")
        if not os.path.exists(path):
            raise SystemExit("%s: unknown doc fragment %s" % (name, fragment))
        _merge(options, (yaml.safe_load(_doc_strings(path)[var]) or {}).get("options") or {})
    return options


def documented_paths(options: dict[str, Any], prefix: str = "") -> dict[str, dict[str, Any]]:
    """``{"disks.bootable": spec, "boot.firmware=bios": spec, ...}``."""
    out: dict[str, dict[str, Any]] = {}
    for name, spec in options.items():
        path = prefix + name
        out[path] = spec
        for choice in spec.get("choices") or []:
            out["%s=%s" % (path, choice)] = spec
        out.update(documented_paths(spec.get("suboptions") or {}, path + "."))
    return out


def _names(options: dict[str, Any]) -> dict[str, str]:
    """Option name or alias -> option name, at one level."""
    out = {}
    for name, spec in options.items():
        out[name] = name
        for alias in spec.get("aliases") or []:
            out[alias] = name
    return out


class FileScan:
    """The argument sets and constants of one test file."""

    def __init__(self, path: str) -> None:
        with open(path, encoding="utf-8") as handle:
            self.tree = ast.parse(handle.read(), path)
        self.path = path
        self.constants: set[str] = set()
        self.named: set[str] = set()  # modules this file names
        # (module or None, {key: value node}, the enclosing set's keys or None)
        self.sets: list[tuple[str | None, dict[str, ast.AST], set[str] | None]] = []
        parent: dict[int, set[str]] = {}
        owned: set[int] = set()  # argument sets that are the value of a "virtops.compute.M" key
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, (str, bool, int)):
                self.constants.add(str(node.value).lower() if isinstance(node.value, bool) else str(node.value))
            args = self._arg_set(node)
            if args is None:
                continue
            for key, value in args.items():
                for child in self._children(value):
                    parent[id(child)] = set(args)
                    if key.startswith(PREFIX):
                        owned.add(id(child))
                if key.startswith(PREFIX):
                    self.named.add(key[len(PREFIX) :])
        for node in ast.walk(self.tree):
            args = self._arg_set(node)
            if args is None:
                continue
            task = [k for k in args if k.startswith(PREFIX)]
            if task:
                for key in task:
                    for child in self._children(args[key]):
                        inner = self._arg_set(child)
                        if inner is not None:
                            self.sets.append((key[len(PREFIX) :], inner, None))
            elif id(node) not in owned:
                self.sets.append((None, args, parent.get(id(node))))

    @staticmethod
    def _arg_set(node: ast.AST) -> dict[str, ast.AST] | None:
        if isinstance(node, ast.Dict):
            keys = [k.value for k in node.keys if isinstance(k, ast.Constant) and isinstance(k.value, str)]
            if not keys:
                return None
            return {
                k.value: v
                for k, v in zip(node.keys, node.values, strict=True)
                if isinstance(k, ast.Constant) and isinstance(k.value, str)
            }
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id not in NOT_TASK_BUILDERS:
            kws = {k.arg: k.value for k in node.keywords if k.arg}
            return kws or None
        return None

    @classmethod
    def _children(cls, value: ast.AST) -> list[ast.AST]:
        """Argument-set nodes directly inside an option value (a dict, dict(), or a list/tuple of them)."""
        if isinstance(value, (ast.List, ast.Tuple)):
            return [e for e in value.elts if cls._arg_set(e) is not None]
        return [value] if cls._arg_set(value) is not None else []


def exercised_paths(scan: FileScan, module: str, options: dict[str, Any]) -> set[str]:
    found: set[str] = set()

    def visit(args: dict[str, ast.AST], opts: dict[str, Any], prefix: str) -> None:
        names = _names(opts)
        if not args or not all(k in names for k in args):
            return
        for key, value in args.items():
            name = names[key]
            path = prefix + name
            found.add(path)
            for choice in opts[name].get("choices") or []:
                if str(choice) in scan.constants:
                    found.add("%s=%s" % (path, choice))
            sub = opts[name].get("suboptions")
            if sub:
                for child in FileScan._children(value):
                    inner = FileScan._arg_set(child)
                    if inner is not None:
                        visit(inner, sub, path + ".")

    top = _names(options)
    for owner, args, enclosing in scan.sets:
        if enclosing is not None and enclosing <= set(top):
            continue  # a suboption value inside a task's arguments, already visited from there
        if owner is None or owner == module:
            visit(args, options, "")
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--list", action="store_true", help="print every documented path and the files exercising it")
    opts = parser.parse_args()
    modules = sorted(f[:-3] for f in os.listdir(MODULES) if f.endswith(".py") and not f.startswith("_"))
    scans = [
        FileScan(os.path.join(d, f))
        for d in TEST_DIRS
        for f in sorted(os.listdir(d))
        if f.endswith(".py") and f not in NOT_EXERCISING
    ]
    with open(ALLOW, encoding="utf-8") as handle:
        allow: dict[str, dict[str, str]] = yaml.safe_load(handle) or {}
    problems: list[str] = []
    total = covered = 0
    for module in modules:
        options = module_options(module)
        documented = documented_paths(options)
        where: dict[str, list[str]] = defaultdict(list)
        for scan in scans:
            names_it = module in scan.named or module in scan.constants or PREFIX + module in scan.constants
            names_any = any(m in scan.named or m in scan.constants or PREFIX + m in scan.constants for m in modules)
            if not names_it and names_any:
                continue
            for path in exercised_paths(scan, module, options):
                where[path].append(os.path.relpath(scan.path, ROOT))
        allowed = allow.get(module) or {}
        for path, spec in documented.items():
            # a choice that is the default is exercised by every run in which its option is not given
            parent = path.rsplit(".", 1)[0] if "." in path.split("=")[0] else None
            if "=" in path and path.split("=", 1)[1] == str(spec.get("default")) and (not parent or where.get(parent)):
                where[path].append("(default of every run without %s)" % path.split("=")[0])
        for path in sorted(documented):
            total += 1
            if where.get(path):
                covered += 1
                if path in allowed:
                    # a warning, not a failure: another lane's new test must not break the build
                    print(
                        "warning: %s %s is exercised by %s; remove it from %s"
                        % (module, path, where[path][0], os.path.relpath(ALLOW, ROOT))
                    )
            elif path in allowed:
                covered += 1
            else:
                problems.append("%s %s: documented, exercised by no test" % (module, path))
            if opts.list:
                print(
                    "%-16s %-36s %s"
                    % (
                        module,
                        path,
                        ", ".join(sorted(set(where.get(path, []))))
                        or ("ALLOWED: " + allowed[path] if path in allowed else "MISSING"),
                    )
                )
        for path in sorted(set(allowed) - set(documented)):
            problems.append("%s %s: in the allow-list but not a documented option" % (module, path))
        for path, reason in allowed.items():
            if not str(reason or "").strip():
                problems.append("%s %s: allow-list entry without a reason" % (module, path))
    for line in problems:
        print(line)
    print("option coverage: %d/%d documented option paths exercised or allow-listed" % (covered, total))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
