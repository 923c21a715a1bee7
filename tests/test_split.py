"""`edi-precheck split`: every claim lands in exactly one valid 837 output."""

from __future__ import annotations

import io
import json
import random
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import FIXTURES, REAL, real_files, run_cli
from edi_precheck.synth import write_837p
from test_rule_cases import recount_se

OWN_FIXTURES = [
    *sorted(FIXTURES.glob("837*/*.837")),
    FIXTURES / "demo/demo.837",
    FIXTURES / "bad/truncated.837",
]


def split(tmp_path: Path, *inputs: str, extra: tuple[str, ...] = ()) -> tuple[dict, int]:
    result = run_cli(
        "split",
        *inputs,
        "--clean",
        str(tmp_path / "clean.837"),
        "--held",
        str(tmp_path / "held.837"),
        "--format",
        "json",
        *extra,
    )
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout), result.exit_code


def check(path: Path) -> dict:
    result = run_cli("check", "--format", "json", "--jobs", "1", str(path))
    return json.loads(result.stdout)["files"][0]


def claim_ids(path: Path) -> Counter:
    """CLM01 of every claim an 837 holds, as `lines` reads them."""
    if path.stat().st_size == 0:
        return Counter()
    result = run_cli("lines", "--all", "--format", "jsonl", str(path))
    claims = {
        (r["claim_index"], r["claim_id"]) for r in map(json.loads, result.stdout.splitlines())
    }
    return Counter(claim_id for _, claim_id in claims)


def ig_problems(file_report: dict) -> Counter:
    return Counter(
        (f["claim_id"], f["message"]) for f in file_report["findings"] if f["rule"] == "x12.ig"
    )


def assert_split_is_sound(tmp_path: Path, source: Path) -> dict:
    summary, code = split(tmp_path, str(source))
    original = check(source)
    routes = summary["claims"]
    # every claim of the input is routed exactly once
    assert sorted(r["claim_index"] for r in routes) == list(range(1, len(routes) + 1))
    written = [r for r in routes if r["output"] != "not written"]
    assert len(written) == original["claims"]
    clean, held = tmp_path / "clean.837", tmp_path / "held.837"
    assert claim_ids(clean) == Counter(r["claim_id"] for r in routes if r["output"] == "clean")
    assert claim_ids(held) == Counter(r["claim_id"] for r in routes if r["output"] == "held")
    assert code == (
        1 if len(written) != summary["clean"]["claims"] or summary["not_written"] else 0
    )
    input_problems = ig_problems(original)
    for output in (clean, held):
        if output.stat().st_size == 0:
            continue
        report = check(output)
        rules = {f["rule"] for f in report["findings"]}
        assert not rules & {"x12.envelope", "x12.syntax", "x12.unreadable"}, output.name
        # the split adds no implementation-guide error: pyx12 finds only what the input had
        assert not ig_problems(report) - input_problems, output.name
        if output is clean:  # warnings do not hold a claim back (--fail-on error)
            errors = [f for f in report["findings"] if f["severity"] == "error"]
            assert errors == [], "a clean output must check clean"
    return summary


@pytest.mark.parametrize("source", OWN_FIXTURES + real_files(), ids=lambda p: p.name[-40:])
def test_split_every_fixture_and_real_file(tmp_path, source):
    assert_split_is_sound(tmp_path, source)


def test_demo_split_routes_claims_with_reasons(tmp_path):
    summary, code = split(tmp_path, str(FIXTURES / "demo/demo.837"))
    assert code == 1
    assert (summary["clean"]["claims"], summary["held"]["claims"]) == (3, 3)
    routes = {r["claim_id"]: r for r in summary["claims"]}
    assert routes["DEMO0001"]["output"] == "clean" and routes["DEMO0001"]["reasons"] == []
    assert set(routes["DEMO0004"]["reasons"]) == {"ndc.format"}
    # only warnings (a commercial plan's precertification and diagnoses differ): sent
    assert routes["DEMO0003"]["output"] == "clean"


def test_fail_on_warning_holds_warned_claims(tmp_path):
    text = (FIXTURES / "837p/multi_st.837").read_text().replace("SV1*HC:96372*", "SV1*HC:99211*", 1)
    source = tmp_path / "warn.837"
    source.write_text(text)
    out = tmp_path / "out"
    out.mkdir()
    default, code = split(out, str(source))
    assert (default["held"]["claims"], code) == (0, 0)
    strict, code = split(out, str(source), extra=("--fail-on", "warning"))
    assert (strict["held"]["claims"], code) == (1, 1)
    (held,) = [r for r in strict["claims"] if r["output"] == "held"]
    assert held["reasons"] == ["admin.missing"]


def test_truncated_file_writes_no_partial_claim(tmp_path):
    summary = assert_split_is_sound(tmp_path, FIXTURES / "bad/truncated.837")
    assert summary["not_written"] == 1
    (cut,) = [r for r in summary["claims"] if r["output"] == "not written"]
    assert cut["claim_id"] == "TRC0003"
    assert summary["clean"]["claims"] == 0  # its transaction set cannot be vouched for


