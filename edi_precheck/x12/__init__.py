"""The X12 layer: bytes to numbered segments, with envelope checks. Knows nothing of claims.

We read X12 ourselves instead of through pyx12: pyx12's readers are 10x to 300x slower than
a plain split and drop the last loop of a truncated file (README, "Why our own reader").
"""

from edi_precheck.x12.envelope import LARGEST_CONTROL_NUMBER, EnvelopeChecker
from edi_precheck.x12.tokenizer import Delimiters, SegmentReader, fixed_width_isa, padded

__all__ = [
    "LARGEST_CONTROL_NUMBER",
    "Delimiters",
    "EnvelopeChecker",
    "SegmentReader",
    "fixed_width_isa",
    "padded",
]
