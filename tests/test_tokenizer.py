"""The streaming tokenizer and the envelope checks, on hand-made byte strings."""

from __future__ import annotations

import io

import pytest

from edi_precheck.model import ClaimParser
from edi_precheck.x12 import EnvelopeChecker, SegmentReader, tokenizer

ISA = (
    "ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *261101*1200*^*"
    "00501*000000001*0*T*:~"
)
BODY = (
    "GS*HC*SENDER*RECEIVER*20261101*1200*1*X*005010X222A1~ST*837*0001*005010X222A1~"
    "BHT*0019*00*1*20261101*1200*CH~HL*1**20*1~NM1*85*2*CLINIC*****XX*1234567893~"
    "HL*2*1*22*0~SBR*P*18*******MB~NM1*PR*2*MEDICARE*****PI*00882~"
    "CLM*A1*100***11:B:1*Y*A*Y*Y~HI*ABK:M810~LX*1~SV1*HC:J0897:JZ*100*UN*60***1~"
    "DTP*472*D8*20261015~LIN**N4*55513071001~CTP****1*UN~SE*15*0001~GE*1*1~"
    "IEA*1*000000001~"
)


def parse(data: bytes) -> tuple[list, ClaimParser]:
    parser = ClaimParser(io.BytesIO(data))
    return list(parser), parser


def test_isa_is_106_characters():
    assert len(ISA) == 106


def test_clean_interchange_has_no_findings():
    claims, parser = parse((ISA + BODY).encode())
    assert parser.findings == []
    (claim,) = claims
    (line,) = claim.lines
    assert (line.code, line.modifiers, line.units, line.ndc) == (
        "J0897",
        ("JZ",),
        "60",
        "55513071001",
    )


def test_two_interchanges_with_different_delimiters():
    other = (ISA + BODY).replace("*", "|").replace(":", ">").replace("~", "\n")
    other = other.replace("000000001", "000000002")
    claims, parser = parse((ISA + BODY + "\n" + other).encode())
    assert parser.findings == []
    assert [c.lines[0].code for c in claims] == ["J0897", "J0897"]
    assert claims[1].facility_code == "11"
    assert claims[1].transaction.interchange_control == "000000002"


def test_segment_numbers_are_file_positions():
    segments = list(SegmentReader(io.BytesIO((ISA + BODY).encode())))
    assert [index for index, _ in segments] == list(range(1, len(segments) + 1))
    assert segments[0][1][0] == "ISA" and segments[-1][1][0] == "IEA"


def test_last_segment_without_terminator_is_read():
    claims, parser = parse((ISA + BODY).rstrip("~").encode())
    assert parser.findings == [] and len(claims) == 1


def test_latin1_bytes_are_read():
    data = (ISA + BODY).replace("CLINIC", "CLÍNICA").encode("latin-1")
    reader = SegmentReader(io.BytesIO(data))
    assert len(list(reader)) == 19
    assert reader.encoding == "latin-1"


def test_utf8_split_across_chunks(monkeypatch):
    monkeypatch.setattr(tokenizer, "CHUNK_SIZE", 7)
    data = (ISA + BODY).replace("CLINIC", "CLÍNICA ÅÄÖ").encode("utf-8")
    reader = SegmentReader(io.BytesIO(data))
    fields = [f for _, f in reader]
    assert reader.encoding == "utf-8"
    assert "CLÍNICA ÅÄÖ" in [f[3] for f in fields if f[0] == "NM1"]


@pytest.mark.parametrize("chunk_size", [1, 5, 106, 107, 4096])
def test_chunk_boundaries_do_not_matter(monkeypatch, chunk_size):
    monkeypatch.setattr(tokenizer, "CHUNK_SIZE", chunk_size)
    segments = list(SegmentReader(io.BytesIO((ISA + BODY + ISA + BODY).encode())))
    assert len(segments) == 38


def test_terminator_inside_data_is_a_syntax_finding():
    data = (ISA + BODY).replace("CLINIC", "CLI~NIC INCORPORATED").encode()
    claims, parser = parse(data)
    assert len(claims) == 1
    rules = [f.rule for f in parser.findings]
    assert "x12.syntax" in rules and "x12.envelope" in rules  # SE count is now off by one


def test_oversized_segment_is_skipped(monkeypatch):
    monkeypatch.setattr(tokenizer, "MAX_SEGMENT_CHARS", 1000)
    monkeypatch.setattr(tokenizer, "CHUNK_SIZE", 256)
    data = (ISA + BODY).replace("HI*ABK:M810~", "NTE*ADD*" + "X" * 5000 + "~").encode()
    claims, parser = parse(data)
    assert len(claims) == 1
    assert [f.rule for f in parser.findings] == ["x12.syntax"]
    assert "runs past" in parser.findings[0].message


