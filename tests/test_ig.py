"""Implementation-guide validation by pyx12: findings on the right claim, guarded defects,
999 acknowledgments, and the same report whatever --jobs is."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import FIXTURES, REAL, log_events, run_cli, without_envelope_clock
from edi_precheck.ig.pyx12_engine import validate

MULTI = FIXTURES / "837p/multi_st.837"
CLEAN_P = FIXTURES / "837p/prolia_medicare_clean.837"


def recount(text: str) -> str:
    from test_rule_cases import recount_se

    return recount_se(text)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(recount(text), encoding="latin-1")
    return path


def findings(*args: str) -> tuple[list[dict], int, str]:
    result = run_cli("check", "--format", "json", *args)
    document = json.loads(result.stdout)
    return (
        [f for file in document["files"] for f in file["findings"]],
        result.exit_code,
        result.stderr,
    )


def test_missing_required_segment_is_found_on_its_claim(tmp_path):
    text = MULTI.read_text()
    claim = text.index("CLM*MST0004")
    hi = text.index("HI*", claim)
    end = text.index("~", hi) + 1
    path = write(tmp_path, "nohi.837", text[:hi] + text[end:])
    found, code, _ = findings(str(path))
    ig = [f for f in found if f["rule"] == "x12.ig"]
    assert code == 1
    assert [(f["claim_id"], f["ack"]["IK301"], f["ack"]["IK304"]) for f in ig] == [
        ("MST0004", "HI", "3")
    ]
    assert ig[0]["message"] == "Health Care Diagnosis Code (HI): required segment missing"
    assert ig[0]["snip"] == 2


def test_element_error_carries_ik4_codes_and_line(tmp_path):
    text = CLEAN_P.read_text().replace(
        "SV1*HC:J0897:JZ*1650*UN*60***1", "SV1*HC:J0897:JZ*1650*XX*60***1"
    )
    found, _, _ = findings(str(write(tmp_path, "basis.837", text)))
    (ig,) = [f for f in found if f["rule"] == "x12.ig"]
    assert (ig["claim_id"], ig["line"], ig["element"]) == ("PMC0001", 1, "SV103")
    sv1_position = [seg.split("*")[0] for seg in text.split("~")].index("SV1") + 1
    assert ig["segment_index"] == sv1_position  # its place in the file (ISA = 1)
    assert ig["ack"] == {
        "IK301": "SV1",
        "IK302": str(sv1_position - 2),
        "IK401": "3",
        "IK402": "355",
        "IK403": "7",
    }  # IK302 counts from ST
    assert any(f["rule"] == "units.basis" for f in found)


def test_composite_that_crashes_pyx12_is_a_finding_and_rules_still_run(tmp_path):
    text = CLEAN_P.read_text().replace("UN*60***1~", "UN*1***1:1:1:1:1:1~")
    direct = validate(recount(text))
    assert direct.crash == "IndexError"  # the pyx12 defect this guards
    found, code, stderr = findings(str(write(tmp_path, "composite.837", text)))
    rules = [f["rule"] for f in found]
    assert "x12.ig" in rules and "units.dose" in rules
    crash = next(f for f in found if f["rule"] == "x12.ig")
    assert "pyx12 stopped with IndexError" in crash["message"]
    assert code == 1 and "Traceback" not in stderr


def test_a_set_pyx12_stopped_on_is_rejected_in_the_999_with_its_ak2_and_ik5(tmp_path):
    text = CLEAN_P.read_text().replace("UN*60***1~", "UN*1***1:1:1:1:1:1~")
    ack = tmp_path / "out.999"
    run_cli("check", "--ack", str(ack), str(write(tmp_path, "composite.837", text)))
    segments = [s.strip() for s in ack.read_text().split("~") if s.strip()]
    assert "AK2*837*0001*005010X222A1" in segments and "IK5*R*5" in segments
    assert "AK9*R*1*1*0" in segments
    assert validate(ack.read_text()).errors == []


def test_pyx12_logs_never_reach_stderr_as_plain_lines(tmp_path):
    text = CLEAN_P.read_text().replace("HI*ABK:M810~", "")
    result = run_cli("check", str(write(tmp_path, "nohi.837", text)))
    lines = result.stderr.splitlines()
    assert lines and all(line.startswith("{") for line in lines)
    assert len(log_events(result)) == len(lines)


def test_non_ascii_bytes_do_not_stop_validation(tmp_path):
    text = CLEAN_P.read_text().replace("TESTENDO", "TÉSTENDÖ")
    path = tmp_path / "latin1.837"
    path.write_bytes(text.encode("latin-1"))
    found, code, stderr = findings(str(path))
    assert "Traceback" not in stderr and code in (0, 1)
    assert all(f["rule"] == "x12.ig" for f in found)


def test_release_without_a_pyx12_map_uses_the_nearest_and_says_so(tmp_path):
    lfh = REAL / (
        "LinuxForHealth__x12__src__tests__resources__837_005010X222A2__demo.drug.example10.1.837"
    )
    assert findings(str(lfh))[0] == []  # X222A2 reads and validates clean
    text = lfh.read_text().replace("HI*BK:03591", "HI*BK:03591*ZZ:1")
    found, _, _ = findings(str(write(tmp_path, "a2.837", text)))
    ig = [f for f in found if f["rule"] == "x12.ig"]
    assert ig and all("005010X222A1 map" in f["message"] for f in ig)


def test_no_phi_in_ig_findings_or_ack(tmp_path):
    text = CLEAN_P.read_text()
    birth = text.split("DMG*D8*", 1)[1].split("*", 1)[0]
    text = text.replace(f"DMG*D8*{birth}", "DMG*D8*19500230")
    path = write(tmp_path, "dob.837", text)
    ack = tmp_path / "ack.999"
    result = run_cli("check", "--format", "json", "--ack", str(ack), str(path))
    ig = [f for f in json.loads(result.stdout)["files"][0]["findings"] if f["rule"] == "x12.ig"]
    assert ig and ig[0]["ack"]["IK403"] == "8"  # invalid date
    everything = result.stdout + result.stderr + ack.read_text()
    assert "19500230" not in everything


def test_ack_is_a_valid_999_for_all_files(tmp_path):
    ack = tmp_path / "out.999"
    bad = CLEAN_P.read_text().replace("HI*ABK:M810~", "")
    paths = [str(MULTI), str(CLEAN_P), str(write(tmp_path, "nohi.837", bad))]
    result = run_cli("check", "--ack", str(ack), *paths)
    assert result.exit_code == 1
    text = ack.read_text()
    segments = [s.strip() for s in text.split("~") if s.strip()]
    assert [s.split("*")[0] for s in segments].count("ST") == 3
    assert "AK9*A*3*3*3" in segments and "AK9*R*1*1*0" in segments
    assert "IK3*HI*20**3" in segments
    outcome = validate(text)  # pyx12 reads our 999 against its 999 map
    assert outcome.crash is None and outcome.errors == []


def test_a_set_pyx12_cannot_acknowledge_is_counted_rejected(tmp_path):
    """A damaged ST (a separator flipped to '+') stops pyx12 part-way through its 999."""
    accident = REAL / (
        "irobayna__stupidedi__spec__fixtures__005010__X223A2_HC837_Health_"
        "Care_Claim_Institutional__pass__automobile-accident.edi"
    )
    damaged = accident.read_text().replace("ST*837*557766*", "ST*837*557766+", 1)
    assert damaged != accident.read_text()
    ack = tmp_path / "out.999"
    result = run_cli("check", "--ack", str(ack), str(write(tmp_path, "st.837", damaged)))
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    assert any(
        f["rule"] == "x12.ig"
        for f in json.loads(run_cli("check", "--format", "json", str(tmp_path / "st.837")).stdout)[
            "files"
        ][0]["findings"]
    )
    segments = [s.strip() for s in ack.read_text().split("~") if s.strip()]
    assert "AK9*R*1*1*0" in segments  # received, not accepted
    # a rejected set has its AK2 and IK5, even when pyx12 wrote none for it
    assert [s.split("*")[0] for s in segments if s[:2] in ("AK", "IK")] == [
        "AK1",
        "AK2",
        "IK5",
        "AK9",
    ]
    assert "IK5*R*7" in segments  # its ST02 is damaged too: no control number to echo
    assert validate(ack.read_text()).errors == []


def test_a_tilde_in_data_carries_no_phi_into_the_ack(tmp_path):
    """With a newline terminator, '~' is data; pyx12's 999 (written with '~') must not
    come apart at it and copy the rest of the element into the merged 999."""
    text = (
        CLEAN_P.read_text()
        .replace("NM1*IL*1*TESTPATIENT*ALICE", "NM1*IL*1*TESTPATIENT~ALICESECRET*ALICE")
        .replace("DMG*D8*19480312", "DMG*D8*1948~0312")
    )
    path = tmp_path / "newline.837"
    path.write_text(
        recount(text)
        .replace("~", "\n")
        .replace("TESTPATIENT\nALICESECRET", "TESTPATIENT~ALICESECRET")
        .replace("1948\n0312", "1948~0312")
    )
    ack = tmp_path / "out.999"
    result = run_cli("check", "--format", "json", "--ack", str(ack), str(path))
    assert any(f["rule"] == "x12.ig" for f in json.loads(result.stdout)["files"][0]["findings"])
    text = ack.read_text()
    logs = re.sub(r'"timestamp": "[^"]*"', "", result.stderr)  # its digits are the clock's
    for value in ("ALICESECRET", "0312", "TESTPATIENT"):
        assert value not in without_envelope_clock(text) + result.stdout + logs
    assert validate(text).errors == []


def test_a_set_pyx12_crashes_on_is_acknowledged_as_rejected(tmp_path):
    crash = CLEAN_P.read_text().replace("UN*60***1~", "UN*1***1:1:1:1:1:1~")
    ack = tmp_path / "out.999"
    run_cli(
        "check",
        "--ack",
        str(ack),
        str(FIXTURES / "demo/demo.837"),
        str(write(tmp_path, "composite.837", crash)),
    )
    segments = [s.strip() for s in ack.read_text().split("~") if s.strip()]
    assert [s.split("*")[0] for s in segments].count("ST") == 2  # one 999 per input group
    assert "AK9*R*1*1*0" in segments
    assert validate(ack.read_text()).errors == []


def test_a_file_pyx12_crashes_on_alone_still_gets_a_999(tmp_path):
    crash = CLEAN_P.read_text().replace("UN*60***1~", "UN*1***1:1:1:1:1:1~")
    ack = tmp_path / "out.999"
    run_cli("check", "--ack", str(ack), str(write(tmp_path, "composite.837", crash)))
    text = ack.read_text()
    segments = [s.strip() for s in text.split("~") if s.strip()]
    assert segments[0].startswith(
        "ISA*00*          *00*          *ZZ*TESTRECEIVER   *ZZ*TESTSUBMITTER  *"
    )  # answering the sender
    assert "AK1*HC*101*005010X222A1" in segments and "AK9*R*1*1*0" in segments
    assert validate(text).errors == []


def test_a_group_without_gs08_is_validated_by_its_st03(tmp_path):
    text = CLEAN_P.read_text().replace("*X*005010X222A1~ST", "*X*~ST")
    assert text != CLEAN_P.read_text()
    clean, code, _ = findings(str(write(tmp_path, "nogs08.837", text)))
    assert (clean, code) == ([], 0)
    bad = text.replace("NM1*85*2*", "NM1*85*7*")
    found, code, _ = findings(str(write(tmp_path, "nogs08bad.837", bad)))
    assert code == 1 and [f["rule"] for f in found] == ["x12.ig"]


def test_ack_needs_ig():
    result = run_cli("check", "--no-ig", "--ack", "x.999", str(CLEAN_P))
    assert result.exit_code == 2 and "--ack" in result.stderr


@pytest.mark.parametrize(
    "paths",
    [
        [MULTI],
        [MULTI, CLEAN_P, FIXTURES / "demo/demo.837", FIXTURES / "837i"],
        [REAL / "imsweb__x12-parser__src__test__resources__837_5010__x12_complex.txt"],
    ],
    ids=["multi-st", "several-files", "many-ig-errors"],
)
def test_jobs_two_gives_the_same_report_as_jobs_one(paths):
    one = run_cli("check", "--format", "json", "--jobs", "1", *map(str, paths))
    two = run_cli("check", "--format", "json", "--jobs", "2", *map(str, paths))
    assert one.exit_code == two.exit_code
    assert json.loads(one.stdout) == json.loads(two.stdout)


def test_no_ig_never_loads_pyx12():
    code = (
        "import sys\nfrom edi_precheck.cli import main\n"
        "try:\n    main(['--log-format', 'json', 'check', '--no-ig', sys.argv[1]])\n"
        "except SystemExit:\n    pass\n"
        "print('pyx12' in ' '.join(sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(CLEAN_P)], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip().endswith("False")


def test_unsupported_transactions_are_not_given_to_pyx12():
    found, code, stderr = findings(str(FIXTURES / "bad/remittance.835"))
    assert code == 1
    assert [f["rule"] for f in found] == ["x12.unsupported"]
    assert "Traceback" not in stderr


# -- known pyx12 map defects, corrected ---------------------------------------------------


def with_line_pwk(pwk: str) -> str:
    return recount(
        CLEAN_P.read_text().replace(
            "SV1*HC:96372*45*UN*1***1~DTP*472*D8*20260310",
            f"SV1*HC:96372*45*UN*1***1~{pwk}~DTP*472*D8*20260310",
        )
    )


def test_the_dme_certificate_pwk_of_the_guide_is_accepted(tmp_path):
    """837P 2400 'PWK*CT*AD' (the guide's example of the DME certificate of medical
    necessity indicator): pyx12 checks it against the other 2400 PWK and calls AD invalid."""
    from edi_precheck.ig.map_defects import MAP_DEFECTS

    assert [d.segment for d in MAP_DEFECTS] == ["PWK"]
    from edi_precheck.ig.validator import validate as corrected

    text = with_line_pwk("PWK*CT*AD")
    direct = corrected(text, "pyx12")
    assert any(e.segment_id == "PWK" and e.code == "7" for e in validate_raw(text).errors)
    assert direct.errors == []  # corrected inside validate
    ack = tmp_path / "pwk.999"
    found, code, _ = findings(str(write(tmp_path, "pwk.837", text)), "--ack", str(ack))
    assert found == [] and code == 0
    segments = [s.strip() for s in ack.read_text().split("~") if s.strip()]
    assert "AK9*A*1*1*1" in segments and not [s for s in segments if s.startswith("IK3")]
    assert validate(ack.read_text()).errors == []


def test_a_pwk_the_guide_does_not_allow_is_still_an_error(tmp_path):
    for pwk in ("PWK*CT*ZZ", "PWK*XX*AD"):
        found, code, _ = findings(str(write(tmp_path, "pwk.837", with_line_pwk(pwk))))
        assert code == 1 and [f["segment"] for f in found if f["rule"] == "x12.ig"] == ["PWK"], pwk


def validate_raw(text: str):
    """pyx12's own verdict on one interchange, before map defects are corrected."""
    return validate(text)


