"""The library from many threads: the same reports as one call after another."""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from pathlib import Path

import edi_precheck
from conftest import FIXTURES, ROOT
from edi_precheck import api
from edi_precheck.sources import Source

FILES = [
    FIXTURES / "demo/demo.837",
    FIXTURES / "837p/multi_st.837",
    FIXTURES / "837i/prolia_two_claims.837",
    FIXTURES / "837p/xgeva_commercial_clean.837",
]
TODAY = date(2026, 11, 27)


def report_of(path, ig: bool) -> dict:
    report = edi_precheck.check_bytes(path.read_bytes(), name=path.name, today=TODAY, ig=ig)
    return report.to_dict()["files"]


def test_check_bytes_from_many_threads_gives_the_sequential_reports():
    for ig in (False, True):
        expected = {path: report_of(path, ig) for path in FILES}
        jobs = [path for path in FILES for _ in range(6)]
        with ThreadPoolExecutor(max_workers=8) as pool:
            results = list(pool.map(lambda path, ig=ig: (path, report_of(path, ig)), jobs))
        for path, files in results:
            assert files == expected[path], (path.name, ig)


COLD_START = """
import json, sys
from concurrent.futures import ThreadPoolExecutor
from datetime import date
import edi_precheck

paths = sys.argv[1:]
def check(path):
    data = open(path, "rb").read()
    report = edi_precheck.check_bytes(data, name=path, today=date(2026, 11, 27), ig=False)
    return report.to_dict()["files"]
with ThreadPoolExecutor(max_workers=8) as pool:
    print(json.dumps(list(pool.map(check, paths * 4))))
"""


def test_threads_that_start_together_in_a_new_process_agree(tmp_path):
    """The lazy loads (rule catalog, policies, ICD-10-CM) raced on a cold start: one
    thread saw 'unknown rule id', another found no code set and skipped dx.invalid."""
    dx = FIXTURES / "837p/prolia_medicare_clean.837"
    bad_dx = tmp_path / "baddx.837"
    bad_dx.write_text(dx.read_text().replace("HI*ABK:M810", "HI*ABK:M8199"))
    paths = [str(p) for p in [*FILES, bad_dx]]
    env_cache = {"EDI_PRECHECK_CACHE": str(tmp_path / "cold-cache")}
    import os

    result = subprocess.run(
        [sys.executable, "-c", COLD_START, *paths],
        capture_output=True,
        text=True,
        env={**os.environ, **env_cache},
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    reports = json.loads(result.stdout)
    for number, files in enumerate(reports):
        path = paths[number % len(paths)]
        assert files == json.loads(json.dumps(report_of_path(path))), path
    assert any(f["rule"] == "dx.invalid" for f in reports[len(FILES)][0]["findings"])


def report_of_path(path: str) -> list:
    data = Path(path).read_bytes()
    return edi_precheck.check_bytes(data, name=path, today=TODAY, ig=False).to_dict()["files"]


def test_the_engines_kept_are_bounded_and_today_is_per_call():
    """A caller passing today=datetime.now() each time kept one engine per call (300
    calls: 3 GB)."""
    api._cached_engine.cache_clear()
    data = (FIXTURES / "837p/prolia_medicare_clean.837").read_bytes()
    for minute in range(50):
        edi_precheck.check_bytes(data, today=datetime(2026, 11, 27, 10, minute).date(), ig=False)
    assert api._cached_engine.cache_info().currsize == 1
    future = edi_precheck.check_bytes(data, today=date(2026, 3, 1), ig=False)
    assert [f.rule for f in future.findings] == ["date.invalid"]  # the per-call date holds


def test_a_source_never_shows_its_bytes_and_memory_is_not_copied_whole():
    data = bytearray((FIXTURES / "837p/prolia_medicare_clean.837").read_bytes())
    source = Source("upload-17", None, data)
    assert "TESTPATIENT" not in repr(source) and "upload-17" in repr(source)
    report = edi_precheck.check_bytes(memoryview(data), name="upload-17", today=TODAY, ig=False)
    assert report.findings == [] and report.files[0].claims == 1


def test_ig_processes_started_beside_other_threads_come_from_a_fork_server(monkeypatch):
    """Implementation-guide processes started while other threads run (a host
    application's) come from a fork server, as unit processes do, with the same report."""
    import threading

    from edi_precheck import processes
    from edi_precheck.engine import Engine

    methods: list[str] = []
    get_context = processes.multiprocessing.get_context

    def recorded(method: str | None = None):
        methods.append(method or "")
        return get_context(method)

    monkeypatch.setattr(processes.multiprocessing, "get_context", recorded)
    path = FIXTURES / "837p/multi_st.837"
    with Engine(today=TODAY, ig=True, jobs=1) as alone:
        expected = [f.to_dict() for f in alone.check(Source(path.name, path)).findings]
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        with Engine(today=TODAY, ig=True, jobs=2) as engine:
            found = [f.to_dict() for f in engine.check(Source(path.name, path)).findings]
    finally:
        stop.set()
        other.join()
    assert found == expected
    assert methods == ["forkserver"]
