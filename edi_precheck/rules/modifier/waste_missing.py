"""Neither JZ nor JW on a single-dose drug line where the payer requires one.

## What it checks
For payers whose rule requires it (Medicare in the shipped policy, for dates of service
from 2023-07-01: a warning until 2023-09-30, an error from 2023-10-01), that a line of a
single-dose-container product carries JZ (nothing discarded) or JW (the discarded amount),
or sits beside a JW line of the same code and date.

## Why it matters
Since 2023-07-01 Medicare Part B requires JZ or JW on single-dose container drugs; from
2023-10-01 a line with neither is returned or denied (CARC 4). Prolia syringes and Xgeva vials are
single-dose, so a full 60 or 120 mg dose carries JZ.

## Example
`SV1*HC:J0897*1650*UN*60***1~` on a Medicare claim.

## Use instead
`SV1*HC:J0897:JZ*1650*UN*60***1~`

## Policy keys
`payer_rules.*.require.waste_modifier`, `payer_rules.*.match.service_dates`,
`products.*.single_dose_container`, `billing.waste_modifiers`.

## References
CGS "JW and JZ" (2023); CMS MM13056; Noridian A55932; SNIP type 7.
"""

from __future__ import annotations

from collections.abc import Iterator

from edi_precheck.rules._registry import rule
from edi_precheck.rules.context import ClaimContext, DrugLine, Problem


@rule("modifier.waste_missing", snip=7)
def check(drug: DrugLine, ctx: ClaimContext) -> Iterator[Problem]:
    billing = ctx.policy.billing
    line = drug.line
    if not drug.requires_waste_modifier or not drug.candidates:
        return
    if not all(product.single_dose_container for product in drug.candidates):
        return
    if billing.no_waste_modifier in line.modifiers or billing.waste_modifier in line.modifiers:
        return
    if ctx.group(line).has_waste:
        return
    payer_rule = next(rule.id for rule in drug.payer_rules if rule.require_waste_modifier)
    yield Problem(
        f"{drug.code} ({drug.describe_product()}, single-dose container) has neither "
        f"{billing.no_waste_modifier} nor {billing.waste_modifier}; payer rule "
        f"'{payer_rule}' requires one",
        f"add {billing.no_waste_modifier} if nothing was discarded, or bill the discarded "
        f"amount on its own line with {billing.waste_modifier}",
        segment=drug.service_segment,
        segment_index=line.segment_index,
    )
