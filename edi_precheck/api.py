"""The library API for practice-management systems: check a file or bytes, get a Report.

    import edi_precheck
    report = edi_precheck.check_file("claims.837")
    if report.has_errors:
        for finding in report.findings:
            print(finding.claim_id, finding.rule, finding.message)

Policies, crosswalk and rules are loaded once per distinct set of options and reused (a
few sets are kept; `today` is per call, not part of the set). Both functions are safe to
call from many threads at once; pyx12 validation runs one transaction set at a time per
process (a server that wants it in parallel runs worker processes).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import date, datetime
from functools import lru_cache
from os import PathLike
from pathlib import Path

from edi_precheck.engine import Engine
from edi_precheck.history.keys import site_key
from edi_precheck.history.store import HistoryStore
from edi_precheck.model.patient import PatientKeyer
from edi_precheck.report.results import Report
from edi_precheck.sources import Source

# Engines kept for reuse, by options: bounded, so that a caller varying its options per
# call (a policy file per practice) does not keep every engine it ever used.
ENGINES_KEPT = 8
_building = threading.Lock()


@lru_cache(maxsize=ENGINES_KEPT)
def _cached_engine(
    policies: tuple[Path, ...], crosswalk: Path | None, ig: bool, ig_engine: str
) -> Engine:
    return Engine(policies, crosswalk, ig=ig, ig_engine=ig_engine)


def _engine(policies: tuple[Path, ...], crosswalk: Path | None, ig: bool, ig_engine: str) -> Engine:
    with _building:  # two threads asking for the same options share one engine
        return _cached_engine(policies, crosswalk, ig, ig_engine)


def _key(
    policies: Iterable[str | PathLike[str]] | str | PathLike[str],
    crosswalk: str | PathLike[str] | None,
) -> tuple[tuple[Path, ...], Path | None]:
    if isinstance(policies, (str, PathLike)):  # one path, not the characters of one
        policies = [policies]
    return tuple(Path(p) for p in policies), Path(crosswalk) if crosswalk else None


def check_file(
    path: str | PathLike[str],
    *,
    policies: Iterable[str | PathLike[str]] | str | PathLike[str] = (),
    crosswalk: str | PathLike[str] | None = None,
    today: date | None = None,
    ig: bool = True,
    ig_engine: str = "native",
) -> Report:
    """Check one 837 file. Raises PolicyError or CrosswalkError for unusable options;
    problems with the file itself are findings in the report, never exceptions.
    `ig=False` skips implementation-guide validation; `ig_engine="pyx12"` has pyx12 itself
    do it (the native engine, its maps compiled, is the default)."""
    _check_today(today)
    engine = _engine(*_key(policies, crosswalk), ig, ig_engine)
    report = engine.new_report()
    report.files.append(engine.check(Source(str(path), Path(path)), today=today))
    return report


def check_bytes(
    data: bytes,
    *,
    name: str = "<bytes>",
    policies: Iterable[str | PathLike[str]] | str | PathLike[str] = (),
    crosswalk: str | PathLike[str] | None = None,
    today: date | None = None,
    ig: bool = True,
    ig_engine: str = "native",
) -> Report:
    """Check an 837 held in memory (an upload, a message body); `name` labels the report."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(
            f"check_bytes takes the file's bytes, not {type(data).__name__} "
            "(read it in binary, or encode the text as it was received)"
        )
    _check_today(today)
    engine = _engine(*_key(policies, crosswalk), ig, ig_engine)
    report = engine.new_report()
    report.files.append(engine.check(Source(name, None, data), today=today))
    return report


def _check_today(today: object) -> None:
    """A caller's mistake is an exception, not a date finding on every line."""
    if today is not None and (not isinstance(today, date) or isinstance(today, datetime)):
        raise TypeError(
            f"today must be a datetime.date, not {type(today).__name__} "
            "(date.fromisoformat('2026-01-01'))"
        )


def open_history(
    url: str,
    *,
    key_file: str | PathLike[str] | None = None,
    create: bool = False,
    read_only: bool = False,
) -> HistoryStore:
    """The history store at `url` (sqlite:///path.db, postgresql://...), its patients hashed
    with the site key (as the command line finds it, or from `key_file`), for
    `Engine(history=...)`. `create` makes a store that does not exist yet; `read_only`
    opens one that is only compared with (a read-only mount, a reader's account) and never
    writes it. Raises HistoryError when it cannot be used."""
    keyer = PatientKeyer(site_key(Path(key_file) if key_file is not None else None))
    return HistoryStore.open(url, keyer, create=create, read_only=read_only)
