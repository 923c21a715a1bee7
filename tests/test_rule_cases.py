"""Data-driven rule tests: tests/fixtures/rules/<rule id>.json.

Each case starts from a clean fixture file, applies text replacements (the smallest edit
that makes or unmakes the mistake), and lists the findings expected of that rule. SE01 is
recounted after the edit, so a case only says what a biller would change.

    {"rule": "units.dose",
     "cases": [
       {"name": "prolia_one_unit", "base": "837p/prolia_medicare_clean.837",
        "replace": [["UN*60***1", "UN*1***1"]],
        "expect": [{"line": 1, "severity": "error"}]},
       {"name": "prolia_full_dose", "base": "837p/prolia_medicare_clean.837",
        "replace": [], "expect": []}]}

`expect` lists this rule's findings only, each by line (LX, null for claim level) and
severity; other rules' findings are ignored here. `policies` (optional) names overlays, in
tests/fixtures/policies/ or fixtures/policies/, applied on top of the shipped policy: a
payer that confirms a fact, or makes a plan-dependent warning an error.
"""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from conftest import FIXTURES
from edi_precheck import check_bytes
from edi_precheck.rules import catalog

CASES_DIR = Path(__file__).parent / "fixtures" / "rules"
OVERLAY_DIRS = (Path(__file__).parent / "fixtures" / "policies", FIXTURES / "policies")
TODAY = date(2026, 11, 27)


def load_cases() -> list[tuple[str, dict[str, Any]]]:
    cases = []
    for path in sorted(CASES_DIR.glob("*.json")):
        document = json.loads(path.read_text())
        assert path.stem == document["rule"], f"{path.name} holds rule {document['rule']}"
        cases.extend((document["rule"], case) for case in document["cases"])
    return cases


def recount_se(text: str) -> str:
    """Set every SE01 to the real number of segments from its ST."""
    segments = text.split("~")
    count = 0
    for position, segment in enumerate(segments):
        tag = segment.strip().split("*", 1)[0]
        if tag == "ST":
            count = 0
        count += 1
        if tag == "SE":
            fields = segment.split("*")
            fields[1] = str(count)
            segments[position] = "*".join(fields)
    return "~".join(segments)


def build(case: dict[str, Any]) -> bytes:
    text = (FIXTURES / case["base"]).read_text()
    for old, new in case["replace"]:
        assert old in text, f"case {case['name']}: '{old}' is not in {case['base']}"
        text = text.replace(old, new, case.get("count", -1))
    return recount_se(text).encode()


def overlays(case: dict[str, Any]) -> list[Path]:
    found = []
    for name in case.get("policies", []):
        (path,) = [folder / name for folder in OVERLAY_DIRS if (folder / name).exists()]
        found.append(path)
    return found


CASES = load_cases()


@pytest.mark.parametrize(
    ("rule_id", "case"), CASES, ids=[f"{rule_id}:{case['name']}" for rule_id, case in CASES]
)
def test_rule_case(rule_id: str, case: dict[str, Any]):
    report = check_bytes(
        build(case), name=case["name"], today=TODAY, ig=False, policies=overlays(case)
    )
    other_envelope = [f for f in report.findings if f.rule.startswith("x12.")]
    # (implementation-guide checks are off: many cases are invalid 837s on purpose)
    assert other_envelope == [], "the edit broke the file's envelope"
    got = [
        {"line": f.line, "severity": str(f.severity)} for f in report.findings if f.rule == rule_id
    ]
    assert got == case["expect"], [f.message for f in report.findings if f.rule == rule_id]


def test_every_checking_rule_has_a_passing_and_a_failing_case():
    by_rule: dict[str, list[dict[str, Any]]] = {}
    for rule_id, case in CASES:
        by_rule.setdefault(rule_id, []).append(case)
    for rule in catalog().values():
        if rule.check is None:
            continue
        cases = by_rule.get(rule.id, [])
        assert any(case["expect"] for case in cases), f"{rule.id}: no case that triggers it"
        assert any(not case["expect"] for case in cases), f"{rule.id}: no case that passes"


# Rules that only apply to one kind of claim.
ONLY_837P = {"dx.pointer"}
ONLY_837I = {"revenue.code"}


def test_rules_are_tested_on_both_claim_kinds():
    """Each rule is triggered and passed on an 837P and on an 837I base, where it applies."""
    for rule in catalog().values():
        if rule.check is None:
            continue
        cases = [case for rule_id, case in CASES if rule_id == rule.id]
        for kind, skip in (("837p/", ONLY_837I), ("837i/", ONLY_837P)):
            if rule.id in skip:
                continue
            mine = [case for case in cases if case["base"].startswith(kind)]
            assert any(case["expect"] for case in mine), f"{rule.id}: no failing {kind} case"
            assert any(not case["expect"] for case in mine), f"{rule.id}: no passing {kind} case"


def test_case_names_are_unique_per_rule():
    seen = set()
    for rule_id, case in CASES:
        assert (rule_id, case["name"]) not in seen
        assert re.fullmatch(r"[a-z0-9_]+", case["name"]), case["name"]
        seen.add((rule_id, case["name"]))
