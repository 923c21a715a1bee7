"""Property tests: damaged copies of real and fixture files never break the checker.

Mutations are what transfers and hand edits do to files: flipped bits, cut and doubled
segments, truncation; and the shapes an attacker uses to make a linear reader quadratic:
an element grown to a long run of digits, a claim grown to thousands of service lines,
separator-free junk. Whatever the damage: no exception escapes, the file is reported, and
no more claims are read than the damaged bytes hold CLM segments, and the JSON report is
still valid against its schema.
"""

from __future__ import annotations

from pathlib import Path

import jsonschema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import FIXTURES, REAL
from edi_precheck import check_bytes
from edi_precheck.policy import schema

SOURCES = [
    FIXTURES / "837p/multi_st.837",
    FIXTURES / "837i/prolia_two_claims.837",
    FIXTURES / "demo/demo.837",
    FIXTURES / "837p/prolia_medicare_clean_pretty.837",
    REAL / "xlate__staedi__src__test__resources__x12__sample837-original.edi",
    REAL / "imsweb__x12-parser__src__test__resources__837_5010__x12_complex.txt",
    REAL
    / (
        "irobayna__stupidedi__spec__fixtures__005010__X223A2_HC837_Health_Care_Claim_"
        "Institutional__pass__automobile-accident.edi"
    ),
]
REPORT_SCHEMA = schema("report")
DATA = {path.name: path.read_bytes() for path in SOURCES}


def terminator(data: bytes) -> bytes:
    start = data.find(b"ISA")
    return data[start + 105 : start + 106] if start >= 0 and len(data) > start + 105 else b"~"


@st.composite
def damaged(draw: st.DrawFn) -> bytes:
    data = bytearray(DATA[draw(st.sampled_from(sorted(DATA)))])
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(
            st.sampled_from(
                ["flip", "cut", "double", "truncate", "splice", "digits", "lines", "junk"]
            )
        )
        if not data:
            break
        if kind == "flip":
            position = draw(st.integers(0, len(data) - 1))
            data[position] ^= 1 << draw(st.integers(0, 7))
            continue
        term = terminator(bytes(data))
        parts = bytes(data).split(term)
        at = draw(st.integers(0, max(len(parts) - 1, 0)))
        if kind == "cut":
            del parts[at]
        elif kind == "double":
            parts.insert(at, parts[at])
        elif kind == "splice":
            parts.insert(at, draw(st.binary(max_size=40)))
        elif kind in GROWN:
            parts = GROWN[kind](draw, parts, at, term)
        else:
            parts = parts[:at]
        data = bytearray(term.join(parts))
    return bytes(data)


# The grown shapes: large enough that a quadratic pass over them would stall the suite
# (tens of seconds each), small enough that the linear one costs milliseconds.
LONG = 60_000
MANY_LINES = 1_500


def _element_separator(parts: list[bytes]) -> bytes:
    first = parts[0] if parts else b""
    start = first.find(b"ISA")
    return first[start + 3 : start + 4] if start >= 0 and len(first) > start + 3 else b"*"


def _grow_digits(draw: st.DrawFn, parts: list[bytes], at: int, term: bytes) -> list[bytes]:
    """One element of segment `at` becomes a long run of digits, maybe with a tail that
    makes it no number (the amount pattern once backtracked over such runs)."""
    separator = _element_separator(parts)
    elements = parts[at].split(separator)
    which = draw(st.integers(0, max(len(elements) - 1, 0)))
    tail = draw(st.sampled_from([b"", b"A", b".1.", b"-"]))
    elements[which] = b"9" * draw(st.integers(1, LONG)) + tail
    return [*parts[:at], separator.join(elements), *parts[at + 1 :]]


def _grow_lines(draw: st.DrawFn, parts: list[bytes], at: int, term: bytes) -> list[bytes]:
    """The service line at or after `at` (LX and what follows it up to the next LX or
    CLM) repeated up to MANY_LINES times in its claim."""
    starts = [i for i, part in enumerate(parts) if part.lstrip().startswith(b"LX")]
    if not starts:
        return parts
    first = next((i for i in starts if i >= at), starts[0])
    end = first + 1
    while end < len(parts) and not parts[end].lstrip().startswith((b"LX", b"CLM", b"SE")):
        end += 1
    line = parts[first:end]
    copies = draw(st.integers(2, MANY_LINES))
    return [*parts[:first], *(line * copies), *parts[end:]]


def _grow_junk(draw: st.DrawFn, parts: list[bytes], at: int, term: bytes) -> list[bytes]:
    """Separator-free junk, or text full of envelope tags with no terminator."""
    unit = draw(st.sampled_from([b"A", b"IEA*", b"xIEA*", b" ", b"1"]))
    junk = unit * (draw(st.integers(1, LONG)) // len(unit) + 1)
    return [*parts[:at], junk, *parts[at:]]


GROWN = {"digits": _grow_digits, "lines": _grow_lines, "junk": _grow_junk}


def clm_segments_bound(data: bytes) -> int:
    return data.count(b"CLM")


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(damaged())
def test_damaged_files_never_raise_and_never_invent_claims(data: bytes):
    report = check_bytes(data, name="damaged.837", ig=False)
    (file,) = report.files
    assert file.name == "damaged.837"
    assert file.claims <= clm_segments_bound(data)
    assert file.service_lines <= data.count(b"LX")
    for finding in report.findings:
        assert finding.rule and finding.message
    jsonschema.validate(report.to_dict(), REPORT_SCHEMA)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(damaged())
def test_damaged_files_with_pyx12_never_raise(data: bytes):
    report = check_bytes(data, name="damaged.837", ig=True)
    assert len(report.files) == 1
    assert report.files[0].claims <= clm_segments_bound(data)


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=2000))
def test_arbitrary_bytes(data: bytes):
    report = check_bytes(data, ig=False)
    assert len(report.files) == 1
    if not data.lstrip().startswith((b"ISA", b"\xef\xbb\xbfISA")):
        assert [f.rule for f in report.findings][:1] == ["x12.unreadable"]


def test_sources_exist():
    assert all(Path(path).exists() for path in SOURCES)
