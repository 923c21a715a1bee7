"""A replacement or void that names no claim it corrects (no REF*F8).

## What it checks
That a claim whose frequency code (CLM05-3) is 7 (replacement) or 8 (void) carries the
payer's claim control number of the claim it corrects, in the 2300 `REF*F8`.

## Why it matters
The payer matches a replacement or void to the claim it corrects by that number alone;
without it the claim is rejected, and the wrongly paid or wrongly billed original stays as
it was. A void without it is also no void to edi-precheck: its lines are checked, and
recorded, as a claim of their own.

## Example
`CLM*A1*1695***11:B:7*Y*A*Y*Y~` with no `REF*F8` before the `HI`.

## Use instead
`REF*F8*<the payer's claim control number (ICN, DCN) of the claim it corrects>~`, from the
remittance (835 CLP07) of that claim.

## Policy keys
`rules.claim.original_missing` (severity).

## References
837P/837I 2300 REF*F8 (Payer Claim Control Number): required when CLM05-3 indicates a
replacement or void of a claim already adjudicated; SNIP type 4 (situational requirement).
"""

from __future__ import annotations

from collections.abc import Iterator

from edi_precheck.rules._registry import rule
from edi_precheck.rules.context import ClaimContext, Problem

_CORRECTIONS = {"7": "a replacement", "8": "a void"}


@rule("claim.original_missing", snip=4, scope="claim")
def check(ctx: ClaimContext) -> Iterator[Problem]:
    claim = ctx.claim
    kind = _CORRECTIONS.get(claim.frequency_code)
    if kind is None or claim.original_reference.strip():
        return
    yield Problem(
        f"CLM05-3 {claim.frequency_code} makes this claim {kind}, but it names no claim it "
        "corrects: REF*F8 (the payer's claim control number) is missing",
        "add REF*F8 with the payer's claim control number of the claim it corrects (835 "
        "CLP07); or send it as a new claim (CLM05-3 1)",
        segment="CLM",
        segment_index=claim.segment_index,
        element="CLM05-3",
    )
