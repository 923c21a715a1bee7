"""A line's diagnosis pointer is missing or points past the HI list.

## What it checks
837P only: SV107 has at least one pointer, and each is a number from 1 to the number of
diagnoses in the claim's HI segment.

## Why it matters
The payer reads medical necessity through the pointers; a line that points at nothing is
rejected as incomplete, one that points past the list is invalid.

## Example
`SV1*HC:J0897:JZ*1650*UN*60***3~` with only `HI*ABK:M810~`.

## Use instead
`SV1*HC:J0897:JZ*1650*UN*60***1~`

## Policy keys
None.

## References
837P 2400 SV107; SNIP type 2.
"""

from __future__ import annotations

from collections.abc import Iterator

from edi_precheck.findings import quoted
from edi_precheck.model import whole_number
from edi_precheck.rules._registry import rule
from edi_precheck.rules.context import ClaimContext, DrugLine, Problem, Where


@rule("dx.pointer", snip=2)
def check(drug: DrugLine, ctx: ClaimContext) -> Iterator[Problem]:
    claim, line = ctx.claim, drug.line
    if claim.kind != "837P":
        return
    where: Where = {"segment": "SV1", "segment_index": line.segment_index, "element": "SV107"}
    if not line.diagnosis_pointers:
        yield Problem(
            f"{drug.code} line points at no diagnosis (SV107 is empty)",
            "point SV107 at the diagnosis the drug treats, e.g. 1",
            **where,
        )
        return
    count = len(claim.diagnoses)
    listed = f"{count} diagnosis" if count == 1 else f"{count} diagnoses"
    for pointer in line.diagnosis_pointers:
        number = whole_number(pointer)
        if number is None:
            yield Problem(
                f"diagnosis pointer {quoted(pointer)} is not a number",
                _use(count),
                **where,
            )
        elif number == 0:
            yield Problem(
                f"diagnosis pointer {quoted(pointer)} is no pointer: they count from 1",
                _use(count),
                **where,
            )
        elif number > count:
            yield Problem(
                f"diagnosis pointer {pointer} points past the claim's {listed}",
                _use(count),
                **where,
            )


def _use(count: int) -> str:
    return "use pointer 1" if count == 1 else f"use a pointer from 1 to {count}"
