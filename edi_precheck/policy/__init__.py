"""Policies: the drug facts and payer rules the checks apply, kept as validated JSON data in
layers (base, drug families, overlays), plus the external code sets they lean on (the CMS
NDC-HCPCS crosswalk, ICD-10-CM)."""

from edi_precheck.policy.crosswalk import Crosswalk, CrosswalkError, normalize_ndc
from edi_precheck.policy.icd10 import ICD10CM, CodeSetUnavailable
from edi_precheck.policy.loader import (
    PolicyError,
    layer_schema,
    load_policies,
    resolve_policies,
    schema,
    shipped_layers,
    shipped_policies,
    validate_document,
)
from edi_precheck.policy.model import (
    SEVERITIES,
    Billing,
    CodeEntry,
    Dosing,
    Fact,
    Indication,
    PayerRule,
    Policy,
    Product,
    RuleSetting,
    Setting,
    matches_icd10,
)

__all__ = [
    "ICD10CM",
    "SEVERITIES",
    "Billing",
    "CodeEntry",
    "CodeSetUnavailable",
    "Crosswalk",
    "CrosswalkError",
    "Dosing",
    "Fact",
    "Indication",
    "PayerRule",
    "Policy",
    "PolicyError",
    "Product",
    "RuleSetting",
    "Setting",
    "layer_schema",
    "load_policies",
    "matches_icd10",
    "normalize_ndc",
    "resolve_policies",
    "schema",
    "shipped_layers",
    "shipped_policies",
    "validate_document",
]
