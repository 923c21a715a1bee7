"""No prior authorization number where the payer rule asks for one.

## What it checks
For payers whose rule asks for it, that the claim (2300 REF*G1) or, on an 837P, the line
(2400 REF*G1) carries a prior authorization number.

## Why it matters
A plan that precertifies the drug denies it without the authorization number on the claim
(CARC 197), even when the authorization exists. Whether a plan precertifies differs per
plan (BCBS Alabama's PH-0098 says precertification does not apply to denosumab), so the
shipped policy reports a warning that says what to verify; an overlay for a plan that
requires it makes it an error.

## Example
A commercial (`SBR09` = CI) Xgeva claim with no `REF*G1`.

## Use instead
Add `REF*G1*<authorization number>~` in loop 2300.

## Policy keys
`payer_rules.*.require.prior_authorization`.

## References
837P/837I 2300 and 2400 REF*G1; Prime Therapeutics/BCBS PH-0098; SNIP type 7.
"""

from __future__ import annotations

from collections.abc import Iterator

from edi_precheck.findings import Severity
from edi_precheck.rules._registry import rule
from edi_precheck.rules.context import ClaimContext, DrugLine, Problem


@rule("auth.missing", snip=7, severity=Severity.WARNING)
def check(drug: DrugLine, ctx: ClaimContext) -> Iterator[Problem]:
    if not drug.requires_prior_authorization:
        return
    # 837I service lines carry no REF*G1 in the implementation guide: only the claim's counts.
    line_auth = drug.line.prior_authorization if ctx.claim.kind == "837P" else ""
    if line_auth or ctx.claim.prior_authorization:
        return
    payer_rule = next(r.id for r in drug.payer_rules if r.require_prior_authorization)
    yield Problem(
        f"{drug.code} ({drug.describe_product()}) has no prior authorization number (REF*G1); "
        f"payer rule '{payer_rule}' asks for one",
        "verify whether this plan precertifies the drug; if it does, add REF*G1*<authorization "
        "number> to the claim (loop 2300)",
        segment=drug.service_segment,
        segment_index=drug.line.segment_index,
    )
