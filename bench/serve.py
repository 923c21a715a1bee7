"""The service benchmark: requests a second and latency of `edi-precheck serve` on a
one-claim 837, with and without implementation-guide validation, for 1 and 8 clients.

    python bench/serve.py                 # 400 requests per row
    python bench/serve.py --requests 100

It starts the real server on a free loopback port (`--workers` worker processes for pyx12),
warms it, then each client (a thread with its own keep-alive connection, httpx) posts the
file as fast as answers come. It prints requests/s, p50 and p99 latency, and, as the
baseline measured in the same run, the same checks made in process through the library
(`Engine.check`), one at a time: what the HTTP layer adds.
"""

from __future__ import annotations

import argparse
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from edi_precheck.engine import Engine
from edi_precheck.sources import Source

ROOT = Path(__file__).resolve().parent.parent
ONE_CLAIM = ROOT / "fixtures" / "837p" / "prolia_medicare_clean.837"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def in_process(body: bytes, ig: bool, count: int) -> float:
    """Seconds a check takes through the library, median of `count`."""
    with Engine(ig=ig, jobs=1) as engine:
        engine.check(Source("warm", None, body))
        times = []
        for _ in range(count):
            started = time.perf_counter()
            engine.check(Source("bench", None, body))
            times.append(time.perf_counter() - started)
    return statistics.median(times)


def load(url: str, body: bytes, ig: bool, clients: int, requests: int) -> tuple[float, list[float]]:
    """Wall seconds for `requests` posts shared by `clients`, and each one's latency."""
    params = {"ig": "true" if ig else "false"}
    headers = {"Content-Type": "application/edi-x12"}

    def client(share: int) -> list[float]:
        latencies = []
        with httpx.Client(base_url=url, timeout=120) as session:
            for _ in range(share):
                started = time.perf_counter()
                answer = session.post("/v1/check", params=params, content=body, headers=headers)
                latencies.append(time.perf_counter() - started)
                assert answer.status_code == 200, answer.text
        return latencies

    shares = [requests // clients] * clients
    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        latencies = [t for part in pool.map(client, shares) for t in part]
    return time.perf_counter() - started, latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    body = ONE_CLAIM.read_bytes()
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "edi_precheck", "--log-level", "warning", "serve",
         "--port", str(port), "--workers", str(args.workers)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if httpx.get(f"{url}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        for ig in (False, True):
            load(url, body, ig, 2, 20)  # warm both paths and every worker
        rows = []
        for ig in (False, True):
            library = in_process(body, ig, 200)
            for clients in (1, 8):
                seconds, latencies = load(url, body, ig, clients, args.requests)
                latencies.sort()
                rows.append(
                    (
                        "with IG" if ig else "--no-ig",
                        clients,
                        len(latencies) / seconds,
                        latencies[len(latencies) // 2] * 1000,
                        latencies[int(len(latencies) * 0.99) - 1] * 1000,
                        library * 1000,
                    )
                )
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}; server --workers {args.workers}; one-claim 837P"
    )
    print()
    print("| check | clients | requests/s | p50 ms | p99 ms | library, in process, ms |")
    print("|---|---|---|---|---|---|")
    for name, clients, rate, p50, p99, library in rows:
        print(f"| {name} | {clients} | {rate:,.0f} | {p50:.1f} | {p99:.1f} | {library:.2f} |")


if __name__ == "__main__":
    main()
