"""Apply the rule catalog to one claim: find the covered lines, run the rules, grade the
problems by policy and payer rule, and turn them into findings.

Rules that compare a line with the claims read before it (`Rule.history`) give a question
instead of problems. `check` asks it at once; `check_apart` hands it back as an
`AskedQuestion` (plain, picklable data) for a caller that checks claims in other processes
and asks, with `answer`, once every claim before is in the history: the same findings.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterable
from datetime import date
from typing import Any, NamedTuple

from edi_precheck.findings import Finding, Severity
from edi_precheck.history.errors import HistoryError
from edi_precheck.history.services import Service, ServiceHistory
from edi_precheck.logs import LibraryLogger
from edi_precheck.model import Claim, whole_number
from edi_precheck.policy import ICD10CM, CodeSetUnavailable, Crosswalk, PayerRule, Policy
from edi_precheck.rules import catalog
from edi_precheck.rules._registry import Rule
from edi_precheck.rules.context import (
    ClaimContext,
    DrugLine,
    DrugLineBuilder,
    HistoryQuestion,
    LineGroups,
    Memo,
    Problem,
    line_groups,
)

log = LibraryLogger("edi_precheck")


class _LazyCodeSet:
    """Load ICD-10-CM on first use only: most runs of a hook never need it twice. Loaded
    under a lock, and marked loaded only once it is: a thread that asked while another was
    loading would otherwise find no code set and skip dx.invalid."""

    def __init__(self) -> None:
        self._loaded = False
        self._code_set: ICD10CM | None = None
        self._lock = threading.Lock()

    def __call__(self) -> ICD10CM | None:
        if not self._loaded:
            with self._lock:
                if not self._loaded:
                    try:
                        self._code_set = ICD10CM.load()
                    except CodeSetUnavailable as error:
                        log.warning(
                            "icd10.unavailable",
                            reason=str(error),
                            effect="dx.invalid is not checked",
                        )
                    self._loaded = True
        return self._code_set


def policy_grade(rule: Rule, policy: Policy | None) -> tuple[Severity | None, str]:
    """A rule's severity (None: off) and denial under `policy`: what the policy says,
    else the catalog's default severity."""
    setting = policy.rules.get(rule.id) if policy is not None else None
    if setting is None:
        return rule.severity, ""
    return setting.severity_or(rule.severity), setting.denial


def grade_file_finding(finding: Finding, policy: Policy | None) -> Finding | None:
    """A file-level (x12.*) finding graded by `policy` as the runner grades claim findings;
    None when the policy switches its rule off."""
    if policy is None or finding.rule not in policy.rules:
        return finding
    severity, denial = policy_grade(catalog()[finding.rule], policy)
    if severity is None:
        return None
    return dataclasses.replace(finding, severity=severity, denial=denial)


def grade_file_findings(findings: Iterable[Finding], policy: Policy | None) -> list[Finding]:
    """File-level findings as `policy` grades them, those it switches off left out."""
    graded = (grade_file_finding(finding, policy) for finding in findings)
    return [finding for finding in graded if finding is not None]


def _guarded(rule: Rule, *subject: Any) -> list[Problem]:
    """What `rule` finds on a claim or line, where a defect in the rule becomes a finding
    of that rule: the claim is not passed unchecked, and the file's other claims still
    are checked."""
    return _guarded_call(rule.id, rule.check, *subject)


def _guarded_call(rule_id: str, function: Any, *arguments: Any) -> list[Problem]:
    """The problems `function` yields, or the internal error it stops at (see `_guarded`)."""
    try:
        return list(function(*arguments))
    except HistoryError:
        raise  # the store failed, not the rule: the run stops
    except Exception as error:
        return _internal_error(rule_id, error)


def _internal_error(rule_id: str, error: Exception) -> list[Problem]:
    log.error("rule.internal_error", rule=rule_id, error=type(error).__name__)
    return [
        Problem(
            f"this check stopped at an internal error ({type(error).__name__}), so it could "
            "not be made",
            "report the claim's structure (not its content) to the edi-precheck maintainers",
        )
    ]


