"""An unclassified code (J3590) for a product that has its own code on the date of service.

## What it checks
Lines of a not-otherwise-classified code (J3590, J3490, C9399) whose NDC is one of the
policy's products: when a code of the policy lists that product and is in effect on the
line's date, the line should bill it. A product with no code of its own (Xtrenbo, Jubereq
and the other biosimilars billed under J3590) is checked as that product and gets no
finding here.

## Why it matters
A not-otherwise-classified code is only right while no specific code exists; Medicare
returns such a line to the provider (First Coast; Palmetto A55913 citing CMS 100-04 ch.17
§90.2). When the specific code's start date is UNCONFIRMED in the policy, a warning.

## Example
`SV1*HC:J3590*1100*UN*60***1~` with `LIN**N4*61314024063~` (Jubbonti, code Q5136).

## Use instead
`SV1*HC:Q5136:JZ*1100*UN*60***1~` with the same NDC.

## Policy keys
`codes.*.unclassified`, `codes.*.recognise`, `codes.*.effective`, `codes.*.products`.

## References
First Coast NOC claim-submission guideline; Palmetto A55913; SNIP type 6.
"""

from __future__ import annotations

from collections.abc import Iterator

from edi_precheck.findings import Severity
from edi_precheck.rules._registry import rule
from edi_precheck.rules.context import ClaimContext, DrugLine, Problem, parse_date


@rule("code.unclassified", snip=6, severity=Severity.WARNING)
def check(drug: DrugLine, ctx: ClaimContext) -> Iterator[Problem]:
    if not drug.entry.unclassified or drug.product is None:
        return
    day = parse_date(ctx.line_date(drug.line))
    own = ctx.own_codes((drug.product,), day)
    if not own:
        return
    codes = " or ".join(entry.code for entry in own)
    unsure = [e.code for e in own if e.effective is None or not e.effective.confirmed]
    yield Problem(
        f"{drug.code} is an unclassified code, but {drug.product.name} has its own code {codes}",
        f"bill {codes} with the same NDC and units",
        segment=drug.service_segment,
        segment_index=drug.line.segment_index,
        element=drug.line.element("procedure"),
        unconfirmed=f"the start date of {', '.join(unsure)}" if unsure else "",
    )
