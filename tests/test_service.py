"""`edi-precheck serve`: the real server on a loopback port, spoken to over HTTP (httpx), and
the app in process (Starlette's test client) for the refusals.

What a practice-management system relies on: the report of a body is the report the
command line writes for the same file, under load too; refusals are JSON with the right
status; the access log carries no claim content.
"""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import jsonschema
import pytest
from starlette.testclient import TestClient

from conftest import FIXTURES, real_files, run_cli
from edi_precheck.policy import schema
from edi_precheck.service.app import create_app
from edi_precheck.service.workers import Settings
from edi_precheck.sources import Source

X12 = {"Content-Type": "application/edi-x12"}
STRICT = Path(__file__).parent / "fixtures" / "policies" / "commercial-strict.json"
SAMPLES = [
    *sorted((FIXTURES / "837p").glob("*.837")),
    *sorted((FIXTURES / "837i").glob("*.837")),
    FIXTURES / "demo" / "demo.837",
    *sorted((FIXTURES / "bad").iterdir())[:6],
    *real_files()[:6],
]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[tuple[str, Path]]:
    """The real server, as `edi-precheck serve` starts it; its stderr (the log) in a file."""
    port = _free_port()
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "edi_precheck", "--log-format", "json", "serve",
             "--port", str(port), "--workers", "2", "--overlay", f"strict={STRICT}"],
            stdout=subprocess.DEVNULL, stderr=stderr,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        assert process.poll() is None, log.read_text()
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.2)
    yield url, log
    process.terminate()
    process.wait(timeout=30)


def cli_report(path: Path, *options: str) -> dict:
    result = run_cli("check", "--format", "json", *options, str(path))
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)


def same_report(served: dict, cli: dict) -> None:
    """The same report but for the file's name (the body has none)."""
    for file in (*served["files"], *cli["files"]):
        file["path"] = "-"
    assert served == cli


@pytest.mark.parametrize("ig", [True, False], ids=["ig", "no-ig"])
def test_the_report_of_a_body_is_the_command_lines(server, ig):
    url, _ = server
    with httpx.Client(base_url=url, timeout=120) as client:
        for path in SAMPLES:
            answer = client.post(
                "/v1/check", params={"ig": str(ig).lower()}, content=path.read_bytes(), headers=X12
            )
            assert answer.status_code == 200, (path.name, answer.text)
            cli = cli_report(path, *(() if ig else ("--no-ig",)))
            same_report(answer.json(), cli)
            blocked = cli["summary"]["errors"] > 0
            assert answer.headers["X-EDI-Precheck-Exit"] == str(int(blocked)), path.name


def test_twenty_four_requests_at_once_give_the_command_lines_reports(server):
    url, _ = server
    files = [SAMPLES[i % len(SAMPLES)] for i in range(24)]
    expected = {path: cli_report(path) for path in set(files)}

    def post(path: Path) -> dict:
        with httpx.Client(base_url=url, timeout=300) as client:
            answer = client.post("/v1/check", content=path.read_bytes(), headers=X12)
            assert answer.status_code == 200
            return answer.json()

    with ThreadPoolExecutor(24) as pool:
        answers = list(pool.map(post, files))
    for path, answer in zip(files, answers, strict=True):
        same_report(answer, json.loads(json.dumps(expected[path])))


def test_an_overlay_by_name_grades_as_the_command_line_does(server):
    url, _ = server
    demo = FIXTURES / "demo" / "demo.837"
    answer = httpx.post(
        f"{url}/v1/check", params={"policy": "strict", "ig": "false"},
        content=demo.read_bytes(), headers=X12, timeout=60,
    )  # fmt: skip
    same_report(answer.json(), cli_report(demo, "--no-ig", "--policy", str(STRICT)))
    unknown = httpx.post(f"{url}/v1/check", params={"policy": "nope"}, content=b"", headers=X12)
    assert unknown.status_code == 400 and "strict" in unknown.json()["error"]


def test_a_body_that_is_not_x12_is_a_report_not_an_error(server):
    url, _ = server
    for body in (b"", b"\x00\xff" * 100, b"hello, world", "ISA*ü".encode()):
        answer = httpx.post(f"{url}/v1/check", content=body, headers=X12, timeout=60)
        assert answer.status_code == 200
        (file,) = answer.json()["files"]
        assert [f["rule"] for f in file["findings"]] == ["x12.unreadable"], body
        assert answer.headers["X-EDI-Precheck-Exit"] == "1"


