"""A drug line already sent: the same patient, payer, code, date of service and units.

## What it checks
That no service with the same patient, payer (2010BB), code, date of service, units and
JW/not-JW was sent before: in a claim read earlier in the same run (files of one `check`
or `split`), or, with `--history`, on record in the history store (what `split --history`
sent as clean, and what `history record` was given). A replacement or void (CLM05-3 7 or 8
with REF*F8, the payer's number of the claim it corrects) is sent again on purpose and is
not a duplicate. The patient is known only by a keyed hash of member id and birth date; a
claim without a member id is not compared.

## Why it matters
Payers deny an exact duplicate claim or service (CARC 18); a batch sent twice, or a claim
resent instead of corrected, costs a denial per line and a round of appeals.

## Example
Yesterday's batch sent again: `J0897` 60 units on 2026-03-10 for the same patient and payer,
already on record.

## Use instead
Do not send it again. To correct a claim the payer has, send a replacement (CLM05-3 `7`
with `REF*F8*` the payer's claim number). If the earlier one was rejected and never reached
the payer, remove it from the history: `edi-precheck history forget FILE`.

## Policy keys
`rules.claim.duplicate`.

## References
CARC 18 (exact duplicate claim/service); SNIP type 7.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

from edi_precheck.findings import escaped
from edi_precheck.history.services import ServiceHistory, ServiceKey
from edi_precheck.rules._registry import rule
from edi_precheck.rules.context import ClaimContext, DrugLine, Problem, decimal_text, parse_date


class SameService(NamedTuple):
    """Whether the history holds a line's service already (asked once the claims before
    it are in the history)."""

    key: ServiceKey  # (patient, payer, code, date, units, waste)
    code: str  # as billed
    segment: str
    segment_index: int | None

    def ask(self, history: ServiceHistory | None) -> Iterator[Problem]:
        if history is None or not history.may_know(self.key[0]):
            return
        service = history.same_service(self.key)
        if service is not None:
            _, _, _, day, units, _ = self.key
            yield Problem(
                f"{self.code} for {units} units on {day} was already sent for this patient "
                f"to this payer ({escaped(service.origin)})",
                "do not send it again: correct a claim the payer has with a replacement "
                "(CLM05-3 7 and REF*F8); if the earlier one was rejected, run "
                "`edi-precheck history forget` on its file",
                segment=self.segment,
                segment_index=self.segment_index,
            )


@rule("claim.duplicate", snip=7, history=True)
def check(drug: DrugLine, ctx: ClaimContext) -> SameService | None:
    claim, line = ctx.claim, drug.line
    if not claim.patient or claim.replaces_another or not ctx.history_may_know():
        return None
    day, units = parse_date(ctx.line_date(line)), line.units_value
    if day is None or units is None:
        return None
    key = (
        claim.patient,
        claim.payer.payer_id,
        drug.entry.code,
        day.isoformat(),
        decimal_text(units),
        ctx.policy.billing.waste_modifier in line.modifiers,
    )
    return SameService(key, drug.code, drug.service_segment, line.segment_index)
