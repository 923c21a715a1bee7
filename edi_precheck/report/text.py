"""The terminal report: per file, per claim, each finding with what to fix, then a summary.

fixtures/demo/demo.837: 6 claims, 12 service lines, 6 drug lines checked
  claim DEMO0002 (claim 2)
    error    units.dose           line 1, SV1 segment 44
             J0897 billed with 1 unit; Prolia is given as 60 units (1 unit = 1 mg)
             fix: bill 60 units for a full dose  [likely denial: CARC 16]
"""

from __future__ import annotations

from itertools import groupby
from typing import TextIO

from edi_precheck.findings import Finding
from edi_precheck.report.results import FileResult, Report


def counted(number: int, noun: str) -> str:
    """'1 claim', '2 claims'."""
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _where(finding: Finding) -> str:
    parts = []
    if finding.line is not None:
        parts.append(f"line {finding.line}")
    if finding.segment_index is not None:
        named = f"{finding.segment} " if finding.segment else ""
        parts.append(f"{named}segment {finding.segment_index}")
    if finding.element:
        parts.append(finding.element)
    return ", ".join(parts)


def _write_finding(stream: TextIO, finding: Finding, indent: str) -> None:
    stream.write(f"{indent}{finding.severity!s:<8} {finding.rule:<24} {_where(finding)}\n")
    stream.write(f"{indent}{'':<9}{finding.message}\n")
    fix = f"fix: {finding.hint}" if finding.hint else ""
    denial = f"[likely denial: {finding.denial}]" if finding.denial else ""
    if fix or denial:
        stream.write(f"{indent}{'':<9}{'  '.join(part for part in (fix, denial) if part)}\n")


def write_file(stream: TextIO, result: FileResult) -> None:
    stream.write(
        f"{result.name}: {counted(result.claims, 'claim')}, "
        f"{counted(result.service_lines, 'service line')}, "
        f"{counted(result.checked_lines, 'drug line')} checked\n"
    )
    if not result.findings:
        stream.write("  no findings\n")
        return
    file_level = [f for f in result.findings if f.claim_index is None]
    if file_level:
        stream.write("  file\n")
        for finding in file_level:
            _write_finding(stream, finding, "    ")
    by_claim = sorted(
        (f for f in result.findings if f.claim_index is not None),
        key=lambda f: (f.claim_index, f.segment_index or 0),
    )
    for claim_index, group in groupby(by_claim, key=lambda f: f.claim_index):
        findings = list(group)
        stream.write(f"  claim {findings[0].claim_id} (claim {claim_index})\n")
        for finding in findings:
            _write_finding(stream, finding, "    ")


def write_summary(stream: TextIO, report: Report) -> None:
    summary = report.summary()
    stream.write(
        f"\n{counted(summary['files'], 'file')}, {counted(summary['claims'], 'claim')} "
        f"({summary['claims_with_errors']} with errors), "
        f"{counted(summary['checked_lines'], 'drug line')} checked: "
        f"{counted(summary['errors'], 'error')}, {counted(summary['warnings'], 'warning')}\n"
    )
