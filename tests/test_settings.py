"""Settings from a file and the environment, beneath the command line; errors and claim
references in the logs as operations read them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from conftest import FIXTURES, log_events, run_cli

DEMO = FIXTURES / "demo" / "demo.837"
STRICT = Path(__file__).parent / "fixtures" / "policies" / "commercial-strict.json"


def settings_folder(tmp_path: Path, text: str, name: str = "edi-precheck.toml") -> Path:
    (tmp_path / name).write_text(text)
    shutil.copy(STRICT, tmp_path / "strict.json")
    work = tmp_path / "batches" / "today"
    work.mkdir(parents=True)
    return work


def test_a_settings_file_gives_the_defaults(tmp_path, monkeypatch):
    monkeypatch.chdir(
        settings_folder(
            tmp_path,
            'fail-on = "never"\nig = false\nformat = "json"\npolicy = ["strict.json"]\n',
        )
    )
    result = run_cli("check", str(DEMO))
    assert result.exit_code == 0  # fail-on never
    report = json.loads(result.stdout)  # format json
    assert [layer["id"] for layer in report["policies"][0]["layers"]][-1] == "commercial-strict"
    assert not any(f["rule"] == "x12.ig" for f in report["files"][0]["findings"])


def test_a_pyproject_table_counts_and_options_and_variables_win(tmp_path, monkeypatch):
    text = '[project]\nname = "billing"\n\n[tool.edi-precheck]\nfail-on = "never"\nig = false\n'
    monkeypatch.chdir(settings_folder(tmp_path, text, "pyproject.toml"))
    assert run_cli("check", str(DEMO)).exit_code == 0
    monkeypatch.setenv("EDI_PRECHECK_FAIL_ON", "error")  # the environment beats the file
    assert run_cli("check", str(DEMO)).exit_code == 1
    # and an option beats both
    assert run_cli("check", "--fail-on", "never", str(DEMO)).exit_code == 0


def test_the_ig_engine_comes_from_the_file_the_variable_or_the_option(tmp_path, monkeypatch):
    monkeypatch.chdir(settings_folder(tmp_path, 'ig-engine = "pyx12"\n'))

    def engine_used(*options: str) -> str:
        result = run_cli("check", "--jobs", "1", *options, str(DEMO))
        (event,) = [e for e in log_events(result) if e["event"] == "run.finished"]
        return event["ig_engine"]

    assert engine_used() == "pyx12"
    monkeypatch.setenv("EDI_PRECHECK_IG_ENGINE", "native")
    assert engine_used() == "native"
    assert engine_used("--ig-engine", "pyx12") == "pyx12"
    assert engine_used("--no-ig") is None
    bad = run_cli("check", "--ig-engine", "fast", str(DEMO))
    assert bad.exit_code == 2


def test_a_misspelt_setting_stops_the_run_naming_it(tmp_path, monkeypatch):
    monkeypatch.chdir(settings_folder(tmp_path, 'fail_on = "never"\n'))
    result = run_cli("check", str(DEMO))
    assert result.exit_code == 2
    (event,) = [e for e in log_events(result) if e["event"] == "run.failed"]
    assert "edi-precheck.toml" in event["message"] and "fail_on" in event["message"]
    (tmp_path / "edi-precheck.toml").write_text("fail-on = \n")
    broken = run_cli("check", str(DEMO))
    assert broken.exit_code == 2 and "cannot read the settings file" in broken.output


def test_errors_are_one_json_event_when_logs_are_json():
    result = run_cli("check", "--no-such-option", str(DEMO))
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert lines and all(line.startswith("{") for line in lines), result.stderr
    (event,) = [json.loads(line) for line in lines]
    assert event["event"] == "usage_error" and "--no-such-option" in event["message"]
    missing = run_cli("check", "/no/such/file.837")
    (failed,) = [e for e in log_events(missing) if e["event"] == "run.failed"]
    assert missing.exit_code == 2 and failed["exit_code"] == 2
    bad_level = run_cli("check", str(DEMO), log_level="loud")
    assert bad_level.exit_code == 2 and log_events(bad_level)[0]["event"] == "usage_error"


def test_claim_refs_match_across_runs_under_the_site_key(monkeypatch):
    def refs() -> list[str]:
        events = log_events(run_cli("check", "--no-ig", str(DEMO)))
        return [e["claim_ref"] for e in events if e["event"] == "finding"]

    monkeypatch.setenv("EDI_PRECHECK_HISTORY_KEY", "ab" * 32)
    first, second = refs(), refs()
    assert first == second and len(set(first)) == 4  # four claims with findings
    monkeypatch.setenv("EDI_PRECHECK_HISTORY_KEY", "cd" * 32)
    assert refs() != first
