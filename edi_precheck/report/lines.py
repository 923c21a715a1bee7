"""Records for `edi-precheck lines`: one flat row per service line, in CSV, JSON or JSONL.

Rows are written as they come, so a listing of a huge file never sits in memory. CSV is
opened in spreadsheets: a cell that would start a formula is written as text (see
`spreadsheet_safe`), and control characters are escaped. JSON escapes them itself.
"""

from __future__ import annotations

import csv
import json
import re
from typing import Any, TextIO

from edi_precheck.findings import escaped
from edi_precheck.model import Claim, ServiceLine

# First characters that make a spreadsheet read a cell as a formula (OWASP, "CSV
# Injection"): `=HYPERLINK(...)` in a claim id would run when a biller opens the listing.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# A signed amount ("-12.50") is read as the number it is, not a formula; it stays as is.
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")

LINE_FIELDS = (
    "file",
    "claim_index",
    "claim_id",
    "line",
    "segment_index",
    "transaction",
    "payer_filing_indicator",
    "payer_id",
    "place_of_service",
    "type_of_bill",
    "revenue_code",
    "code",
    "modifiers",
    "units",
    "unit_basis",
    "charge",
    "diagnoses",
    "ndc_qualifier",
    "ndc",
    "ctp_quantity",
    "ctp_unit",
    "service_date",
    "prior_authorization",
    "rendering_taxonomy",
)


def line_record(file: str, claim: Claim, line: ServiceLine) -> dict[str, Any]:
    """The listing row of one service line, with the claim context a biller needs."""
    rendering = line.rendering or claim.provider("rendering", "attending")
    is_professional = claim.kind == "837P"
    return {
        "file": file,
        "claim_index": claim.index,
        "claim_id": claim.claim_id,
        "line": line.number,
        "segment_index": line.segment_index,
        "transaction": claim.kind,
        "payer_filing_indicator": claim.payer.filing_indicator,
        "payer_id": claim.payer.payer_id,
        "place_of_service": (line.place_of_service or claim.facility_code)
        if is_professional
        else "",
        "type_of_bill": "" if is_professional else claim.type_of_bill,
        "revenue_code": line.revenue_code,
        "code": line.code,
        "modifiers": list(line.modifiers),
        "units": line.units,
        "unit_basis": line.unit_basis,
        "charge": line.charge,
        "diagnoses": [diagnosis.code for diagnosis in claim.line_diagnoses(line)],
        "ndc_qualifier": line.ndc_qualifier,
        "ndc": line.ndc,
        "ctp_quantity": line.ctp_quantity,
        "ctp_unit": line.ctp_unit,
        "service_date": claim.line_date(line),
        "prior_authorization": line.prior_authorization or claim.prior_authorization,
        "rendering_taxonomy": rendering.taxonomy if rendering else "",
    }


def spreadsheet_safe(value: Any) -> Any:
    """A CSV cell that a spreadsheet shows as the text it is: strings that start like a
    formula get a leading apostrophe, control characters are escaped. Numbers pass,
    signed ones too."""
    if not isinstance(value, str):
        return value
    if value.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(value):
        value = "'" + value
    return escaped(value)


class LineWriter:
    """Write line records to a text stream in one of the listing formats."""

    def __init__(self, stream: TextIO, output_format: str) -> None:
        self._stream = stream
        self._format = output_format
        self._count = 0
        self._csv: Any = None
        if output_format == "csv":
            self._csv = csv.DictWriter(stream, fieldnames=LINE_FIELDS, lineterminator="\n")
            self._csv.writeheader()
        elif output_format == "json":
            stream.write("[")

    def write(self, record: dict[str, Any]) -> None:
        if self._csv is not None:
            self._csv.writerow(
                {
                    key: spreadsheet_safe(" ".join(value) if isinstance(value, list) else value)
                    for key, value in record.items()
                }
            )
        elif self._format == "json":
            self._stream.write(("\n  " if self._count == 0 else ",\n  ") + json.dumps(record))
        else:
            self._stream.write(json.dumps(record) + "\n")
        self._count += 1

    def close(self) -> None:
        if self._format == "json":
            self._stream.write("\n]\n" if self._count else "]\n")
