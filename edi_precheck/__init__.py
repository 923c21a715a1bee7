"""edi-precheck: find the billing mistakes in 837 drug lines before the payer does.

Library use: `check_file(path)` or `check_bytes(data)` return a `Report` with `findings`,
`has_errors` and `to_dict()` (the JSON report).
"""

# The one place the version is written (pyproject.toml reads it from here); reading it back
# through importlib.metadata would cost a pre-submit hook 50 ms on every file.
__version__ = "0.1.0"

from edi_precheck.api import check_bytes, check_file, open_history
from edi_precheck.engine import Engine
from edi_precheck.findings import Finding, Severity
from edi_precheck.history.errors import HistoryError
from edi_precheck.policy import CrosswalkError, PolicyError
from edi_precheck.report.results import FileResult, Report

__all__ = [
    "CrosswalkError",
    "Engine",
    "FileResult",
    "Finding",
    "HistoryError",
    "PolicyError",
    "Report",
    "Severity",
    "__version__",
    "check_bytes",
    "check_file",
    "open_history",
]
