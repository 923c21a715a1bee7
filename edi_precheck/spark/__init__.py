"""Checking a clearinghouse's day of files on Apache Spark (the `[spark]` extra).

    from edi_precheck.spark import check, drug_lines
    findings, summary = check(spark, ["s3://bucket/inbound/2026-11-30/"], ig=True)

Files are read as binary (Spark's binaryFile source) and checked inside the executors by
the engine the command line uses. Policies and the crosswalk are loaded and validated once,
on the driver, and shipped. A file larger than `unit_bytes` is cut at transaction-set
boundaries into units that spread over the executors (`edi_precheck.units`), so a 1 GB file is not
one task; units depend on the bytes, not on the partitioning, and so do the findings.
Claims are compared across units and files (duplicates, doses too close together) by
grouping each claim's history questions and services by patient, as one command-line run
over the files in path order compares them. With a history store (`history=URL`), they are
compared with the claims on record there too, as `check --history` does (read only); the
tasks that compare them each open the store, so it must be one they can reach: a PostgreSQL
server, or a SQLite file on a file system every executor mounts.
Every DataFrame's schema is declared, not inferred.
"""

from __future__ import annotations

import secrets
import zlib
from collections.abc import Iterable, Iterator
from os import PathLike
from pathlib import Path, PurePosixPath
from typing import Any

from pyspark.sql import DataFrame, Row, SparkSession
from pyspark.sql.types import ArrayType, IntegerType, LongType, StringType, StructField, StructType

from edi_precheck.engine import Engine
from edi_precheck.history.keys import site_key
from edi_precheck.history.run import RunHistory
from edi_precheck.history.store import HistoryStore
from edi_precheck.model.patient import PatientKeyer
from edi_precheck.policy import Crosswalk, Policy, load_policies
from edi_precheck.reading import read_claims
from edi_precheck.report.lines import LINE_FIELDS, line_record
from edi_precheck.report.results import FileResult
from edi_precheck.rules import catalog
from edi_precheck.rules.runner import grade_file_findings
from edi_precheck.sources import Source
from edi_precheck.units import DEFAULT_IG_UNIT_BYTES, DEFAULT_UNIT_BYTES, Unit, cut

_TEXT, _INT, _LONG = StringType(), IntegerType(), LongType()
FINDINGS_SCHEMA = StructType(
    [
        StructField("file", _TEXT, False),
        StructField("rule", _TEXT, False),
        StructField("severity", _TEXT, False),
        StructField("snip", _INT, False),
        StructField("claim_index", _LONG, True),
        StructField("claim_id", _TEXT, True),
        StructField("line", _LONG, True),
        StructField("code", _TEXT, True),
        StructField("segment", _TEXT, True),
        StructField("segment_index", _LONG, True),
        StructField("element", _TEXT, True),
        StructField("message", _TEXT, False),
        StructField("hint", _TEXT, False),
        StructField("denial", _TEXT, False),
    ]
)
SUMMARY_SCHEMA = StructType(
    [
        StructField("file", _TEXT, False),
        StructField("transaction_sets", _LONG, False),
        StructField("claims", _LONG, False),
        StructField("service_lines", _LONG, False),
        StructField("checked_lines", _LONG, False),
        StructField("errors", _LONG, False),
        StructField("warnings", _LONG, False),
        StructField("units", _INT, False),
    ]
)
_LINE_TYPES: dict[str, Any] = {
    "claim_index": _LONG,
    "segment_index": _LONG,
    "modifiers": ArrayType(_TEXT),
    "diagnoses": ArrayType(_TEXT),
}
LINES_SCHEMA = StructType(
    [StructField(name, _LINE_TYPES.get(name, _TEXT), True) for name in LINE_FIELDS]
)
_FINDING_FIELDS = [field.name for field in FINDINGS_SCHEMA.fields]

PathsLike = str | PathLike[str] | Iterable[str | PathLike[str]]

# -- on the executors -----------------------------------------------------------------------

_engines: dict[Any, Engine] = {}  # a Python worker's engine for the job it works for


