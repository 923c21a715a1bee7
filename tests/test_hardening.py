"""Regression tests built from the attacks of a security review: inputs shaped to make a
linear reader take quadratic time. None of them is timed (a benchmark measures, bench/
shapes.py): each is a workload that took minutes to hours before its fix and completes in
a fraction of a second after, so a return of the defect stalls the suite."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest

from conftest import FIXTURES
from edi_precheck import check_bytes
from edi_precheck.model.claim import X12_DECIMAL, to_decimal
from edi_precheck.model.skim import ClaimSkimmer
from edi_precheck.policy.crosswalk import normalize_ndc
from edi_precheck.rules._registry import RULE_ID
from edi_precheck.rules.modifier.invalid import MODIFIER
from edi_precheck.x12 import Delimiters, SegmentReader
from edi_precheck.x12.tokenizer import _segment_start
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
        skimmer._segments,
        skimmer._bad_tag,
        _segment_start("IEA*", "~", " \t\r\n"),
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
