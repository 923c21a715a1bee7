"""Split checked 837 files into clean claims (send now) and held claims (fix first).

Each file is read once: while it is checked (every rule, and pyx12 unless switched off),
a `ClaimSpool` keeps every claim span the parser marks; once its findings are known, every
claim goes to exactly one output, by the span its findings were made on. A claim is held
when one of its findings reaches the threshold, or when a file-level finding at or above it
(a damaged segment, an implementation-guide error in the billing provider loop, a truncated
transfer) lies in its transaction set: those claims cannot be vouched for. A claim that no
valid 837 can be written for (one the file ends inside, one in a transaction set that is not
read, one outside any set) is not written, and the summary says why: every CLM of the input
is clean, held or not written.

With a history store (the engine's), the whole split is the store's one writer: the clean
claims' services are recorded as they are written, and committed only once both outputs
are in place; a split that fails records nothing.
"""

from __future__ import annotations

import bisect
import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edi_precheck.engine import Engine
from edi_precheck.findings import Finding, Severity
from edi_precheck.history.run import RunHistory
from edi_precheck.report.claim_files import CUT_OFF, ClaimSpool, Renumbered, atomic_output
from edi_precheck.report.control_numbers import ControlNumbers, NumberSource
from edi_precheck.report.results import FileResult, Report
from edi_precheck.sources import Source

CLEAN, HELD, NOT_WRITTEN = "clean", "held", "not written"
# What the summary says of each finding of a held claim.
HELD_FINDING_FIELDS = (
    "rule",
    "severity",
    "line",
    "code",
    "segment_index",
    "message",
    "hint",
    "denial",
)


class SplitMismatch(RuntimeError):
    """The claims the split holds are not the claims the check read: a defect of ours, and
    no output may be sent (the run stops with exit 2 and removes its outputs)."""

    def __init__(self, file: str, segment_index: int | None) -> None:
        where = f" at segment {segment_index}" if segment_index is not None else ""
        super().__init__(f"{file}: the split's claims and the check's disagree{where}")


@dataclass(frozen=True, slots=True)
class ClaimRoute:
    """Where one claim went, and why."""

    file: str
    claim_index: int | None  # None for a claim the check did not read (see reasons)
    segment_index: int  # of its CLM: where it is in the file
    claim_id: str
    output: str  # clean, held or not written
    reasons: tuple[str, ...] = ()
    findings: tuple[Finding, ...] = ()  # a held claim's, for the people who fix it

    def to_dict(self) -> dict[str, Any]:
        record: dict[str, Any] = {
            "file": self.file,
            "claim_index": self.claim_index,
            "segment_index": self.segment_index,
            "claim_id": self.claim_id,
            "output": self.output,
            "reasons": list(self.reasons),
        }
        if self.output == HELD:
            record["findings"] = [
                {
                    key: value
                    for key, value in finding.to_dict().items()
                    if key in HELD_FINDING_FIELDS
                }
                for finding in self.findings
            ]
        return record


@dataclass(slots=True)
class SplitResult:
    report: Report
    counts: dict[str, int] = field(default_factory=lambda: {CLEAN: 0, HELD: 0, NOT_WRITTEN: 0})
    renumbered: list[Renumbered] = field(default_factory=list)  # each output set's numbers
    recorded: int = 0  # services of clean claims newly on record in the history store


class _Decisions:
    """The held claims of one checked file, from its findings as they come."""

    def __init__(self, threshold: Severity | None) -> None:
        self._threshold = threshold
        self.by_claim: dict[int, list[str]] = {}
        self.findings_of: dict[int, list[Finding]] = {}  # every finding of a claim
        self.by_transaction: dict[int, list[str]] = {}
        self._file_level: list[tuple[int, str]] = []  # (segment position, rule)

    def add(self, findings: list[Finding]) -> None:
        if self._threshold is None:
            return
        for finding in findings:
            if finding.claim_index is not None:
                self.findings_of.setdefault(finding.claim_index, []).append(finding)
            if finding.severity < self._threshold:
                continue
            if finding.claim_index is not None:
                self.by_claim.setdefault(finding.claim_index, []).append(finding.rule)
            elif finding.segment_index is not None:
                self._file_level.append((finding.segment_index, finding.rule))

    def settle(self, result: FileResult) -> None:
        """Hold the transaction sets the file-level findings lie in (their spans are known
        once the file is read)."""
        starts = [start for start, _ in result.transaction_spans]
        ends = dict(result.transaction_spans)
        for segment_index, rule in self._file_level:
            position = bisect.bisect_right(starts, segment_index) - 1
            if position >= 0 and segment_index <= ends[starts[position]]:
                reason = f"{rule} in its transaction set"
                self.by_transaction.setdefault(starts[position], []).append(reason)

    def reasons(self, claim_index: int, transaction_start: int) -> tuple[str, ...]:
        reasons = self.by_claim.get(claim_index, []) + self.by_transaction.get(
            transaction_start, []
        )
        return tuple(dict.fromkeys(reasons))


