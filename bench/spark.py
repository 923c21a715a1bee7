"""The Spark benchmark: claims/s of `edi_precheck.spark.check` on a local[2] session
against the command line with `--jobs 2` on the same input, measured in the same run.

    python bench/spark.py                          # 100k claims without IG, 5k with
    python bench/spark.py --claims 20000 --ig-claims 2000

The input is one synthetic 837P (5% of claims with a denosumab line, 2,000 claims a
transaction set), cut into units of 4 MB. Spark's time includes its job start (not the
session's start, printed apart); the command line's includes its process start.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

from run import ONE_CLAIM, check, run, synthetic


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=100_000)
    parser.add_argument("--ig-claims", type=int, default=5_000)
    args = parser.parse_args()
    os.environ["PYSPARK_PYTHON"] = sys.executable
    from pyspark.sql import SparkSession

    from edi_precheck.spark import check as spark_check

    started = time.perf_counter()
    spark = (
        SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false").getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    session_start = time.perf_counter() - started
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for ig, claims in ((False, args.claims), (True, args.ig_claims)):
            path = synthetic(Path(folder), claims, 0.05)
            options = () if ig else ("--no-ig",)
            cli_seconds, _ = run(check(path, "--jobs", "2", *options))
            spark_check(spark, str(ONE_CLAIM), ig=ig)[1].collect()  # start the Python workers
            started = time.perf_counter()
            findings, summary = spark_check(spark, str(path), ig=ig)
            units = sum(row["units"] for row in summary.collect())
            findings.count()
            spark_seconds = time.perf_counter() - started
            rows.append((ig, claims, units, cli_seconds, spark_seconds))
    spark.stop()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}; Spark local[2], session start {session_start:.1f} s"
    )
    print()
    print("| check | claims | units | CLI --jobs 2 s | CLI claims/s | Spark s | Spark claims/s "
          "| Spark x CLI |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    for ig, claims, units, cli, spark_s in rows:
        print(
            f"| {'with IG' if ig else '--no-ig'} | {claims:,} | {units} | {cli:.1f} | "
            f"{claims / cli:,.0f} | {spark_s:.1f} | {claims / spark_s:,.0f} | {cli / spark_s:.2f} |"
        )


if __name__ == "__main__":
    main()
