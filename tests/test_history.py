"""The history store, on SQLite and on a real PostgreSQL server: what `split --history` and
`history record` put in it, what `check --history` finds there, and how it fails.

Each test runs on both stores (`store_url` in conftest). The claims are the fixtures' (one
invented patient each), with edits that make a claim a resend, a replacement, or a dose too
early.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import sqlite3
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from conftest import FIXTURES, log_events, run_cli
from edi_precheck import check_bytes
from edi_precheck.history.run import RunHistory
from edi_precheck.history.store import SCHEMA_VERSION

TWO_CLAIMS = FIXTURES / "837i" / "prolia_two_claims.837"
MULTI = FIXTURES / "837p" / "multi_st.837"
PROLIA = FIXTURES / "837p" / "prolia_medicare_clean.837"
XGEVA = FIXTURES / "837p" / "xgeva_commercial_clean.837"


def findings(result, rule: str) -> list[dict]:
    report = json.loads(result.stdout)
    return [f for file in report["files"] for f in file["findings"] if f["rule"] == rule]


def check(url: str, *paths: Path, extra: tuple[str, ...] = ()):
    return run_cli(
        "check", "--no-ig", "--format", "json", "--history", url, *extra, *map(str, paths)
    )


def record(url: str, *paths: Path):
    return run_cli("history", "record", "--history", url, *map(str, paths))


def split(url: str, out: Path, *paths: Path, name: str = "run"):
    return run_cli(
        "split", "--no-ig", "--format", "json", "--history", url,
        "--clean", str(out / f"{name}.clean.837"), "--held", str(out / f"{name}.held.837"),
        *map(str, paths),
    )  # fmt: skip


def stored_rows(url: str) -> list[tuple]:
    """Every row of every table of the store, as the database holds it."""
    if url.startswith("sqlite"):
        with sqlite3.connect(url[len("sqlite:///") :]) as connection:
            tables = [
                r[0]
                for r in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
            ]
            return [row for table in tables for row in connection.execute(f"SELECT * FROM {table}")]
    import psycopg

    with psycopg.connect(url) as connection:
        tables = [
            r[0]
            for r in connection.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
            )
        ]
        return [row for table in tables for row in connection.execute(f"SELECT * FROM {table}")]


def services_on_record(url: str) -> int:
    if url.startswith("sqlite"):
        with sqlite3.connect(url[len("sqlite:///") :]) as connection:
            return connection.execute("SELECT COUNT(*) FROM services").fetchone()[0]
    import psycopg

    with psycopg.connect(url) as connection:
        return connection.execute("SELECT COUNT(*) FROM services").fetchone()[0]


def test_a_batch_recorded_then_sent_again_is_a_duplicate(store_url):
    first = record(store_url, TWO_CLAIMS)
    assert first.exit_code == 0, first.output
    assert "recorded 2 new services of 2 claims" in first.stdout
    again = check(store_url, TWO_CLAIMS)
    assert again.exit_code == 1
    duplicates = findings(again, "claim.duplicate")
    assert [(f["claim_id"], f["line"], f["severity"]) for f in duplicates] == [
        ("PTC0001", 1, "error"),
        ("PTC0002", 1, "error"),
    ]
    assert "already sent for this patient to this payer" in duplicates[0]["message"]
    assert duplicates[0]["denial"] == "CARC 18"


def test_recording_twice_changes_nothing_and_check_only_reads(store_url):
    assert record(store_url, MULTI).exit_code == 0
    count = services_on_record(store_url)
    assert count == 7  # the seven drug lines of multi_st.837
    second = record(store_url, MULTI)
    assert "recorded 0 new services" in second.stdout
    assert check(store_url, MULTI, TWO_CLAIMS).exit_code == 1
    assert services_on_record(store_url) == count


def test_check_without_a_store_yet_says_how_to_make_one(tmp_path):
    result = check(f"sqlite:///{tmp_path}/nothing-here.db", PROLIA)
    assert result.exit_code == 2
    assert "history record" in result.output and "creates it" in result.output
    assert not (tmp_path / "nothing-here.db").exists()


def test_split_records_what_it_sends_and_holds_a_resend(store_url, tmp_path):
    first = split(store_url, tmp_path, MULTI, TWO_CLAIMS, name="monday")
    assert first.exit_code == 0, first.output
    summary = json.loads(first.stdout)
    assert summary["clean"]["claims"] == 10
    assert summary["history"]["recorded"] == 9
    # The same batch again on Tuesday: every claim with a drug line is held as a duplicate.
    second = split(store_url, tmp_path, MULTI, name="tuesday")
    assert second.exit_code == 1
    routes = json.loads(second.stdout)["claims"]
    held = {r["claim_id"] for r in routes if r["output"] == "held"}
    assert held == {"MST0001", "MST0003", "MST0004", "MST0005", "MST0006", "MST0007", "MST0008"}
    assert all(r["reasons"] == ["claim.duplicate"] for r in routes if r["output"] == "held")
    assert json.loads(second.stdout)["history"]["recorded"] == 0
    assert services_on_record(store_url) == 9


def test_a_held_claim_is_not_recorded(store_url, tmp_path, tmp_copy):
    bad = tmp_copy("bad.837", PROLIA.read_bytes().replace(b"UN*60***1", b"UN*6***1"))
    first = split(store_url, tmp_path, bad, name="bad")
    assert json.loads(first.stdout)["held"]["claims"] == 1
    assert services_on_record(store_url) == 0
    fixed = split(store_url, tmp_path, PROLIA, name="fixed")  # corrected and sent: not a duplicate
    assert fixed.exit_code == 0, fixed.output
    assert json.loads(fixed.stdout)["clean"]["claims"] == 1


def test_a_replacement_is_sent_and_takes_the_place_of_what_it_corrects(
    store_url, tmp_path, tmp_copy
):
    assert record(store_url, PROLIA).exit_code == 0
    replacement = tmp_copy(
        "replacement.837",
        PROLIA.read_bytes()
        .replace(b"11:B:1", b"11:B:7")
        .replace(b"HI*ABK:M810", b"REF*F8*PAYERICN77~HI*ABK:M810")
        .replace(b"SE*31*", b"SE*32*"),
    )
    result = split(store_url, tmp_path, replacement, name="replacement")
    assert json.loads(result.stdout)["clean"]["claims"] == 1, result.stdout
    assert services_on_record(store_url) == 1
    void = tmp_copy("void.837", replacement.read_bytes().replace(b"11:B:7", b"11:B:8"))
    assert record(store_url, void).exit_code == 0
    assert services_on_record(store_url) == 0  # voided: no longer on record


def test_a_dose_too_early_names_the_previous_date_and_not_the_patient(store_url, tmp_copy):
    assert record(store_url, PROLIA).exit_code == 0  # Prolia on 2026-03-10
    early = tmp_copy(
        "early.837",
        PROLIA.read_bytes().replace(b"20260310", b"20260612").replace(b"PMC0001", b"PMC0002"),
    )
    result = check(store_url, early)
    (finding,) = findings(result, "units.frequency")
    assert finding["severity"] == "warning"
    assert "2026-03-10" in finding["message"] and "not before 2026-09-10" in finding["message"]
    assert "TESTPATIENT" not in result.output and "5TW7HK3CN22" not in result.output
    on_time = tmp_copy("on_time.837", early.read_bytes().replace(b"20260612", b"20260910"))
    assert findings(check(store_url, on_time), "units.frequency") == []


def test_the_store_keeps_no_name_member_id_or_birth_date(store_url, tmp_path):
    """Dump every row the store holds and look for the invented people of the inputs."""
    inputs = [MULTI, TWO_CLAIMS, PROLIA, XGEVA]
    assert record(store_url, *inputs).exit_code == 0
    dump = repr(stored_rows(store_url)).upper()
    assert "J0897" in dump  # the dump is the store's content
    phi = set()
    for path in inputs:
        for segment in path.read_text().split("~"):
            fields = segment.split("*")
            if fields[0] == "NM1" and fields[1] in ("IL", "QC"):
                phi.update(
                    value for value in (fields[3], fields[4], fields[9:10] and fields[9]) if value
                )
            if fields[0] == "DMG":
                phi.add(fields[2])
            if fields[0] in ("N3", "N4", "CLM"):
                phi.add(fields[1])
    assert len(phi) > 20
    leaked = sorted(value for value in phi if value.upper() in dump)
    assert leaked == []
    key = (Path(os.environ["EDI_PRECHECK_STATE"]) / "history.key").read_text().strip()
    assert key.upper() not in dump


def test_a_store_made_under_another_key_is_refused(store_url, tmp_path):
    assert record(store_url, PROLIA).exit_code == 0
    other_key = tmp_path / "other.key"
    other_key.write_text("ab" * 32)
    other_key.chmod(0o600)
    result = run_cli(
        "check",
        "--no-ig",
        "--history",
        store_url,
        "--history-key-file",
        str(other_key),
        str(PROLIA),
    )
    assert result.exit_code == 2
    assert "another site key" in result.output
    assert "ab" * 32 not in result.output


def test_forget_a_rejected_batch_and_old_services(store_url):
    assert record(store_url, MULTI, TWO_CLAIMS).exit_code == 0
    assert services_on_record(store_url) == 9
    rejected = run_cli("history", "forget", "--history", store_url, str(TWO_CLAIMS))
    assert rejected.exit_code == 0, rejected.output
    assert "removed 2 services" in rejected.stdout
    assert findings(check(store_url, TWO_CLAIMS), "claim.duplicate") == []
    old = run_cli("history", "forget", "--history", store_url, "--before", "2026-07-09")
    assert "removed 2 services" in old.stdout  # MST0001 (07-06) and MST0003 (07-08)
    assert services_on_record(store_url) == 5
    nothing = run_cli("history", "forget", "--history", store_url)
    assert nothing.exit_code == 2


def test_a_store_of_a_newer_schema_is_refused(store_url):
    assert record(store_url, PROLIA).exit_code == 0
    statement = "UPDATE edi_precheck_meta SET value = '99' WHERE name = 'schema_version'"
    if store_url.startswith("sqlite"):
        with sqlite3.connect(store_url[len("sqlite:///") :]) as connection:
            connection.execute(statement)
    else:
        import psycopg

        with psycopg.connect(store_url) as connection:
            connection.execute(statement)
    result = check(store_url, PROLIA)
    assert result.exit_code == 2
    assert f"schema 99, newer than this edi-precheck knows ({SCHEMA_VERSION})" in result.output


def _hold_writer_lock(url: str):
    """Another run writing the store: its writer's lock held until closed."""
    if url.startswith("sqlite"):
        connection = sqlite3.connect(url[len("sqlite:///") :], isolation_level=None)
        connection.execute("BEGIN IMMEDIATE")
        return connection
    import psycopg

    from edi_precheck.history.store import _WRITER_LOCK

    connection = psycopg.connect(url)
    connection.execute("SELECT pg_advisory_xact_lock(%s)", (_WRITER_LOCK,))
    return connection


