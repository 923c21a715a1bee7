"""Known defects of pyx12's implementation-guide maps, and how each is corrected.

pyx12 validates against XML maps of the guides. Where a map rejects what the guide itself
allows, the error is a false one: the claim would be held, and the 999 would reject the set,
for nothing. Each defect below names the guide, the segment and element, the 999 code pyx12
gives, and a test of the segment's own values that says the guide allows them; a matching
error is dropped from the findings and from the 999 (`without_map_defects`, whichever
engine answered). Each has a test in tests/test_ig.py built from the guide's own example.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from edi_precheck.ig.outcome import IGError, IGOutcome

# 837P loop 2400, PWK "Durable Medical Equipment Certificate of Medical Necessity Indicator":
# PWK01 CT (certification) with PWK02 AB, AD, AF, AG or NS (005010X222A1, 2400 PWK).
_DME_CMN_TRANSMISSION_CODES = frozenset({"AB", "AD", "AF", "AG", "NS"})


@dataclass(frozen=True, slots=True)
class MapDefect:
    """A value the guide allows and pyx12's map rejects."""

    guide: str  # the first ten characters of the guide's version (GS08), e.g. 005010X222
    segment: str
    element: int  # IK401: the element pyx12 reports
    code: str  # IK403: what pyx12 says is wrong with it
    allows: Callable[[list[str]], bool]  # the segment's elements: does the guide allow them?
    what: str  # the defect, for the people who maintain this table


MAP_DEFECTS = (
    MapDefect(
        guide="005010X222",
        segment="PWK",
        element=2,
        code="7",
        allows=lambda fields: (
            fields[1:2] == ["CT"] and fields[2:3] != [] and fields[2] in _DME_CMN_TRANSMISSION_CODES
        ),
        what=(
            "837P loop 2400 has two PWK segments: Line Supplemental Information and the DME "
            "Certificate of Medical Necessity Indicator (PWK01 CT; PWK02 AB, AD, AF, AG, NS). "
            "pyx12 checks every 2400 PWK against the first, so the guide's own PWK*CT*AD~ "
            "is reported as an invalid code in PWK02."
        ),
    ),
)


def map_defect(guide: str, fields: list[str], element: int | None, code: str) -> MapDefect | None:
    """The known defect that explains pyx12's error `code` on `element` of the segment
    `fields` under `guide`, or None when the error stands."""
    for defect in MAP_DEFECTS:
        if (
            guide.startswith(defect.guide)
            and fields[:1] == [defect.segment]
            and element == defect.element
            and code == defect.code
            and defect.allows(fields)
        ):
            return defect
    return None


def without_map_defects(text: str, outcome: IGOutcome) -> IGOutcome:
    """`outcome` without the errors known map defects explain (`map_defects`); a segment
    left with no element error loses its 'segment has data element errors' too."""
    if not outcome.errors or len(text) < 106:
        return outcome
    separator, terminator = text[3], text[105]
    segments = [part.strip().split(separator) for part in text.split(terminator)]
    guide = segments[1][8] if len(segments) > 1 and len(segments[1]) > 8 else ""
    false: set[int] = set()  # positions (ST = 1) with an error a map defect explains
    kept: list[IGError] = []
    for error in outcome.errors:
        position = error.position
        fields = segments[position + 1] if position and position + 1 < len(segments) else []
        if error.level == "element" and map_defect(
            guide, fields, error.element_position, error.code
        ):
            false.add(position or 0)
            continue
        kept.append(error)
    if not false:
        return outcome
    standing = {e.position for e in kept if e.level == "element"}
    kept = [
        e
        for e in kept
        if not (e.level == "segment" and e.code == "8" and e.position in false - standing)
    ]
    return replace(outcome, errors=kept)
