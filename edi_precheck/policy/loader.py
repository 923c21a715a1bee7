"""Load policies and validate them before any EDI is read.

Every problem is collected, not just the first: schema errors (jsonschema, Draft 2020-12),
then references between sections (a product a code names, an indication group a product
names, a rule id the catalog does not know). Each is reported as `file:/json/pointer:
message`, and a bad policy stops the run with exit 2.

A policy text that passed the schema once is remembered in the cache, by a hash of its
text, the schema's and the tool version; the same text is then not validated again. That
spares a pre-submit hook, which pays its start-up on every file, loading jsonschema (about
0.15 s here). The reference checks, cheap, run every time.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Iterable
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edi_precheck.policy.cache import cache_dir, write_atomically
from edi_precheck.policy.model import Policy

if TYPE_CHECKING:
    import jsonschema

SHIPPED = "edi_precheck.policy"


class PolicyError(Exception):
    """One or more policies are invalid; `problems` lists `source:pointer: message`."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid policy:\n  " + "\n  ".join(problems))
        self.problems = problems


@cache
def _schema_text(name: str) -> str:
    return (resources.files("edi_precheck") / "schemas" / f"{name}.schema.json").read_text("utf-8")


@cache
def schema(name: str) -> dict[str, Any]:
    """A JSON Schema shipped in the package (`policy` or `report`)."""
    return json.loads(_schema_text(name))


@cache
def _policy_validator() -> jsonschema.Draft202012Validator:
    import jsonschema  # here, not at the top: most runs never need it (see above)

    # The schema itself is checked against the metaschema by the tests, not on every run:
    # that check alone would cost a pre-submit hook 0.2 s per file.
    document = schema("policy")
    return jsonschema.Draft202012Validator(
        document, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


def _pointer(path: Iterable[Any]) -> str:
    parts = [str(part).replace("~", "~0").replace("/", "~1") for part in path]
    return "/" + "/".join(parts)


def _reference_problems(document: dict[str, Any], known_rules: Collection[str]) -> list[str]:
    """Names one section uses that another section (or the rule catalog) lacks."""
    problems = []
    products = document["products"]
    for code, spec in document["codes"].items():
        for position, name in enumerate(spec["products"]):
            if name not in products:
                problems.append(
                    f"{_pointer(['codes', code, 'products', position])}: "
                    f"no product named '{name}' in /products"
                )
    for name, spec in products.items():
        for position, group in enumerate(spec["indications"]):
            if group not in document["indications"]:
                problems.append(
                    f"{_pointer(['products', name, 'indications', position])}: "
                    f"no indication group '{group}' in /indications"
                )
    for rule_id in document["rules"]:
        if rule_id not in known_rules:
            problems.append(f"{_pointer(['rules', rule_id])}: unknown rule id '{rule_id}'")
    for position, payer_rule in enumerate(document["payer_rules"]):
        for rule_id in payer_rule.get("severity", {}):
            if rule_id not in known_rules:
                problems.append(
                    f"{_pointer(['payer_rules', position, 'severity', rule_id])}: "
                    f"unknown rule id '{rule_id}'"
                )
        for index, name in enumerate(payer_rule["match"].get("products", ())):
            if name not in products:
                problems.append(
                    f"{_pointer(['payer_rules', position, 'match', 'products', index])}: "
                    f"no product named '{name}' in /products"
                )
        for index, code in enumerate(payer_rule["match"].get("codes", ())):
            if code not in document["codes"]:  # a typo would make the rule match nothing
                problems.append(
                    f"{_pointer(['payer_rules', position, 'match', 'codes', index])}: "
                    f"no code '{code}' in /codes"
                )
    owners: dict[str, str] = {}
    for name, spec in products.items():
        for index, ndc in enumerate(spec["ndcs"]):
            if ndc in owners:  # the NDC decides the product: it cannot name two
                problems.append(
                    f"{_pointer(['products', name, 'ndcs', index])}: NDC {ndc} "
                    f"is already a product of '{owners[ndc]}'"
                )
            owners.setdefault(ndc, name)
    return problems


def _schema_problems(document: Any) -> list[str]:
    from jsonschema.exceptions import relevance

    errors = sorted(_policy_validator().iter_errors(document), key=relevance)
    return [f"{_pointer(error.absolute_path)}: {error.message}" for error in errors]


def validate_document(document: Any, known_rules: Collection[str]) -> list[str]:
    """Every problem of one policy document, as `/pointer: message` strings."""
    return _schema_problems(document) or _reference_problems(document, known_rules)


def _stamp(text: str) -> Path:
    """The cache file whose presence says `text` passed this version's policy schema."""
    from edi_precheck import __version__

    digest = hashlib.sha256()
    for part in (__version__, _schema_text("policy"), text):
        digest.update(part.encode("utf-8") + b"\0")
    return cache_dir() / "valid-policies" / digest.hexdigest()


def _read(source: str, text: str, known_rules: Collection[str]) -> Policy:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise PolicyError(
            [f"{source}: not JSON: {error.msg} at line {error.lineno}, column {error.colno}"]
        ) from None
    stamp = _stamp(text)
    if stamp.exists():
        problems = _reference_problems(document, known_rules)
    else:
        problems = validate_document(document, known_rules)
        if not problems:
            write_atomically(stamp, "")
    if problems:
        raise PolicyError([f"{source}:{problem}" for problem in problems])
    return Policy.from_document(document, source)


def load_policy(path: Path, known_rules: Collection[str]) -> Policy:
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise PolicyError([f"{path}: cannot read: {error}"]) from None
    return _read(str(path), text, known_rules)


def shipped_policies(known_rules: Collection[str]) -> list[Policy]:
    """The policies inside the package, in file-name order."""
    folder = resources.files(SHIPPED) / "data"
    entries = sorted(
        (entry for entry in folder.iterdir() if entry.name.endswith(".json")),
        key=lambda entry: entry.name,
    )
    return [
        _read(f"shipped:{entry.name}", entry.read_text("utf-8"), known_rules) for entry in entries
    ]


def load_policies(paths: Iterable[Path], known_rules: Collection[str]) -> list[Policy]:
    """The policies of `paths`, or the shipped ones when there are none.

    All files are read and every problem of every file is reported together.
    """
    paths = list(paths)
    if not paths:
        return shipped_policies(known_rules)
    policies, problems = [], []
    for path in paths:
        try:
            policies.append(load_policy(path, known_rules))
        except PolicyError as error:
            problems.extend(error.problems)
    if problems:
        raise PolicyError(problems)
    ids = [policy.id for policy in policies]
    duplicates = sorted({policy_id for policy_id in ids if ids.count(policy_id) > 1})
    if duplicates:
        raise PolicyError([f"two policies have the id '{policy_id}'" for policy_id in duplicates])
    return policies
