"""The project's own fixtures read field by field as written (fixtures/README.md)."""

from __future__ import annotations

import io
import json

import pytest

from conftest import FIXTURES, listing, log_events, run_cli
from edi_precheck.model import ClaimParser
from edi_precheck.synth import write_837p


def only(records: list[dict], code: str) -> dict:
    (record,) = [r for r in records if r["code"] == code]
    return record


def test_837p_prolia_medicare_line_fields():
    records = listing(FIXTURES / "837p/prolia_medicare_clean.837")
    assert [r["code"] for r in records] == ["J0897", "96372"]
    drug = only(records, "J0897")
    assert drug["transaction"] == "837P"
    assert (drug["claim_index"], drug["claim_id"], drug["line"]) == (1, "PMC0001", "1")
    assert drug["modifiers"] == ["JZ"]
    assert (drug["units"], drug["unit_basis"], drug["charge"]) == ("60", "UN", "1650")
    assert (drug["ndc_qualifier"], drug["ndc"]) == ("N4", "55513071001")
    assert (drug["ctp_quantity"], drug["ctp_unit"]) == ("1", "UN")
    assert (drug["place_of_service"], drug["type_of_bill"]) == ("11", "")
    assert drug["diagnoses"] == ["M810"]
    assert (drug["payer_filing_indicator"], drug["payer_id"]) == ("MB", "01112")
    assert drug["service_date"] == "20260310"
    assert drug["rendering_taxonomy"] == "207RE0101X"


def test_837p_pointers_select_diagnoses_and_auth_is_read():
    drug = only(listing(FIXTURES / "837p/xgeva_commercial_clean.837"), "J0897")
    assert drug["diagnoses"] == ["C7951", "C50911"]
    assert drug["prior_authorization"] == "PA26040112"
    assert drug["units"] == "120" and drug["modifiers"] == []
    assert (drug["ctp_quantity"], drug["ctp_unit"]) == ("1.7", "ML")
    admin = only(listing(FIXTURES / "837p/xgeva_commercial_clean.837"), "96401")
    assert admin["diagnoses"] == ["C7951"]


def test_837i_xgeva_outpatient_line_fields():
    records = listing(FIXTURES / "837i/xgeva_outpatient.837")
    drug = only(records, "J0897")
    assert drug["transaction"] == "837I"
    assert drug["revenue_code"] == "0636"
    assert drug["modifiers"] == ["JZ"]
    assert (drug["units"], drug["unit_basis"], drug["charge"]) == ("120", "UN", "2600")
    assert (drug["type_of_bill"], drug["place_of_service"]) == ("0131", "")
    assert drug["diagnoses"] == ["C7951"]  # 837I lines carry the claim's diagnoses
    assert (drug["ndc_qualifier"], drug["ndc"]) == ("N4", "55513073021")
    assert (drug["ctp_quantity"], drug["ctp_unit"]) == ("1.7", "ML")
    assert drug["rendering_taxonomy"] == "207RX0202X"  # the attending provider's
    assert only(records, "96401")["revenue_code"] == "0510"


def test_837i_claim_model_fields():
    (claim,) = ClaimParser((FIXTURES / "837i/xgeva_outpatient.837").open("rb"))
    assert claim.kind == "837I" and claim.transaction.version == "005010X223A2"
    assert (claim.facility_code, claim.facility_qualifier, claim.frequency_code) == ("13", "A", "1")
    assert claim.charge_value == 2710
    assert (claim.service_date, claim.service_date_end) == ("20260311", "20260311")
    attending = claim.provider("attending")
    assert attending is not None and attending.taxonomy == "207RX0202X"
    assert claim.billing.taxonomy == "282N00000X"


def test_multi_st_counts_and_patient_loops():
    result = run_cli("lines", "--all", "--format", "json", str(FIXTURES / "837p/multi_st.837"))
    assert result.exit_code == 0
    (summary,) = [e for e in log_events(result) if e["event"] == "file.read"]
    assert (summary["transaction_sets"], summary["claims"], summary["service_lines"]) == (3, 8, 17)
    claims = list(ClaimParser((FIXTURES / "837p/multi_st.837").open("rb")))
    assert [c.claim_id for c in claims] == [f"MST000{i}" for i in range(1, 9)]
    assert [c.index for c in claims] == list(range(1, 9))  # MST0002 follows MST0001 directly
    assert [c.transaction.control for c in claims] == ["0001"] * 3 + ["0002"] * 2 + ["0003"] * 3
    assert [c.patient_loop for c in claims] == [False] * 3 + [True, False, False, True, False]
    assert [c.payer.filing_indicator for c in claims] == [
        "MB",
        "MB",
        "MC",
        "BL",
        "12",
        "MB",
        "BL",
        "12",
    ]


def test_covered_lines_default_to_the_policy_codes():
    result = run_cli(
        "lines",
        "--format",
        "json",
        str(FIXTURES / "837p/multi_st.837"),
        str(FIXTURES / "837p/j3486_prolia.837"),
    )
    codes = [r["code"] for r in json.loads(result.stdout)]
    assert codes == ["J0897", "Q5157", "J0897", "Q5157", "J0897", "Q5157", "J0897", "J3486"]


def test_code_option_selects_lines():
    result = run_cli(
        "lines",
        "--code",
        "96372",
        "--code",
        "q5157",
        "--format",
        "jsonl",
        str(FIXTURES / "837p/multi_st.837"),
    )
    codes = sorted({json.loads(line)["code"] for line in result.stdout.splitlines()})
    assert codes == ["96372", "Q5157"]


def test_csv_output_has_header_and_joined_lists():
    result = run_cli("lines", str(FIXTURES / "837p/xgeva_commercial_clean.837"))
    header, row = result.stdout.splitlines()
    assert header.startswith("file,claim_index,claim_id,line,")
    assert ",C7951 C50911," in row


@pytest.mark.parametrize(
    "name", ["prolia_medicare_clean_crlf.837", "prolia_medicare_clean_pretty.837"]
)
def test_layout_copies_of_a_fixture_read_the_same(name):
    original = listing(FIXTURES / "837p/prolia_medicare_clean.837")
    copy = listing(FIXTURES / "837p" / name)
    for record in original + copy:
        record.pop("file")
    assert copy == original


def test_bad_fixtures_give_their_findings():
    expected = {
        "truncated.837": "x12.envelope",
        "empty.837": "x12.unreadable",
        "binary.dat": "x12.unreadable",
        "remittance.835": "x12.unsupported",
    }
    for name, rule in expected.items():
        result = run_cli("lines", "--all", "--format", "json", str(FIXTURES / "bad" / name))
        assert result.exit_code == 1, name
        rules = {e["rule"] for e in log_events(result) if e["event"] == "finding"}
        assert rules == {rule}, name
    truncated = listing(FIXTURES / "bad/truncated.837")
    assert sorted({r["claim_id"] for r in truncated}) == ["TRC0001", "TRC0002"]


@pytest.mark.parametrize(("claims", "per_st"), [(1, 5000), (250, 7), (3000, 1000)])
def test_synthetic_files_read_with_the_generator_counts(claims, per_st):
    buffer = io.BytesIO()
    stats = write_837p(buffer, claims, seed=claims, claims_per_st=per_st)
    buffer.seek(0)
    parser = ClaimParser(buffer)
    read = list(parser)
    assert parser.findings == []
    assert (len(read), parser.service_lines, parser.transaction_sets) == (
        stats.claims,
        stats.service_lines,
        stats.transaction_sets,
    )
