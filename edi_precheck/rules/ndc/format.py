"""The NDC is not 11 digits in 5-4-2 form, or its qualifier is not N4.

## What it checks
That LIN02 is `N4` and LIN03 is exactly 11 digits, no hyphens or spaces.

## Why it matters
Payers match the NDC digit for digit; a hyphenated or 10-digit NDC does not match and the
line is denied (CARC 16 / RARC M119). Seen in real vendor sample files.

## Example
`LIN**N4*55513-0710-01~`, or a 10-digit `LIN**N4*5551371001~`.

## Use instead
`LIN**N4*55513071001~`: pad the short part of a 10-digit NDC with a leading zero
(4-4-2 -> 0xxxx, 5-3-2 -> xxxxx-0xxx, 5-4-1 -> xxxxx-xxxx-0x).

## Policy keys
None.

## References
837P/837I 2410 LIN02-LIN03; SNIP type 5 (external code set).
"""

from __future__ import annotations

from collections.abc import Iterator

from edi_precheck.findings import quoted
from edi_precheck.rules._registry import rule
from edi_precheck.rules.context import ClaimContext, DrugLine, Problem


@rule("ndc.format", snip=5)
def check(drug: DrugLine, ctx: ClaimContext) -> Iterator[Problem]:
    line = drug.line
    if not line.ndc:
        return
    if line.ndc_qualifier != "N4":
        yield Problem(
            f"LIN02 qualifier is {quoted(line.ndc_qualifier)}, not N4 (NDC in 5-4-2 form)",
            "set LIN02 to N4",
            segment="LIN",
            segment_index=line.ndc_segment_index,
            element="LIN02",
        )
    if len(line.ndc) == 11 and line.ndc.isdigit():
        return
    fix = f"send {drug.ndc11}" if drug.ndc11 else "send the 11-digit NDC"
    yield Problem(
        f"NDC {quoted(line.ndc)} is not 11 digits without hyphens",
        f"{fix} (5-4-2, no hyphens)",
        segment="LIN",
        segment_index=line.ndc_segment_index,
        element="LIN03",
    )