def test_outputs_are_never_the_input_or_each_other(tmp_path):
    source = tmp_path / "in.837"
    source.write_bytes((FIXTURES / "837p/prolia_medicare_clean.837").read_bytes())
    before = source.read_bytes()
    result = run_cli(
        "split", str(source), "--clean", str(source), "--held", str(tmp_path / "h.837")
    )
    assert result.exit_code == 2 and "never writes over its input" in result.stderr
    result = run_cli(
        "split", str(source), "--clean", str(tmp_path / "x.837"), "--held", str(tmp_path / "x.837")
    )
    assert result.exit_code == 2 and "different files" in result.stderr
    assert source.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.837"]  # nothing left behind


def test_empty_output_replaces_a_stale_file(tmp_path):
    stale = tmp_path / "held.837"
    stale.write_text("yesterday's claims")
    summary, code = split(tmp_path, str(FIXTURES / "837p/prolia_medicare_clean.837"))
    assert code == 0 and summary["held"]["claims"] == 0
    assert stale.read_bytes() == b""
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp files


def test_stdin_is_split(tmp_path):
    data = (FIXTURES / "demo/demo.837").read_bytes()
    result = run_cli(
        "split",
        "-",
        "--clean",
        str(tmp_path / "c.837"),
        "--held",
        str(tmp_path / "h.837"),
        input_bytes=data,
    )
    assert result.exit_code == 1
    assert claim_ids(tmp_path / "c.837") == Counter({"DEMO0001": 1, "DEMO0003": 1, "DEMO0006": 1})


def test_text_summary_names_held_claims(tmp_path):
    result = run_cli(
        "split",
        str(FIXTURES / "demo/demo.837"),
        "--clean",
        str(tmp_path / "c.837"),
        "--held",
        str(tmp_path / "h.837"),
    )
    assert "clean: 3 claims" in result.stdout and "held:  3 claims" in result.stdout
    # the reasons a claim is held: its findings at or above --fail-on
    assert "(DEMO0005): dx.not_covered, units.dose, ndc.quantity" in result.stdout


MISTAKES = [
    ("UN*60***1~", "UN*1***1~"),  # units.dose on a Prolia line
    ("CTP****1*UN~", "CTP****3*UN~"),  # ndc.quantity
    ("*11:B:1*", "*12:B:1*"),  # pos.not_allowed
]


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    claims=st.integers(min_value=1, max_value=14),
    per_st=st.integers(1, 6),
    seed=st.integers(0, 10_000),
    spoil=st.lists(st.integers(0, 40), max_size=6),
)
def test_split_property_generated_claim_sets(tmp_path_factory, claims, per_st, seed, spoil):
    """Random claim sets with random mistakes: the split partitions them, and both outputs
    read back as valid 837 with exactly the routed claims."""
    buffer = io.BytesIO()
    write_837p(buffer, claims, seed=seed, claims_per_st=per_st)
    segments = buffer.getvalue().decode().split("~")
    rng = random.Random(seed)
    for position in spoil:
        old, new = rng.choice(MISTAKES)
        clm = [i for i, s in enumerate(segments) if s.startswith("CLM*")]
        start = clm[position % len(clm)]
        for i in range(start, len(segments)):
            if (segments[i] + "~").endswith(old) or old.strip("~") in segments[i]:
                segments[i] = (segments[i] + "~").replace(old, new).rstrip("~")
                break
    folder = tmp_path_factory.mktemp("prop")
    source = folder / "gen.837"
    source.write_text("~".join(segments))
    summary, _ = split(folder, str(source), extra=("--no-ig",))
    routes = summary["claims"]
    assert sorted(r["claim_index"] for r in routes) == list(range(1, claims + 1))
    assert summary["clean"]["claims"] + summary["held"]["claims"] == claims
    for name in ("clean", "held"):
        output = folder / f"{name}.837"
        expected = Counter(r["claim_id"] for r in routes if r["output"] == name)
        assert claim_ids(output) == expected
        if expected:
            report = json.loads(
                run_cli("check", "--format", "json", "--no-ig", str(output)).stdout
            )["files"][0]
            assert not {f["rule"] for f in report["findings"]} & {"x12.envelope", "x12.syntax"}
            if name == "clean":
                assert not [f for f in report["findings"] if f["severity"] == "error"]


def test_real_sample_is_available():
    assert (REAL / "INDEX.md").exists()


def test_an_unreadable_input_does_not_pass_as_clean(tmp_path):
    summary, code = split(tmp_path, str(FIXTURES / "bad/binary.dat"))
    assert code == 1
    assert summary["clean"]["claims"] == summary["held"]["claims"] == 0
    assert (tmp_path / "clean.837").read_bytes() == b""
    result = run_cli(
        "split",
        str(FIXTURES / "bad/binary.dat"),
        str(FIXTURES / "demo/demo.837"),
        "--clean",
        str(tmp_path / "c.837"),
        "--held",
        str(tmp_path / "h.837"),
    )
    assert "clean: 3 claims" in result.stdout
    assert f"not read    {FIXTURES / 'bad/binary.dat'}: x12.unreadable" in result.stdout


