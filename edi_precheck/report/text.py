"""The terminal report: per file, per claim, each finding with what to fix, then a summary.

Everything that comes from the input (file names, claim ids, values in messages) is written
with its control characters escaped: a report is printed to terminals.

fixtures/demo/demo.837
  claim DEMO0002 (claim 2)
    error    units.dose           line 1, SV1 segment 44
             J0897 billed with 1 unit; Prolia is given as 60 units (1 unit = 1 mg)
             fix: bill 60 units for a full dose  [likely denial: CARC 16]
  6 claims, 12 service lines, 6 drug lines checked
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TextIO

import click

from edi_precheck.findings import Finding, escaped, shown
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
        parts.append(escaped(finding.element))
    return ", ".join(parts)


# Severities in colour on a terminal (click's styling; no colour with --no-color or NO_COLOR).
COLOURS = {"error": "red", "warning": "yellow"}


def _severity(severity: str, colour: bool) -> str:
    text = f"{severity:<8}"
    return click.style(text, fg=COLOURS.get(severity), bold=True) if colour else text


def _write_finding(stream: TextIO, finding: Finding, indent: str, colour: bool = False) -> None:
    severity = _severity(str(finding.severity), colour)
    stream.write(f"{indent}{severity} {finding.rule:<24} {_where(finding)}\n")
    stream.write(f"{indent}{'':<9}{escaped(finding.message)}\n")
    fix = f"fix: {escaped(finding.hint)}" if finding.hint else ""
    if fix and colour:
        fix = click.style(fix, bold=True)
    denial = f"[likely denial: {finding.denial}]" if finding.denial else ""
    if fix or denial:
        stream.write(f"{indent}{'':<9}{'  '.join(part for part in (fix, denial) if part)}\n")


class TextWriter:
    """The readable report of each file, written as its findings come (`findings`) and
    closed by its counts (`end_file`), so that a run keeps none of them in memory.

    A file's name comes first; each claim's findings under `claim <CLM01> (claim <n>)`,
    file-level findings under `file`, in the order they are final (a claim's findings come
    together, once its transaction set is checked); the file's counts last."""

    def __init__(self, stream: TextIO, colour: bool = False) -> None:
        self._stream = stream
        self._colour = colour
        self._file: str | None = None
        self._group: object = None
        self._written = 0

    def findings(self, result: FileResult, findings: list[Finding]) -> None:
        self._start(result)
        for finding in findings:
            group = finding.claim_index if finding.claim_index is not None else "file"
            if group != self._group:
                self._group = group
                heading = (
                    "file"
                    if group == "file"
                    else f"claim {shown(finding.claim_id or '')} (claim {group})"
                )
                self._stream.write(f"  {heading}\n")
            _write_finding(self._stream, finding, "    ", self._colour)
            self._written += 1

    def end_file(self, result: FileResult) -> None:
        self._start(result)
        if not self._written:
            self._stream.write("  no findings\n")
        self._stream.write(
            f"  {counted(result.claims, 'claim')}, "
            f"{counted(result.service_lines, 'service line')}, "
            f"{counted(result.checked_lines, 'drug line')} checked\n"
        )
        self._file = None

    def _start(self, result: FileResult) -> None:
        if self._file != result.name:
            self._file, self._group, self._written = result.name, None, 0
            self._stream.write(f"{escaped(result.name)}\n")


def write_summary(stream: TextIO, report: Report) -> None:
    summary = report.summary()
    stream.write(
        f"\n{counted(summary['files'], 'file')}, {counted(summary['claims'], 'claim')} "
        f"({summary['claims_with_errors']} with errors), "
        f"{counted(summary['checked_lines'], 'drug line')} checked: "
        f"{counted(summary['errors'], 'error')}, {counted(summary['warnings'], 'warning')}\n"
    )


def write_statistics(
    stream: TextIO, report: Report, denials: Mapping[str, str], colour: bool = False
) -> None:
    """Findings per rule and severity, most first (as ruff's --statistics), with the denial
    each predicts."""
    rows = sorted(
        (
            (count, rule, severity)
            for rule, counts in report.by_rule().items()
            for severity, count in counts.items()
        ),
        key=lambda row: (-row[0], row[1], row[2]),
    )
    if not rows:
        return
    stream.write("\n")
    width = max(len(str(row[0])) for row in rows)
    for count, rule, severity in rows:
        denial = denials.get(rule, "")
        stream.write(
            f"{count:>{width}}  {rule:<24} {_severity(severity, colour)}"
            f"{'  ' + denial if denial else ''}".rstrip()
            + "\n"
        )
