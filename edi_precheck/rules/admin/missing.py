"""No administration line (96372, 96401, ...) for the drug's date.

## What it checks
That a claim with a covered drug line also bills, on the same date of service (a day of
its range, when either line gives one: RD8), an administration code of the product given
(96372 for every denosumab product; 96401 also for Xgeva-type products; never 96402, the
hormonal anti-neoplastic code). JW (wasted amount) lines are not counted as doses. Not
checked in settings whose administration is billed elsewhere (home health: in the
skilled-nursing visit).

## Why it matters
The drug code pays for the drug only; the injection is a separate line. Without it the
practice loses the administration fee, or the payer asks why the drug was given with no
visit. A warning, not an error: the administration may be billed on another claim.

## Example
A claim with `SV1*HC:J0897:JZ*1650*UN*60***1~` and no other line that day, or a Prolia
line with only `96402`.

## Use instead
Add `SV1*HC:96372*45*UN*1***1~` with the same DTP*472 date. Where the injection is billed
under another product's administration code (96401 for Prolia), replace that code: a
second administration line would bill the injection twice.

## Policy keys
`products.*.administration_codes`, `settings.*.administration_line`.

## References
First Coast Prolia article (60 units + 96372); CPT 96372, 96401, 96402; CGS home-health
osteoporosis drugs; SNIP type 6.
"""

from __future__ import annotations

from collections.abc import Iterator

from edi_precheck.findings import Severity, shown
from edi_precheck.model import ServiceLine
from edi_precheck.rules._registry import rule
from edi_precheck.rules.context import ClaimContext, Problem


@rule("admin.missing", snip=6, scope="claim", severity=Severity.WARNING)
def check(ctx: ClaimContext) -> Iterator[Problem]:
    waste = ctx.policy.billing.waste_modifier
    for drug in ctx.drug_lines:
        line = drug.line
        if waste in line.modifiers or (drug.setting and not drug.setting.administration_line):
            continue
        codes = sorted({code for p in drug.candidates for code in p.administration_codes})
        if not codes:
            continue
        start, end = _dates(line, ctx)
        same_day = [other for other in ctx.claim.lines if _overlap(_dates(other, ctx), start, end)]
        if any(other.code in codes for other in same_day):
            continue
        # Another product's administration code that day: the injection is billed, under
        # the wrong code (96401 for Prolia); adding a line would bill it twice.
        others = {c for p in ctx.policy.products.values() for c in p.administration_codes}
        wrong = next((other for other in same_day if other.code in others), None)
        if wrong is not None:
            yield Problem(
                f"{drug.code} ({drug.describe_product()}) on {ctx.date_text(line)} is "
                f"administered as {wrong.code} (line {shown(wrong.number)}), which is not its "
                f"administration code ({' or '.join(codes)})",
                f"replace {wrong.code} with {codes[0]} on that line; do not add a second "
                "administration line",
                line=line,
                segment=drug.service_segment,
                segment_index=line.segment_index,
            )
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


def _dates(line: ServiceLine, ctx: ClaimContext) -> tuple[str, str]:
    """A line's first and last date of service (CCYYMMDD): its DTP*472, a range (RD8)
    included, else the claim's."""
    start = ctx.line_date(line)
    end = line.service_date_end if line.service_date else ctx.claim.service_date_end
    return start, end or start


def _overlap(dates: tuple[str, str], start: str, end: str) -> bool:
    """Whether two spans of CCYYMMDD dates share a day (the same text when not dates)."""
    if dates[0] == start:
        return True
    return dates[0] <= end and start <= dates[1]
