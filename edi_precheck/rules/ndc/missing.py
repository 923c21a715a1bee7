"""No NDC (2410 LIN) on a drug line whose payer requires one.

## What it checks
That a covered drug line carries a 2410 drug identification loop (`LIN**N4*<NDC>`) when a
payer rule of the policy requires the NDC for the claim's payer (Medicaid and commercial
plans in the shipped policy).

## Why it matters
Medicaid needs the NDC for drug rebates and many commercial plans price by NDC; a missing
NDC is denied with CARC 16 / RARC M119.

## Example
`SV1*HC:J0897*1650*UN*60***1~` followed by `DTP*472*D8*20260310~` and no `LIN`.

## Use instead
Add `LIN**N4*55513071001~CTP****1*UN~` after the line's DTP.

## Policy keys
`payer_rules.*.require.ndc`.

## References
837P/837I loop 2410 (LIN, CTP); SNIP type 7 (trading-partner specific).
"""

from __future__ import annotations

from collections.abc import Iterator

from edi_precheck.findings import shown
from edi_precheck.rules._registry import rule
from edi_precheck.rules.context import ClaimContext, DrugLine, Problem


@rule("ndc.missing", snip=7)
def check(drug: DrugLine, ctx: ClaimContext) -> Iterator[Problem]:
    if drug.line.ndc or not drug.requires_ndc:
        return
    ndcs = sorted(ndc for product in drug.candidates for ndc in product.ndcs)
    example = f" (e.g. {ndcs[0]})" if ndcs else ""
    payer_rule = next(rule.id for rule in drug.payer_rules if rule.require_ndc)
    yield Problem(
        f"{drug.code} line has no NDC, and payer rule '{payer_rule}' requires one for "
        f"{shown(ctx.claim.payer.filing_indicator) or 'this payer'}",
        f"add LIN**N4*<11-digit NDC>{example} and CTP with the quantity given",
        segment=drug.service_segment,
        segment_index=drug.line.segment_index,
    )
