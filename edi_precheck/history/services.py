"""What the history knows of a service line once sent: who (as a keyed hash), what, when.

One `Service` per drug line of a claim. Its key (patient, payer, code, date, units, waste)
is what makes a line the same service as another: recording one twice changes nothing, and
a line whose key is on record is a duplicate (CARC 18). Nothing else of the claim is kept:
no name, member id, birth date or claim number, not even as a hash.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Protocol

ServiceKey = tuple[str, str, str, str, str, bool]


@dataclass(frozen=True, slots=True)
class Service:
    patient: str  # keyed hash (model.patient)
    payer: str  # 2010BB payer id
    family: str  # the policy's drug family (denosumab)
    product: str  # the product the line was decided to be; "" when unknown
    code: str  # HCPCS, upper case
    day: date  # date of service
    units: str  # billed units, as decimal text (60, 1.5)
    waste: bool  # the discarded amount (JW), not a dose given
    origin: str = ""  # where it was seen: "recorded 2026-11-02", "claim 3 of batch.837"
    # Given as a loading dose (its diagnosis is an indication with loading doses, as Xgeva's
    # days 8 and 15): what the interval before it is, asked from a dose read after it.
    loading: bool = False

    def __reduce__(self) -> tuple[type[Service], tuple[object, ...]]:
        # Pickled as its fields (a run checked in several processes sends thousands):
        # several times faster than a slotted dataclass's default.
        return Service, (
            self.patient,
            self.payer,
            self.family,
            self.product,
            self.code,
            self.day,
            self.units,
            self.waste,
            self.origin,
            self.loading,
        )

    @property
    def key(self) -> ServiceKey:
        return (self.patient, self.payer, self.code, self.day.isoformat(), self.units, self.waste)


class ServiceHistory(Protocol):
    """What the checks ask of what was sent or read before: two indexed questions, so that
    a patient with thousands of claims costs no more than one with a few."""

    def may_know(self, patient: str) -> bool:
        """False when nothing is known of `patient` (most patients of a batch): the checks
        then ask nothing more."""

    def same_service(self, key: ServiceKey) -> Service | None:
        """A service with this key, if one is known."""

    def nearest_doses(
        self, patient: str, family: str, day: date
    ) -> tuple[Service | None, Service | None]:
        """The patient's last dose of the family before `day` and first after it (wasted
        amounts are not doses)."""


def nearer(
    first: tuple[Service | None, Service | None], second: tuple[Service | None, Service | None]
) -> tuple[Service | None, Service | None]:
    """The nearest earlier and later doses of two answers to `nearest_doses`."""
    a, b = first[0], second[0]
    earlier = a if b is None or (a is not None and a.day >= b.day) else b
    a, b = first[1], second[1]
    later = a if b is None or (a is not None and a.day <= b.day) else b
    return earlier, later
