"""Regression tests built from the attacks of a security review: inputs shaped to make a
linear reader take quadratic time. None of them is timed (a benchmark measures, bench/
shapes.py): each is a workload that took minutes to hours before its fix and completes in
a fraction of a second after, so a return of the defect stalls the suite."""

from __future__ import annotations

import io
import re
from datetime import date
from pathlib import Path

import pytest

from conftest import FIXTURES
from edi_precheck import check_bytes
from edi_precheck.model.claim import X12_DECIMAL, to_decimal
from edi_precheck.model.skim import ClaimSkimmer
from edi_precheck.policy.crosswalk import normalize_ndc
from edi_precheck.report.lines import _PLAIN_NUMBER
from edi_precheck.rules._registry import RULE_ID
from edi_precheck.rules.modifier.invalid import MODIFIER
from edi_precheck.x12 import Delimiters, SegmentReader
from edi_precheck.x12.tokenizer import _segment_first, _segment_start
from test_rule_cases import recount_se

TODAY = date(2026, 11, 27)
PROLIA = (FIXTURES / "837p/prolia_medicare_clean.837").read_text()
N = 1 << 20  # a megabyte of one character: what an element, or junk, can be


def worst_cases() -> list[str]:
    """Texts that make a backtracking pattern take quadratic time or worse."""
    return [
        "1" * N + "A",
        "1" * N + ".1.",
        "-" + "9" * N + "~",
        "*" * N,
        "~" * N,
        ":" * N,
        "A" * N,
        "xIEA*" * (N // 5),
        "~ " * (N // 2) + "IEA",
        "ab." * (N // 3),
    ]


def patterns() -> list[re.Pattern[str]]:
    """Every regular expression the package compiles."""
    skimmer = ClaimSkimmer(Delimiters("*", ":", "^", "~"), frozenset({"J0897"}))
    return [
        X12_DECIMAL,
        MODIFIER,
        RULE_ID,
        _PLAIN_NUMBER,
        skimmer._segments,
        skimmer._bad_tag,
        _segment_start("IEA*", "~", " \t\r\n"),
        _segment_first("IEA*", " \t\r\n"),
    ]


@pytest.mark.parametrize("pattern", patterns(), ids=lambda p: p.pattern[:40])
def test_every_pattern_reads_its_worst_case_in_linear_time(pattern):
    for text in worst_cases():
        pattern.fullmatch(text)
        pattern.search(text)
        for _ in pattern.finditer(text):
            pass


def test_a_megabyte_amount_is_no_number_and_costs_nothing():
    assert to_decimal("1" * N + "A") is None and to_decimal("1" * 19) is None
    for text in worst_cases()[:3]:
        assert normalize_ndc(text) is None
    data = PROLIA.replace("CLM*PMC0001*1695", "CLM*PMC0001*" + "1" * N + "A")
    report = check_bytes(data.encode(), ig=False, today=TODAY)
    (balance,) = [f for f in report.findings if f.rule == "claim.balance"]
    assert "is not a number" in balance.message and len(balance.message) < 200


def test_junk_full_of_interchange_trailers_without_a_terminator():
    """'xIEA*' over and over: every near miss of the IEA search was rescanned from the start."""
    data = (PROLIA[:106] + "xIEA*" * (2 * N // 5)).encode()
    reader = SegmentReader(io.BytesIO(data))
    list(reader.blocks())
    assert any("without a terminator" in f.message for f in reader.findings)


def claim_with_drug_lines(count: int) -> bytes:
    line = (
        "LX*{n}~SV1*HC:J0897:JZ*1650*UN*60***1~DTP*472*D8*20260310~LIN**N4*55513071001~CTP****1*UN~"
    )
    extra = "".join(line.replace("{n}", str(n)) for n in range(3, count + 3))
    text = PROLIA.replace("~SE*", "~" + extra + "SE*").replace(
        "CLM*PMC0001*1695", f"CLM*PMC0001*{1695 + 1650 * count}"
    )
    return recount_se(text).encode()


def test_a_claim_with_sixteen_thousand_drug_lines_is_checked_in_one_pass():
    """Each line's rules scanned every line of its code and date: 16k lines took 72 s."""
    report = check_bytes(claim_with_drug_lines(16_000), ig=False, today=TODAY)
    rules = sorted(f.rule for f in report.findings)
    assert rules == ["units.dose", "units.mue"]  # 16,001 doses of 60 on one date
    (dose,) = [f for f in report.findings if f.rule == "units.dose"]
    assert "16001 lines on 20260310 adding up to 960060 units" in dose.message


PEAK_PROBE = """
import atexit, runpy, sys
def peak():
    for line in open('/proc/self/status'):
        if line.startswith('VmHWM'):
            sys.stderr.write('PEAK ' + line.split()[1] + '\\n')
atexit.register(peak)
sys.argv = ['edi-precheck', *sys.argv[1:]]
runpy.run_module('edi_precheck', run_name='__main__')
"""


def peak_kib(path, output_format: str) -> int:
    """The high-water mark of a check's own memory (VmHWM: its own, not its parent's)."""
    import os
    import subprocess
    import sys

    result = subprocess.run(
        [
            sys.executable,
            "-c",
            PEAK_PROBE,
            "check",
            "--no-ig",
            "--format",
            output_format,
            "-o",
            os.devnull,
            str(path),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("PEAK ")]
    return int(line.split()[1])


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
@pytest.mark.parametrize("output_format", ["jsonl", "text", "json"])
def test_memory_does_not_grow_with_findings(tmp_path, output_format):
    """The attack: a stream of small unbalanced claims, a finding each. Findings were all
    held to the end (46 MiB grew to 1.3 GiB); now JSON lines and text stream them and JSON
    lists at most 10,000 per file, counting the rest."""
    from test_bad_catalogue import many_claims_one_st

    peaks = []
    peak_kib(FIXTURES / "837p/prolia_medicare_clean.837", output_format)  # caches ICD-10-CM
    for claims in (20_000, 100_000):
        path = tmp_path / f"unbalanced-{claims}.837"
        path.write_bytes(many_claims_one_st(claims).replace(b"*1695***11", b"*1696***11"))
        peaks.append(peak_kib(path, output_format))
    assert peaks[1] - peaks[0] < 15 * 1024, peaks  # 80,000 more findings: not kept


def test_a_json_report_lists_ten_thousand_findings_a_file_and_counts_the_rest(tmp_path):
    import json

    from conftest import run_cli
    from test_bad_catalogue import many_claims_one_st

    path = tmp_path / "unbalanced.837"
    path.write_bytes(many_claims_one_st(10_500).replace(b"*1695***11", b"*1696***11"))
    result = run_cli("check", "--no-ig", "--format", "json", str(path))
    (file,) = json.loads(result.stdout)["files"]
    assert len(file["findings"]) == 10_000 and file["findings_omitted"] == 500
    assert file["errors"] == 10_500
    lines = run_cli("check", "--no-ig", "--format", "jsonl", str(path)).stdout.splitlines()
    assert sum(1 for line in lines if '"type": "finding"' in line) == 10_500
