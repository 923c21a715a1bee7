"""Checking a clearinghouse's day of files on Apache Spark (the `[spark]` extra).

    from edi_precheck.spark import check, drug_lines
    findings, summary = check(spark, ["s3://bucket/inbound/2026-11-30/"], ig=True)

Files are read as binary (Spark's binaryFile source) and checked inside the executors by
the engine the command line uses. Policies and the crosswalk are loaded and validated once,
on the driver, and shipped. A file larger than `unit_bytes` is cut at transaction-set
boundaries into units that spread over the executors (`edi_precheck.units`), so a 1 GB file is not
one task; units depend on the bytes, not on the partitioning, and so do the findings.
Every DataFrame's schema is declared, not inferred.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from os import PathLike
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame, Row, SparkSession
from pyspark.sql.types import ArrayType, IntegerType, LongType, StringType, StructField, StructType

from edi_precheck.engine import Engine
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

_engines: dict[Any, Engine] = {}  # one per Python worker process and (policies, ig)


def _engine(loaded: tuple[list[Policy], Crosswalk], ig: bool, key: Any) -> Engine:
    engine = _engines.get(key)
    if engine is None:
        engine = _engines[key] = Engine(ig=ig, jobs=1, loaded=loaded)
    return engine


def _finding_row(file: str, finding: Any) -> tuple[Any, ...]:
    record = {"file": file, **finding.to_dict()}
    return tuple(record[name] for name in _FINDING_FIELDS)


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
) -> tuple[DataFrame, DataFrame]:
    """The findings (one row per finding) and the per-file summary of every file under
    `paths`, as `edi-precheck check` reports them, file by file (see the module's
    docstring). A file over `unit_bytes` (default 16 MB, 1 MB with `ig`) is cut into
    units, spread over `partitions` tasks (default: the cluster's parallelism)."""
    loaded = _loaded(policies, crosswalk)
    key = (id(loaded), ig)
    size = unit_bytes or (DEFAULT_IG_UNIT_BYTES if ig else DEFAULT_UNIT_BYTES)

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
        result = engine.check(Source(unit.file, None, unit.data))
        errors = warnings = 0
        for finding in result.findings:
            moved = unit.moved(finding)
            if moved is None:
                continue
            errors += str(moved.severity) == "error"
            warnings += str(moved.severity) == "warning"
            yield "finding", _finding_row(unit.file, moved)
        if unit.whole:
            yield "summary", _summary_row(result, 1)
        else:
            yield "partial", (unit.file, 0, None, result.checked_lines, errors, warnings)

    checked = (
        _files(spark, paths).rdd.flatMap(cut_file).repartition(partitions or _parallelism(spark))
        .flatMap(check_unit)
        .cache()
    )  # fmt: skip
    findings = spark.createDataFrame(
        checked.filter(lambda item: item[0] == "finding").map(lambda item: item[1]),
        FINDINGS_SCHEMA,
    )
    whole = checked.filter(lambda item: item[0] == "summary").map(lambda item: item[1])
    partial = (
        checked.filter(lambda item: item[0] == "partial")
        .map(lambda item: (item[1][0], item[1][1:]))
        .reduceByKey(_merge)
        .map(_partial_row)
    )
    summary = spark.createDataFrame(whole.union(partial), SUMMARY_SCHEMA)
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
