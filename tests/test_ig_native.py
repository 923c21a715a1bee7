"""The native implementation-guide engine against pyx12, the reference: the same verdict and
the same (segment, 999 code) errors on every fixture, every third-party file and thousands
of mutations of them; the same reports and 999s through the command line; its compiled
tables cached and rebuilt when stale; pyx12 answering (and saying so) for what it declines.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

import edi_precheck.ig.validator as validator
from conftest import FIXTURES, REAL, run_cli
from edi_precheck.engine import Engine
from edi_precheck.ig import native, pyx12_engine, tables
from edi_precheck.ig.map_defects import without_map_defects
from edi_precheck.ig.outcome import IGOutcome
from edi_precheck.sources import Source
from ig_mutations import mutations

MUTATIONS = 2500


def _inputs() -> list[Path]:
    suffixes = {".837", ".x12", ".edi", ".txt", ".dat"}
    found = [p for p in sorted(FIXTURES.rglob("*")) if p.is_file() and p.suffix in suffixes]
    assert any(p.parent == REAL for p in found)  # the third-party files are among them
    return found


@pytest.fixture(scope="module")
def texts() -> list[str]:
    """Every transaction set of every fixture, third-party file and rule case, as the engine
    hands it to implementation-guide validation (one interchange each)."""
    handed: list[str] = []
    original = validator.validate

    def recording(text: str, engine: str = "native") -> IGOutcome:
        handed.append(text)
        return original(text, engine)

    from test_rule_cases import CASES, build

    validator.validate = recording
    try:
        with Engine(ig=True, jobs=1) as engine:
            for path in _inputs():
                engine.check(Source(str(path), path))
            for _, case in CASES:  # the rule cases: realistic claims, many invalid on purpose
                engine.check(Source(case["name"], None, build(case)))
    finally:
        validator.validate = original
    assert len(handed) >= 300
    return handed


def both(text: str) -> tuple[IGOutcome, IGOutcome]:
    reference = without_map_defects(text, pyx12_engine.validate(text))
    ours = without_map_defects(text, native.validate(text))
    return reference, ours


def verdict(outcome: IGOutcome) -> str:
    """Accepted or rejected, as a 999's IK5 would say."""
    return "rejected" if outcome.crash or outcome.errors else "accepted"


def errors(outcome: IGOutcome) -> Counter[tuple[object, ...]]:
    return Counter(
        (
            e.level,
            e.code,
            e.segment_id,
            e.segment_name,
            e.position,
            e.element_position,
            e.component_position,
            e.element_reference,
            e.element_name,
        )
        for e in outcome.errors
    )


def test_every_fixture_and_third_party_set_gets_pyx12s_errors(texts):
    differ = []
    for index, text in enumerate(texts):
        reference, ours = both(text)
        assert ours.engine == "native"
        if (reference.crash, errors(reference)) != (ours.crash, errors(ours)):
            differ.append(index)
    assert differ == []
    # the corpus is not all clean: agreement covers real errors
    assert sum(1 for text in texts if pyx12_engine.validate(text).errors) >= 10


def test_thousands_of_mutations_get_pyx12s_verdict_and_errors(texts):
    small = [text for text in texts if text.count(text[105]) < 120]
    differ: list[str] = []
    codes: Counter[tuple[str, str]] = Counter()
    crashes: Counter[str] = Counter()
    for what, text in mutations(small, MUTATIONS, seed=20261130):
        reference, ours = both(text)
        codes.update((e.level, e.code) for e in reference.errors)
        if reference.crash:
            crashes[reference.crash] += 1
        if verdict(reference) != verdict(ours) or reference.crash != ours.crash:
            differ.append(f"{what}: verdict {verdict(reference)} / {verdict(ours)}")
        elif errors(reference) != errors(ours):
            differ.append(f"{what}: errors")
    assert differ == []
    # what the mutations made pyx12 report: every kind of check the engine has
    for expected in [
        ("segment", "1"),  # unrecognised segment
        ("segment", "3"),  # required missing
        ("segment", "4"),  # loop repeats
        ("segment", "5"),  # segment repeats
        ("segment", "8"),  # element errors (syntax, composites, too many)
        ("segment", "HL1"),
        ("segment", "HL2"),
        ("segment", "LX"),
        ("segment", "SEG1"),
        ("element", "1"),
        ("element", "4"),
        ("element", "5"),
        ("element", "6"),
        ("element", "7"),
        ("element", "8"),
        ("element", "10"),
        ("transaction", "4"),
    ]:
        assert codes[expected] > 0, expected
    assert crashes["IndexError"] > 0  # too many components: pyx12 fails, and so do we


