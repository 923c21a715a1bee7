"""Bad input ends in a finding and an exit code, never a traceback, and keeps what it can."""

from __future__ import annotations

import json
import random

from conftest import REAL, log_events, run_cli

MANY = REAL / "imsweb__x12-parser__src__test__resources__837_5010__x12_many_claims.txt"
OFFICE = REAL / (
    "irobayna__stupidedi__spec__fixtures__005010__X222A1_HC837_Health_Care_Claim_"
    "Professional__pass__drug-administered-in-the-physician-office.edi"
)


def findings_of(result) -> list[dict]:
    return [event for event in log_events(result) if event["event"] == "finding"]


def run_lines(path) -> tuple[list[dict], list[dict], int]:
    result = run_cli("lines", "--all", "--format", "json", str(path))
    return json.loads(result.stdout), findings_of(result), result.exit_code


def test_truncated_file_keeps_every_complete_claim(tmp_copy):
    data = MANY.read_bytes()
    starts = [i for i in range(len(data)) if data.startswith(b"CLM*", i)]
    cut_in = 400  # cut inside the 401st claim
    cut = starts[cut_in] + 30
    records, findings, code = run_lines(tmp_copy("cut.837", data[:cut]))
    assert code == 1
    assert [r["claim_index"] for r in records] == list(range(1, cut_in + 1))
    rules = {f["rule"] for f in findings}
    assert rules == {"x12.envelope"}
    assert any("cut off" in f["message"] and f["claim_ref"] for f in findings)
    assert any("truncated" in f["message"] for f in findings)


def test_empty_file(tmp_copy):
    records, findings, code = run_lines(tmp_copy("empty.837", b""))
    assert (records, code) == ([], 1)
    assert [f["rule"] for f in findings] == ["x12.unreadable"]
    assert "empty" in findings[0]["message"]


def test_binary_file(tmp_copy):
    junk = b"\x89PNG\r\n\x1a\n" + random.Random(7).randbytes(4000)
    records, findings, code = run_lines(tmp_copy("junk.dat", junk))
    assert (records, code) == ([], 1)
    assert [f["rule"] for f in findings] == ["x12.unreadable"]
    assert "binary" in findings[0]["message"]


def test_remittance_835_is_unsupported(tmp_copy):
    text = OFFICE.read_text()
    remit = (
        text.replace("*005010X222A1~", "*005010X221A1~")
        .replace("ST*837*", "ST*835*")
        .replace("GS*HC*", "GS*HP*")
    )
    records, findings, code = run_lines(tmp_copy("remit.835", remit.encode()))
    assert (records, code) == ([], 1)
    assert [f["rule"] for f in findings] == ["x12.unsupported"]
    assert "835" in findings[0]["message"]


def test_4010_claim_is_unsupported(tmp_copy):
    text = OFFICE.read_text().replace("005010X222A1", "004010X098A1")
    records, findings, code = run_lines(tmp_copy("old.837", text.encode()))
    assert (records, code) == ([], 1)
    assert [f["rule"] for f in findings] == ["x12.unsupported"]
    assert "4010" in findings[0]["message"]


def test_missing_path_is_a_run_error():
    result = run_cli("lines", "/no/such/file.837")
    assert result.exit_code == 2
    assert "no such file" in result.stderr


def test_folder_without_edi_files_is_a_run_error(tmp_path):
    (tmp_path / "notes.md").write_text("nothing here")
    result = run_cli("lines", str(tmp_path))
    assert result.exit_code == 2
    assert "no 837 files" in result.stderr


def test_stdin_is_read():
    result = run_cli("lines", "--all", "--format", "jsonl", "-", input_bytes=OFFICE.read_bytes())
    assert result.exit_code == 0
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["file"], r["code"]) for r in records] == [("-", "90782"), ("-", "J1550")]


def test_unreadable_file_does_not_stop_the_others(tmp_path):
    locked = tmp_path / "locked.837"
    locked.mkdir()  # a folder named like a file: opening it fails
    result = run_cli("lines", "--all", "--format", "json", str(OFFICE), str(locked / "x.837"))
    assert result.exit_code == 2  # a missing path is a run error, checked before reading
    result = run_cli("lines", "--all", "--format", "json", str(OFFICE), str(tmp_path))
    assert result.exit_code == 0
    assert len(json.loads(result.stdout)) == 2


