"""What a rule sees: the claim, its covered drug lines with their product and payer rules,
and the policy, crosswalk and code sets. Rules are pure functions of this context.

What many lines share is worked out once, not per line: which payer rules apply to a code,
product and setting for a payer (`DrugLineBuilder`), and what those rules require together
(`PayerTerms`). A rule whose answer is a pure function of a few facts may keep it in the
checker's `Memo` (`ClaimContext.memo`), which lives as long as the policies it was made for.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Protocol, TypedDict

from edi_precheck.findings import shown
from edi_precheck.history.services import Service, ServiceHistory
from edi_precheck.model import Claim, ServiceLine
from edi_precheck.policy import (
    ICD10CM,
    CodeEntry,
    Crosswalk,
    Dosing,
    PayerRule,
    Policy,
    Product,
    Setting,
    matches_icd10,
    normalize_ndc,
)


@dataclass(frozen=True, slots=True)
class Problem:
    """What a rule yields: the runner adds the rule id, severity, location and denial."""

    message: str
    hint: str = ""
    line: ServiceLine | None = None  # for claim rules that point at one line
    segment: str | None = None
    segment_index: int | None = None
    element: str | None = None
    # What the problem rests on, when the policy marks it UNCONFIRMED ("the MUE of Q5136"):
    # the runner then reports a warning at most.
    unconfirmed: str = ""


class HistoryQuestion(Protocol):
    """What a history rule asks about a line: plain data (it may be asked in another
    process than the one that made it), and `ask`, its problems given what was read or
    sent before (None: nothing to compare with but the claim's own lines)."""

    def ask(self, history: ServiceHistory | None) -> Iterator[Problem]: ...


class Where(TypedDict, total=False):
    """Where a problem lies, for rules that give several problems the same place."""

    line: ServiceLine | None
    segment: str | None
    segment_index: int | None
    element: str | None


@dataclass(frozen=True, slots=True)
class PayerTerms:
    """What a line's payer rules require, together: any rule's requirement holds, and the
    sets are their union."""

    requires_ndc: bool = False
    requires_waste_modifier: bool = False
    requires_prior_authorization: bool = False
    specialist_taxonomies: frozenset[str] = frozenset()
    payer_modifiers: frozenset[str] = frozenset()  # allowed beyond the policy's (340B)
    accepted_ctp_units: frozenset[str] = frozenset()  # CTP05 units besides the product's

    @classmethod
    def of(cls, rules: tuple[PayerRule, ...]) -> PayerTerms:
        if not rules:
            return NO_PAYER_TERMS
        return cls(
            any(rule.require_ndc for rule in rules),
            any(rule.require_waste_modifier for rule in rules),
            any(rule.require_prior_authorization for rule in rules),
            frozenset().union(*(rule.specialist_taxonomies for rule in rules)),
            frozenset().union(*(rule.allow_modifiers for rule in rules)),
            frozenset().union(*(rule.accept_ctp_units for rule in rules)),
        )


NO_PAYER_TERMS = PayerTerms()


class Memo:
    """Answers kept across claims, by key, for one checker (and so one set of policies:
    keys may name policy objects by `id`). Bounded: past `limit` entries it starts over,
    so that a file of endless distinct values cannot grow it. Safe across threads: the
    worst a race does is work an answer out twice."""

    def __init__(self, limit: int = 8192) -> None:
        self._answers: dict[object, object] = {}
        self._limit = limit

    def get(self, key: object, default: object = None) -> object:
        return self._answers.get(key, default)

    def put(self, key: object, answer: object) -> None:
        if len(self._answers) >= self._limit:
            self._answers = {}
        self._answers[key] = answer


@dataclass(slots=True)
class DrugLine:
    """A service line whose code a policy covers, with what the checks need about it."""

    line: ServiceLine
    entry: CodeEntry
    product: Product | None  # decided by the NDC, a code with one product, or the dose
    candidates: tuple[Product, ...]  # what the line may be: the product, or the code's
    payer_rules: tuple[PayerRule, ...]
    ndc11: str | None  # the line's NDC in 11-digit form, when it can be read as one
    decided_by: str = ""  # what decided `product`: "ndc", "code" or "dose"
    setting: Setting | None = None  # where it was given, from the place or type of bill
    recognised_by: str = ""  # why a line of a code shared with another drug is this drug's
    terms: PayerTerms = NO_PAYER_TERMS  # what `payer_rules` require, together
    # Why the line is taken for the policy's drug when only an inference says so (its
    # diagnoses, on another drug's code): its findings are warnings, never errors.
    inferred: str = ""

    @property
    def code(self) -> str:
        return self.line.code

    @property
    def service_segment(self) -> str:
        return self.line.service_segment

    @property
    def requires_ndc(self) -> bool:
        return self.terms.requires_ndc

    @property
    def requires_waste_modifier(self) -> bool:
        return self.terms.requires_waste_modifier

    @property
    def requires_prior_authorization(self) -> bool:
        return self.terms.requires_prior_authorization

    @property
    def specialist_taxonomies(self) -> frozenset[str]:
        return self.terms.specialist_taxonomies

    @property
    def payer_modifiers(self) -> frozenset[str]:
        """Modifiers the line's payer rules allow beyond the policy's (a state's 340B)."""
        return self.terms.payer_modifiers

    @property
    def accepted_ctp_units(self) -> frozenset[str]:
        """CTP05 units the line's payer rules accept besides the product's billing unit."""
        return self.terms.accepted_ctp_units

    @property
    def doses(self) -> list[Decimal]:
        """The doses, in units, of what the line may be, smallest first."""
        return sorted({dose for product in self.candidates for dose in product.dose_units})

    @property
    def unit_note(self) -> str:
        """' (1 unit = 1 mg)' for messages, when the policy says what a unit is."""
        return f" (1 unit = {self.entry.unit})" if self.entry.unit else ""

    def describe_product(self) -> str:
        """'Prolia' when known, else 'Prolia or Xgeva' (what the code can be)."""
        if self.product is not None:
            return self.product.name
        return " or ".join(product.name for product in self.candidates) or self.code


@dataclass(slots=True)
class LineGroup:
    """The claim's lines of one code on one date, summed once: several rules ask this of
    every drug line, and asking it line by line would cost the square of a claim's lines."""

    lines: list[ServiceLine] = field(default_factory=list)  # in claim order
    given: list[ServiceLine] = field(default_factory=list)  # without the waste modifier
    given_units: Decimal = Decimal(0)
    wasted_units: Decimal = Decimal(0)
    has_ndc: bool = False  # a line of the group carries an NDC

    @property
    def total_units(self) -> Decimal:
        return self.given_units + self.wasted_units

    @property
    def has_waste(self) -> bool:
        """A line of the group bills a discarded amount (the waste modifier)."""
        return len(self.given) < len(self.lines)


LineGroups = dict[tuple[str, str], LineGroup]


def group_key(line: ServiceLine, claim: Claim) -> tuple[str, str]:
    """The lines billed together: the same code (as the policy spells it: upper case) on
    the same date of service."""
    return line.code.upper(), claim.line_date(line)


def line_groups(claim: Claim, waste_modifier: str) -> LineGroups:
    """The claim's lines grouped by code and date of service, in one pass."""
    groups: LineGroups = {}
    for line in claim.lines:
        group = groups.get(key := group_key(line, claim))
        if group is None:
            group = groups[key] = LineGroup()
        group.lines.append(line)
        units = line.units_value or Decimal(0)
        if waste_modifier in line.modifiers:
            group.wasted_units += units
        else:
            group.given.append(line)
            group.given_units += units
        group.has_ndc = group.has_ndc or bool(line.ndc)
    return groups


@dataclass(slots=True)
class ClaimContext:
    claim: Claim
    policy: Policy
    crosswalk: Crosswalk
    icd10: Callable[[], ICD10CM | None]  # loads the code set on first call
    today: date
    drug_lines: list[DrugLine] = field(default_factory=list)
    groups: LineGroups = field(default_factory=dict)  # line_groups(claim, the waste modifier)
    memo: Memo = field(default_factory=Memo)  # the checker's: answers kept across claims
    # Whether the history a history rule's question will be asked of may know a patient:
    # None when that history is not known yet (the question is asked elsewhere, later).
    knows: Callable[[str], bool] | None = None
    _knows_patient: bool | None = None
    _services: list[Service] | None = None
    _dose_days: list[tuple[date, Service]] | None = None

    def services(self) -> list[Service]:
        """What the history keeps of this claim's drug lines: those with a patient, a
        date and units (made once a context)."""
        if self._services is not None:
            return self._services
        patient = self.claim.patient
        services: list[Service] = []
        waste_modifier = self.policy.billing.waste_modifier
        for drug in self.drug_lines if patient else ():
            day = parse_date(self.line_date(drug.line))
            units = drug.line.units_value
            if day is None or units is None:
                continue
            services.append(
                Service(
                    patient=patient,
                    payer=self.claim.payer.payer_id,
                    family=self.policy.id,
                    product=drug.product.name if drug.product else "",
                    code=drug.entry.code,
                    day=day,
                    units=decimal_text(units),
                    waste=waste_modifier in drug.line.modifiers,
                    loading=self.dosing(drug)[1],
                )
            )
        self._services = services
        return services

    def dosing(self, drug: DrugLine) -> tuple[Dosing | None, bool]:
        """The dosing interval `drug` is held to (the shortest of the products it may be;
        None when none has one), and whether it is a loading dose: its diagnosis is an
        indication the product gives loading doses for."""
        diagnoses = tuple(d.code.upper() for d in self.claim.line_diagnoses(drug.line))
        key = ("dosing", diagnoses, *map(id, drug.candidates))
        found = self.memo.get(key)
        if found is None:
            found = _shortest_dosing(drug, diagnoses)
            self.memo.put(key, found)
        return found  # type: ignore[return-value]

    def history_may_know(self) -> bool:
        """False when the history a question goes to cannot know the claim's patient: a
        question only it could answer need not be made (asked once a context)."""
        if self._knows_patient is None:
            self._knows_patient = self.knows is None or self.knows(self.claim.patient)
        return self._knows_patient

    def dose_before(self, day: date) -> Service | None:
        """This claim's latest dose (not a wasted amount) on a date before `day`."""
        if self._dose_days is None:
            doses = {s.day: s for s in reversed(self.services()) if not s.waste}
            self._dose_days = sorted(doses.items())
        position = bisect.bisect_left(self._dose_days, (day,))
        return self._dose_days[position - 1][1] if position else None

    def line_date(self, line: ServiceLine) -> str:
        """The date a line was given: its DTP*472, else the claim's."""
        return self.claim.line_date(line)

    def date_text(self, line: ServiceLine) -> str:
        """The line's date as a message shows it."""
        return shown(self.line_date(line)) or "the claim date"

    def own_codes(self, products: tuple[Product, ...], day: date | None) -> list[CodeEntry]:
        """The policy's specific codes for `products` in effect on `day` (any day when it
        is unknown), in policy order."""
        entries = {entry.code: entry for p in products for entry in self.policy.specific_codes(p)}
        return [e for e in entries.values() if day is None or e.in_effect(day)]

    def codes_to_bill(self, products: tuple[Product, ...], day: date | None) -> tuple[str, bool]:
        """What to bill `products` under on `day` ('J0897 or Q5136'), and whether those are
        the policy's unclassified codes (for products with no code of their own); "" when
        the policy has neither."""
        own = [entry.code for entry in self.own_codes(products, day)]
        if own:
            return " or ".join(own), False
        unclassified = [entry.code for entry in self.policy.codes.values() if entry.unclassified]
        return " or ".join(unclassified), bool(unclassified)

    def group(self, line: ServiceLine) -> LineGroup:
        """The claim's lines billing `line`'s code on its date, `line` included (grouped
        on first use when the context was made without them)."""
        if not self.groups:
            self.groups = line_groups(self.claim, self.policy.billing.waste_modifier)
        return self.groups[group_key(line, self.claim)]


class DrugLineBuilder:
    """Makes the DrugLines of one policy's covered codes, with the crosswalk at hand.

    Which payer rules apply depends only on the payer (filing indicator and id), the code,
    the product and the setting: few combinations in a file, each worked out once.
    """

    def __init__(self, policy: Policy, crosswalk: Crosswalk) -> None:
        self.policy = policy
        self.crosswalk = crosswalk
        self._products: dict[str, tuple[Product, ...]] = {}  # by code: a policy's few codes
        self._payer_rules = Memo(4096)  # (rules, terms) by payer, code, product, setting
        # The payer rules limited to some dates of service: which of them a line's date
        # falls within is part of the key (most policies have few or none).
        self._dated = tuple(rule for rule in policy.payer_rules if rule.dated)

    def build(self, line: ServiceLine, claim: Claim, groups: LineGroups) -> DrugLine | None:
        """The DrugLine of `line` under the policy, or None if the policy does not cover it.

        The product is the one whose NDCs the policy lists; else the one the crosswalk
        names for the NDC (a biosimilar whose NDCs the policy does not list); else the
        code's only product; else, on a line with no NDC, the only one of the code's
        products given at the dose billed (an NDC nobody knows is not guessed at).

        A code the policy shares with other drugs covers only some lines (`recognise` in
        the policy): an unclassified code those whose NDC is one of the policy's products;
        another drug's code those whose NDC, dose or diagnoses say they are this drug.
        """
        policy, crosswalk = self.policy, self.crosswalk
        entry = policy.codes.get(line.code.upper())
        if entry is None:
            return None
        ndc11 = normalize_ndc(line.ndc) if line.ndc else None
        candidates = self._products.get(entry.code)
        if candidates is None:
            candidates = self._products[entry.code] = policy.products_for_code(entry.code)
        shared = entry.recognise != "all"
        product = _product_of_ndc(
            ndc11, policy, crosswalk, tuple(policy.products.values()) if shared else candidates
        )
        recognised_by = inferred = ""
        if product is not None and shared:
            recognised_by = f"its NDC {ndc11} is {product.name}"
        elif entry.recognise == "ndc":
            return None
        elif entry.recognise == "evidence":
            if ndc11 and crosswalk.entries(ndc11):
                return None  # the crosswalk knows the NDC as another drug's
            recognised_by, by_diagnoses = _evidence(line, claim, candidates)
            if not recognised_by:
                return None
            if by_diagnoses:
                inferred = recognised_by
        decided_by = "ndc" if product is not None else ""
        if product is None and len(candidates) == 1:
            product, decided_by = candidates[0], "code"
        elif product is None and not line.ndc:
            # The dose may name the product: J0897 at 120 units is Xgeva, not Prolia.
            dose = _dose_billed(groups[group_key(line, claim)])
            at_dose = tuple(p for p in candidates if dose in p.dose_units)
            if len(at_dose) == 1:
                product, decided_by = at_dose[0], "dose"
            candidates = at_dose or candidates
        candidates = (product,) if product is not None else candidates
        setting = policy.setting_for(claim.kind, place_of(line, claim))
        day = parse_date(claim.line_date(line)) if self._dated else None
        payer_rules, terms = self._rules_for(claim, entry.code, product, setting, day)
        return DrugLine(
            line,
            entry,
            product,
            candidates,
            payer_rules,
            ndc11,
            decided_by,
            setting,
            recognised_by,
            terms,
            inferred,
        )

    def _rules_for(
        self,
        claim: Claim,
        code: str,
        product: Product | None,
        setting: Setting | None,
        day: date | None,
    ) -> tuple[tuple[PayerRule, ...], PayerTerms]:
        """The payer rules that match the claim's payer and the line (given on `day`), and
        what they ask."""
        payer = claim.payer
        window = tuple(rule.applies_on(day) for rule in self._dated)
        key = (
            payer.filing_indicator,
            payer.payer_id,
            code,
            product.name if product is not None else None,
            setting.id if setting is not None else None,
            window,
        )
        found = self._payer_rules.get(key)
        if found is None:
            rules = tuple(
                rule
                for rule in self.policy.payer_rules
                if rule.matches_payer(payer.filing_indicator, payer.payer_id)
                and rule.matches_line(code, product, setting)
                and rule.applies_on(day)
            )
            found = (rules, PayerTerms.of(rules))
            self._payer_rules.put(key, found)
        return found  # type: ignore[return-value]


def place_of(line: ServiceLine, claim: Claim) -> str:
    """Where a line was given, as the policy's settings list it: an 837P's place of
    service (the line's SV105, else CLM05-1); an 837I's type of bill prefix (013)."""
    if claim.kind == "837P":
        return line.place_of_service or claim.facility_code
    return claim.type_of_bill[:3]


def _product_of_ndc(
    ndc11: str | None, policy: Policy, crosswalk: Crosswalk, named_among: tuple[Product, ...]
) -> Product | None:
    """The product an NDC names: one the policy lists it for, else the one of `named_among`
    the crosswalk names for it."""
    if not ndc11:
        return None
    product = policy.product_by_ndc.get(ndc11)
    if product is None:
        names = {row.drug_name.lower() for row in crosswalk.entries(ndc11)}
        named = [p for p in named_among if p.name.lower() in names]
        product = named[0] if len(named) == 1 else None
    return product


def _evidence(line: ServiceLine, claim: Claim, products: tuple[Product, ...]) -> tuple[str, bool]:
    """Why a line billed under another drug's code is one of `products` ("" when nothing
    says so), and whether only its diagnoses do: its units are one of their doses, or it
    carries no NDC (an NDC that is none of theirs says it is the code's own drug) and every
    diagnosis it carries is one of their indications."""
    units = line.units_value
    doses = {dose for product in products for dose in product.dose_units}
    if units is not None and units in doses:
        names = " or ".join(p.name for p in products if units in p.dose_units)
        return f"{decimal_text(units)} units is a dose of {names}", False
    if line.ndc.strip():
        return "", False
    codes = [d.code.upper() for d in claim.line_diagnoses(line)]
    patterns = tuple(
        pattern
        for product in products
        for indication in product.indications
        for pattern in indication.diagnoses
    )
    if codes and all(matches_icd10(code, patterns) for code in codes):
        names = " or ".join(product.name for product in products)
        listed = ", ".join(shown(code) for code in codes)
        return f"its diagnoses ({listed}) are all indications of {names}", True
    return "", False


@lru_cache(maxsize=4096)  # a file's lines share few dates
def parse_date(text: str) -> date | None:
    """A CCYYMMDD date, or None when `text` is not one."""
    if len(text) != 8 or not text.isdigit():
        return None
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        return None


def _dose_billed(group: LineGroup) -> Decimal | None:
    """The dose billed by the lines of a code on a date, given and wasted, when they are one
    administration of one unknown product (one line given, any wasted, none with an NDC);
    else None. Two given lines are a duplicate, not a bigger dose."""
    if len(group.given) != 1 or group.has_ndc:
        return None
    return group.total_units


@lru_cache(maxsize=4096)  # units and amounts repeat across lines
def decimal_text(value: Decimal) -> str:
    """A decimal as people write it: 60, 1.7 (no exponent, no trailing zeros)."""
    return format(value.normalize(), "f")


def _shortest_dosing(drug: DrugLine, diagnoses: tuple[str, ...]) -> tuple[Dosing | None, bool]:
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
