"""Policies are validated before any EDI is read; every error names its JSON pointer."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from conftest import FIXTURES, run_cli
from edi_precheck.policy import (
    Crosswalk,
    CrosswalkError,
    PolicyError,
    layer_schema,
    load_policies,
    normalize_ndc,
    resolve_policies,
    schema,
)
from edi_precheck.rules import catalog

DATA = Path(__file__).resolve().parent.parent / "edi_precheck/policy/data"
SHIPPED = DATA / "denosumab.json"
BASE = DATA / "base.json"
DEMO = str(FIXTURES / "demo/demo.837")


def shipped_document() -> dict:
    """The shipped denosumab family merged with the base: one complete policy document, as
    a user who writes a whole policy of their own (no `extends`) would."""
    ((_, resolved),) = resolve_policies([], catalog().keys())
    document = copy.deepcopy(resolved.document)
    document["kind"] = "drug"
    return document


def overlay(tmp_path: Path, name: str = "overlay", **sections) -> Path:
    """An overlay of the shipped denosumab policy that says only `sections`."""
    document = {"id": name, "kind": "overlay", "extends": "denosumab", "version": "1"}
    return write_policy(tmp_path, {**document, **sections}, f"{name}.json")


def write_policy(tmp_path: Path, document: dict, name: str = "policy.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(document))
    return path


@pytest.mark.parametrize("name", ["policy", "report"])
def test_shipped_schemas_are_valid_json_schema(name):
    jsonschema.Draft202012Validator.check_schema(schema(name))


def test_no_shipped_json_names_a_key_twice():
    """A repeated key is legal to Python's parser (the last wins) but not to strict JSON
    tools: a schema or policy that says a property twice says it wrongly once."""

    def unique(pairs: list[tuple[str, object]]) -> dict:
        keys = [key for key, _ in pairs]
        assert len(keys) == len(set(keys)), sorted(k for k in keys if keys.count(k) > 1)
        return dict(pairs)

    package = DATA.parent.parent
    shipped = [*package.glob("schemas/*.json"), *DATA.glob("*.json")]
    assert len(shipped) >= 5
    for path in [*shipped, *(FIXTURES / "policies").glob("*.json")]:
        json.loads(path.read_text(), object_pairs_hook=unique)


def test_the_layer_schema_is_valid_json_schema_and_requires_only_id_and_version():
    jsonschema.Draft202012Validator.check_schema(layer_schema())
    assert layer_schema()["required"] == ["id", "version"]


def test_top_level_schemas_folder_is_the_packaged_one():
    root = Path(__file__).resolve().parent.parent
    assert (root / "schemas/policy.schema.json").read_bytes() == (
        root / "edi_precheck/schemas/policy.schema.json"
    ).read_bytes()


def test_shipped_policy_is_valid():
    result = run_cli("policy", "validate")
    assert result.exit_code == 0, result.output
    assert "valid: policy 'denosumab' (base 2026.11.1 + denosumab 2026.12.1)" in result.stdout


def test_shipped_policy_says_which_facts_are_unconfirmed():
    assert SHIPPED.read_text().count("UNCONFIRMED") >= 10
    policy = shipped_document()
    assert "UNCONFIRMED" in policy["indications"]["osteoporosis"]["description"]
    assert policy["settings"]["professional_other"]["status"] == "UNCONFIRMED"
    assert policy["codes"]["J0897"]["mue"]["status"] == "UNCONFIRMED"
    assert "ziprasidone" in policy["codes"]["J3486"]["another_drug"]


def test_every_fact_the_checks_rest_on_carries_its_source_or_is_unconfirmed():
    """A payer rule, setting or fact object with status 'confirmed' names its source."""
    policy = shipped_document()
    confirmed = [
        (section, name, spec)
        for section in ("settings", "payer_rules", "indications")
        for name, spec in policy[section].items()
        if spec.get("status") == "confirmed"
    ] + [
        ("codes", code, spec[fact])
        for code, spec in policy["codes"].items()
        for fact in ("mue", "effective")
        if spec.get(fact, {}).get("status") == "confirmed"
    ]
    assert confirmed
    for section, name, spec in confirmed:
        assert spec.get("source"), f"{section}/{name} is confirmed without a source"
    for name, spec in policy["products"].items():
        assert spec.get("source") or "UNCONFIRMED" in spec.get("ndcs_note", ""), name


def test_schema_error_names_pointer_and_stops_check(tmp_path):
    document = shipped_document()
    document["products"]["Prolia"]["dose_units"] = ["sixty"]
    document["settings"]["office"]["places"].append("home")
    result = run_cli("check", "--policy", str(write_policy(tmp_path, document)), DEMO)
    assert result.exit_code == 2
    assert "/products/Prolia/dose_units/0: 'sixty' is not of type 'number'" in result.stderr
    assert "/settings/office/places/2" in result.stderr  # every error, not just the first
    assert result.stdout == ""  # no EDI was read
    said = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    (failed,) = [event for event in said if event["event"] == "run.failed"]
    problems = failed["message"].split("\n  ")  # one problem a line, no escaped breaks
    assert problems[0] == "invalid policy:" and len(problems) == 3
    assert "\\x0a" not in failed["message"]


def test_a_valid_policy_is_remembered_an_invalid_one_never(tmp_path, monkeypatch):
    """A text that passed the schema is not validated again; any other text is."""
    monkeypatch.setenv("EDI_PRECHECK_CACHE", str(tmp_path / "cache"))
    stamps = tmp_path / "cache" / "valid-policies"
    valid = write_policy(tmp_path, shipped_document(), "valid.json")
    known = len(list(stamps.iterdir()))  # the shipped policy's, remembered on the way
    assert run_cli("policy", "validate", str(valid)).exit_code == 0
    assert len(list(stamps.iterdir())) == known + 1
    assert run_cli("policy", "validate", str(valid)).exit_code == 0
    assert len(list(stamps.iterdir())) == known + 1

    document = shipped_document()
    document["products"]["Prolia"]["dose_units"] = ["sixty"]
    invalid = write_policy(tmp_path, document, "invalid.json")
    for _ in range(2):
        result = run_cli("check", "--policy", str(invalid), DEMO)
        assert result.exit_code == 2
        assert "/products/Prolia/dose_units/0" in result.stderr
    assert len(list(stamps.iterdir())) == known + 1


def test_a_remembered_policy_is_still_checked_for_references(tmp_path, monkeypatch):
    monkeypatch.setenv("EDI_PRECHECK_CACHE", str(tmp_path / "cache"))
    document = shipped_document()
    document["rules"]["no.such_rule"] = {"severity": "error"}
    path = write_policy(tmp_path, document)
    for _ in range(2):
        result = run_cli("policy", "validate", str(path))
        assert result.exit_code == 2
        assert "unknown rule id 'no.such_rule'" in result.stderr


def test_a_hook_run_with_remembered_policies_does_not_load_jsonschema(tmp_path):
    """Start-up a pre-submit hook pays per file: jsonschema is loaded only to validate."""
    env = {**os.environ, "EDI_PRECHECK_CACHE": str(tmp_path / "cache")}
    probe = (
        "import sys; from edi_precheck.cli import main\n"
        "try:\n    main(['check', '--no-ig', sys.argv[1]])\n"
        "except SystemExit:\n    pass\n"
        "print('jsonschema' in sys.modules)"
    )
    loaded = [
        subprocess.run(
            [sys.executable, "-c", probe, DEMO], env=env, check=True, capture_output=True, text=True
        ).stdout.split()[-1]
        for _ in range(2)
    ]
    assert loaded == ["True", "False"]


def test_unknown_rule_id_is_an_error(tmp_path):
    document = shipped_document()
    document["rules"]["units.doze"] = {"severity": "warning"}
    document["payer_rules"]["medicare"]["severity"] = {"ndc.mising": "off"}
    result = run_cli("policy", "validate", str(write_policy(tmp_path, document)))
    assert result.exit_code == 2
    assert "/rules/units.doze: unknown rule id 'units.doze'" in result.stderr
    assert "/payer_rules/medicare/severity/ndc.mising: unknown rule id" in result.stderr


def test_dangling_product_and_indication_references(tmp_path):
    document = shipped_document()
    document["codes"]["J0897"]["products"].append("Evenity")
    document["products"]["Xgeva"]["indications"] = ["bone_mets"]
    with pytest.raises(PolicyError) as caught:
        load_policies([write_policy(tmp_path, document)], catalog().keys())
    problems = "\n".join(caught.value.problems)
    assert "/codes/J0897/products/2: no product named 'Evenity'" in problems
    assert "/products/Xgeva/indications/0: no indication group named 'bone_mets'" in problems


def test_mistakes_that_would_silently_change_checks_are_errors(tmp_path):
    """A payer rule's code typo matches nothing; an NDC under two products decides for
    one at random; a CTP package without its billed units turns the CTP check off."""
    document = shipped_document()
    document["payer_rules"]["medicare"]["match"]["codes"] = ["J0879"]
    document["products"]["Xgeva"]["ndcs"].append(document["products"]["Prolia"]["ndcs"][0])
    del document["products"]["Prolia"]["units_per_package"]
    result = run_cli("policy", "validate", str(write_policy(tmp_path, document)))
    assert result.exit_code == 2
    assert "/products/Prolia: 'units_per_package' is a dependency of 'package'" in (result.stderr)
    del document["products"]["Prolia"]["package"]
    result = run_cli("policy", "validate", str(write_policy(tmp_path, document)))
    assert result.exit_code == 2
    assert "/payer_rules/medicare/match/codes/0: no code 'J0879' in /codes" in result.stderr
    assert "/products/Xgeva/ndcs/2: NDC 55513071001 is already a product of 'Prolia'" in (
        result.stderr
    )


def test_what_a_unit_is_comes_from_the_policy(tmp_path):
    document = shipped_document()
    document["codes"]["J0897"]["unit"] = "10 mg"
    del document["codes"]["Q5136"]["unit"]
    result = run_cli(
        "check",
        "--no-ig",
        "--format",
        "json",
        "--policy",
        str(write_policy(tmp_path, document)),
        DEMO,
    )
    dose = {
        f["code"]: f["message"]
        for f in json.loads(result.stdout)["files"][0]["findings"]
        if f["rule"] == "units.dose"
    }
    assert dose["J0897"].endswith("is given as 60 units (1 unit = 10 mg)")
    assert dose["Q5136"].endswith("is given as 120 units")


def test_not_json_and_missing_file(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text("{ not json")
    result = run_cli("check", "--policy", str(broken), DEMO)
    assert result.exit_code == 2 and "not JSON" in result.stderr
    result = run_cli("check", "--policy", str(tmp_path / "absent.json"), DEMO)
    assert result.exit_code == 2 and "cannot read" in result.stderr


def test_lines_rejects_an_invalid_policy_even_with_code(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text("{ not json")
    for listing in (("--code", "J0897"), ("--all",), ()):
        result = run_cli("lines", *listing, "--policy", str(broken), DEMO)
        assert result.exit_code == 2 and "not JSON" in result.stderr, listing


def test_lines_grades_file_findings_as_check_does(tmp_path):
    document = shipped_document()
    document["rules"]["x12.unsupported"]["severity"] = "warning"
    policy = str(write_policy(tmp_path, document))
    remittance = str(FIXTURES / "bad/remittance.835")
    check = run_cli("check", "--no-ig", "--format", "json", "--policy", policy, remittance)
    listed = run_cli("lines", "--all", "--policy", policy, remittance)
    assert (check.exit_code, listed.exit_code) == (0, 0)
    assert '"severity": "warning"' in listed.stderr and '"severity": "error"' not in (listed.stderr)


def test_policy_can_regrade_and_switch_off_rules(tmp_path):
    document = shipped_document()
    document["rules"]["units.dose"]["severity"] = "warning"
    document["rules"]["auth.missing"]["severity"] = "off"
    result = run_cli(
        "check", "--format", "json", "--policy", str(write_policy(tmp_path, document)), DEMO
    )
    findings = json.loads(result.stdout)["files"][0]["findings"]
    rules = {(f["rule"], f["severity"]) for f in findings}
    assert ("units.dose", "warning") in rules
    assert not any(rule == "auth.missing" for rule, _ in rules)


def test_a_setting_without_severity_keeps_the_catalog_default(tmp_path):
    """A policy that only names a rule's denial does not make a warning an error."""
    document = shipped_document()
    document["rules"]["admin.missing"] = {"denial": "CARC 16"}
    document["rules"]["units.dose"] = {"denial": "CARC 16"}
    del document["rules"]["ndc.quantity"]
    base = (FIXTURES / "837p/prolia_medicare_clean.837").read_text()
    text = (
        base.replace("UN*60***1", "UN*1***1")  # units.dose, ndc.quantity: errors
        .replace("LX*2~SV1*HC:96372*45*UN*1***1~DTP*472*D8*20260310~", "")  # admin
        .replace("CLM*PMC0001*1695*", "CLM*PMC0001*1650*")
        .replace("SE*31*", "SE*28*")
    )
    claim = tmp_path / "claim.837"
    claim.write_text(text)
    result = run_cli(
        "check",
        "--no-ig",
        "--format",
        "json",
        "--policy",
        str(write_policy(tmp_path, document)),
        str(claim),
    )
    graded = {
        (f["rule"], f["severity"], f["denial"])
        for f in json.loads(result.stdout)["files"][0]["findings"]
    }
    assert graded == {
        ("admin.missing", "warning", "CARC 16"),
        ("units.dose", "error", "CARC 16"),
        ("ndc.quantity", "error", ""),
    }


