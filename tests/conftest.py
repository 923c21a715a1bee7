"""Shared test helpers: fixture paths, running the CLI, and byte-level file variants."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from edi_precheck.cli import main

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
REAL = FIXTURES / "real"


def real_files() -> list[Path]:
    """The third-party 837 files of fixtures/real (INDEX.md names their licenses)."""
    return sorted(path for path in REAL.iterdir() if path.name != "INDEX.md")


def run_cli(*args: str, input_bytes: bytes | None = None, log_level: str = "debug") -> Result:
    """Run `edi-precheck` in-process; logs (every event, debug included, unless told) go to
    the captured stderr as JSON lines."""
    runner = CliRunner()
    return runner.invoke(
        main,
        ["--log-format", "json", "--log-level", log_level, *args],
        input=input_bytes,
        catch_exceptions=False,
    )


def listing(*paths: str | Path, extra: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """`edi-precheck lines --all --format json` on `paths`, parsed."""
    result = run_cli("lines", "--all", "--format", "json", *extra, *map(str, paths))
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)


def on_a_terminal(
    *arguments: str, stdout_too: bool = True, env: dict[str, str] | None = None
) -> str:
    """What a terminal shows while `edi-precheck ARGUMENTS` runs with its stderr (and, with
    `stdout_too`, its stdout) on it."""
    import os
    import pty
    import subprocess
    import sys

    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "edi_precheck", *arguments],
        stdin=subprocess.DEVNULL,
        stdout=terminal if stdout_too else subprocess.DEVNULL,
        stderr=terminal,
        env={**os.environ, **(env or {})},
    )
    os.close(terminal)
    shown = b""
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        shown += chunk
    process.wait(timeout=120)
    os.close(controller)
    return shown.decode(errors="replace")


def log_events(result: Result) -> list[dict[str, Any]]:
    return [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]


def without_envelope_clock(ack: str) -> str:
    """A 999 with its envelopes' date and time (ISA09, ISA10, GS04, GS05) blanked: they are
    the clock's, and on some day or minute hold any four digits a patient's data has."""
    segments = []
    for segment in ack.split("~"):
        fields = segment.split("*")
        tag = fields[0].strip()
        if tag == "ISA" and len(fields) > 10:
            fields[9] = fields[10] = ""
        elif tag == "GS" and len(fields) > 5:
            fields[4] = fields[5] = ""
        segments.append("*".join(fields))
    return "~".join(segments)


def segment_terminator(data: bytes) -> bytes:
    """The terminator an ISA declares: the byte after ISA16 (ISA is 106 bytes)."""
    start = data.index(b"ISA")
    return data[start + 105 : start + 106]


def with_crlf(data: bytes) -> bytes:
    """Every segment followed by CR LF, as Windows tools write them."""
    terminator = segment_terminator(data)
    segments = [s.strip(b"\r\n") for s in data.split(terminator)]
    return (terminator + b"\r\n").join(s for s in segments if s) + terminator + b"\r\n"


def pretty_printed(data: bytes) -> bytes:
    """One segment a line, indented, as people save files for reading."""
    terminator = segment_terminator(data)
    segments = [s.strip(b" \r\n") for s in data.split(terminator)]
    depth = {b"ISA": 0, b"IEA": 0, b"GS": 1, b"GE": 1, b"ST": 2, b"SE": 2}
    out = []
    for segment in filter(None, segments):
        tag = segment[:3].rstrip(b"*")
        out.append(b"    " * depth.get(tag, 3) + segment + terminator + b"\n")
    return b"".join(out)


def spaced_out(data: bytes) -> bytes:
    """One line, a space after every terminator but the ISA's, as some writers pad them."""
    terminator = segment_terminator(data)
    segments = [s.strip(b" \r\n") for s in data.split(terminator)]
    text = (terminator + b" ").join(s for s in segments if s) + terminator
    start = text.index(b"ISA")
    return text[: start + 106] + text[start + 106 :].lstrip(b" ")


def with_bom(data: bytes) -> bytes:
    return b"\xef\xbb\xbf" + data


@pytest.fixture
def tmp_copy(tmp_path: Path):
    """Write bytes to a file under tmp_path and return its path."""

    def write(name: str, data: bytes) -> Path:
        path = tmp_path / name
        path.write_bytes(data)
        return path

    return write


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory):
    """Derived data (the ICD-10-CM code list) and state (control numbers) go to fresh
    folders, not the user's."""
    import os

    folder = tmp_path_factory.mktemp("cache")
    state = tmp_path_factory.mktemp("state")  # control numbers, likewise
    previous = {name: os.environ.get(name) for name in ("EDI_PRECHECK_CACHE", "EDI_PRECHECK_STATE")}
    os.environ["EDI_PRECHECK_CACHE"] = str(folder)
    os.environ["EDI_PRECHECK_STATE"] = str(state)
    yield folder
    for name, value in previous.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(scope="session")
def postgres():
    """A PostgreSQL 15 server of our own for the session (tests/postgres_server.py)."""
    from postgres_server import PostgresServer

    server = PostgresServer()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path) -> str:
    """The URL of a new, empty history store: a SQLite file, or a PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/history.db"
    return request.getfixturevalue("postgres").new_database()
