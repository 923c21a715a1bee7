"""Long fuzz run, by hand: feed mutated 837 files to the checker until something breaks.

    python bench/fuzz.py --minutes 30            # hypothesis, mutations of the fixtures
    python bench/fuzz.py --atheris -- -max_total_time=1800   # coverage-guided, if installed

The properties are those the test suite checks on a short run (tests/test_mutations.py,
tests/test_skim.py): no exception escapes `check_bytes`, the file is reported, no more claims
are read than the input holds CLM segments, and the claim skim does not change the report.
A failure prints the input that caused it, saved under bench/out/fuzz-crash-*.837 for a
regression test.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from edi_precheck import check_bytes  # noqa: E402
from edi_precheck.engine import Engine  # noqa: E402
from edi_precheck.sources import Source  # noqa: E402

OUT = ROOT / "bench" / "out"
SKIMMING, FULL = Engine(), Engine(skim=False)


def check_one(data: bytes, ig: bool = False) -> None:
    """Raise AssertionError (or whatever escapes) when the property does not hold."""
    try:
        report = check_bytes(data, name="fuzz.837", ig=ig)
    except Exception:
        save(data)
        raise
    if len(report.files) != 1 or report.files[0].claims > data.count(b"CLM"):
        save(data)
        raise AssertionError("the file was not reported, or claims were invented")
    source = Source("fuzz.837", None, data)
    if SKIMMING.check(source).to_dict() != FULL.check(source).to_dict():
        save(data)
        raise AssertionError("the claim skim changed the report")


def save(data: bytes) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"fuzz-crash-{hashlib.sha1(data).hexdigest()[:12]}.837"
    path.write_bytes(data)
    print(f"failing input saved to {path}", file=sys.stderr)


def run_hypothesis(minutes: float, ig: bool) -> None:
    from hypothesis import HealthCheck, given, settings

    from test_mutations import damaged

    deadline = time.monotonic() + minutes * 60
    runs = 0
    while time.monotonic() < deadline:

        @settings(
            max_examples=500, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        @given(damaged())
        def property_holds(data: bytes) -> None:
            check_one(data, ig)

        property_holds()
        runs += 500
        print(f"{runs} inputs, no failure", flush=True)


def run_atheris(arguments: list[str]) -> None:
    import atheris

    from test_mutations import DATA

    corpus = OUT / "fuzz-corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    for name, data in DATA.items():
        (corpus / name).write_bytes(data)
    atheris.instrument_all()  # coverage feedback from every loaded module, ours included
    atheris.Setup([sys.argv[0], *arguments, str(corpus)], check_one)
    atheris.Fuzz()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--ig", action="store_true", help="also run pyx12 on every input")
    parser.add_argument(
        "--atheris",
        action="store_true",
        help="coverage-guided fuzzing with atheris (pip install atheris)",
    )
    parser.add_argument("rest", nargs="*", help="arguments for libFuzzer (after --)")
    args = parser.parse_args()
    if args.atheris:
        run_atheris(args.rest)
    else:
        run_hypothesis(args.minutes, args.ig)


if __name__ == "__main__":
    main()
