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
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal

from edi_precheck.model.claim import to_decimal
from edi_precheck.x12 import Delimiters

# The segments that start a unit: the envelope, a hierarchical level, a claim.
UNIT_TAGS = ("ISA", "GS", "ST", "SE", "GE", "IEA", "HL", "CLM")
# The tag of the event that reports skipped claims: (SKIPPED, claims, "", service lines).
SKIPPED = ""
# A unit event: (tag, index of its first segment, its segments' text, index of the segment
# after it). The tag is None for segments that continue what the parser has open (a claim
# from the block before); their end is 0 when the block ends before anything closes it.
UnitEvent = tuple[str | None, int, str, int]
LINE_TAGS = frozenset({"LX", "SV1", "SV2"})
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
        tags = "|".join((*UNIT_TAGS, "LX", "SV1", "SV2"))
        self._segments = re.compile(
            f"{terminator}({tags})(?:{separator}([^{terminator}]*))?(?={terminator}|\\Z)")
        # A segment whose tag is not two or three letters or digits: the reader must
        # report it, which only the segment-by-segment path does.
        self._bad_tag = re.compile(
            f"{terminator}(?![^\\W_]{{2,3}}(?:{separator}|{terminator}|\\Z))")
        self._terminator = delimiters.segment
        self._separator = delimiters.element
        self._component = delimiters.component
        self._codes = covered_codes
        self._carry: tuple[str, int, str] | None = None
        # HL units handed over only before a unit that is read: under skipped claims they
        # would be read for nothing. A billing provider loop (HL 20) or a subscriber loop
        # (HL 22) makes those before it moot: each sets the payer afresh.
        self._held: list[UnitEvent] = []
        self._billing_marks = (f"NM1{delimiters.element}85", f"PRV{delimiters.element}BI")

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

    def _hold(self, level: str, event: UnitEvent) -> list[UnitEvent] | None:
        """Hold back the HL unit `event`; or return the units to hand over now, when it
        sets the billing provider (the parser reads that at once) or too many are held."""
        held = self._held
        text = event[2]
        nm1_85, prv_bi = self._billing_marks
        if level == "20" or nm1_85 in text or prv_bi in text:
            if level == "20":
                held.clear()
        elif level == "22":
            held[:] = [event]
            return None
        elif len(held) < MAX_HELD_LOOPS:
            held.append(event)
            return None
        released = [*held, event]
        held.clear()
        return released

    def units(self, first: int, text: str) -> Iterator[UnitEvent]:
        """The unit events of the block `text`, whose first segment is number `first`."""
        terminator, separator, component = self._terminator, self._separator, self._component
        codes = self._codes
        unit_tag: str | None = None
        carried_over = self._carry is not None
        if self._carry is not None:  # read the open unit again, whole
            _, first, carried = self._carry
            self._carry = None
            scan = terminator + carried + terminator + text
        else:
            scan = terminator + text
        unit_start, unit_index = 0, first
        counted_at, counted_index = 0, first
        skipped_claims = skipped_lines = 0
        # The open claim: does a line bill a covered code; is every charge a number and
        # every line priced; lines so far; is the last LX still without SV1/SV2; sums.
        covered = clean = awaiting = False
        lines = 0
        total: Decimal | None = None
        line_sum = Decimal(0)
        level = ""  # of the open HL unit
        for match in self._segments.finditer(scan):
            tag = match.group(1)
            if tag in LINE_TAGS:
                if unit_tag != "CLM":
                    continue
                if tag == "LX":
                    clean = clean and not awaiting
                    lines += 1
                    awaiting = True
                    continue
                if not awaiting:
                    continue  # a second SV1/SV2, or one before any LX: the parser skips it
                awaiting = False
                elements = (match.group(2) or "").split(separator, 3)
                if tag == "SV2":
                    elements = elements[1:]
                procedure = elements[0].split(component, 2)
                if len(procedure) > 1 and procedure[1].upper() in codes:
                    covered = True
                value = to_decimal(elements[1]) if len(elements) > 1 else None
                if value is None:
                    clean = False
                else:
                    line_sum += value
                continue
            position = match.start()
            index = counted_index + scan.count(terminator, counted_at, position)
            counted_at, counted_index = position, index
            if unit_tag == "CLM" and not covered and (
                    lines == 0 or (clean and not awaiting and line_sum == total)):
                skipped_claims += 1
                skipped_lines += lines
            elif unit_tag is not None or not carried_over:
                event = (unit_tag, unit_index, scan[unit_start + 1:position], index)
                if unit_tag == "HL":
                    released = self._hold(level, event)
                else:
                    released = [*self._held, event]
                    self._held.clear()
                if released:
                    if skipped_claims:
                        yield SKIPPED, skipped_claims, "", skipped_lines
                        skipped_claims = skipped_lines = 0
                    yield from released
            unit_tag, unit_start, unit_index = tag, position, index
            if tag == "HL":
                elements = (match.group(2) or "").split(separator, 3)
                level = elements[2] if len(elements) > 2 else ""
            elif tag == "CLM":
                elements = (match.group(2) or "").split(separator, 2)
                total = to_decimal(elements[1]) if len(elements) > 1 else None
                clean, covered, awaiting = total is not None, False, False
                lines = 0
                line_sum = Decimal(0)
        if skipped_claims:
            yield SKIPPED, skipped_claims, "", skipped_lines
        if unit_tag is None:  # no unit starts in this block: it all continues what is open
            yield None, unit_index, scan[1:], 0
        else:
            self._carry = (unit_tag, unit_index, scan[unit_start + 1:])
