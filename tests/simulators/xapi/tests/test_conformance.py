"""Conformance of the simulator's own tables against the published XenAPI reference (when present)."""

import ast
import json
import os
import re
from pathlib import Path

import pytest

from xapi.xapisim import api
from xapi.xapisim.model import XapiError
from xapi.xapisim.schema import ENUMS, FIELDS

REPO = Path(__file__).resolve().parents[4]
REF = Path(os.environ.get("XAPI_REFERENCE_DIR", REPO.parent / "shared" / "reference" / "xenapi"))
SIM_SRC = Path(__file__).resolve().parents[1] / "xapisim"

# Fields of the reference classes the simulator deliberately does not return (keep short).
NOT_IMPLEMENTED: dict[tuple[str, str], str] = {}

# Messages xapi serves but the documentation generator leaves out of the published model.
DOC_HIDDEN_MESSAGES = {"get_all_records_where": "served by xapi for every class; hidden from the docs"}
# Error codes whose documented parameter list differs from what real xapi sends on the wire.
WIRE_PARAM_OVERRIDES = {
    "SESSION_AUTHENTICATION_FAILED": 2,  # xapi sends [user, message]; the IDL documents none
    "VM_IS_TEMPLATE": 2,  # xapi sends [vm, operation]; the IDL documents [vm]
    "VM_IS_SNAPSHOT": 2,  # undocumented params; xapi sends [vm, operation]
    "OTHER_OPERATION_IN_PROGRESS": 4,
}


def _ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes", "on")


@pytest.fixture(scope="module", autouse=True)
def reference_present():
    """Outside CI a missing reference skips this file; under ``CI=true`` (set by .ci/run, which also sets
    XAPI_REFERENCE_DIR) it fails the run: the conformance check is required there."""
    if not (REF / "xenapi-current.json").exists():
        why = f"XenAPI reference not found at {REF} (set XAPI_REFERENCE_DIR)"
        if _ci():
            pytest.fail(why + "; CI=true requires it", pytrace=False)
        pytest.skip(why)


@pytest.fixture(scope="module")
def ref():
    classes = json.loads((REF / "xenapi-current.json").read_text())
    return {c["name"]: c for c in classes}


@pytest.fixture(scope="module")
def errors():
    return json.loads((REF / "xenapi-errors.json").read_text())


def test_fields_match_reference(ref):
    problems = []
    enums = {}
    for c in ref.values():
        for e in c["enums"]:
            enums[e["name"]] = [v["name"] for v in e["values"]]
    for cls, fields in FIELDS.items():
        assert cls in ref, f"class {cls} not in reference"
        rfields = {f["name"]: f for f in ref[cls]["fields"]}
        ours = {name: (typ, qual) for name, typ, qual, _d in fields}
        for name, (typ, qual) in ours.items():
            rf = rfields.get(name)
            if rf is None:
                problems.append(f"{cls}.{name}: not in reference")
                continue
            if rf["type"] != typ:
                problems.append(f"{cls}.{name}: type {typ!r} != {rf['type']!r}")
            want_q = {"RW": "RW", "RO/runtime": "RO", "RO/constructor": "RC"}[rf["qualifier"]]
            if want_q != qual:
                problems.append(f"{cls}.{name}: qualifier {qual} != {want_q}")
            if rf["lifecycle"]["state"] == "Removed_s":
                problems.append(f"{cls}.{name}: removed field returned")
        for name, rf in rfields.items():
            if rf["lifecycle"]["state"] == "Removed_s":
                continue
            if name not in ours and (cls, name) not in NOT_IMPLEMENTED:
                problems.append(f"{cls}.{name}: missing")
        for typ, _q in ours.values():
            for en in re.findall(r"enum (\w+)", typ):
                if tuple(enums[en]) != ENUMS[en]:
                    problems.append(f"enum {en}: values differ")
    assert not problems, "\n".join(problems)


def test_records_have_all_fields(local):
    for cls, fields in FIELDS.items():
        for ref_, _rec in list(local.db.tables[cls].items())[:3]:
            public = local(f"{cls}.get_record", ref_)
            assert set(public) == {f[0] for f in fields}, cls