def test_short_envelope_segments_are_rebuilt(tmp_path):
    """A GS cut down to two elements still gets a control number in the outputs."""
    text = (FIXTURES / "837p/prolia_medicare_clean.837").read_text()
    start = text.index("GS*")
    source = tmp_path / "in.837"
    source.write_text(text[:start] + "GS*HC" + text[text.index("~", start) :])
    summary, _ = split(tmp_path, str(source))
    assert [r["claim_id"] for r in summary["claims"]] == ["PMC0001"]
    written = next(p for p in (tmp_path / "clean.837", tmp_path / "held.837") if p.stat().st_size)
    assert claim_ids(written) == Counter({"PMC0001": 1})


def test_a_failed_split_leaves_no_output_to_send(tmp_path, monkeypatch):
    """A defect mid-run exits 2 with a message, and yesterday's clean file is gone."""
    import edi_precheck.split

    def broken(*args, **kwargs):
        raise RuntimeError("a defect")

    monkeypatch.setattr(edi_precheck.split.ClaimSpool, "units", broken)
    (tmp_path / "clean.837").write_text("yesterday's claims")
    result = run_cli(
        "split",
        str(FIXTURES / "demo/demo.837"),
        "--clean",
        str(tmp_path / "clean.837"),
        "--held",
        str(tmp_path / "held.837"),
    )
    assert result.exit_code == 2
    assert "internal error (RuntimeError" in result.stderr and "a defect" not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []


# -- mixed batches: every CLM of the input is clean, held or not written ------------------

_P = (FIXTURES / "837p/prolia_medicare_clean.837").read_text()
INTERCHANGES = {
    "837p": _P,
    "837p_three_sets": (FIXTURES / "837p/multi_st.837").read_text(),
    "837i": (FIXTURES / "837i/prolia_two_claims.837").read_text(),
    "837d": _P.replace("005010X222A1", "005010X224A2").replace("CLM*PMC0001", "CLM*DEN0001"),
    "835": (FIXTURES / "bad/remittance.835").read_text(),
    "837i_under_837p_group": (FIXTURES / "837i/xgeva_outpatient.837")
    .read_text()
    .replace("*005010X223A2~ST", "*005010X222A1~ST"),
}


def input_claims(text: str) -> int:
    """The CLM segments of a '~'-terminated file (a bare 'CLM' where a transfer was cut
    starts a claim too)."""
    return sum(1 for segment in text.split("~") if segment.strip().split("*")[0] == "CLM")


def mixed_batch(
    draw_names: list[str], no_group: list[bool], damage: int | None, cut: float | None
) -> str:
    parts = []
    for name, drop_gs in zip(draw_names, no_group, strict=True):
        text = INTERCHANGES[name]
        if drop_gs:
            text = "~".join(s for s in text.split("~") if not s.startswith(("GS*", "GE*")))
        parts.append(text)
    text = "".join(parts)
    if damage is not None:  # a terminator inside some segment's data, past the ISA
        segments = text.split("~")
        position = 1 + damage % (len(segments) - 2)
        middle = len(segments[position]) // 2
        segments[position] = segments[position][:middle] + "~" + segments[position][middle:]
        text = "~".join(segments)
    if cut is not None:  # a transfer cut short
        text = text[: 107 + int((len(text) - 107) * cut)]
    return text


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    names=st.lists(st.sampled_from(sorted(INTERCHANGES)), min_size=1, max_size=4),
    flags=st.lists(st.booleans(), min_size=4, max_size=4),
    damage=st.one_of(st.none(), st.integers(0, 500)),
    cut=st.one_of(st.none(), st.floats(0.1, 1.0)),
)
def test_split_accounts_for_every_claim_of_a_mixed_batch(
    tmp_path_factory, names, flags, damage, cut
):
    """837P, 837I, 837D and 835 interchanges, some without GS/GE, with a damaged segment or
    a cut: clean + held + not written is the input's CLM count; every output is valid 837
    that check and pyx12 read without an envelope or implementation-guide error the input
    did not have, and the clean output holds no error at all."""
    text = mixed_batch(names, flags[: len(names)], damage, cut)
    folder = tmp_path_factory.mktemp("mixed")
    source = folder / "batch.837"
    source.write_text(text)
    summary, _ = split(folder, str(source), extra=("--jobs", "1"))
    counted = Counter(route["output"] for route in summary["claims"])
    assert sum(counted.values()) == input_claims(text)
    assert (counted["clean"], counted["held"], counted["not written"]) == (
        summary["clean"]["claims"],
        summary["held"]["claims"],
        summary["not_written"],
    )
    for route in summary["claims"]:  # a claim not read is not written; each says why
        assert route["claim_index"] is not None or route["output"] == "not written"
        assert route["output"] != "not written" or route["reasons"]
    for name in ("clean", "held"):
        output = folder / f"{name}.837"
        written = Counter(r["claim_id"] for r in summary["claims"] if r["output"] == name)
        assert claim_ids(output) == written
        if not written:
            continue
        report = check(output)
        rules = {f["rule"] for f in report["findings"]}
        assert not rules & {"x12.envelope", "x12.syntax", "x12.unreadable", "x12.unsupported"}
        if name == "clean":
            assert not [f for f in report["findings"] if f["severity"] == "error"]


