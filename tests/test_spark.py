"""edi_precheck.spark on a local[2] Spark session: the same findings as the command line,
file by file, whatever the partitioning, for small files and for large ones cut into units.

Marked `spark` (one session for the module, about a minute): `pytest -m 'not spark'` skips
them; the README's test command and `.ci/run` run them.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import FIXTURES, real_files, run_cli
from edi_precheck.synth import write_837p

pytestmark = pytest.mark.spark
FIELDS = ("rule", "severity", "claim_index", "claim_id", "line", "code", "segment_index",
          "element", "message", "hint", "denial")  # fmt: skip
CROSS_CLAIM = {"claim.duplicate", "units.frequency"}  # rules that compare claims


@pytest.fixture(scope="module")
def spark() -> Iterator:
    from pyspark.sql import SparkSession

    os.environ["PYSPARK_PYTHON"] = sys.executable
    session = (
        SparkSession.builder.master("local[2]")
        .appName("edi-precheck-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .getOrCreate()
    )
    yield session
    session.stop()


def inputs(tmp_path: Path) -> Path:
    """Every fixture and third-party 837 in one folder (names kept apart)."""
    folder = tmp_path / "inbound"
    folder.mkdir()
    sources = [
        *sorted((FIXTURES / "837p").glob("*.837")),
        *sorted((FIXTURES / "837i").glob("*.837")),
        FIXTURES / "demo" / "demo.837",
        *sorted((FIXTURES / "bad").iterdir()),
        *real_files(),
    ]
    for number, source in enumerate(sources):
        (folder / f"{number:03d}-{source.name}").write_bytes(source.read_bytes())
    return folder


def cli_findings(path: Path, *options: str) -> list[tuple]:
    report = json.loads(run_cli("check", "--format", "json", *options, str(path)).stdout)
    (file,) = report["files"]
    rows = (_named(tuple(f[k] for k in FIELDS)) for f in file["findings"])
    return sorted(rows, key=repr), file


def cli_run(paths: list[Path], *options: str) -> dict[str, tuple[list[tuple], dict]]:
    """One command-line run over `paths` in path order (claims compared across them):
    each file's findings, by file name, and its entry in the report."""
    report = json.loads(
        run_cli("check", "--format", "json", *options, *sorted(map(str, paths))).stdout
    )
    return {
        Path(file["path"]).name: (
            sorted((_named(tuple(f[k] for k in FIELDS)) for f in file["findings"]), key=repr),
            file,
        )
        for file in report["files"]
    }


def _named(row: tuple) -> tuple:
    """A finding row with the files its message names (an earlier claim's file) by name."""
    return tuple(re.sub(r"(?:file:)?/\S*/", "", v) if isinstance(v, str) else v for v in row)


def by_file(findings) -> dict[str, list[tuple]]:
    grouped: dict[str, list[tuple]] = {}
    for row in findings.collect():
        name = Path(row["file"].removeprefix("file:")).name
        grouped.setdefault(name, []).append(_named(tuple(row[k] for k in FIELDS)))
    return {name: sorted(rows, key=repr) for name, rows in grouped.items()}


def test_the_dataframes_are_the_command_lines_reports_on_every_fixture(spark, tmp_path):
    from edi_precheck.spark import FINDINGS_SCHEMA, SUMMARY_SCHEMA, check

    folder = inputs(tmp_path)
    findings, summary = check(spark, str(folder))
    assert findings.schema == FINDINGS_SCHEMA and summary.schema == SUMMARY_SCHEMA
    got = by_file(findings)
    summaries = {Path(r["file"]).name: r.asDict() for r in summary.collect()}
    paths = sorted(folder.iterdir())
    assert len(summaries) == len(paths)
    expected = cli_run(paths, "--no-ig")
    for path in paths:
        findings_of, file = expected[path.name]
        assert got.get(path.name, []) == findings_of, path.name
        row = summaries[path.name]
        assert (row["claims"], row["errors"], row["warnings"], row["units"]) == (
            file["claims"], file["errors"], file["warnings"], 1,
        ), path.name  # fmt: skip
    # Claims are compared across the files (the fixtures share invented patients), not
    # only within each: more duplicates and early doses than the files checked one by one.
    together = sum(_compared(got.get(path.name, [])) for path in paths)
    alone = sum(_compared(cli_findings(path, "--no-ig")[0]) for path in paths)
    assert together > alone


def _compared(rows: list[tuple]) -> int:
    return sum(1 for row in rows if row[0] in CROSS_CLAIM)


def test_a_large_file_is_cut_into_units_with_the_same_findings(spark, tmp_path):
    from edi_precheck.spark import check

    data = io.BytesIO()
    write_837p(data, 4_000, claims_per_st=400, drug_share=0.5)
    path = tmp_path / "large.837"
    path.write_bytes(data.getvalue())
    expected, file = cli_findings(path, "--no-ig")
    runs = []
    for partitions in (1, 8):
        findings, summary = check(spark, str(path), unit_bytes=150_000, partitions=partitions)
        ((_, rows),) = by_file(findings).items()
        (row,) = summary.collect()
        runs.append((rows, row.asDict()))
    assert runs[0] == runs[1]  # whatever the partitioning
    rows, row = runs[0]
    assert row["units"] > 5 and row["claims"] == file["claims"] == 4_000
    assert rows == expected  # claims compared across units too
    assert _compared(rows) > 0


