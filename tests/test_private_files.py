"""The cache and the control-number state are believed, so they are used only from folders
of this user's that no one else can write to, and only from plain files of the size and
content they were written with: a planted, cut or foreign entry never skips a check, and a
FIFO or device never hangs or floods a run.

Each run is a new process, as a hook's is: the code set and the policy stamps are read
once a process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import FIXTURES, ROOT

PROLIA = FIXTURES / "837p/prolia_medicare_clean.837"  # diagnosis M81.0, billable
DEMO = FIXTURES / "demo/demo.837"
PROBE = """
import json, sys
from edi_precheck.cli import main
try:
    main(['--log-format', 'json', 'check', '--no-ig', '--format', 'json', *sys.argv[1:]])
except SystemExit as exit:
    print(json.dumps({'exit': exit.code, 'jsonschema': 'jsonschema' in sys.modules}))
"""


def run_check(cache: Path, *paths: Path) -> dict[str, Any]:
    """A hook's run in a new process: its JSON report, exit code, whether it loaded
    jsonschema (it validates policies only when no trusted stamp says they passed), and
    its log events."""
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *map(str, paths)],
        capture_output=True,
        text=True,
        env={**os.environ, "EDI_PRECHECK_CACHE": str(cache)},
        cwd=ROOT,
        timeout=120,  # a FIFO read would block for ever
        check=False,
    )
    *report, outcome = result.stdout.strip().split("\n")
    return {
        **json.loads(outcome),
        "report": json.loads("\n".join(report)),
        "events": [json.loads(line) for line in result.stderr.splitlines() if line[:1] == "{"],
    }


def rules_found(run: dict[str, Any]) -> set[str]:
    return {f["rule"] for file in run["report"]["files"] for f in file["findings"]}


def icd_entry(cache: Path) -> Path:
    (entry,) = cache.glob("icd10cm-*.txt")
    return entry


def stamps(cache: Path) -> list[Path]:
    return [p for p in (cache / "valid-policies").iterdir() if not p.name.startswith(".")]


@pytest.fixture(scope="module")
def warm(tmp_path_factory) -> Path:
    """A cache filled by one run: the code list and the shipped policies' stamp."""
    cache = tmp_path_factory.mktemp("warm") / "cache"
    first = run_check(cache, PROLIA)
    assert first["exit"] == 0 and first["jsonschema"]
    assert run_check(cache, PROLIA)["jsonschema"] is False  # the stamp is believed
    return cache


def copy_of(warm: Path, tmp_path: Path) -> Path:
    cache = tmp_path / "cache"
    subprocess.run(["cp", "-a", str(warm), str(cache)], check=True)
    return cache


def test_a_cache_folder_others_can_write_to_is_not_used(warm, tmp_path):
    cache = copy_of(warm, tmp_path)
    cache.chmod(0o777)
    run = run_check(cache, PROLIA)
    assert run["exit"] == 0
    assert run["jsonschema"]  # validated again: the stamp there is not believed
    (event,) = [e for e in run["events"] if e["event"] == "cache.unused"]
    assert "writable by others" in event["reason"]


def test_a_group_writable_stamp_folder_is_not_used(warm, tmp_path):
    cache = copy_of(warm, tmp_path)
    (cache / "valid-policies").chmod(0o770)
    assert run_check(cache, PROLIA)["jsonschema"]


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs chown")
def test_a_cache_folder_of_another_user_is_not_used(warm, tmp_path):
    cache = copy_of(warm, tmp_path)
    os.chown(cache / "valid-policies", 65534, 65534)
    for stamp in stamps(cache):
        os.chown(stamp, 65534, 65534)
    run = run_check(cache, PROLIA)
    assert run["jsonschema"]
    assert any("belongs to user 65534" in e.get("reason", "") for e in run["events"])


