"""Reading and checking inputs, one file and one claim at a time, never raising on bad input.

Anything that goes wrong while reading a file, from a missing permission to a defect in our
own parser, becomes a finding on that file; the claims read before it are kept and checked.
"""

from __future__ import annotations

import hashlib
import secrets
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, BinaryIO, cast

from edi_precheck import __version__
from edi_precheck.findings import Finding, file_finding
from edi_precheck.history.run import RunHistory
from edi_precheck.history.store import HistoryStore
from edi_precheck.logs import LibraryLogger
from edi_precheck.model import Claim, ClaimParser
from edi_precheck.model.patient import PatientKeyer
from edi_precheck.model.structure import SegmentSink
from edi_precheck.policy import Crosswalk, Policy, load_policies
from edi_precheck.report.results import FileResult, Report
from edi_precheck.rules import catalog
from edi_precheck.rules.runner import ClaimChecker, grade_file_findings
from edi_precheck.sources import Source

log = LibraryLogger("edi_precheck")


def _unreadable(message: str, hint: str) -> Finding:
    return file_finding("x12.unreadable", message, hint)


def read_claims(
    source: Source,
    result: FileResult,
    sinks: Sequence[SegmentSink] = (),
    on_bytes: Callable[[int], None] | None = None,
    skim_codes: frozenset[str] | None = None,
    keyer: PatientKeyer | None = None,
) -> Iterator[Claim]:
    """Yield the claims of `source`; counts and file-level findings land in `result`.

    `sinks` are handed every segment with its place in the structure (`model.structure`).
    `on_bytes` hears how many more bytes were read, for a progress bar. With `skim_codes`
    (and no sinks), claims that bill none of them and balance are counted but not yielded
    (`model.skim`). With `keyer`, each claim knows its patient as a keyed hash.
    """
    parser: ClaimParser | None = None
    reported = 0
    digest = hashlib.sha256()
    try:
        with source.open() as stream:
            hashed = cast(BinaryIO, _Hashing(stream, digest))
            parser = ClaimParser(hashed, sinks, skim_codes, keyer)
            for claim in parser:
                if on_bytes is not None and parser.reader.bytes_read != reported:
                    on_bytes(parser.reader.bytes_read - reported)
                    reported = parser.reader.bytes_read
                yield claim
    except OSError as error:
        result.reader_findings.append(
            _unreadable(
                f"cannot read the file: {error.strerror or type(error).__name__}",
                "check the path and its permissions",
            )
        )
    except Exception as error:  # a defect of ours must not lose the file's other claims
        log.error("reader.internal_error", file=source.name, error=type(error).__name__)
        result.reader_findings.append(
            _unreadable(
                f"reading stopped at an internal error ({type(error).__name__}); the claims "
                "before it were read",
                "report this file's structure (not its content) to the edi-precheck maintainers",
            )
        )
    finally:
        result.sha256 = digest.hexdigest()
        if parser is not None:
            if on_bytes is not None:
                on_bytes(parser.reader.bytes_read - reported)
            result.transaction_sets = parser.transaction_sets
            result.claims = parser.claims
            result.service_lines = parser.service_lines
            result.transaction_spans = parser.envelope.transaction_spans
            result.reader_findings[:0] = parser.findings


class _Hashing:
    """A stream that hashes what is read through it (the run's log names each input by its
    SHA-256)."""

    def __init__(self, stream: BinaryIO, digest: Any) -> None:
        self._stream = stream
        self._digest = digest

    def read(self, size: int = -1) -> bytes:
        chunk = self._stream.read(size)
        self._digest.update(chunk)
        return chunk


@dataclass(slots=True)
class _ReadFile:
    """A file whose claims are read and checked, its IG outcomes perhaps still pending.

    Claim findings wait in `pending` until nothing can come before them: at once without
    IG, else until the implementation-guide outcome of their transaction set is known, so
    that a claim's findings are handed on together and in segment order."""

    result: FileResult
    pending: list[Finding] = field(default_factory=list)
    validation: Any = None  # ig.session.FileValidation when IG runs

    def validation_done(self) -> bool:
        return self.validation is None or self.validation.done()


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
        # pyx12 pins its errors to claims, so with IG every claim is read in full.
        self._skim_codes = self.checker.skim_codes() if skim and not ig else None
        self.on_bytes: Callable[[int], None] | None = None  # progress, in bytes read
        self.on_findings: Callable[[FileResult, list[Finding]], None] | None = None
        self.keep_findings: int | None = None
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
        read = _ReadFile(FileResult(source.name, keep=self.keep_findings))
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
            if services:
                run.note(number, source.name, claim, services)
            read.result.checked_lines += covered
            if read.validation is None:
                if findings:
                    self._emit(read, findings)
            else:
                read.pending.extend(findings)
                read.validation.claim_read(claim)
        return read

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
            read.validation.finish()  # what is still pending comes through _resolved
        rest = [*read.pending, *self._graded(result.reader_findings)]
        read.pending, result.reader_findings = [], []
        if rest:
            self._emit(read, sorted(rest, key=_in_file_order))
        result.findings.sort(key=_in_file_order)  # those kept, in file order
        return result


def _in_file_order(finding: Finding) -> tuple[int, str]:
    return finding.segment_index or 0, finding.rule