# -- control numbers: never reused across runs ------------------------------------------


def interchange_numbers(path: Path) -> list[tuple[str, str]]:
    """(ISA13, GS06) of every interchange and group an output holds."""
    segments = [s.strip().split("*") for s in path.read_text().split("~") if s.strip()]
    isa = [s[13] for s in segments if s[0] == "ISA"]
    gs = [s[6] for s in segments if s[0] == "GS"]
    return list(zip(isa, gs, strict=True))


def test_control_numbers_are_never_reused_across_runs_and_are_mapped(tmp_path):
    source = str(FIXTURES / "837p/multi_st.837")
    seen = []
    for run in ("first", "second"):
        folder = tmp_path / run
        folder.mkdir()
        summary, _ = split(folder, source)
        numbers = interchange_numbers(folder / "clean.837")
        seen += [isa for isa, _ in numbers] + [gs for _, gs in numbers]
        mapped = summary["control_numbers"]
        assert {(m["isa13"], m["gs06"]) for m in mapped if m["output"] == "clean"} == set(numbers)
        assert [m["st02"] for m in mapped] == ["0001", "0002", "0003"]
        assert {m["from"]["isa13"] for m in mapped} == {"000000105"}
        assert [m["from"]["st02"] for m in mapped] == ["0001", "0002", "0003"]
    as_numbers = [int(number) for number in seen]
    assert len(set(as_numbers)) == len(as_numbers)


def test_control_number_option_sets_the_next_number(tmp_path):
    split(tmp_path, str(FIXTURES / "demo/demo.837"), extra=("--control-number", "4242"))
    assert interchange_numbers(tmp_path / "clean.837") == [("000004242", "4243")]
    assert interchange_numbers(tmp_path / "held.837") == [("000004244", "4245")]
    again = tmp_path / "again"
    again.mkdir()
    split(again, str(FIXTURES / "demo/demo.837"))
    assert interchange_numbers(again / "clean.837") == [("000004246", "4247")]


def test_hooks_running_at_once_draw_different_numbers(tmp_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "EDI_PRECHECK_STATE": str(tmp_path / "state")}
    runs = []
    for number in range(4):
        folder = tmp_path / f"run{number}"
        folder.mkdir()
        command = [
            sys.executable,
            "-m",
            "edi_precheck",
            "split",
            "--no-ig",
            str(FIXTURES / "837p/multi_st.837"),
            "--clean",
            str(folder / "clean.837"),
            "--held",
            str(folder / "held.837"),
        ]
        runs.append(
            (
                folder,
                subprocess.Popen(
                    command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
                ),
            )
        )
    drawn = []
    for folder, process in runs:
        assert process.wait(timeout=120) == 0
        drawn += [int(n) for pair in interchange_numbers(folder / "clean.837") for n in pair]
    assert len(drawn) == 8 and len(set(drawn)) == 8


