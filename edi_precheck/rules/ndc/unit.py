"""The NDC quantity is not in the product's NCPDP billing unit (ML for denosumab).

## What it checks
That CTP05 is the unit the product's NDC is billed in (its NCPDP billing unit: ML for a
liquid such as Prolia, 1 ML, or Xgeva, 1.7 ML), unless a payer rule of the claim accepts
the unit sent (the shipped policy accepts UN, one package, for Medicare, Medicare Advantage
and commercial plans). A unit the quantity cannot be checked in at all is ndc.quantity's.

## Why it matters
The 837 ties the NDC quantity to the NCPDP billing unit; Medicaid programs reconcile it
with the drug rebate file and return or deny lines in another unit.

## Example
A Medicaid line `LIN**N4*55513071001~CTP****1*UN~` (Prolia).

## Use instead
`LIN**N4*55513071001~CTP****1*ML~`

## Policy keys
`products.*.ndc_unit`, `products.*.package`, `payer_rules.*.accept_ctp_units`.

## References
X12 RFI 591 and 1948 (CTP05: ML for a liquid, UN for a package); ndclist (Xgeva billing
unit ML); SNIP type 6.
"""

from __future__ import annotations

from collections.abc import Iterator

from edi_precheck.findings import Severity
from edi_precheck.rules._registry import rule
from edi_precheck.rules.context import ClaimContext, DrugLine, Problem, decimal_text


@rule("ndc.unit", snip=6, severity=Severity.WARNING)
def check(drug: DrugLine, ctx: ClaimContext) -> Iterator[Problem]:
    line, product = drug.line, drug.product
    if not line.ndc or product is None or not product.ndc_unit:
        return
    sent = line.ctp_unit
    if sent == product.ndc_unit or sent not in product.package:
        return  # the right unit, or one ndc.quantity reports
    if sent in drug.accepted_ctp_units:
        return
    example = ""
    per_package = product.package.get(product.ndc_unit)
    if per_package is not None:
        example = (
            f": one package of {product.name} is {decimal_text(per_package)} {product.ndc_unit}"
        )
    yield Problem(
        f"CTP05 is {sent}, but {product.name}'s NDC is billed in {product.ndc_unit} "
        "(its NCPDP billing unit)",
        f"send the NDC quantity in {product.ndc_unit}{example}",
        segment="CTP",
        segment_index=line.ctp_segment_index,
        element="CTP05",
    )
