"""Reading and checking inputs, one file and one claim at a time, never raising on bad input.

Anything that goes wrong while reading a file, from a missing permission to a defect in our
own parser, becomes a finding on that file; the claims read before it are kept and checked.

With `jobs` above one, a large file is cut into units (`edi_precheck.units`) checked in
that many processes. Each process reads its unit's claims, runs the rules and the
implementation-guide checks, and hands back the findings with the history rules'
questions (`rules.runner`); this process asks those in file order, as each claim's turn
comes, and notes its services. The report is the one a single process makes, finding for
finding and in the same order.
"""

from __future__ import annotations

import itertools
import secrets
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, NamedTuple

from edi_precheck import __version__
from edi_precheck.findings import Finding, Severity, file_finding
from edi_precheck.history.run import RunHistory, correction_of
from edi_precheck.history.services import Service, ServiceHistory
from edi_precheck.history.store import Correction, HistoryStore
from edi_precheck.logs import LibraryLogger
from edi_precheck.model.patient import PatientKeyer
from edi_precheck.model.structure import SegmentSink
from edi_precheck.policy import Crosswalk, Policy, load_policies
from edi_precheck.processes import process_pool, start_method
from edi_precheck.reading import read_claims
from edi_precheck.report.results import FileResult, Report
from edi_precheck.rules import catalog
from edi_precheck.rules.runner import AskedQuestion, ClaimChecker, grade_file_findings
from edi_precheck.sources import Source, past
from edi_precheck.units import (
    SOUND_RULES,
    Unit,
    bills_often,
    envelope_pass,
    units_of,
)

# A file is cut into units for `jobs` processes from this size. A file makes about
# UNITS_PER_JOB units a process, so that one slow unit does not leave the others idle, each
# of MIN_UNIT_BYTES to MAX_UNIT_BYTES: at most `jobs` + 1 units (and what they found) are
# held at once, so memory stays flat however large the file.
CUT_FROM_BYTES = 4 * 1024 * 1024
# Without implementation-guide checks, an ordinary batch (few claims bill a covered code) is
# read at skim speed, and a second process would only add the pass that cuts it: a file is
# cut when, in its first SAMPLE_BYTES, covered codes are billed on at least DRUG_SHARE of
# as many lines as there are claims (a guess from the bytes; the report is the same either
# way, only the time differs).
SAMPLE_BYTES = 4 * 1024 * 1024
DRUG_SHARE = 0.1
MIN_UNIT_BYTES = 512 * 1024
MAX_UNIT_BYTES = 1024 * 1024
# A unit is held whole by the process that checks it: a file with a transaction set larger
# than this (10,000 claims in one ST) is read in one process, streamed.
LARGEST_SET_BYTES = 8 * 1024 * 1024
UNITS_PER_JOB = 4
# How often a unit's outcome is looked for while its pool may be breaking (a unit takes
# about a second; a unit lost in a broken pool is noticed this much later).
RESULT_POLL_SECONDS = 1.0

log = LibraryLogger("edi_precheck")


@dataclass(slots=True)
class _ReadFile:
    """A file whose claims are read and checked, its IG outcomes perhaps still pending.

    Claim findings wait in `pending` until nothing can come before them: at once without
    IG, else until the implementation-guide outcome of their transaction set is known, so
    that a claim's findings are handed on together and in segment order."""

    result: FileResult
    pending: list[Finding] = field(default_factory=list)
    validation: Any = None  # ig.session.FileValidation when IG runs
    unreadable: bool = False  # a unit of it could not be read: said once
    deadline: float | None = None  # the source's: past it, its sets are not validated

    def given_up(self) -> bool:
        """Whether the source's deadline has passed: its caller has stopped waiting."""
        return past(self.deadline)

    def validation_done(self) -> bool:
        return self.validation is None or self.validation.done()


class ClaimOutcome(NamedTuple):
    """What a process that checked a unit tells of one of its claims (in file terms)."""

    claim: int  # the claim's number in the file
    patient: str  # its patient's keyed hash ("" when unknown): what its questions are about
    transaction: int  # file position of its set's ST
    findings: list[Finding]  # of every rule but the history rules, in segment order
    correction: Correction
    services: list[Service]
    asked: list[AskedQuestion]  # the history rules' questions, in the unit's terms