def test_lines_and_rules_are_the_command_lines(server):
    url, _ = server
    multi = FIXTURES / "837p" / "multi_st.837"
    rows = httpx.post(f"{url}/v1/lines", content=multi.read_bytes(), headers=X12).json()
    listed = json.loads(run_cli("lines", "--format", "json", str(multi)).stdout)
    for row in (*rows, *listed):
        row["file"] = "-"
    assert rows == listed and len(rows) == 7
    every = httpx.post(f"{url}/v1/lines", params={"all": "true"}, content=multi.read_bytes())
    assert len(every.json()) == 17
    # codes named win over `all`, as `lines --code J0897 --all`
    named = httpx.post(
        f"{url}/v1/lines", params={"all": "true", "code": "j0897"}, content=multi.read_bytes()
    ).json()
    listed = json.loads(
        run_cli("lines", "--format", "json", "--all", "--code", "J0897", str(multi)).stdout
    )
    assert len(named) == len(listed) and {row["code"] for row in named} == {"J0897"}
    rules = httpx.get(f"{url}/v1/rules").json()
    assert rules == json.loads(run_cli("rules", "--format", "json").stdout)


def test_the_openapi_document_carries_the_report_schema(server):
    url, _ = server
    document = httpx.get(f"{url}/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    assert set(document["paths"]) == {"/v1/check", "/v1/lines", "/v1/rules", "/healthz"}
    report_schema = document["components"]["schemas"]["Report"]
    assert report_schema == {k: v for k, v in schema("report").items() if k != "$schema"}
    demo = (FIXTURES / "demo" / "demo.837").read_bytes()
    answer = httpx.post(f"{url}/v1/check", content=demo, headers=X12, timeout=60).json()
    jsonschema.Draft202012Validator(report_schema).validate(answer)


def test_the_access_log_names_routes_not_claims(server):
    """After every request above: one `request` event each, with no claim content, body or
    query value in the whole log."""
    url, log = server
    demo = FIXTURES / "demo" / "demo.837"
    httpx.post(f"{url}/v1/check", params={"ig": "false", "fail_on": "warning"},
               content=demo.read_bytes(), headers=X12, timeout=60)  # fmt: skip
    time.sleep(0.5)
    events = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    requests = [e for e in events if e["event"] == "request"]
    assert requests and all(
        set(e) >= {"method", "route", "status", "duration_ms"} for e in requests
    )
    text = log.read_text()
    for value in ("DEMO0002", "TESTPATIENT", 'warning"', "fail_on", "55513-0710-01"):
        assert value not in text, value


@pytest.fixture(scope="module")
def app_client() -> Iterator[TestClient]:
    """The app in process, with a token, a 1 KiB body limit and a short timeout."""
    app = create_app(Settings(workers=1), max_body=1024, timeout=30, token="s3cret-token")
    with TestClient(app) as client:
        yield client


def test_without_the_token_nothing_but_health_answers(app_client):
    body = (FIXTURES / "837p" / "prolia_medicare_clean.837").read_bytes()
    assert app_client.get("/healthz").status_code == 200
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "s3cret-token"}):
        answer = app_client.post("/v1/check", content=body, headers={**X12, **headers})
        assert answer.status_code == 401
        assert answer.headers["WWW-Authenticate"] == "Bearer"
        assert "s3cret-token" not in answer.text
    assert app_client.get("/v1/rules").status_code == 401
    ok = app_client.post(
        "/v1/check?ig=false", content=body,
        headers={**X12, "Authorization": "Bearer s3cret-token"},
    )  # fmt: skip
    assert ok.status_code == 200 and ok.json()["summary"]["claims"] == 1