def test_the_catalog_defaults_are_the_shipped_policy_grades():
    """`edi-precheck rules` and a user's policy that leaves a rule out agree."""
    document = shipped_document()
    for rule in catalog().values():
        assert document["rules"][rule.id]["severity"] == str(rule.severity), rule.id


def test_payer_rule_can_regrade_for_its_payers(tmp_path):
    document = shipped_document()
    document["payer_rules"]["medicare-jw-jz"]["severity"] = {"modifier.waste_missing": "warning"}
    result = run_cli(
        "check", "--format", "json", "--policy", str(write_policy(tmp_path, document)), DEMO
    )
    findings = json.loads(result.stdout)["files"][0]["findings"]
    waste = [f for f in findings if f["rule"] == "modifier.waste_missing"]
    assert [f["severity"] for f in waste] == ["warning"]


def test_a_product_payer_rule_grades_claim_findings_of_its_products_only(tmp_path):
    """The Xgeva-only payer rule switches admin.missing off for Xgeva claims, not Prolia's."""
    document = shipped_document()
    document["payer_rules"]["commercial-xgeva-specialist"]["severity"] = {"admin.missing": "off"}
    policy = str(write_policy(tmp_path, document))
    xgeva = (
        (FIXTURES / "837p/xgeva_commercial_clean.837")
        .read_text()
        .replace("LX*2~SV1*HC:96401*110*UN*1***1~DTP*472*D8*20260407~", "")
        .replace("CLM*XCC0001*2710*", "CLM*XCC0001*2600*")
        .replace("SE*37*", "SE*34*")
    )
    prolia = xgeva.replace("N4*55513073001", "N4*55513071001")
    admin = {}
    for name, text in (("xgeva", xgeva), ("prolia", prolia)):
        claim = tmp_path / f"{name}.837"
        claim.write_text(text)
        result = run_cli("check", "--no-ig", "--format", "json", "--policy", policy, str(claim))
        findings = json.loads(result.stdout)["files"][0]["findings"]
        assert not [f for f in findings if f["rule"].startswith("x12.")]
        admin[name] = [f["severity"] for f in findings if f["rule"] == "admin.missing"]
    assert admin == {"xgeva": [], "prolia": ["warning"]}


