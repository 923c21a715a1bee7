"""The units of a code on one date of service exceed its medically unlikely edit (MUE).

## What it checks
For each covered code and date of service on a claim, that the sum of its units over all
lines (administered and JW wasted) does not exceed the code's MUE (120 for J0897).

## Why it matters
CMS denies units above the MUE for the date (MAI 3, date-of-service edit), usually CARC
151; a duplicated line or a dose keyed twice trips it.

## Example
Two `J0897` lines of 120 units on 2026-03-10 (240 units).

## Use instead
One line with the dose given that day.

## Policy keys
`codes.*.mue`, `codes.*.mue.status` (UNCONFIRMED: a warning at most).

## References
CMS MUE table, practitioner and outpatient hospital services; SNIP type 6.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from edi_precheck.rules._registry import rule
from edi_precheck.rules.context import ClaimContext, DrugLine, Problem, decimal_text


@rule("units.mue", snip=6, scope="claim")
def check(ctx: ClaimContext) -> Iterator[Problem]:
    groups: dict[tuple[str, str], list[DrugLine]] = {}
    for drug in ctx.drug_lines:
        groups.setdefault((drug.entry.code, ctx.line_date(drug.line)), []).append(drug)
    for (code, _day), drugs in groups.items():
        entry = drugs[0].entry
        limit = entry.mue_units_per_day
        if limit is None:
            continue
        total = sum((drug.line.units_value or Decimal(0) for drug in drugs), Decimal(0))
        if total > limit:
            first = drugs[0].line
            yield Problem(
                f"{code} has {decimal_text(total)} units on {ctx.date_text(first)} over "
                f"{len(drugs)} line(s); the MUE allows {decimal_text(limit)} per day",
                "bill the dose actually given that day once; check for a duplicated line",
                line=first,
                segment=drugs[0].service_segment,
                segment_index=first.segment_index,
                unconfirmed="" if entry.mue and entry.mue.confirmed else f"the MUE of {code}",
            )