def test_short_isa_is_reported_and_read():
    data = (ISA.replace("SENDER         ", "SENDER") + BODY).encode()
    claims, parser = parse(data)
    assert len(claims) == 1
    assert [f.rule for f in parser.findings] == ["x12.syntax"]
    assert "97 characters" in parser.findings[0].message


@pytest.mark.parametrize(
    ("change", "element"),
    [
        (("SE*15*0001", "SE*14*0001"), "SE01"),
        (("SE*15*0001", "SE*15*0002"), "SE02"),
        (("GE*1*1~", "GE*2*1~"), "GE01"),
        (("GE*1*1~", "GE*1*9~"), "GE02"),
        (("IEA*1*000000001", "IEA*3*000000001"), "IEA01"),
        (("IEA*1*000000001", "IEA*1*000000009"), "IEA02"),
    ],
)
def test_envelope_mismatches(change, element):
    claims, parser = parse((ISA + BODY).replace(*change).encode())
    assert len(claims) == 1
    assert [(f.rule, f.element) for f in parser.findings] == [("x12.envelope", element)]


@pytest.mark.parametrize("trailer", ["SE*15*0001~", "GE*1*1~", "IEA*1*000000001~"])
def test_missing_trailer(trailer):
    claims, parser = parse((ISA + BODY).replace(trailer, "").encode())
    assert len(claims) == 1  # the claim was complete: the next envelope segment proves it
    assert [f.rule for f in parser.findings] == ["x12.envelope"]


def test_envelope_checker_on_a_clean_interchange():
    checker = EnvelopeChecker()
    index = 0
    for index, fields in SegmentReader(io.BytesIO((ISA + BODY).encode())):
        if fields[0] in ("ISA", "IEA", "GS", "GE", "ST", "SE"):
            checker.on_envelope(index, fields)
    checker.at_end_of_file(index)
    assert checker.findings == [] and checker.transaction_sets == 1
    assert checker.transaction_spans == [(3, index - 2)]


def test_a_bad_segment_inside_a_set_does_not_hide_a_stray_one_after_it():
    text = (ISA + BODY).replace("~CLM*", "~C@M*LOST~CLM*", 1).replace("~GE*", "~NTE*X~GE*")
    _, parser = parse(text.encode())
    found = [
        (f.rule, f.segment_index)
        for f in parser.findings
        if f.rule == "x12.syntax" or "outside any ST/SE" in f.message
    ]
    bad, stray = text.split("~").index("C@M*LOST") + 1, text.split("~").index("NTE*X") + 1
    assert found == [("x12.syntax", bad), ("x12.envelope", stray)]


def test_a_damaged_tag_is_reported_after_its_valid_namesake():
    """'DMGX' is no tag, even where a 'DMG' came before it."""
    text = (ISA + BODY).replace("~HL*2*1*22*0~", "~HL*2*1*22*0~DMG*D8*19600101~", 1)
    text = text.replace("~HI*ABK:M810~", "~HI*ABK:M810~DMGX*D8~", 1)
    _, parser = parse(text.encode())
    bad = text.split("~").index("DMGX*D8") + 1
    assert [(f.rule, f.segment_index) for f in parser.findings if f.rule == "x12.syntax"] == [
        ("x12.syntax", bad)
    ]


@pytest.mark.parametrize(
    ("start", "said"),
    [
        (
            ISA[:60],
            "its ISA segment cannot be read (16 elements, then the component "
            "separator and the segment terminator)",
        ),
        ("GS", "it does not start with an ISA segment"),
        ("GS*HC*SENDER~", "it starts with a 'GS' segment, not ISA"),
        ("SMITH,JOHN,19600101\n", "it does not start with an ISA segment"),  # never a name
        ("LEE|JOHN|19600101\n", "it does not start with an ISA segment"),
        ("MSH|^~\\&|LAB\n", "it starts with a 'MSH' segment, not ISA"),
        ("\x00\x01\x02", "it looks like binary data"),
    ],
)
def test_a_file_that_is_not_x12_is_described_without_its_content(start, said):
    _, parser = parse(start.encode())
    (finding,) = parser.findings
    assert finding.rule == "x12.unreadable"
    assert finding.message == f"not an X12 interchange: {said}"
