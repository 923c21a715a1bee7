"""The units are not a dose the product is given in (60 for Prolia, 120 for Xgeva).

## What it checks
That the units of an administered line, plus any wasted units billed with JW for the same
code and date, are a dose of the product the NDC names (or, without an NDC, of any product
the code covers). JW lines themselves are not checked here.

## Why it matters
Prolia is 60 mg every 6 months and Xgeva 120 mg every 4 weeks; 1 unit for a 60 mg syringe
(a units/NDC-package confusion) is the most common denosumab denial.

## Example
`SV1*HC:J0897:JZ*27.50*UN*1***1~` with the Prolia NDC 55513071001.

## Use instead
`SV1*HC:J0897:JZ*1650*UN*60***1~`

## Policy keys
`products.*.dose_units`, `codes.*.products`, `billing.waste_modifiers`.

## References
First Coast "Appropriate drug billing: Prolia"; Prolia and Xgeva labels; SNIP type 6.
"""

from __future__ import annotations

from collections.abc import Iterator

from edi_precheck.rules._registry import rule
from edi_precheck.rules.context import ClaimContext, DrugLine, Problem, decimal_text


@rule("units.dose", snip=6)
def check(drug: DrugLine, ctx: ClaimContext) -> Iterator[Problem]:
    line = drug.line
    waste = ctx.policy.billing.waste_modifier
    units = line.units_value
    if waste in line.modifiers or units is None or units <= 0 or not drug.candidates:
        return
    wasted = [other.units_value for other in ctx.same_code_and_date(line)
              if other is not line and waste in other.modifiers]
    total = units + sum(value for value in wasted if value is not None)
    doses = sorted({dose for product in drug.candidates for dose in product.dose_units})
    if total in doses:
        return
    billed = (f"{decimal_text(units)} administered + {decimal_text(total - units)} wasted "
              f"({waste}) = {decimal_text(total)} units" if wasted
              else f"{decimal_text(units)} unit{'s' if units != 1 else ''}")
    given = " or ".join(f"{decimal_text(dose)}" for dose in doses)
    yield Problem(
        f"{drug.code} billed with {billed}; {drug.describe_product()} is given as {given} "
        f"units (1 unit = 1 mg)",
        f"bill {given} units for a full dose", segment=drug.service_segment,
        segment_index=line.segment_index, element="SV205" if line.revenue_code else "SV104")
