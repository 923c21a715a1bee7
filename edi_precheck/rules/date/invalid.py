"""The service date is missing, malformed, or in the future.

## What it checks
That a covered line has a date of service (2400 DTP*472, else the claim's), that it is a
real CCYYMMDD date (and, for a range, that the end is a real date not before the start),
and that no day of it is after the day of the check.

## Why it matters
Every edit that follows (dosing interval, MUE per day, JZ/JW effective dates) keys on the
date; a claim dated in the future is rejected outright.

## Example
`DTP*472*D8*20261350~`, or a date next month.

## Use instead
`DTP*472*D8*20261015~`

## Policy keys
None.

## References
837P/837I 2400 DTP*472; SNIP type 2.
"""

from __future__ import annotations

from collections.abc import Iterator

from edi_precheck.findings import quoted, shown
from edi_precheck.rules._registry import rule
from edi_precheck.rules.context import ClaimContext, DrugLine, Problem, Where, parse_date


@rule("date.invalid", snip=2)
def check(drug: DrugLine, ctx: ClaimContext) -> Iterator[Problem]:
    line, claim = drug.line, ctx.claim
    start_text = claim.line_date(line)
    end_text = line.service_date_end if line.service_date else claim.service_date_end
    where: Where = {"segment": drug.service_segment, "segment_index": line.segment_index}
    if not start_text:
        yield Problem(
            f"{drug.code} line has no date of service",
            "add DTP*472*D8*<CCYYMMDD> to the line",
            **where,
        )
        return
    start = parse_date(start_text)
    if start is None:
        yield Problem(
            f"date of service {quoted(start_text)} is not a CCYYMMDD date",
            "send the date as CCYYMMDD, e.g. 20261015",
            **where,
        )
        return
    last, last_text = start, start_text
    if end_text:
        end = parse_date(end_text)
        if end is None or end < start:
            yield Problem(
                f"date range {shown(start_text)}-{shown(end_text)} does not end on a real date "
                "on or after its start",
                "send RD8 as CCYYMMDD-CCYYMMDD",
                **where,
            )
        else:
            last, last_text = end, end_text
    if last > ctx.today:
        yield Problem(
            f"date of service {last_text} is after today ({ctx.today:%Y%m%d})",
            "bill a service after it was given",
            **where,
        )
