"""The benchmark: throughput, memory and start-up of edi-precheck, as ratios to baselines
measured in the same run (absolute times drift on shared machines; ratios much less).

    python bench/run.py                 # about 4 minutes on 2 CPUs
    python bench/run.py --quick         # 2k and 20k claims, for a smoke run

It writes synthetic 837P files of 10k and 100k claims (edi_precheck.synth; 90% of claims
carry a denosumab line, the worst case for the drug-line rules, and a 100k file with 5%, as
an ordinary clearinghouse batch) and measures:
- a bare Python split of the same bytes (read, decode, split segments and elements): the
  practical floor for anything written in Python;
- `check --no-ig` on both files: MB/s, claims/s, the ratio to the bare split, peak memory;
- `check` with pyx12 validation at --jobs 1 and --jobs 2, and pyx12's own `x12valid`, on
  the smaller file (pyx12 costs milliseconds a claim);
- the wall time of `check` on a one-claim file against `python -c pass`: what a pre-submit
  hook pays per file.
It prints a Markdown table (the README carries one) and the machine it ran on.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from edi_precheck.synth import write_837p

ROOT = Path(__file__).resolve().parent.parent
ONE_CLAIM = ROOT / "fixtures" / "837p" / "prolia_medicare_clean.837"


def run(command: list[str]) -> tuple[float, int]:
    """Wall seconds and peak resident memory (KiB) of one command."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):  # 1 means findings (or, for x12valid, any outcome)
        raise SystemExit(f"{' '.join(command)} exited {code}")
    return elapsed, usage.ru_maxrss


BARE_SPLIT = """
import sys, time
started = time.perf_counter()
with open(sys.argv[1], "rb") as stream:
    data = stream.read().decode("latin-1")
count = 0
for segment in data.split("~"):
    count += len(segment.split("*"))
print(time.perf_counter() - started)
"""


def bare_split(path: Path) -> float:
    """Seconds to read, decode and split every segment and element: the floor.

    Run in a child process, like everything measured here: a process that held the file
    would pass its memory high-water mark on to every child it starts (Linux keeps
    ru_maxrss across fork and exec), and the peak-memory figures would be the parent's.
    """
    output = subprocess.run([sys.executable, "-c", BARE_SPLIT, str(path)], check=True,
                            capture_output=True, text=True).stdout
    return float(output)


def check(path: Path, *options: str) -> list[str]:
    return [sys.executable, "-m", "edi_precheck", "--log-format", "json", "check",
            "--format", "json", "--output", os.devnull, *options, str(path)]


def synthetic(folder: Path, claims: int, drug_share: float = 0.9) -> Path:
    """A synthetic 837P, 2,000 claims to a transaction set as many submitters batch them."""
    path = folder / f"synthetic-{claims}-{drug_share}.837"
    with path.open("wb") as out:
        write_837p(out, claims, claims_per_st=2_000, drug_share=drug_share)
    return path


def median_of(command: list[str], times: int = 5) -> float:
    return statistics.median(run(command)[0] for _ in range(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2k and 20k claims")
    parser.add_argument("--keep", type=Path, help="write the files here and keep them")
    args = parser.parse_args()
    small, large = (2_000, 20_000) if args.quick else (10_000, 100_000)

    # Warm-up: the first diagnosis check of a new install derives the ICD-10-CM code list
    # (seconds, once); it must not land in the first measurement.
    run(check(ONE_CLAIM, "--no-ig"))
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        rows: list[tuple[str, str, float, int, int, float, str]] = []
        floors = {}
        for claims in (small, large):
            path = synthetic(folder, claims)
            size = path.stat().st_size
            floor = min(bare_split(path) for _ in range(3))
            floors[claims] = floor
            rows.append(("bare Python split (floor)", f"{claims:,}", floor, size, claims,
                         1.0, "-"))
            elapsed, peak = run(check(path, "--no-ig"))
            rows.append(("check --no-ig", f"{claims:,}", elapsed, size, claims,
                         floor / elapsed, f"{peak / 1024:.0f} MiB"))
        ordinary = synthetic(folder, large, drug_share=0.05)
        size = ordinary.stat().st_size
        floor = min(bare_split(ordinary) for _ in range(3))
        rows.append(("bare Python split, 5% drug claims", f"{large:,}", floor, size, large,
                     1.0, "-"))
        elapsed, peak = run(check(ordinary, "--no-ig"))
        rows.append(("check --no-ig, 5% drug claims", f"{large:,}", elapsed, size, large,
                     floor / elapsed, f"{peak / 1024:.0f} MiB"))
        path = folder / f"synthetic-{small}-0.9.837"
        size = path.stat().st_size
        for jobs in (1, 2):
            elapsed, peak = run(check(path, "--jobs", str(jobs)))
            rows.append((f"check (pyx12) --jobs {jobs}", f"{small:,}", elapsed, size, small,
                         floors[small] / elapsed, f"{peak / 1024:.0f} MiB"))
        x12valid = shutil.which("x12valid") or str(Path(sys.executable).parent / "x12valid")
        if Path(x12valid).exists():
            copy = folder / "x12valid-input.837"  # x12valid writes its 997 beside its input
            shutil.copy(path, copy)
            elapsed, peak = run([x12valid, str(copy)])
            rows.append(("pyx12 x12valid", f"{small:,}", elapsed, size, small,
                         floors[small] / elapsed, f"{peak / 1024:.0f} MiB"))

        python = median_of([sys.executable, "-c", "pass"])
        no_ig = median_of(check(ONE_CLAIM, "--no-ig"))
        with_ig = median_of(check(ONE_CLAIM, "--jobs", "1"))

    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, "
          f"Python {platform.python_version()}, {platform.system()}")
    print()
    print("| run | claims | seconds | MB/s | claims/s | x bare split | peak memory |")
    print("|---|---|---|---|---|---|---|")
    for name, claims, elapsed, size, count, ratio, peak in rows:
        print(f"| {name} | {claims} | {elapsed:.2f} | {size / 1e6 / elapsed:.1f} | "
              f"{count / elapsed:,.0f} | {ratio:.3f} | {peak} |")
    print()
    print("| start-up (one-claim file, median of 5) | seconds | x `python -c pass` |")
    print("|---|---|---|")
    for name, seconds in (("python -c pass", python), ("check --no-ig", no_ig),
                          ("check (pyx12, --jobs 1)", with_ig)):
        print(f"| {name} | {seconds:.2f} | {seconds / python:.1f} |")


if __name__ == "__main__":
    main()
