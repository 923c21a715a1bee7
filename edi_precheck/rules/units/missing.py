"""The line's quantity is missing, zero or not a number.

## What it checks
That SV104 (837P) or SV205 (837I) holds a positive number of units.

## Why it matters
A drug line with no units cannot be priced; the payer returns it as unprocessable.

## Example
`SV1*HC:J0897:JZ*1650*UN****1~` (no SV104), or `...*UN*0***1~`.

## Use instead
`SV1*HC:J0897:JZ*1650*UN*60***1~`: units equal the milligrams given for a 1 mg code.

## Policy keys
`rules.units.missing` (severity).

## References
837P 2400 SV104 / 837I 2400 SV205; SNIP type 6.
"""

from __future__ import annotations

from collections.abc import Iterator

from edi_precheck.findings import quoted
from edi_precheck.rules._registry import rule
from edi_precheck.rules.context import ClaimContext, DrugLine, Problem, decimal_text


@rule("units.missing", snip=6)
def check(drug: DrugLine, ctx: ClaimContext) -> Iterator[Problem]:
    line = drug.line
    value = line.units_value
    if value is not None and value > 0:
        return
    element = line.element("units")
    found = quoted(line.units) if line.units else "no quantity"
    doses = " or ".join(f"{decimal_text(dose)} units" for dose in drug.doses)
    yield Problem(
        f"{drug.code} line has {found} in {element}; it needs the units given",
        f"bill the amount given as units{drug.unit_note}" + (f", e.g. {doses}" if doses else ""),
        segment=drug.service_segment,
        segment_index=line.segment_index,
        element=element,
    )