def _claim_payer_rules(ctx: ClaimContext, problem: Problem) -> list[PayerRule]:
    """The payer rules that grade a claim-level problem: those of the drug line it points
    at; else the claim's payer's rules that are not limited to some codes, products or
    settings or dates of service, or that a drug line of the claim matches."""
    for drug in ctx.drug_lines:
        if problem.line is not None and drug.line is problem.line:
            return list(drug.payer_rules)
    payer = ctx.claim.payer
    return [
        rule
        for rule in ctx.policy.payer_rules
        if rule.matches_payer(payer.filing_indicator, payer.payer_id)
        and (
            not (rule.codes or rule.products or rule.settings or rule.dated)
            or any(rule in drug.payer_rules for drug in ctx.drug_lines)
        )
    ]


class AskedQuestion(NamedTuple):
    """A history rule's question about one drug line, and what its finding will say."""

    rule: str
    severity: Severity
    denial: str
    policy: str  # the policy's id, for the note on an unconfirmed fact
    claim_id: str
    claim_index: int
    line: int | None
    code: str
    question: HistoryQuestion


Checked = tuple[list[Finding], int, list[Service], list[AskedQuestion]]


def _finding_of(
    rule: Rule,
    severity: Severity,
    denial: str,
    policy_id: str,
    problem: Problem,
    claim_id: str,
    claim_index: int,
    line: int | None,
    code: str | None,
) -> Finding:
    """The finding of a graded problem."""
    message = problem.message
    if problem.unconfirmed and severity is Severity.ERROR:
        # A check that rests on an unconfirmed fact never raises an error by itself.
        severity = Severity.WARNING
        message += f" (a warning: {problem.unconfirmed} is UNCONFIRMED in policy '{policy_id}')"
    return Finding(
        rule=rule.id,
        severity=severity,
        snip=rule.snip,
        message=message,
        hint=problem.hint,
        denial=denial,
        claim_id=claim_id,
        claim_index=claim_index,
        line=line,
        code=code,
        segment=problem.segment,
        segment_index=problem.segment_index,
        element=problem.element,
    )


def _inferred(ctx: ClaimContext, drug: DrugLine | None, problem: Problem) -> DrugLine | None:
    """The drug line a finding is about when only an inference takes it for the policy's
    drug (`DrugLine.inferred`), else None. A claim-level finding is about the line it
    points at, else about every covered line of the claim."""
    if drug is not None:
        return drug if drug.inferred else None
    about = [d for d in ctx.drug_lines if problem.line is None or d.line is problem.line]
    return about[0] if about and all(d.inferred for d in about) else None


def _knows_nobody(patient: str) -> bool:
    return False


def _in_segment_order(finding: Finding) -> tuple[int, str]:
    return finding.segment_index or 0, finding.rule


def _line_number(text: str) -> int | None:
    """LX01 as the report's line number; None when it is not one (LX*0, LX*A)."""
    return whole_number(text) or None


