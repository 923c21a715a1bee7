"""An 837I drug line not on the policy's revenue code (0636).

## What it checks
On institutional claims, that a covered drug line's revenue code (SV201) is one the policy
lists: 0636, drugs requiring detailed coding.

## Why it matters
0636 tells the payer the line is a drug identified by its HCPCS code. CMS does not require
it for hospital outpatient drugs (payment follows the HCPCS code; CY2010 OPPS final rule),
so a general pharmacy code (0250) is no reason for Medicare to deny; but some payers and
the home-health osteoporosis drug benefit (TOB 034x) expect 0636. A warning at most.

## Example
`SV2*0250*HC:J0897:JZ*2600*UN*120~`

## Use instead
`SV2*0636*HC:J0897:JZ*2600*UN*120~`

## Policy keys
`billing.revenue_codes`.

## References
NUBC revenue codes; CY2010 OPPS final rule; CGS home-health osteoporosis drugs; 837I 2400
SV201; SNIP type 6.
"""

from __future__ import annotations

from collections.abc import Iterator

from edi_precheck.findings import Severity, quoted
from edi_precheck.rules._registry import rule
from edi_precheck.rules.context import ClaimContext, DrugLine, Problem


@rule("revenue.code", snip=6, severity=Severity.WARNING)
def check(drug: DrugLine, ctx: ClaimContext) -> Iterator[Problem]:
    codes = ctx.policy.billing.revenue_codes
    if ctx.claim.kind != "837I" or drug.line.revenue_code in codes:
        return
    expected = " or ".join(sorted(codes))
    yield Problem(
        f"{drug.code} is billed under revenue code {quoted(drug.line.revenue_code)}, "
        f"not {expected}",
        f"bill the drug under revenue code {expected} if your payer expects it (CMS does not "
        "require it on outpatient claims)",
        segment=drug.service_segment,
        segment_index=drug.line.segment_index,
        element=drug.line.element("revenue_code"),
    )