def test_a_counter_that_cannot_be_kept_stops_the_split(tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("EDI_PRECHECK_STATE", str(blocker / "state"))
    result = run_cli(
        "split",
        str(FIXTURES / "demo/demo.837"),
        "--clean",
        str(tmp_path / "c.837"),
        "--held",
        str(tmp_path / "h.837"),
    )
    assert result.exit_code == 2
    assert "cannot keep control numbers" in result.stderr and "EDI_PRECHECK_STATE" in result.stderr
    assert not (tmp_path / "c.837").exists()


def test_split_writes_the_999_of_what_it_checked(tmp_path):
    from edi_precheck.ig.pyx12_engine import validate

    ack = tmp_path / "batch.999"
    summary, code = split(tmp_path, str(FIXTURES / "837p/multi_st.837"), extra=("--ack", str(ack)))
    segments = [s.strip() for s in ack.read_text().split("~") if s.strip()]
    assert code == 0 and summary["clean"]["claims"] == 8 and "AK9*A*3*3*3" in segments
    assert validate(ack.read_text()).errors == []
    result = run_cli(
        "split",
        "--no-ig",
        "--ack",
        str(ack),
        str(FIXTURES / "demo/demo.837"),
        "--clean",
        str(tmp_path / "c"),
        "--held",
        str(tmp_path / "h"),
    )
    assert result.exit_code == 2 and "--ack needs implementation-guide validation" in result.stderr


def test_split_creates_the_folders_it_writes_to(tmp_path):
    result = run_cli(
        "split",
        str(FIXTURES / "demo/demo.837"),
        "--clean",
        str(tmp_path / "out/today/clean.837"),
        "--held",
        str(tmp_path / "hold/held.837"),
    )
    assert result.exit_code == 1, result.stderr
    assert claim_ids(tmp_path / "out/today/clean.837") == Counter(
        {"DEMO0001": 1, "DEMO0003": 1, "DEMO0006": 1}
    )


def test_claims_in_text_that_cannot_be_read_are_named_not_written(tmp_path):
    prolia = (FIXTURES / "837p/prolia_medicare_clean.837").read_text()
    multi = (FIXTURES / "837p/multi_st.837").read_text().replace("ISA*00*", "ISA~00*", 1)
    source = tmp_path / "two.837"
    source.write_text(prolia + multi)
    summary, code = split(tmp_path, str(source), extra=("--no-ig",))
    routes = summary["claims"]
    assert code == 1 and len(routes) == 9
    unread = [r for r in routes if r["output"] == "not written"]
    assert [r["claim_id"] for r in unread] == [f"MST000{n}" for n in range(1, 9)]
    assert all("could not be read as an X12 interchange" in r["reasons"][0] for r in unread)
    check = run_cli("check", "--no-ig", "--format", "json", str(source))
    (syntax,) = [
        f for f in json.loads(check.stdout)["files"][0]["findings"] if f["rule"] == "x12.syntax"
    ]
    assert syntax["message"].endswith("it holds 8 claims (CLM segments), not checked")


def test_claims_of_a_file_whose_first_isa_cannot_be_read_are_counted(tmp_path):
    """A '~' typed for the '*' before ISA14: nothing of the file can be read, but its claims
    are counted (as its damaged ISA's separators cut the text) and named not written, so
    clean + held + not written still adds up to the file's CLM segments."""
    multi = (FIXTURES / "837p/multi_st.837").read_text()
    isa_end = multi.index("~")
    damaged = multi[: isa_end - 6] + multi[isa_end - 6 : isa_end].replace("*", "~", 1)
    source = tmp_path / "damaged.837"
    source.write_text(damaged + multi[isa_end:])
    summary, code = split(tmp_path, str(source), extra=("--no-ig",))
    routes = summary["claims"]
    assert code == 1 and summary["not_written"] == 8 == multi.count("~CLM*")
    assert [r["claim_id"] for r in routes] == [f"MST000{n}" for n in range(1, 9)]
    assert {r["output"] for r in routes} == {"not written"}
    check = run_cli("check", "--no-ig", "--format", "json", str(source))
    (unreadable,) = json.loads(check.stdout)["files"][0]["findings"]
    assert unreadable["rule"] == "x12.unreadable"
    assert unreadable["message"].endswith("it holds 8 claims (CLM segments), not checked")
    binary = tmp_path / "binary.837"  # no ISA to guess separators from: nothing counted
    binary.write_bytes(b"\x00\x01CLM*X*1~" * 3)
    summary, _ = split(tmp_path, str(binary), extra=("--no-ig",))
    assert summary["claims"] == [] and len(summary["not_read"]) == 1


def test_a_claim_after_a_set_without_its_se_is_routed_by_its_own_findings(tmp_path):
    """The attack: the first set loses its SE, and after GE/IEA a new interchange's claim
    comes with no ST before it. Two passes numbering claims apart sent a claim with
    errors to clean.837; each claim must go where its own findings send it."""
    first = (FIXTURES / "837p/prolia_medicare_clean.837").read_text()
    first = "~".join(s for s in first.split("~") if not s.startswith("SE*"))
    second = (FIXTURES / "837p/multi_st.837").read_text().replace("UN*60***1~", "UN*1***1~", 1)
    second = "~".join(s for s in second.split("~") if not s.startswith("ST*837*0001"))
    source = tmp_path / "attack.837"
    source.write_text(first + second)
    summary, code = split(tmp_path, str(source), extra=("--no-ig",))
    report = check(source)
    errors_by_claim = {}
    for finding in report["findings"]:
        if finding["severity"] == "error" and finding["claim_index"] is not None:
            errors_by_claim.setdefault(finding["claim_index"], set()).add(finding["rule"])
    for route in summary["claims"]:
        own = errors_by_claim.get(route["claim_index"], set())
        if route["output"] == "clean":
            assert not own, route
        elif route["output"] == "held":
            assert own <= set(route["reasons"]) or any(
                "transaction set" in r for r in route["reasons"]
            )
    assert code == 1
    assert sum(1 for r in summary["claims"]) == input_claims(source.read_text())
    assert not any(r["claim_id"] == "MST0001" and r["output"] == "clean" for r in summary["claims"])


def test_a_split_whose_claims_disagree_with_the_check_stops_and_sends_nothing(
    tmp_path, monkeypatch
):
    """A defect that made the spool and the check count claims apart exits 2 and leaves
    no output, rather than route a claim by another's findings."""
    import edi_precheck.split
    from edi_precheck.report.claim_files import ClaimSpool

    real_units = ClaimSpool.units

    def one_lost(self):
        units = list(real_units(self))
        return iter(units[1:])

    monkeypatch.setattr(edi_precheck.split.ClaimSpool, "units", one_lost)
    result = run_cli(
        "split",
        str(FIXTURES / "837p/multi_st.837"),
        "--no-ig",
        "--clean",
        str(tmp_path / "c.837"),
        "--held",
        str(tmp_path / "h.837"),
    )
    assert result.exit_code == 2 and "SplitMismatch" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "content", [b"[]", b'{"a": "x"}', b'{"a": 1e400}', b"\xff\xfe{", b"not json"]
)
def test_a_counter_file_not_of_our_making_stops_the_split_with_a_message(
    tmp_path, monkeypatch, content
):
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    (state / "control-numbers.json").write_bytes(content)
    monkeypatch.setenv("EDI_PRECHECK_STATE", str(state))
    result = run_cli(
        "split", str(FIXTURES / "demo/demo.837"),
        "--clean", str(tmp_path / "c.837"), "--held", str(tmp_path / "h.837"),
    )  # fmt: skip
    assert result.exit_code == 2
    assert "is not the control-number file this tool writes" in result.stderr
    assert "internal error" not in result.stderr
    assert (state / "control-numbers.json").read_bytes() == content  # left for a person