@dataclass(slots=True)
class UnitOutcome:
    """A unit, checked: its claims and, with IG, each set's x12.ig findings by its SE."""

    unit: Unit  # without its bytes: the positions, to move the answers back
    size: int  # its bytes, for progress
    checked_lines: int
    claims: list[ClaimOutcome]
    sets: list[tuple[int, list[Finding]]]
    unread: list[Finding]  # reader findings of the unit itself (a sound file has none)
    counts: tuple[int, int, int]  # transaction sets, claims, service lines read


class _UnitJob(NamedTuple):
    """A unit handed to a process of `pool` (its future), or to be checked here (None)."""

    future: Future[UnitOutcome] | None
    unit: Unit
    pool: ProcessPoolExecutor | None


_worker_engine: Engine | None = None  # in a unit process: the engine it checks with


def _size(source: Source) -> int:
    """The bytes of a file or of bytes in memory (0 for standard input, read once)."""
    if source.data is not None:
        return len(source.data)
    return source.path.stat().st_size if source.path is not None else 0


_Settings = tuple["date | None", bool, str, bool]  # today, ig, ig_engine, skim


def _units_engine(
    settings: _Settings, loaded: tuple[list[Policy], Crosswalk], keyer: PatientKeyer
) -> Engine:
    """The engine units are checked with: the same policies, settings and patient key
    (so that patients hash alike), one process, no history (the questions come back)."""
    today, ig, ig_engine, skim = settings
    engine = Engine(today=today, ig=ig, ig_engine=ig_engine, jobs=1, skim=skim, loaded=loaded)
    engine.keyer = keyer
    return engine


def _unreadable(unit: Unit, error: OSError) -> Finding:
    """What to say of a unit that could not be read once its file was cut: its claims go
    unchecked (said once per file: see `_merge`)."""
    return file_finding(
        "x12.unreadable",
        f"cannot read the file any more ({error.strerror or type(error).__name__}): the "
        f"claims of segments {unit.first_index} to {unit.last_index} on, read after it was "
        "cut into units, were not checked",
        "keep the file in place, unchanged, until its check has finished",
        segment_index=unit.first_index,
    )


def _result(job: _UnitJob) -> UnitOutcome:
    """A unit's outcome from its process. A pool that breaks while a unit is handed to it
    may never settle that unit's future: one of a broken pool fails, settled or not."""
    assert job.future is not None and job.pool is not None
    while True:
        try:
            return job.future.result(timeout=RESULT_POLL_SECONDS)
        except TimeoutError:
            if getattr(job.pool, "_broken", False):  # the standard library's own flag
                raise BrokenProcessPool("the unit's process pool broke") from None


def _start_worker(
    settings: _Settings, loaded: tuple[list[Policy], Crosswalk], keyer: PatientKeyer
) -> None:
    global _worker_engine
    _worker_engine = _units_engine(settings, loaded, keyer)


def _check_unit(source: Source, unit: Unit, today: date | None) -> UnitOutcome:
    assert _worker_engine is not None
    return _worker_engine.read_and_check_unit(source, unit, today)


