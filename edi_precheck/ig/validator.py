"""Validate transaction sets with an engine, in this process or in worker processes.

Two engines answer alike (`outcome.IGOutcome`): `native` (the default: pyx12's maps
compiled into tables, `ig.native`) and `pyx12` itself, the reference. The native engine
hands what it does not model to pyx12, and the outcome says so (`fallback`). Known map
defects are corrected the same way for both (`map_defects`).

pyx12 costs about 2 ms a claim, so with `jobs` > 1 transaction sets (of one file or of
many) are validated in a process pool. Results are always taken in submission order, so a
report is the same whatever `jobs` is. A pool is only started once a second transaction set
is waiting: a one-set file (the usual pre-submit hook) never pays for worker processes.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import replace

from edi_precheck.ig.outcome import IGOutcome
from edi_precheck.logs import LibraryLogger
from edi_precheck.processes import process_pool

ENGINES = ("native", "pyx12")
DEFAULT_ENGINE = "native"

_log = LibraryLogger("edi_precheck.ig")


def validate(text: str, engine: str = DEFAULT_ENGINE) -> IGOutcome:
    """The outcome of one interchange (one transaction set) with `engine`; never raises."""
    from edi_precheck.ig import pyx12_engine
    from edi_precheck.ig.map_defects import without_map_defects

    if engine != "native":
        return without_map_defects(text, pyx12_engine.validate(text))
    from edi_precheck.ig import native

    try:
        outcome = native.validate(text)
    except native.Declined as declined:
        reason = str(declined)
    except Exception as error:  # a defect of ours must cost speed, never the run
        reason = f"an internal error ({type(error).__name__})"
    else:
        return without_map_defects(text, outcome)
    _log.warning("ig.fallback", engine="pyx12", reason=reason)
    return without_map_defects(text, replace(pyx12_engine.validate(text), fallback=reason))


class Pending:
    """A transaction set's outcome, computed here on demand or by a worker."""

    def __init__(self, text: str, engine: str = DEFAULT_ENGINE) -> None:
        self._text: str | None = text
        self._engine = engine
        self._future: Future[IGOutcome] | None = None
        self._outcome: IGOutcome | None = None

    def start(self, pool: ProcessPoolExecutor) -> None:
        if self._text is not None and self._future is None:
            self._future = pool.submit(validate, self._text, self._engine)
            self._text = None

    def done(self) -> bool:
        return self._outcome is not None or (self._future is not None and self._future.done())

    def cancel(self) -> None:
        """Not wanted any more: a worker that has not started on it never will."""
        if self._future is not None:
            self._future.cancel()
        self._text = None

    def result(self) -> IGOutcome:
        if self._outcome is None:
            if self._future is not None:
                self._outcome = self._future.result()
            else:
                assert self._text is not None
                self._outcome = validate(self._text, self._engine)
            self._text, self._future = None, None
        return self._outcome


def _validation_pool(jobs: int) -> ProcessPoolExecutor:
    return process_pool(jobs, preload=["edi_precheck.ig.validator"])


class IGValidator:
    """Hands out `Pending` outcomes; call `close()` when done (or use `with`)."""

    def __init__(
        self,
        jobs: int = 1,
        pool_factory: Callable[[int], ProcessPoolExecutor] | None = None,
        engine: str = DEFAULT_ENGINE,
    ) -> None:
        if engine not in ENGINES:
            raise ValueError(f"unknown implementation-guide engine {engine!r}")
        self.jobs = max(1, jobs)
        self.engine = engine
        self._pool_factory = pool_factory or _validation_pool
        self._pool: ProcessPoolExecutor | None = None
        self._waiting: Pending | None = None  # the first set, held until a second comes

    def submit(self, text: str) -> Pending:
        pending = Pending(text, self.engine)
        if self.jobs == 1:
            return pending
        if self._pool is None:
            if self._waiting is None:
                self._waiting = pending
                return pending
            self._pool = self._pool_factory(self.jobs)
            self._waiting.start(self._pool)
        pending.start(self._pool)
        return pending

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> IGValidator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
