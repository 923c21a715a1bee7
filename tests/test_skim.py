"""The claim skim changes speed, never the report.

Every file the tests know, and damaged copies of them, is checked twice: skimming (the
default) and building every claim. The reports must be the same, finding for finding, also
when the file is read in chunks so small that claims, loops and envelopes straddle them.
Each test runs with the compiled skim (`_skim.c`) and with the Python one (`skim.py`).
"""

from __future__ import annotations

import io
import json
import re
import shutil
import sysconfig
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import FIXTURES, listing, pretty_printed, run_cli, spaced_out, with_crlf
from edi_precheck.engine import Engine
from edi_precheck.model import parser, skim
from edi_precheck.reading import read_claims
from edi_precheck.report.results import FileResult
from edi_precheck.sources import Source
from edi_precheck.synth import write_837p
from edi_precheck.x12 import tokenizer
from test_mutations import damaged
from test_rule_cases import CASES, build

TODAY = date(2026, 11, 1)
SKIMMING = Engine(today=TODAY)
FULL = Engine(today=TODAY, skim=False)
CORPUS = sorted(
    path
    for path in FIXTURES.rglob("*")
    if path.is_file() and path.suffix not in (".md", ".json", ".csv")
)
# A chunk size that cuts claims, HL loops and even segments apart, and the normal one.
CHUNK_SIZES = (97, tokenizer.CHUNK_SIZE)


COMPILED = skim._compiled


@pytest.fixture(autouse=True, params=["compiled", "python"])
def skim_implementation(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch):
    if request.param == "python":
        monkeypatch.setattr(skim, "_compiled", None)
    elif COMPILED is None:
        pytest.skip("the compiled skim is not built here")
    return request.param


def test_the_compiled_skim_is_built_where_a_compiler_is():
    compiler = (sysconfig.get_config_var("CC") or "cc").split()[0]
    if shutil.which(compiler) is None:
        pytest.skip("no C compiler here: the Python skim does the work")
    assert COMPILED is not None, "pip install built edi-precheck without its compiled skim"


def report(engine: Engine, data: bytes) -> dict[str, Any]:
    return engine.check(Source("input.837", None, data)).to_dict()


def assert_same_report(data: bytes, monkeypatch: pytest.MonkeyPatch, chunk: int) -> None:
    monkeypatch.setattr(tokenizer, "CHUNK_SIZE", chunk)
    assert report(SKIMMING, data) == report(FULL, data)


def test_corpus_is_large():
    assert len(CORPUS) >= 25


def variants() -> list[Any]:
    """Each file as it is; the X12 ones also with CRLF after segments, pretty-printed, and
    on one line with a space after each terminator."""
    cases = []
    for path in CORPUS:
        layouts = (
            [bytes, with_crlf, pretty_printed, spaced_out]
            if b"ISA" in path.read_bytes()
            else [bytes]
        )
        cases.extend(
            pytest.param(path, layout, id=f"{path.name}-{layout.__name__}") for layout in layouts
        )
    return cases


@pytest.mark.parametrize("chunk", CHUNK_SIZES)
@pytest.mark.parametrize(("path", "layout"), variants())
def test_every_file_reports_the_same_skimmed(
    path: Path, layout: Any, chunk: int, monkeypatch: pytest.MonkeyPatch
):
    assert_same_report(layout(path.read_bytes()), monkeypatch, chunk)


@pytest.mark.parametrize("chunk", CHUNK_SIZES)
def test_every_rule_case_reports_the_same_skimmed(chunk: int, monkeypatch: pytest.MonkeyPatch):
    for _, case in CASES:
        assert_same_report(build(case), monkeypatch, chunk)


def synthetic(claims: int, drug_share: float) -> bytes:
    out = io.BytesIO()
    write_837p(out, claims, seed=7, claims_per_st=40, drug_share=drug_share)
    return out.getvalue()