def test_a_product_payer_rule_grades_the_claim_balance_of_its_claims(tmp_path):
    document = shipped_document()
    document["payer_rules"]["commercial-xgeva-balance"] = {
        "match": {"filing_indicators": ["CI"], "products": ["Xgeva"]},
        "severity": {"claim.balance": "warning"},
    }
    policy = str(write_policy(tmp_path, document))
    claim = tmp_path / "unbalanced.837"
    claim.write_text(
        (FIXTURES / "837p/xgeva_commercial_clean.837")
        .read_text()
        .replace("CLM*XCC0001*2710*", "CLM*XCC0001*2711*")
    )
    result = run_cli("check", "--no-ig", "--format", "json", "--policy", policy, str(claim))
    balance = [
        f["severity"]
        for f in json.loads(result.stdout)["files"][0]["findings"]
        if f["rule"] == "claim.balance"
    ]
    assert balance == ["warning"]


def test_a_users_policy_can_cover_another_code(tmp_path):
    document = copy.deepcopy(shipped_document())
    document["id"] = "denosumab-local"
    document["settings"]["home"] = {
        "label": "home",
        "claim": "837P",
        "places": ["12"],
        "drug_lines": True,
    }
    result = run_cli(
        "check", "--format", "json", "--policy", str(write_policy(tmp_path, document)), DEMO
    )
    report = json.loads(result.stdout)
    assert report["policies"] == [
        {
            "id": "denosumab-local",
            "version": document["version"],
            "layers": [{"id": "denosumab-local", "version": document["version"]}],
        }
    ]
    assert not any(f["rule"] == "pos.not_allowed" for f in report["files"][0]["findings"])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("55513-0710-01", "55513071001"),
        ("5551-3071-01", "05551307101"),
        ("55513-710-01", "55513071001"),
        ("55513-0710-1", "55513071001"),
        ("55513071001", "55513071001"),
        ("5551307101", None),
        ("55513-0710", None),
        ("abc", None),
    ],
)
def test_normalize_ndc(text, expected):
    assert normalize_ndc(text) == expected


