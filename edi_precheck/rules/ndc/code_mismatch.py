"""The NDC belongs to another HCPCS code than the one billed.

## What it checks
That the crosswalk lists the line's NDC under the billed code: a Prolia NDC on a
biosimilar Q-code is a mismatch. An NDC the crosswalk does not list (a biosimilar newer
than the crosswalk loaded) but the policy names a product for is held to the codes the
policy gives that product: a warning, since only the crosswalk confirms a pair. The line
is still checked as the product its NDC names for everything else. Codes that are another
drug's (J3486) or unclassified (J3590) are left to code.wrong_drug and code.unclassified,
which say more.

## Why it matters
Payers that adjudicate against the crosswalk deny an NDC/HCPCS pair that is not on it
(CARC 16 / RARC M119).

## Example
`SV1*HC:Q5136:JZ*1650*UN*60***1~` ... `LIN**N4*55513071001~` (Prolia)

## Use instead
`SV1*HC:J0897:JZ*1650*UN*60***1~` ... `LIN**N4*55513071001~`

## Policy keys
The crosswalk (`--crosswalk`); `codes`, `codes.*.products`, `products.*.ndcs`.

## References
CMS ASP NDC-HCPCS crosswalk; SNIP type 6.
"""

from __future__ import annotations

from collections.abc import Iterator

from edi_precheck.rules._registry import rule
from edi_precheck.rules.context import ClaimContext, DrugLine, Problem


@rule("ndc.code_mismatch", snip=6)
def check(drug: DrugLine, ctx: ClaimContext) -> Iterator[Problem]:
    if drug.ndc11 is None or not drug.entry.is_specific:
        return
    listed = ctx.crosswalk.codes_for(drug.ndc11)
    if not listed:
        yield from _policy_mismatch(drug, ctx)
        return
    if drug.code.upper() in listed:
        return
    names = sorted(
        {entry.drug_name for entry in ctx.crosswalk.entries(drug.ndc11) if entry.drug_name}
    )
    product = f" ({', '.join(names)})" if names else ""
    codes = " or ".join(sorted(listed))
    yield Problem(
        f"NDC {drug.ndc11}{product} is listed under {codes} on the NDC-HCPCS crosswalk, "
        f"but the line bills {drug.code}",
        f"bill {codes} for this NDC, or correct the NDC",
        segment=drug.service_segment,
        segment_index=drug.line.segment_index,
    )


def _policy_mismatch(drug: DrugLine, ctx: ClaimContext) -> Iterator[Problem]:
    """An NDC the crosswalk does not list, of a product the policy does not bill under the
    line's code: a warning naming the codes the policy gives the product (or the
    unclassified codes, for a product with none of its own)."""
    product = ctx.policy.product_by_ndc.get(drug.ndc11 or "")
    if product is None or product.name in drug.entry.products:
        return
    codes, unclassified = ctx.codes_to_bill((product,), None)
    if not codes:
        return
    if unclassified:
        codes += " (unclassified)"
    yield Problem(
        f"NDC {drug.ndc11} is {product.name}, which policy '{ctx.policy.id}' bills under "
        f"{codes}, but the line bills {drug.code}",
        f"bill {codes} for this NDC, or correct the NDC",
        segment=drug.service_segment,
        segment_index=drug.line.segment_index,
        unconfirmed=f"the code of {product.name}, whose NDC the crosswalk loaded does not list,",
    )
