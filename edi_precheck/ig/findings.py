"""Turn pyx12's errors into `x12.ig` findings pinned to claims, lines and segments.

Messages are written from the 999 codes and the guide's segment and element names; pyx12's
own message text is never used because it can quote element values (a birth date, a name).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from edi_precheck.findings import Finding, file_finding, shown
from edi_precheck.ig.outcome import IGError, IGOutcome
from edi_precheck.ig.segment_ids import UNRECOGNISED, printable_segment_id
from edi_precheck.ig.transactions import TransactionSet
from edi_precheck.model import Claim, whole_number

# 999 code meanings (ASC X12 005010X231A1), used to word the findings.
SEGMENT_CODES = {  # IK304
    "1": "unrecognized segment",
    "2": "unexpected segment here",
    "3": "required segment missing",
    "4": "loop occurs more often than allowed",
    "5": "segment occurs more often than allowed",
    "6": "segment not in this transaction set",
    "7": "segment out of sequence",
    "8": "segment has data element errors",
    "I4": "segment the guide marks 'not used' is present",
    "I6": "implementation-dependent segment missing",
    "I7": "loop occurs fewer times than the guide requires",
    "I8": "segment occurs fewer times than the guide requires",
    "I9": "implementation-dependent 'not used' segment present",
}
# pyx12's own segment checks, which have no 999 code (its 999 leaves them out).
PYX12_SEGMENT_CODES = {
    "HL1": "HL01 does not number the HL segments 1, 2, 3... in order",
    # pyx12 checks HL02 against the HL segments as it counts them (1, 2, 3...), not
    # against their HL01: a parent it misses follows an HL01 that skips or repeats a number.
    "HL2": "HL02's parent is not an open HL loop above it as the set's HL segments count "
    "(1, 2, 3...); an HL01 before it that skips or repeats a number is the usual cause",
    "LX": "LX01 does not number the claim's service lines 1, 2, 3... in order",
    "SEG1": "segment ends with empty elements (trailing separators)",
}
ELEMENT_CODES = {  # IK403
    "1": "required data element missing",
    "2": "conditional required data element missing",
    "3": "too many data elements",
    "4": "data element too short",
    "5": "data element too long",
    "6": "invalid character in data element",
    "7": "invalid code value",
    "8": "invalid date",
    "9": "invalid time",
    "10": "exclusion condition violated",
    "12": "too many repetitions",
    "13": "too many components",
    "I6": "code value not used in this guide",
    "I9": "implementation-dependent data element missing",
    "I10": "data element the guide marks 'not used' is present",
    "I11": "too few repetitions",
    "I12": "value does not match the guide's pattern",
    "I13": "implementation-dependent 'not used' data element present",
}
TRANSACTION_CODES = {  # IK502
    "1": "transaction set not supported",
    "2": "transaction set trailer missing",
    "3": "ST02 and SE02 control numbers differ",
    "4": "SE01 segment count differs from the segments sent",
    "6": "transaction set identifier missing or invalid",
    "7": "transaction set control number missing or invalid",
    "23": "transaction set control number not unique in the group",
}
# Left out: our own envelope checks report 2, 3 and 4 with their positions, and 5 ("one or
# more segments in error") is said by the segment findings themselves.
REPORTED_ELSEWHERE = {
    ("transaction", "2"),
    ("transaction", "3"),
    ("transaction", "4"),
    ("transaction", "5"),
}


@dataclass(slots=True)
class _Located:
    clm_index: int
    last_index: int
    claim_id: str
    claim_index: int
    lines: list[tuple[int, int | None, str]] = field(default_factory=list)


class ClaimLocations:
    """Where each claim and line lies in the file, to pin errors to them."""

    def __init__(self) -> None:
        self._claims: list[_Located] = []
        self._starts: list[int] = []

    def add(self, claim: Claim) -> None:
        located = _Located(
            claim.segment_index, claim.last_segment_index, claim.claim_id, claim.index
        )
        for line in claim.lines:
            number = whole_number(line.number)
            located.lines.append((line.lx_segment_index, number, line.code))
        self._claims.append(located)
        self._starts.append(claim.segment_index)

    def forget_before(self, index: int) -> None:
        """Drop claims that start before `index`: no later error can point into them."""
        keep = bisect.bisect_left(self._starts, index)
        del self._claims[:keep], self._starts[:keep]

    def locate(self, index: int) -> tuple[_Located | None, int | None, str | None]:
        position = bisect.bisect_right(self._starts, index) - 1
        if position < 0:
            return None, None, None
        claim = self._claims[position]
        if index > claim.last_index:
            return None, None, None
        line_number, code = None, None
        for lx_index, number, line_code in claim.lines:
            if lx_index <= index:
                line_number, code = number, line_code
        return claim, line_number, code


def _element_id(error: IGError) -> str | None:
    """The element's id (NM108, SV101-2), or None when its segment id may not be printed."""
    segment_id = printable_segment_id(error.segment_id)
    if segment_id is None or error.element_position is None:
        return segment_id
    element = f"{segment_id}{error.element_position:02d}"
    if error.component_position:
        element += f"-{error.component_position}"
    return element


