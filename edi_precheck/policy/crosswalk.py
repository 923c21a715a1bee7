"""The CMS ASP NDC-HCPCS crosswalk: which HCPCS code each NDC is billed under.

CMS publishes it quarterly as CSV. Its first column is headed by the year (`_2026_CODE`),
some files head the NDC column `NDC` instead of `NDC2`, and some start with a few lines of
notes, so headers are matched loosely and the header row is searched for. A full quarterly
file loads in place of the excerpt shipped in the package (`--crosswalk`).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

SHIPPED_EXCERPT = "crosswalk_excerpt.csv"
_HEADER_SEARCH_ROWS = 30


class CrosswalkError(Exception):
    """The file is not a usable crosswalk; the run cannot proceed (exit 2)."""


@dataclass(frozen=True, slots=True)
class CrosswalkEntry:
    ndc: str  # 11 digits
    hcpcs: str
    drug_name: str  # the brand ("Prolia"), as the policy names its products


@lru_cache(maxsize=4096)
def normalize_ndc(text: str) -> str | None:
    """The 11-digit 5-4-2 form of an NDC written with hyphens, or None if it is no NDC."""
    text = text.strip()
    if re.fullmatch(r"\d{11}", text):
        return text
    match = re.fullmatch(r"(\d{4,5})-(\d{3,4})-(\d{1,2})", text)
    if not match:
        return None
    labeler, product, package = match.groups()
    if len(labeler + product + package) not in (10, 11):  # 4-4-2, 5-3-2, 5-4-1 or 5-4-2
        return None
    return labeler.zfill(5) + product.zfill(4) + package.zfill(2)


def _key(header: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", header.upper())


def _columns(row: list[str]) -> dict[str, int] | None:
    """Positions of the columns we use, if `row` is the header row."""
    keys = [_key(cell) for cell in row]
    found: dict[str, int] = {}
    for position, key in enumerate(keys):
        if "code" not in found and (key.endswith("CODE") or key in ("HCPCS", "HCPCSCODE")):
            found["code"] = position
        elif "ndc" not in found and key in ("NDC2", "NDC", "NDC11"):
            found["ndc"] = position
        elif key == "DRUGNAME":
            found["drug"] = position
    return found if {"code", "ndc"} <= found.keys() else None


class Crosswalk:
    """NDC -> the crosswalk rows that list it (an NDC may sit under several codes)."""

    def __init__(self, entries: list[CrosswalkEntry], source: str) -> None:
        self.source = source
        self._by_ndc: dict[str, list[CrosswalkEntry]] = {}
        for entry in entries:
            self._by_ndc.setdefault(entry.ndc, []).append(entry)

    def __len__(self) -> int:
        return len(self._by_ndc)

    def entries(self, ndc: str) -> list[CrosswalkEntry]:
        return self._by_ndc.get(ndc, [])

    def codes_for(self, ndc: str) -> frozenset[str]:
        return frozenset(entry.hcpcs for entry in self.entries(ndc))

    @classmethod
    def from_text(cls, text: str, source: str) -> Crosswalk:
        rows = csv.reader(io.StringIO(text))
        columns = None
        for _ in range(_HEADER_SEARCH_ROWS):
            row = next(rows, None)
            if row is None:
                break
            columns = _columns(row)
            if columns:
                break
        if not columns:
            raise CrosswalkError(
                f"{source}: no header row with an HCPCS code column and an NDC column in its "
                f"first {_HEADER_SEARCH_ROWS} rows; is this the CMS ASP NDC-HCPCS crosswalk?"
            )
        entries = []
        for row in rows:
            if len(row) <= max(columns.values()):
                continue
            ndc = normalize_ndc(row[columns["ndc"]])
            code = row[columns["code"]].strip().upper()
            if ndc is None or not code:
                continue
            drug = row[columns["drug"]].strip() if "drug" in columns else ""
            entries.append(CrosswalkEntry(ndc, code, drug))
        if not entries:
            raise CrosswalkError(f"{source}: the crosswalk has a header but no NDC rows")
        return cls(entries, source)

    @classmethod
    def load(cls, path: Path | None = None) -> Crosswalk:
        """A crosswalk CSV file, or the shipped excerpt when `path` is None."""
        if path is None:
            entry = resources.files("edi_precheck.policy") / "data" / SHIPPED_EXCERPT
            return cls.from_text(entry.read_text("utf-8"), f"shipped:{SHIPPED_EXCERPT}")
        try:
            raw = path.read_bytes()
        except OSError as error:
            raise CrosswalkError(f"{path}: cannot read: {error.strerror}") from None
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")  # CMS files have been published in Windows-1252
        return cls.from_text(text, str(path))
