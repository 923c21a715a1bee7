"""No prior authorization number where the payer rule needs one.

## What it checks
For payers whose rule requires it (commercial plans in the shipped policy), that the claim
(2300 REF*G1) or, on an 837P, the line (2400 REF*G1) carries a prior authorization number.

## Why it matters
Commercial plans precertify denosumab; without the authorization number on the claim it
is denied (CARC 197) even when the authorization exists.

## Example
A commercial (`SBR09` = CI) Xgeva claim with no `REF*G1`.

## Use instead
Add `REF*G1*<authorization number>~` in loop 2300.

## Policy keys
`payer_rules.*.require.prior_authorization`.

## References
837P/837I 2300 and 2400 REF*G1; SNIP type 7.
"""

from __future__ import annotations

from collections.abc import Iterator

from edi_precheck.rules._registry import rule
from edi_precheck.rules.context import ClaimContext, DrugLine, Problem


@rule("auth.missing", snip=7)
def check(drug: DrugLine, ctx: ClaimContext) -> Iterator[Problem]:
    if not drug.requires_prior_authorization:
        return
    # 837I service lines carry no REF*G1 in the implementation guide: only the claim's counts.
    line_auth = drug.line.prior_authorization if ctx.claim.kind == "837P" else ""
    if line_auth or ctx.claim.prior_authorization:
        return
    payer_rule = next(r.id for r in drug.payer_rules if r.require_prior_authorization)
    yield Problem(
        f"{drug.code} ({drug.describe_product()}) has no prior authorization number, and "
        f"payer rule '{payer_rule}' requires one",
        "add REF*G1*<authorization number> to the claim (loop 2300)",
        segment=drug.service_segment,
        segment_index=drug.line.segment_index,
    )