@contextlib.contextmanager
def _removed_on_failure(*paths: Path) -> Iterator[None]:
    """Remove `paths` when the block fails, whatever the reason (a signal too): an earlier
    run's clean file left in place could be sent by mistake."""
    try:
        yield
    except BaseException:
        for path in paths:
            with contextlib.suppress(OSError):
                path.unlink(missing_ok=True)
        raise


def split(
    engine: Engine,
    sources: list[Source],
    clean_path: Path,
    held_path: Path,
    threshold: Severity | None,
    on_route: Callable[[ClaimRoute], None],
    on_file: Callable[[FileResult], None] | None = None,
    numbers: NumberSource | None = None,
    on_findings: Callable[[FileResult, list[Finding]], None] | None = None,
) -> SplitResult:
    """Check `sources` and write their claims to `clean_path` and `held_path`. A run that
    fails part-way removes both outputs."""
    numbers = numbers or ControlNumbers()
    outcome = SplitResult(engine.new_report())
    decisions_of: dict[int, _Decisions] = {}

    def decide(result: FileResult, findings: list[Finding]) -> None:
        decisions_of.setdefault(id(result), _Decisions(threshold)).add(findings)
        if on_findings is not None:
            on_findings(result, findings)

    engine.on_findings = decide
    engine.keep_findings = 0  # decided as they come: a split keeps no findings
    spools: dict[int, ClaimSpool] = {}

    def spool_for(source: Source) -> list[ClaimSpool]:
        spools[id(source)] = ClaimSpool()
        return [spools[id(source)]]

    store = engine.history
    run = RunHistory(store)
    with (
        _removed_on_failure(clean_path, held_path),
        store.writing() if store is not None else contextlib.nullcontext(),
        atomic_output(clean_path, CLEAN, numbers) as clean,
        atomic_output(held_path, HELD, numbers) as held,
    ):
        results = engine.check_all(sources, sinks_for=spool_for, run=run)
        for number, (source, result) in enumerate(zip(sources, results, strict=True)):
            outcome.report.files.append(result)
            if on_file is not None:
                on_file(result)
            decisions = decisions_of.pop(id(result), None) or _Decisions(threshold)
            decisions.settle(result)
            read = 0  # claims the check read, as the spool numbers them
            for unit in spools.pop(id(source)).units():
                if unit.ordinal is not None and unit.not_written != CUT_OFF:
                    read += 1
                    if unit.ordinal != read:
                        raise SplitMismatch(source.name, unit.segment_index)
                reasons: tuple[str, ...]
                if unit.not_written:
                    name, reasons, target = NOT_WRITTEN, (unit.not_written,), None
                else:
                    assert unit.ordinal is not None
                    reasons = decisions.reasons(unit.ordinal, unit.envelope[2])
                    name, target = (HELD, held) if reasons else (CLEAN, clean)
                if target is not None:
                    target.add(source.name, unit)
                if name == CLEAN and store is not None and unit.ordinal is not None:
                    services, correction = run.of_claim(number, unit.ordinal)
                    if services:
                        outcome.recorded += store.record(services, correction)
                outcome.counts[name] += 1
                held_for = decisions.findings_of.pop(unit.ordinal, []) if unit.ordinal else []
                on_route(
                    ClaimRoute(
                        source.name,
                        unit.ordinal,
                        unit.segment_index,
                        unit.claim_id,
                        name,
                        reasons,
                        tuple(held_for) if name == HELD else (),
                    )
                )
            if read != result.claims:
                raise SplitMismatch(source.name, None)
    run.close()
    outcome.renumbered = clean.renumbered + held.renumbered
    return outcome
