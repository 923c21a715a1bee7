"""A large file checked in units by several processes (`--jobs`) reports what one process
reports: the same findings in the same order, the same counts, claims compared across the
whole run (within a unit, across units, across files, with a history store)."""

from __future__ import annotations

import errno
import io
import json
import multiprocessing
import os
import re
import threading
from pathlib import Path
from typing import Any

import pytest

from conftest import FIXTURES, log_events, real_files, run_cli
from edi_precheck import engine as engine_module
from edi_precheck import processes
from edi_precheck.engine import Engine
from edi_precheck.sources import Source
from edi_precheck.synth import write_837p
from edi_precheck.units import SOUND_RULES, envelope_pass, units_of
from test_rule_cases import CASES, build, overlays


@pytest.fixture
def cut_small(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every file is cut, into units of about one transaction set."""
    monkeypatch.setattr(engine_module, "CUT_FROM_BYTES", 1)
    monkeypatch.setattr(engine_module, "DRUG_SHARE", 0)
    monkeypatch.setattr(engine_module, "MIN_UNIT_BYTES", 1)
    monkeypatch.setattr(engine_module, "MAX_UNIT_BYTES", 1500)


def batch(claims: int, seed: int, per_set: int = 40) -> bytes:
    """A synthetic 837P whose patients come back in later sets (the synthetic patients
    are drawn from a small pool): duplicates and early doses across units."""
    out = io.BytesIO()
    write_837p(out, claims, seed=seed, claims_per_st=per_set, drug_share=0.9)
    return out.getvalue()


def run(sources: list[Source], jobs: int, **options: Any) -> tuple[dict, list]:
    """What `check_all` hands on, file by file and finding by finding in order (with IG,
    one file's last findings may come after the next file's first, as its sets resolve),
    and each file's result."""
    emitted: dict[str, list[dict]] = {}
    with Engine(jobs=jobs, **options) as engine:
        engine.on_findings = lambda result, found: emitted.setdefault(result.name, []).extend(
            finding.to_dict() for finding in found
        )
        results = [
            (
                r.name,
                r.sha256,
                r.transaction_sets,
                r.claims,
                r.service_lines,
                r.checked_lines,
                [f.to_dict() for f in r.findings],
            )
            for r in engine.check_all(sources)
        ]
    return emitted, results


def assert_same(sources: list[Source], **options: Any) -> list:
    alone = run(sources, 1, **options)
    assert run(sources, 2, **options) == alone
    return alone[0]


def test_units_cover_every_set_the_parser_reads_once(tmp_path: Path):
    data = batch(400, seed=3)
    source = Source("batch.837", None, data)
    envelope = envelope_pass(source)
    units = list(units_of(source, envelope, 3000))
    assert len(units) == envelope.transaction_sets == 10
    assert sum(unit.data.count(b"~CLM*") for unit in units) == envelope.claims == 400
    assert [u.claims_before for u in units] == list(range(0, 400, 40))
    for unit in units:  # each a standalone interchange that reads cleanly
        result = Engine().check(Source("unit.837", None, unit.data))
        assert result.claims == 40 and not [f for f in result.findings if f.rule == "x12.envelope"]


def test_a_batch_in_units_reports_what_one_process_does(cut_small: None):
    first = batch(600, 1)
    sources = [
        Source("batch1.837", None, first),
        Source("batch2.837", None, batch(600, 2)),
        Source("resent.837", None, first),  # every drug line a duplicate of batch1's
    ]
    emitted = assert_same(sources)
    messages = [finding["message"] for found in emitted.values() for finding in found]
    across = [m for m in messages if re.search(r"\(claim (\d+) of batch1\.837\)", m)]
    assert len(across) > 20  # compared with claims of other sets, and of the other file
    within = [m for m in messages if re.search(r"\(claim (\d+) of batch2\.837\)", m)]
    assert len(within) > 20  # within the same file, in other units
    duplicates = [f for f in emitted["resent.837"] if f["rule"] == "claim.duplicate"]
    assert len(duplicates) > 500


def test_with_implementation_guide_checks_too(cut_small: None):
    data = batch(200, seed=5).replace(b"~DTP*472*D8*2026", b"~DTP*472*D8*X026", 7)
    emitted = assert_same([Source("batch.837", None, data)], ig=True)
    assert any(finding["rule"] == "x12.ig" for finding in emitted["batch.837"])


def test_with_a_history_store(cut_small: None, tmp_path: Path, store_url: str):
    """Yesterday's batch on record: today's claims are compared with it and with each other
    the same way in one process and in several."""
    yesterday, today = tmp_path / "yesterday.837", tmp_path / "today.837"
    yesterday.write_bytes(batch(200, seed=9))
    today.write_bytes(batch(200, seed=9).replace(b"*20260", b"*20261"))  # later dates
    recorded = run_cli("history", "record", "--history", store_url, str(yesterday))
    assert recorded.exit_code == 0, recorded.output
    outputs = [
        run_cli(
            "check",
            "--no-ig",
            "--history",
            store_url,
            "--jobs",
            jobs,
            "--format",
            "jsonl",
            str(today),
            str(yesterday),
            log_level="error",
        )
        for jobs in ("1", "2")
    ]
    assert outputs[0].stdout == outputs[1].stdout
    assert outputs[0].stdout.count("recorded") > 50  # compared with what is on record


@pytest.mark.parametrize("ig", [False, True], ids=["rules", "rules-and-ig"])
def test_every_fixture_real_file_and_rule_case_reports_the_same(cut_small: None, ig: bool):
    files = sorted(p for p in FIXTURES.rglob("*.837") if p.is_file()) + real_files()
    sources = [Source(str(path), path) for path in files]
    sources += [Source(case["name"], None, build(case)) for _, case in CASES if not overlays(case)]
    # The rule cases again, as one batch of interchanges (a one-set file is not cut): those
    # whose envelope is sound, so that the batch is cut into units.
    sound = [
        source.data
        for source in sources[-len(CASES) :]
        if source.data is not None
        and not {f.rule for f in envelope_pass(source).reader_findings} - SOUND_RULES
    ]
    batch_of_cases = Source("cases.837", None, b"\n".join(sound))
    assert (
        len(sound) > 100
        and len(list(units_of(batch_of_cases, envelope_pass(batch_of_cases), 1))) > 100
    )
    assert len(sources) > 60
    assert_same([*sources, batch_of_cases], ig=ig)


def test_the_command_line_reports_the_same_with_jobs(tmp_path: Path):
    path = tmp_path / "large.837"
    with path.open("wb") as out:  # over CUT_FROM_BYTES: cut without any setting changed
        write_837p(out, 10_000, seed=4, claims_per_st=1_000, drug_share=0.9)
    assert path.stat().st_size > engine_module.CUT_FROM_BYTES
    outputs = [
        run_cli("check", "--no-ig", "--jobs", jobs, "--format", "jsonl", str(path))
        for jobs in ("1", "2")
    ]
    assert outputs[0].exit_code == outputs[1].exit_code == 1
    assert outputs[0].stdout == outputs[1].stdout
    assert outputs[0].stdout.count('"type": "finding"') > 100
    cut = [e for e in log_events(outputs[1]) if e.get("event") == "file.units"]
    assert cut and cut[0]["units"] >= 2 and cut[0]["processes"] == 2
    assert not [e for e in log_events(outputs[0]) if e.get("event") == "file.units"]


class Events:
    """Stands in for the engine's logger: the events it logs, in order."""

    def __init__(self) -> None:
        self.logged: list[dict] = []

    def _record(self, event: str, **fields: Any) -> None:
        self.logged.append({"event": event, **fields})

    debug = warning = _record

    def named(self, event: str) -> list[dict]:
        return [e for e in self.logged if e["event"] == event]


_check_unit = engine_module._check_unit


def _dying_at_unit_2(source: Source, unit: Any, today: Any) -> Any:
    """A unit process's work, but the process dies at unit 2 (module level: the pool
    sends it to its processes by name)."""
    if unit.number == 2:
        os._exit(9)
    return _check_unit(source, unit, today)


def test_a_unit_process_that_dies_costs_time_not_findings(cut_small: None, monkeypatch):
    """A unit process killed mid-run (out of memory, a signal): its units are checked in
    the main process and the run goes on in new processes, with the same report."""
    checked_here: list[int] = []  # units this process checked (in the others, lost)
    check_apart = Engine.check_unit

    def counted(engine: Engine, claims: Any, today: Any) -> Any:
        checked_here.append(1)
        return check_apart(engine, claims, today)

    pools: list[Any] = []

    class CountedPool(processes.ProcessPoolExecutor):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            pools.append(self)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(processes, "ProcessPoolExecutor", CountedPool)
    monkeypatch.setattr(engine_module, "_check_unit", _dying_at_unit_2)
    monkeypatch.setattr(Engine, "check_unit", counted)
    events = Events()
    monkeypatch.setattr(engine_module, "log", events)
    sources = [Source("batch.837", None, batch(400, seed=6))]
    assert run(sources, 2) == run(sources, 1)
    # Only the units the dead process's pool held came back here, each said so; the new
    # processes (one new pool, never stopped early) checked the rest, and none of them
    # outlives the run.
    assert len(pools) == 2
    failed = events.named("units.process_failed")
    assert 1 <= len(checked_here) <= 3 and len(failed) == len(checked_here)
    assert {e["error"] for e in failed} == {"BrokenProcessPool"}
    assert multiprocessing.active_children() == []


def test_an_ordinary_batch_is_read_in_one_process_without_ig(tmp_path: Path):
    """Where few claims bill a covered code, the skim reads the file faster than cutting
    it would: no units (with the implementation guide, every claim is read: units)."""
    path = tmp_path / "ordinary.837"
    with path.open("wb") as out:
        write_837p(out, 12_000, seed=8, claims_per_st=1_000, drug_share=0.05)
    assert path.stat().st_size > engine_module.CUT_FROM_BYTES
    for options, cut in ((["--no-ig"], False), ([], True)):
        result = run_cli("check", *options, "--jobs", "2", "--format", "json", str(path))
        assert result.exit_code in (0, 1)
        assert bool([e for e in log_events(result) if e.get("event") == "file.units"]) is cut


def test_beside_other_threads_units_start_from_a_fork_server(
    cut_small: None, monkeypatch: pytest.MonkeyPatch
):
    """A host application calls the library while threads of its own run (one may hold a
    lock when the process forks): the unit processes start from a fork server, with the
    same report."""
    events = Events()
    monkeypatch.setattr(engine_module, "log", events)
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        sources = [Source("batch.837", None, batch(200, seed=9))]
        assert run(sources, 2) == run(sources, 1)
    finally:
        stop.set()
        other.join()
    assert [e["start"] for e in events.named("units.processes")] == ["forkserver"]
    assert multiprocessing.active_children() == []


def test_a_file_moved_away_while_its_units_are_checked(
    cut_small: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """A pipeline moves the file away once it has been cut into units, before every unit
    was read: no traceback; the file says once that part of it could not be read, with
    every claim still counted, and the units read before it keep their findings."""
    path = tmp_path / "batch.837"
    path.write_bytes(batch(400, seed=11))
    cut = engine_module.units_of

    def moved_after_the_fourth_unit(*args: Any, **kwargs: Any) -> Any:
        for unit in cut(*args, **kwargs):
            yield unit
            if unit.number == 3:
                path.rename(tmp_path / "sent.837")

    monkeypatch.setattr(engine_module, "units_of", moved_after_the_fourth_unit)
    events = Events()
    monkeypatch.setattr(engine_module, "log", events)
    with Engine(jobs=2) as engine:
        (result,) = list(engine.check_all([Source(path.name, path)]))
    unreadable = [f for f in result.findings if f.rule == "x12.unreadable"]
    assert len(unreadable) == 1, unreadable
    assert "cannot read the file any more (No such file or directory)" in unreadable[0].message
    assert unreadable[0].denial  # graded by the policy, as the reader's findings are
    assert result.claims == 400
    first_unread = unreadable[0].segment_index or 0
    assert [f for f in result.findings if f.claim_id and (f.segment_index or 0) < first_unread]
    # The unit processes said it as an outcome: no process failed, none was replaced.
    assert events.named("units.process_failed") == []
    assert multiprocessing.active_children() == []


def test_a_run_abandoned_mid_file_leaves_no_process(cut_small: None):
    """The caller stops mid-file (its output closed, say) while units are in flight: the
    error reaches it, and closing the engine stops every unit process."""

    class OutputClosed(Exception):
        pass

    def closed(result: Any, found: Any) -> None:
        raise OutputClosed

    sources = [Source("batch.837", None, batch(400, seed=12))]
    with pytest.raises(OutputClosed), Engine(jobs=2) as engine:
        engine.on_findings = closed
        list(engine.check_all(sources))
    assert multiprocessing.active_children() == []


def test_a_pool_whose_processes_cannot_all_start(cut_small: None, monkeypatch: pytest.MonkeyPatch):
    """The second unit process cannot start (out of memory, a process limit): the one
    that did is stopped, a new pool takes the units, the report is the same, and no
    process is left for the interpreter to wait for at exit."""
    refused: list[int] = []

    class HalfStarting(processes.ProcessPoolExecutor):
        def _spawn_process(self) -> None:
            if len(self._processes) == 1 and not refused:
                refused.append(1)
                raise OSError(errno.EAGAIN, "Resource temporarily unavailable")
            super()._spawn_process()  # type: ignore[misc]

    monkeypatch.setattr(processes, "ProcessPoolExecutor", HalfStarting)
    sources = [Source("batch.837", None, batch(200, seed=13))]
    assert run(sources, 2) == run(sources, 1)
    assert refused and multiprocessing.active_children() == []


def test_a_unit_lost_in_a_broken_pool_fails_instead_of_waiting(monkeypatch: pytest.MonkeyPatch):
    """A unit handed to a pool as it breaks may never be settled: once the pool says it
    is broken, waiting for the unit ends (and the main process checks it)."""
    from concurrent.futures import Future
    from concurrent.futures.process import BrokenProcessPool
    from types import SimpleNamespace

    monkeypatch.setattr(engine_module, "RESULT_POLL_SECONDS", 0.01)
    never: Future = Future()
    job = engine_module._UnitJob(never, Any, SimpleNamespace(_broken="a process died"))  # type: ignore[arg-type]
    with pytest.raises(BrokenProcessPool):
        engine_module._result(job)


def test_each_log_event_is_written_whole_in_one_write():
    """The unit processes share the run's stderr: an event written in two parts (its text,
    then its newline) can take another process's event between them, breaking the JSON
    lines a log shipper reads. Each event is one write of one whole line."""
    import structlog

    from edi_precheck import logs

    writes: list[str] = []

    class Recorder(io.StringIO):
        def write(self, text: str) -> int:
            writes.append(text)
            return len(text)

    saved = structlog.get_config()
    try:
        logs.configure("json", "debug", Recorder())
        logs.LibraryLogger("edi_precheck").info("units.processes", processes=2, start="fork")
        logs.LibraryLogger("edi_precheck").debug("file.units", file="batch.837", units=3)
    finally:
        structlog.configure(**saved)
    assert len(writes) == 2
    for text in writes:
        assert text.endswith("\n") and text.count("\n") == 1
        json.loads(text)
