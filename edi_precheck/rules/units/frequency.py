"""A dose given sooner after another dose of the same drug family than the product allows.

## What it checks
For each dose line (not the JW wasted amount), that no other dose of the same drug family
for the same patient lies closer to its date than the product's dosing interval (a dose
billed to the same payer on the same day in another claim is a second dose; a claim's own
lines are added up by `units.dose`): Prolia and
its biosimilars once every 6 months, Xgeva and its biosimilars once every 4 weeks (7 days
apart during the loading doses of days 8 and 15 of a course, when the line's diagnosis is
giant cell tumor of bone or hypercalcemia of malignancy; the next dose on day 29, then
every 4 weeks; a course starts at a dose with none in the 6 weeks before it). Between
two doses the interval is the one the later dose's own diagnosis allows, whichever is read
first; a dose read after later doses of its course checks those too. The other
doses are the claim's other lines, the claims read before it in the same run (files of one
`check` or `split`), and, with
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
from datetime import date, timedelta
from typing import NamedTuple

from edi_precheck.findings import Severity, escaped
from edi_precheck.history.services import Service, ServiceHistory, ServiceKey
from edi_precheck.policy import Dosing
from edi_precheck.rules._registry import rule
from edi_precheck.rules.context import ClaimContext, DrugLine, Problem, Where, parse_date


class DoseInterval(NamedTuple):
    """Whether a dose comes too soon after, or too shortly before, another dose of its
    family: this claim's own earlier dose, or one the history holds."""

    patient: str
    family: str  # the policy's id
    day: date
    own_earlier: Service | None  # this claim's latest dose before `day`
    dosing: Dosing
    loading: bool
    code: str
    product: str  # 'Prolia', or 'Prolia or Xgeva'
    segment: str
    segment_index: int | None
    # This claim's dose days before `day`, while a loading course is traced back (its
    # other lines are not in the history yet): only for a product with loading doses.
    own_days: tuple[date, ...] = ()
    payer: str = ""
    # This claim's own services: one on record is this claim sent before (claim.duplicate
    # says so), not a second dose.
    own_keys: frozenset[ServiceKey] = frozenset()
    corrects: bool = False  # a replacement: the dose on record that day is what it corrects

    def ask(self, history: ServiceHistory | None) -> Iterator[Problem]:
        if (twice := self._same_day(history)) is not None:
            yield Problem(
                f"{self.code} on {self.day.isoformat()} is a second dose of {self.family} "
                f"that day for this patient: {twice.code} for {twice.units} units was billed "
                f"to the same payer in another claim ({escaped(twice.origin)}); "
                f"{self.product} is given {self.dosing.describe(self.loading)}, so the payer "
                "denies one of them",
                "if the two claims bill one dose, bill it on one claim and correct the other "
                "(CLM05-3 7 or 8 with REF*F8); else check the date of service",
                segment=self.segment,
                segment_index=self.segment_index,
            )
            return
        earlier, later = (
            history.nearest_doses(self.patient, self.family, self.day)
            if history is not None and history.may_know(self.patient)
            else (None, None)
        )
        own = self.own_earlier
        if own is not None and (earlier is None or own.day > earlier.day):
            earlier = dataclasses.replace(own, origin="a line of this claim")
        day, dosing = self.day, self.dosing
        where: Where = {"segment": self.segment, "segment_index": self.segment_index}
        if earlier is not None:
            due, loading = self._due_after(earlier.day, history, self.loading)
            if day < due:
                yield Problem(
                    f"{self.code} on {day.isoformat()} comes {_days((day - earlier.day).days)} "
                    f"after a dose of {self.family} on {earlier.day.isoformat()} for this "
                    f"patient ({escaped(earlier.origin)}); {self.product} is given "
                    f"{dosing.describe(loading)}, so not before {due.isoformat()}",
                    "check the date of service; a dose given early needs the payer's approval "
                    "before the claim is sent",
                    **where,
                )
                return
        if later is not None:  # held to the interval the later dose allows before it
            due, loading = self._due_after(day, history, later.loading)
            if later.day < due:
                yield Problem(
                    f"{self.code} on {day.isoformat()} comes {_days((later.day - day).days)} "
                    f"before a dose of {self.family} on {later.day.isoformat()} for this "
                    f"patient ({escaped(later.origin)}); {self.product} is given "
                    f"{dosing.describe(loading)}",
                    "check the date of service of both doses",
                    **where,
                )
            if dosing.loading_days and history is not None:
                yield from self._later_in_course(later, history, where)

    def _same_day(self, history: ServiceHistory | None) -> Service | None:
        """A dose of the family given the same day, billed to the same payer in another
        claim (a claim's own lines are added up by units.dose), if any is known."""
        if history is None or self.corrects or not history.may_know(self.patient):
            return None
        found = history.nearest_doses(self.patient, self.family, self.day + timedelta(days=1))[0]
        if (
            found is None
            or found.day != self.day
            or found.payer != self.payer
            or found.key in self.own_keys
        ):
            return None
        return found

    def _later_in_course(
        self, first: Service, history: ServiceHistory, where: Where
    ) -> Iterator[Problem]:
        """The doses after `first` (this dose's next), each against the one before it, now
        that this dose is known: a loading course is traced back from a dose through the
        doses known then, so doses sent in reverse date order were judged without this
        one. A pair already early without this dose was reported when it became so."""
        dosing = self.dosing
        known = self._replace(own_days=(*self.own_days, self.day))
        previous = first
        for _ in range(dosing.loading_within // dosing.loading_days + 1):
            following = history.nearest_doses(self.patient, self.family, previous.day)[1]
            if following is None:
                return
            due, loading = known._due_after(previous.day, history, following.loading)
            if following.day < due and not (
                following.day < self._due_after(previous.day, history, following.loading)[0]
            ):
                yield Problem(
                    f"{self.code}: the dose on {following.day.isoformat()} comes "
                    f"{_days((following.day - previous.day).days)} after the dose on "
                    f"{previous.day.isoformat()} ({escaped(following.origin)}), in the course "
                    f"this dose on {self.day.isoformat()} belongs to; {self.product} is given "
                    f"{dosing.describe(loading)}, so not before {due.isoformat()}",
                    "check the dates of service of the course's doses",
                    **where,
                )
                return
            previous = following

    def _due_after(
        self, given: date, history: ServiceHistory | None, loading: bool
    ) -> tuple[date, bool]:
        """The first day a dose after one given on `given` is due, and whether that is a
        loading dose's interval. `loading` says whether that next dose is a loading dose,
        by its own line's diagnosis, whichever of the two doses is read first: so the
        finding does not depend on file order. Loading doses follow the first dose of
        their course within `loading_within` days; the dose after them is due the
        product's interval after that first dose, and later ones after the last. A course
        starts at a dose with no other within the product's interval (and the loading
        days) before it; the doses before `given` are this claim's and `history`'s."""
        dosing = self.dosing
        if not (loading and dosing.loading_days and dosing.loading_within):
            return dosing.next_dose(given, loading), loading
        start, previous = given, self._dose_before(given, history)
        window = timedelta(days=dosing.loading_within)
        for _ in range(dosing.loading_within // dosing.loading_days + 1):
            if previous is None or dosing.next_dose(previous) + window < start:
                break  # `start` opens its course: no dose in the interval before it
            start = previous
            previous = self._dose_before(start, history)
        else:  # more doses in the course than its loading doses: past them
            return dosing.next_dose(given), False
        offset = (given - start).days
        if offset < dosing.loading_within:  # another loading dose may follow
            return dosing.next_dose(given, True), True
        if offset < dosing.loading_within + dosing.loading_days:  # the last loading dose
            return max(dosing.next_dose(start), dosing.next_dose(given, True)), False
        return dosing.next_dose(given), False

    def _dose_before(self, day: date, history: ServiceHistory | None) -> date | None:
        """The day of the patient's last dose before `day`: on record, read before, or
        on a line of this claim."""
        found = [own for own in self.own_days if own < day]
        if history is not None:
            earlier = history.nearest_doses(self.patient, self.family, day)[0]
            if earlier is not None:
                found.append(earlier.day)
        return max(found, default=None)


@rule("units.frequency", snip=6, severity=Severity.WARNING, history=True)
def check(drug: DrugLine, ctx: ClaimContext) -> DoseInterval | None:
    line, patient = drug.line, ctx.claim.patient
    day = parse_date(ctx.line_date(line))
    if day is None or not patient or ctx.policy.billing.waste_modifier in line.modifiers:
        return None
    own_earlier = ctx.dose_before(day)
    if own_earlier is None and not ctx.history_may_know():
        return None
    dosing, loading = ctx.dosing(drug)
    if dosing is None:
        return None
    own_days = (
        tuple(s.day for s in ctx.services() if not s.waste and s.day < day)
        if dosing.loading_days
        else ()
    )
    return DoseInterval(
        patient,
        ctx.policy.id,
        day,
        own_earlier,
        dosing,
        loading,
        drug.code,
        drug.describe_product(),
        drug.service_segment,
        line.segment_index,
        own_days,
        ctx.claim.payer.payer_id,
        frozenset(s.key for s in ctx.services()),
        ctx.claim.replaces_another,
    )


def _days(count: int) -> str:
    return f"{count} day" if count == 1 else f"{count} days"