@pytest.mark.parametrize("drug_share", (0.05, 0.5, 0.9))
@pytest.mark.parametrize("chunk", (211, 4096, tokenizer.CHUNK_SIZE))
def test_a_batch_reports_the_same_skimmed(
    chunk: int, drug_share: float, monkeypatch: pytest.MonkeyPatch
):
    """Also where the parser stops skimming blocks in which it skips too few claims."""
    assert_same_report(synthetic(300, drug_share), monkeypatch, chunk)


def test_skimming_builds_only_the_claims_a_check_needs():
    """Of a batch with few drug claims, only those (and unbalanced ones) become Claims."""
    data = synthetic(400, 0.05)
    codes = SKIMMING.checker.skim_codes()
    assert codes is not None and "J0897" in codes
    result = FileResult("batch.837")
    built = list(read_claims(Source("batch.837", None, data), result, skim_codes=codes))
    assert result.claims == 400
    assert 0 < len(built) < 60
    assert all(
        any(line.code.upper() in codes for line in claim.lines)
        or claim.charge_value != sum(line.charge_value or 0 for line in claim.lines)
        for claim in built
    )


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=damaged(), chunk=st.sampled_from((61, 173, 1024, tokenizer.CHUNK_SIZE)))
def test_damaged_files_report_the_same_skimmed(
    data: bytes, chunk: int, monkeypatch: pytest.MonkeyPatch
):
    assert_same_report(data, monkeypatch, chunk)


@pytest.mark.parametrize("chunk", (211, 4096))
@pytest.mark.parametrize("where", (b"~HI*", b"~HL*3*", b"~SE*", b"~DTP*472*"))
def test_a_dropped_oversized_segment_reports_the_same_skimmed(
    where: bytes, chunk: int, monkeypatch: pytest.MonkeyPatch
):
    """The reader drops a segment longer than its limit; the skim must not count it."""
    monkeypatch.setattr(tokenizer, "MAX_SEGMENT_CHARS", 500)
    batch = synthetic(60, 0.3)
    at = batch.index(where, len(batch) // 3)
    data = batch[:at] + b"~NTE*ADD*" + b"X" * 2_000 + batch[at:]
    assert_same_report(data, monkeypatch, chunk)


@pytest.mark.parametrize(
    "path", [path for path in CORPUS if b"ISA" in path.read_bytes()], ids=lambda path: path.name
)
def test_the_listing_of_drug_lines_is_the_full_listing_filtered(path: Path):
    """`lines` skims; `lines --all` reads every claim. The drug lines must be the same."""
    codes = SKIMMING.checker.skim_codes()
    assert codes is not None
    everything = listing(path)
    result = run_cli("lines", "--format", "json", str(path))
    assert result.exit_code in (0, 1), result.output
    assert json.loads(result.stdout) == [row for row in everything if row["code"].upper() in codes]


SEGMENT_TAGS = [
    "ST",
    "SE",
    "HL",
    "CLM",
    "LX",
    "SV1",
    "SV2",
    "NM1",
    "PRV",
    "DTP",
    "GE",
    "IEA",
    "ISA",
    "GS",
    "N3",
    "X",
    "ABCD",
]
ELEMENT = st.text(alphabet="0123456789.:-JQjqHCBIabcxyz ", max_size=14)


@st.composite
def segment_blocks(draw: st.DrawFn) -> str:
    """Blocks of segments with the tags the skim reads and elements of digits, dots and
    codes: charges that are numbers or nearly, codes upper and lower case."""
    segments = []
    for _ in range(draw(st.integers(0, 40))):
        tag = draw(st.sampled_from(SEGMENT_TAGS))
        elements = draw(st.lists(ELEMENT, max_size=6))
        segments.append("*".join([tag, *elements]))
    return "~".join(segments)


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=segment_blocks(), carried_over=st.booleans(), held=st.integers(0, 3))
def test_the_compiled_skim_takes_any_block(
    text: str, carried_over: bool, held: int, skim_implementation: str
):
    """Whatever a block holds, scan returns events or None (a malformed tag), never fails."""
    if skim_implementation != "compiled":
        pytest.skip("this one is about the C code alone")
    if carried_over and not text.startswith(("ST", "SE", "HL", "CLM", "GE", "IEA", "ISA", "GS")):
        text = "HL*9*1*22*0~" + text
    waiting = [("HL", 3, "HL*3*1*22*0", 4)] * held
    result = COMPILED.scan(
        "~" + text, 1, carried_over, "~", "*", ":", frozenset({"J0897", "Q5136"}), waiting, 8
    )
    if result is None:
        return
    events, carry = result
    for tag, index, unit, end in events:
        assert tag in (None, "", "ISA", "GS", "ST", "SE", "GE", "IEA", "HL", "CLM")
        assert isinstance(index, int) and isinstance(unit, str) and isinstance(end, int)
    assert carry is None or (
        carry[0] in ("ISA", "GS", "ST", "SE", "GE", "IEA", "HL", "CLM") and text.endswith(carry[2])
    )


