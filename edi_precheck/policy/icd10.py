"""ICD-10-CM: which codes exist and which are billable (leaves of the classification).

The code set comes from the simple-icd-10-cm package, which parses its XML at import (about
2.3 s measured here): too slow for a pre-submit hook that runs once per file. So the first
use derives a compact list (billable codes on one line, the other codes on the next) and
caches it on disk, keyed by the package's data file and checked by its hash; later runs
read it in milliseconds.
Nothing is loaded unless a diagnosis rule runs.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import warnings
from datetime import date, datetime
from pathlib import Path

from edi_precheck.policy.cache import read_entry, write_entry

MODULE = "simple_icd_10_cm"


class CodeSetUnavailable(Exception):
    """The ICD-10-CM package is not installed or could not be read."""


def _release() -> str:
    """Which code set the installed package ships, found without importing it (slow)."""
    spec = importlib.util.find_spec(MODULE)
    if spec is None or not spec.submodule_search_locations:
        raise CodeSetUnavailable(f"the {MODULE} package is not installed")
    data = Path(next(iter(spec.submodule_search_locations))) / "data"
    files = sorted(data.glob("*.xml")) if data.is_dir() else []
    if not files:
        raise CodeSetUnavailable(f"the {MODULE} package has no code set in {data}")
    return f"{files[-1].stem}-{files[-1].stat().st_size}"


def release_date(release: str) -> date | None:
    """The first day a release's codes are for, from its file name ('...-April-1-2026'),
    or None when the name does not say."""
    match = re.search(r"([A-Z][a-z]+)-(\d{1,2})-(\d{4})", release)
    if match is None:
        return None
    try:
        return datetime.strptime("-".join(match.groups()), "%B-%d-%Y").date()
    except ValueError:
        return None


# The cached list is about 0.7 MB; anything much larger was not written by us.
CACHE_LIMIT = 16 * 1024 * 1024
_HEADER = "edi-precheck icd10cm"


def _entry(release: str, billable: str, other: str) -> str:
    """The cache entry: a header naming the release and the hash of the two code lines."""
    body = billable + "\n" + other
    return f"{_HEADER} {release} {hashlib.sha256(body.encode()).hexdigest()}\n{body}"


def _from_entry(text: str | None, release: str) -> tuple[str, str] | None:
    """The two code lines of a cache entry, when it is one of this release and whole."""
    if text is None:
        return None
    header, _, body = text.partition("\n")
    if header != f"{_HEADER} {release} {hashlib.sha256(body.encode()).hexdigest()}":
        return None
    billable, _, other = body.partition("\n")
    return billable, other


class ICD10CM:
    """Every ICD-10-CM code (no dots) and whether it is billable."""

    def __init__(
        self, billable: frozenset[str], not_billable: frozenset[str], release: str
    ) -> None:
        self.billable = billable
        self.not_billable = not_billable
        self.release = release
        self.effective = release_date(release)  # its first day of service, when known

    def exists(self, code: str) -> bool:
        return code in self.billable or code in self.not_billable

    def is_billable(self, code: str) -> bool:
        return code in self.billable

    @classmethod
    def load(cls) -> ICD10CM:
        """From the cache when present and whole, else derived from the package (and
        cached)."""
        release = _release()
        name = f"icd10cm-{release}.txt"
        cached = _from_entry(read_entry("", name, CACHE_LIMIT), release)
        if cached is None:
            cached = cls._derive()
            write_entry("", name, _entry(release, *cached))
        billable, other = cached
        return cls(frozenset(billable.split()), frozenset(other.split()), release)

    @staticmethod
    def _derive() -> tuple[str, str]:
        """Billable codes and the other codes, each space-separated, without dots."""
        try:
            with warnings.catch_warnings():  # its use of importlib.resources' old API
                warnings.simplefilter("ignore", DeprecationWarning)
                import simple_icd_10_cm as icd  # slow: parses the whole classification
        except Exception as error:  # any failure inside the package's own set-up
            raise CodeSetUnavailable(f"{MODULE} could not be loaded: {error}") from None
        billable: list[str] = []
        other: list[str] = []
        for code in icd.get_all_codes(False):
            if "-" in code or not code[:1].isalpha():  # chapters and blocks are not codes
                continue
            (billable if icd.is_leaf(code) else other).append(code)
        return " ".join(billable), " ".join(other)
