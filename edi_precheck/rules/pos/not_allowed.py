"""A place of service (837P) or type of bill (837I) the policy does not allow.

## What it checks
837P: the line's place of service (SV105, else CLM05-1) is in the policy's list. 837I: the
first three digits of the type of bill (0 + CLM05-1) are in the policy's list (013 hospital
outpatient, 085 critical access hospital).

## Why it matters
A drug billed from a setting the payer does not pay it in is denied (CARC 5 or 58). Which
settings a payer allows is UNCONFIRMED in the shipped policy: adjust it to your payers.

## Example
`CLM*A1*1695***12:B:1*Y*A*Y*Y~` (home) for Prolia.

## Use instead
`CLM*A1*1695***11:B:1*Y*A*Y*Y~` (office), if that is where it was given.

## Policy keys
`billing.places_of_service`, `billing.types_of_bill`.

## References
CMS place of service code set; NUBC type of bill; SNIP type 6.
"""

from __future__ import annotations

from collections.abc import Iterator

from edi_precheck.rules._registry import rule
from edi_precheck.rules.context import ClaimContext, DrugLine, Problem


@rule("pos.not_allowed", snip=6)
def check(drug: DrugLine, ctx: ClaimContext) -> Iterator[Problem]:
    claim, billing = ctx.claim, ctx.policy.billing
    if claim.kind == "837P":
        place = drug.line.place_of_service or claim.facility_code
        if not place or place in billing.places_of_service:
            return
        segment, index = (
            ("SV1", drug.line.segment_index)
            if drug.line.place_of_service
            else ("CLM", claim.segment_index)
        )
        yield Problem(
            f"place of service {place} is not one policy '{ctx.policy.id}' allows for "
            f"{drug.code} ({', '.join(sorted(billing.places_of_service))})",
            "check where the drug was given; if your payer pays it there, allow the place "
            "of service in a policy of your own",
            segment=segment,
            segment_index=index,
        )
        return
    if not claim.facility_code:
        return
    prefix = claim.type_of_bill[:3]
    if prefix in billing.types_of_bill:
        return
    yield Problem(
        f"type of bill {claim.type_of_bill} ({prefix}x) is not one policy '{ctx.policy.id}' "
        f"allows for {drug.code} ({', '.join(sorted(b + 'x' for b in billing.types_of_bill))})",
        "check the facility type in CLM05-1",
        segment="CLM",
        segment_index=claim.segment_index,
        element="CLM05-1",
    )