def _with_isa06(text: str, sender: str) -> str:
    """The file with ISA06 (fixed at 15 characters) replaced by `sender`, as given."""
    fields = text[: text.index("~")].split("*")
    fields[6] = sender
    return "*".join(fields) + text[text.index("~") :]


@pytest.mark.parametrize("sender", ["TESTSUB", "TESTSUBMITTER     "], ids=["short", "long"])
def test_a_mispadded_isa_is_written_at_its_fixed_widths(tmp_path, sender):
    """ISA06 padded to 7 or 18 characters (a 98- or 109-character ISA): a reader that takes
    X12's fixed widths refuses the interchange whole, so the outputs' ISA is rebuilt at
    them, and the clean output checks clean and passes pyx12."""
    from edi_precheck.ig.pyx12_engine import validate

    text = (FIXTURES / "837p/prolia_medicare_clean.837").read_text()
    source = tmp_path / "in.837"
    source.write_text(_with_isa06(text, sender))
    summary, _ = split(tmp_path, str(source))
    assert [r["output"] for r in summary["claims"]] == ["clean"]
    clean = (tmp_path / "clean.837").read_text()
    isa = clean[: clean.index("~") + 1]
    assert len(isa) == 106 and isa.split("*")[6] == sender.strip().ljust(15)
    assert [f["rule"] for f in check(tmp_path / "clean.837")["findings"]] == []
    assert validate(clean).errors == []


def test_an_isa_whose_text_does_not_fit_is_not_written(tmp_path):
    """ISA06 of 18 letters cannot be rebuilt without changing who sent it: its claims are
    named in not_written with the reason, and every claim is still accounted for."""
    text = (FIXTURES / "837p/prolia_medicare_clean.837").read_text()
    source = tmp_path / "in.837"
    source.write_text(_with_isa06(text, "TESTSUBMITTERLONGX"))
    summary, code = split(tmp_path, str(source))
    (route,) = summary["claims"]
    assert code == 1 and route["output"] == "not written"
    assert "ISA06" in " ".join(route["reasons"]) and summary["not_written"] == 1
    assert (tmp_path / "clean.837").stat().st_size == 0


def _redelimited_file(text: str, element: str, component: str, repetition: str) -> str:
    """The same interchange with other element, component and repetition separators (the
    segment terminator kept), ISA11 and ISA16 saying so."""
    isa_end = text.index("~")
    isa = text[:isa_end].split("*")
    isa[11], isa[16] = repetition, component
    body = text[isa_end:].translate(str.maketrans({"*": element, ":": component, "^": repetition}))
    return element.join(isa) + body


def test_inputs_with_other_separators_are_written_with_the_first_ones(tmp_path):
    """Two inputs, each valid, one with '*' ':' '^' and one with '|' '>' '!': the outputs
    use the first's separators throughout (translators and pyx12 take a file's separators
    from its first ISA), with the same claims and findings as the inputs."""
    from edi_precheck.ig.pyx12_engine import validate

    star = (FIXTURES / "837p/prolia_medicare_clean.837").read_text()
    pipe = _redelimited_file(
        (FIXTURES / "837p/xgeva_commercial_clean.837").read_text(), "|", ">", "!"
    )
    first, second = tmp_path / "a.837", tmp_path / "b.837"
    first.write_text(star)
    second.write_text(pipe)
    assert validate(pipe).errors == []  # the input is valid as it is
    summary, code = split(tmp_path, str(first), str(second))
    assert code == 0 and summary["clean"]["claims"] == 2
    clean = (tmp_path / "clean.837").read_text()
    assert "|" not in clean and ">" not in clean and clean.count("ISA*") == 2
    assert validate(clean).errors == []
    assert claim_ids(tmp_path / "clean.837") == claim_ids(first) + claim_ids(second)
    assert check(tmp_path / "clean.837")["findings"] == []