def test_a_busy_store_fails_the_split_before_anything_is_written(store_url, tmp_path, monkeypatch):
    assert record(store_url, PROLIA).exit_code == 0
    monkeypatch.setenv("EDI_PRECHECK_HISTORY_WAIT", "0.5")
    holder = _hold_writer_lock(store_url)
    try:
        result = split(store_url, tmp_path, MULTI, name="busy")
        # check only reads: it does not wait for the writer
        read = check(store_url, PROLIA)
    finally:
        holder.close()
    assert result.exit_code == 2
    assert "busy" in result.output and "nothing was written" in result.output
    assert not (tmp_path / "busy.clean.837").exists() and not (tmp_path / "busy.held.837").exists()
    assert read.exit_code == 1 and len(findings(read, "claim.duplicate")) == 1


def test_an_unreachable_store_fails_the_run_with_its_reason(tmp_path):
    with __import__("socket").socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens here once the probe is closed
    url = f"postgresql://edi:secret-pass@127.0.0.1:{port}/history"
    result = split(url, tmp_path, PROLIA, name="unreachable")
    assert result.exit_code == 2
    assert "cannot reach the history store" in result.output
    assert "secret-pass" not in result.output + result.stderr
    assert not (tmp_path / "unreachable.clean.837").exists()
    missing_folder = split(f"sqlite:///{tmp_path}/no/such/folder/h.db", tmp_path, PROLIA, name="m")
    assert (
        missing_folder.exit_code == 2 and "cannot create the history store" in missing_folder.output
    )


