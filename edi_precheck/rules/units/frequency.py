"""A dose given sooner after another dose of the same drug family than the product allows.

## What it checks
For each dose line (not the JW wasted amount), that no other dose of the same drug family
for the same patient lies closer to its date than the product's dosing interval: Prolia and
its biosimilars once every 6 months, Xgeva and its biosimilars once every 4 weeks (7 days
apart during the loading doses of days 8 and 15, when the line's diagnosis is giant cell
tumor of bone or hypercalcemia of malignancy). The other doses are the claim's other lines,
the claims read before it in the same run (files of one `check` or `split`), and, with
`--history`, the services on record. The patient is known only by a keyed hash of member
id and birth date; a claim without a member id is not compared.

## Why it matters
Payers pay a dose once per interval ("60 billable units every 6 months"); an early dose is
denied as a frequency limit, or a date keyed wrongly makes it look early.

## Example
Prolia (`J0897`, 60 units) on 2026-05-04 for a patient whose last Prolia dose on record is
2026-01-10.

## Use instead
Check the date of service; if the dose was given early on purpose, get the payer's approval
before sending the claim. A previous dose billed under the wrong patient or date is
corrected with a replacement claim (CLM05-3 7 with REF*F8).

## Policy keys
`products.*.dosing_interval_months`, `products.*.dosing_interval_days`,
`products.*.loading_doses`, `rules.units.frequency` (a warning by default: whether a payer
enforces the interval is plan-specific; a payer overlay makes it an error).

## References
Prolia and Xgeva labels; Prime Therapeutics/BCBS PH-0098; SNIP type 6.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import date

from edi_precheck.findings import Severity, escaped
from edi_precheck.history.services import Service
from edi_precheck.policy import Dosing, matches_icd10
from edi_precheck.rules._registry import rule
from edi_precheck.rules.context import ClaimContext, DrugLine, Problem, Where, parse_date


@rule("units.frequency", snip=6, severity=Severity.WARNING)
def check(drug: DrugLine, ctx: ClaimContext) -> Iterator[Problem]:
    line = drug.line
    day = parse_date(ctx.line_date(line))
    if day is None or not ctx.claim.patient or ctx.policy.billing.waste_modifier in line.modifiers:
        return
    earlier, later = _neighbours(day, drug, ctx)
    if earlier is None and later is None:
        return
    dosing, loading = _dosing(drug, ctx)
    if dosing is None:
        return
    where: Where = {
        "line": line,
        "segment": drug.service_segment,
        "segment_index": line.segment_index,
    }
    what = drug.describe_product()
    if earlier is not None and day < (due := dosing.next_dose(earlier.day, loading)):
        yield Problem(
            f"{drug.code} on {day.isoformat()} comes {_days((day - earlier.day).days)} after a "
            f"dose of {ctx.policy.id} on {earlier.day.isoformat()} for this patient "
            f"({escaped(earlier.origin)}); {what} is given {dosing.describe(loading)}, so not "
            f"before {due.isoformat()}",
            "check the date of service; a dose given early needs the payer's approval "
            "before the claim is sent",
            **where,
        )
    elif later is not None and later.day < (due := dosing.next_dose(day, loading)):
        yield Problem(
            f"{drug.code} on {day.isoformat()} comes {_days((later.day - day).days)} before a "
            f"dose of {ctx.policy.id} on {later.day.isoformat()} for this patient "
            f"({escaped(later.origin)}); {what} is given {dosing.describe(loading)}",
            "check the date of service of both doses",
            **where,
        )


def _dosing(drug: DrugLine, ctx: ClaimContext) -> tuple[Dosing | None, bool]:
    """The interval the line is held to (the shortest of what it may be), and whether it
    is a loading dose (a diagnosis of an indication with loading doses)."""
    diagnoses = [d.code.upper() for d in ctx.claim.line_diagnoses(drug.line)]
    best: tuple[Dosing | None, bool, date] = (None, False, date.max)
    probe = date(2001, 1, 1)  # any day: intervals are compared by the next dose they allow
    for product in drug.candidates:
        dosing = product.dosing
        if not (dosing.days or dosing.months):
            continue
        loading = bool(dosing.loading_indications) and any(
            indication.key in dosing.loading_indications
            and matches_icd10(code, indication.diagnoses)
            for indication in product.indications
            for code in diagnoses
        )
        due = dosing.next_dose(probe, loading)
        if due < best[2]:
            best = (dosing, loading, due)
    return best[0], best[1]


def _neighbours(
    day: date, drug: DrugLine, ctx: ClaimContext
) -> tuple[Service | None, Service | None]:
    """The nearest other dose of the family before `day` and after it: sent or read before
    this claim, or on an earlier line of this claim."""
    history = ctx.history_of_patient()
    earlier, later = (
        history.nearest_doses(ctx.claim.patient, ctx.policy.id, day)
        if history is not None
        else (None, None)
    )
    own = ctx.dose_before(day)
    if own is not None and (earlier is None or own.day > earlier.day):
        earlier = dataclasses.replace(own, origin="a line of this claim")
    return earlier, later


def _days(count: int) -> str:
    return f"{count} day" if count == 1 else f"{count} days"
