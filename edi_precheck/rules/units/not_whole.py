"""Fractional units of a code billed in whole units.

## What it checks
That the units of a 1 mg code are a whole number.

## Why it matters
Denosumab codes are per 1 mg and doses are whole milligrams; 0.5 or 60.5 units is a keying
error that payers deny or round against you.

## Example
`SV1*HC:J0897:JZ*1650*UN*60.5***1~`

## Use instead
`SV1*HC:J0897:JZ*1650*UN*60***1~`

## Policy keys
`billing.whole_units`, `rules.units.not_whole`.

## References
HCPCS descriptor "Injection, denosumab, 1 mg"; SNIP type 6.
"""

from __future__ import annotations

from collections.abc import Iterator

from edi_precheck.findings import shown
from edi_precheck.rules._registry import rule
from edi_precheck.rules.context import ClaimContext, DrugLine, Problem


@rule("units.not_whole", snip=6)
def check(drug: DrugLine, ctx: ClaimContext) -> Iterator[Problem]:
    value = drug.line.units_value
    if not ctx.policy.billing.whole_units or value is None or value <= 0:
        return
    if value == value.to_integral_value():
        return
    element = drug.line.element("units")
    yield Problem(
        f"{drug.code} is billed in whole units{drug.unit_note}, but the line has "
        f"{shown(drug.line.units)}",
        "bill the amount given in whole units",
        segment=drug.service_segment,
        segment_index=drug.line.segment_index,
        element=element,
    )
