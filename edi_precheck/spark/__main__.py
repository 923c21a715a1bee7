"""`spark-submit -m edi_precheck.spark INPUT --output DIR` (or `python -m ...`): check a
folder of 837 files on Spark and write the findings and the per-file summary as Parquet
(DIR/findings, DIR/summary), for scheduled jobs."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from pyspark.errors import AnalysisException
from pyspark.sql import SparkSession

from edi_precheck.history.errors import HistoryError
from edi_precheck.history.keys import site_key
from edi_precheck.history.store import HISTORY_ENV
from edi_precheck.policy import CrosswalkError, PolicyError
from edi_precheck.spark import check


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m edi_precheck.spark", description=__doc__)
    parser.add_argument("inputs", nargs="+", help="files or folders (any Hadoop path)")
    parser.add_argument("--output", required=True, help="folder for findings/ and summary/")
    parser.add_argument("--policy", action="append", default=[], help="policy overlay")
    parser.add_argument("--crosswalk", help="CMS ASP NDC-HCPCS crosswalk CSV")
    parser.add_argument("--ig", action="store_true", help="validate with pyx12 too")
    parser.add_argument("--master", help="Spark master (default: spark-submit's, or local[*])")
    parser.add_argument(
        "--history",
        default=os.environ.get(HISTORY_ENV),
        metavar="URL",
        help=f"history store to compare claims with, read only (also ${HISTORY_ENV})",
    )
    parser.add_argument(
        "--history-key-file", type=Path, help="site key file (as edi-precheck's option)"
    )
    options = parser.parse_args(argv)
    try:  # before Spark starts: a key that cannot be read is the caller's to fix
        key = site_key(options.history_key_file) if options.history else None
    except HistoryError as error:
        print(f"edi-precheck: {error}", file=sys.stderr)
        return 2
    builder = SparkSession.builder.appName("edi-precheck")
    if options.master:
        builder = builder.master(options.master)
    spark = builder.getOrCreate()
    try:
        findings, summary = check(
            spark,
            options.inputs,
            policies=options.policy,
            crosswalk=options.crosswalk,
            ig=options.ig,
            history=options.history,
            history_key=key,
        )
        findings.write.mode("overwrite").parquet(f"{options.output}/findings")
        summary.write.mode("overwrite").parquet(f"{options.output}/summary")
        errors = summary.groupBy().sum("errors").collect()[0][0] or 0
    except (PolicyError, CrosswalkError, HistoryError) as error:
        print(f"edi-precheck: {error}", file=sys.stderr)
        return 2
    except AnalysisException as error:  # an input path that does not exist, say
        print(f"edi-precheck: {str(error).splitlines()[0]}", file=sys.stderr)
        return 2
    finally:
        spark.stop()
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
