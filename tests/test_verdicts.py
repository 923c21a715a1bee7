"""Verdicts a billing office can trust, across rules: what a biller reads on whole claims.

The per-rule pay/deny pairs live in tests/fixtures/rules/; these tests look at a claim as a
whole (every rule at once, with implementation-guide validation on) and at what the
messages tell the biller.
"""

from __future__ import annotations

import json
from datetime import date

from conftest import FIXTURES, listing, run_cli
from edi_precheck import check_bytes
from test_rule_cases import recount_se

TODAY = date(2026, 11, 27)


def edited(base: str, *replacements: tuple[str, str]) -> bytes:
    text = (FIXTURES / base).read_text()
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new)
    return recount_se(text).encode()


ZIPRASIDONE = edited(
    "837p/j3486_prolia.837",
    ("~LIN**N4*55513071001~CTP****1*UN", ""),
    ("HC:J3486:JZ*1650*UN*60***1", "HC:J3486*95*UN*2***1"),
    ("CLM*J3P0001*1695", "CLM*J3P0001*140"),
    ("HI*ABK:M810", "HI*ABK:F209"),
)


def test_a_real_ziprasidone_claim_gets_no_finding_at_all(tmp_path):
    """J3486, 20 mg of ziprasidone for schizophrenia: nothing for a denosumab checker to say,
    with every rule and the implementation guide checked; `lines` still lists the line."""
    report = check_bytes(ZIPRASIDONE, name="ziprasidone", today=TODAY)
    assert report.findings == []
    assert report.files[0].checked_lines == 0
    path = tmp_path / "ziprasidone.837"
    path.write_bytes(ZIPRASIDONE)
    result = run_cli("lines", "--format", "json", str(path))  # the covered codes' lines
    assert [row["code"] for row in json.loads(result.stdout)] == ["J3486"]
    assert [row["code"] for row in listing(path)] == ["J3486", "96372"]


def test_ziprasidone_for_a_cancer_patient_is_never_an_error():
    """20 mg of ziprasidone in an emergency room for a patient agitated by hypercalcemia of
    malignancy: every diagnosis is a denosumab indication, but the units are a ziprasidone
    dose. With Geodon's NDC the line is ziprasidone (no finding); without an NDC, what the
    diagnoses suggest is said as warnings, each naming the inference, and no error holds a
    claim the payer pays."""
    visit = (
        ("HC:J0897:JZ*2600*UN*120", "HC:J3486*80*UN*2"),
        ("CLM*XOP0001*2710", "CLM*XOP0001*190"),
        ("HI*ABK:C7951", "HI*ABK:E8352~HI*ABF:C7951"),
    )
    geodon = edited(
        "837i/xgeva_outpatient.837",
        *visit,
        ("LIN**N4*55513073021~CTP****1.7*ML", "LIN**N4*00049392083~CTP****1*UN"),
    )
    assert check_bytes(geodon, name="geodon", today=TODAY).findings == []
    no_ndc = edited("837i/xgeva_outpatient.837", *visit, ("~LIN**N4*55513073021~CTP****1.7*ML", ""))
    report = check_bytes(no_ndc, name="no-ndc", today=TODAY)
    on_the_line = [f for f in report.findings if f.line == 1]
    assert {f.rule for f in on_the_line} >= {"code.wrong_drug", "units.dose"}
    assert all(str(f.severity) == "warning" for f in report.findings)
    for finding in on_the_line:
        if finding.rule != "revenue.code":
            assert "only because its diagnoses (E8352, C7951)" in finding.message, finding


def test_a_denosumab_line_under_j3486_says_which_code_to_bill():
    report = check_bytes(
        edited("837p/j3486_prolia.837", ("~LIN**N4*55513071001~CTP****1*UN", "")),
        name="j3486",
        today=TODAY,
    )
    (wrong,) = report.findings
    assert (wrong.rule, str(wrong.severity), wrong.element) == (
        "code.wrong_drug",
        "error",
        "SV101",
    )
    assert "J3486 is ziprasidone mesylate, 10 mg" in wrong.message
    assert "60 units is a dose of Prolia" in wrong.message
    assert wrong.hint.startswith("bill J0897 for Prolia")


