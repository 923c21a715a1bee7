"""No administration line (96372, 96401, ...) for the drug's date.

## What it checks
That a claim with a covered drug line also bills, on the same date of service, an
administration code of the product given (96372 for every denosumab product; 96401 also
for Xgeva-type products; never 96402, the hormonal anti-neoplastic code). JW (wasted
amount) lines are not counted as doses. Not checked in settings whose administration is
billed elsewhere (home health: in the skilled-nursing visit).

## Why it matters
The drug code pays for the drug only; the injection is a separate line. Without it the
practice loses the administration fee, or the payer asks why the drug was given with no
visit. A warning, not an error: the administration may be billed on another claim.

## Example
A claim with `SV1*HC:J0897:JZ*1650*UN*60***1~` and no other line that day, or a Prolia
line with only `96402`.

## Use instead
Add `SV1*HC:96372*45*UN*1***1~` with the same DTP*472 date.

## Policy keys
`products.*.administration_codes`, `settings.*.administration_line`.

## References
First Coast Prolia article (60 units + 96372); CPT 96372, 96401, 96402; CGS home-health
osteoporosis drugs; SNIP type 6.
"""

from __future__ import annotations

from collections.abc import Iterator

from edi_precheck.findings import Severity
from edi_precheck.rules._registry import rule
from edi_precheck.rules.context import ClaimContext, Problem


@rule("admin.missing", snip=6, scope="claim", severity=Severity.WARNING)
def check(ctx: ClaimContext) -> Iterator[Problem]:
    waste = ctx.policy.billing.waste_modifier
    codes_on: dict[str, set[str]] = {}
    for line in ctx.claim.lines:
        codes_on.setdefault(ctx.line_date(line), set()).add(line.code)
    for drug in ctx.drug_lines:
        line = drug.line
        if waste in line.modifiers or (drug.setting and not drug.setting.administration_line):
            continue
        codes = sorted({code for p in drug.candidates for code in p.administration_codes})
        if not codes or codes_on.get(ctx.line_date(line), set()).intersection(codes):
            continue
        yield Problem(
            f"{drug.code} ({drug.describe_product()}) on "
            f"{ctx.date_text(line)} has no administration line "
            f"({' or '.join(codes)}) for the same date",
            f"bill the injection on its own line (e.g. {codes[0]}) with the same date",
            line=line,
            segment=drug.service_segment,
            segment_index=line.segment_index,
        )