@pytest.mark.parametrize("planted", ["empty", "other hash", "link", "another user's"])
def test_a_stamp_that_does_not_hold_its_hash_never_skips_validation(warm, tmp_path, planted):
    """Stamps once counted by their presence: an empty file someone placed there (or an
    older version wrote) let a policy skip the schema."""
    cache = copy_of(warm, tmp_path)
    (stamp,) = stamps(cache)
    held = stamp.read_text()
    assert held == stamp.name  # a stamp holds the hash it is named by
    stamp.unlink()
    if planted == "empty":
        stamp.write_text("")
    elif planted == "other hash":
        stamp.write_text("0" * len(held))
    elif planted == "link":
        (tmp_path / "elsewhere").write_text(held)
        stamp.symlink_to(tmp_path / "elsewhere")
    else:
        if os.geteuid() != 0:
            pytest.skip("needs chown")
        stamp.write_text(held)
        os.chown(stamp, 65534, 65534)
    assert run_check(cache, PROLIA)["jsonschema"]
    if planted in ("empty", "other hash"):  # validated, then stamped with its hash again
        assert stamp.read_text() == held


def test_a_tampered_code_list_is_derived_again(warm, tmp_path):
    """An entry whose codes do not match its hash (here M81.0 removed, as if it did not
    exist) is not believed: M81.0 stays a valid diagnosis."""
    cache = copy_of(warm, tmp_path)
    entry = icd_entry(cache)
    text = entry.read_text()
    assert " M810 " in text
    entry.write_text(text.replace(" M810 ", " ", 1))
    run = run_check(cache, PROLIA)
    assert run["exit"] == 0
    assert "dx.invalid" not in rules_found(run)
    assert entry.read_text() == text  # written again, whole


@pytest.mark.parametrize("planted", ["fifo", "huge", "device link"])
def test_a_code_list_that_is_no_plain_file_is_not_read(warm, tmp_path, planted):
    """A FIFO would block the run for ever, /dev/zero or a huge file would fill its
    memory: each is passed over and the list derived from the package."""
    cache = copy_of(warm, tmp_path)
    entry = icd_entry(cache)
    entry.unlink()
    if planted == "fifo":
        os.mkfifo(entry)
    elif planted == "huge":
        with entry.open("wb") as handle:
            handle.truncate(64 * 1024 * 1024)  # sparse: costs no disk
    else:
        entry.symlink_to("/dev/zero")
    bad_dx = tmp_path / "baddx.837"
    bad_dx.write_text(PROLIA.read_text().replace("HI*ABK:M810", "HI*ABK:M8199"))
    run = run_check(cache, PROLIA, bad_dx)
    assert run["exit"] == 1
    findings = [[f["rule"] for f in file["findings"]] for file in run["report"]["files"]]
    assert findings[0] == [] and "dx.invalid" in findings[1]


def run_split(tmp_path: Path, state: Path) -> subprocess.CompletedProcess[str]:
    """`split` of the demo file in a new process, its counters kept in `state`."""
    return subprocess.run(
        [sys.executable, "-m", "edi_precheck", "split", str(DEMO),
         "--clean", str(tmp_path / "clean.837"), "--held", str(tmp_path / "held.837")],
        capture_output=True,
        text=True,
        env={**os.environ, "EDI_PRECHECK_STATE": str(state)},
        timeout=120,
        check=False,
    )  # fmt: skip


def test_control_numbers_are_not_kept_where_others_can_change_them(tmp_path):
    """A counter others can set could make split reuse an interchange number."""
    state = tmp_path / "state"
    state.mkdir(mode=0o777)
    state.chmod(0o777)
    result = run_split(tmp_path, state)
    assert result.returncode == 2
    assert "writable by others" in result.stderr
    assert not (tmp_path / "clean.837").exists() and not (tmp_path / "held.837").exists()


def test_a_fifo_as_the_counter_file_fails_the_split_without_hanging(tmp_path):
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    os.mkfifo(state / "control-numbers.json")
    result = run_split(tmp_path, state)  # a read of the FIFO would block for ever
    assert result.returncode == 2
    assert "not a file of this user's" in result.stderr