class Engine:
    """Policies, crosswalk and rules loaded once; then any number of inputs checked.

    With `ig`, pyx12 validates each transaction set against the implementation guide too
    (in `jobs` processes); with `acknowledge` as well, `ack_text()` is the 999 of
    everything checked (kept until the engine is gone, so not for long-lived engines).
    `today` fixes the date claims are checked against (default: each day's). `loaded`
    gives policies and crosswalk already loaded and validated, instead of their paths. `skim=False`
    builds every claim, even those no check can find anything in (`model.skim`): slower,
    same report. Raises `PolicyError` / `CrosswalkError` when they cannot be loaded: the
    run cannot proceed before any EDI is read. Close it (or use `with`) to stop worker
    processes.

    Findings are handed to `on_findings(result, findings)`, when set, as soon as they are
    final (a claim's once its transaction set is validated), for a caller that writes them
    out as they come; each `FileResult` keeps at most `keep_findings` of them (None: all).

    Each claim is compared with those read before it in the same run (one `check_all` or
    `check` call) and, with `history`, with the services on record there
    (`units.frequency`, `claim.duplicate`). Patients are hashed with the store's site key,
    else with a key made for this engine and never kept.

    `check_all` checks a file of `CUT_FROM_BYTES` or more in `jobs` processes (see the
    module's docstring) unless segment sinks or a 999 need it read in one pass.
    """

    def __init__(
        self,
        policy_paths: Iterable[Path] = (),
        crosswalk_path: Path | None = None,
        today: date | None = None,
        ig: bool = False,
        ig_engine: str = "native",
        jobs: int = 1,
        skim: bool = True,
        acknowledge: bool = False,
        history: HistoryStore | None = None,
        loaded: tuple[list[Policy], Crosswalk] | None = None,
    ) -> None:
        self.history = history
        self.keyer = history.keyer if history is not None else PatientKeyer(secrets.token_bytes(32))
        if loaded is not None:  # validated elsewhere (a Spark driver ships them to executors)
            self.policies, self.crosswalk = list(loaded[0]), loaded[1]
        else:
            self.policies = load_policies(policy_paths, catalog().keys())
            self.crosswalk = Crosswalk.load(crosswalk_path)
        self.checker = ClaimChecker(self.policies, self.crosswalk, today)
        self.ig = ig
        self.jobs = max(1, jobs)
        # what a unit process's engine takes
        self._settings: _Settings = (today, ig, ig_engine, skim)
        self._unit_pool: ProcessPoolExecutor | None = None
        self._units_checker: Engine | None = None
        # pyx12 pins its errors to claims, so with IG every claim is read in full.
        self._skim_codes = self.checker.skim_codes() if skim and not ig else None
        self.on_bytes: Callable[[int], None] | None = None  # progress, in bytes read
        self.on_findings: Callable[[FileResult, list[Finding]], None] | None = None
        self.keep_findings: int | None = None
        # A claim with a finding at or above this is held back (split) or must be fixed
        # (check): later claims of the run are not compared with it, as it is not sent.
        # None: every claim read counts (files already sent: `history record`).
        self.holds_at: Severity | None = Severity.ERROR
        self._validator: Any = None
        self._ack: Any = None
        if ig:  # imported here so that a run without IG never loads pyx12
            from edi_precheck.ig.ack import AckBuilder
            from edi_precheck.ig.validator import IGValidator

            self._validator = IGValidator(jobs, engine=ig_engine)
            self._ack = AckBuilder() if acknowledge else None
        for policy in self.policies:
            log.debug(
                "policy.loaded",
                policy=policy.id,
                version=policy.version,
                source=policy.source,
                layers=[f"{layer.id} {layer.version}" for layer in policy.layers],
            )

    def close(self) -> None:
        if self._unit_pool is not None:
            # Waits for the units in flight (at most jobs + 1, when a run is abandoned):
            # cancelling them would gain nothing, and a pool stopped while its queue is
            # being cancelled can leave its manager thread waiting forever.
            self._unit_pool.shutdown(wait=True)
            self._unit_pool = None
        if self._units_checker is not None:
            self._units_checker.close()
        if self._validator is not None:
            self._validator.close()
        if self.history is not None:
            self.history.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def ack_text(self) -> str:
        """The 999 acknowledgment of every transaction set validated so far."""
        return self._ack.text() if self._ack is not None else ""

    def new_report(self) -> Report:
        return Report(
            __version__,
            [
                (p.id, p.version, tuple((layer.id, layer.version) for layer in p.layers))
                for p in self.policies
            ],
        )

    def check(
        self, source: Source, sinks: Sequence[SegmentSink] = (), today: date | None = None
    ) -> FileResult:
        """Check every claim of `source`; `sinks` see its segments as they are read;
        `today`, when given, is the date of this check (else the engine's, else the day's).

        Safe to call from several threads at once: the engine's loaded policies, rules and
        code sets are read-only once loaded, and what loads lazily loads under a lock."""
        run = RunHistory(self.history)
        try:
            return self._finish(self._read(source, run, 0, sinks, today))
        finally:
            run.close()

    def check_all(
        self,
        sources: Iterable[Source],
        sinks_for: Callable[[Source], Sequence[SegmentSink]] | None = None,
        run: RunHistory | None = None,
    ) -> Iterator[FileResult]:
        """Check `sources` in order, reading the next file while pyx12 validates the last.

        Results come in input order; at most `jobs` files wait for validation at once.
        `sinks_for(source)` names the sinks that see a file's segments as it is read. The
        claims are compared across the files; `run` is what they are noted in (its file
        numbers count the sources from 0), for a caller that acts on them afterwards.
        """
        window = self._validator.jobs if self._validator is not None else 0
        waiting: deque[_ReadFile] = deque()
        own_run = run is None
        run = run if run is not None else RunHistory(self.history)
        try:
            for number, source in enumerate(sources):
                sinks = sinks_for(source) if sinks_for else ()
                if not sinks and self._worth_cutting(source):
                    while waiting:  # the files before it come first
                        yield self._finish(waiting.popleft())
                    cut = self._check_in_units(source, run, number)
                    if cut is not None:
                        yield cut
                        continue
                waiting.append(self._read(source, run, number, sinks))
                while waiting and (len(waiting) > window or waiting[0].validation_done()):
                    yield self._finish(waiting.popleft())
            while waiting:
                yield self._finish(waiting.popleft())
        finally:
            if own_run:
                run.close()

    def _read(
        self,
        source: Source,
        run: RunHistory,
        number: int,
        sinks: Sequence[SegmentSink] = (),
        today: date | None = None,
    ) -> _ReadFile:
        """Read and rule-check every claim of `source` (file `number` of `run`); IG outcomes
        may still be pending."""
        read = _ReadFile(FileResult(source.name, keep=self.keep_findings), deadline=source.deadline)
        if self._validator is not None:
            from edi_precheck.ig.session import FileValidation

            read.validation = FileValidation(
                source.name,
                self._validator,
                self._ack,
                on_resolved=lambda se_index, found: self._resolved(read, se_index, found),
            )
            sinks = (read.validation, *sinks)
        claims = read_claims(
            source, read.result, sinks, self.on_bytes, self._skim_codes, self.keyer
        )
        for claim in claims:
            findings, covered, services = self.checker.check(claim, today, run)
            if services and self.sends(findings):
                run.note(number, source.name, claim, services)
            read.result.checked_lines += covered
            if read.validation is None:
                if findings:
                    self._emit(read, findings)
            else:
                read.pending.extend(findings)
                read.validation.claim_read(claim)
        return read

    # -- a large file, in units checked by other processes --------------------------------

    def _worth_cutting(self, source: Source) -> bool:
        """Whether `source` is a file to check in units: several processes, no 999 to
        build in file order, a file on disk or in memory of `CUT_FROM_BYTES` or more, and
        (without IG, where an ordinary batch is skimmed) one that bills covered codes."""
        if self.jobs < 2 or self._ack is not None:
            return False
        try:
            return _size(source) >= CUT_FROM_BYTES and (
                self._skim_codes is None
                or bills_often(source, self._skim_codes, DRUG_SHARE, SAMPLE_BYTES)
            )
        except OSError:
            return False  # the reader says why

    def _unit_bytes(self, size: int) -> int:
        return max(MIN_UNIT_BYTES, min(MAX_UNIT_BYTES, size // (self.jobs * UNITS_PER_JOB)))

    def _unit_engine(self) -> Engine:
        """The engine this process checks a unit with, should its process fail."""
        if self._units_checker is None:
            self._units_checker = _units_engine(
                self._settings, (self.policies, self.crosswalk), self.keyer
            )
        return self._units_checker

    def _pool(self) -> ProcessPoolExecutor:
        """The unit processes, each with an engine like `_unit_engine()`."""
        if self._unit_pool is None:
            self._unit_pool = process_pool(
                self.jobs,
                preload=["edi_precheck.engine"],
                initializer=_start_worker,
                initargs=(self._settings, (self.policies, self.crosswalk), self.keyer),
            )
            log.debug("units.processes", processes=self.jobs, start=start_method())
        return self._unit_pool

    def _submit(self, source: Source, unit: Unit) -> _UnitJob:
        for _attempt in range(2):
            pool = self._pool()
            try:
                return _UnitJob(
                    pool.submit(_check_unit, source, unit, self._settings[0]), unit, pool
                )
            except Exception:  # broken by a process that died, or no process could start
                self._retire(pool)
        return _UnitJob(None, unit, None)  # this process checks it

    def _retire(self, pool: ProcessPoolExecutor) -> None:
        """Stop a pool whose process died (the others are stopped with it); the next unit
        starts new processes. Only that pool: a newer one goes on with its units."""
        if pool is self._unit_pool:
            self._unit_pool = None
        # A pool whose processes did not all start has no thread to stop those that did:
        # they are stopped here, or the interpreter would wait for them at exit.
        started = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=True)
        for process in started:
            if process.is_alive():
                process.terminate()
                process.join()

    def _outcome(self, job: _UnitJob, source: Source) -> UnitOutcome:
        """A unit's outcome from its process; should the process fail (killed, out of
        memory), the unit is checked here instead: the same outcome, later."""
        if job.future is not None and job.pool is not None:
            try:
                return _result(job)
            except Exception as error:
                log.warning(
                    "units.process_failed",
                    file=source.name,
                    unit=job.unit.number,
                    error=type(error).__name__,
                    effect="the unit is checked in the main process",
                )
                if isinstance(error, BrokenProcessPool):
                    self._retire(job.pool)
        return self._unit_engine().read_and_check_unit(source, job.unit, self._settings[0])

    def read_and_check_unit(
        self, source: Source, unit: Unit, today: date | None = None
    ) -> UnitOutcome:
        """Read a cut unit's bytes from its file and check them; a unit that can no longer
        be read is an outcome too (not a failure of the process that tried)."""
        try:
            read = unit.read(source)
        except OSError as error:  # the file was moved or its disk failed after it was cut
            said = self._graded([_unreadable(unit, error)])  # a policy may turn it off
            return UnitOutcome(unit.without_bytes(), 0, 0, [], [], said, (0, 0, 0))
        return self.check_unit(read, today)

    def _check_in_units(self, source: Source, run: RunHistory, number: int) -> FileResult | None:
        """Check `source` in units, or None when it cannot be cut (it is then read here)."""
        envelope = envelope_pass(source)
        size = _size(source)
        # A file's units are read by the process that checks them; bytes in memory (the
        # library's callers) go with their unit.
        units = units_of(
            source,
            envelope,
            self._unit_bytes(size),
            read=source.path is None,
            largest_set=LARGEST_SET_BYTES,
        )
        sent = Source(source.name, source.path)
        try:
            first, second = next(units, None), next(units, None)
        except OSError:
            return None  # read in one process, whose reader reports why it cannot be
        if first is None or second is None:
            return None  # not cut, or into one unit: nothing to share out
        read = _ReadFile(FileResult(source.name, keep=self.keep_findings), deadline=source.deadline)
        result = read.result
        result.sha256 = envelope.sha256
        result.transaction_sets = envelope.transaction_sets
        result.claims = envelope.claims
        result.service_lines = envelope.service_lines
        result.transaction_spans = envelope.transaction_spans
        set_of = {se: st for st, se in envelope.transaction_spans}
        in_flight: deque[_UnitJob] = deque([self._submit(sent, first)])
        reported, count = 0, 1
        for unit in itertools.chain([second], units):
            count += 1
            in_flight.append(self._submit(sent, unit))
            if len(in_flight) > self.jobs:
                outcome = self._outcome(in_flight.popleft(), sent)
                reported += self._merge(read, outcome, run, number, set_of)
        while in_flight:
            outcome = self._outcome(in_flight.popleft(), sent)
            reported += self._merge(read, outcome, run, number, set_of)
        if self.on_bytes is not None:
            self.on_bytes(max(0, size - reported))
        log.debug("file.units", file=source.name, units=count, processes=self.jobs)
        read.result.reader_findings = list(envelope.reader_findings)
        return self._finish(read)

    def _merge(
        self,
        read: _ReadFile,
        outcome: UnitOutcome,
        run: RunHistory,
        number: int,
        set_of: dict[int, int],
    ) -> int:
        """Take in a unit's outcome: ask its claims' history questions in file order, note
        their services, hand on the findings as one process would have; the bytes done."""
        unit, name = outcome.unit, read.result.name
        read.result.checked_lines += outcome.checked_lines
        by_set: dict[int, list[Finding]] = {}
        for claim in outcome.claims:
            findings = claim.findings
            if claim.asked and (answers := self.answer(claim, unit, run)):
                findings = sorted([*findings, *answers], key=_in_file_order)
            if claim.services and self.sends(findings):
                run.note_services(number, name, claim.claim, claim.correction, claim.services)
            if not self.ig:
                if findings:
                    self._emit(read, findings)
            else:
                by_set.setdefault(claim.transaction, []).extend(findings)
        for se_index, found in outcome.sets:  # in set order, as the validator resolves them
            batch = [*by_set.pop(set_of.get(se_index, -1), []), *found]
            if batch:
                self._emit(read, sorted(batch, key=_in_file_order))
        unread = outcome.unread
        if read.unreadable:  # the file is said to be unreadable once
            unread = [f for f in unread if f.rule != "x12.unreadable"]
        read.unreadable = read.unreadable or any(f.rule == "x12.unreadable" for f in unread)
        leftover = [f for findings in by_set.values() for f in findings] + unread
        if leftover:
            self._emit(read, sorted(leftover, key=_in_file_order))
        if self.on_bytes is not None:
            self.on_bytes(outcome.size)
        return outcome.size

    def check_unit(self, unit: Unit, today: date | None = None) -> UnitOutcome:
        """Check one unit (in a unit process, or a Spark task): every rule but the history
        rules, whose questions go back unanswered (`answer`), and the implementation guide;
        in file terms."""
        result = FileResult(unit.file)
        sets: list[tuple[int, list[Finding]]] = []
        claims: list[ClaimOutcome] = []
        sinks: tuple[SegmentSink, ...] = ()
        validation = None
        if self._validator is not None:
            from edi_precheck.ig.session import FileValidation

            def resolved(se_index: int, found: list[Finding]) -> None:
                moved = [m for f in self._graded(found) if (m := unit.moved(f)) is not None]
                sets.append((unit.file_index(se_index) or 0, moved))

            validation = FileValidation(unit.file, self._validator, None, resolved)
            sinks = (validation,)
        source = Source(unit.file, None, unit.data)
        for claim in read_claims(source, result, sinks, None, self._skim_codes, self.keyer):
            findings, covered, services, asked = self.checker.check_apart(claim, today)
            result.checked_lines += covered
            if findings or services or asked:
                claims.append(
                    ClaimOutcome(
                        unit.file_claim(claim.index),
                        claim.patient,
                        unit.file_index(claim.transaction.segment_index) or 0,
                        [m for f in findings if (m := unit.moved(f)) is not None],
                        correction_of(claim),
                        services,
                        asked,
                    )
                )
            if validation is not None:
                validation.claim_read(claim)
        if validation is not None:
            validation.finish()
        unread = [
            moved
            for finding in self._graded(result.reader_findings)
            # a cut file's envelope pass reports these once, for the whole file
            if (unit.whole or finding.rule not in SOUND_RULES)
            and (moved := unit.moved(finding)) is not None
        ]
        return UnitOutcome(
            unit.without_bytes(),
            len(unit.data),
            result.checked_lines,
            claims,
            sets,
            unread,
            (result.transaction_sets, result.claims, result.service_lines),
        )

    def sends(self, findings: Iterable[Finding]) -> bool:
        """Whether a claim with `findings` (its rules' and its history questions') goes
        out, so that the claims after it are compared with it (see `holds_at`)."""
        holds_at = self.holds_at
        return holds_at is None or all(finding.severity < holds_at for finding in findings)

    def answer(
        self, claim: ClaimOutcome, unit: Unit, history: ServiceHistory | None
    ) -> list[Finding]:
        """The findings of a unit's claim's history questions, asked of `history` (which
        holds the claims before it), in file terms."""
        return [
            moved
            for found in self.checker.answer(claim.asked, history)
            if (moved := unit.moved(found)) is not None
        ]

    def _resolved(self, read: _ReadFile, se_index: int, found: list[Finding]) -> None:
        """A transaction set's IG findings are in: hand them on with the claim findings
        of the set and before it."""
        ready = [f for f in read.pending if (f.segment_index or 0) <= se_index]
        if ready:
            read.pending = [f for f in read.pending if (f.segment_index or 0) > se_index]
        graded = self._graded(found)
        if ready or graded:
            self._emit(read, sorted([*ready, *graded], key=_in_file_order))

    def _graded(self, findings: list[Finding]) -> list[Finding]:
        """File-level findings as the policy grades them (the first policy's grades)."""
        return grade_file_findings(findings, self.policies[0] if self.policies else None)

    def _emit(self, read: _ReadFile, findings: list[Finding]) -> None:
        for finding in findings:
            read.result.add(finding)
        if self.on_findings is not None:
            self.on_findings(read.result, findings)

    def _finish(self, read: _ReadFile) -> FileResult:
        result = read.result
        if read.validation is not None:
            if read.given_up():  # no one waits for the sets still pending: not validated
                read.validation.abandon()
            read.validation.finish()  # what is still pending comes through _resolved
        rest = [*read.pending, *self._graded(result.reader_findings)]
        read.pending, result.reader_findings = [], []
        if rest:
            self._emit(read, sorted(rest, key=_in_file_order))
        result.findings.sort(key=_in_file_order)  # those kept, in file order
        return result


def _in_file_order(finding: Finding) -> tuple[int, str]:
    return finding.segment_index or 0, finding.rule