def test_a_j3486_line_whose_units_and_ndc_disagree_names_both_ways_out():
    """J3486 at Prolia's 60 units with an NDC no denosumab product has: an error (either
    drug is billed wrong), whose message does not call the line Prolia outright and whose
    fix names both corrections."""
    report = check_bytes(
        edited("837p/j3486_prolia.837", ("LIN**N4*55513071001", "LIN**N4*00049392083")),
        name="j3486-unknown-ndc",
        today=TODAY,
    )
    (wrong,) = [f for f in report.findings if f.rule == "code.wrong_drug"]
    assert str(wrong.severity) == "error"
    assert "its NDC 00049392083 is no denosumab product" in wrong.message
    assert "bill J0897 with the product's NDC" in wrong.hint and "correct the units" in wrong.hint


def test_an_aukelso_line_under_j3486_is_told_its_own_q_code():
    report = check_bytes(
        edited(
            "837p/j3486_prolia.837",
            ("LIN**N4*55513071001~CTP****1*UN", "LIN**N4*83257003011~CTP****1.7*ML"),
            ("UN*60***1", "UN*120***1"),
            ("HI*ABK:M810", "HI*ABK:C7951"),
            ("HC:96372*45", "HC:96401*45"),
        ),
        name="aukelso",
        today=TODAY,
    )
    assert [(f.rule, str(f.severity)) for f in report.findings] == [("code.wrong_drug", "error")]
    assert "bill it as Q5161" in report.findings[0].message


def test_a_check_on_an_unconfirmed_fact_is_a_warning_that_says_so():
    """Q5136's MUE is J0897's, applied by the policy without a source: 240 units of it on
    one day for Medicare is reported, but not as a denial."""
    report = check_bytes(
        edited(
            "837p/biosimilar_medicaid_clean.837",
            ("SBR*P*18*******MC", "SBR*P*18*******MB"),
            ("HC:Q5136*1100*UN*60", "HC:Q5136:JZ*1100*UN*240"),
            ("CTP****1*ML", "CTP****4*ML"),
        ),
        name="mue",
        today=TODAY,
    )
    (mue,) = [f for f in report.findings if f.rule == "units.mue"]
    assert str(mue.severity) == "warning"
    assert "the MUE of Q5136 is UNCONFIRMED in policy 'denosumab'" in mue.message


def test_medicare_physician_claim_in_a_hospital_says_the_facility_bills_the_drug():
    report = check_bytes(
        edited("837p/prolia_medicare_clean.837", ("*11:B:1*", "*22:B:1*")),
        name="pos22",
        today=TODAY,
    )
    (place,) = [f for f in report.findings if f.rule == "pos.not_allowed"]
    assert str(place.severity) == "error" and place.element == "CLM05-1"
    assert "place of service 22 (practitioner at a hospital outpatient department" in (
        place.message
    )
    assert "paid to the hospital" not in place.message  # the payer rule's own words:
    assert "pays a drug given to a hospital patient to the hospital" in place.message


def test_the_same_claim_at_an_institution_is_clean_in_every_setting_that_bills_drugs():
    """Medicare Xgeva on 837I: hospital outpatient, critical access, RHC, FQHC and inpatient
    types of bill all carry drug lines; JZ is asked only where CMS asks it."""
    for facility in ("13", "85", "71", "77", "11", "12"):
        report = check_bytes(
            edited(
                "837i/xgeva_outpatient.837",
                ("*13:A:1*", f"*{facility}:A:1*"),
                ("HC:J0897:JZ", "HC:J0897:JZ" if facility in ("13", "85") else "HC:J0897"),
            ),
            name=f"tob{facility}",
            today=TODAY,
            ig=False,
        )
        assert report.findings == [], (facility, [f.message for f in report.findings])


