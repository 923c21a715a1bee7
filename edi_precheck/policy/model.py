"""Typed, read-only views of a validated policy, built once per run.

The JSON policy is the source of every fact; these classes only give the checks names to
reach them by and do the parsing (decimals, sets) once instead of per line. Facts no check
reads (a product's ingredient, its dosing interval) stay in the JSON for the people who
maintain it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from edi_precheck.findings import Severity

SEVERITIES: dict[str, Severity | None] = {
    "error": Severity.ERROR,
    "warning": Severity.WARNING,
    "off": None,
}


def _decimals(values: list[Any]) -> tuple[Decimal, ...]:
    return tuple(Decimal(str(value)) for value in values)


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


@dataclass(frozen=True, slots=True)
class Product:
    name: str
    ndcs: frozenset[str]
    dose_units: tuple[Decimal, ...]
    single_dose_container: bool
    units_per_package: Decimal | None
    package: Mapping[str, Decimal]  # CTP05 unit -> CTP04 quantity of one package
    indications: tuple[Indication, ...]


@dataclass(frozen=True, slots=True)
class CodeEntry:
    code: str
    description: str
    products: tuple[str, ...]
    mue_units_per_day: Decimal | None
    unit: str = ""  # what one billing unit is ("1 mg"); "" when the policy does not say


@dataclass(frozen=True, slots=True)
class Billing:
    unit_basis: str
    whole_units: bool
    no_waste_modifier: str
    waste_modifier: str
    allowed_modifiers: frozenset[str]
    places_of_service: frozenset[str]
    types_of_bill: frozenset[str]
    revenue_codes: frozenset[str]
    administration_codes: frozenset[str]


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
    pointer: str  # JSON pointer of the rule in its policy, for findings to cite
    filing_indicators: frozenset[str]
    payer_ids: frozenset[str]
    products: frozenset[str]
    codes: frozenset[str]
    require_ndc: bool
    require_waste_modifier: bool
    require_prior_authorization: bool
    specialist_taxonomies: frozenset[str]
    severity: Mapping[str, Severity | None]

    def matches_payer(self, filing_indicator: str, payer_id: str) -> bool:
        return filing_indicator in self.filing_indicators or payer_id in self.payer_ids

    def matches_line(self, code: str, product: Product | None) -> bool:
        if self.codes and code not in self.codes:
            return False
        return not self.products or (product is not None and product.name in self.products)


@dataclass(frozen=True, slots=True)
class Policy:
    id: str
    version: str
    source: str  # file the policy came from
    codes: Mapping[str, CodeEntry]
    billing: Billing
    products: Mapping[str, Product]
    rules: Mapping[str, RuleSetting]
    payer_rules: tuple[PayerRule, ...]
    product_by_ndc: Mapping[str, Product] = field(default_factory=dict)

    def products_for_code(self, code: str) -> tuple[Product, ...]:
        entry = self.codes.get(code)
        return tuple(self.products[name] for name in entry.products) if entry else ()

    @classmethod
    def from_document(cls, document: dict[str, Any], source: str) -> Policy:
        """Build the view of a document that already passed schema and reference checks."""
        groups = {
            name: tuple(
                Indication(item["label"], tuple(item["diagnoses"]), tuple(item.get("with", ())))
                for item in group["any"]
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
                indications=tuple(
                    indication for group in spec["indications"] for indication in groups[group]
                ),
            )
            for name, spec in document["products"].items()
        }
        billing = document["billing"]
        payer_rules = tuple(
            PayerRule(
                id=rule["id"],
                pointer=f"/payer_rules/{position}",
                filing_indicators=frozenset(rule["match"].get("filing_indicators", ())),
                payer_ids=frozenset(rule["match"].get("payer_ids", ())),
                products=frozenset(rule["match"].get("products", ())),
                codes=frozenset(rule["match"].get("codes", ())),
                require_ndc=rule.get("require", {}).get("ndc", False),
                require_waste_modifier=rule.get("require", {}).get("waste_modifier", False),
                require_prior_authorization=rule.get("require", {}).get(
                    "prior_authorization", False
                ),
                specialist_taxonomies=frozenset(
                    rule.get("require", {}).get("specialist_taxonomies", ())
                ),
                severity={
                    rule_id: SEVERITIES[value]
                    for rule_id, value in rule.get("severity", {}).items()
                },
            )
            for position, rule in enumerate(document["payer_rules"])
        )
        return cls(
            id=document["id"],
            version=document["version"],
            source=source,
            codes={
                code: CodeEntry(
                    code,
                    spec["description"],
                    tuple(spec["products"]),
                    (
                        Decimal(str(spec["mue_units_per_day"]))
                        if "mue_units_per_day" in spec
                        else None
                    ),
                    spec.get("unit", ""),
                )
                for code, spec in document["codes"].items()
            },
            billing=Billing(
                unit_basis=billing["unit_basis"],
                whole_units=billing["whole_units"],
                no_waste_modifier=billing["waste_modifiers"]["no_waste"],
                waste_modifier=billing["waste_modifiers"]["waste"],
                allowed_modifiers=frozenset(billing["allowed_modifiers"]),
                places_of_service=frozenset(billing["places_of_service"]),
                types_of_bill=frozenset(billing["types_of_bill"]),
                revenue_codes=frozenset(billing["revenue_codes"]),
                administration_codes=frozenset(billing["administration_codes"]),
            ),
            products=products,
            rules={
                rule_id: RuleSetting(
                    SEVERITIES.get(spec.get("severity", "")),
                    spec.get("denial", ""),
                    "severity" in spec,
                )
                for rule_id, spec in document["rules"].items()
            },
            payer_rules=payer_rules,
            product_by_ndc={ndc: product for product in products.values() for ndc in product.ndcs},
        )
