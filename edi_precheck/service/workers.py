"""Where the service's checks run: rules in threads, pyx12 in worker processes.

Rule checks are fast (a fraction of a millisecond a claim) and `Engine.check` is safe from
several threads, so checks without implementation-guide validation run in a thread pool
of the server process, on one engine per policy overlay. pyx12 takes milliseconds a claim
and holds the interpreter, so checks with it run whole in worker processes, each with
engines of its own: one large file occupies one worker, and the other requests go on.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Mapping
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edi_precheck.engine import Engine
from edi_precheck.findings import Severity
from edi_precheck.history.keys import site_key
from edi_precheck.history.store import HistoryStore
from edi_precheck.model.patient import PatientKeyer
from edi_precheck.reading import read_claims
from edi_precheck.report.lines import line_record
from edi_precheck.report.results import FileResult
from edi_precheck.sources import Source

# As the command line's JSON report: at most this many findings a file, the rest counted.
FINDINGS_PER_FILE = 10_000
FAIL_ON: dict[str, Severity | None] = {
    "error": Severity.ERROR,
    "warning": Severity.WARNING,
    "never": None,
}
BODY_NAME = "request"  # the report's file name for a request body


@dataclass(frozen=True)
class Settings:
    """What the service checks with: the policies every request gets, the overlays a
    request may name (`?policy=NAME`), the crosswalk, and how many worker processes."""

    policies: tuple[Path, ...] = ()
    overlays: Mapping[str, Path] = field(default_factory=dict)
    crosswalk: Path | None = None
    workers: int = 2
    history: str | None = None  # a history store URL: checks read it (never write)
    key_file: Path | None = None  # the site key's file, when not the default
    ig_engine: str = "native"  # what validates against the guide: "native" or "pyx12"

    def policy_paths(self, overlay: str | None) -> tuple[Path, ...]:
        return self.policies + ((self.overlays[overlay],) if overlay else ())


class Engines:
    """One engine per (overlay, IG) in this process, made on first use."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._engines: dict[tuple[str | None, bool], Engine] = {}
        self._lock = threading.Lock()

    def get(self, overlay: str | None, ig: bool) -> Engine:
        with self._lock:
            engine = self._engines.get((overlay, ig))
            if engine is None:
                settings = self._settings
                engine = Engine(
                    settings.policy_paths(overlay),
                    settings.crosswalk,
                    ig=ig,
                    ig_engine=settings.ig_engine,
                    jobs=1,
                    history=_store(settings),
                )
                engine.keep_findings = FINDINGS_PER_FILE
                self._engines[overlay, ig] = engine
            return engine

    def close(self) -> None:
        with self._lock:
            for engine in self._engines.values():
                engine.close()
            self._engines = {}


def _store(settings: Settings) -> HistoryStore | None:
    """Each engine's own connection to the history store (read only)."""
    if settings.history is None:
        return None
    keyer = PatientKeyer(site_key(settings.key_file))
    return HistoryStore.open(settings.history, keyer, create=False, read_only=True)


def check_with(
    engines: Engines,
    data: bytes,
    overlay: str | None,
    ig: bool,
    fail_on: str,
    deadline: float | None = None,
) -> tuple[dict[str, Any], int]:
    """The JSON report of one body, and the exit code the command line would give it.
    Past `deadline` (time.monotonic), when the caller has answered 504, reading stops."""
    engine = engines.get(overlay, ig)
    report = engine.new_report()
    report.files.append(engine.check(Source(BODY_NAME, None, data, deadline=deadline)))
    return report.to_dict(), 1 if report.blocks(FAIL_ON[fail_on]) else 0


def lines_of(
    data: bytes, wanted: frozenset[str] | None, deadline: float | None = None
) -> list[dict[str, Any]]:
    """The service lines of one body billing `wanted` codes (None: every line)."""
    result = FileResult(BODY_NAME)
    source = Source(BODY_NAME, None, data, deadline=deadline)
    return [
        line_record(BODY_NAME, claim, line)
        for claim in read_claims(source, result, skim_codes=wanted)
        for line in claim.lines
        if wanted is None or line.code.upper() in wanted
    ]


# -- in the worker processes ---------------------------------------------------------------

_worker_engines: Engines | None = None


def _start_worker(settings: Settings) -> None:
    global _worker_engines
    _worker_engines = Engines(settings)


def check_in_worker(
    data: bytes, overlay: str | None, fail_on: str, deadline: float | None = None
) -> tuple[dict[str, Any], int]:
    assert _worker_engines is not None
    return check_with(_worker_engines, data, overlay, True, fail_on, deadline)


def _warm(overlay: str | None) -> bool:
    """Load a worker's engine (policies, pyx12 maps) before the first request needs it."""
    assert _worker_engines is not None
    _worker_engines.get(overlay, True)
    return True


class Pools:
    """The thread pool (rules) and the process pool (pyx12) of one service."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.engines = Engines(settings)
        self.threads: Executor = ThreadPoolExecutor(max_workers=max(4, settings.workers * 2))
        # spawn: the server runs threads, and forking a process with threads is unsafe
        self.processes = ProcessPoolExecutor(
            max_workers=settings.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(settings,),
        )

    def warm(self) -> None:
        """Load the engines of this process and of every worker."""
        self.engines.get(None, False)
        futures = [self.processes.submit(_warm, None) for _ in range(self.settings.workers)]
        for future in futures:
            future.result()

    def close(self) -> None:
        self.threads.shutdown(wait=False, cancel_futures=True)
        self.processes.shutdown(wait=False, cancel_futures=True)
        self.engines.close()