def test_crosswalk_headers_match_loosely_and_notes_are_skipped(tmp_path):
    path = tmp_path / "asp.csv"
    path.write_bytes(
        "ASP NDC-HCPCS Crosswalk, October 2026\nNotes: see the readme\n\n"
        "_2026_CODE,Short Description,LABELER NAME,NDC,Drug Name,HCPCS dosage,PKG SIZE,"
        "PKG QTY,BILLUNITS,BILLUNITSPKG\n"
        "J0897,Inj denosumab,Amgen,55513-0710-01,Prolia,1 MG,1,1,60,60\n"
        "J3489,Zoledronic acid,Caf\xe9 Pharma,12345-678-90,Zoledronic,1 MG,100,1,5,5\n".encode(
            "latin-1"
        )
    )
    crosswalk = Crosswalk.load(path)
    assert crosswalk.codes_for("55513071001") == {"J0897"}
    assert crosswalk.codes_for("12345067890") == {"J3489"}
    assert crosswalk.entries("55513071001")[0].drug_name == "Prolia"


def test_the_crosswalk_names_a_product_whose_ndcs_the_policy_lacks(tmp_path):
    """Conexxence lists no NDC in the shipped policy; a crosswalk row names it, so a
    Q5158 line at 120 units is checked as Conexxence (a 60-unit product), not accepted
    as Bomyntra's dose."""
    crosswalk = tmp_path / "crosswalk.csv"
    crosswalk.write_text(
        "_2026_CODE,Short Description,LABELER NAME,NDC2,Drug Name,HCPCS dosage\n"
        "Q5158,Inj denosumab-bnht,Example,70000-0001-01,Conexxence,1 MG\n"
    )
    base = (FIXTURES / "837p/biosimilar_medicaid_clean.837").read_text()
    assert "SV1*HC:Q5136*1100*UN*60*" in base and "N4*61314024063" in base  # Jubbonti
    text = base.replace("HC:Q5136", "HC:Q5158").replace("N4*61314024063", "N4*70000000101")
    claim = tmp_path / "claim.837"
    dose = {}
    for units in ("60", "120"):
        claim.write_text(text.replace("*UN*60*", f"*UN*{units}*", 1))
        result = run_cli(
            "check", "--no-ig", "--format", "json", "--crosswalk", str(crosswalk), str(claim)
        )
        findings = json.loads(result.stdout)["files"][0]["findings"]
        dose[units] = [f["message"] for f in findings if f["rule"] == "units.dose"]
    assert dose["60"] == []
    assert len(dose["120"]) == 1 and "Conexxence is given as 60 units" in dose["120"][0]


