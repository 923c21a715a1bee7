"""Reports people read: statistics, CSV, SARIF, the HTML page (in a real headless Chromium),
one rule's documentation, the split summary's held claims, and the terminal."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from conftest import FIXTURES, on_a_terminal, run_cli

DEMO = FIXTURES / "demo" / "demo.837"
MULTI = FIXTURES / "837p" / "multi_st.837"
SARIF_SCHEMA = Path(__file__).parent / "fixtures" / "sarif" / "sarif-schema-2.1.0.json"


def report_of(*paths: Path, options: tuple[str, ...] = ("--no-ig",)) -> dict:
    return json.loads(run_cli("check", "--format", "json", *options, *map(str, paths)).stdout)


def findings_of(report: dict) -> list[dict]:
    return [finding for file in report["files"] for finding in file["findings"]]


def test_statistics_count_every_finding_by_rule_and_severity():
    report = report_of(DEMO, MULTI)
    counted: dict[str, dict[str, int]] = {}
    for finding in findings_of(report):
        per_rule = counted.setdefault(finding["rule"], {})
        per_rule[finding["severity"]] = per_rule.get(finding["severity"], 0) + 1
    assert report["summary"]["by_rule"] == dict(sorted(counted.items()))
    text = run_cli("check", "--no-ig", "--statistics", str(DEMO), str(MULTI)).stdout
    table = text.split("warnings\n\n", 1)[1].splitlines()
    rows = [line.split() for line in table]
    assert sum(int(row[0]) for row in rows) == len(findings_of(report))
    assert rows[0][:3] == ["2", "ndc.quantity", "error"]  # most first
    assert "CARC 16" in table[0]


def test_csv_has_a_row_per_finding_with_the_reports_fields(tmp_copy):
    damaged = tmp_copy("formula.837", DEMO.read_bytes().replace(b"CLM*DEMO0002", b"CLM*=SUM(A1)"))
    result = run_cli("check", "--no-ig", "--format", "csv", str(damaged))
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    findings = findings_of(report_of(damaged))
    assert len(rows) == len(findings) == 10
    for row, finding in zip(rows, findings, strict=True):
        assert (row["rule"], row["severity"], row["message"], row["hint"]) == (
            finding["rule"],
            finding["severity"],
            finding["message"],
            finding["hint"],
        )
    assert {row["claim_id"] for row in rows} >= {"'=SUM(A1)"}  # text, not a formula


def test_sarif_is_valid_sarif_with_the_catalog_as_rules():
    result = run_cli("check", "--no-ig", "--format", "sarif", str(DEMO), str(MULTI))
    document = json.loads(result.stdout)
    jsonschema.Draft4Validator(json.loads(SARIF_SCHEMA.read_text())).validate(document)
    (run,) = document["runs"]
    rules = run["tool"]["driver"]["rules"]
    assert {rule["id"] for rule in rules} >= {"units.dose", "claim.duplicate", "x12.ig"}
    dose = next(rule for rule in rules if rule["id"] == "units.dose")
    assert dose["defaultConfiguration"]["level"] == "error"
    assert dose["properties"]["denial"] == "CARC 16" and "## Why it matters" in dose["help"]["text"]
    findings = findings_of(report_of(DEMO, MULTI))
    assert [(r["ruleId"], r["level"], r["message"]["text"]) for r in run["results"]] == [
        (f["rule"], f["severity"], f["message"]) for f in findings
    ]
    for result_ in run["results"]:
        assert rules[result_["ruleIndex"]]["id"] == result_["ruleId"]


def _chromium():
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    browser, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (browser and driver):
        pytest.fail(
            "the HTML test needs Debian's chromium and chromium-driver (.ci/run installs them)"
        )
    options = Options()
    options.binary_location = browser
    for argument in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--window-size=1200,1600",
    ):  # fmt: skip
        options.add_argument(argument)
    return webdriver.Chrome(service=Service(driver), options=options)


def test_the_html_report_renders_every_finding_and_filters_in_a_browser(tmp_path, tmp_copy):
    """A claim id like `<script>` is shown as text; the page needs nothing from the network;
    the severity and rule filters show what they say."""
    hostile = tmp_copy("hostile.837", DEMO.read_bytes().replace(b"DEMO0002", b"<script>x</script>"))
    page = tmp_path / "report.html"
    result = run_cli("check", "--no-ig", "--format", "html", "-o", str(page), str(hostile))
    assert result.exit_code == 1
    html = page.read_text()
    assert "&lt;script&gt;x&lt;/script&gt;" in html and "<script>x</script>" not in html
    assert "http://" not in html and "https://" not in html  # self-contained
    report = report_of(hostile)
    findings = findings_of(report)
    warnings = [f for f in findings if f["severity"] == "warning"]
    browser = _chromium()
    try:
        browser.get(page.as_uri())
        shown = browser.find_elements("css selector", ".finding")
        assert len(shown) == len(findings) == 10
        assert len(browser.find_elements("css selector", "script")) == 1  # ours only
        heading = browser.find_element("css selector", ".claim h3").text
        assert heading.startswith("Claim <script>x</script>")
        texts = [e.find_element("css selector", ".message").text for e in shown]
        assert texts == [f["message"] for f in findings]
        browser.execute_script(
            "const s = document.getElementById('severity-filter'); s.value = 'warning';"
            "s.dispatchEvent(new Event('change'));"
        )
        visible = [e for e in browser.find_elements("css selector", ".finding") if e.is_displayed()]
        assert len(visible) == len(warnings) == 3
        assert browser.find_element("id", "shown-count").text == "showing 3 of 10 findings"
        browser.execute_script(
            "const s = document.getElementById('severity-filter'); s.value = '';"
            "s.dispatchEvent(new Event('change'));"
            "const r = document.getElementById('rule-filter'); r.value = 'units.dose';"
            "r.dispatchEvent(new Event('change'));"
        )
        visible = [e for e in browser.find_elements("css selector", ".finding") if e.is_displayed()]
        assert {e.get_attribute("data-rule") for e in visible} == {"units.dose"}
        assert len(visible) == 2
        shot = tmp_path / "report.png"
        browser.save_screenshot(str(shot))
        assert shot.stat().st_size > 10_000
    finally:
        browser.quit()


def test_one_rule_explained_and_a_closed_pipe_is_quiet():
    text = run_cli("rules", "units.dose").stdout
    assert text.startswith("units.dose: ")
    for part in ("default severity: error", "likely denial: CARC 16", "What it checks",
                 "Why it matters", "Example", "Use instead", "Policy keys"):  # fmt: skip
        assert part in text, part
    unknown = run_cli("rules", "units.nope")
    assert unknown.exit_code == 2 and "units.dose" in unknown.output
    piped = subprocess.run(
        f"'{sys.executable}' -m edi_precheck rules | head -1",
        shell=True, capture_output=True, text=True, check=False,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )  # fmt: skip
    assert piped.stdout.startswith("admin.missing") and piped.stderr == ""
    status = subprocess.run(
        f"'{sys.executable}' -m edi_precheck rules | head -1 > /dev/null; "
        "echo ${PIPESTATUS[0]}",
        shell=True, executable="/bin/bash", capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert status.stdout.strip() == "0"


def test_the_split_summary_says_why_each_claim_is_held(tmp_path, tmp_copy):
    junk = tmp_copy("junk.837", b"not an interchange")
    result = run_cli(
        "split", "--no-ig", "--format", "json", "--held-only",
        "--clean", str(tmp_path / "c.837"), "--held", str(tmp_path / "h.837"), str(DEMO), str(junk),
    )  # fmt: skip
    summary = json.loads(result.stdout)
    assert [route["claim_id"] for route in summary["claims"]] == [
        "DEMO0002",
        "DEMO0004",
        "DEMO0005",
    ]
    first = summary["claims"][0]["findings"]
    assert [f["rule"] for f in first] == ["modifier.waste_missing", "units.dose", "ndc.quantity"]
    assert all(f["message"] and f["hint"] for f in first)
    (unread,) = summary["not_read"]
    assert unread["file"] == str(junk) and unread["rules"] == ["x12.unreadable"]
    assert "ISA" in unread["reasons"][0]


def test_a_terminal_shows_each_finding_once_in_colour_and_no_log_lines():
    shown = on_a_terminal("check", "--no-ig", str(DEMO), env={"NO_COLOR": ""})
    assert "\x1b[" in shown  # severities in colour
    assert shown.count("units.dose") == 2  # the two findings, each once
    assert "run.finished" not in shown and "finding" not in shown.replace("findings", "")
    for plain in (
        on_a_terminal("check", "--no-ig", str(DEMO), env={"NO_COLOR": "1"}),
        on_a_terminal("check", "--no-ig", "--no-color", str(DEMO), env={"NO_COLOR": ""}),
    ):
        assert "\x1b[" not in plain and plain.count("units.dose") == 2


def test_sarif_names_a_file_by_a_uri_reference(tmp_path, monkeypatch):
    """A file named 'claims 2026 #3 100%.837': '#' would start a fragment and '%' an escape
    in a raw path, so the artifact's uri is percent-encoded (a file: URI when absolute)."""
    from urllib.parse import unquote, urlsplit

    named = tmp_path / "claims 2026 #3 100%.837"
    named.write_bytes(DEMO.read_bytes())
    monkeypatch.chdir(tmp_path)
    for given, scheme in ((str(named), "file"), (named.name, "")):
        document = json.loads(run_cli("check", "--no-ig", "--format", "sarif", given).stdout)
        uris = {
            location["physicalLocation"]["artifactLocation"]["uri"]
            for result_ in document["runs"][0]["results"]
            for location in result_["locations"]
        }
        (uri,) = uris
        parts = urlsplit(uri)
        assert parts.scheme == scheme and parts.fragment == "" and " " not in uri
        assert unquote(parts.path).endswith("claims 2026 #3 100%.837")


def test_the_html_report_shows_a_claim_id_as_the_text_report_does(tmp_path, tmp_copy):
    """A CLM01 with control characters (ESC, BEL) and one of 409 characters: the page shows
    them escaped and cut, as the text report does, never raw."""
    odd = "A\x1bB\x07C"
    long_id = "L" * 409
    data = DEMO.read_text().replace("CLM*DEMO0002*", f"CLM*{odd}*")
    data = data.replace("CLM*DEMO0003*", f"CLM*{long_id}*")
    path = tmp_copy("odd.837", data.encode())
    page = tmp_path / "report.html"
    run_cli("check", "--no-ig", "--format", "html", "--output", str(page), str(path))
    html = page.read_text()
    assert "\x1b" not in html and "\x07" not in html and long_id not in html
    assert "A\\x1bB\\x07C" in html and "(409 characters)" in html
