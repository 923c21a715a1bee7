"""The benchmark: throughput, memory and start-up of edi-precheck, as ratios to baselines
measured in the same run (absolute times drift on shared machines; ratios much less).

    python bench/run.py                 # about 10 minutes on 2 CPUs
    python bench/run.py --quick         # 2k and 20k claims, for a smoke run

It writes synthetic 837P files (edi_precheck.synth): 10k and 100k claims of which 5% carry
a denosumab line, as an ordinary clearinghouse batch, and 10k and 100k where 90% do, the
worst case for the drug-line rules. It measures:
- a bare Python split of the same bytes (a program that reads, decodes and splits every
  segment and element): the practical floor for anything written in Python;
- `check --no-ig` on each file: MB/s, claims/s, the ratio to the bare split, peak memory
  (the highest of the process and the unit processes it starts: a file of 4 MB or more is
  checked in `--jobs` processes, one per CPU by default), and on the 100k files
  `check --no-ig --jobs 1`, one process.
  Both are timed the same way, as the wall time of their process (start-up included), back
  to back, `--rounds` times: seconds and the ratio are of the best runs; the median of the
  pairs' ratios is printed too (a shared machine slows some runs, rarely both of a pair);
- `check` with implementation-guide validation by each engine (native, pyx12) at --jobs 1
  and --jobs 2, and pyx12's own `x12valid`, on the smaller file (pyx12 costs milliseconds
  a claim; bench/ig.py compares the engines alone);
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
import sys
with open(sys.argv[1], "rb") as stream:
    data = stream.read().decode("latin-1")
count = 0
for segment in data.split("~"):
    count += len(segment.split("*"))
print(count)
"""


def bare_split(path: Path) -> list[str]:
    """The floor: read, decode and split every segment and element, in a process of its
    own like everything measured here (a process that held the file would pass its memory
    high-water mark on to every child: Linux keeps ru_maxrss across fork and exec)."""
    return [sys.executable, "-c", BARE_SPLIT, str(path)]


def check(path: Path, *options: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "edi_precheck",
        "--log-format",
        "json",
        "check",
        "--format",
        "json",
        "--output",
        os.devnull,
        *options,
        str(path),
    ]