def test_a_claim_holding_the_first_inputs_separator_keeps_its_own(tmp_path):
    """A name with '*' in an interchange whose separator is '|' cannot be written with '*':
    its interchange keeps its own separators (valid X12), and no claim is lost or changed."""
    star = (FIXTURES / "837p/prolia_medicare_clean.837").read_text()
    pipe = _redelimited_file(
        (FIXTURES / "837p/xgeva_commercial_clean.837").read_text(), "|", ">", "!"
    )
    billing = pipe.index("NM1|85|2|") + len("NM1|85|2|")
    pipe = pipe[:billing] + "A*B " + pipe[billing:]
    first, second = tmp_path / "a.837", tmp_path / "b.837"
    first.write_text(star)
    second.write_text(pipe)
    summary, _ = split(tmp_path, str(first), str(second))
    assert summary["clean"]["claims"] == 2
    clean = (tmp_path / "clean.837").read_text()
    assert "NM1|85|2|A*B " in clean
    assert claim_ids(tmp_path / "clean.837") == claim_ids(first) + claim_ids(second)


def test_a_claim_cut_off_outside_any_hierarchy_is_not_written_and_the_rest_split(tmp_path):
    """A transfer cut off inside a claim that has no billing provider or subscriber loop
    above it: that claim is named not written (cut off), and the batch's other files are
    split as usual; it used to stop the whole run as an internal error."""
    prolia = (FIXTURES / "837p/prolia_medicare_clean.837").read_text()
    header, rest = prolia.split("~HL*1**20*1~", 1)
    claim = rest[rest.index("CLM*") :]
    cut = tmp_path / "cut.837"
    cut.write_text(header + "~" + claim[: claim.index("~DTP*472")] + "~")
    summary, code = split(tmp_path, str(FIXTURES / "demo/demo.837"), str(cut), extra=("--no-ig",))
    assert code == 1
    routes = [r for r in summary["claims"] if r["file"] == str(cut)]
    assert [(r["output"], r["reasons"]) for r in routes] == [
        ("not written", ["it is cut off by the end of the file"])
    ]
    demo = [r for r in summary["claims"] if r["file"] != str(cut)]
    assert demo and {r["output"] for r in demo} <= {"clean", "held"}
    assert summary["clean"]["claims"] + summary["held"]["claims"] == len(demo)


@pytest.mark.parametrize("damaged", ["clm*", "CLM *", "\x00CLM*"], ids=["lower", "space", "nul"])
def test_a_claim_whose_clm_tag_is_damaged_is_named_not_written(tmp_path, damaged):
    """A CLM tag in lower case, with a space or a stray byte: no reader takes it for a
    claim. It is named not written (the counts still add up to the file's claims), and
    check says which claim went unchecked, even with --fail-on never."""
    multi = (FIXTURES / "837p/multi_st.837").read_text()
    source = tmp_path / "damaged.837"
    source.write_text(multi.replace("~CLM*MST0005*", f"~{damaged}MST0005*"))
    summary, code = split(tmp_path, str(source), extra=("--no-ig", "--fail-on", "never"))
    routes = {r["claim_id"]: r for r in summary["claims"]}
    assert code == 1 and len(routes) == multi.count("~CLM*")
    assert routes["MST0005"]["output"] == "not written"
    assert "tag is damaged" in routes["MST0005"]["reasons"][0]
    checked = run_cli("check", "--no-ig", "--format", "json", str(source))
    syntax = [
        f for f in json.loads(checked.stdout)["files"][0]["findings"] if f["rule"] == "x12.syntax"
    ]
    assert checked.exit_code == 1
    assert [f["message"].split(": ", 1)[1] for f in syntax] == [
        "claim MST0005 is not read, and its lines are not checked"
    ]


def test_a_transaction_set_cut_off_inside_a_claim_is_held_and_the_next_one_is_not(tmp_path):
    """A transfer lost the end of ST 0001 (inside MST0003) and goes on with ST 0002: the cut
    set's claims are held, the intact set's are clean, and the clean output re-checks
    clean with the implementation guide; the next set used to be held in its place while
    the bare CLM went out clean."""
    multi = (FIXTURES / "837p/multi_st.837").read_text()
    clm = multi.index("CLM*MST0003*")
    cut = multi[: multi.index("~", clm) + 1] + multi[multi.index("ST*837*0002*") :]
    source = tmp_path / "cut.837"
    source.write_text(cut)
    summary, code = split(tmp_path, str(source))
    routes = {r["claim_id"]: r["output"] for r in summary["claims"]}
    assert code == 1
    assert routes == {
        **{f"MST000{n}": "held" for n in (1, 2, 3)},
        **{f"MST000{n}": "clean" for n in (4, 5, 6, 7, 8)},
    }
    clean = check(tmp_path / "clean.837")
    assert clean["findings"] == [] and clean["claims"] == 5


