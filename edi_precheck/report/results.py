"""Results of a run: one `FileResult` per input and the `Report` that gathers them.

`Report.to_dict()` is the JSON report (schemas/report.schema.json): what pre-submit hooks
keep and what practice-management systems read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from edi_precheck.findings import Finding, Severity

SCHEMA_VERSION = 1


class ClaimMarks:
    """Which claims (by their 1-based index) have a mark: one bit each, so that counting
    the claims with errors costs no memory that grows with a file's findings."""

    def __init__(self) -> None:
        self._bits = bytearray()

    def mark(self, index: int) -> None:
        byte, bit = divmod(index, 8)
        if byte >= len(self._bits):
            self._bits.extend(bytes(byte - len(self._bits) + 1))
        self._bits[byte] |= 1 << bit

    def count(self, up_to: int) -> int:
        """How many claims from 1 to `up_to` are marked."""
        whole, rest = divmod(up_to + 1, 8)
        total = int.from_bytes(self._bits[:whole], "little").bit_count()
        if rest and whole < len(self._bits):
            total += (self._bits[whole] & ((1 << rest) - 1)).bit_count()
        return total


@dataclass(slots=True)
class FileResult:
    """What reading and checking one input produced, apart from the claims themselves.

    Findings are counted as they are added (`add`); at most `keep` of them are kept (None:
    all), the rest only counted (`omitted`): a run that streams its findings out (JSON
    lines, text) keeps none, so that memory does not grow with them.
    """

    name: str
    transaction_sets: int = 0
    claims: int = 0
    service_lines: int = 0
    checked_lines: int = 0
    findings: list[Finding] = field(default_factory=list)
    # (ST position, end position) of each transaction set: where file-level findings lie
    transaction_spans: list[tuple[int, int]] = field(default_factory=list)
    keep: int | None = None
    omitted: int = 0
    errors: int = 0
    warnings: int = 0
    # findings per rule id and severity: {"units.dose": {"error": 3}}
    by_rule: dict[str, dict[str, int]] = field(default_factory=dict)
    sha256: str = ""  # of the bytes read, for the run's log (not in the report)
    # The reader's file-level findings, before the policy grades them (engine, lines).
    reader_findings: list[Finding] = field(default_factory=list)
    _with_error: ClaimMarks = field(default_factory=ClaimMarks)
    _with_warning: ClaimMarks = field(default_factory=ClaimMarks)

    def add(self, finding: Finding) -> None:
        if finding.severity is Severity.ERROR:
            self.errors += 1
            marks = self._with_error
        else:
            self.warnings += 1
            marks = self._with_warning
        if finding.claim_index is not None:
            marks.mark(finding.claim_index)
        counts = self.by_rule.setdefault(finding.rule, {})
        severity = str(finding.severity)
        counts[severity] = counts.get(severity, 0) + 1
        if self.keep is None or len(self.findings) < self.keep:
            self.findings.append(finding)
        else:
            self.omitted += 1

    def count(self, severity: Severity) -> int:
        return self.errors if severity is Severity.ERROR else self.warnings

    def claims_with(self, severity: Severity) -> int:
        """How many of the claims read have a finding of `severity` (a claim the file
        ends inside has its finding, but was not read)."""
        marks = self._with_error if severity is Severity.ERROR else self._with_warning
        return marks.count(self.claims)

    def to_dict(self) -> dict[str, Any]:
        record: dict[str, Any] = {
            "path": self.name,
            "transaction_sets": self.transaction_sets,
            "claims": self.claims,
            "service_lines": self.service_lines,
            "checked_lines": self.checked_lines,
            "errors": self.errors,
            "warnings": self.warnings,
            "findings": [finding.to_dict() for finding in self.findings],
        }
        if self.omitted:
            record["findings_omitted"] = self.omitted
        return record


@dataclass(slots=True)
class Report:
    """Every file of a run, with the tool and policy versions that checked them."""

    tool_version: str
    # Each drug family checked: its id and version, and the layers it was merged from
    # (id and version each): base, the family, overlays.
    policies: list[tuple[str, str, tuple[tuple[str, str], ...]]]
    files: list[FileResult] = field(default_factory=list)

    @property
    def findings(self) -> list[Finding]:
        """The findings kept (every one, unless a file's were capped: see `omitted`)."""
        return [finding for result in self.files for finding in result.findings]

    @property
    def has_errors(self) -> bool:
        return self.blocks(Severity.ERROR)

    def blocks(self, threshold: Severity | None) -> bool:
        """True when a finding reaches `threshold` (None: nothing ever blocks)."""
        if threshold is None:
            return False
        return any(
            result.errors or (threshold is Severity.WARNING and result.warnings)
            for result in self.files
        )

    def by_rule(self) -> dict[str, dict[str, int]]:
        """Findings per rule id and severity over every file, rule ids in order."""
        merged: dict[str, dict[str, int]] = {}
        for result in self.files:
            for rule, counts in result.by_rule.items():
                into = merged.setdefault(rule, {})
                for severity, count in counts.items():
                    into[severity] = into.get(severity, 0) + count
        return dict(sorted(merged.items()))

    def summary(self) -> dict[str, Any]:
        return {
            "files": len(self.files),
            "claims": sum(result.claims for result in self.files),
            "claims_with_errors": sum(result.claims_with(Severity.ERROR) for result in self.files),
            "service_lines": sum(result.service_lines for result in self.files),
            "checked_lines": sum(result.checked_lines for result in self.files),
            "errors": sum(result.count(Severity.ERROR) for result in self.files),
            "warnings": sum(result.count(Severity.WARNING) for result in self.files),
            "by_rule": self.by_rule(),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "tool": {"name": "edi-precheck", "version": self.tool_version},
            "policies": [
                {
                    "id": pid,
                    "version": version,
                    "layers": [{"id": lid, "version": lversion} for lid, lversion in layers],
                }
                for pid, version, layers in self.policies
            ],
            "files": [result.to_dict() for result in self.files],
            "summary": self.summary(),
        }
