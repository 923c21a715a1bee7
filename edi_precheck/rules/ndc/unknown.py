"""The NDC is neither on the NDC-HCPCS crosswalk nor a product of the policy.

## What it checks
That an 11-digit NDC on a covered line is listed by the loaded CMS ASP NDC-HCPCS crosswalk
or by one of the policy's products.

## Why it matters
An NDC the payer cannot find (a typo, a repackager's NDC, an obsolete package) is denied
with CARC 16 / RARC M119, or priced at nothing.

## Example
`LIN**N4*55513071099~` on a J0897 line.

## Use instead
The NDC on the package given, e.g. `LIN**N4*55513071001~` for a Prolia syringe.

## Policy keys
`products.*.ndcs`; the crosswalk (`--crosswalk`).

## References
CMS ASP NDC-HCPCS crosswalk; SNIP type 5.
"""

from __future__ import annotations

from collections.abc import Iterator

from edi_precheck.findings import Severity
from edi_precheck.rules._registry import rule
from edi_precheck.rules.context import ClaimContext, DrugLine, Problem


@rule("ndc.unknown", snip=5, severity=Severity.WARNING)
def check(drug: DrugLine, ctx: ClaimContext) -> Iterator[Problem]:
    ndc = drug.ndc11
    if ndc is None or ctx.crosswalk.entries(ndc) or ndc in ctx.policy.product_by_ndc:
        return
    yield Problem(
        f"NDC {ndc} is not on the NDC-HCPCS crosswalk ({ctx.crosswalk.source}) nor a "
        f"product of policy '{ctx.policy.id}'",
        "check the NDC on the package given; load the current quarter's CMS crosswalk with "
        "--crosswalk",
        segment="LIN",
        segment_index=drug.line.ndc_segment_index,
        element="LIN03",
    )
