"""The bad-input catalogue: each damaged or foreign input and what it must give.

Every case runs the command line in-process with exceptions allowed to escape, so a
traceback fails the test. Each asserts the finding a user sees, the exit code, and that
every claim that could be read was read.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import FIXTURES, pretty_printed, with_bom, with_crlf
from conftest import run_cli as _run

MULTI = (FIXTURES / "837p/multi_st.837").read_bytes()  # 3 ST, 8 claims, 17 lines
PROLIA = (FIXTURES / "837p/prolia_medicare_clean.837").read_bytes()


def segments(data: bytes) -> list[bytes]:
    return data.split(b"~")


def join(parts: list[bytes]) -> bytes:
    return b"~".join(parts)


def drop(tag: bytes, data: bytes, which: int = 0) -> bytes:
    parts = segments(data)
    found = [i for i, s in enumerate(parts) if s.startswith(tag + b"*")]
    del parts[found[which]]
    return join(parts)


def replace(old: bytes, new: bytes, count: int = 1) -> Callable[[bytes], bytes]:
    return lambda data: data.replace(old, new, count)


def claim_with_lines(count: int) -> bytes:
    """The Prolia claim with `count` 96372 lines added (LX numbered on)."""
    line = b"LX*{n}~SV1*HC:96372*45*UN*1***1~DTP*472*D8*20260310~"
    extra = b"".join(line.replace(b"{n}", str(n).encode()) for n in range(3, count + 1))
    charge = 1695 + 45 * (count - 2)
    data = PROLIA.replace(b"CLM*PMC0001*1695", b"CLM*PMC0001*" + str(charge).encode())
    return _recount(data.replace(b"~SE*", b"~" + extra + b"SE*"))


def _recount(data: bytes) -> bytes:
    parts = segments(data)
    count = 0
    for i, part in enumerate(parts):
        tag = part.strip().split(b"*", 1)[0]
        if tag == b"ST":
            count = 0
        count += 1
        if tag == b"SE":
            fields = part.split(b"*")
            fields[1] = str(count).encode()
            parts[i] = b"*".join(fields)
    return join(parts)


def many_claims_one_st(claims: int) -> bytes:
    """One ST holding `claims` copies of the Prolia claim, each with its own CLM01 and its
    own patient (the same patient's dose `claims` times would be a duplicate)."""
    text = PROLIA.decode()
    head, rest = text.split("HL*2*1*22*0~", 1)
    subscriber_and_claim, tail = rest.split("SE*", 1)
    body = []
    for n in range(claims):
        hl = f"HL*{n + 2}*1*22*0~"
        copy = subscriber_and_claim.replace("PMC0001", f"PMC{n:06d}")
        body.append(hl + copy.replace("MI*5TW7HK3CN22", f"MI*5TW7HK{n:05d}"))
    trailer = "SE*" + tail
    return _recount(("".join([head, *body, trailer])).encode())


@dataclass(frozen=True)
class Case:
    name: str
    make: Callable[[], bytes]
    rules: frozenset[str]  # the file-level rules it must give (x12.* only)
    claims: int  # claims that must be read
    code: int = 1
    suffix: str = ".837"
    ig: bool = False
    lines: int | None = None  # service lines that must be read, where it matters


CASES = [
    Case("empty", lambda: b"", frozenset({"x12.unreadable"}), 0),
    Case(
        "binary_junk",
        lambda: random.Random(5).randbytes(3000),
        frozenset({"x12.unreadable"}),
        0,
        suffix=".dat",
    ),
    Case(
        "remittance_835",
        lambda: (FIXTURES / "bad/remittance.835").read_bytes(),
        frozenset({"x12.unsupported"}),
        0,
    ),
    Case(
        "version_4010",
        lambda: PROLIA.replace(b"005010X222A1", b"004010X098A1"),
        frozenset({"x12.unsupported"}),
        0,
    ),
    Case("missing_iea", lambda: drop(b"IEA", MULTI), frozenset({"x12.envelope"}), 8),
    Case("missing_ge", lambda: drop(b"GE", MULTI), frozenset({"x12.envelope"}), 8),
    Case("missing_se", lambda: drop(b"SE", MULTI, 1), frozenset({"x12.envelope"}), 8),
    Case(
        "wrong_se_count",
        lambda: replace(b"SE*31*", b"SE*30*")(PROLIA),
        frozenset({"x12.envelope"}),
        1,
    ),
    Case(
        "isa_too_short",
        lambda: PROLIA.replace(b"TESTRECEIVER   ", b"TESTRECEIVER", 1),
        frozenset({"x12.syntax"}),
        1,
    ),
    Case(
        "isa_too_long",
        lambda: PROLIA.replace(b"TESTRECEIVER   ", b"TESTRECEIVER    ", 1),
        frozenset({"x12.syntax"}),
        1,
    ),
    Case(
        "terminator_in_data",
        lambda: MULTI.replace(b"NM1*41*2*", b"NM1*41*2*A~BCDE ", 1),
        frozenset({"x12.syntax", "x12.envelope"}),
        8,
    ),
    Case("nul_bytes", lambda: PROLIA.replace(b"TESTENDO", b"TEST\x00ENDO"), frozenset(), 1, code=0),
    Case(
        "nul_bytes_ig",
        lambda: PROLIA.replace(b"TESTENDO", b"TEST\x00ENDO"),
        frozenset({"x12.ig"}),
        1,
        ig=True,
    ),
    Case(
        "latin1_bytes",
        lambda: PROLIA.replace(b"TESTENDO", "TÉSTENDÖ".encode("latin-1")),
        frozenset(),
        1,
        code=0,
    ),
    Case(
        "invalid_utf8",
        lambda: PROLIA.replace(b"TESTENDO", b"TEST\xff\xfe\xc3ENDO"),
        frozenset(),
        1,
        code=0,
    ),
    Case("bom", lambda: with_bom(MULTI), frozenset(), 8, code=0, ig=True),
    Case(
        "utf16_with_bom",  # what Windows editors save as "Unicode"
        lambda: MULTI.decode().encode("utf-16"),
        frozenset(),
        8,
        code=0,
        ig=True,
    ),
    Case("utf16_le_no_bom", lambda: MULTI.decode().encode("utf-16-le"), frozenset(), 8, code=0),
    Case(
        "text_after_an_interchange_holds_claims",  # a damaged second ISA: its claims counted
        lambda: PROLIA + MULTI.replace(b"ISA*00*", b"ISA~00*", 1),
        frozenset({"x12.syntax"}),
        1,
    ),
    Case("crlf", lambda: with_crlf(MULTI), frozenset(), 8, code=0, ig=True),
    Case("pretty_printed", lambda: pretty_printed(MULTI), frozenset(), 8, code=0, ig=True),
    Case(
        "fifty_mb_segment",
        lambda: MULTI.replace(b"HI*ABK:M810~", b"NTE*ADD*" + b"X" * 50_000_000 + b"~", 1),
        frozenset({"x12.syntax"}),
        8,
    ),
    Case(
        "claim_with_500_lines",
        lambda: claim_with_lines(500),
        frozenset({"x12.ig"}),
        1,
        ig=True,
        lines=500,
    ),
    Case(
        "ten_thousand_claims_one_st",
        lambda: many_claims_one_st(10_000),
        frozenset(),
        10_000,
        code=0,
        lines=20_000,
    ),
    Case(
        "hl_parent_points_nowhere",
        lambda: MULTI.replace(b"HL*2*1*22", b"HL*2*9*22", 1),
        frozenset({"x12.ig"}),
        8,
        ig=True,
    ),
    Case(
        "lx_out_of_order",
        lambda: MULTI.replace(b"~LX*2~", b"~LX*5~", 1),
        frozenset({"x12.ig"}),
        8,
        ig=True,
    ),
    Case(
        "lin_without_lx",
        lambda: _recount(MULTI.replace(b"~LX*1~", b"~LIN**N4*55513071001~LX*1~", 1)),
        frozenset({"x12.ig"}),
        8,
        ig=True,
    ),
    Case(
        "duplicate_claim_ids",
        lambda: MULTI.replace(b"CLM*MST0002*", b"CLM*MST0001*"),
        frozenset(),
        8,
        code=0,
    ),
    Case(
        "stray_segment_between_st",
        lambda: MULTI.replace(b"~ST*837*0002", b"~NTE*ADD*X~ST*837*0002"),
        frozenset({"x12.envelope"}),
        8,
    ),
    Case(
        "junk_after_iea", lambda: MULTI + b"\r\nthis is not x12\r\n", frozenset({"x12.syntax"}), 8
    ),
    Case("ctrl_z_after_iea", lambda: MULTI + b"\x1a", frozenset(), 8, code=0),
    Case(
        "ctrl_z_after_iea_without_terminator",
        lambda: MULTI.rstrip(b"~\r\n") + b"\x1a",
        frozenset(),
        8,
        code=0,
    ),
    Case("nul_padding_after_iea", lambda: MULTI + b"\r\n" + b"\x00" * 300, frozenset(), 8, code=0),
    Case("isa_without_delimiters", lambda: PROLIA[:60], frozenset({"x12.unreadable"}), 0),
    Case(
        "space_after_terminators_on_one_line",
        lambda: (
            MULTI.replace(b"~CLM*", b"~ CLM*")
            .replace(b"~LX*", b"~\tLX*")
            .replace(b"~SE*", b" ~SE*")
        ),
        frozenset(),
        8,
        code=0,
        lines=17,
    ),
    # Numbers Python reads but X12 does not write: exponents overflow a sum, other
    # scripts' digits and 5,000-digit pointers break int().
    Case(
        "charge_in_exponent_form",
        lambda: PROLIA.replace(b"JZ*1650*", b"JZ*9E999999*"),
        frozenset(),
        1,
    ),
    Case(
        "units_in_exponent_form",
        lambda: PROLIA.replace(b"UN*60***1", b"UN*9E999999***1"),
        frozenset(),
        1,
    ),
    Case(
        "pointer_in_superscript_digits",
        lambda: PROLIA.replace(b"UN*60***1~", "UN*60***²~".encode()),
        frozenset(),
        1,
    ),
    Case(
        "pointer_of_5000_digits",
        lambda: PROLIA.replace(b"UN*60***1~", b"UN*60***" + b"1" * 5000 + b"~"),
        frozenset(),
        1,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_bad_input(case: Case, tmp_path: Path):
    path = tmp_path / f"input{case.suffix}"
    path.write_bytes(case.make())
    ig = ["--jobs", "1"] if case.ig else ["--no-ig"]
    result = _run("check", "--format", "json", *ig, str(path))
    assert result.exit_code == case.code, result.stdout[-2000:]
    (file,) = json.loads(result.stdout)["files"]
    file_rules = {f["rule"] for f in file["findings"] if f["rule"].startswith("x12.")}
    assert file_rules == case.rules
    assert file["claims"] == case.claims
    if case.lines is not None:
        assert file["service_lines"] == case.lines
    assert all(f["message"] for f in file["findings"])


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_bad_input_is_listed(case: Case, tmp_path: Path):
    """`lines --all` reads the same claims as `check`, and never raises."""
    path = tmp_path / f"input{case.suffix}"
    path.write_bytes(case.make())
    result = _run("lines", "--all", "--format", "jsonl", str(path))
    assert result.exit_code in (0, 1)
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert len({record["claim_index"] for record in records}) <= case.claims
    if case.lines is not None:
        assert len(records) == case.lines


def test_duplicate_claim_ids_are_kept_apart(tmp_path):
    path = tmp_path / "dup.837"
    path.write_bytes(MULTI.replace(b"CLM*MST0002*", b"CLM*MST0001*"))
    result = _run("lines", "--all", "--format", "json", str(path))
    records = json.loads(result.stdout)
    first_two = sorted({(r["claim_index"], r["claim_id"]) for r in records})[:2]
    assert first_two == [(1, "MST0001"), (2, "MST0001")]