def test_a_crash_of_pyx12_is_the_same_crash_natively():
    text = (FIXTURES / "837p/prolia_medicare_clean.837").read_text()
    with Engine(ig=True, jobs=1) as engine:
        handed: list[str] = []
        original = validator.validate
        validator.validate = lambda t, e="native": (handed.append(t), original(t, e))[1]
        try:
            engine.check(Source("x", None, text.encode()))
        finally:
            validator.validate = original
    separator = handed[0][104]
    crashing = re.sub(
        r"(SV1\*[^~]*\*)([0-9:]+)~",
        lambda m: m.group(1) + separator.join("12345") + "~",
        handed[0],
        count=1,
    )
    reference, ours = both(crashing)
    assert reference.crash == ours.crash == "IndexError"


def test_reports_and_999s_are_the_same_with_either_engine(tmp_path):
    paths = [str(p) for p in _inputs()]
    reports, acks = {}, {}
    for engine in ("native", "pyx12"):
        ack = tmp_path / f"{engine}.999"
        result = run_cli(
            "check",
            "--format",
            "json",
            "--ig-engine",
            engine,
            "--ack",
            str(ack),
            "-j",
            "1",
            *paths,
        )
        assert result.exit_code == 1, result.stderr
        reports[engine] = [(f["path"], f["findings"]) for f in json.loads(result.stdout)["files"]]
        # the 999's own dates and times are the moment it was written
        acks[engine] = re.sub(r"\*\d{6,8}\*\d{4}\*", "*DATE*TIME*", ack.read_text())
    assert reports["native"] == reports["pyx12"]
    assert sum(len(found) for _, found in reports["native"]) > 1000
    assert acks["native"] == acks["pyx12"]
    assert "IK5*R" in acks["native"] and "AK9*A" in acks["native"]


def test_the_dme_certificate_pwk_is_accepted_by_the_native_engine(tmp_path):
    from test_ig import with_line_pwk, write

    for pwk, held in (("PWK*CT*AD", False), ("PWK*CT*ZZ", True)):
        path = write(tmp_path, "pwk.837", with_line_pwk(pwk))
        result = run_cli("check", "--format", "json", "--ig-engine", "native", str(path))
        found = [
            f
            for file in json.loads(result.stdout)["files"]
            for f in file["findings"]
            if f["rule"] == "x12.ig"
        ]
        assert bool(found) is held, pwk


def test_what_the_native_engine_declines_pyx12_validates_and_the_findings_say_so(texts):
    # a 4010 interchange: pyx12 has a map for it; the native engine compiles only 5010 837s
    text = texts[0].replace("*00501*", "*00401*", 1)
    text = re.sub(r"005010X22[23]A[12]", "004010X098A1", text)
    with pytest.raises(native.Declined):
        native.validate(text)
    outcome = validator.validate(text, "native")
    assert outcome.engine == "pyx12" and "no compiled map" in outcome.fallback
    assert validator.validate(text, "pyx12").fallback == ""