def _engine(loaded: tuple[list[Policy], Crosswalk], ig: bool, key: tuple[Any, ...]) -> Engine:
    """The engine of this worker for a job; `key` ends with the job's patient key."""
    engine = _engines.get(key)
    if engine is None:
        for earlier in _engines.values():  # another job's: its policies and key go with it
            earlier.close()
        _engines.clear()
        engine = _engines[key] = Engine(ig=ig, jobs=1, loaded=loaded)
        engine.keyer = PatientKeyer(key[-1])
    return engine


def _finding_row(file: str, finding: Any) -> tuple[Any, ...]:
    record = {"file": file, **finding.to_dict()}
    return tuple(record[name] for name in _FINDING_FIELDS)


def _finding_rows(file: str, findings: Iterable[Any]) -> Iterator[tuple[str, Any]]:
    """A file's findings as rows, and their errors and warnings for its summary."""
    errors = warnings = 0
    for finding in findings:
        errors += str(finding.severity) == "error"
        warnings += str(finding.severity) == "warning"
        yield "finding", _finding_row(file, finding)
    if errors or warnings:
        yield "partial", (file, 0, None, 0, errors, warnings)


def _summary_row(result: FileResult, units: int) -> tuple[Any, ...]:
    return (
        result.name,
        result.transaction_sets,
        result.claims,
        result.service_lines,
        result.checked_lines,
        result.errors,
        result.warnings,
        units,
    )


# -- on the driver ------------------------------------------------------------------------


def _paths(paths: PathsLike) -> list[str]:
    if isinstance(paths, str | PathLike):
        return [str(paths)]
    return [str(path) for path in paths]


def _loaded(
    policies: Iterable[str | PathLike[str]] | None, crosswalk: str | PathLike[str] | None
) -> tuple[list[Policy], Crosswalk]:
    """Policies and crosswalk loaded and validated here, once (a PolicyError stops the job
    before any task runs)."""
    return (
        load_policies([Path(p) for p in policies or ()], catalog().keys()),
        Crosswalk.load(Path(crosswalk) if crosswalk else None),
    )


def _files(spark: SparkSession, paths: PathsLike) -> DataFrame:
    return (
        spark.read.format("binaryFile")
        .option("recursiveFileLookup", "true")
        .load(_paths(paths))
        .select("path", "content")
    )


