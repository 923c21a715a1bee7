"""Policies: the drug facts and payer rules the checks apply, kept as validated JSON data,
plus the external code sets they lean on (the CMS NDC-HCPCS crosswalk, ICD-10-CM)."""

from edi_precheck.policy.crosswalk import Crosswalk, CrosswalkError, normalize_ndc
from edi_precheck.policy.icd10 import ICD10CM, CodeSetUnavailable
from edi_precheck.policy.loader import (
    PolicyError,
    load_policies,
    load_policy,
    schema,
    shipped_policies,
    validate_document,
)
from edi_precheck.policy.model import (
    SEVERITIES,
    Billing,
    CodeEntry,
    Indication,
    PayerRule,
    Policy,
    Product,
    RuleSetting,
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
    "Indication",
    "PayerRule",
    "Policy",
    "PolicyError",
    "Product",
    "RuleSetting",
    "load_policies",
    "load_policy",
    "matches_icd10",
    "normalize_ndc",
    "schema",
    "shipped_policies",
    "validate_document",
]
