"""A modifier that is not two letters or digits.

## What it checks
Each modifier of the line's procedure composite (SV101-3..6 / SV202-3..6) is exactly two
upper-case letters or digits.

## Why it matters
A malformed modifier (`J Z`, `jz`, `JZZ`) is not a modifier; the payer rejects the line or
ignores the modifier and then denies for a missing JZ/JW (CARC 4).

## Example
`SV1*HC:J0897:jz*1650*UN*60***1~`

## Use instead
`SV1*HC:J0897:JZ*1650*UN*60***1~`

## Policy keys
None.

## References
837P SV101-3..6, 837I SV202-3..6; SNIP type 5.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from edi_precheck.findings import quoted
from edi_precheck.rules._registry import rule
from edi_precheck.rules.context import ClaimContext, DrugLine, Problem

MODIFIER = re.compile(r"[A-Z0-9]{2}")


@rule("modifier.invalid", snip=5)
def check(drug: DrugLine, ctx: ClaimContext) -> Iterator[Problem]:
    for modifier in drug.line.modifiers:
        if not MODIFIER.fullmatch(modifier):
            upper = modifier.upper() if modifier.isascii() else ""
            if MODIFIER.fullmatch(upper):
                message, hint = f"modifier {quoted(modifier)} is in lower case", f"send {upper}"
            else:
                message = f"modifier {quoted(modifier)} is not two letters or digits"
                hint = "send modifiers as two upper-case characters, e.g. JZ"
            yield Problem(
                message,
                hint,
                segment=drug.service_segment,
                segment_index=drug.line.segment_index,
            )
