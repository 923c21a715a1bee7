"""The rule catalog documents itself, and the README's table is generated from it."""

from __future__ import annotations

import re

import pytest

from conftest import ROOT, run_cli
from edi_precheck.policy import schema
from edi_precheck.report.catalog_doc import BEGIN, END
from edi_precheck.rules import DOC_SECTIONS, catalog

PRODUCT_RULE_IDS = {  # the stable ids of product.md
    "x12.unreadable",
    "x12.envelope",
    "x12.syntax",
    "x12.unsupported",
    "x12.ig",
    "claim.balance",
    "units.missing",
    "units.basis",
    "units.not_whole",
    "units.dose",
    "units.mue",
    "ndc.missing",
    "ndc.format",
    "ndc.unknown",
    "ndc.code_mismatch",
    "ndc.quantity",
    "modifier.invalid",
    "modifier.not_allowed",
    "modifier.waste_missing",
    "modifier.waste_conflict",
    "pos.missing",
    "pos.not_allowed",
    "revenue.code",
    "dx.pointer",
    "dx.invalid",
    "dx.not_covered",
    "auth.missing",
    "provider.specialty",
    "admin.missing",
    "date.invalid",
}


# Added since, each named in the README: ids are contracts once released.
ADDED_RULE_IDS = {
    "claim.duplicate",  # history, as the product description planned it
    "units.frequency",
    "code.inactive",
    "code.unclassified",
    "code.wrong_drug",
    "ndc.unit",
    "x12.version",
    "claim.original_missing",  # a replacement or void without REF*F8 (README, Contracts)
}


def test_catalog_holds_the_product_rule_ids():
    assert set(catalog()) == PRODUCT_RULE_IDS | ADDED_RULE_IDS


@pytest.mark.parametrize("rule", catalog().values(), ids=lambda rule: rule.id)
def test_rule_doc_has_its_sections_in_order(rule):
    headings = re.findall(r"^## (.+)$", rule.doc, re.M)
    assert tuple(headings) == DOC_SECTIONS
    assert rule.title and not rule.title.startswith("#")
    for section in DOC_SECTIONS:
        assert rule.section(section), f"{rule.id}: empty section {section}"


def _schema_has(path: list[str], node: dict, root: dict) -> bool:
    """Whether a dotted policy key (with * for any name or item) is in the schema."""
    if "$ref" in node:
        node = root["$defs"][node["$ref"].rsplit("/", 1)[-1]]
    if not path:
        return True
    head, rest = path[0], path[1:]
    if node.get("type") == "array" and head == "*":
        return _schema_has(rest, node["items"], root)
    properties = node.get("properties", {})
    if head in properties:
        return _schema_has(rest, properties[head], root)
    if head == "*" and isinstance(node.get("additionalProperties"), dict):
        return _schema_has(rest, node["additionalProperties"], root)
    return False


@pytest.mark.parametrize("rule", catalog().values(), ids=lambda rule: rule.id)
def test_policy_keys_exist_in_the_schema(rule):
    keys = re.findall(r"`([a-z_*.]+)`", rule.section("Policy keys"))
    policy_schema = schema("policy")
    for key in keys:
        if key.startswith("rules."):
            assert key.removeprefix("rules.") in catalog(), key
            continue
        assert _schema_has(key.split("."), policy_schema, policy_schema), (
            f"{rule.id}: policy key {key} is not in policy.schema.json"
        )


def test_readme_rule_table_is_generated():
    table = run_cli("rules", "--format", "markdown").stdout
    readme = (ROOT / "README.md").read_text()
    start, end = readme.index(BEGIN), readme.index(END) + len(END)
    assert readme[start:end] + "\n" == table.strip() + "\n", (
        "README rule table is stale: paste `edi-precheck rules --format markdown`"
    )


def test_every_rule_that_runs_on_every_claim_says_whether_the_skim_checks_it():
    """A rule that runs on every claim is either made by the claim skim as it passes over a
    claim, or switches skimming off: registering it without saying which is refused."""
    from edi_precheck.rules._registry import rule

    every = [r for r in catalog().values() if r.all_claims]
    assert [r.id for r in every] == ["claim.balance"] and all(r.skimmed for r in every)

    def newcheck(ctx):
        return iter(())

    newcheck.__module__ = "edi_precheck.rules.claim.newcheck"
    with pytest.raises(ValueError, match="say whether the claim skim makes its check"):
        rule("claim.newcheck", snip=3, scope="claim", all_claims=True)(newcheck)


def test_the_shipped_catalog_keeps_skimming_on():
    from edi_precheck.policy import Crosswalk, shipped_policies
    from edi_precheck.rules.runner import ClaimChecker

    checker = ClaimChecker(shipped_policies(catalog().keys()), Crosswalk.load())
    assert checker.skim_codes() is not None


def test_file_level_rules_are_declared_as_the_finding_factory_makes_them():
    from edi_precheck.findings import FILE_RULES

    declared = {r.id: r.snip for r in catalog().values() if r.scope == "file"}
    assert declared == FILE_RULES
