"""JZ with JW, a JW line with no administered line, or JZ beside a JW line.

## What it checks
For each code and date on a claim: no line carries both JZ and JW; a JW (wasted) line has a
line for the administered amount beside it; a JZ (nothing wasted) line does not sit beside
a JW line.

## Why it matters
The modifiers contradict each other; Medicare contractors deny such lines (CARC 4).

## Example
`SV1*HC:J0897:JZ:JW*1650*UN*60***1~`; or `SV1*HC:J0897:JZ*...*50...~` with
`SV1*HC:J0897:JW*...*10...~` the same day.

## Use instead
`SV1*HC:J0897*...*50...~` and `SV1*HC:J0897:JW*...*10...~`.

## Policy keys
`billing.waste_modifiers`.

## References
CGS "JW and JZ" (2023); First Coast claim-submission guideline; SNIP type 6.
"""

from __future__ import annotations

from collections.abc import Iterator

from edi_precheck.rules._registry import rule
from edi_precheck.rules.context import ClaimContext, Problem, Where


@rule("modifier.waste_conflict", snip=6, scope="claim")
def check(ctx: ClaimContext) -> Iterator[Problem]:
    no_waste = ctx.policy.billing.no_waste_modifier
    waste = ctx.policy.billing.waste_modifier
    for drug in ctx.drug_lines:
        line = drug.line
        where: Where = {
            "line": line,
            "segment": drug.service_segment,
            "segment_index": line.segment_index,
        }
        if no_waste in line.modifiers and waste in line.modifiers:
            yield Problem(
                f"{drug.code} line has both {no_waste} (nothing discarded) and "
                f"{waste} (discarded amount)",
                f"keep {no_waste} on the administered line, or bill the discarded "
                f"amount on a line of its own with {waste}",
                **where,
            )
            continue
        group = ctx.group(line)
        if waste in line.modifiers and not group.given:  # no line for the amount given
            yield Problem(
                f"{drug.code} line with {waste} (discarded amount) has no line for "
                "the administered amount on the same date",
                f"bill the administered amount on its own line without {waste}",
                **where,
            )
        elif no_waste in line.modifiers and group.has_waste:
            yield Problem(
                f"{drug.code} line says {no_waste} (nothing discarded), but a "
                f"{waste} line for the same date bills a discarded amount",
                f"remove {no_waste} from the administered line",
                **where,
            )
