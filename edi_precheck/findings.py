"""Findings: what every layer reports, from the byte reader up to the drug-line rules.

A finding is data, not an exception: bad input is reported and reading goes on, so one
broken claim never hides the others.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

# How much of an element's value a message quotes: enough to recognise it, never a
# megabyte of junk or a control sequence that would drive the reader's terminal.
QUOTE_LIMIT = 40


def escaped(value: str) -> str:
    """`value` with every control (non-printable) character written as an escape, so that
    no file name or element can move a terminal's cursor, recolour it or hide a line."""
    if value.isprintable():
        return value
    return "".join(ch if ch.isprintable() else _escape(ord(ch)) for ch in value)


def _escape(code_point: int) -> str:
    return f"\\x{code_point:02x}" if code_point < 0x100 else f"\\u{code_point:04x}"


def shown(value: str) -> str:
    """An element's value as a message may show it: control characters escaped, and cut
    at QUOTE_LIMIT characters with its length said."""
    if len(value) > QUOTE_LIMIT:
        return f"{escaped(value[:QUOTE_LIMIT])}... ({len(value):,} characters)"
    return escaped(value)


def quoted(value: str) -> str:
    """`shown(value)` in quotes."""
    return f"'{shown(value)}'"


class Severity(enum.IntEnum):
    """How much a finding blocks a submission; ordered so `>=` compares thresholds."""

    WARNING = 1
    ERROR = 2

    def __str__(self) -> str:
        return self.name.lower()


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem, pinned to the file, claim, line and segment where it was seen.

    `message` says what is wrong and quotes the value; `hint` says what to do instead;
    `denial` names the CARC/RARC a payer is likely to answer with. None of them may carry
    patient or subscriber data.
    """

    rule: str
    severity: Severity
    snip: int
    message: str
    hint: str = ""
    denial: str = ""
    claim_id: str | None = None
    claim_index: int | None = None
    line: int | None = None
    code: str | None = None
    segment: str | None = None
    segment_index: int | None = None
    element: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __reduce__(self) -> tuple[type[Finding], tuple[Any, ...]]:
        # Pickled as its fields (findings come back from the processes that check parts
        # of a large file): several times faster than a slotted dataclass's default.
        return Finding, (
            self.rule,
            self.severity,
            self.snip,
            self.message,
            self.hint,
            self.denial,
            self.claim_id,
            self.claim_index,
            self.line,
            self.code,
            self.segment,
            self.segment_index,
            self.element,
            self.extra,
        )

    def to_dict(self) -> dict[str, Any]:
        """The report's shape (schemas/report.schema.json): fixed keys, nulls kept."""
        record: dict[str, Any] = {
            "rule": self.rule,
            "severity": str(self.severity),
            "snip": self.snip,
            "claim_index": self.claim_index,
            "claim_id": self.claim_id,
            "line": self.line,
            "code": self.code,
            "segment": self.segment,
            "segment_index": self.segment_index,
            "element": self.element,
            "message": self.message,
            "hint": self.hint,
            "denial": self.denial,
        }
        if self.extra:
            record.update(self.extra)
        return record


# The file-level rules (about the file, not a claim's content) and their SNIP types, and
# those whose default severity is a warning (the others are errors). The layers that find
# them make their findings from here, and the rule catalog declares them from here too
# (rules/x12/), so that the two cannot disagree.
FILE_RULES = {
    "x12.unreadable": 1,
    "x12.envelope": 1,
    "x12.syntax": 1,
    "x12.unsupported": 1,
    "x12.version": 1,
    "x12.ig": 2,
}
FILE_RULE_WARNINGS = frozenset({"x12.version"})


def file_rule_severity(rule: str) -> Severity:
    """The catalog's default severity of file-level rule `rule`."""
    return Severity.WARNING if rule in FILE_RULE_WARNINGS else Severity.ERROR


def file_finding(
    rule: str,
    message: str,
    hint: str,
    *,
    segment: str | None = None,
    segment_index: int | None = None,
    element: str | None = None,
    claim_id: str | None = None,
    claim_index: int | None = None,
    line: int | None = None,
    code: str | None = None,
    extra: dict[str, Any] | None = None,
) -> Finding:
    """The one way a file-level finding is made, by the reader, the envelope checks, the
    parser and the implementation-guide checks alike. Its severity here is the catalog's
    default; the run's policy grades it (`rules.runner.grade_file_finding`), in one place
    for every command."""
    return Finding(
        rule=rule,
        severity=file_rule_severity(rule),
        snip=FILE_RULES[rule],
        message=message,
        hint=hint,
        claim_id=claim_id,
        claim_index=claim_index,
        line=line,
        code=code,
        segment=segment,
        segment_index=segment_index,
        element=element,
        extra=extra or {},
    )
