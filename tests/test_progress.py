"""A progress bar on a terminal for large inputs, and nothing at all off a terminal."""

from __future__ import annotations

import os

import pytest

from conftest import on_a_terminal, run_cli
from edi_precheck.synth import write_837p


@pytest.fixture(scope="module")
def large_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("large") / "large.837"
    with path.open("wb") as out:
        stats = write_837p(out, 12_000)
    assert stats.bytes_written > 5_000_000
    return path


def test_progress_bar_on_a_terminal(large_file):
    text = on_a_terminal(
        "--log-format", "json", "lines", "--all", "--output", os.devnull, str(large_file),
        stdout_too=False,
    )  # fmt: skip
    assert "checking 1 file(s)" in text and "100%" in text


def test_no_progress_bar_off_a_terminal(large_file):
    result = run_cli("lines", "--all", "--output", os.devnull, str(large_file))
    assert "checking" not in result.stderr
    assert all(line.startswith("{") for line in result.stderr.splitlines())