def synthetic(folder: Path, claims: int, drug_share: float) -> Path:
    """A synthetic 837P, 2,000 claims to a transaction set as many submitters batch them
    (at least two sets, so that --jobs 2 has sets to share out)."""
    path = folder / f"synthetic-{claims}-{drug_share}.837"
    with path.open("wb") as out:
        write_837p(
            out, claims, claims_per_st=min(2_000, max(claims // 2, 1)), drug_share=drug_share
        )
    return path


def median_of(command: list[str], times: int = 5) -> float:
    return statistics.median(run(command)[0] for _ in range(times))


def paired_runs(
    floor: list[str], measured: list[str], rounds: int
) -> tuple[tuple[float, int], tuple[float, int], float]:
    """Run `floor` and `measured` back to back, `rounds` times: for each, the best seconds
    and the highest peak memory (KiB) of its runs; and the median of the rounds' ratios
    floor / measured."""
    floor_runs, measured_runs = [], []
    for _ in range(rounds):
        floor_runs.append(run(floor))
        measured_runs.append(run(measured))
    ratios = [f[0] / m[0] for f, m in zip(floor_runs, measured_runs, strict=True)]

    def best(runs: list[tuple[float, int]]) -> tuple[float, int]:
        return min(seconds for seconds, _ in runs), max(peak for _, peak in runs)

    return best(floor_runs), best(measured_runs), statistics.median(ratios)


Row = tuple[str, str, float, int, int, float, str, str]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2k and 20k claims, 1 round")
    parser.add_argument("--rounds", type=int, default=5, help="runs of each; the best counts")
    parser.add_argument("--keep", type=Path, help="write the files here and keep them")
    args = parser.parse_args()
    small, large = (2_000, 20_000) if args.quick else (10_000, 100_000)
    rounds = 1 if args.quick else args.rounds

    # Warm-up: the first run of a new install derives the ICD-10-CM code list and validates
    # the shipped policy (seconds, once); that must not land in the first measurement.
    run(check(ONE_CLAIM, "--no-ig"))
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        rows: list[Row] = []
        floors = {}
        for drug_share, label in ((0.05, "5% drug claims"), (0.9, "90% drug claims")):
            for claims in (small, large):
                path = synthetic(folder, claims, drug_share)
                size = path.stat().st_size
                runs = [("check --no-ig", ("--no-ig",))]
                if claims == large:  # one process: what --jobs adds, in the same run
                    runs.append(("check --no-ig --jobs 1", ("--no-ig", "--jobs", "1")))
                for number, (name, options) in enumerate(runs):
                    (floor, floor_peak), (elapsed, peak), ratio = paired_runs(
                        bare_split(path), check(path, *options), rounds
                    )
                    if number == 0:
                        floors[claims, drug_share] = floor
                        rows.append(
                            (
                                f"bare Python split, {label}",
                                f"{claims:,}",
                                floor,
                                size,
                                claims,
                                1.0,
                                "1.000",
                                f"{floor_peak / 1024:.0f} MiB",
                            )
                        )
                    rows.append(
                        (
                            f"{name}, {label}",
                            f"{claims:,}",
                            elapsed,
                            size,
                            claims,
                            floor / elapsed,
                            f"{ratio:.3f}",
                            f"{peak / 1024:.0f} MiB",
                        )
                    )
        path = folder / f"synthetic-{small}-0.9.837"
        size = path.stat().st_size

        def single_run(label: str, command: list[str]) -> None:
            """One timed run on the smaller 90% file (pyx12 is too slow for rounds)."""
            elapsed, peak = run(command)
            ratio = floors[small, 0.9] / elapsed
            rows.append(
                (label, f"{small:,}", elapsed, size, small, ratio, "-", f"{peak / 1024:.0f} MiB")
            )

        for engine in ("native", "pyx12"):
            for jobs in (1, 2):
                single_run(
                    f"check --ig-engine {engine} --jobs {jobs}, 90% drug claims",
                    check(path, "--ig-engine", engine, "--jobs", str(jobs)),
                )
        x12valid = shutil.which("x12valid") or str(Path(sys.executable).parent / "x12valid")
        if Path(x12valid).exists():
            copy = folder / "x12valid-input.837"  # x12valid writes its 997 beside its input
            shutil.copy(path, copy)
            single_run("pyx12 x12valid, 90% drug claims", [x12valid, str(copy)])

        python = median_of([sys.executable, "-c", "pass"])
        no_ig = median_of(check(ONE_CLAIM, "--no-ig"))
        with_ig = median_of(check(ONE_CLAIM, "--jobs", "1"))
        with_pyx12 = median_of(check(ONE_CLAIM, "--jobs", "1", "--ig-engine", "pyx12"))

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, {platform.system()}"
    )
    print()
    print(
        "| run | claims | seconds | MB/s | claims/s | x bare split | x bare split, "
        "median pair | peak memory |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, claims, elapsed, size, count, ratio, paired, peak in rows:
        print(
            f"| {name} | {claims} | {elapsed:.2f} | {size / 1e6 / elapsed:.1f} | "
            f"{count / elapsed:,.0f} | {ratio:.3f} | {paired} | {peak} |"
        )
    print()
    print("| start-up (one-claim file, median of 5) | seconds | x `python -c pass` |")
    print("|---|---|---|")
    for name, seconds in (
        ("python -c pass", python),
        ("check --no-ig", no_ig),
        ("check --ig-engine native --jobs 1", with_ig),
        ("check --ig-engine pyx12 --jobs 1", with_pyx12),
    ):
        print(f"| {name} | {seconds:.2f} | {seconds / python:.1f} |")


if __name__ == "__main__":
    main()
