"""No place of service (837P) or facility type (837I).

## What it checks
837P: the line's SV105 or the claim's CLM05-1 gives a place of service. 837I: CLM05-1
gives the facility type code of the type of bill.

## Why it matters
Drug payment depends on the setting (office vs facility); a claim without one is returned
as incomplete.

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
from edi_precheck.rules.context import ClaimContext, DrugLine, Problem


@rule("pos.missing", snip=2)
def check(drug: DrugLine, ctx: ClaimContext) -> Iterator[Problem]:
    claim = ctx.claim
    if claim.facility_code or (claim.kind == "837P" and drug.line.place_of_service):
        return
    what = "place of service" if claim.kind == "837P" else "facility type (type of bill)"
    yield Problem(f"the claim has no {what} in CLM05-1", f"send the {what} in CLM05-1",
                  segment="CLM", segment_index=claim.segment_index, element="CLM05-1")
