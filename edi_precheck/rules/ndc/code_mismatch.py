"""The NDC belongs to another HCPCS code than the one billed.

## What it checks
That the crosswalk lists the line's NDC under the billed code. A Prolia NDC on a J3486
line (the code this project was asked to check; public HCPCS bills denosumab as J0897), or
a Prolia NDC on a biosimilar Q-code, is a mismatch. The line is still checked as the
product its NDC names for everything else.

## Why it matters
Payers that adjudicate against the crosswalk deny an NDC/HCPCS pair that is not on it
(CARC 16 / RARC M119).

## Example
`SV1*HC:J3486:JZ*1650*UN*60***1~` ... `LIN**N4*55513071001~`

## Use instead
`SV1*HC:J0897:JZ*1650*UN*60***1~` ... `LIN**N4*55513071001~`

## Policy keys
The crosswalk (`--crosswalk`); `codes`.

## References
CMS ASP NDC-HCPCS crosswalk; SNIP type 6.
"""

from __future__ import annotations

from collections.abc import Iterator

from edi_precheck.rules._registry import rule
from edi_precheck.rules.context import ClaimContext, DrugLine, Problem


@rule("ndc.code_mismatch", snip=6)
def check(drug: DrugLine, ctx: ClaimContext) -> Iterator[Problem]:
    if drug.ndc11 is None:
        return
    listed = ctx.crosswalk.codes_for(drug.ndc11)
    if not listed or drug.code.upper() in listed:
        return
    names = sorted(
        {entry.drug_name for entry in ctx.crosswalk.entries(drug.ndc11) if entry.drug_name}
    )
    product = f" ({', '.join(names)})" if names else ""
    codes = " or ".join(sorted(listed))
    yield Problem(
        f"NDC {drug.ndc11}{product} is listed under {codes} on the NDC-HCPCS crosswalk, "
        f"but the line bills {drug.code}",
        f"bill {codes} for this NDC, or correct the NDC",
        segment=drug.service_segment,
        segment_index=drug.line.segment_index,
    )
