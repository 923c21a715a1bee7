"""Run pyx12 over transaction sets, in this process or in worker processes.

pyx12 costs about 2 ms a claim, so with `jobs` > 1 transaction sets (of one file or of
many) are validated in a process pool. Results are always taken in submission order, so a
report is the same whatever `jobs` is. A pool is only started once a second transaction set
is waiting: a one-set file (the usual pre-submit hook) never pays for worker processes.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor

from edi_precheck.ig.pyx12_engine import IGOutcome, validate


class Pending:
    """A transaction set's outcome, computed here on demand or by a worker."""

    def __init__(self, text: str) -> None:
        self._text: str | None = text
        self._future: Future[IGOutcome] | None = None
        self._outcome: IGOutcome | None = None

    def start(self, pool: ProcessPoolExecutor) -> None:
        if self._text is not None and self._future is None:
            self._future = pool.submit(validate, self._text)
            self._text = None

    def done(self) -> bool:
        return self._outcome is not None or (self._future is not None and self._future.done())

    def result(self) -> IGOutcome:
        if self._outcome is None:
            if self._future is not None:
                self._outcome = self._future.result()
            else:
                assert self._text is not None
                self._outcome = validate(self._text)
            self._text, self._future = None, None
        return self._outcome


class IGValidator:
    """Hands out `Pending` outcomes; call `close()` when done (or use `with`)."""

    def __init__(
        self,
        jobs: int = 1,
        pool_factory: Callable[[int], ProcessPoolExecutor] = ProcessPoolExecutor,
    ) -> None:
        self.jobs = max(1, jobs)
        self._pool_factory = pool_factory
        self._pool: ProcessPoolExecutor | None = None
        self._waiting: Pending | None = None  # the first set, held until a second comes

    def submit(self, text: str) -> Pending:
        pending = Pending(text)
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
