"""Typed, read-only views of a validated, merged policy, built once per run.

The JSON policy is the source of every fact; these classes only give the checks names to
reach them by and do the parsing (decimals, dates, sets) once instead of per line. Facts no
check reads (a product's ingredient, its form, sources) stay in the JSON for the people who
maintain it.
"""

from __future__ import annotations

from calendar import monthrange
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from edi_precheck.findings import Severity

if TYPE_CHECKING:
    from edi_precheck.policy.layers import Resolved

SEVERITIES: dict[str, Severity | None] = {
    "error": Severity.ERROR,
    "warning": Severity.WARNING,
    "off": None,
}


def _decimals(values: list[Any]) -> tuple[Decimal, ...]:
    return tuple(Decimal(str(value)) for value in values)


def _month_day(text: str | None) -> tuple[int, int] | None:
    """'10-01' as (10, 1); None for None."""
    return (int(text[:2]), int(text[3:])) if text else None


def _date(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def matches_icd10(code: str, patterns: tuple[str, ...]) -> bool:
    """True when `code` equals a pattern, or starts with a pattern ending in '*'."""
    for pattern in patterns:
        if pattern.endswith("*"):
            if code.startswith(pattern[:-1]):
                return True
        elif code == pattern:
            return True
    return False


@dataclass(frozen=True, slots=True)
class Indication:
    label: str
    diagnoses: tuple[str, ...]
    with_any: tuple[str, ...] = ()
    basis: str = "label"  # label, or compendia (paid by some payers beyond the label)
    group: str = ""  # the policy's name of its group of indications
    confirmed: bool = True  # whether a source confirms the group's diagnosis codes
    key: str = ""  # its name within the group (giant_cell_tumor)


@dataclass(frozen=True, slots=True)
class Dosing:
    """How often a product is given: the least interval from one dose to the next."""

    days: int = 0
    months: int = 0  # counts over days when set: 'every 6 months'
    loading_indications: frozenset[str] = frozenset()  # indication keys with loading doses
    loading_days: int = 0  # the least interval while loading
    loading_within: int = 0  # loading doses fall this many days after a course's first dose

    def next_dose(self, given: date, loading: bool = False) -> date:
        """The first day the next dose is due after one given on `given`."""
        if loading and self.loading_days:
            return given + timedelta(days=self.loading_days)
        if self.months:
            month = given.month - 1 + self.months
            year, month = given.year + month // 12, month % 12 + 1
            return date(year, month, min(given.day, monthrange(year, month)[1]))
        return given + timedelta(days=self.days)

    def describe(self, loading: bool = False) -> str:
        """'once every 6 months', 'at most every 7 days while loading'."""
        if loading and self.loading_days:
            return f"at least {self.loading_days} days apart during its loading doses"
        if self.months:
            return f"once every {self.months} months"
        return f"once every {self.days} days"


@dataclass(frozen=True, slots=True)
class Product:
    name: str
    ndcs: frozenset[str]
    dose_units: tuple[Decimal, ...]
    single_dose_container: bool
    units_per_package: Decimal | None
    package: Mapping[str, Decimal]  # CTP05 unit -> CTP04 quantity of one package
    ndc_unit: str  # the NCPDP billing unit CTP05 carries; "" when the policy does not say
    administration_codes: frozenset[str]
    indications: tuple[Indication, ...]
    dosing: Dosing = field(default_factory=Dosing)


@dataclass(frozen=True, slots=True)
class Fact:
    """A number or date range with how sure the policy is of it."""

    confirmed: bool
    source: str = ""


@dataclass(frozen=True, slots=True)
class CodeEntry:
    code: str
    description: str
    products: tuple[str, ...]  # () with recognise "ndc": any product of the policy
    mue_units_per_day: Decimal | None
    mue: Fact | None = None
    unit: str = ""  # what one billing unit is ("1 mg"); "" when the policy does not say
    recognise: str = "all"  # all, ndc or evidence (see policy.schema.json)
    another_drug: str = ""  # the drug the code's own descriptor names, when not this one
    unclassified: bool = False
    effective_from: date | None = None
    effective_through: date | None = None
    effective: Fact | None = None

    def in_effect(self, day: date) -> bool:
        """Whether `day` falls within the code's effective dates (as far as known)."""
        if self.effective_from is not None and day < self.effective_from:
            return False
        return self.effective_through is None or day <= self.effective_through

    @property
    def is_specific(self) -> bool:
        """A code of the drug itself: neither unclassified nor another drug's code."""
        return not self.unclassified and not self.another_drug


@dataclass(frozen=True, slots=True)
class Setting:
    """Where care is given, as a claim says it: 837P place of service or 837I bill type."""

    id: str
    label: str
    claim: str  # 837P or 837I
    places: frozenset[str]  # empty: every place of that claim kind no other setting lists
    drug_lines: bool
    administration_line: bool


@dataclass(frozen=True, slots=True)
class Billing:
    unit_basis: str
    whole_units: bool
    no_waste_modifier: str
    waste_modifier: str
    allowed_modifiers: frozenset[str]
    revenue_codes: frozenset[str]
    icd10_from: date | None = None  # services from this date carry ICD-10-CM diagnoses
    icd10_year_start: tuple[int, int] | None = None  # (month, day) a code set year starts

    def code_set_year(self, published: date) -> tuple[date, date] | None:
        """The first and last date of service of the code-set year a release published on
        `published` belongs to (None when the policy does not say when years start)."""
        if self.icd10_year_start is None:
            return None
        month, day = self.icd10_year_start
        start = date(published.year, month, day)
        if start > published:
            start = date(published.year - 1, month, day)
        return start, date(start.year + 1, month, day) - timedelta(days=1)


@dataclass(frozen=True, slots=True)
class RuleSetting:
    """How a policy grades one rule. A setting without a severity keeps the catalog's."""

    severity: Severity | None  # None: the rule is off
    denial: str = ""
    sets_severity: bool = True

    def severity_or(self, default: Severity) -> Severity | None:
        return self.severity if self.sets_severity else default


@dataclass(frozen=True, slots=True)
class PayerRule:
    id: str
    description: str
    filing_indicators: frozenset[str]
    payer_ids: frozenset[str]
    settings: frozenset[str]
    products: frozenset[str]
    codes: frozenset[str]
    require_ndc: bool
    require_waste_modifier: bool
    require_prior_authorization: bool
    specialist_taxonomies: frozenset[str]
    allow_modifiers: frozenset[str]
    accept_ctp_units: frozenset[str]
    indication_basis: frozenset[str]  # empty: every basis
    place_not_payable: str
    severity: Mapping[str, Severity | None]
    service_from: date | None = None  # the first date of service it applies to
    service_through: date | None = None  # the last
    place_fix: str = ""  # pos.not_allowed's fix for place_not_payable ("": the default)
    # Indication groups this payer's own policy confirms, for the lines the rule matches.
    confirms_indications: frozenset[str] = frozenset()

    def matches_payer(self, filing_indicator: str, payer_id: str) -> bool:
        return filing_indicator in self.filing_indicators or payer_id in self.payer_ids

    @property
    def dated(self) -> bool:
        return self.service_from is not None or self.service_through is not None

    def applies_on(self, day: date | None) -> bool:
        """Whether the rule applies to a line given on `day` (None, unknown: it does)."""
        if day is None:
            return True
        if self.service_from is not None and day < self.service_from:
            return False
        return self.service_through is None or day <= self.service_through

    def matches_line(self, code: str, product: Product | None, setting: Setting | None) -> bool:
        if self.codes and code not in self.codes:
            return False
        if self.settings and (setting is None or setting.id not in self.settings):
            return False
        return not self.products or (product is not None and product.name in self.products)


@dataclass(frozen=True, slots=True)
class Layer:
    """One layer a policy was merged from, for reports and logs."""

    id: str
    kind: str
    version: str
    source: str


@dataclass(frozen=True, slots=True)
class Policy:
    id: str
    version: str
    source: str  # file the drug family came from
    codes: Mapping[str, CodeEntry]
    billing: Billing
    settings: Mapping[str, Setting]
    products: Mapping[str, Product]
    rules: Mapping[str, RuleSetting]
    payer_rules: tuple[PayerRule, ...]
    layers: tuple[Layer, ...] = ()
    product_by_ndc: Mapping[str, Product] = field(default_factory=dict)
    _setting_by_place: Mapping[tuple[str, str], Setting] = field(default_factory=dict)

    def products_for_code(self, code: str) -> tuple[Product, ...]:
        entry = self.codes.get(code)
        if entry is None:
            return ()
        if not entry.products:
            return tuple(self.products.values())
        return tuple(self.products[name] for name in entry.products)

    def setting_for(self, claim_kind: str, place: str) -> Setting | None:
        """The setting a place of service (837P) or bill type prefix (837I) is in."""
        if not place:
            return None
        return self._setting_by_place.get((claim_kind, place)) or self._setting_by_place.get(
            (claim_kind, "")
        )

    def specific_codes(self, product: Product) -> tuple[CodeEntry, ...]:
        """The policy's own codes for a product (not unclassified, not another drug's)."""
        return tuple(
            entry
            for entry in self.codes.values()
            if entry.is_specific and product.name in entry.products
        )

    @classmethod
    def from_resolved(cls, resolved: Resolved) -> Policy:
        layers = tuple(
            Layer(layer.id, layer.kind, layer.version, layer.source) for layer in resolved.chain
        )
        return cls.from_document(resolved.document, resolved.family.source, layers)

    @classmethod
    def from_document(
        cls, document: dict[str, Any], source: str, layers: tuple[Layer, ...] = ()
    ) -> Policy:
        """Build the view of a merged document that passed schema and reference checks."""
        groups = {
            name: tuple(
                Indication(
                    item["label"],
                    tuple(item["diagnoses"]),
                    tuple(item.get("with", ())),
                    group["basis"],
                    name,
                    group.get("status", "confirmed") == "confirmed",
                    key,
                )
                for key, item in group["any"].items()
            )
            for name, group in document["indications"].items()
        }
        products = {
            name: Product(
                name=name,
                ndcs=frozenset(spec["ndcs"]),
                dose_units=_decimals(spec["dose_units"]),
                single_dose_container=spec["single_dose_container"],
                units_per_package=(
                    Decimal(str(spec["units_per_package"])) if "units_per_package" in spec else None
                ),
                package={
                    item["unit"]: Decimal(str(item["quantity"])) for item in spec.get("package", ())
                },
                ndc_unit=spec.get("ndc_unit", ""),
                administration_codes=frozenset(spec["administration_codes"]),
                indications=tuple(
                    indication for group in spec["indications"] for indication in groups[group]
                ),
                dosing=_dosing(spec),
            )
            for name, spec in document["products"].items()
        }
        settings = {
            name: Setting(
                id=name,
                label=spec["label"],
                claim=spec["claim"],
                places=frozenset(spec.get("places", ())),
                drug_lines=spec["drug_lines"],
                administration_line=spec.get("administration_line", True),
            )
            for name, spec in document["settings"].items()
        }
        by_place = {
            (setting.claim, place): setting
            for setting in settings.values()
            for place in setting.places or ("",)
        }
        billing = document["billing"]
        return cls(
            id=document["id"],
            version=document["version"],
            source=source,
            codes={code: _code(code, spec) for code, spec in document["codes"].items()},
            billing=Billing(
                unit_basis=billing["unit_basis"],
                whole_units=billing["whole_units"],
                no_waste_modifier=billing["waste_modifiers"]["no_waste"],
                waste_modifier=billing["waste_modifiers"]["waste"],
                allowed_modifiers=frozenset(billing["allowed_modifiers"]),
                revenue_codes=frozenset(billing["revenue_codes"]),
                icd10_from=_date(billing.get("icd10_from")),
                icd10_year_start=_month_day(billing.get("icd10_year_start")),
            ),
            settings=settings,
            products=products,
            rules={
                rule_id: RuleSetting(
                    SEVERITIES.get(spec.get("severity", "")),
                    spec.get("denial", ""),
                    "severity" in spec,
                )
                for rule_id, spec in document["rules"].items()
            },
            payer_rules=tuple(
                _payer_rule(name, rule) for name, rule in document["payer_rules"].items()
            ),
            layers=layers,
            product_by_ndc={ndc: product for product in products.values() for ndc in product.ndcs},
            _setting_by_place=by_place,
        )


def _dosing(spec: dict[str, Any]) -> Dosing:
    loading = spec.get("loading_doses", {})
    return Dosing(
        days=spec.get("dosing_interval_days", 0),
        months=spec.get("dosing_interval_months", 0),
        loading_indications=frozenset(loading.get("indications", ())),
        loading_days=loading.get("min_interval_days", 0),
        loading_within=loading.get("within_days", 0),
    )


def _fact(spec: dict[str, Any] | None) -> Fact | None:
    if spec is None:
        return None
    return Fact(spec["status"] == "confirmed", spec.get("source", ""))


def _code(code: str, spec: dict[str, Any]) -> CodeEntry:
    mue = spec.get("mue")
    effective = spec.get("effective", {})
    return CodeEntry(
        code=code,
        description=spec["description"],
        products=tuple(spec.get("products", ())),
        mue_units_per_day=Decimal(str(mue["units_per_day"])) if mue else None,
        mue=_fact(mue),
        unit=spec.get("unit", ""),
        recognise=spec.get("recognise", "all"),
        another_drug=spec.get("another_drug", ""),
        unclassified=spec.get("unclassified", False),
        effective_from=_date(effective.get("from")),
        effective_through=_date(effective.get("through")),
        effective=_fact(spec.get("effective")),
    )


def _payer_rule(name: str, rule: dict[str, Any]) -> PayerRule:
    match, require = rule["match"], rule.get("require", {})
    return PayerRule(
        id=name,
        description=rule.get("description", ""),
        filing_indicators=frozenset(match.get("filing_indicators", ())),
        payer_ids=frozenset(match.get("payer_ids", ())),
        settings=frozenset(match.get("settings", ())),
        products=frozenset(match.get("products", ())),
        codes=frozenset(match.get("codes", ())),
        require_ndc=require.get("ndc", False),
        require_waste_modifier=require.get("waste_modifier", False),
        require_prior_authorization=require.get("prior_authorization", False),
        specialist_taxonomies=frozenset(require.get("specialist_taxonomies", ())),
        allow_modifiers=frozenset(rule.get("allow_modifiers", ())),
        accept_ctp_units=frozenset(rule.get("accept_ctp_units", ())),
        indication_basis=frozenset(rule.get("indication_basis", ())),
        place_not_payable=rule.get("place_not_payable", ""),
        severity={
            rule_id: SEVERITIES[value] for rule_id, value in rule.get("severity", {}).items()
        },
        service_from=_date(match.get("service_dates", {}).get("from")),
        service_through=_date(match.get("service_dates", {}).get("through")),
        place_fix=rule.get("place_fix", ""),
        confirms_indications=frozenset(rule.get("confirms_indications", ())),
    )