def test_a_loop_that_sets_the_billing_provider_is_always_read():
    """A PRV*BI or NM1*85 out of place, in a subscriber loop after one held back, still
    reaches the parser: it changes the billing provider of every claim after it."""
    block = (
        "HL*1**20*1~NM1*85*2*CLINIC*****XX*1000000001~"
        "HL*2*1*22*0~SBR*P*18*******MB~CLM*A1*10***11:B:1~LX*1~SV1*HC:99213*10~"
        "HL*3*1*22*0~PRV*BI*PXC*207RX0202X~SBR*P*18*******CI~CLM*A2*10***11:B:1~LX*1~"
        "SV1*HC:99213*10~HL*4*1*22*0~SBR*P*18*******CI~CLM*A3*100***11:B:1~LX*1~"
        "SV1*HC:J0897*100~SE*20*0001"
    )
    delimiters = tokenizer.Delimiters("*", ":", "^", "~")
    skimmer = skim.ClaimSkimmer(delimiters, frozenset({"J0897"}))
    events = skimmer.skim(5, block)
    assert events is not None
    loops = [unit for tag, _, unit, _ in events if tag == "HL"]
    assert any("PRV*BI" in unit for unit in loops)
    assert [unit.split("*")[1] for tag, _, unit, _ in events if tag == "CLM"] == ["A3"]


@pytest.mark.parametrize("chunk", (211, 4096))
def test_a_unit_too_long_to_carry_is_read_by_the_handlers(
    chunk: int, monkeypatch: pytest.MonkeyPatch
):
    """A unit longer than the carry limit is read segment by segment: same report."""
    monkeypatch.setattr(parser, "MAX_CARRIED_CHARS", 300)
    assert_same_report(synthetic(80, 0.3), monkeypatch, chunk)


@pytest.mark.parametrize("tag", ["GS", "ST", "SE", "GE", "HL", "LX", "HI"])
def test_a_bare_two_letter_tag_reads_the_same_skimmed(tag: str, monkeypatch: pytest.MonkeyPatch):
    """'LX~' or 'HL~' with no element: the skim and the full read take it as the same
    segment (the full read once passed over it, counting one line less)."""
    for path in (
        FIXTURES / "837p/multi_st.837",
        FIXTURES / "demo/demo.837",
        FIXTURES / "837i/prolia_two_claims.837",
    ):
        text = path.read_text()
        for found in list(re.finditer(f"~{tag}\\*[^~]*", text))[:3]:
            bare = text[: found.start()] + f"~{tag}" + text[found.end() :]
            assert_same_report(bare.encode(), monkeypatch, tokenizer.CHUNK_SIZE)


@pytest.mark.parametrize("delimiter", ["*", ":", "~"], ids=["element", "component", "segment"])
def test_a_nul_delimiter_reads_the_same_with_either_skim(delimiter: str, monkeypatch):
    """NUL as a delimiter: the compiled skim raised ('embedded null character') and the
    file became an internal error with 0 claims, while the Python skim read it."""
    data = (FIXTURES / "837p/multi_st.837").read_bytes().replace(delimiter.encode(), b"\x00")
    assert_same_report(data, monkeypatch, tokenizer.CHUNK_SIZE)
    assert report(SKIMMING, data)["claims"] == 8