def test_crosswalk_that_is_not_one(tmp_path):
    path = tmp_path / "other.csv"
    path.write_text("a,b,c\n1,2,3\n")
    with pytest.raises(CrosswalkError):
        Crosswalk.load(path)
    result = run_cli("check", "--crosswalk", str(path), DEMO)
    assert result.exit_code == 2 and "no header row" in result.stderr


def test_full_crosswalk_replaces_the_excerpt(tmp_path):
    """A crosswalk that lists the Prolia NDC under Q5136 too: no mismatch any more."""
    path = tmp_path / "asp.csv"
    path.write_text(
        "_2026_CODE,Short Description,LABELER NAME,NDC2,Drug Name,HCPCS dosage,PKG SIZE,"
        "PKG QTY,BILLUNITS,BILLUNITSPKG\n"
        "J0897,Inj denosumab,Amgen,55513-0710-01,Prolia,1 MG,1,1,60,60\n"
        "Q5136,Inj denosumab,Amgen,55513-0710-01,Prolia,1 MG,1,1,60,60\n"
    )
    claim = tmp_path / "q5136_prolia.837"
    claim.write_text(
        (FIXTURES / "837p/j3486_prolia.837").read_text().replace("HC:J3486:JZ", "HC:Q5136:JZ")
    )
    target = str(claim)
    before = run_cli("check", "--format", "json", target)
    after = run_cli("check", "--format", "json", "--crosswalk", str(path), target)
    assert [f["rule"] for f in json.loads(before.stdout)["files"][0]["findings"]] == [
        "ndc.code_mismatch"
    ]
    assert json.loads(after.stdout)["files"][0]["findings"] == []
    assert after.exit_code == 0


