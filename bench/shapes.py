"""Proportionality of the shapes a security review used to make a linear reader quadratic.

For each shape, `check --no-ig` runs in process on inputs of n, 2n and 4n units, and the
time of each doubling is printed as a ratio: about 2 is linear, about 4 quadratic. Times
on a shared machine drift; ratios of runs made back to back much less. Not a test: the
tests feed each shape once, large enough that a quadratic return would stall them.

    python bench/shapes.py            # about a minute
"""

from __future__ import annotations

import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from edi_precheck import check_bytes  # noqa: E402
from test_hardening import PROLIA, claim_with_drug_lines  # noqa: E402

TODAY = date(2026, 11, 27)


def long_amount(n: int) -> bytes:
    return PROLIA.replace("CLM*PMC0001*1695", "CLM*PMC0001*" + "1" * n + "A").encode()


def trailer_junk(n: int) -> bytes:
    return (PROLIA[:106] + "xIEA*" * n).encode()


SHAPES = {
    "digits in CLM02 (n digits)": (long_amount, 250_000),
    "drug lines in one claim (n lines)": (claim_with_drug_lines, 2_000),
    "'xIEA*' with no terminator (n times)": (trailer_junk, 40_000),  # 4n under 1 MiB
}


def seconds(data: bytes) -> float:
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        check_bytes(data, ig=False, today=TODAY)
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    print("| shape | n | 2n / n | 4n / 2n |")
    print("|---|---|---|---|")
    for name, (make, n) in SHAPES.items():
        times = [seconds(make(n * factor)) for factor in (1, 2, 4)]
        print(f"| {name} | {n:,} | {times[1] / times[0]:.2f} | {times[2] / times[1]:.2f} |")


if __name__ == "__main__":
    main()