def test_messages_match_reference(ref):
    problems = []
    for name, m in sorted(api.REGISTRY.items()):
        cls, msg = name.split(".", 1)
        rmsgs = {x["name"]: x for x in ref[cls]["messages"]}
        rm = rmsgs.get(msg)
        if rm is None and msg in DOC_HIDDEN_MESSAGES:
            continue
        if rm is None:
            problems.append(f"{name}: not in reference")
            continue
        total = len(rm["params"])
        required = sum(1 for p in rm["params"] if p.get("required", True))
        if m.arity != total:
            problems.append(f"{name}: arity {m.arity} != {total}")
        if m.required != required:
            problems.append(f"{name}: required {m.required} != {required}")
        has_session = bool(rm["params"]) and rm["params"][0]["type"] == "session ref"
        if has_session != m.session:
            problems.append(f"{name}: session param mismatch")
    assert not problems, "\n".join(problems)


def _raised_codes():
    """Every XapiError("CODE", ...) in the simulator sources with its literal parameter count."""
    found = {}
    for path in SIM_SRC.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "XapiError" and node.args:
                first = node.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    starred = any(isinstance(a, ast.Starred) for a in node.args[1:])
                    found.setdefault(first.value, set()).add(None if starred else len(node.args) - 1)
    return found


def test_error_codes_match_reference(errors):
    problems = []
    codes = _raised_codes()
    assert "VM_BAD_POWER_STATE" in codes and "HANDLE_INVALID" in codes
    for code, counts in sorted(codes.items()):
        if code not in errors:
            problems.append(f"{code}: unknown error code")
            continue
        doc = errors[code]["params"]
        want = WIRE_PARAM_OVERRIDES.get(code, None if doc is None else len(doc))
        for n in counts:
            if n is not None and want is not None and n != want:
                problems.append(f"{code}: raised with {n} params, reference has {want}")
    assert not problems, "\n".join(problems)


def test_runtime_errors_have_reference_arity(errors):
    """The lifecycle module builds errors dynamically: check them too."""
    from xapi.xapisim import lifecycle

    rec = {
        "power_state": "Running",
        "is_a_template": False,
        "is_a_snapshot": False,
        "is_default_template": False,
        "other_config": {},
        "is_control_domain": False,
        "blocked_operations": {},
        "current_operations": {},
        "platform": {},
    }
    e = lifecycle.check(rec, "OpaqueRef:x", "start")
    assert isinstance(e, XapiError)
    assert len(e.params) == len(errors["VM_BAD_POWER_STATE"]["params"])


def test_lifecycle_table_matches_reference():
    from xapi.xapisim import lifecycle

    summary = json.loads((REF / "vm-lifecycle-summary.json").read_text())
    allowed = summary["vm_operation_allowed_power_states"]
    assert set(allowed) <= set(ENUMS["vm_operations"])
    problems = [
        f"{op}: {lifecycle.POWER.get(op)} != {states}"
        for op, states in allowed.items()
        if tuple(lifecycle.POWER.get(op, ())) != tuple(states)
    ]
    assert not problems, "\n".join(problems)
    note = summary["notes"]["allowed_operations_field"]
    ignored = {s.strip() for s in note[note.index("(") + 1 : note.index(")")].split(",")}
    assert ignored == lifecycle.IGNORED


def test_relations_match_reference():
    from xapi.xapisim.model import RELATIONS

    rels = json.loads((REF / "xenapi-relations.json").read_text())["relations"]
    theirs = {tuple(r["one"] + r["many"]) for r in rels if r["one"][0] in FIELDS and r["many"][0] in FIELDS}
    ours = {(a, b.lstrip("_"), c, d) for a, b, c, d in RELATIONS}
    # task.session is a hidden field in xapi (not in the published record): kept internally as _session
    assert theirs - ours == {("VDI", "metadata_of_pool", "pool", "metadata_VDIs")} or theirs <= ours
    assert ours <= theirs