# -- layers: base, drug families, overlays ----------------------------------------------


def findings_of(result) -> list[dict]:
    return json.loads(result.stdout)["files"][0]["findings"]


def test_an_overlay_names_only_what_it_changes(tmp_path):
    """A policy of one's own that says only a rule's grade: no copy of the whole file."""
    policy = overlay(tmp_path, rules={"units.dose": {"severity": "warning"}})
    result = run_cli("check", "--no-ig", "--format", "json", "--policy", str(policy), DEMO)
    assert result.exit_code == 1, result.stderr  # the demo's other errors remain
    dose = [f["severity"] for f in findings_of(result) if f["rule"] == "units.dose"]
    assert dose == ["warning", "warning"]
    (checked,) = json.loads(result.stdout)["policies"]
    assert checked["id"] == "denosumab"
    assert [layer["id"] for layer in checked["layers"]] == ["base", "denosumab", "overlay"]


def test_overlays_apply_in_the_order_given(tmp_path):
    first = overlay(tmp_path, "first", rules={"units.dose": {"severity": "warning"}})
    second = overlay(tmp_path, "second", rules={"units.dose": {"severity": "off"}})
    graded = {}
    for order in ((first, second), (second, first)):
        options = [arg for path in order for arg in ("--policy", str(path))]
        result = run_cli("check", "--no-ig", "--format", "json", *options, DEMO)
        graded[order[-1].stem] = {
            f["severity"] for f in findings_of(result) if f["rule"] == "units.dose"
        }
    assert graded == {"second": set(), "first": {"warning"}}


def test_an_overlay_removes_a_payer_rule_with_null(tmp_path):
    policy = overlay(tmp_path, payer_rules={"medicare-jw-jz": None})
    result = run_cli("check", "--no-ig", "--format", "json", "--policy", str(policy), DEMO)
    assert not [f for f in findings_of(result) if f["rule"] == "modifier.waste_missing"]


