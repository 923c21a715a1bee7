"""The units are not a dose the product is given in (60 for Prolia, 120 for Xgeva).

## What it checks
That the units given of a code on one date (all its lines without JW), plus any wasted
units billed with JW, are a dose of the product the NDC names (or, without an NDC, of any
product the code covers). Reported once per code and date, on the first line given; two
60-unit Prolia lines on one day are a duplicate, not a dose.

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
    group = ctx.group(line)
    given_lines = group.given
    if given_lines[0] is not line:
        return  # one finding per code and date, on its first administered line
    given, wasted = group.given_units, group.wasted_units
    doses = drug.doses
    if given + wasted in doses:
        return
    if len(given_lines) > 1:
        billed = (
            f"{len(given_lines)} lines on {ctx.date_text(line)} "
            f"adding up to {decimal_text(given)} units"
        )
    else:
        billed = f"{decimal_text(given)} unit{'s' if given != 1 else ''}"
    if wasted:
        billed += (
            f" + {decimal_text(wasted)} wasted ({waste}) = {decimal_text(given + wasted)} units"
        )
    usual = " or ".join(decimal_text(dose) for dose in doses)
    yield Problem(
        f"{drug.code} billed with {billed}; {drug.describe_product()} is given as {usual} "
        f"units{drug.unit_note}",
        f"bill {usual} units for a full dose",
        segment=drug.service_segment,
        segment_index=line.segment_index,
        element=line.element("units"),
    )