class ClaimChecker:
    """Checks claims against policies; build once per run, call `check` per claim."""

    def __init__(
        self, policies: list[Policy], crosswalk: Crosswalk, today: date | None = None
    ) -> None:
        self._rules = catalog()
        rules = self._rules.values()
        self.policies = policies
        self.crosswalk = crosswalk
        self._today = today  # None: the day each claim is checked (a server runs for days)
        self.icd10 = _LazyCodeSet()
        self._builders = [(policy, DrugLineBuilder(policy, crosswalk)) for policy in policies]
        self._memo = Memo()
        self._line_rules = [r for r in rules if r.scope == "line"]
        self._covered_claim_rules = [r for r in rules if r.scope == "claim" and not r.all_claims]
        self._every_claim_rules = [r for r in rules if r.scope == "claim" and r.all_claims]
        # (rule, its check function), looked up once: the loops below run per claim and line.
        self._line_checks = [(r, r.check) for r in self._line_rules if not r.history]
        self._history_checks = [(r, r.check) for r in self._line_rules if r.history]
        self._covered_claim_checks = [(r, r.check) for r in self._covered_claim_rules]
        self._every_claim_checks = [(r, r.check) for r in self._every_claim_rules]

    def skim_codes(self) -> frozenset[str] | None:
        """The codes a claim must bill to be read in full, or None when every claim must
        be: the parser may then pass over the others (see `model.skim`)."""
        if not all(rule.skimmed for rule in self._every_claim_rules):
            return None
        return frozenset(code for policy in self.policies for code in policy.codes)

    def check(
        self,
        claim: Claim,
        today: date | None = None,
        history: ServiceHistory | None = None,
    ) -> tuple[list[Finding], int, list[Service]]:
        """The findings of one claim, in segment order, how many lines were covered, and
        the services its covered lines are for (`history`). `today`, when given, is the date
        future service dates are judged against (else the checker's, else the day of the
        check); `history` what was sent or read before."""
        knows = history.may_know if history is not None else _knows_nobody
        findings, covered, services, asked = self._checked(claim, today, knows)
        if asked and (answers := self.answer(asked, history)):
            findings = sorted([*findings, *answers], key=_in_segment_order)
        return findings, covered, services

    def check_apart(self, claim: Claim, today: date | None = None) -> Checked:
        """`check` without the history: the findings of every other rule, in segment order,
        the lines covered, the services, and the history rules' questions, to `answer` once
        the claims before this one are in the history."""
        return self._checked(claim, today, None)

    def _checked(
        self, claim: Claim, today: date | None, knows: Callable[[str], bool] | None
    ) -> Checked:
        try:
            return self._check(claim, False, today, knows)
        except HistoryError:
            raise  # the store failed, not a rule: the run stops (exit 2)
        except Exception:
            # A defect in a rule: check the claim again with every rule guarded (slower),
            # so that the defect becomes a finding of its rule and the others still report.
            return self._check(claim, True, today, knows)

    def answer(
        self, asked: Iterable[AskedQuestion], history: ServiceHistory | None
    ) -> list[Finding]:
        """The findings of history rules' questions, asked of `history` (None: only what a
        claim's own lines answer)."""
        found: list[Finding] = []
        for question in asked:
            rule = self._rules[question.rule]
            for problem in _guarded_call(rule.id, question.question.ask, history):
                found.append(
                    _finding_of(
                        rule,
                        question.severity,
                        question.denial,
                        question.policy,
                        problem,
                        question.claim_id,
                        question.claim_index,
                        question.line,
                        question.code,
                    )
                )
        return found

    def _check(
        self,
        claim: Claim,
        guarded: bool,
        today: date | None,
        knows: Callable[[str], bool] | None,
    ) -> Checked:
        findings: list[Finding] = []
        services: list[Service] = []
        asked: list[AskedQuestion] = []
        covered = 0
        today = today or self._today or date.today()
        grading_policy = self.policies[0] if self.policies else None
        grading_drugs: list[DrugLine] = []
        grading_groups: LineGroups = {}  # none when no line is covered: made on demand
        for policy, builder in self._builders:
            if not any(line.code.upper() in policy.codes for line in claim.lines):
                continue
            groups = line_groups(claim, policy.billing.waste_modifier)
            drugs = [
                drug
                for line in claim.lines
                if (drug := builder.build(line, claim, groups)) is not None
            ]
            if not drugs:
                continue
            ctx = ClaimContext(
                claim, policy, self.crosswalk, self.icd10, today, drugs, groups, self._memo, knows
            )
            services += ctx.services()
            if claim.is_void:
                # A void must repeat what it cancels, mistakes included: none of them is
                # the payer's to deny now. What it cancels is the history's (its services).
                continue
            if covered == 0:
                grading_policy, grading_drugs, grading_groups = policy, drugs, groups
            covered += len(drugs)
            for rule, check in self._covered_claim_checks:
                for problem in _guarded(rule, ctx) if guarded else check(ctx):
                    findings.extend(self._finding(rule, problem, ctx, None))
            for drug in drugs:
                for rule, check in self._line_checks:
                    for problem in _guarded(rule, drug, ctx) if guarded else check(drug, ctx):
                        findings.extend(self._finding(rule, problem, ctx, drug))
                for rule, question_of in self._history_checks:
                    self._ask_later(rule, question_of, drug, ctx, guarded, asked, findings)
        if grading_policy is not None and self._every_claim_rules:
            ctx = ClaimContext(
                claim,
                grading_policy,
                self.crosswalk,
                self.icd10,
                today,
                grading_drugs,
                grading_groups,
                memo=self._memo,
            )  # whose payer rules grade what they find
            for rule, check in self._every_claim_checks:
                for problem in _guarded(rule, ctx) if guarded else check(ctx):
                    findings.extend(self._finding(rule, problem, ctx, None))
        findings.sort(key=_in_segment_order)
        return findings, covered, services, asked

    def _ask_later(
        self,
        rule: Rule,
        question_of: Any,
        drug: DrugLine,
        ctx: ClaimContext,
        guarded: bool,
        asked: list[AskedQuestion],
        findings: list[Finding],
    ) -> None:
        """Note a history rule's question about `drug` (none when the policy turns the
        rule off); guarded, a defect in making it becomes a finding of the rule."""
        if guarded:
            try:
                question = question_of(drug, ctx)
            except HistoryError:
                raise
            except Exception as error:
                for problem in _internal_error(rule.id, error):
                    findings.extend(self._finding(rule, problem, ctx, drug))
                return
        else:
            question = question_of(drug, ctx)
        if question is None:
            return
        severity, denial = self._grade(rule, ctx.policy, drug.payer_rules)
        if severity is not None:
            line = drug.line
            asked.append(
                AskedQuestion(
                    rule.id,
                    Severity.WARNING if drug.inferred else severity,
                    denial,
                    ctx.policy.id,
                    ctx.claim.claim_id,
                    ctx.claim.index,
                    _line_number(line.number),
                    line.code,
                    question,
                )
            )

    def _finding(
        self, rule: Rule, problem: Problem, ctx: ClaimContext, drug: DrugLine | None
    ) -> Iterable[Finding]:
        """The graded finding of `problem` (none when the policy turns the rule off)."""
        claim = ctx.claim
        payer_rules = drug.payer_rules if drug is not None else _claim_payer_rules(ctx, problem)
        severity, denial = self._grade(rule, ctx.policy, payer_rules)
        if severity is None:
            return ()
        inferred = _inferred(ctx, drug, problem)
        if inferred is not None and severity is Severity.ERROR:
            # Only an inference says the line is the policy's drug: never an error by itself.
            severity = Severity.WARNING
            problem = dataclasses.replace(
                problem,
                message=f"{problem.message} (a warning: the line is taken for "
                f"{inferred.describe_product()} only because {inferred.inferred}, and "
                f"{inferred.code} is {inferred.entry.another_drug or 'another drug'})",
            )
        line = drug.line if drug is not None else problem.line
        return (
            _finding_of(
                rule,
                severity,
                denial,
                ctx.policy.id,
                problem,
                claim.claim_id,
                claim.index,
                _line_number(line.number) if line else None,
                line.code if line else None,
            ),
        )

    @staticmethod
    def _grade(
        rule: Rule, policy: Policy, payer_rules: Iterable[PayerRule]
    ) -> tuple[Severity | None, str]:
        """Severity and denial: the catalog's default, the policy's, then payer rules'."""
        severity, denial = policy_grade(rule, policy)
        for payer_rule in payer_rules:
            if rule.id in payer_rule.severity:
                severity = payer_rule.severity[rule.id]
        return severity, denial