def test_an_overlay_that_names_what_does_not_exist_is_an_error_that_points_at_it(tmp_path):
    policy = overlay(
        tmp_path,
        rules={"units.doze": {"severity": "off"}},
        products={"Xgevva": {"indications": ["bone_metastases"]}},
        payer_rules={
            "comercial": {"require": {"prior_authorization": True}},
            "medicaid": {"match": {"settings": ["offce"]}},
        },
        settings={"hom": None},
    )
    result = run_cli("policy", "validate", str(policy))
    assert result.exit_code == 2
    where = f"{policy}:"
    assert f"{where}/settings/hom: nothing named 'hom' to remove" in result.stderr
    result = run_cli(
        "policy",
        "validate",
        str(
            overlay(
                tmp_path,
                rules={"units.doze": {"severity": "off"}},
                products={"Xgevva": {"indications": ["bone_metastases"]}},
                payer_rules={
                    "comercial": {"require": {"prior_authorization": True}},
                    "medicaid": {"match": {"settings": ["offce"]}},
                },
            )
        ),
    )
    assert result.exit_code == 2
    stderr = " ".join(result.stderr.split())
    assert (
        f"{where}/products/Xgevva: 'ingredient' is a required property (the policies "
        "'overlay' extends have no product 'Xgevva'"
    ) in stderr
    assert (
        f"{where}/payer_rules/comercial: 'match' is a required property (the policies "
        "'overlay' extends have no payer rule 'comercial'"
    ) in stderr
    result = run_cli(
        "policy",
        "validate",
        str(
            overlay(
                tmp_path,
                rules={"units.doze": {"severity": "off"}},
                payer_rules={"medicaid": {"match": {"settings": ["offce"]}}},
            )
        ),
    )
    stderr = " ".join(result.stderr.split())
    assert f"{where}/rules/units.doze: unknown rule id 'units.doze'" in stderr
    assert f"{where}/payer_rules/medicaid/match/settings/0: no setting named 'offce'" in stderr


def test_an_overlay_of_an_unknown_policy(tmp_path):
    policy = write_policy(
        tmp_path, {"id": "x", "kind": "overlay", "extends": "zoledronic", "version": "1"}
    )
    result = run_cli("check", "--policy", str(policy), DEMO)
    assert result.exit_code == 2
    assert f"{policy}:/extends: no policy 'zoledronic'" in result.stderr


def test_an_overlay_of_the_base_changes_every_family(tmp_path):
    policy = write_policy(
        tmp_path,
        {
            "id": "site",
            "kind": "overlay",
            "extends": "base",
            "version": "1",
            "rules": {"modifier.waste_missing": {"severity": "off"}},
        },
    )
    result = run_cli("check", "--no-ig", "--format", "json", "--policy", str(policy), DEMO)
    assert not [f for f in findings_of(result) if f["rule"] == "modifier.waste_missing"]
    (checked,) = json.loads(result.stdout)["policies"]
    assert [layer["id"] for layer in checked["layers"]] == ["base", "site", "denosumab"]


ZOLEDRONIC = Path(__file__).parent / "fixtures/policies/zoledronic-acid.json"


def test_another_drug_family_is_data_only_and_runs_beside_the_shipped_one(tmp_path):
    """Zoledronic acid (J3489) as a family of its own that extends the base: no Python."""
    claim = (FIXTURES / "837p/prolia_medicare_clean.837").read_text()
    claim = (
        claim.replace("HC:J0897:JZ*1650*UN*60", "HC:J3489:JZ*1650*UN*5")
        .replace("~LIN**N4*55513071001~CTP****1*UN", "")
        .replace("HC:96372*45", "HC:96365*45")
    )
    claim = claim.replace("SE*31*", "SE*29*")
    path = tmp_path / "reclast.837"
    path.write_text(claim)
    result = run_cli(
        "check", "--no-ig", "--format", "json", "--policy", str(ZOLEDRONIC), str(path), DEMO
    )
    report = json.loads(result.stdout)
    assert [p["id"] for p in report["policies"]] == ["denosumab", "zoledronic-acid"]
    assert report["files"][0]["findings"] == [] and report["files"][0]["checked_lines"] == 1
    assert report["files"][1]["checked_lines"] == 6  # the demo's denosumab lines still are
    path.write_text(claim.replace("UN*5***1", "UN*10***1"))
    result = run_cli("check", "--no-ig", "--format", "json", "--policy", str(ZOLEDRONIC), str(path))
    (dose,) = [f for f in findings_of(result) if f["rule"] == "units.dose"]
    assert "Reclast or Zometa is given as 4 or 5 units" in dose["message"]


