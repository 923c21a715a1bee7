"""No diagnosis on the line supports the product's indications.

## What it checks
That at least one diagnosis the line relies on (837P: pointed at; 837I: the claim's)
matches an indication of the product the NDC names (without one: the product the units are
a dose of, else any product the code covers), including indications that need a second code
on the claim (bone loss on an aromatase inhibitor needs Z79.811 with a C50 breast cancer
code).

## Why it matters
The classic denosumab medical-necessity denial (CARC 50, RARC N115): an Xgeva dose for
plain osteoporosis, Prolia for bone metastases.

## Example
Xgeva `LIN**N4*55513073001~` on a line pointing at `HI*ABK:M810~`.

## Use instead
Point the line at the diagnosis that supports the drug, e.g. `C7951` for Xgeva.

## Policy keys
`products.*.indications`, `indications`.

## References
MAC billing and coding article A52399 (denosumab); SNIP type 6.
"""

from __future__ import annotations

from collections.abc import Iterator

from edi_precheck.policy import matches_icd10
from edi_precheck.rules._registry import rule
from edi_precheck.rules.context import ClaimContext, DrugLine, Problem


@rule("dx.not_covered", snip=6)
def check(drug: DrugLine, ctx: ClaimContext) -> Iterator[Problem]:
    codes = [d.code.upper() for d in ctx.claim.line_diagnoses(drug.line)]
    if not codes or not drug.candidates:
        return  # no usable diagnosis: dx.pointer says why
    claim_codes = [d.code.upper() for d in ctx.claim.diagnoses]
    indications = [indication for product in drug.candidates for indication in product.indications]
    for indication in indications:
        if any(matches_icd10(code, indication.diagnoses) for code in codes) and (
            not indication.with_any
            or any(matches_icd10(code, indication.with_any) for code in claim_codes)
        ):
            return
    labels = sorted({indication.label for indication in indications})
    product = drug.describe_product()
    if drug.decided_by == "dose":
        product += f" (no NDC on the line; its units are {product}'s dose)"
        check = "check the units and add the NDC"
    else:
        check = "check the NDC (it decides the product)"
    yield Problem(
        f"no diagnosis on the line ({', '.join(codes)}) supports {product}; its "
        f"indications: {'; '.join(labels)}",
        f"point the line at the diagnosis the drug was given for, or {check}",
        segment=drug.service_segment,
        segment_index=drug.line.segment_index,
    )