def test_medicare_home_health_pays_osteoporosis_drugs_only():
    """On a home health agency's claim (TOB 034x) Medicare pays the osteoporosis drugs: an
    Xgeva line there is denied, and the fix says what to do instead; Prolia for
    osteoporosis is paid, and a commercial plan's Xgeva there is not Medicare's rule."""
    at_home = (("*13:A:1*", "*34:A:1*"), ("SV2*0636*HC:J0897:JZ", "SV2*0636*HC:J0897"))
    report = check_bytes(edited("837i/xgeva_outpatient.837", *at_home), name="hh", today=TODAY)
    (place,) = [f for f in report.findings if f.rule == "pos.not_allowed"]
    assert str(place.severity) == "error"
    assert "osteoporosis drugs only" in place.message and "type of bill 0341" in place.message
    assert "facility bill" not in place.hint and "Prolia" in place.hint
    prolia = edited(
        "837i/xgeva_outpatient.837",
        *at_home,
        ("HC:J0897*2600*UN*120", "HC:J0897*1650*UN*60"),
        ("N4*55513073021~CTP****1.7*ML", "N4*55513071001~CTP****1*ML"),
        ("HI*ABK:C7951", "HI*ABK:M8008XA"),
        ("CLM*XOP0001*2710", "CLM*XOP0001*1760"),
    )
    assert [f.rule for f in check_bytes(prolia, name="hh-prolia", today=TODAY).findings] == []
    commercial = edited("837i/xgeva_outpatient.837", *at_home, ("*******MB", "*******CI"))
    report = check_bytes(commercial, name="hh-ci", today=TODAY)
    assert "pos.not_allowed" not in {f.rule for f in report.findings}


def test_prolia_administered_under_xgevas_code_is_told_to_replace_it_not_add_one():
    """Prolia's injection billed as 96401 (Xgeva's chemotherapy administration): the fix
    replaces that code; adding 96372 beside it would bill one injection twice."""
    report = check_bytes(
        edited("837p/prolia_medicare_clean.837", ("HC:96372*45", "HC:96401*45")),
        name="prolia-96401",
        today=TODAY,
    )
    (admin,) = [f for f in report.findings if f.rule == "admin.missing"]
    assert "administered as 96401 (line 2)" in admin.message
    assert admin.hint.startswith("replace 96401 with 96372")
    visit = edited("837p/prolia_medicare_clean.837", ("HC:96372*45", "HC:99213*45"))
    (admin,) = [f for f in check_bytes(visit, name="v", today=TODAY).findings]
    assert "has no administration line (96372)" in admin.message  # a visit is no injection


def test_small_mistakes_are_named_for_what_they_are():
    """Pointer 0, a modifier in lower case, a diagnosis typed with its dot: each message
    names that mistake, and the dotted code is not also said to support nothing."""
    report = check_bytes(
        edited(
            "837p/prolia_medicare_clean.837",
            ("HC:J0897:JZ*1650*UN*60***1", "HC:J0897:jz*1650*UN*60***0"),
            ("HI*ABK:M810", "HI*ABK:M81.0"),
        ),
        name="small",
        today=TODAY,
        ig=False,
    )
    said = {f.rule: (f.message, f.hint) for f in report.findings}
    assert said["dx.pointer"] == ("diagnosis pointer '0' is no pointer: they count from 1",
                                  "use pointer 1")  # fmt: skip
    assert said["modifier.invalid"] == ("modifier 'jz' is in lower case", "send JZ")
    pointed = edited("837p/prolia_medicare_clean.837", ("HI*ABK:M810", "HI*ABK:M81.0"))
    rules = [f.rule for f in check_bytes(pointed, name="dot", today=TODAY, ig=False).findings]
    assert rules == ["dx.invalid"]


def test_a_medicare_line_outside_the_label_names_only_what_medicare_pays():
    report = check_bytes(
        edited("837i/xgeva_outpatient.837", ("HI*ABK:C7951", "HI*ABK:D4702")),
        name="mastocytosis",
        today=TODAY,
        ig=False,
    )
    (dx,) = [f for f in report.findings if f.rule == "dx.not_covered"]
    assert str(dx.severity) == "error"
    assert "only as a compendia use (systemic mastocytosis)" in dx.message
    assert "payer rule 'medicare' pays label indications only" in dx.message
