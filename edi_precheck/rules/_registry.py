"""The rule catalog: every rule registers here, and `edi-precheck rules` and the README's
rule table are generated from it.

A rule's id is the dotted path of its module below `edi_precheck.rules` (`units.dose` is
`rules/units/dose.py`); ids are never reused. Its module docstring is its documentation:
a one-line title, then the sections of `DOC_SECTIONS` in that order.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from edi_precheck.findings import FILE_RULES, Severity, file_rule_severity

if TYPE_CHECKING:
    from edi_precheck.rules.context import ClaimContext, DrugLine, Problem

RULE_ID = re.compile(r"^[a-z0-9]+(\.[a-z0-9_]+)+$")
DOC_SECTIONS = (
    "What it checks",
    "Why it matters",
    "Example",
    "Use instead",
    "Policy keys",
    "References",
)
Scope = Literal["file", "claim", "line"]
LineCheck = Callable[["DrugLine", "ClaimContext"], Iterator["Problem"]]
ClaimCheck = Callable[["ClaimContext"], Iterator["Problem"]]


@dataclass(frozen=True, slots=True)
class Rule:
    """One catalog entry. `check` is None for file-level rules the reader reports."""

    id: str
    snip: int
    scope: Scope
    severity: Severity  # default, when the policy does not grade it
    all_claims: bool  # claim rules that run on claims without a covered line too
    # For an all-claims rule: True when the claim skim (model.skim) makes the same check as
    # it passes over a claim, so a claim it skips passes the rule; False when every claim
    # must be read in full for it (skimming is then off: a cost to declare, not to discover).
    skimmed: bool
    doc: str
    check: Any = None
    # A line rule that compares the line with the claims read before it: its check returns
    # the question to ask of that history (an object with `ask(history)`, or None), so the
    # runner can ask it at once or, for claims checked in another process, once the claims
    # before them are in the history.
    history: bool = False

    @property
    def title(self) -> str:
        return self.doc.strip().splitlines()[0].rstrip(".")

    def section(self, name: str) -> str:
        """The text of one `## name` section of the rule's documentation."""
        match = re.search(rf"^## {re.escape(name)}\n(.*?)(?=^## |\Z)", self.doc, re.S | re.M)
        return match.group(1).strip() if match else ""


REGISTRY: dict[str, Rule] = {}


def _register(
    module_name: str,
    rule_id: str,
    *,
    snip: int,
    scope: Scope,
    severity: Severity,
    all_claims: bool,
    check: Any,
    skimmed: bool | None = None,
    history: bool = False,
) -> None:
    if not RULE_ID.match(rule_id):
        raise ValueError(f"rule id '{rule_id}' is not lower-case dotted")
    expected = "edi_precheck.rules." + rule_id
    if module_name != expected:
        raise ValueError(f"rule '{rule_id}' must live in module {expected}, not {module_name}")
    if rule_id in REGISTRY:
        raise ValueError(f"rule id '{rule_id}' registered twice")
    if not 1 <= snip <= 7:
        raise ValueError(f"rule '{rule_id}': SNIP type {snip} is not 1-7")
    if all_claims and skimmed is None:
        raise ValueError(
            f"rule '{rule_id}' runs on every claim: say whether the claim skim makes its "
            "check (skimmed=True) or every claim must be read for it (skimmed=False)"
        )
    if history and scope != "line":
        raise ValueError(f"rule '{rule_id}': only a line rule compares with the history")
    doc = sys.modules[module_name].__doc__ or ""
    REGISTRY[rule_id] = Rule(
        rule_id, snip, scope, severity, all_claims, bool(skimmed), doc, check, history
    )


def rule(
    rule_id: str,
    *,
    snip: int,
    scope: Scope = "line",
    severity: Severity = Severity.ERROR,
    all_claims: bool = False,
    skimmed: bool | None = None,
    history: bool = False,
) -> Callable[[Any], Any]:
    """Register the decorated check function as rule `rule_id`. A rule that runs on every
    claim (`all_claims`) must say whether the claim skim makes its check (`skimmed`); one
    that compares with the claims read before (`history`) returns its question instead of
    problems."""

    def register(check: Any) -> Any:
        _register(
            check.__module__,
            rule_id,
            snip=snip,
            scope=scope,
            severity=severity,
            all_claims=all_claims,
            check=check,
            skimmed=skimmed,
            history=history,
        )
        return check

    return register


def declare(module_name: str, rule_id: str) -> None:
    """Register a file-level rule whose findings the X12 reader or pyx12 produce, with the
    SNIP type and default severity they are made with (`findings.FILE_RULES`)."""
    _register(
        module_name,
        rule_id,
        snip=FILE_RULES[rule_id],
        scope="file",
        severity=file_rule_severity(rule_id),
        all_claims=False,
        check=None,
    )