def test_two_splits_at_once_send_each_service_once(store_url, tmp_path):
    """Two hooks given the same batch at the same moment: between them every claim is sent
    once; the other holds it as a duplicate. No record is lost or doubled."""
    command = [sys.executable, "-m", "edi_precheck", "--log-level", "error", "split", "--no-ig",
               "--format", "json", "--history", store_url]  # fmt: skip
    processes = [
        subprocess.Popen(
            [
                *command,
                "--clean",
                str(tmp_path / f"{n}.clean"),
                "--held",
                str(tmp_path / f"{n}.held"),
                str(MULTI),
                str(TWO_CLAIMS),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for n in range(2)
    ]
    outcomes = []
    for process in processes:
        stdout, stderr = process.communicate(timeout=300)
        assert process.returncode in (0, 1), stderr.decode()
        outcomes.append(json.loads(stdout))
    sent = [
        (route["file"], route["claim_id"])
        for outcome in outcomes
        for route in outcome["claims"]
        if route["output"] == "clean"
    ]
    with_drugs = 9  # claims with a drug line; MST0002 (no drug line) is sent by both
    assert len(sent) == with_drugs + 2
    assert sorted(o["history"]["recorded"] for o in outcomes) == [0, with_drugs]
    assert services_on_record(store_url) == with_drugs


def test_claims_in_one_run_are_compared_without_a_store(tmp_path, tmp_copy):
    """Two files of one check: the second file's resend is found with no store at all."""
    copy = tmp_copy("copy.837", TWO_CLAIMS.read_bytes())
    result = run_cli("check", "--no-ig", "--format", "json", str(TWO_CLAIMS), str(copy))
    duplicates = findings(result, "claim.duplicate")
    assert [(f["claim_id"], f["message"].endswith(f"of {TWO_CLAIMS})")) for f in duplicates] == [
        ("PTC0001", True),
        ("PTC0002", True),
    ]
    events = log_events(result)
    assert not any(e.get("event") == "history.opened" for e in events)


def test_a_run_past_its_in_memory_ledger_still_finds_every_claim(monkeypatch):
    """The ledger moves to a temporary database past IN_MEMORY_SERVICES (made small here),
    with inserts held back in batches: the same answers before and after, nothing lost."""
    from datetime import date, timedelta

    from edi_precheck.history import run as ledger

    monkeypatch.setattr(ledger, "IN_MEMORY_SERVICES", 256)
    monkeypatch.setattr(ledger, "INSERT_BATCH", 64)

    from edi_precheck.history.services import Service
    from edi_precheck.model import Claim, Payer, Provider, Transaction

    run = RunHistory()
    transaction = Transaction("837P", "005010X222A1", "1", "1", "1", 1)
    start = date(2026, 1, 1)

    def service(index: int) -> Service:
        # 50 patients; each one's doses 50 days apart
        day = start + timedelta(days=index)
        return Service(f"p{index % 50}", "01112", "denosumab", "Prolia", "J0897", day, "60", False)

    def answers() -> tuple:
        probe = start + timedelta(days=208)  # p7's doses are days 7, 57, 107, 157, 207, 257 ...
        earlier, later = run.nearest_doses("p7", "denosumab", probe)
        duplicate = run.same_service(service(57).key)
        return (
            earlier.day if earlier else None,
            later.day if later else None,
            duplicate.origin if duplicate else None,
        )

    claims = 50 * 20
    for index in range(1, claims + 1):
        claim = Claim(index, f"C{index}", index, transaction, Provider("billing"), Payer())
        run.note(0, "batch.837", claim, [service(index)])
        if index == 150:
            before_the_switch = answers()
    # while in memory: p7's doses so far are days 7, 57 and 107
    assert before_the_switch == (start + timedelta(days=107), None, "claim 57 of batch.837")
    assert answers() == (
        start + timedelta(days=207),
        start + timedelta(days=257),
        "claim 57 of batch.837",
    )
    services, correction = run.of_claim(0, 7)
    assert [s.patient for s in services] == ["p7"] and correction == ""
    assert sum(1 for _ in run.claims()) == claims
    assert run.same_service(service(claims + 1).key) is None
    run.close()


def test_the_ledger_answers_the_same_whatever_is_still_unwritten(monkeypatch):
    """Services read since the last batch was written are answered from memory, not by
    writing early: the same answers (ties included: the same origin named) as a ledger that
    writes every service at once, at each point of a run."""
    import random
    from datetime import date, timedelta

    from edi_precheck.history import run as ledger
    from edi_precheck.history.services import Service
    from edi_precheck.model import Claim, Payer, Provider, Transaction

    monkeypatch.setattr(ledger, "IN_MEMORY_SERVICES", 8)
    transaction = Transaction("837P", "005010X222A1", "1", "1", "1", 1)
    chosen = random.Random(7)
    start = date(2026, 1, 1)
    services = [
        Service(
            f"p{chosen.randrange(6)}",
            "01112",
            "denosumab",
            "Prolia",
            "J0897",
            start + timedelta(days=chosen.randrange(40)),  # days repeat: ties
            chosen.choice(["60", "120"]),
            chosen.random() < 0.2,
        )
        for _ in range(300)
    ]

    def answers(run: RunHistory, probe: Service) -> tuple:
        duplicate = run.same_service(probe.key)
        earlier, later = run.nearest_doses(probe.patient, "denosumab", probe.day)
        return tuple(s.origin if s else None for s in (duplicate, earlier, later))

    def replay(batch: int) -> list[tuple]:
        monkeypatch.setattr(ledger, "INSERT_BATCH", batch)
        run, seen = RunHistory(), []
        for index, service in enumerate(services, 1):
            seen.append(answers(run, service))
            claim = Claim(index, f"C{index}", index, transaction, Provider("billing"), Payer())
            run.note(0, "batch.837", claim, [service])
        run.close()
        return seen

    at_once = replay(1)
    assert replay(50) == at_once
    assert sum(1 for found in at_once if found[0]) > 10  # duplicates were asked and found
    assert sum(1 for found in at_once if found[1] and found[2]) > 10  # doses on both sides


def test_servers_sharing_a_store_share_its_control_numbers(store_url, tmp_path, monkeypatch):
    """Two hook servers (two state folders) splitting for one sender through one store never
    write the same interchange number; the store goes on from a machine's own counter."""
    monkeypatch.setenv("EDI_PRECHECK_HISTORY_KEY", "ab" * 32)  # one site key, two machines

    def interchange_numbers(name: str, state: Path, *extra: str) -> list[int]:
        monkeypatch.setenv("EDI_PRECHECK_STATE", str(state))
        result = run_cli(
            "split", "--no-ig", *extra, "--clean", str(tmp_path / f"{name}.clean"),
            "--held", str(tmp_path / f"{name}.held"), str(MULTI),
        )  # fmt: skip
        assert result.exit_code in (0, 1), result.output
        numbers = []
        for output in ("clean", "held"):
            text = (tmp_path / f"{name}.{output}").read_text()
            numbers += [int(s.split("*")[13]) for s in text.split("~") if s.startswith("ISA")]
        return numbers

    first, second = tmp_path / "server-a", tmp_path / "server-b"
    local = interchange_numbers("local", first)  # before the store: this machine's counter
    drawn = [
        interchange_numbers(f"run{n}", state, "--history", store_url)
        for n, state in enumerate((first, second, first, second))
    ]
    every = local + [number for numbers in drawn for number in numbers]
    assert len(every) == len(set(every)), every  # never the same number twice
    assert min(drawn[0]) > max(local)  # the store went on from server A's counter
    assert drawn[1] and min(drawn[1]) > max(drawn[0])  # server B goes on from the store


def _execute_all(url: str, statements: list[str]) -> None:
    if url.startswith("sqlite"):
        with sqlite3.connect(url[len("sqlite:///") :]) as connection:
            for statement in statements:
                connection.execute(statement)
    else:
        import psycopg

        with psycopg.connect(url) as connection:
            for statement in statements:
                connection.execute(statement)


def _schema_version(url: str) -> str:
    return next(row[1] for row in stored_rows(url) if row[:1] == ("schema_version",))


def test_a_store_of_the_first_schema_is_read_by_check_and_migrated_by_a_writer(store_url, tmp_path):
    """A store written by the release before control numbers moved into it (schema 1, and
    without the later column `loading`): `check` compares claims with it as it is, without
    writing it; the first run that writes it (split, history record) brings it to this
    schema, its services kept."""
    assert record(store_url, PROLIA).exit_code == 0
    _execute_all(
        store_url,
        [
            "DROP TABLE control_numbers",
            "ALTER TABLE services DROP COLUMN loading",
            "UPDATE edi_precheck_meta SET value = '1' WHERE name = 'schema_version'",
        ],
    )
    before = sorted(stored_rows(store_url))
    assert len(findings(check(store_url, PROLIA), "claim.duplicate")) == 1  # read as it is
    assert sorted(stored_rows(store_url)) == before  # and not written
    split_run = split(store_url, tmp_path, MULTI, name="after")
    assert split_run.exit_code in (0, 1), split_run.output
    assert _schema_version(store_url) == f"{SCHEMA_VERSION}"
    assert len(findings(check(store_url, PROLIA), "claim.duplicate")) == 1  # kept


def test_check_reads_an_old_store_with_an_account_that_may_only_read_it(postgres):
    """A pre-submit hook's account granted SELECT alone: check compares claims with the
    store, even one of an older schema it may not migrate, and the server sees no write."""
    import psycopg

    url = postgres.new_database()
    assert record(url, PROLIA).exit_code == 0
    _execute_all(
        url,
        [
            "DROP TABLE control_numbers",
            "ALTER TABLE services DROP COLUMN loading",
            "UPDATE edi_precheck_meta SET value = '1' WHERE name = 'schema_version'",
            "CREATE ROLE hook_reader LOGIN",
            "GRANT SELECT ON ALL TABLES IN SCHEMA public TO hook_reader",
        ],
    )
    reader_url = url.replace("postgresql://edi@", "postgresql://hook_reader@")
    # the account indeed cannot write
    with (
        psycopg.connect(reader_url) as connection,
        pytest.raises(psycopg.errors.InsufficientPrivilege),
    ):
        connection.execute("DELETE FROM services")
    result = check(reader_url, PROLIA)
    assert result.exit_code == 1, result.output
    assert len(findings(result, "claim.duplicate")) == 1
    assert _schema_version(url) == "1"
    wrote = record(reader_url, XGEVA)  # a writer with that account is refused, clearly
    assert wrote.exit_code == 2
    assert "permission denied" in wrote.output and "Traceback" not in wrote.output


@pytest.fixture
def read_only_mount(tmp_path):
    """A folder, and the same folder mounted read only (a bind mount: where this machine
    does not allow one, the test cannot be made here and is skipped)."""
    folder, mount = tmp_path / "store", tmp_path / "mounted"
    folder.mkdir()
    mount.mkdir()
    made = subprocess.run(
        ["mount", "--bind", "-o", "ro", str(folder), str(mount)], capture_output=True
    )
    if made.returncode != 0:
        pytest.skip(f"no read-only bind mount here: {made.stderr.decode().strip()}")
    try:
        yield folder, mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def test_check_reads_a_store_on_a_read_only_mount(read_only_mount, tmp_path):
    """A store published on a read-only file system (a replica, a shared mount): check
    compares claims with it; split, which must record, says it cannot write there."""
    folder, mount = read_only_mount
    assert record(f"sqlite:///{folder}/history.db", TWO_CLAIMS).exit_code == 0
    assert sorted(p.name for p in folder.iterdir()) == ["history.db"]  # no WAL left open
    url = f"sqlite:///{mount}/history.db"
    result = check(url, TWO_CLAIMS)
    assert result.exit_code == 1, result.output
    assert [f["claim_id"] for f in findings(result, "claim.duplicate")] == ["PTC0001", "PTC0002"]
    refused = split(url, tmp_path, MULTI)
    assert refused.exit_code == 2
    assert "history store" in refused.output and "Traceback" not in refused.output


def test_a_store_being_written_is_not_read_as_a_snapshot_from_a_read_only_mount(
    read_only_mount,
):
    """While a writer has the store open (its WAL file beside it), what the mount shows is
    not a consistent store: check refuses it, saying why, rather than miss new records."""
    folder, mount = read_only_mount
    assert record(f"sqlite:///{folder}/history.db", TWO_CLAIMS).exit_code == 0
    writer = sqlite3.connect(folder / "history.db")
    try:
        writer.execute("UPDATE services SET recorded_on = recorded_on")  # a write: WAL open
        writer.commit()
        assert (folder / "history.db-wal").exists()
        result = check(f"sqlite:///{mount}/history.db", TWO_CLAIMS)
    finally:
        writer.close()
    assert result.exit_code == 2
    assert "while a writer has it open" in result.output and "Traceback" not in result.output


def test_check_leaves_no_files_beside_the_store(tmp_path):
    """A check reads the store and leaves its folder as it found it: WAL files left by a
    reader would belong to the reader's account and could block the store's writer."""
    url = f"sqlite:///{tmp_path}/history.db"
    assert record(url, TWO_CLAIMS).exit_code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["history.db"]
    assert check(url, TWO_CLAIMS).exit_code == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["history.db"]


def _void_of(data: bytes, claim_id: bytes) -> bytes:
    """The claim as a void (CLM05-3 8, REF*F8 naming the payer's claim), under a new CLM01."""
    return (
        data.replace(b"11:B:1", b"11:B:8")
        .replace(b"HI*ABK:M810", b"REF*F8*PAYERICN77~HI*ABK:M810")
        .replace(b"SE*31*", b"SE*32*")
        .replace(b"PMC0001", claim_id)
    )


def test_a_void_in_the_run_is_no_service_and_takes_away_what_it_voids(
    store_url, tmp_path, tmp_copy
):
    """Void-and-rebill in one batch: the void is not a service sent (the new claim is no
    duplicate of it, its date no dose), and with the original on record, the new claim is
    sent in one run as in two."""
    void = tmp_copy("void.837", _void_of(PROLIA.read_bytes(), b"PMCV001"))
    rebill = tmp_copy("rebill.837", PROLIA.read_bytes().replace(b"PMC0001", b"PMCN001"))
    redated = tmp_copy(
        "redated.837",
        PROLIA.read_bytes().replace(b"PMC0001", b"PMCN002").replace(b"20260310", b"20260312"),
    )
    alone = run_cli("check", "--no-ig", "--format", "json", str(void), str(rebill), str(redated))
    assert findings(alone, "claim.duplicate") == []
    early = findings(alone, "units.frequency")  # redated: 2 days after rebill, not after void
    assert [f["claim_id"] for f in early] == ["PMCN002"] and "rebill.837" in early[0]["message"]
    assert record(store_url, PROLIA).exit_code == 0
    together = split(store_url, tmp_path, void, rebill, name="together")
    assert together.exit_code == 0, together.output
    assert json.loads(together.stdout)["clean"]["claims"] == 2
    assert services_on_record(store_url) == 1  # the rebill, in place of the voided original


def test_a_void_repeating_the_mistakes_it_cancels_is_sent_and_removes_them(
    store_url, tmp_path, tmp_copy
):
    """A void must carry the claim it cancels as that claim was sent, mistakes included (12
    units, no JZ): none is the payer's to deny now, so the void is not held. Split sends it
    beside its rebill, and the store keeps the rebill alone."""
    mistaken = PROLIA.read_bytes().replace(b"HC:J0897:JZ*1650*UN*60", b"HC:J0897*1650*UN*12")
    assert record(store_url, tmp_copy("original.837", mistaken)).exit_code == 0
    void = tmp_copy("void.837", _void_of(mistaken, b"PMCV001"))
    alone = run_cli("check", "--no-ig", "--format", "json", str(void))
    assert alone.exit_code == 0, alone.output
    assert json.loads(alone.stdout)["files"][0]["findings"] == []
    rebill = tmp_copy("rebill.837", PROLIA.read_bytes().replace(b"PMC0001", b"PMCN001"))
    result = split(store_url, tmp_path, void, rebill, name="both")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["clean"]["claims"], summary["held"]["claims"]) == (2, 0)
    rows = stored_rows(store_url)
    assert [row[6] for row in rows if len(row) > 7] == ["60"]  # the rebill's units alone
    no_reference = tmp_copy(
        "no-ref.837",
        _void_of(mistaken, b"PMCV002")
        .replace(b"REF*F8*PAYERICN77~", b"")
        .replace(b"SE*32*", b"SE*31*"),
    )
    rules = {
        f["rule"]
        for f in json.loads(
            run_cli("check", "--no-ig", "--format", "json", str(no_reference)).stdout
        )["files"][0]["findings"]
    }
    assert {"claim.original_missing", "units.dose"} <= rules  # no void: it names no claim
    as_new = tmp_copy("as-new.837", mistaken.replace(b"PMC0001", b"PMCN002"))
    checked = run_cli("check", "--no-ig", "--format", "json", str(as_new))
    assert {f["rule"] for f in json.loads(checked.stdout)["files"][0]["findings"]} >= {
        "units.dose",
        "modifier.waste_missing",
    }  # the same mistakes on a claim that is no void are still found


def test_a_second_dose_the_same_day_in_another_claim_is_found_in_a_run_and_across_runs(
    store_url, tmp_path, tmp_copy
):
    """Two claims to one payer for one patient's doses on one day (each fine alone): the
    payer pays one. Whichever is read second is told so, in one run and against the store;
    not a claim to another payer (coordination of benefits), nor a replacement."""
    second = PROLIA.read_bytes().replace(b"PMC0001", b"PMC0002")
    second = second.replace(b"HC:J0897:JZ*1650*UN*60", b"HC:J0897:JZ*1650*UN*50")
    first_path = tmp_copy("first.837", PROLIA.read_bytes())
    second_path = tmp_copy("second.837", second)

    def same_day(result) -> list[str]:
        return [
            f["claim_id"]
            for f in findings(result, "units.frequency")
            if "second dose of denosumab that day" in f["message"]
        ]

    in_one_run = run_cli("check", "--no-ig", "--format", "json", str(first_path), str(second_path))
    assert same_day(in_one_run) == ["PMC0002"]
    assert record(store_url, first_path).exit_code == 0
    assert same_day(check(store_url, second_path)) == ["PMC0002"]
    other_payer = tmp_copy("secondary.837", second.replace(b"PI*01112", b"PI*SUPP77"))
    assert same_day(check(store_url, other_payer)) == []
    replacement = tmp_copy(
        "replacement.837",
        second.replace(b"11:B:1", b"11:B:7")
        .replace(b"HI*ABK:M810", b"REF*F8*PAYERICN77~HI*ABK:M810")
        .replace(b"SE*31*", b"SE*32*"),
    )
    assert same_day(check(store_url, replacement)) == []


def test_a_held_claim_is_not_compared_with_its_corrected_copy_in_the_same_run(
    tmp_path, tmp_copy, store_url
):
    """Yesterday's held claim re-run beside its corrected copy: the held one is not sent, so
    the copy is not its duplicate (as in two runs); with --fail-on never nothing is held,
    and the copy is a duplicate of what is then sent."""
    bad = tmp_copy("bad.837", PROLIA.read_bytes().replace(b"N4*55513071001", b"N4*55513-0710-01"))
    fixed = tmp_copy("fixed.837", PROLIA.read_bytes().replace(b"PMC0001", b"PMC0002"))
    result = split(store_url, tmp_path, bad, fixed, name="both")
    summary = json.loads(result.stdout)
    assert (summary["clean"]["claims"], summary["held"]["claims"]) == (1, 1)
    assert [r["claim_id"] for r in summary["claims"] if r["output"] == "clean"] == ["PMC0002"]
    checked = run_cli("check", "--no-ig", "--format", "json", str(bad), str(fixed))
    assert findings(checked, "claim.duplicate") == []
    unheld = run_cli(
        "check", "--no-ig", "--format", "json", "--fail-on", "never", str(bad), str(fixed)
    )
    assert [f["claim_id"] for f in findings(unheld, "claim.duplicate")] == ["PMC0002"]


@pytest.mark.parametrize("in_memory", [10_000, 0], ids=["in memory", "in its database"])
def test_the_ledger_applies_the_runs_corrections(monkeypatch, in_memory):
    """A void or replacement read in the run: what it corrects (same patient, payer, code
    and date) read before it no longer answers, nor does a void's own service; what is read
    after it does. The same whether the ledger is in memory or in its database."""
    from datetime import date

    from edi_precheck.history import run as ledger
    from edi_precheck.history.services import Service

    monkeypatch.setattr(ledger, "IN_MEMORY_SERVICES", in_memory)
    monkeypatch.setattr(ledger, "INSERT_BATCH", 1)

    def dose(day: int, units: str = "60") -> Service:
        return Service(
            "p1", "01112", "denosumab", "Prolia", "J0897", date(2026, 3, day), units, False
        )

    run = RunHistory()
    run.note_services(0, "a.837", 1, "", [dose(10)])
    run.note_services(0, "a.837", 2, "", [dose(1)])
    assert run.same_service(dose(10).key) is not None
    run.note_services(0, "a.837", 3, "void", [dose(10)])
    assert run.same_service(dose(10).key) is None  # voided, and the void is no service
    earlier, _ = run.nearest_doses("p1", "denosumab", date(2026, 3, 20))
    assert earlier is not None and earlier.day == date(2026, 3, 1)  # not the voided 03-10
    run.note_services(0, "a.837", 4, "", [dose(10)])  # sent again after the void
    assert run.same_service(dose(10).key).origin == "claim 4 of a.837"
    run.note_services(0, "a.837", 5, "replacement", [dose(1, "120")])
    assert run.same_service(dose(1).key) is None  # replaced
    assert run.same_service(dose(1, "120").key).origin == "claim 5 of a.837"
    run.close()


def _execute(url: str, statement: str) -> None:
    if url.startswith("sqlite"):
        with sqlite3.connect(url[len("sqlite:///") :]) as connection:
            connection.execute(statement)
        return
    import psycopg

    with psycopg.connect(url) as connection:
        connection.execute(statement)


def test_another_applications_database_is_not_taken_for_a_store(store_url, tmp_path):
    """A mistyped URL that names another application's database (a practice-management
    system's): nothing is written into it, and the message says what it is, exit 2; a store
    whose schema version is damaged says so too, never 'internal error'."""
    _execute(store_url, "CREATE TABLE patients (id INTEGER)")
    for result in (record(store_url, PROLIA), split(store_url, tmp_path, PROLIA)):
        assert result.exit_code == 2
        assert "is not an edi-precheck history store" in result.stderr
        assert "internal error" not in result.stderr
    assert stored_rows(store_url) == []  # its table is empty, and no table of ours was made
    _execute(store_url, "DROP TABLE patients")
    assert record(store_url, PROLIA).exit_code == 0
    _execute(store_url, "UPDATE edi_precheck_meta SET value = 'two' WHERE name = 'schema_version'")
    damaged = check(store_url, PROLIA)
    assert damaged.exit_code == 2 and "is damaged" in damaged.stderr


def _xgeva_doses(doses: list[tuple[str, str]]) -> bytes:
    """One 837I of Xgeva doses for one patient, a claim per (date, diagnosis), in order."""
    text = (FIXTURES / "837i" / "xgeva_outpatient.837").read_text()
    head, rest = text.split("HL*2*1*22*0~", 1)
    claim, tail = rest.split("SE*", 1)
    claim = claim.replace("LX*2~SV2*0510*HC:96401*110*UN*1~DTP*472*D8*20260311~", "")
    claim = claim.replace("CLM*XOP0001*2710", "CLM*XOP0001*2600")
    claims = []
    for number, (day, diagnosis) in enumerate(doses, start=2):
        claims.append(
            f"HL*{number}*1*22*0~"
            + claim.replace("XOP0001", f"XOP{number:04d}")
            .replace("20260311", day)
            .replace("HI*ABK:C7951", f"HI*ABK:{diagnosis}")
        )
    body = head + "".join(claims)
    count = body.split("ST*837*", 1)[1].count("~") + 1
    return (body + f"SE*{count}*" + tail.split("*", 1)[1]).encode()


def _early_neighbours(report_findings, doses: list[tuple[str, str]]) -> set[tuple[str, str]]:
    """The units.frequency findings that name two doses next to each other in date order,
    as those two dates. (A dose read before the one between them is compared with the one
    beyond: such a finding is true when made, and the pair of neighbours is judged when the
    dose between them is read.)"""
    days = sorted(f"{day[:4]}-{day[4:6]}-{day[6:]}" for day, _ in doses)
    neighbours = set(itertools.pairwise(days))
    pairs = set()
    for finding in report_findings:
        if finding.rule == "units.frequency":
            pair = tuple(sorted(re.findall(r"on (\d{4}-\d{2}-\d{2})", finding.message)[:2]))
            if pair in neighbours:
                assert pair not in pairs, f"{pair} reported twice"
                pairs.add(pair)
    return pairs


@pytest.mark.parametrize(
    "doses, expected",
    [
        # giant cell tumor of bone (loading doses on days 8 and 15), then a dose for bone
        # metastases a week later: 4 weeks are due before it
        (
            [("20260311", "D480"), ("20260318", "D480"), ("20260325", "C7951")],
            {("2026-03-18", "2026-03-25")},
        ),
        # a course opened for bone metastases, the week's doses after it for giant cell
        # tumor of bone: loading doses, nothing early
        ([("20260311", "C7951"), ("20260318", "D480"), ("20260325", "D480")], set()),
        # a fourth dose a week after the loading doses of days 8 and 15: early, also when
        # the course is sent in reverse date order (each dose traced back from knew none)
        (
            [
                ("20260311", "D480"),
                ("20260318", "D480"),
                ("20260325", "D480"),
                ("20260401", "D480"),
            ],
            {("2026-03-25", "2026-04-01")},
        ),
        # the same course with the fourth dose on day 29: nothing early
        (
            [
                ("20260311", "D480"),
                ("20260318", "D480"),
                ("20260325", "D480"),
                ("20260408", "D480"),
            ],
            set(),
        ),
    ],
)
def test_doses_with_mixed_diagnoses_give_one_verdict_in_any_file_order(doses, expected):
    """Whichever of two neighbouring doses is read first, the interval between them is the
    one the later dose's own diagnosis allows: the same verdict in every order of the
    claims."""
    for order in itertools.permutations(doses):
        report = check_bytes(_xgeva_doses(list(order)), ig=False, today=date(2026, 11, 27))
        assert _early_neighbours(report.findings, doses) == expected, order


@pytest.mark.parametrize(
    "checked, expected",
    [(0, set()), (1, {("2026-03-18", "2026-03-25")}), (2, {("2026-03-18", "2026-03-25")})],
)
def test_doses_with_mixed_diagnoses_give_one_verdict_across_runs(store_url, checked, expected):
    """The same when the other doses were sent in an earlier run: a dose on record keeps
    whether it was a loading dose, so a loading dose checked before a later dose for bone
    metastases is held to the 4 weeks that later dose needs."""
    doses = [("20260311", "D480"), ("20260318", "D480"), ("20260325", "C7951")]
    sent = [dose for position, dose in enumerate(doses) if position != checked]
    recorded = run_cli(
        "history", "record", "--history", store_url, "-", input_bytes=_xgeva_doses(sent)
    )
    assert recorded.exit_code == 0, recorded.output
    result = run_cli(
        "check", "--no-ig", "--format", "json", "--history", store_url, "-",
        input_bytes=_xgeva_doses([doses[checked]]),
    )  # fmt: skip
    pairs = {
        tuple(sorted(re.findall(r"on (\d{4}-\d{2}-\d{2})", f["message"])[:2]))
        for f in json.loads(result.stdout)["files"][0]["findings"]
        if f["rule"] == "units.frequency"
    }
    assert pairs == expected


def test_a_reader_opened_before_a_migration_reads_the_new_column_after_it(store_url):
    """A long-lived reader (serve) opened on a store of an older schema: once a writer
    migrates it, the reader sees whether a dose recorded since was a loading dose, with no
    restart."""
    from edi_precheck.history.keys import site_key
    from edi_precheck.history.services import Service
    from edi_precheck.history.store import HistoryStore
    from edi_precheck.model.patient import PatientKeyer

    keyer = PatientKeyer(site_key())
    with HistoryStore.open(store_url, keyer, create=True) as writer, writer.writing():
        writer.record([])
    _execute_all(
        store_url,
        [
            "ALTER TABLE services DROP COLUMN loading",
            "UPDATE edi_precheck_meta SET value = '2' WHERE name = 'schema_version'",
        ],
    )
    dose = Service("p1", "01112", "denosumab", "Xgeva", "J0897", date(2026, 3, 18), "120",
                   False, loading=True)  # fmt: skip
    with HistoryStore.open(store_url, keyer, create=False, read_only=True) as reader:
        assert reader.nearest_doses("p1", "denosumab", date(2026, 3, 11)) == (None, None)
        with HistoryStore.open(store_url, keyer, create=False) as writer, writer.writing():
            writer.record([dose])  # migrated on opening, then written
        later = reader.nearest_doses("p1", "denosumab", date(2026, 3, 11))[1]
        assert later is not None and later.day == dose.day and later.loading


def _open_new_store_at_once(url: str, barrier, failures) -> None:
    from edi_precheck.history.errors import HistoryError
    from edi_precheck.history.keys import site_key
    from edi_precheck.history.store import HistoryStore
    from edi_precheck.model.patient import PatientKeyer

    keyer = PatientKeyer(site_key())
    barrier.wait()
    try:
        with HistoryStore.open(url, keyer, create=True) as store, store.writing():
            store.record([])
    except HistoryError as error:
        failures.put(str(error))
        raise SystemExit(3) from None


def test_runs_that_make_the_same_new_store_at_once_all_open_it(tmp_path):
    """Hooks started together on a store none has made yet: SQLite tells all but one that
    the store is locked while they turn it to WAL, without waiting; each must still open
    it and go on."""
    import multiprocessing

    context = multiprocessing.get_context("fork")
    failures = context.Queue()
    for attempt in range(8):
        url = f"sqlite:///{tmp_path / f'history{attempt}.db'}"
        barrier = context.Barrier(4)
        runs = [
            context.Process(target=_open_new_store_at_once, args=(url, barrier, failures))
            for _ in range(4)
        ]
        for run in runs:
            run.start()
        for run in runs:
            run.join(timeout=120)
        said = [failures.get(timeout=10) for run in runs if run.exitcode == 3]
        assert [run.exitcode for run in runs] == [0, 0, 0, 0], said


def test_a_wait_that_is_no_number_of_seconds_stops_the_run(store_url, tmp_path, monkeypatch):
    """$EDI_PRECHECK_HISTORY_WAIT=abc: exit 2 saying so, as other settings; it passed as
    the default 60 s."""
    monkeypatch.setenv("EDI_PRECHECK_HISTORY_WAIT", "abc")
    result = split(store_url, tmp_path, PROLIA)
    assert result.exit_code == 2
    assert "EDI_PRECHECK_HISTORY_WAIT must be a number of seconds, not 'abc'" in result.stderr
