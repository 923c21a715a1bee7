"""The claim model and the 837 parser that fills it from the X12 layer."""

from edi_precheck.model.claim import (
    Claim,
    Diagnosis,
    Payer,
    Provider,
    ServiceLine,
    Transaction,
    to_decimal,
    whole_number,
)
from edi_precheck.model.parser import ClaimParser

__all__ = [
    "Claim",
    "ClaimParser",
    "Diagnosis",
    "Payer",
    "Provider",
    "ServiceLine",
    "Transaction",
    "to_decimal",
    "whole_number",
]