def check(
    spark: SparkSession,
    paths: PathsLike,
    *,
    policies: Iterable[str | PathLike[str]] | None = None,
    crosswalk: str | PathLike[str] | None = None,
    ig: bool = False,
    unit_bytes: int | None = None,
    partitions: int | None = None,
    history: str | None = None,
    history_key: bytes | None = None,
) -> tuple[DataFrame, DataFrame]:
    """The findings (one row per finding) and the per-file summary of every file under
    `paths`, as `edi-precheck check` reports them given the same files in path order (see
    the module's docstring). A file over `unit_bytes` (default 16 MB, 1 MB with `ig`) is
    cut into units, spread over `partitions` tasks (default: the cluster's parallelism).
    With `history` (a store's URL), claims are compared with those on record there too;
    `history_key` is the site key its patients are hashed with (default: the one the
    command line uses, `history.keys.site_key`). A store that cannot be used, or that
    was written under another key, is a HistoryError here, before any task runs."""
    loaded = _loaded(policies, crosswalk)
    # One patient key for every task of this job (patients must hash alike to be compared):
    # the store's site key, or one made here for this job only; shipped with its tasks.
    if history:
        secret = history_key or site_key()
        HistoryStore.open(history, PatientKeyer(secret), create=False, read_only=True).close()
    else:
        secret = secrets.token_bytes(32)
    key = (id(loaded), ig, secret)
    size = unit_bytes or (DEFAULT_IG_UNIT_BYTES if ig else DEFAULT_UNIT_BYTES)
    files = _files(spark, paths)
    # Claims are compared across files in path order, as the command line orders a folder:
    # file number n is names[n].
    names = sorted(_names(files), key=lambda name: PurePosixPath(name).parts)
    order = {name: number for number, name in enumerate(names)}

    def cut_file(row: Row) -> Iterator[tuple[str, Any]]:
        name, data = row["path"], bytes(row["content"])
        parts = cut(name, data, size)
        if parts.envelope is not None:  # the file's counts and envelope findings
            envelope = parts.envelope
            policy = loaded[0][0] if loaded[0] else None
            graded = grade_file_findings(envelope.reader_findings, policy)
            yield "envelope", (name, len(parts.units), _counts(envelope, graded), graded)
        for unit in parts.units:
            yield "unit", unit

    def check_unit(item: tuple[str, Any]) -> Iterator[tuple[str, Any]]:
        kind, value = item
        if kind == "envelope":
            name, units, counts, graded = value
            for finding in graded:
                yield "finding", _finding_row(name, finding)
            yield "partial", (name, units, counts, 0, 0, 0)
            return
        unit: Unit = value
        engine = _engine(loaded, ig, key)
        outcome = engine.check_unit(unit)
        found = [f for claim in outcome.claims for f in claim.findings]
        found += [f for _, findings in outcome.sets for f in findings]
        found += outcome.unread
        for claim in outcome.claims:
            if claim.patient and (claim.asked or claim.services):
                # compared with the claims of its patient, wherever they are (`answer`)
                place = (claim.patient, order[unit.file], claim.claim)
                # its other findings are rows already: only its questions, its services
                # and what holds it back (a claim not sent is not compared with) go
                holding = [f for f in claim.findings if not engine.sends([f])]
                yield "patient", (place, (claim._replace(findings=holding), outcome.unit))
            elif claim.asked:  # no patient known: only its own lines can answer
                found += engine.answer(claim, outcome.unit, None)
        yield from _finding_rows(unit.file, found)
        sets, claims, lines = outcome.counts
        counts = (sets, claims, lines, 0, 0) if unit.whole else None
        yield "partial", (unit.file, int(unit.whole), counts, outcome.checked_lines, 0, 0)

    def answer(claims: Iterable[tuple[tuple[str, int, int], Any]]) -> Iterator[tuple[str, Any]]:
        """A partition's claims, sorted by patient, then file, then place in the file: each
        asked of the ones before it (the run's ledger, as one process keeps it, on disk
        beyond a bound) and of the history store, then noted in the ledger."""
        engine = _engine(loaded, ig, key)
        store = (
            HistoryStore.open(history, engine.keyer, create=False, read_only=True)
            if history
            else None
        )
        run = RunHistory(store)
        try:
            for (_, number, _), (claim, unit) in claims:
                name = names[number]
                answers = engine.answer(claim, unit, run) if claim.asked else []
                yield from _finding_rows(name, answers)
                if claim.services and engine.sends([*claim.findings, *answers]):
                    run.note_services(number, name, claim.claim, claim.correction, claim.services)
        finally:
            run.close()
            if store is not None:
                store.close()

    checked = (
        files.rdd.flatMap(cut_file).repartition(partitions or _parallelism(spark))
        .flatMap(check_unit)
        .cache()
    )  # fmt: skip
    # A patient's claims go to one partition, sorted there by Spark (spilling to disk as it
    # must), so that a patient with a million claims is a stream, not a list in memory.
    answered = (
        checked.filter(lambda item: item[0] == "patient")
        .map(lambda item: item[1])
        .repartitionAndSortWithinPartitions(
            partitions or _parallelism(spark), partitionFunc=_patient_partition
        )
        .mapPartitions(answer)
    )
    rows = checked.filter(lambda item: item[0] != "patient").union(answered).cache()
    findings = spark.createDataFrame(
        rows.filter(lambda item: item[0] == "finding").map(lambda item: item[1]),
        FINDINGS_SCHEMA,
    )
    summary = spark.createDataFrame(
        rows.filter(lambda item: item[0] == "partial")
        .map(lambda item: (item[1][0], item[1][1:]))
        .reduceByKey(_merge)
        .map(_partial_row),
        SUMMARY_SCHEMA,
    )
    empty = _empty_files(spark, paths)
    if empty:  # binaryFile passes over empty files; a report names them (x12.unreadable)
        engine = Engine(ig=False, loaded=loaded)
        results = [engine.check(Source(name, None, b"")) for name in empty]
        findings = findings.union(
            spark.createDataFrame(
                [_finding_row(r.name, f) for r in results for f in r.findings], FINDINGS_SCHEMA
            )
        )
        summary = summary.union(
            spark.createDataFrame([_summary_row(r, 1) for r in results], SUMMARY_SCHEMA)
        )
    return findings, summary


