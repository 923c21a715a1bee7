"""The native implementation-guide engine against pyx12: CPU time and memory.

    python bench/ig.py            # about 2 minutes on 2 CPUs
    python bench/ig.py --quick    # smaller files, for a smoke run

On a synthetic 2,000-claim 837P where 90% of the claims bill the drug (edi_precheck.synth,
one transaction set), in this same run:
- the engines alone: the CPU seconds of validating the file's transaction sets with each
  engine, in this process, best of `--rounds` (the native engine's tables already loaded,
  as in any run after the first; its segment memo emptied before each round);
- the whole command: user + system CPU of `check --jobs 1` with each engine and with
  `--no-ig`, each in a process of its own;
- memory: the peak resident memory of `check --ig-engine native --jobs 1` on that file and
  on one 25 times larger, beside `--no-ig` on each: what validation adds must not grow
  with the file.
Ratios are native / pyx12, both measured here, back to back.
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


def run(arguments: list[str]) -> tuple[float, int]:
    """CPU seconds (user + system) and peak memory (KiB) of one command, run alone."""
    process = subprocess.Popen(arguments, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        raise SystemExit(f"{' '.join(arguments)} failed")
    return usage.ru_utime + usage.ru_stime, usage.ru_maxrss


def check(path: Path, *options: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "edi_precheck",
        "check",
        "--format",
        "json",
        "--output",
        os.devnull,
        "--jobs",
        "1",
        *options,
        str(path),
    ]


def transaction_texts(path: Path) -> list[str]:
    """The texts the engine hands to implementation-guide validation for `path`."""
    import edi_precheck.ig.validator as validator
    from edi_precheck.engine import Engine
    from edi_precheck.ig.outcome import IGOutcome
    from edi_precheck.sources import Source

    handed: list[str] = []
    original = validator.validate

    def recording(text: str, engine: str = "native") -> IGOutcome:
        handed.append(text)
        return IGOutcome()

    validator.validate = recording
    try:
        with Engine(ig=True, jobs=1) as engine:
            engine.check(Source(str(path), path))
    finally:
        validator.validate = original
    return handed


def engine_seconds(texts: list[str], engine: str, rounds: int) -> float:
    from edi_precheck.ig import native
    from edi_precheck.ig.validator import validate

    best = float("inf")
    for _ in range(rounds):
        native._checked.clear()
        started = time.process_time()
        for text in texts:
            validate(text, engine)
        best = min(best, time.process_time() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="500 claims; 1 round")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    claims = 500 if args.quick else 2_000
    rounds = 1 if args.quick else args.rounds
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / f"drug-{claims}.837"
        with path.open("wb") as out:
            write_837p(out, claims, seed=3, drug_share=0.9, claims_per_st=claims)
        large = Path(scratch) / f"drug-{claims * 25}.837"
        with large.open("wb") as out:
            write_837p(out, claims * 25, seed=4, drug_share=0.9, claims_per_st=claims)

        texts = transaction_texts(path)
        engine_seconds(texts[:1], "native", 1)  # the tables loaded (from the cache)
        native_s = engine_seconds(texts, "native", rounds)
        pyx12_s = engine_seconds(texts, "pyx12", 1 if args.quick else 2)

        run(check(path, "--no-ig"))  # warm-up: code lists, policy and map caches
        run(check(path, "--ig-engine", "native"))
        no_ig, no_ig_peak = run(check(path, "--no-ig"))
        native_cpu, native_peak = run(check(path, "--ig-engine", "native"))
        pyx12_cpu, pyx12_peak = run(check(path, "--ig-engine", "pyx12"))
        _, large_peak = run(check(large, "--ig-engine", "native"))
        _, large_no_ig_peak = run(check(large, "--no-ig"))
        size = path.stat().st_size
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    print(f"file: {claims:,} claims, 90% with a drug line, one transaction set, {size:,} bytes")
    print()
    print("| measured | native | pyx12 | native / pyx12 |")
    print("|---|---|---|---|")
    print(f"| engine alone, CPU s | {native_s:.2f} | {pyx12_s:.2f} | {native_s / pyx12_s:.3f}x |")
    print(
        f"| `check --jobs 1`, CPU s (`--no-ig`: {no_ig:.2f}) | {native_cpu:.2f} | "
        f"{pyx12_cpu:.2f} | {native_cpu / pyx12_cpu:.3f}x |"
    )
    print(
        f"| IG share of `check`, CPU s | {native_cpu - no_ig:.2f} | {pyx12_cpu - no_ig:.2f} | "
        f"{(native_cpu - no_ig) / (pyx12_cpu - no_ig):.3f}x |"
    )
    print(
        f"| peak memory, MiB (`--no-ig`: {no_ig_peak / 1024:.0f}) | {native_peak / 1024:.0f} | "
        f"{pyx12_peak / 1024:.0f} | |"
    )
    print(
        f"| peak memory on {claims * 25:,} claims, MiB (`--no-ig`: "
        f"{large_no_ig_peak / 1024:.0f}) | {large_peak / 1024:.0f} | (not run) | |"
    )


if __name__ == "__main__":
    main()