def test_refusals_are_json_with_their_status(app_client):
    auth = {"Authorization": "Bearer s3cret-token"}
    big = b"ISA" + b"*" * 2000
    declared = app_client.post("/v1/check", content=big, headers={**X12, **auth})
    assert declared.status_code == 413 and "limit" in declared.json()["error"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: refused as it streams in
        for _ in range(8):
            yield b"x" * 512

    streamed = app_client.post("/v1/check", content=chunks(), headers={**X12, **auth})
    assert streamed.status_code == 413
    form = app_client.post(  # whatever the declared type, the body is the file
        "/v1/check?ig=false",
        content=b'{"a": 1}',
        headers={**auth, "Content-Type": "application/json"},
    )
    assert form.status_code == 200
    assert [f["rule"] for f in form.json()["files"][0]["findings"]] == ["x12.unreadable"]
    bad = app_client.post("/v1/check?fail_on=sometimes", content=b"", headers={**X12, **auth})
    assert bad.status_code == 400 and bad.json()["status"] == 400
    flag = app_client.post("/v1/check?ig=maybe", content=b"", headers={**X12, **auth})
    assert flag.status_code == 400
    # a misspelt option would check with the defaults and say nothing: refused
    for query in ("polcy=strict", "failon=never", "fail-on=never", "IG=false"):
        misspelt = app_client.post(f"/v1/check?{query}", content=b"", headers={**X12, **auth})
        assert misspelt.status_code == 400, query
        assert query.split("=")[0] in misspelt.json()["error"]
    assert app_client.post("/v1/lines?codes=J0897", content=b"", headers=auth).status_code == 400
    assert app_client.get("/v1/rules?format=csv", headers=auth).status_code == 400
    # the routes the service does not have, or not for that method: JSON too
    for answer, status in (
        (app_client.get("/v1/nothing", headers=auth), 404),
        (app_client.get("/v1/check", headers=auth), 405),
    ):
        assert answer.status_code == status and answer.json()["status"] == status


def test_a_check_over_the_timeout_answers_504():
    big = (FIXTURES / "837p" / "multi_st.837").read_bytes()
    app = create_app(Settings(workers=1), timeout=0.001)
    with TestClient(app) as client:
        answer = client.post("/v1/check", content=big * 1, headers=X12)
    assert answer.status_code == 504 and "longer than" in answer.json()["error"]


def test_a_check_given_up_on_frees_its_worker_for_the_next(tmp_path):
    """One worker, a 2 s timeout, a check of some 20 s: it answers 504, and reading stops at
    its deadline (the sets still pending are not validated), so the worker is soon free and the
    small check sent a few seconds later is answered, not refused behind it."""
    from edi_precheck.synth import write_837p

    large = tmp_path / "large.837"
    with large.open("wb") as out:
        write_837p(out, 60_000, claims_per_st=2_000, drug_share=0.9)
    small = (FIXTURES / "demo" / "demo.837").read_bytes()
    app = create_app(Settings(workers=1), timeout=2.0)
    with TestClient(app) as client:
        for ig in ("true", "false"):
            given_up = client.post(f"/v1/check?ig={ig}", content=large.read_bytes(), headers=X12)
            assert given_up.status_code == 504
            time.sleep(4)
            answered = client.post(f"/v1/check?ig={ig}", content=small, headers=X12)
            assert answered.status_code == 200, (ig, answered.text)
            assert answered.json()["summary"]["claims"] == 6


def test_serve_refuses_an_invalid_overlay_before_it_starts(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"id": "x", "kind": "overlay", "extends": "denosumab", "version": "1", "y": 1}')
    result = run_cli("serve", "--port", "0", "--overlay", f"bad={bad}")
    assert result.exit_code == 2 and "bad.json" in result.output
    assert os.path.exists(bad)


def test_with_a_history_store_a_resent_claim_is_a_duplicate(tmp_path):
    """serve --history reads the store (as check does) in its threads and its workers."""
    body = (FIXTURES / "837p" / "prolia_medicare_clean.837").read_bytes()
    store = f"sqlite:///{tmp_path}/history.db"
    recorded = run_cli("history", "record", "--history", store, str(FIXTURES / "837p"))
    assert recorded.exit_code == 0, recorded.output
    app = create_app(Settings(workers=1, history=store))
    with TestClient(app) as client:
        for ig in ("false", "true"):
            answer = client.post(f"/v1/check?ig={ig}", content=body, headers=X12)
            rules = [f["rule"] for f in answer.json()["files"][0]["findings"]]
            assert "claim.duplicate" in rules, (ig, rules)
    missing = run_cli("serve", "--history", f"sqlite:///{tmp_path}/none.db")
    assert missing.exit_code == 2 and "history record" in missing.output


def test_a_check_past_its_deadline_validates_nothing_more(monkeypatch):
    """Once reading stops at the deadline (the caller answered 504), the transaction sets
    still pending are dropped, not validated: no validation starts after reading stops."""
    from edi_precheck import Engine, sources
    from edi_precheck.ig import validator
    from edi_precheck.synth import write_837p

    events: list[str] = []
    validate, read = validator.validate, sources._MemoryReader.read

    def slow_validate(text: str, engine: str = "native"):
        events.append("validate")
        time.sleep(0.2)
        return validate(text, engine)

    def reading(self, size=-1):
        try:
            return read(self, size)
        except TimeoutError:
            events.append("stopped")
            raise

    monkeypatch.setattr(validator, "validate", slow_validate)
    monkeypatch.setattr(sources._MemoryReader, "read", reading)
    body = io.BytesIO()
    write_837p(body, 2_000, claims_per_st=20, drug_share=0.9)  # 100 sets: 20 s to validate
    with Engine(ig=True) as engine:
        result = engine.check(Source("body", None, body.getvalue(), deadline=time.monotonic() + 1))
    assert "stopped" in events
    assert "validate" in events[: events.index("stopped")]  # validated while reading
    assert "validate" not in events[events.index("stopped") :]
    assert any("ran out" in f.message for f in result.findings)
