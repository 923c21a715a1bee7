"""Peak memory of reading a 10 MB and a 100 MB 837 file, measured in one run.

Not a test: timings and memory on shared machines drift, so this prints figures and the
ratio of the two peaks, which is what the README quotes. Usage:

    python bench/memory.py [--small-mb 10] [--large-mb 100] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from edi_precheck.synth import write_837p


def synthetic_file(folder: Path, megabytes: int) -> tuple[Path, int]:
    """Write a synthetic 837P of about `megabytes` MB; return its path and claim count."""
    sample = folder / "sample.837"
    with sample.open("wb") as out:
        stats = write_837p(out, 2000)
    per_claim = stats.bytes_written / stats.claims
    claims = int(megabytes * 1_000_000 / per_claim)
    path = folder / f"synthetic-{megabytes}mb.837"
    with path.open("wb") as out:
        write_837p(out, claims)
    sample.unlink()
    return path, claims


def peak_rss_kib(command: list[str]) -> tuple[int, float]:
    """Run `command`; return its peak resident set (KiB) and wall time (s)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(command)} exited {process.returncode}")
    return usage.ru_maxrss, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small-mb", type=int, default=10)
    parser.add_argument("--large-mb", type=int, default=100)
    parser.add_argument("--keep", type=Path, help="write the files here and keep them")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        folder = args.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, "
              f"Python {platform.python_version()}")
        rows = []
        for megabytes in (args.small_mb, args.large_mb):
            path, claims = synthetic_file(folder, megabytes)
            size = path.stat().st_size
            baseline, _ = peak_rss_kib([sys.executable, "-c", "import edi_precheck.cli"])
            command = [sys.executable, "-m", "edi_precheck", "--log-format", "json", "lines",
                       "--all", "--format", "jsonl", "--output", os.devnull, str(path)]
            peak, elapsed = peak_rss_kib(command)
            rows.append((size, claims, peak, baseline, elapsed))
        print(f"{'file MB':>8} {'claims':>8} {'peak RSS MiB':>13} {'import-only MiB':>16} "
              f"{'MB/s':>6}")
        for size, claims, peak, baseline, elapsed in rows:
            print(f"{size / 1e6:8.1f} {claims:8d} {peak / 1024:13.1f} {baseline / 1024:16.1f} "
                  f"{size / 1e6 / elapsed:6.1f}")
        ratio = rows[1][2] / rows[0][2]
        print(f"peak memory, large file / small file: {ratio:.2f} "
              f"(file size ratio {rows[1][0] / rows[0][0]:.1f})")


if __name__ == "__main__":
    main()