def test_an_hl_parent_pyx12_misses_is_worded_as_the_numbering_it_follows(tmp_path):
    text = (
        (FIXTURES / "837p/xgeva_commercial_clean.837")
        .read_text()
        .replace("HL*2*1*22*1", "HL*4*1*22*1")
        .replace("HL*3*2*23*0", "HL*5*4*23*0")
    )
    found, code, _ = findings(str(write(tmp_path, "hl.837", text)))
    messages = [f["message"] for f in found if f["rule"] == "x12.ig" and f["segment"] == "HL"]
    assert code == 1
    assert any("HL01 before it that skips or repeats a number" in m for m in messages)
    assert not any("does not come before it" in m for m in messages)


def test_data_cannot_forge_the_999(tmp_path):
    """With a newline terminator, '~' is data: a name holding '~IK5*A~AK9*A*1*1*1~' must
    not turn the rejected set's answer into an acceptance (the 999 is built from pyx12's
    errors as data, not from the text of its own 999)."""
    text = (
        CLEAN_P.read_text()
        .replace("NM1*IL*1*TESTPATIENT*ALICE", "NM1*IL*1*TESTPATIENT~IK5*A~AK9*A*1*1*1~*ALICE")
        .replace("HI*ABK:M810~", "")
    )  # and a real error: no HI
    path = tmp_path / "forged.837"
    path.write_text(
        recount(text)
        .replace("~", "\n")
        .replace("TESTPATIENT\nIK5*A\nAK9*A*1*1*1\n", "TESTPATIENT~IK5*A~AK9*A*1*1*1~")
    )
    ack = tmp_path / "out.999"
    result = run_cli("check", "--format", "json", "--ack", str(ack), str(path))
    assert result.exit_code == 1
    segments = [s.strip() for s in ack.read_text().split("~") if s.strip()]
    answers = [s for s in segments if s.startswith(("IK5", "AK9"))]
    assert len(answers) == 2 and answers[0].startswith("IK5*R*") and answers[1] == "AK9*R*1*1*0"
    assert "TESTPATIENT" not in ack.read_text()
    assert validate(ack.read_text()).errors == []


