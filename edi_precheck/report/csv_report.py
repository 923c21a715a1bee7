"""`check --format csv`: one row per finding, for a spreadsheet, written as findings come.

The columns are the JSON report's finding fields, after the file. Cells that a spreadsheet
would run as a formula are written as text (`lines.spreadsheet_safe`).
"""

from __future__ import annotations

import csv
from typing import TextIO

from edi_precheck.findings import Finding
from edi_precheck.report.lines import spreadsheet_safe

COLUMNS = (
    "file",
    "claim_index",
    "claim_id",
    "line",
    "code",
    "rule",
    "severity",
    "snip",
    "segment",
    "segment_index",
    "element",
    "message",
    "hint",
    "denial",
)


class FindingCsvWriter:
    def __init__(self, stream: TextIO) -> None:
        self._writer = csv.DictWriter(stream, fieldnames=COLUMNS, lineterminator="\n")
        self._writer.writeheader()

    def write(self, file: str, finding: Finding) -> None:
        record = {"file": file, **finding.to_dict()}
        self._writer.writerow({key: spreadsheet_safe(record.get(key)) for key in COLUMNS})
