"""CLM02 differs from the sum of the line charges.

## What it checks
That the total claim charge (CLM02) equals the sum of the service line charges (SV102 on an
837P, SV203 on an 837I), and that each of them is a number.

## Why it matters
The implementation guide requires the claim to balance; clearinghouses running SNIP type 3
edits reject an unbalanced claim before the payer sees it.

## Example
`CLM*A1*1700***11:B:1~` over lines of `1650` and `45`.

## Use instead
`CLM*A1*1695***11:B:1~`

## Policy keys
`rules.claim.balance` (severity).

## References
837P/837I 2300 CLM02 and 2400 SV102/SV203 notes; SNIP type 3 (balancing).
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from edi_precheck.findings import quoted
from edi_precheck.rules._registry import rule
from edi_precheck.rules.context import ClaimContext, Problem, decimal_text


@rule("claim.balance", snip=3, scope="claim", all_claims=True, skimmed=True)
def check(ctx: ClaimContext) -> Iterator[Problem]:
    claim = ctx.claim
    if not claim.lines:
        return
    total = claim.charge_value
    if total is None:
        yield Problem(
            f"CLM02 claim charge {quoted(claim.charge)} is not a number",
            "send the total charge of the claim in CLM02",
            segment="CLM",
            segment_index=claim.segment_index,
            element="CLM02",
        )
        return
    charges = [line.charge_value for line in claim.lines]
    for line, charge in zip(claim.lines, charges, strict=True):
        if charge is None:
            element = line.element("charge")
            found = f"{quoted(line.charge)} is not a number" if line.charge else "is missing"
            yield Problem(
                f"the line's charge ({element}) {found}, so the claim cannot be balanced",
                "send the line's charge as an amount, e.g. 1650.00",
                line=line,
                segment=line.service_segment,
                segment_index=line.segment_index,
                element=element,
            )
    if any(charge is None for charge in charges):
        return
    line_sum = sum((charge for charge in charges if charge is not None), Decimal(0))
    if line_sum != total:
        yield Problem(
            f"CLM02 says {decimal_text(total)}, but the {len(charges)} line charges add up "
            f"to {decimal_text(line_sum)}",
            f"set CLM02 to {decimal_text(line_sum)}, or correct the line charges",
            segment="CLM",
            segment_index=claim.segment_index,
            element="CLM02",
        )