def test_a_mispadded_isa_is_still_validated_and_never_acknowledged_as_clean(tmp_path):
    """An ISA two characters short is read, with an x12.syntax finding; pyx12 refuses such
    an ISA whole, and its silence once read as 'no errors': the PWK error went unreported
    and the 999 accepted the set."""
    text = with_line_pwk("PWK*XX*AD").replace("*ZZ*TESTSUBMITTER  *", "*ZZ*TESTSUBMITTER*", 1)
    path = tmp_path / "short-isa.837"
    path.write_text(text)
    ack = tmp_path / "out.999"
    found, code, _ = findings(str(path), "--ack", str(ack))
    assert code == 1
    assert [f["segment"] for f in found if f["rule"] == "x12.ig"] == ["PWK"]
    assert "x12.syntax" in {f["rule"] for f in found}
    segments = [s.strip() for s in ack.read_text().split("~") if s.strip()]
    assert "AK9*R*1*1*0" in segments
    assert len(segments[0]) == 105  # the 999's own ISA, fixed width (106 with its '~')
    assert validate(ack.read_text()).errors == []


def test_envelope_values_the_999_repeats_cannot_make_its_segments(tmp_path):
    """With a newline terminator, '~' is data: a GS06 of '101~IK5' and a '~' as the
    repetition separator (ISA11) were copied into the 999, splitting it into segments of
    the sender's making."""
    text = CLEAN_P.read_text().replace("~", "\n")
    text = text.replace("*^*00501*", "*~*00501*", 1)
    text = text.replace("*0930*101*X*", "*0930*101~IK5*X*", 1).replace("GE*1*101", "GE*1*101~IK5")
    path = tmp_path / "echo.837"
    path.write_text(text)
    ack = tmp_path / "out.999"
    found, _, _ = findings(str(path), "--ack", str(ack))
    assert not [f for f in found if f["rule"] == "x12.unreadable"]
    segments = [s.strip() for s in ack.read_text().split("~") if s.strip()]
    tags = [s.split("*")[0] for s in segments]
    assert tags[:4] == ["ISA", "GS", "ST", "AK1"] and tags[-3:] == ["SE", "GE", "IEA"]
    assert "IK5" not in tags or all(s.startswith(("IK5*A", "IK5*R")) for s in segments[4:])
    ak1 = segments[3].split("*")
    assert segments[0].split("*")[11] == "^" and len(ak1) == 4 and ak1[2].isdigit()
    assert validate(ack.read_text()).errors == []
