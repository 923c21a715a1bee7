"""The history benchmark: `history record` and `check --history` on a SQLite store, as
ratios to `check --no-ig` without a store, measured in the same run.

    python bench/history.py              # 100k claims, 90% with a denosumab line
    python bench/history.py --claims 20000

It writes a synthetic 837P (edi_precheck.synth), records it into an empty SQLite store
(every drug line becomes a row), then checks it again against that store (every drug line
is then a duplicate: the store is asked twice a line, and answers). Each run is a process
of its own, timed by its wall time; the best of `--rounds`. It prints claims/s, the ratio to
the check without a store, peak memory and the size of the store.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
from pathlib import Path

from run import check, run, synthetic


def cli(*arguments: str) -> list[str]:
    return [sys.executable, "-m", "edi_precheck", "--log-format", "json", *arguments]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=100_000)
    parser.add_argument("--drug-share", type=float, default=0.9)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        os.environ["EDI_PRECHECK_STATE"] = folder  # a site key of its own
        path = synthetic(Path(folder), args.claims, args.drug_share)
        store = Path(folder) / "history.db"
        url = f"sqlite:///{store}"
        run(check(path, "--no-ig"))  # warm-up: code list and policy cache

        def best(command: list[str], before: object = None) -> tuple[float, int]:
            runs = []
            for _ in range(args.rounds):
                if callable(before):
                    before()
                runs.append(run(command))
            return min(s for s, _ in runs), max(p for _, p in runs)

        def empty_store() -> None:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{store}{suffix}").unlink(missing_ok=True)

        baseline = best(check(path, "--no-ig"))
        recorded = best(cli("history", "record", "--history", url, str(path)), empty_store)
        size = sum(
            Path(f"{store}{s}").stat().st_size for s in ("", "-wal") if Path(f"{store}{s}").exists()
        )
        checked = best(check(path, "--no-ig", "--history", url))
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}; {args.claims:,} claims, "
        f"{args.drug_share:.0%} with a denosumab line; store {size / 1e6:.1f} MB"
    )
    print()
    print("| run | seconds | claims/s | x check without a store | peak memory |")
    print("|---|---|---|---|---|")
    for name, (seconds, peak) in (
        ("check --no-ig (no store)", baseline),
        ("history record (empty SQLite store)", recorded),
        ("check --no-ig --history (every line on record)", checked),
    ):
        print(
            f"| {name} | {seconds:.2f} | {args.claims / seconds:,.0f} | "
            f"{baseline[0] / seconds:.2f} | {peak / 1024:.0f} MiB |"
        )


if __name__ == "__main__":
    main()
