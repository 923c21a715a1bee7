"""Results of a run: one `FileResult` per input and the `Report` that gathers them.

`Report.to_dict()` is the JSON report (schemas/report.schema.json): what pre-submit hooks
keep and what practice-management systems read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from edi_precheck.findings import Finding, Severity

SCHEMA_VERSION = 1


@dataclass(slots=True)
class FileResult:
    """What reading and checking one input produced, apart from the claims themselves."""

    name: str
    transaction_sets: int = 0
    claims: int = 0
    service_lines: int = 0
    checked_lines: int = 0
    findings: list[Finding] = field(default_factory=list)
    # (ST position, end position) of each transaction set: where file-level findings lie
    transaction_spans: list[tuple[int, int]] = field(default_factory=list)

    def count(self, severity: Severity) -> int:
        return sum(1 for finding in self.findings if finding.severity is severity)

    def claims_with(self, severity: Severity) -> int:
        """How many of the claims read have a finding of `severity` (a claim the file
        ends inside has its finding, but was not read)."""
        return len(
            {
                finding.claim_index
                for finding in self.findings
                if finding.severity is severity
                and finding.claim_index is not None
                and finding.claim_index <= self.claims
            }
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.name,
            "transaction_sets": self.transaction_sets,
            "claims": self.claims,
            "service_lines": self.service_lines,
            "checked_lines": self.checked_lines,
            "errors": self.count(Severity.ERROR),
            "warnings": self.count(Severity.WARNING),
            "findings": [finding.to_dict() for finding in self.findings],
        }


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
        return [finding for result in self.files for finding in result.findings]

    @property
    def has_errors(self) -> bool:
        return self.blocks(Severity.ERROR)

    def blocks(self, threshold: Severity | None) -> bool:
        """True when a finding reaches `threshold` (None: nothing ever blocks)."""
        return threshold is not None and any(
            f.severity >= threshold for result in self.files for f in result.findings
        )

    def summary(self) -> dict[str, int]:
        return {
            "files": len(self.files),
            "claims": sum(result.claims for result in self.files),
            "claims_with_errors": sum(result.claims_with(Severity.ERROR) for result in self.files),
            "service_lines": sum(result.service_lines for result in self.files),
            "checked_lines": sum(result.checked_lines for result in self.files),
            "errors": sum(result.count(Severity.ERROR) for result in self.files),
            "warnings": sum(result.count(Severity.WARNING) for result in self.files),
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
