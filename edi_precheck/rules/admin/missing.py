"""No administration line (96372, 96401, ...) for the drug's date.

## What it checks
That a claim with a covered drug line also bills an administration code of the policy on
the same date of service. JW (wasted amount) lines are not counted as doses.

## Why it matters
The drug code pays for the drug only; the injection is a separate line. Without it the
practice loses the administration fee, or the payer asks why the drug was given with no
visit. A warning, not an error: the administration may be billed on another claim.

## Example
A claim with `SV1*HC:J0897:JZ*1650*UN*60***1~` and no other line that day.

## Use instead
Add `SV1*HC:96372*45*UN*1***1~` with the same DTP*472 date.

## Policy keys
`billing.administration_codes`.

## References
First Coast Prolia article (60 units + 96372); SNIP type 6.
"""

from __future__ import annotations

from collections.abc import Iterator

from edi_precheck.findings import Severity
from edi_precheck.rules._registry import rule
from edi_precheck.rules.context import ClaimContext, Problem


@rule("admin.missing", snip=6, scope="claim", severity=Severity.WARNING)
def check(ctx: ClaimContext) -> Iterator[Problem]:
    billing = ctx.policy.billing
    administered_on = {
        ctx.line_date(line) for line in ctx.claim.lines if line.code in billing.administration_codes
    }
    for drug in ctx.drug_lines:
        line = drug.line
        if billing.waste_modifier in line.modifiers or ctx.line_date(line) in administered_on:
            continue
        codes = sorted(billing.administration_codes)
        yield Problem(
            f"{drug.code} on {ctx.line_date(line) or 'the claim date'} has no "
            f"administration line ({' or '.join(codes)}) for the same date",
            f"bill the injection on its own line (e.g. {codes[0]}) with the same date",
            line=line,
            segment=drug.service_segment,
            segment_index=line.segment_index,
        )