def test_the_shipped_example_overlays_are_valid():
    examples = sorted((FIXTURES / "policies").glob("*.json"))
    assert len(examples) >= 2
    result = run_cli("policy", "validate", *map(str, examples))
    assert result.exit_code == 0, result.stderr
    assert "+ testcommercial-health-plan 2026.11.1 + texas-medicaid 2026.11.1" in result.stdout


def test_policy_show_prints_the_merged_policy(tmp_path):
    policy = overlay(tmp_path, rules={"units.dose": {"severity": "warning"}})
    result = run_cli("policy", "show", str(policy))
    assert result.exit_code == 0, result.stderr
    (shown,) = json.loads(result.stdout)
    assert shown["layers"] == ["shipped:base.json", "shipped:denosumab.json", str(policy)]
    assert shown["rules"]["units.dose"]["severity"] == "warning"
    assert shown["products"]["Aukelso"]["dose_units"] == [120]  # from Xgeva, its reference


def test_biosimilars_take_what_they_leave_out_from_their_reference():
    policy = shipped_document()["products"]
    assert policy["Aukelso"]["dose_units"] == [120] and policy["Bosaya"]["dose_units"] == [60]
    assert policy["Aukelso"]["administration_codes"] == ["96372", "96401"]
    assert policy["Bosaya"]["administration_codes"] == ["96372"]
    assert "96402" not in json.dumps(policy)
    assert policy["Bomyntra"]["form"].endswith("prefilled syringe (not a vial)")


def test_a_code_set_release_is_for_the_services_of_its_year():
    """The installed ICD-10-CM release is for the services of the code-set year it was
    published in (October 1 to September 30, in the shipped policy): dx.invalid trusts it
    there only (tests/fixtures/rules/dx.invalid.json has the findings)."""
    from datetime import date

    from edi_precheck.policy.icd10 import release_date

    billing = load_policies([], catalog().keys())[0].billing
    assert release_date("icd10c-tabular-April-1-2026-1234567") == date(2026, 4, 1)
    assert release_date("icd10c-tabular-October-1-2025-99") == date(2025, 10, 1)
    assert release_date("icd10cm-tabular-2026") is None
    year = (date(2025, 10, 1), date(2026, 9, 30))
    for published in (date(2025, 10, 1), date(2026, 4, 1), date(2026, 9, 30)):
        assert billing.code_set_year(published) == year
    assert billing.code_set_year(date(2026, 10, 1)) == (date(2026, 10, 1), date(2027, 9, 30))


def test_a_plan_that_confirms_the_indication_lists_gets_its_errors_and_only_it(tmp_path):
    """The example plan pays only the label's diagnoses and its policy confirms the lists:
    a Prolia line for hypertension alone is an error on its claims, while the same line to
    Medicare stays a warning (the shipped lists are UNCONFIRMED). A group the overlay
    names that does not exist is an error that points at it."""
    strict = str(FIXTURES / "policies/commercial-plan-strict.json")
    xgeva = (FIXTURES / "837p/xgeva_commercial_clean.837").read_text()
    hypertension = xgeva.replace("HI*ABK:C7951*ABF:C50911", "HI*ABK:I10*ABF:C50911")
    plan = tmp_path / "plan.837"
    plan.write_text(hypertension)
    medicare = tmp_path / "medicare.837"
    medicare.write_text(
        hypertension.replace("******CI~", "******MB~").replace("PI*TCHP1", "PI*01112")
    )

    def graded(path: Path) -> list[str]:
        result = run_cli("check", "--no-ig", "--format", "json", "--policy", strict, str(path))
        findings = json.loads(result.stdout)["files"][0]["findings"]
        return [f["severity"] for f in findings if f["rule"] == "dx.not_covered"]

    assert graded(plan) == ["error"]
    assert graded(medicare) == ["warning"]
    policy = overlay(
        tmp_path,
        payer_rules={"commercial": {"confirms_indications": ["osteoporosys"]}},
    )
    result = run_cli("policy", "validate", str(policy))
    assert result.exit_code == 2
    assert (
        f"{policy}:/payer_rules/commercial/confirms_indications/0: no indication group named "
        "'osteoporosys' in /indications" in result.stderr
    )