def _describe(error: IGError) -> tuple[str, dict[str, str]]:
    """The message of one error and the 999 elements it corresponds to. A segment id the
    maps do not define is never shown (it can be a patient's text), nor are the names
    pyx12 guessed for such a segment: it is 'an unrecognised segment', UNK in the 999."""
    segment_id = printable_segment_id(error.segment_id)
    if segment_id is None:
        where = f"an unrecognised segment (segment {error.position} of the transaction set)"
        location = {"IK301": UNRECOGNISED, "IK302": str(error.position or "")}
    else:
        where = ""
        location = {
            "IK301": segment_id,
            "IK302": str(error.position or ""),
            "IK303": error.loop_id,
        }
    if error.level == "element":
        what = ELEMENT_CODES.get(error.code, f"element error {error.code}")
        ack = {
            **location,
            "IK401": ":".join(
                str(p) for p in (error.element_position, error.component_position) if p
            ),
            "IK402": error.element_reference,
            "IK403": error.code,
        }
        name = f"{error.element_name or 'data element'} ({_element_id(error)})"
        return f"{where or name}: {what}", ack
    if error.level == "segment":
        what = (
            SEGMENT_CODES.get(error.code)
            or PYX12_SEGMENT_CODES.get(error.code)
            or f"segment error {error.code}"
        )
        code_key = "IK304" if error.code in SEGMENT_CODES else "pyx12_code"
        name = f"{error.segment_name or 'segment'} ({segment_id})"
        return f"{where or name}: {what}", {**location, code_key: error.code}
    if error.level == "transaction":
        what = TRANSACTION_CODES.get(error.code, f"transaction set error {error.code}")
        return f"transaction set: {what}", {"IK502": error.code}
    return f"{error.level} envelope error {error.code}", {
        "AK905" if error.level == "group" else "TA105": error.code
    }


def ig_findings(
    transaction: TransactionSet, outcome: IGOutcome, locations: ClaimLocations
) -> list[Finding]:
    """The `x12.ig` findings of one validated transaction set."""
    note = ""
    if transaction.map_version != transaction.version:
        note = (
            f" (checked against pyx12's {transaction.map_version} map: it has none for "
            f"{shown(transaction.version) or 'this version'})"
        )
    if outcome.fallback:
        note += f" (checked by pyx12, not the native engine: {shown(outcome.fallback)})"
    if outcome.crash is not None:
        return [
            file_finding(
                "x12.ig",
                (
                    f"pyx12 stopped with {outcome.crash} on transaction set "
                    f"{shown(transaction.control)}, so it was not checked against the "
                    f"implementation guide{note}; the drug-line checks still ran"
                ),
                (
                    "look for a composite with more components than the guide allows (e.g. "
                    "more than 4 diagnosis pointers in SV107) or an element pyx12 cannot read"
                ),
                segment="ST",
                segment_index=transaction.st_index,
            )
        ]
    findings = []
    for error in outcome.errors:
        if (error.level, error.code) in REPORTED_ELSEWHERE:
            continue
        message, ack = _describe(error)
        index = (
            transaction.file_index(error.position)
            if error.position is not None
            else transaction.st_index
        )
        claim, line, code = locations.locate(index)
        hint = (
            "fix the segment as the 837 implementation guide requires"
            if error.level in ("segment", "element")
            else "fix the envelope"
        )
        findings.append(
            file_finding(
                "x12.ig",
                message + note,
                hint,
                claim_id=claim.claim_id if claim else None,
                claim_index=claim.claim_index if claim else None,
                line=line,
                code=code,
                segment=printable_segment_id(error.segment_id) if error.segment_id else "ST",
                segment_index=index,
                element=_element_id(error) if error.element_position is not None else None,
                extra={"ack": {key: value for key, value in ack.items() if value}},
            )
        )
    return findings
