"""No place of service (837P) or facility type (837I).

## What it checks
CLM05-1 is required on both claim kinds: the place of service of an 837P (a line's SV105
may override it, never replace it), the facility type code of an 837I's type of bill.

## Why it matters
Drug payment depends on the setting (office vs facility); a claim without CLM05-1 fails the
implementation guide and is rejected before the payer sees it.

## Example
`CLM*A1*1695***:B:1*Y*A*Y*Y~`

## Use instead
`CLM*A1*1695***11:B:1*Y*A*Y*Y~`

## Policy keys
None.

## References
837P 2300 CLM05-1 and 2400 SV105; 837I 2300 CLM05-1; SNIP type 2.
"""

from __future__ import annotations

from collections.abc import Iterator

from edi_precheck.rules._registry import rule
from edi_precheck.rules.context import ClaimContext, Problem


@rule("pos.missing", snip=2, scope="claim")
def check(ctx: ClaimContext) -> Iterator[Problem]:
    claim = ctx.claim
    if claim.facility_code:
        return
    what = "place of service" if claim.kind == "837P" else "facility type (type of bill)"
    yield Problem(
        f"the claim has no {what} in CLM05-1",
        f"send the {what} in CLM05-1",
        segment="CLM",
        segment_index=claim.segment_index,
        element="CLM05-1",
    )
