"""No patient or subscriber data in any output: listings, logs or error messages.

The PHI of each file is collected here independently of the parser: names and member ids of
NM1*IL / NM1*QC, birth dates of DMG, and the N3/N4 addresses (street, city, state, ZIP) of
those loops.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import FIXTURES, run_cli, without_envelope_clock
from edi_precheck.logs import drop_phi_keys
from edi_precheck.reading import read_claims
from edi_precheck.report.results import FileResult
from edi_precheck.sources import Source

PERSON_LOOPS = {"IL", "QC"}  # subscriber, patient


def phi_values(path: Path) -> set[str]:
    data = path.read_bytes().decode("latin-1")
    start = data.index("ISA")
    element, terminator = data[start + 3], data[start + 105]
    values: set[str] = set()
    in_person = False
    for raw in data.split(terminator):
        fields = raw.strip().split(element)
        tag = fields[0]
        if tag == "NM1":
            in_person = len(fields) > 1 and fields[1] in PERSON_LOOPS
            if in_person:
                values.update(fields[3:5] + fields[9:10])
        elif tag in ("N3", "N4") and in_person:
            values.update(fields[1:4])  # street lines; city, state, ZIP
        elif tag == "DMG":
            values.update(fields[2:3])
        elif tag not in ("REF", "PER"):
            in_person = in_person and tag in ("N3", "N4", "DMG")
    # Very short values (initials, state codes) would match by chance.
    return {value for value in values if len(value) >= 4}


# A log line's timestamp is the clock, not the file: its microseconds hold six digits that,
# across thousands of findings, sooner or later spell a six-digit member id.
# What varies from run to run and cannot hold PHI: the time, and the random or keyed hex
# of run ids, claim references (HMACs) and input digests, where a digit-only fragment of
# the invented data (a house number) turns up by chance now and then.
TIMESTAMP = re.compile(r'"(?:timestamp|run_id|claim_ref|sha256)": "[^"]*"')


def leaked_values(path: Path, output: str) -> list[str]:
    """The PHI values of `path` found in `output`; a number must stand alone, not inside a
    longer one (a member id 123456 is not leaked by segment 1123456)."""
    output = TIMESTAMP.sub("", output)
    return sorted(
        value
        for value in phi_values(path)
        if re.search(rf"(?<!\d){re.escape(value)}(?!\d)", output)
    )


def all_837_files() -> list[Path]:
    return sorted(
        p
        for p in FIXTURES.rglob("*")
        if p.suffix in {".837", ".edi", ".txt"} and p.stat().st_size > 0
    )


def test_the_collector_finds_phi():
    values = phi_values(FIXTURES / "837p/xgeva_commercial_clean.837")
    assert any(value.isdigit() and len(value) == 8 for value in values)  # a birth date
    assert len(values) >= 6


@pytest.mark.parametrize("path", all_837_files(), ids=lambda p: p.name[-40:])
@pytest.mark.parametrize(
    "command",
    [
        ("lines", "--all", "--format", "csv"),
        ("lines", "--all", "--format", "json"),
        ("check", "--format", "text"),
        ("check", "--format", "json"),
        ("check", "--format", "jsonl"),
    ],
    ids=lambda c: "-".join(c).replace("--", ""),
)
def test_no_phi_in_any_output_or_log(path: Path, command: tuple[str, ...]):
    result = run_cli(*command, str(path))
    assert leaked_values(path, result.stdout + result.stderr) == []


def test_phi_in_a_damaged_file_stays_out_of_messages(tmp_path):
    """A terminator inside a patient's name: the finding must not quote the name."""
    text = (FIXTURES / "837p/xgeva_commercial_clean.837").read_text()
    start = text.index("NM1*QC*1*") + len("NM1*QC*1*")
    damaged = text[:start] + text[start : start + 4] + "~" + text[start + 4 :]
    path = tmp_path / "damaged.837"
    path.write_text(damaged)
    result = run_cli("check", "--format", "json", str(path))
    assert "x12.syntax" in result.stdout
    clean = FIXTURES / "837p/xgeva_commercial_clean.837"
    assert leaked_values(clean, result.stdout + result.stderr) == []


def test_the_matcher_ignores_timestamps_but_not_leaks():
    path = FIXTURES / "837p/xgeva_commercial_clean.837"
    member_id, zip_code = "TCH123456701", "62704"
    assert {member_id, zip_code} <= phi_values(path)
    stamp = '{"timestamp": "2026-01-01T00:00:00.%s1Z", "message": "%s"}'
    assert leaked_values(path, stamp % (zip_code, "claim XCC0001")) == []
    assert leaked_values(path, stamp % ("000000", f"member {member_id}")) == [member_id]
    assert leaked_values(path, stamp % ("000000", f"zip {zip_code}.")) == [zip_code]
    assert leaked_values(path, stamp % ("000000", f"segment 1{zip_code}")) == []


def test_log_processor_drops_phi_keys():
    event = {
        "event": "x",
        "file": "a.837",
        "member_id": "M1",
        "patient_name": "DOE",
        "birth_date": "19500101",
        "claim_id": "C1",
    }
    assert drop_phi_keys(None, "info", dict(event)) == {
        "event": "x",
        "file": "a.837",
        "claim_id": "C1",
    }