def test_with_pyx12_on_the_executors(spark, tmp_path):
    from edi_precheck.spark import check

    folder = tmp_path / "ig"
    folder.mkdir()
    for source in (FIXTURES / "demo" / "demo.837", FIXTURES / "837p" / "multi_st.837",
                   *sorted((FIXTURES / "bad").iterdir())[:3]):  # fmt: skip
        (folder / source.name).write_bytes(source.read_bytes())
    got = by_file(check(spark, str(folder), ig=True)[0])
    expected = cli_run(list(folder.iterdir()))
    for path in folder.iterdir():
        assert got.get(path.name, []) == expected[path.name][0], path.name


def test_claims_are_compared_with_the_history_store(spark, tmp_path, store_url):
    """With a store, a Spark job finds what `check --history` finds over the same files:
    claims on record (recorded before, by `history record`) as well as those of the job, in
    a file cut into units as in whole ones; on SQLite and on a PostgreSQL server."""
    from edi_precheck.spark import check

    data = io.BytesIO()
    write_837p(data, 3_000, claims_per_st=300, drug_share=0.5, seed=7)
    sent_earlier = tmp_path / "sent"
    sent_earlier.mkdir()
    (sent_earlier / "batch.837").write_bytes(data.getvalue())
    (sent_earlier / "prolia.837").write_bytes(
        (FIXTURES / "837p" / "prolia_medicare_clean.837").read_bytes()
    )
    recorded = run_cli("history", "record", "--history", store_url, str(sent_earlier))
    assert recorded.exit_code == 0, recorded.output
    folder = tmp_path / "inbound"
    folder.mkdir()
    others = ("837p/prolia_medicare_clean.837", "837p/xgeva_commercial_clean.837",
              "837p/multi_st.837", "837i/prolia_two_claims.837")  # fmt: skip
    for source in (sent_earlier / "batch.837", *(FIXTURES / name for name in others)):
        (folder / source.name).write_bytes(source.read_bytes())
    paths = sorted(folder.iterdir())
    expected = cli_run(paths, "--no-ig", "--history", store_url)
    findings, summary = check(spark, str(folder), unit_bytes=100_000, history=store_url)
    got = by_file(findings)
    for path in paths:
        assert got.get(path.name, []) == expected[path.name][0], path.name
    assert {r["file"].rsplit("/", 1)[-1]: r["units"] for r in summary.collect()}["batch.837"] > 5
    # The store is what found most of them: the resent batch's drug claims are duplicates.
    alone = by_file(check(spark, str(folder), unit_bytes=100_000)[0])
    duplicates = [r for r in got["batch.837"] if r[0] == "claim.duplicate"]
    assert len(duplicates) > 1_000
    assert len(duplicates) > 10 * sum(r[0] == "claim.duplicate" for r in alone["batch.837"])


def test_a_store_of_another_key_stops_the_job_before_it_starts(spark, tmp_path, monkeypatch):
    from edi_precheck.history.errors import HistoryError
    from edi_precheck.spark import check

    url = f"sqlite:///{tmp_path}/history.db"
    prolia = FIXTURES / "837p" / "prolia_medicare_clean.837"
    assert run_cli("history", "record", "--history", url, str(prolia)).exit_code == 0
    with pytest.raises(HistoryError, match="another site key"):
        check(spark, str(prolia), history=url, history_key=bytes(32))
    with pytest.raises(HistoryError, match="no history store"):
        check(spark, str(prolia), history=f"sqlite:///{tmp_path}/none.db")
    monkeypatch.setenv("EDI_PRECHECK_HISTORY_KEY", "00" * 32)
    result = subprocess.run(
        [sys.executable, "-m", "edi_precheck.spark", str(prolia), "--output",
         str(tmp_path / "out"), "--master", "local[1]", "--history", url],
        capture_output=True, text=True, check=False, timeout=300,
        env={**os.environ, "PYSPARK_PYTHON": sys.executable},
    )  # fmt: skip
    assert result.returncode == 2 and "another site key" in result.stderr
    assert "Traceback" not in result.stderr


def test_drug_lines_are_the_listing(spark):
    from edi_precheck.spark import drug_lines

    multi = FIXTURES / "837p" / "multi_st.837"
    rows = [row.asDict() for row in drug_lines(spark, str(multi)).collect()]
    listed = json.loads(run_cli("lines", "--format", "json", str(multi)).stdout)
    for row in (*rows, *listed):
        row["file"] = "-"
    assert sorted(rows, key=lambda r: r["segment_index"]) == listed
    assert len(drug_lines(spark, str(multi), all_lines=True).collect()) == 17


def test_the_submittable_entry_writes_parquet(spark, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "demo.837").write_bytes((FIXTURES / "demo" / "demo.837").read_bytes())
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, "-m", "edi_precheck.spark", str(folder), "--output", str(out),
         "--master", "local[1]"],
        capture_output=True, text=True, check=False, timeout=300,
        env={**os.environ, "PYSPARK_PYTHON": sys.executable},
    )  # fmt: skip
    assert result.returncode == 1, result.stderr[-2000:]  # the demo has errors
    findings = spark.read.parquet(str(out / "findings"))
    assert findings.count() == 10
    (row,) = spark.read.parquet(str(out / "summary")).collect()
    assert (row["claims"], row["errors"]) == (6, 7)
    missing = subprocess.run(
        [sys.executable, "-m", "edi_precheck.spark", str(tmp_path / "nowhere"), "--output",
         str(out), "--master", "local[1]"],
        capture_output=True, text=True, check=False, timeout=300,
        env={**os.environ, "PYSPARK_PYTHON": sys.executable},
    )  # fmt: skip
    assert missing.returncode == 2 and "edi-precheck: " in missing.stderr
    assert "Traceback" not in missing.stderr