def test_a_reader_that_stops_early_gets_no_traceback():
    """`edi-precheck lines ... | head -1`: the pipe closes; the run stops with a message."""
    import subprocess
    import sys

    many = REAL / "imsweb__x12-parser__src__test__resources__837_5010__x12_many_claims.txt"
    process = subprocess.Popen(
        [sys.executable, "-m", "edi_precheck", "lines", "--all", "--format", "jsonl", str(many)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.readline()
    process.stdout.close()
    errors = process.stderr.read().decode()
    assert process.wait() == 2
    assert "Traceback" not in errors and "output was closed" in errors


def test_a_folder_search_names_what_it_cannot_read_and_follows_linked_folders(tmp_path):
    """An outbox where a share is not mounted (a link to nothing), a FIFO, a batch in a
    linked folder and a link back up: the linked batch is checked (once), the two entries
    that cannot be read are reported by name, never waited on, and the gate does not pass;
    split names them in not_read."""
    import os
    from pathlib import Path

    from conftest import FIXTURES

    outbox, elsewhere = tmp_path / "outbox", tmp_path / "elsewhere"
    outbox.mkdir()
    elsewhere.mkdir()
    clean = FIXTURES / "837p/prolia_medicare_clean.837"
    (outbox / "a.837").write_bytes(clean.read_bytes())
    (elsewhere / "demo.837").write_bytes((FIXTURES / "demo/demo.837").read_bytes())
    (outbox / "b.837").symlink_to(tmp_path / "unmounted" / "batch.837")
    os.mkfifo(outbox / "pipe.837")
    (outbox / "sub").symlink_to(elsewhere)
    (elsewhere / "up").symlink_to(outbox)  # a loop: outbox/sub/up is outbox
    result = run_cli("check", "--no-ig", "--format", "json", str(outbox))
    assert result.exit_code == 1
    files = {Path(f["path"]).name: f for f in json.loads(result.stdout)["files"]}
    assert sorted(files) == ["a.837", "b.837", "demo.837", "pipe.837"]
    assert files["demo.837"]["claims"] == 6 and files["demo.837"]["errors"] > 0
    for name, reason in (("b.837", "No such file"), ("pipe.837", "it is a FIFO")):
        (finding,) = files[name]["findings"]
        assert finding["rule"] == "x12.unreadable" and reason in finding["message"]
    summary = json.loads(
        run_cli(
            "split", "--no-ig", "--format", "json", str(outbox),
            "--clean", str(tmp_path / "c.837"), "--held", str(tmp_path / "h.837"),
        ).stdout
    )  # fmt: skip
    assert {Path(entry["file"]).name for entry in summary["not_read"]} == {"b.837", "pipe.837"}


def test_a_transaction_set_control_number_too_short_is_an_error_as_in_the_999(tmp_path):
    """ST*837*1 (ST02 is 4 to 9 characters): pyx12 reports no element error on envelope
    segments, yet the 999 rejects the set; the report must not pass what the 999 rejects."""
    from conftest import FIXTURES

    text = (FIXTURES / "837p/prolia_medicare_clean.837").read_text()
    control = text.split("ST*837*", 1)[1].split("*", 1)[0]
    short = text.replace(f"ST*837*{control}*", "ST*837*1*").replace(f"*{control}~GE*", "*1~GE*")
    path = tmp_path / "short.837"
    path.write_text(short)
    ack = tmp_path / "short.999"
    result = run_cli("check", "--format", "json", "--ack", str(ack), str(path))
    assert result.exit_code == 1
    (finding,) = json.loads(result.stdout)["files"][0]["findings"]
    assert (finding["rule"], finding["element"], finding["severity"]) == (
        "x12.envelope",
        "ST02",
        "error",
    )
    assert "IK5*R" in ack.read_text()
    clean = run_cli("check", "--format", "json", str(FIXTURES / "837p/prolia_medicare_clean.837"))
    assert clean.exit_code == 0


def test_a_subfolder_that_cannot_be_listed_is_named_not_skipped(tmp_path, monkeypatch):
    """A subfolder the run may not read (its permissions, a share gone stale): the search
    says so by name, as x12.unreadable, and the gate does not pass."""
    import os

    from conftest import FIXTURES
    from edi_precheck import sources

    (tmp_path / "a.837").write_bytes((FIXTURES / "837p/prolia_medicare_clean.837").read_bytes())
    locked = tmp_path / "locked"
    locked.mkdir()
    walk = os.walk

    def refusing(top, onerror=None, followlinks=False):  # the run is root here: no EACCES
        for entry in walk(top, onerror=onerror, followlinks=followlinks):
            entry[1][:] = [name for name in entry[1] if name != "locked"]
            yield entry
        onerror(PermissionError(13, "Permission denied", str(locked)))

    monkeypatch.setattr(sources.os, "walk", refusing)
    result = run_cli("check", "--no-ig", "--format", "json", str(tmp_path))
    assert result.exit_code == 1
    files = {f["path"]: f for f in json.loads(result.stdout)["files"]}
    (finding,) = files[str(locked)]["findings"]
    assert finding["rule"] == "x12.unreadable" and "cannot be listed" in finding["message"]
    assert files[str(tmp_path / "a.837")]["claims"] == 1
