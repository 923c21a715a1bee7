"""The library API a practice-management system calls."""

from __future__ import annotations

from datetime import date, datetime

import jsonschema
import pytest

import edi_precheck
from conftest import FIXTURES
from edi_precheck.policy import schema


def test_check_file_returns_a_report():
    report = edi_precheck.check_file(FIXTURES / "demo/demo.837")
    assert report.has_errors
    assert {f.claim_id for f in report.findings} == {"DEMO0002", "DEMO0003", "DEMO0004", "DEMO0005"}
    assert all(isinstance(f.severity, edi_precheck.Severity) for f in report.findings)
    jsonschema.validate(report.to_dict(), schema("report"))


def test_check_bytes_names_its_input():
    data = (FIXTURES / "837p/prolia_medicare_clean.837").read_bytes()
    report = edi_precheck.check_bytes(data, name="upload-17")
    assert not report.has_errors and report.findings == []
    assert report.to_dict()["files"][0]["path"] == "upload-17"
    assert report.files[0].claims == 1 and report.files[0].checked_lines == 1


def test_bad_bytes_are_a_finding_not_an_exception():
    report = edi_precheck.check_bytes(b"\x00\x01 not an 837")
    assert [f.rule for f in report.findings] == ["x12.unreadable"]
    assert report.has_errors


def test_today_decides_future_dates():
    data = (FIXTURES / "837p/prolia_medicare_clean.837").read_bytes()
    before = edi_precheck.check_bytes(data, today=date(2026, 3, 1))
    assert [f.rule for f in before.findings] == ["date.invalid"]
    assert "after today" in before.findings[0].message


def test_invalid_policy_raises(tmp_path):
    path = tmp_path / "p.json"
    path.write_text("{}")
    try:
        edi_precheck.check_file(FIXTURES / "demo/demo.837", policies=[path])
    except edi_precheck.PolicyError as error:
        assert any("'id' is a required property" in p for p in error.problems)
    else:
        raise AssertionError("an invalid policy must raise PolicyError")


def test_library_use_prints_nothing(capsys):
    """Without structlog configured by the application, the library stays silent."""
    import structlog

    structlog.reset_defaults()
    report = edi_precheck.check_file(
        FIXTURES / "demo/demo.837",
        policies=[FIXTURES.parent / "edi_precheck/policy/data/denosumab.json"],
    )
    assert report.has_errors
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == ("", "")


def test_a_long_running_process_checks_against_the_current_day(monkeypatch):
    """The cached engine does not freeze the day it was built on."""
    import datetime as real_datetime

    import edi_precheck.rules.runner as runner

    data = (FIXTURES / "837p/prolia_medicare_clean.837").read_bytes()

    class March1(real_datetime.date):
        @classmethod
        def today(cls):
            return real_datetime.date(2026, 3, 1)

    monkeypatch.setattr(runner, "date", March1)
    assert [f.rule for f in edi_precheck.check_bytes(data, ig=False).findings] == ["date.invalid"]
    monkeypatch.undo()
    assert edi_precheck.check_bytes(data, ig=False).findings == []


def test_repeated_checks_keep_no_acknowledgments():
    data = (FIXTURES / "837p/prolia_medicare_clean.837").read_bytes()
    edi_precheck.check_bytes(data)
    engine = edi_precheck.api._engine((), None, True, "native")
    assert engine.ack_text() == ""


def test_one_policy_path_is_taken_as_one_path():
    shipped = FIXTURES.parent / "edi_precheck/policy/data/denosumab.json"
    report = edi_precheck.check_file(FIXTURES / "demo/demo.837", policies=str(shipped), ig=False)
    assert report.has_errors


def test_text_instead_of_bytes_is_a_clear_type_error():
    try:
        edi_precheck.check_bytes("ISA*00*...")  # type: ignore[arg-type]
    except TypeError as error:
        assert "takes the file's bytes, not str" in str(error)
    else:
        raise AssertionError("check_bytes must refuse text")


@pytest.mark.parametrize("today", ["2026-01-01", datetime(2026, 1, 1, 12, 0)])
def test_a_today_that_is_no_date_is_a_clear_type_error(today):
    """A caller's type mistake raises; it must not become a date.invalid error on every
    drug line, holding every claim."""
    data = (FIXTURES / "demo/demo.837").read_bytes()
    with pytest.raises(TypeError, match=r"today must be a datetime\.date"):
        edi_precheck.check_bytes(data, today=today)
    with pytest.raises(TypeError, match=r"today must be a datetime\.date"):
        edi_precheck.check_file(FIXTURES / "demo/demo.837", today=today)
