"""The line's unit basis is not the one the policy bills in (UN).

## What it checks
That SV103 (837P) or SV204 (837I) is the policy's unit basis: `UN` (unit) for drugs billed
per milligram, not `MJ` (minutes).

## Why it matters
Minutes are for anesthesia; a drug line in minutes is returned as invalid.

## Example
`SV1*HC:J0897:JZ*1650*MJ*60***1~`

## Use instead
`SV1*HC:J0897:JZ*1650*UN*60***1~`

## Policy keys
`billing.unit_basis`, `rules.units.basis`.

## References
837P 2400 SV103 / 837I 2400 SV204; SNIP type 2.
"""

from __future__ import annotations

from collections.abc import Iterator

from edi_precheck.findings import quoted
from edi_precheck.rules._registry import rule
from edi_precheck.rules.context import ClaimContext, DrugLine, Problem


@rule("units.basis", snip=2)
def check(drug: DrugLine, ctx: ClaimContext) -> Iterator[Problem]:
    line = drug.line
    expected = ctx.policy.billing.unit_basis
    if line.unit_basis == expected:
        return
    element = line.element("unit_basis")
    found = quoted(line.unit_basis) if line.unit_basis else "no unit basis"
    yield Problem(
        f"{drug.code} line has {found} in {element}; drugs are billed in '{expected}'",
        f"set {element} to {expected}",
        segment=drug.service_segment,
        segment_index=line.segment_index,
        element=element,
    )