def _patient_partition(place: tuple[str, int, int]) -> int:
    """The partition of a claim's (patient, file, claim): its patient's (the same in every
    Python worker, whatever its hash seed)."""
    return zlib.crc32(place[0].encode())


def _names(files: DataFrame) -> list[str]:
    """The files' names (their paths as Spark gives them), without reading them."""
    return [row["path"] for row in files.select("path").collect()]


def _empty_files(spark: SparkSession, paths: PathsLike) -> list[str]:
    """The empty files under `paths`, as Spark names files (Hadoop's listing)."""
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    configuration = spark.sparkContext._jsc.hadoopConfiguration()
    empty = []
    for given in _paths(paths):
        path = jvm.org.apache.hadoop.fs.Path(given)
        filesystem = path.getFileSystem(configuration)
        if not filesystem.exists(path):
            continue
        listing = filesystem.listFiles(path, True)
        while listing.hasNext():
            status = listing.next()
            if status.getLen() == 0:
                empty.append(status.getPath().toString())
    return empty


def _counts(result: FileResult, graded: list[Any]) -> tuple[int, int, int, int, int]:
    graded_errors = sum(1 for f in graded if str(f.severity) == "error")
    graded_warnings = len(graded) - graded_errors
    return (
        result.transaction_sets,
        result.claims,
        result.service_lines,
        graded_errors,
        graded_warnings,
    )


def _merge(a: tuple[Any, ...], b: tuple[Any, ...]) -> tuple[Any, ...]:
    units = a[0] + b[0]
    counts = a[1] if a[1] is not None else b[1]
    return (units, counts, a[2] + b[2], a[3] + b[3], a[4] + b[4])


def _partial_row(item: tuple[str, tuple[Any, ...]]) -> tuple[Any, ...]:
    name, (units, counts, checked_lines, errors, warnings) = item
    sets, claims, lines, envelope_errors, envelope_warnings = counts
    return (
        name,
        sets,
        claims,
        lines,
        checked_lines,
        errors + envelope_errors,
        warnings + envelope_warnings,
        units,
    )


def _parallelism(spark: SparkSession) -> int:
    return max(1, spark.sparkContext.defaultParallelism)


def check_files(spark: SparkSession, paths: PathsLike, **options: Any) -> DataFrame:
    """One row per finding of every file under `paths` (see `check`)."""
    return check(spark, paths, **options)[0]


def check_summary(spark: SparkSession, paths: PathsLike, **options: Any) -> DataFrame:
    """One row per file: its counts, errors and warnings (see `check`)."""
    return check(spark, paths, **options)[1]


def drug_lines(spark: SparkSession, paths: PathsLike, *, all_lines: bool = False) -> DataFrame:
    """The rows of `edi-precheck lines` (every service line with `all_lines`)."""
    loaded = _loaded(None, None)
    wanted = None if all_lines else frozenset(c for p in loaded[0] for c in p.codes)

    def rows(row: Row) -> Iterator[tuple[Any, ...]]:
        name = row["path"]
        result = FileResult(name)
        for claim in read_claims(Source(name, None, bytes(row["content"])), result):
            for line in claim.lines:
                if wanted is None or line.code.upper() in wanted:
                    record = line_record(name, claim, line)
                    yield tuple(record.get(field) for field in LINE_FIELDS)

    return spark.createDataFrame(_files(spark, paths).rdd.flatMap(rows), LINES_SCHEMA)
