"""A modifier the policy does not allow on this code.

## What it checks
Each well-formed modifier on a covered line is in the policy's list of allowed modifiers,
or one a payer rule of the claim allows besides (a state Medicaid's 340B modifier, UD).

## Why it matters
A modifier that makes no sense for a drug line (an anatomical modifier, a retired
biosimilar ZB) gets the line denied as inconsistent with the code (CARC 4).

## Example
`SV1*HC:J0897:RT*1650*UN*60***1~`

## Use instead
`SV1*HC:J0897:JZ*1650*UN*60***1~`, or add the modifier to a policy of your own.

## Policy keys
`billing.allowed_modifiers`, `payer_rules.*.allow_modifiers`.

## References
CMS JW/JZ guidance; SNIP type 6.
"""

from __future__ import annotations

from collections.abc import Iterator

from edi_precheck.findings import Severity
from edi_precheck.rules._registry import rule
from edi_precheck.rules.context import ClaimContext, DrugLine, Problem
from edi_precheck.rules.modifier.invalid import MODIFIER


@rule("modifier.not_allowed", snip=6, severity=Severity.WARNING)
def check(drug: DrugLine, ctx: ClaimContext) -> Iterator[Problem]:
    allowed = ctx.policy.billing.allowed_modifiers | drug.payer_modifiers
    for modifier in drug.line.modifiers:
        if MODIFIER.fullmatch(modifier) and modifier not in allowed:
            yield Problem(
                f"modifier {modifier} is not allowed on {drug.code} by policy '{ctx.policy.id}'",
                f"remove {modifier}, or allow it in a policy of your own "
                "(billing.allowed_modifiers)",
                segment=drug.service_segment,
                segment_index=drug.line.segment_index,
            )