# -- damaged segments with implementation-guide checks on: no fragment of PHI anywhere ----

INVENTED = {  # distinctive invented values, so that any fragment of one is a leak
    "last name": "QZWARNOCK",
    "first name": "YVETTEKLM",
    "member id": "MBRX9Z8Q77",
    "street": "4417 OXBLOODGROVE",
    "birth date": "19330207",
    "note": "PRIVATENOTEJX",
}


def with_invented_person(text: str) -> str:
    return (
        text.replace(
            "NM1*IL*1*TESTPATIENT*ALICE****MI*5TW7HK3CN22",
            f"NM1*IL*1*{INVENTED['last name']}*{INVENTED['first name']}****MI*"
            f"{INVENTED['member id']}",
        )
        .replace("N3*12 EXAMPLE LANE", f"N3*{INVENTED['street']}")
        .replace("DMG*D8*19480312", f"DMG*D8*{INVENTED['birth date']}")
        .replace("HI*ABK:M810~", f"HI*ABK:M810~NTE*ADD*{INVENTED['note']}~")
    )


def fragments() -> set[str]:
    """Every token of the invented data, and every five characters of each token."""
    found = set()
    for value in INVENTED.values():
        for token in value.split():
            found.add(token)
            found.update(token[i : i + 5] for i in range(len(token) - 4))
    return {fragment for fragment in found if len(fragment) >= 4}


DAMAGE = {
    "terminator inside the name": (INVENTED["last name"], "QZWAR~NOCK"),
    "terminator inside the street": (INVENTED["street"], "4417 OXBLO~ODGROVE"),
    "terminator inside the note": (INVENTED["note"], "PRIVATE~NOTEJX"),
    "terminator inside the member id": (INVENTED["member id"], "MBRX9~Z8Q77"),
    "no separator after the tag": ("N3*" + INVENTED["street"], "N3" + INVENTED["street"]),
    "two segments glued": (INVENTED["street"] + "~N4*", INVENTED["street"] + "N4*"),
    "name where the tag should be": ("DMG*D8*", "QZWARNOCK*D8*"),
}


@pytest.mark.parametrize("damage", sorted(DAMAGE), ids=lambda d: d.replace(" ", "_"))
def test_no_fragment_of_phi_in_reports_logs_or_999_of_a_damaged_file(tmp_path, damage):
    from test_rule_cases import recount_se

    text = with_invented_person((FIXTURES / "837p/prolia_medicare_clean.837").read_text())
    assert all(value in text for value in INVENTED.values())
    old, new = DAMAGE[damage]
    path = tmp_path / "damaged.837"
    path.write_text(recount_se(text.replace(old, new, 1)))
    ack = tmp_path / "out.999"
    outputs = []
    for command in (
        ("check", "--format", "json", "--jobs", "1", "--ack", str(ack)),
        ("check", "--format", "text", "--jobs", "1"),
        ("lines", "--all", "--format", "csv"),
    ):
        result = run_cli(*command, str(path))
        outputs.append(TIMESTAMP.sub("", result.stdout + result.stderr))
    outputs.append(without_envelope_clock(ack.read_text()))
    everything = "\n".join(outputs)
    assert '"x12.ig"' in outputs[0]  # the guide checks ran and found the damage
    leaked = sorted(fragment for fragment in fragments() if fragment in everything)
    assert leaked == []


@pytest.mark.parametrize("path", all_837_files(), ids=lambda p: p.name[-40:])
def test_no_phi_in_the_repr_of_a_source_or_claim(path: Path):
    """What a caller's own logging or a debugger prints of our objects: the claim model
    keeps no patient data, and a source does not show its bytes."""
    data = path.read_bytes()
    source = Source(str(path), None, data)
    shown = repr(source) + "".join(
        repr(claim) for claim in read_claims(source, FileResult(str(path)))
    )
    # A claim keeps its providers' NPIs; a sample file that reuses one as a member id
    # (imsweb's 1234567890) does not make the NPI patient data.
    assert set(leaked_values(path, shown)) <= provider_ids(path)


def provider_ids(path: Path) -> set[str]:
    """The NM109 ids of the non-person NM1 loops (providers, payers) of `path`."""
    text = path.read_bytes().decode("latin-1")
    start = text.index("ISA")
    element, terminator = text[start + 3], text[start + 105]
    return {
        fields[9]
        for fields in (raw.strip().split(element) for raw in text.split(terminator))
        if fields[0] == "NM1" and len(fields) > 9 and fields[1] not in PERSON_LOOPS
    }


def test_a_patient_key_sent_to_a_unit_process_carries_no_patient():
    """The patient key goes to unit processes (and Spark tasks) pickled: as the key alone,
    never the last member id and birth date it hashed; it hashes alike on the other side."""
    import pickle

    from edi_precheck.model.patient import PatientKeyer

    keyer = PatientKeyer(b"k" * 32)
    hashed = keyer.patient("XJW123456789", "19480317")
    sent = pickle.dumps(keyer)
    assert b"XJW123456789" not in sent and b"19480317" not in sent
    assert pickle.loads(sent).patient("XJW123456789", "19480317") == hashed
