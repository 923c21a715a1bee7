"""Outputs are written safely: never over an input however it is named, never through a
planted link, whole or not at all, readable by their owner only; an input named twice is
read once."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

from click.testing import CliRunner

from conftest import FIXTURES, log_events, run_cli
from edi_precheck.cli import main
from edi_precheck.synth import write_837p
from test_rule_cases import recount_se

PROLIA = FIXTURES / "837p/prolia_medicare_clean.837"
MULTI = FIXTURES / "837p/multi_st.837"


def copy(tmp_path: Path, source: Path, name: str = "in.837") -> Path:
    path = tmp_path / name
    path.write_bytes(source.read_bytes())
    return path


def test_an_output_hard_linked_to_the_input_is_refused_and_the_input_kept(tmp_path):
    source = copy(tmp_path, MULTI)
    before = source.read_bytes()
    os.link(source, tmp_path / "report.json")
    for command in (("check", "-o"), ("check", "--ack"), ("lines", "-o")):
        result = run_cli(*command, str(tmp_path / "report.json"), str(source))
        assert result.exit_code == 2, command
        assert "is an input file" in result.stderr
    result = run_cli(
        "split",
        str(source),
        "--clean",
        str(tmp_path / "report.json"),
        "--held",
        str(tmp_path / "h.837"),
    )
    assert result.exit_code == 2 and "is an input file" in result.stderr
    assert source.read_bytes() == before


def test_a_link_planted_where_an_output_goes_is_replaced_not_followed(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("not yours to overwrite")
    for option, name in (("-o", "report.json"), ("--ack", "batch.999")):
        link = tmp_path / name
        link.symlink_to(secret)
        result = run_cli("check", "--jobs", "1", option, str(link), str(PROLIA))
        assert result.exit_code == 0, result.stderr
        assert secret.read_text() == "not yours to overwrite"
        assert not link.is_symlink() and link.stat().st_size > 0
    link = tmp_path / "summary.json"
    link.symlink_to(secret)
    result = run_cli(
        "split",
        str(PROLIA),
        "--clean",
        str(tmp_path / "c.837"),
        "--held",
        str(tmp_path / "h.837"),
        "--output",
        str(link),
    )
    assert result.exit_code == 0 and secret.read_text() == "not yours to overwrite"


def test_an_output_that_is_a_device_or_a_pipe_is_written_to_not_replaced(tmp_path):
    """`-o /dev/null` (and a named pipe a pipeline reads from) stay what they are: renaming a
    file over them would take /dev/null away from the whole machine when run as root."""
    import threading

    result = run_cli("check", "--no-ig", "--format", "json", "-o", os.devnull, str(PROLIA))
    assert result.exit_code == 0, result.output
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)
    pipe = tmp_path / "report.pipe"
    os.mkfifo(pipe)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(pipe.read_bytes()))
    reader.start()
    result = run_cli("check", "--no-ig", "--format", "json", "-o", str(pipe), str(PROLIA))
    reader.join(timeout=30)
    assert result.exit_code == 0, result.output
    assert stat.S_ISFIFO(os.lstat(pipe).st_mode)
    assert json.loads(received[0])["summary"]["claims"] == 1


def test_a_link_to_an_input_is_the_input(tmp_path):
    source = copy(tmp_path, PROLIA)
    (tmp_path / "out.json").symlink_to(source)
    result = run_cli("check", "-o", str(tmp_path / "out.json"), str(source))
    assert result.exit_code == 2 and "is an input file" in result.stderr


def test_an_input_named_twice_is_read_once(tmp_path):
    folder = tmp_path / "outbox"
    folder.mkdir()
    source = copy(folder, MULTI, "batch.837")
    (tmp_path / "alias.837").symlink_to(source)
    names = (str(source), str(folder), str(tmp_path / "alias.837"), str(source))
    result = run_cli("check", "--no-ig", "--format", "json", *names)
    report = json.loads(result.stdout)
    assert [f["path"] for f in report["files"]] == [str(source)]
    assert report["summary"]["claims"] == 8
    repeated = [e for e in log_events(result) if e["event"] == "input.repeated"]
    assert len(repeated) == 3 and all(e["same_as"] == str(source) for e in repeated)
    out = tmp_path / "out"
    result = run_cli(
        "split",
        "--no-ig",
        *names,
        "--format",
        "json",
        "--clean",
        str(out / "c.837"),
        "--held",
        str(out / "h.837"),
    )
    summary = json.loads(result.stdout)
    assert len(summary["claims"]) == 8  # a repeated input would be a duplicate submission


def test_outputs_are_readable_by_their_owner_only_unless_told(tmp_path, monkeypatch):
    def mode(path: Path) -> int:
        return stat.S_IMODE(path.stat().st_mode)

    run_cli(
        "split",
        str(PROLIA),
        "--clean",
        str(tmp_path / "c.837"),
        "--held",
        str(tmp_path / "h.837"),
        "--output",
        str(tmp_path / "s.json"),
    )
    run_cli(
        "check",
        "--jobs",
        "1",
        "--ack",
        str(tmp_path / "a.999"),
        "-o",
        str(tmp_path / "r.json"),
        str(PROLIA),
    )
    names = ("c.837", "h.837", "s.json", "a.999", "r.json")
    assert {name: mode(tmp_path / name) for name in names} == dict.fromkeys(names, 0o600)
    monkeypatch.setenv("EDI_PRECHECK_FILE_MODE", "0640")
    run_cli("check", "--no-ig", "-o", str(tmp_path / "shared.json"), str(PROLIA))
    assert mode(tmp_path / "shared.json") == 0o640
    monkeypatch.setenv("EDI_PRECHECK_FILE_MODE", "rw-r")
    result = run_cli("check", "--no-ig", "-o", str(tmp_path / "x.json"), str(PROLIA))
    assert result.exit_code == 2 and "EDI_PRECHECK_FILE_MODE" in result.stderr


def test_a_split_stopped_by_sigterm_leaves_no_output_and_no_temporary_file(tmp_path):
    big = tmp_path / "big.837"
    with big.open("wb") as out:
        write_837p(out, 60_000, claims_per_st=2_000, drug_share=0.9)
    out = tmp_path / "out"
    out.mkdir()
    (out / "clean.837").write_text("yesterday's claims")
    command = [
        sys.executable,
        "-m",
        "edi_precheck",
        "split",
        "--no-ig",
        str(big),
        "--clean",
        str(out / "clean.837"),
        "--held",
        str(out / "held.837"),
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not any(p.name.startswith(".") for p in out.iterdir()):  # it began writing
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 2 and b"stopped by SIGTERM" in stderr
    assert sorted(p.name for p in out.iterdir()) == []


ESC = "\x1b"


def test_control_characters_from_the_input_never_reach_the_terminal(tmp_path):
    """A claim id, an element and a file name carrying terminal escapes (clear the
    screen, recolour) are printed escaped by the text report, split and the logs."""
    text = PROLIA.read_text()
    text = text.replace("CLM*PMC0001*", f"CLM*{ESC}[2J{ESC}[31mPMC0001*")
    text = text.replace("SV1*HC:J0897:JZ*1650*UN*60", f"SV1*HC:J0897:J{ESC}Z*1650*UN*1")
    path = tmp_path / f"batch{ESC}[8m.837"
    path.write_text(text)

    checked = run_cli("check", str(path))
    split = run_cli(
        "split",
        str(path),
        "--clean",
        str(tmp_path / "clean.837"),
        "--held",
        str(tmp_path / "held.837"),
    )
    console = CliRunner().invoke(
        main, ["--log-format", "console", "--log-level", "info", "check", str(path)]
    )  # the run's summary event names its inputs

    for result in (checked, split, console):
        assert ESC not in result.stdout + result.stderr
    assert "\\x1b[2J\\x1b[31mPMC0001" in checked.stdout  # the claim, still recognisable
    assert "batch\\x1b[8m.837" in checked.stdout
    assert "modifier.invalid" in checked.stdout and "units.dose" in checked.stdout
    assert "\\x1b[2J\\x1b[31mPMC0001" in split.stdout
    assert "x1b[8m.837" in console.stderr  # escaped (in the summary's list of inputs)


def test_a_listing_opened_in_a_spreadsheet_runs_no_formula(tmp_path):
    """`lines --format csv`: cells that would start a formula are text (a leading
    apostrophe), amounts keep their sign, control characters are escaped."""
    text = PROLIA.read_text()
    text = text.replace("CLM*PMC0001*", 'CLM*=HYPERLINK("http://x.test")*')
    text = text.replace("NM1*PR*2*MEDICARE B NORIDIAN*****PI*01112", "NM1*PR*2*M*****PI*@SUM(A1)")
    text = text.replace("SV1*HC:96372*45*", "SV1*HC:96372*-45*")
    text = text.replace("~HI*ABK:M810", f"~REF*G1*+1{ESC}-2~HI*ABK:M810")
    path = tmp_path / "in.837"
    path.write_text(recount_se(text))

    result = run_cli("lines", "--all", "--format", "csv", str(path))
    rows = list(csv.DictReader(io.StringIO(result.stdout)))

    assert len(rows) == 2
    assert {row["claim_id"] for row in rows} == {'\'=HYPERLINK("http://x.test")'}
    assert {row["payer_id"] for row in rows} == {"'@SUM(A1)"}
    assert [row["charge"] for row in rows] == ["1650", "-45"]
    assert {row["prior_authorization"] for row in rows} == {"'+1\\x1b-2"}
    assert ESC not in result.stdout
    for row in rows:
        for cell in row.values():
            assert (
                not cell.startswith(("=", "+", "@")) or cell.lstrip("+-").replace(".", "").isdigit()
            )


def test_no_message_carries_an_input_value_raw():
    """Values the rules and envelope checks quote (a service date, a taxonomy, a diagnosis,
    a control number, a filing indicator) are cut and escaped wherever a message names
    them, as `findings.shown` does: one escape sequence or megabyte anywhere in a claim
    never reaches a report, a log or a terminal whole."""
    from edi_precheck import check_bytes

    junk = ESC + "[2J" + "9" * 5_000
    text = PROLIA.read_text()
    for old, new in [
        ("DTP*472*D8*20260310~LIN", f"DTP*472*D8*2026{junk}~LIN"),  # no admin line that day
        ("SE*31*0001", f"SE*31*0001{junk}"),
        ("GE*1*101", f"GE*1*{junk}"),
        ("PRV*PE*PXC*207RE0101X", f"PRV*PE*PXC*207Q{junk}"),
        ("HI*ABK:M810", f"HI*ABK:M80{junk}"),
        ("*******MB~", f"*******M{junk}~"),
    ]:
        assert old in text, old
        text = text.replace(old, new, 1)
    report = check_bytes(text.encode(), name="raw.837", ig=False)
    assert len(report.findings) >= 4
    for finding in report.findings:
        shown = finding.message + finding.hint
        assert ESC not in shown and "9" * 100 not in shown, (finding.rule, shown[:200])


def test_an_output_path_through_a_file_or_naming_a_folder_says_so(tmp_path):
    """--output under a regular file, or an empty --clean: exit 2 with what is wrong, not
    'folder does not exist' nor an OS error about renaming over a folder."""
    plain = tmp_path / "afile"
    plain.write_text("not a folder")
    demo = str(FIXTURES / "demo/demo.837")
    result = run_cli("check", demo, "--output", str(plain / "r.json"))
    assert result.exit_code == 2 and f"{plain} is a file, not a folder" in result.stderr
    result = run_cli("split", demo, "--clean", "", "--held", str(tmp_path / "h.837"))
    assert result.exit_code == 2 and "names a folder, not a file to write" in result.stderr
