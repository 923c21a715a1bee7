"""Every third-party 837 file reads with the counts its INDEX.md lists, in any layout."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import (
    REAL,
    listing,
    log_events,
    pretty_printed,
    real_files,
    run_cli,
    spaced_out,
    with_bom,
    with_crlf,
)

# (claims, service lines, lines with a 2410 NDC) as INDEX.md gives them; counted there with
# a plain segment splitter, independently of this project.
INDEX_COUNTS = {
    "demo.drug.example10.1.837": (1, 2, 1),
    "demo.drug.example10.2.837": (1, 6, 5),
    "demo.drug.example10.3.837": (1, 6, 5),
    "drug-administered-in-the-physician-office.edi": (1, 2, 1),
    "HCPCS-in-loop-2400-or-NDC-in-loop-2410.edi": (1, 6, 5),
    "adjudicated-with-NDC-in-loop-2410.edi": (1, 6, 5),
    "COB-claim-from-billing-provider-to-payer-a.edi": (1, 3, 0),
    "commercial-health-insurance.edi": (1, 4, 0),
    "837-institutional-claim.edi": (1, 2, 0),
    "two-claims-for-the-same-provider.edi": (2, 3, 0),
    "automobile-accident.edi": (1, 4, 0),
    "x12_complex.txt": (6, 10, 4),
    "x12_many_claims.txt": (820, 820, 0),
    "x223-test.txt": (1, 1, 0),
    "sample837-original.edi": (1, 1, 1),
}


def expected_counts(path: Path) -> tuple[int, int, int]:
    matches = [counts for suffix, counts in INDEX_COUNTS.items() if path.name.endswith(suffix)]
    assert len(matches) == 1, f"{path.name} is not in the INDEX table of this test"
    return matches[0]


def read_counts(path: Path) -> tuple[int, int, int]:
    """Claims and lines from the file summary event, NDC lines from the listing."""
    result = run_cli("lines", "--all", "--format", "json", str(path))
    (summary,) = [event for event in log_events(result) if event["event"] == "file.read"]
    records = json.loads(result.stdout)
    assert len(records) == summary["service_lines"]
    with_ndc = sum(1 for record in records if record["ndc"])
    return summary["claims"], summary["service_lines"], with_ndc


def test_every_real_file_is_in_the_index():
    assert len(real_files()) == len(INDEX_COUNTS)
    for path in real_files():
        expected_counts(path)


@pytest.mark.parametrize("path", real_files(), ids=lambda path: path.name[-45:])
def test_real_file_counts_match_index(path: Path):
    assert read_counts(path) == expected_counts(path)


@pytest.mark.parametrize(
    "variant",
    [with_crlf, with_bom, pretty_printed, spaced_out],
    ids=["crlf", "bom", "pretty", "spaced"],
)
@pytest.mark.parametrize("path", real_files(), ids=lambda path: path.name[-45:])
def test_layout_variants_read_the_same(path: Path, variant, tmp_copy):
    original = listing(path)
    changed = listing(tmp_copy(path.name, variant(path.read_bytes())))
    for record in original + changed:
        record.pop("file")
    assert changed == original


def test_staedi_sample_fields():
    """A newline-terminated, indented file with '>' as component separator (StAEDI)."""
    (record,) = listing(REAL / "xlate__staedi__src__test__resources__x12__sample837-original.edi")
    assert record["transaction"] == "837P"
    assert record["claim_id"] == "945405"
    assert record["code"] == "J2941"
    assert record["units"] == "84"
    assert record["unit_basis"] == "UN"
    assert record["charge"] == "5332.54"
    assert record["place_of_service"] == "12"
    assert record["diagnoses"] == ["2533"]
    assert (record["ndc_qualifier"], record["ndc"]) == ("N4", "00013264681")
    assert (record["ctp_quantity"], record["ctp_unit"]) == ("7", "UN")
    assert record["service_date"] == "20110511"
    assert record["payer_filing_indicator"] == "BL"
    assert record["payer_id"] == "54771"


def test_imsweb_complex_has_two_transaction_sets_and_their_true_envelope_errors():
    """The imsweb sample's SE01 and GE01 are wrong in the file itself; we say so."""
    path = next(p for p in real_files() if p.name.endswith("x12_complex.txt"))
    result = run_cli("lines", "--all", "--format", "jsonl", str(path))
    assert result.exit_code == 1
    findings = [e for e in log_events(result) if e["event"] == "finding"]
    assert {e["rule"] for e in findings} == {"x12.envelope"}
    assert [e["segment_index"] for e in findings] == [149, 296, 297]
    (summary,) = [e for e in log_events(result) if e["event"] == "file.read"]
    assert summary["transaction_sets"] == 2