def _subscriber_and_dependent(dependent_units: str, dependent_parent: str = "2") -> str:
    """Prolia's clean claim for the subscriber, then a dependent's (HL 23) claim."""
    prolia = (FIXTURES / "837p/prolia_medicare_clean.837").read_text()
    head, claim = prolia.split("~CLM*", 1)
    claim, trailer = claim.split("~SE*", 1)
    dependent = (
        f"HL*3*{dependent_parent}*23*0~PAT*19~NM1*QC*1*TESTDEPENDENT*NORA~N3*12 EXAMPLE LANE~"
        "N4*SPRINGFIELD*IL*62704~DMG*D8*19520101*F~"
        + ("CLM*" + claim).replace("PMC0001", "PMC0002").replace("UN*60", f"UN*{dependent_units}")
    )
    text = head.replace("HL*2*1*22*0", "HL*2*1*22*1") + "~CLM*" + claim + "~" + dependent
    return recount_se(text + "~SE*" + trailer)


def test_split_writes_each_hl04_as_its_output_has_children(tmp_path):
    """A subscriber's own claim clean, a dependent's held: each output's subscriber loop
    says whether an HL follows it (HL04), and both outputs re-check clean of structure."""
    source = tmp_path / "family.837"
    source.write_text(_subscriber_and_dependent("1"))
    summary, _ = split(tmp_path, str(source))
    assert {r["claim_id"]: r["output"] for r in summary["claims"]} == {
        "PMC0001": "clean",
        "PMC0002": "held",
    }

    def loops(path: Path) -> list[str]:
        return [s for s in path.read_text().replace("\n", "").split("~") if s.startswith("HL*")]

    assert loops(tmp_path / "clean.837") == ["HL*1**20*1", "HL*2*1*22*0"]
    assert loops(tmp_path / "held.837") == ["HL*1**20*1", "HL*2*1*22*1", "HL*3*2*23*0"]
    for name in ("clean.837", "held.837"):
        assert [f for f in check(tmp_path / name)["findings"] if f["rule"].startswith("x12")] == []
    source.write_text(_subscriber_and_dependent("60"))
    summary, _ = split(tmp_path, str(source), extra=("--fail-on", "never"))
    assert check(tmp_path / "clean.837")["findings"] == []


def test_a_claim_whose_hl_parent_is_not_the_loop_above_it_is_not_written(tmp_path):
    """A dependent whose HL02 names the billing provider, not the subscriber above it: the
    writer would file it under that subscriber, in a file that reads clean; it is named
    not written instead, with the reason."""
    source = tmp_path / "misplaced.837"
    source.write_text(_subscriber_and_dependent("60", dependent_parent="1"))
    summary, code = split(tmp_path, str(source), extra=("--no-ig",))
    routes = {r["claim_id"]: r for r in summary["claims"]}
    assert code == 1 and routes["PMC0001"]["output"] == "clean"
    assert routes["PMC0002"]["output"] == "not written"
    assert (
        "names HL 1 as its parent (HL02), not the loop above it (HL 2)"
        in (routes["PMC0002"]["reasons"][0])
    )


@pytest.mark.parametrize(
    "before", ["Content-Type: application/edi-x12\r\n\r\n", "\x00\x00\x00", "lower"]
)
def test_claims_behind_a_leading_header_are_counted_not_written(tmp_path, before):
    """An interchange behind a mail header, NUL bytes, or with its ISA in lower case: the
    file cannot be read, but its claims are counted as not written, so the counts still
    add up to the file's claims."""
    multi = (FIXTURES / "837p/multi_st.837").read_text()
    text = "isa" + multi[3:] if before == "lower" else before + multi
    source = tmp_path / "behind.837"
    source.write_text(text)
    summary, code = split(tmp_path, str(source), extra=("--no-ig",))
    assert code == 1 and summary["not_written"] == multi.count("~CLM*") == 8
    assert [r["claim_id"] for r in summary["claims"]] == [f"MST000{n}" for n in range(1, 9)]


@pytest.mark.parametrize("damaged", ["clm*", "CLM *"], ids=["lower", "space"])
def test_the_lines_of_a_damaged_claim_are_no_other_claims(tmp_path, damaged):
    """A damaged CLM right after another claim of the same subscriber: its lines are not
    read as that claim's (no false balance error, no second dose), and split writes that
    claim alone, in an output that re-checks clean."""
    prolia = (FIXTURES / "837p/prolia_medicare_clean.837").read_text()
    head, rest = prolia.split("~CLM*", 1)
    claim, trailer = rest.split("~SE*", 1)
    second = damaged + claim.replace("PMC0001", "PMC0002")
    source = tmp_path / "two.837"
    source.write_text(recount_se(f"{head}~CLM*{claim}~{second}~SE*{trailer}"))
    result = run_cli("check", "--no-ig", "--format", "json", str(source))
    findings = json.loads(result.stdout)["files"][0]["findings"]
    assert [(f["claim_id"], f["rule"]) for f in findings] == [(None, "x12.syntax")]
    summary, _ = split(tmp_path, str(source), extra=("--fail-on", "never"))
    routes = {r["claim_id"]: r["output"] for r in summary["claims"]}
    assert routes == {"PMC0001": "clean", "PMC0002": "not written"}
    assert check(tmp_path / "clean.837")["findings"] == []
