"""The code was not in effect on the line's date of service.

## What it checks
That the line's date of service (DTP*472, else the claim's) falls within the effective
dates the policy gives the code: a line dated before a code existed, or after it was
deleted, bills an invalid code. Dates the policy marks UNCONFIRMED give a warning at most;
a code without dates is not checked.

## Why it matters
Payers deny a code that was not valid on the date of service (CARC 181); a biosimilar's
new code billed for a date before it took effect, or a retired code, is returned.

## Example
`SV1*HC:J0897:JZ*1650*UN*60***1~` with `DTP*472*D8*20110915~` (J0897 began 2012-01-01).

## Use instead
The code in effect on that date (for a drug without its own code yet, the unclassified
code with the NDC).

## Policy keys
`codes.*.effective`.

## References
CMS HCPCS quarterly updates; SNIP type 5.
"""

from __future__ import annotations

from collections.abc import Iterator

from edi_precheck.rules._registry import rule
from edi_precheck.rules.context import ClaimContext, DrugLine, Problem, parse_date


@rule("code.inactive", snip=5)
def check(drug: DrugLine, ctx: ClaimContext) -> Iterator[Problem]:
    entry = drug.entry
    day = parse_date(ctx.line_date(drug.line))
    if day is None or entry.effective is None or entry.in_effect(day):
        return  # an unreadable date is date.invalid's
    start, end = entry.effective_from, entry.effective_through
    when = " ".join(
        part
        for part in (
            f"from {start:%Y-%m-%d}" if start else "",
            f"through {end:%Y-%m-%d}" if end else "",
        )
        if part
    )
    yield Problem(
        f"{drug.code} was not in effect on {day:%Y-%m-%d} (valid {when})",
        "bill the code in effect on the date of service, or correct the date",
        segment=drug.service_segment,
        segment_index=drug.line.segment_index,
        element=drug.line.element("procedure"),
        unconfirmed="" if entry.effective.confirmed else f"the effective dates of {drug.code}",
    )
