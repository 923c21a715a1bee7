"""`edi-precheck check`: findings a biller can act on, a valid JSON report, exit codes."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from conftest import FIXTURES, log_events, real_files, run_cli
from edi_precheck.policy import schema
from edi_precheck.rules import catalog
from test_real_files import INDEX_COUNTS

DEMO = str(FIXTURES / "demo/demo.837")
CLEAN = [
    "837p/prolia_medicare_clean.837",
    "837p/xgeva_commercial_clean.837",
    "837p/biosimilar_medicaid_clean.837",
    "837p/multi_st.837",
    "837p/prolia_medicare_clean_crlf.837",
    "837p/prolia_medicare_clean_pretty.837",
    "837i/xgeva_outpatient.837",
    "837i/prolia_two_claims.837",
]


def report_of(*args: str) -> tuple[dict, int]:
    result = run_cli("check", "--format", "json", *args)
    document = json.loads(result.stdout)
    jsonschema.validate(document, schema("report"))
    return document, result.exit_code


def rules_by_claim(document: dict) -> dict[str | None, set[str]]:
    found: dict[str | None, set[str]] = {}
    for file in document["files"]:
        for finding in file["findings"]:
            found.setdefault(finding["claim_id"], set()).add(finding["rule"])
    return found


@pytest.mark.parametrize("name", CLEAN)
def test_clean_fixtures_give_no_finding(name):
    document, code = report_of(str(FIXTURES / name))
    assert document["files"][0]["findings"] == []
    assert code == 0
    assert document["files"][0]["checked_lines"] >= 1


def test_demo_findings_per_claim():
    document, code = report_of(DEMO)
    assert code == 1
    assert rules_by_claim(document) == {
        "DEMO0002": {"units.dose", "modifier.waste_missing", "ndc.quantity"},
        "DEMO0003": {"auth.missing", "dx.not_covered"},  # warnings: plans differ
        "DEMO0004": {"ndc.format"},
        "DEMO0005": {"pos.not_allowed", "units.dose", "dx.not_covered", "ndc.quantity"},
    }
    summary = document["summary"]
    assert (summary["files"], summary["claims"], summary["claims_with_errors"]) == (1, 6, 3)
    assert summary["errors"] == 7 and summary["warnings"] == 3
    graded = {(f["claim_id"], f["rule"]): f["severity"] for f in document["files"][0]["findings"]}
    assert graded[("DEMO0003", "auth.missing")] == "warning"  # commercial: verify the plan
    assert graded[("DEMO0003", "dx.not_covered")] == "warning"
    assert graded[("DEMO0005", "dx.not_covered")] == "error"  # Medicare pays the label
    assert graded[("DEMO0005", "pos.not_allowed")] == "warning"  # home: UNCONFIRMED


def test_demo_finding_fields_point_at_the_line():
    document, _ = report_of(DEMO)
    (dose,) = [
        f
        for f in document["files"][0]["findings"]
        if f["rule"] == "units.dose" and f["claim_id"] == "DEMO0002"
    ]
    assert dose == {
        "rule": "units.dose",
        "severity": "error",
        "snip": 6,
        "claim_index": 2,
        "claim_id": "DEMO0002",
        "line": 1,
        "code": "J0897",
        "segment": "SV1",
        "segment_index": 44,
        "element": "SV104",
        "message": "J0897 billed with 1 unit; Prolia is given as 60 units (1 unit = 1 mg)",
        "hint": "bill 60 units for a full dose",
        "denial": "CARC 16",
    }


def test_text_report_reads_per_claim():
    result = run_cli("check", DEMO)
    assert result.exit_code == 1
    out = result.stdout
    assert "claim DEMO0002 (claim 2)" in out
    assert "units.dose" in out and "fix: bill 60 units for a full dose" in out
    assert "[likely denial: CARC 197]" in out
    assert out.rstrip().endswith("7 errors, 3 warnings")
    assert "DEMO0001" not in out and "DEMO0006" not in out  # clean claims stay quiet


def test_jsonl_streams_findings_files_and_summary():
    result = run_cli("check", "--format", "jsonl", DEMO)
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["type"] for r in records].count("finding") == 10  # 7 errors, 3 warnings
    assert records[-2]["type"] == "file" and records[-2]["claims"] == 6
    assert records[-1] == {"type": "summary", **report_of(DEMO)[0]["summary"]}


@pytest.mark.parametrize(("fail_on", "expected"), [("error", 0), ("warning", 1), ("never", 0)])
def test_fail_on_thresholds(tmp_path, fail_on, expected):
    # A clean claim whose only problem is a warning: no administration line.
    text = (FIXTURES / "837p/prolia_medicare_clean.837").read_text()
    text = text.replace("SV1*HC:96372*", "SV1*HC:99213*")
    path = tmp_path / "warn.837"
    path.write_text(text)
    result = run_cli("check", "--fail-on", fail_on, "--format", "json", str(path))
    findings = json.loads(result.stdout)["files"][0]["findings"]
    assert [(f["rule"], f["severity"]) for f in findings] == [("admin.missing", "warning")]
    assert result.exit_code == expected


def test_never_still_reports_errors():
    result = run_cli("check", "--fail-on", "never", DEMO)
    assert result.exit_code == 0 and "7 errors" in result.stdout


def test_output_file(tmp_path):
    target = tmp_path / "report.json"
    result = run_cli("check", "--format", "json", "--output", str(target), DEMO)
    assert result.exit_code == 1 and result.stdout == ""
    assert json.loads(target.read_text())["summary"]["errors"] == 7


def test_folder_and_several_files_in_one_report():
    """One run over two folders: the files are read in name order and their claims compared
    with each other, so the CRLF and pretty-printed copies of the clean Prolia claim are
    duplicates of it (the same patient, payer, code, date and units)."""
    document, code = report_of(str(FIXTURES / "837p"), str(FIXTURES / "837i"))
    assert len(document["files"]) == 9
    rules_by_file = {
        Path(f["path"]).name: sorted({finding["rule"] for finding in f["findings"]})
        for f in document["files"]
        if f["findings"]
    }
    assert rules_by_file == {
        "j3486_prolia.837": ["code.wrong_drug"],
        "prolia_medicare_clean_crlf.837": ["claim.duplicate"],
        "prolia_medicare_clean_pretty.837": ["claim.duplicate"],
    }
    assert code == 1


def test_every_real_file_checks_without_traceback():
    result = run_cli("check", "--format", "json", *map(str, real_files()))
    assert result.exit_code in (0, 1)
    document = json.loads(result.stdout)
    jsonschema.validate(document, schema("report"))
    assert document["summary"]["claims"] == sum(claims for claims, _, _ in INDEX_COUNTS.values())
    assert not any(
        f["rule"] == "x12.unreadable"
        for f in (f for file in document["files"] for f in file["findings"])
    )


@pytest.mark.parametrize("name", ["truncated.837", "empty.837", "binary.dat", "remittance.835"])
def test_bad_inputs_are_findings(name):
    document, code = report_of(str(FIXTURES / "bad" / name))
    assert code == 1
    assert document["files"][0]["findings"][0]["rule"].startswith("x12.")


def test_truncated_file_still_checks_its_complete_claims(tmp_path):
    text = (FIXTURES / "837p/multi_st.837").read_text()
    text = text.replace("UN*60***1~DTP*472*D8*20260706", "UN*1***1~DTP*472*D8*20260706")
    cut = text.index("CLM*MST0007")
    path = tmp_path / "cut.837"
    path.write_text(text[: cut + 40])
    document, code = report_of(str(path))
    assert code == 1
    found = rules_by_claim(document)
    assert "units.dose" in found["MST0001"]  # the complete claim before the cut was checked
    assert "x12.envelope" in found[None] or "x12.envelope" in found.get("MST0007", set())
    assert document["files"][0]["claims"] == 6


def test_logs_one_summary_event_a_run_and_the_rest_at_debug():
    """At the default level a run writes one event (a 50k-claim batch must not write 50k
    lines); at debug, one per finding and per file, naming claims by index and keyed ref."""
    paths = (DEMO, str(FIXTURES / "837p/prolia_medicare_clean.837"))
    quiet = log_events(run_cli("check", *paths, log_level="info"))
    (summary,) = quiet
    assert summary["event"] == "run.finished" and summary["exit_code"] == 1
    assert (summary["claims"], summary["errors"], summary["warnings"]) == (7, 7, 3)
    assert [i["sha256"] for i in summary["inputs"]] == [
        hashlib.sha256(Path(path).read_bytes()).hexdigest() for path in paths
    ]
    assert summary["version"] and summary["run_id"] and summary["duration_s"] >= 0
    events = log_events(run_cli("check", *paths))
    findings = [e for e in events if e["event"] == "finding"]
    files = [e for e in events if e["event"] == "file.checked"]
    assert len(findings) == 10 and len(files) == 2
    assert all({"file", "rule", "claim_ref", "claim_index", "line", "severity"} <= e.keys()
               for e in findings)  # fmt: skip
    assert not any("claim_id" in e or "DEMO0002" in json.dumps(e) for e in events)
    assert len({e["run_id"] for e in events}) == 1
    assert files[0]["errors"] == 7 and files[1]["errors"] == 0


def test_rules_command_lists_the_catalog():
    result = run_cli("rules", "--format", "json")
    entries = json.loads(result.stdout)
    ids = [e["id"] for e in entries]
    assert ids == list(catalog())  # every rule, once, in id order
    dose = next(e for e in entries if e["id"] == "units.dose")
    assert (dose["severity"], dose["snip"], dose["denial"]) == ("error", 6, "CARC 16")
    text = run_cli("rules").stdout
    assert "admin.missing" in text and "warning" in text


def test_a_line_numbered_zero_is_reported_without_a_line_number(tmp_path):
    """LX*0 is no line number: the finding names no line, and the report stays valid."""
    text = (FIXTURES / "837p/prolia_medicare_clean.837").read_text()
    damaged = text.replace("LX*1~SV1*HC:J0897:JZ*1650*UN*60", "LX*0~SV1*HC:J0897:JZ*1650*UN*1")
    path = tmp_path / "lx0.837"
    path.write_text(damaged)
    document, code = report_of("--no-ig", str(path))  # report_of validates the schema
    dose = [f for f in document["files"][0]["findings"] if f["rule"] == "units.dose"]
    assert code == 1
    assert [(f["line"], f["code"], f["segment"]) for f in dose] == [(None, "J0897", "SV1")]


@pytest.mark.parametrize("option", ["--output", "--ack"])
def test_the_report_never_overwrites_an_input(tmp_path, option):
    source = tmp_path / "claims.837"
    source.write_bytes((FIXTURES / "837p/prolia_medicare_clean.837").read_bytes())
    before = source.read_bytes()
    result = run_cli("check", "--jobs", "1", option, str(source), str(source))
    assert result.exit_code == 2 and "never writes over its input" in result.stderr
    assert source.read_bytes() == before


def test_a_report_in_the_checked_folder_is_not_read_as_an_input(tmp_path):
    """A daily run writing report.txt into the folder it checks does not check it next day."""
    (tmp_path / "claims.837").write_bytes(
        (FIXTURES / "837p/prolia_medicare_clean.837").read_bytes()
    )
    for _ in range(2):
        result = run_cli("check", "--no-ig", "-o", str(tmp_path / "report.txt"), str(tmp_path))
        assert result.exit_code == 0
    assert "1 file" in (tmp_path / "report.txt").read_text()


def test_an_unwritable_ack_stops_the_run_before_any_work(tmp_path):
    result = run_cli(
        "check",
        "--jobs",
        "1",
        "--ack",
        str(tmp_path / "no/ack.999"),
        "-o",
        str(tmp_path / "report.json"),
        DEMO,
    )
    assert result.exit_code == 2 and "does not exist" in result.stderr
    assert not (tmp_path / "report.json").exists()


def test_a_defect_in_one_rule_is_a_finding_and_the_rest_still_run(monkeypatch):
    import dataclasses

    from edi_precheck.rules import catalog
    from edi_precheck.rules._registry import REGISTRY

    def broken(drug, ctx):
        raise ZeroDivisionError

    rule = catalog()["units.dose"]
    monkeypatch.setitem(REGISTRY, rule.id, dataclasses.replace(rule, check=broken))
    document, code = report_of("--no-ig", DEMO)
    findings = document["files"][0]["findings"]
    broken_dose = [f for f in findings if f["rule"] == "units.dose"]
    assert code == 1 and len(broken_dose) == 6  # one per drug line, each named
    assert all("internal error (ZeroDivisionError)" in f["message"] for f in broken_dose)
    assert {"auth.missing", "ndc.format", "pos.not_allowed"} <= {f["rule"] for f in findings}


def test_a_defect_in_a_history_question_is_a_finding_of_its_rule(monkeypatch, tmp_path):
    """A rule that compares with earlier claims fails when its question is asked: that is
    a finding of the rule on the line, and the run goes on to the next file."""
    import dataclasses

    from edi_precheck.rules import catalog
    from edi_precheck.rules._registry import REGISTRY

    class Broken:
        def ask(self, history):
            raise KeyError("boom")
            yield  # a generator, as the rules' questions are

    rule = catalog()["claim.duplicate"]
    monkeypatch.setitem(
        REGISTRY, rule.id, dataclasses.replace(rule, check=lambda drug, ctx: Broken())
    )
    claim = (FIXTURES / "837p/prolia_medicare_clean.837").read_bytes()
    (tmp_path / "first.837").write_bytes(claim)
    (tmp_path / "again.837").write_bytes(claim)
    document, code = report_of("--no-ig", str(tmp_path / "first.837"), str(tmp_path / "again.837"))
    findings = [f for file in document["files"] for f in file["findings"]]
    broken = [f for f in findings if f["rule"] == "claim.duplicate"]
    assert code == 1 and len(broken) == 2  # asked on each file's drug line
    assert all("internal error (KeyError)" in f["message"] and f["line"] == 1 for f in broken)
    assert document["summary"]["claims"] == 2 and document["summary"]["checked_lines"] == 2


def test_a_claim_cut_off_by_the_end_of_the_file_is_not_counted_as_read():
    """The truncated fixture holds two whole, clean claims and one cut off."""
    document, code = report_of("--no-ig", str(FIXTURES / "bad/truncated.837"))
    summary = document["summary"]
    assert code == 1 and summary["claims"] == 2
    assert summary["claims_with_errors"] == 0
    text = run_cli("check", "--no-ig", str(FIXTURES / "bad/truncated.837")).stdout
    assert "2 claims (0 with errors), 2 drug lines checked: 4 errors, 0 warnings" in text


def test_the_text_report_counts_in_the_singular_too():
    text = run_cli("check", "--no-ig", str(FIXTURES / "837p/prolia_medicare_clean.837")).stdout
    assert "  1 claim, 2 service lines, 1 drug line checked" in text
    assert "1 file, 1 claim (0 with errors), 1 drug line checked: 0 errors, 0 warnings" in text


def test_claims_alike_but_for_their_payer_are_each_held_to_their_own_payer(tmp_path):
    """The same drug line (code, product, place) for Medicare, Medicaid, Medicare, Medicaid:
    the payer rules worked out for one claim are not reused for the next claim's payer.
    Medicaid requires the NDC; Medicare does not."""
    segments = (FIXTURES / "837p/prolia_medicare_clean.837").read_text().split("~")
    start = next(i for i, s in enumerate(segments) if s.startswith("HL*2*"))
    end = next(i for i, s in enumerate(segments) if s.startswith("SE*"))
    loop = [s for s in segments[start:end] if not s.startswith(("LIN*", "CTP*"))]
    loops = []
    for number, payer in enumerate(["MB", "MC", "MB", "MC"], 2):
        loops += [
            s.replace("HL*2*", f"HL*{number}*")
            .replace("*MB", f"*{payer}")
            .replace("PMC0001", f"PAYER{number}")
            .replace("5TW7HK3CN22", f"5TW7HK3CN{number:02d}")
            for s in loop
        ]
    path = tmp_path / "payers.837"
    path.write_text("~".join(segments[:start] + loops + segments[end:]))
    document, _ = report_of("--no-ig", str(path))
    found = rules_by_claim(document)
    assert ["ndc.missing" in found.get(f"PAYER{n}", set()) for n in range(2, 6)] == [
        False,
        True,
        False,
        True,
    ]


@pytest.mark.parametrize("closed", ["2>&-", ">&-"], ids=["stderr", "stdout"])
def test_a_hook_started_with_a_stream_closed_still_gets_its_verdict(tmp_path, closed):
    """A daemon may start the hook with stderr (or stdout) closed: the report still goes
    to --output and the exit code says what was found, not an internal error."""
    report = tmp_path / "report.json"
    command = [sys.executable, "-m", "edi_precheck", "check", "--format", "json",
               "--output", str(report), str(FIXTURES / "demo/demo.837")]  # fmt: skip
    result = subprocess.run(
        ["bash", "-c", f'"$@" {closed}', "hook", *command], capture_output=True, timeout=300
    )
    assert result.returncode == 1, result
    assert json.loads(report.read_text())["summary"]["claims"] == 6