def test_compiled_tables_are_cached_and_rebuilt_when_unreadable(tmp_path, monkeypatch):
    monkeypatch.setenv("EDI_PRECHECK_CACHE", str(tmp_path / "cache"))
    tables._load.cache_clear()
    try:
        compiled = tables.load("837.5010.X222.A1.xml")
        entries = list((tmp_path / "cache" / "ig").glob("837.5010.X222.A1.xml.*.json"))
        assert len(entries) == 1
        assert json.loads(entries[0].read_text())["format"] == tables.FORMAT
        assert compiled.by_path["/ISA_LOOP/GS_LOOP/GS"].id == "GS"

        entries[0].write_text("{not json")  # a damaged entry is compiled again, and replaced
        tables._load.cache_clear()
        again = tables.load("837.5010.X222.A1.xml")
        assert json.loads(entries[0].read_text())["format"] == tables.FORMAT
        assert sorted(again.by_path) == sorted(compiled.by_path)
    finally:
        tables._load.cache_clear()


def test_only_the_837_maps_are_compiled():
    with pytest.raises(tables.MapNotCompiled):
        tables.load("835.5010.X221.A1.xml")


def test_a_defect_of_the_native_engine_costs_speed_not_the_run(texts, monkeypatch):
    def broken(text: str) -> IGOutcome:
        raise KeyError("a defect")

    monkeypatch.setattr(native, "validate", broken)
    outcome = validator.validate(texts[0], "native")
    assert outcome.engine == "pyx12" and outcome.fallback == "an internal error (KeyError)"
    assert outcome.errors == validator.validate(texts[0], "pyx12").errors


def _edited(texts: list[str], old: str, new: str) -> str:
    text = next(t for t in texts if old in t and "005010X222A1" in t)
    return text.replace(old, new, 1)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("~GE*1*", "~GE*X*"),  # pyx12 reads GE01 as a number when it closes the group
        ("~GE*1*", "~GE~GE*1*"),  # ... and fails on a GE with no GE01 (TypeError)
        ("~N4*", "~N4\n*"),  # its id test lets a newline end the id
        ("~CLM*", "~NTE*ADD*" + "A" * 20_000 + "~CLM*"),  # it stops at a segment over 8 KB
        ("~CLM*", "~NTE*ADD*" + "A" * 7_000 + "~CLM*"),  # ... and reads one under it
    ],
    ids=["GE01 not a number", "GE without GE01", "newline after an id", "long", "under 8 KB"],
)
def test_what_pyx12s_reader_does_with_the_envelope_and_long_segments_is_done_natively(
    texts, old, new
):
    text = _edited(texts, old, new)
    reference, ours = both(text)
    assert (reference.crash, errors(reference)) == (ours.crash, errors(ours))


def test_pyx12_settings_other_than_its_defaults_are_left_to_pyx12(texts, tmp_path, monkeypatch):
    (tmp_path / ".pyx12.conf.xml").write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n<params>\n'
        '  <param name="charset"><value>B</value></param>\n</params>\n'
    )
    monkeypatch.setenv("HOME", str(tmp_path))
    native._default_settings.cache_clear()
    try:
        with pytest.raises(native.Declined, match="pyx12 settings"):
            native.validate(texts[0])
        assert validator.validate(texts[0], "native").engine == "pyx12"
    finally:
        native._default_settings.cache_clear()


def test_unknown_segment_ids_do_not_grow_the_compiled_maps():
    """A set full of segments with ids no map has (a damaged file, or one meant to harm):
    the scan's lookups of each map node are kept by id, and every unknown id shares one
    entry, so that a long-running server's memory does not grow with what it is sent."""
    from edi_precheck.ig import native, tables

    base = (FIXTURES / "837p" / "prolia_medicare_clean.837").read_text()
    segments = base.split("~")
    after = next(k for k, s in enumerate(segments) if s.startswith("DTP"))

    def with_unknown(prefix: str, count: int) -> str:
        junk = [f"{prefix}{k:05d}" for k in range(count)]
        return "~".join(segments[: after + 1] + junk + segments[after + 1 :])

    compiled = tables.load("837.5010.X222.A1.xml")

    def entries() -> int:
        return sum(len(node._from) for node in compiled.by_path.values())

    first = native.validate(with_unknown("Z", 2_000))
    kept = entries()
    second = native.validate(with_unknown("Q", 2_000))
    assert entries() == kept  # 2,000 new ids, no new entry
    assert [e.code for e in first.errors] == [e.code for e in second.errors]
