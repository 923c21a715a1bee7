"""The claim skim: pass over the claims no check can find anything in, at regex speed.

Most claims of a clearinghouse batch bill no drug a policy covers. Building a `Claim` for
each costs far more than reading the bytes, so the parser hands blocks of text to a
`ClaimSkimmer` first. One regular expression finds the segments that matter (the envelope,
HL, CLM, LX and the SV1/SV2 of each line) without splitting the rest. A claim is skipped,
only counted, when

- none of its lines bills a covered code (what `rules.context.build_drug_line` looks up), and
- it has no line, or CLM02 equals the sum of its lines' charges, every one of them a number
  (what `claim.balance`, the one rule run on every claim, checks).

Everything else comes back as a unit of text, for the parser's segment handlers to read in
full. What a rule run on every claim needs must be checked here, so `ClaimChecker` offers
skimming only while `claim.balance` is the only such rule.

This module is the reference. `_skim.c` does the same in one compiled pass, about ten times
faster; it is built with the package where a C compiler is at hand, and used for ASCII
text (nearly every 837). Without it, this code runs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal

from edi_precheck.model.claim import to_decimal
from edi_precheck.x12 import Delimiters

try:  # the compiled skim (edi_precheck/model/_skim.c), when the install could build it
    import _edi_precheck_skim as _compiled
except ImportError:  # pragma: no cover - a build without a C compiler
    _compiled = None

# The segments that start a unit: the envelope, a hierarchical level, a claim.
UNIT_TAGS = ("ISA", "GS", "ST", "SE", "GE", "IEA", "HL", "CLM")
# The tag of the event that reports skipped claims: (SKIPPED, claims, "", service lines).
SKIPPED = ""
# A unit event: (tag, index of its first segment, its segments' text, index of the segment
# after it). The tag is None for segments that continue what the parser has open (a claim
# from the block before); their end is 0 when the block ends before anything closes it.
UnitEvent = tuple[str | None, int, str, int]
# Subscriber and patient loops held back at most; more are handed over at once.
MAX_HELD_LOOPS = 8


class ClaimSkimmer:
    """Cut blocks of one interchange into units; skip the claims that need no reading.

    A unit still open at the end of a block is carried into the next; `take_carry()` hands
    it over when the file ends or the next block must be read segment by segment.
    """

    def __init__(self, delimiters: Delimiters, covered_codes: frozenset[str]) -> None:
        terminator = re.escape(delimiters.segment)
        separator = re.escape(delimiters.element)
        element = f"[^{separator}{terminator}]*"
        tags = "|".join((*UNIT_TAGS, "LX", "SV1", "SV2"))
        # The tag and its first three elements, which hold all the skim reads: HL03 the
        # level, CLM02 the charge, SV101/SV102 and SV202/SV203 procedure and charge.
        self._segments = re.compile(
            f"{terminator}({tags})(?={separator}|{terminator}|\\Z)"
            f"(?:{separator}({element})(?:{separator}({element})"
            f"(?:{separator}({element}))?)?)?"
        )
        # A segment whose tag is not two or three upper-case ASCII letters or digits: the
        # reader reports a malformed tag, or a damaged CLM ('clm'), which only the
        # segment-by-segment path does.
        self._bad_tag = re.compile(
            f"{terminator}(?![A-Z0-9]{{2,3}}(?:[{separator}{terminator}]|\\Z))"
        )
        self._terminator = delimiters.segment
        self._separator = delimiters.element
        self._component = delimiters.component
        # The compiled scan takes its delimiters as C strings: a NUL delimiter (legal in
        # X12, if odd) cannot be one, so such a file is skimmed here, in Python.
        self._compiled_takes_delimiters = "\x00" not in (
            delimiters.segment + delimiters.element + delimiters.component
        )
        self._codes = covered_codes
        self._carry: tuple[str, int, str] | None = None
        # HL units handed over only before a unit that is read: under skipped claims they
        # would be read for nothing. A billing provider loop (HL 20) or a subscriber loop
        # (HL 22) makes those before it moot: each sets the payer afresh.
        self._held: list[UnitEvent] = []
        self._billing_marks = (f"NM1{delimiters.element}85", f"PRV{delimiters.element}BI")

    def skim(self, first: int, text: str) -> list[UnitEvent] | None:
        """The unit events of the block `text`, whose first segment is number `first`; None
        when the block must be read segment by segment (a malformed tag)."""
        if _compiled is not None and self._compiled_takes_delimiters and text.isascii():
            carried_over = self._carry is not None
            if self._carry is not None:
                _, scan_first, carried = self._carry
                scan = self._terminator + carried + self._terminator + text
            else:
                scan_first, scan = first, self._terminator + text
            if scan.isascii():
                result = _compiled.scan(
                    scan,
                    scan_first,
                    carried_over,
                    self._terminator,
                    self._separator,
                    self._component,
                    self._codes,
                    self._held,
                    MAX_HELD_LOOPS,
                )
                if result is None:
                    return None
                events, self._carry = result
                return events
        if not self.can_skim(text):
            return None
        return list(self.units(first, text))

    @property
    def carried_chars(self) -> int:
        """The length of the unit left open by the last block (0: none)."""
        return len(self._carry[2]) if self._carry is not None else 0

    def can_skim(self, text: str) -> bool:
        """False when a segment of `text` has a malformed tag."""
        return self._bad_tag.search(self._terminator + text) is None

    def take_carry(self) -> Iterator[UnitEvent]:
        """The HL units held back, then the unit left open by the last block (its end 0)."""
        yield from self._held
        self._held.clear()
        if self._carry is not None:
            tag, index, text = self._carry
            self._carry = None
            yield tag, index, text, 0

    def units(self, first: int, text: str) -> Iterator[UnitEvent]:
        """The unit events of the block `text`, whose first segment is number `first`."""
        terminator, component, codes = self._terminator, self._component, self._codes
        nm1_85, prv_bi = self._billing_marks
        held = self._held
        carried_over = self._carry is not None
        if self._carry is not None:  # read the open unit again, whole
            _, first, carried = self._carry
            self._carry = None
            scan = terminator + carried + terminator + text
        else:
            scan = terminator + text
        # Segment numbers are counted only for units handed over, from the last one counted.
        counted_at, counted_index = 0, first

        def event(tag: str | None, start: int, end: int) -> UnitEvent:
            """The unit from the terminator at `start` to the one at `end`, numbered."""
            nonlocal counted_at, counted_index
            index = counted_index + scan.count(terminator, counted_at, start)
            after = index + scan.count(terminator, start, end)
            counted_at, counted_index = end, after
            return tag, index, scan[start + 1 : end], after

        unit_tag: str | None = None
        unit_start = 0
        held_here: list[tuple[int, int]] = []  # HL units of this block held, as positions
        skipped_claims = skipped_lines = 0
        level = ""  # of the open HL unit
        # The open claim: does a line bill a covered code; is every charge a number and
        # every line priced; lines so far; is the last LX still without SV1/SV2; sums.
        covered = clean = awaiting = False
        lines = 0
        total: Decimal | None = None
        line_sum = Decimal(0)
        for match in self._segments.finditer(scan):
            tag, element1, element2, element3 = match.groups()
            if tag == "LX":
                if unit_tag == "CLM":
                    clean = clean and not awaiting
                    lines += 1
                    awaiting = True
                continue
            if tag == "SV1" or tag == "SV2":
                if unit_tag != "CLM" or not awaiting:
                    continue  # a second SV1/SV2, or one outside a line: the parser skips it
                awaiting = False
                procedure, charge = (element1, element2) if tag == "SV1" else (element2, element3)
                code = (procedure or "").split(component, 2)[1:2]
                if code and code[0].upper() in codes:
                    covered = True
                value = to_decimal(charge) if charge else None
                if value is None:
                    clean = False
                else:
                    line_sum += value
                continue
            # A unit starts here: the one before it is complete.
            position = match.start()
            hand_over = True
            held_now = False  # the unit just closed went to the held loops
            if unit_tag == "CLM":
                if not covered and (lines == 0 or (clean and not awaiting and line_sum == total)):
                    skipped_claims += 1
                    skipped_lines += lines
                    hand_over = False
            elif unit_tag == "HL":
                if level != "20" and (
                    scan.find(nm1_85, unit_start, position) < 0
                    and scan.find(prv_bi, unit_start, position) < 0
                ):
                    if level == "22":
                        held.clear()
                        held_here.clear()
                    held_here.append((unit_start, position))
                    held_now = True
                    hand_over = len(held) + len(held_here) > MAX_HELD_LOOPS
                elif level == "20":
                    held.clear()
                    held_here.clear()
            elif unit_tag is None and carried_over:
                hand_over = False  # the carried unit is read again from the start
            if hand_over:
                if skipped_claims:
                    yield SKIPPED, skipped_claims, "", skipped_lines
                    skipped_claims = skipped_lines = 0
                if held:
                    yield from held
                    held.clear()
                for start, end in held_here:
                    yield event("HL", start, end)
                if not held_now:
                    yield event(unit_tag, unit_start, position)
                held_here.clear()
            unit_tag, unit_start = tag, position
            if tag == "HL":
                level = element3 or ""
            elif tag == "CLM":
                total = to_decimal(element2) if element2 else None
                clean, covered, awaiting = total is not None, False, False
                lines = 0
                line_sum = Decimal(0)
        if skipped_claims:
            yield SKIPPED, skipped_claims, "", skipped_lines
        held.extend(event("HL", start, end) for start, end in held_here)
        if unit_tag is None:  # no unit starts in this block: it all continues what is open
            yield None, first, scan[1:], 0
        else:
            tag, index, unit_text, _ = event(unit_tag, unit_start, len(scan))
            self._carry = (tag, index, unit_text)  # type: ignore[assignment]
