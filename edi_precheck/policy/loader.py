"""Load policy layers, merge each drug family, and validate it before any EDI is read.

Every problem is collected, not just the first, as `source:/json/pointer: message`, where
source is the layer that wrote the part in question:

1. each layer against the policy schema with nothing required (a layer names only what it
   changes; derived from the schema by `layer_schema`);
2. each family's merged document against the full schema (an overlay's entry whose name
   its parents lack is a new entry and must be complete: that is how a misspelt product or
   payer rule is caught);
3. references between sections (a product a code names, a setting a payer rule matches, a
   rule id the catalog does not know, an NDC under two products).

A bad policy stops the run with exit 2. A family whose layer texts passed the schema once
is remembered in the cache, by a hash of those texts, the schema's and the tool version;
they are then not validated again. That spares a pre-submit hook, which pays its start-up
on every file, loading jsonschema (about 0.15 s here). The reference checks, cheap, run
every time.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Iterable
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edi_precheck.policy.cache import read_entry, write_entry
from edi_precheck.policy.layers import (
    NAMED_SECTIONS,
    Layer,
    LayerProblem,
    LayerSet,
    Resolved,
    layer_from_document,
    pointer,
)
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


def _relaxed(node: Any) -> Any:
    if isinstance(node, list):
        return [_relaxed(item) for item in node]
    if not isinstance(node, dict):
        return node
    relaxed = {}
    for key, value in node.items():
        if key in ("required", "minProperties", "dependentRequired"):
            continue
        if key == "anyOf" and all(set(item) == {"required"} for item in value):
            continue  # "one of these must be given": the merged policy must, a layer need not
        relaxed[key] = _relaxed(value)
    return relaxed


def _without_nulls(node: Any) -> Any:
    """A layer as the layer schema sees it: a null removes what it names when layers are
    merged, so it has no shape of its own to check."""
    if isinstance(node, dict):
        return {key: _without_nulls(value) for key, value in node.items() if value is not None}
    if isinstance(node, list):
        return [_without_nulls(item) for item in node]
    return node


@cache
def layer_schema() -> dict[str, Any]:
    """The policy schema as one layer must meet it: the same shapes, nothing required but
    the layer's id and version (nulls, which remove entries, are taken out first)."""
    relaxed = _relaxed(schema("policy"))
    relaxed["required"] = ["id", "version"]
    return relaxed


@cache
def _validator(which: str) -> jsonschema.Draft202012Validator:
    import jsonschema  # here, not at the top: most runs never need it (see above)

    # The schema itself is checked against the metaschema by the tests, not on every run:
    # that check alone would cost a pre-submit hook 0.2 s per file.
    document = layer_schema() if which == "layer" else schema("policy")
    return jsonschema.Draft202012Validator(
        document, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


def _schema_problems(document: Any, which: str) -> list[tuple[list[Any], str]]:
    from jsonschema.exceptions import relevance

    errors = sorted(_validator(which).iter_errors(document), key=relevance)
    return [(list(error.absolute_path), error.message) for error in errors]


def _reference_problems(
    document: dict[str, Any], known_rules: Collection[str]
) -> list[tuple[list[Any], str]]:
    """Names one section uses that another section (or the rule catalog) lacks."""
    problems: list[tuple[list[Any], str]] = []
    products, settings = document["products"], document["settings"]

    def named(path: list[Any], names: Iterable[str], section: str, what: str) -> None:
        for index, name in enumerate(names):
            if name not in document[section]:
                problems.append(([*path, index], f"no {what} named '{name}' in /{section}"))

    for code, spec in document["codes"].items():
        named(["codes", code, "products"], spec.get("products", ()), "products", "product")
    for name, spec in products.items():
        named(
            ["products", name, "indications"],
            spec["indications"],
            "indications",
            "indication group",
        )
        keys = {
            key
            for group in spec["indications"]
            for key in document["indications"].get(group, {}).get("any", {})
        }
        for index, key in enumerate(spec.get("loading_doses", {}).get("indications", ())):
            if key not in keys:
                problems.append(
                    (
                        ["products", name, "loading_doses", "indications", index],
                        f"no indication '{key}' in the product's indication groups",
                    )
                )
        reference = spec.get("biosimilar_of")
        if reference is not None and reference not in products:
            problems.append(
                (["products", name, "biosimilar_of"], f"no product named '{reference}'")
            )
    problems += [
        (["rules", rule_id], f"unknown rule id '{rule_id}'")
        for rule_id in document["rules"]
        if rule_id not in known_rules
    ]
    for rule_name, payer_rule in document["payer_rules"].items():
        here = ["payer_rules", rule_name]
        problems += [
            ([*here, "severity", rule_id], f"unknown rule id '{rule_id}'")
            for rule_id in payer_rule.get("severity", {})
            if rule_id not in known_rules
        ]
        match = payer_rule["match"]
        named([*here, "match", "products"], match.get("products", ()), "products", "product")
        named([*here, "match", "settings"], match.get("settings", ()), "settings", "setting")
        named(
            [*here, "confirms_indications"],
            payer_rule.get("confirms_indications", ()),
            "indications",
            "indication group",
        )
        for index, code in enumerate(match.get("codes", ())):
            if code not in document["codes"]:  # a typo would make the rule match nothing
                problems.append(([*here, "match", "codes", index], f"no code '{code}' in /codes"))
    catch_all: dict[str, str] = {}
    owners: dict[str, str] = {}
    for name, spec in settings.items():
        for place in spec.get("places", ()):
            key = f"{spec['claim']} {place}"
            if key in owners:  # the claim's setting must be one
                problems.append(
                    (["settings", name, "places"], f"{key} is already in setting '{owners[key]}'")
                )
            owners.setdefault(key, name)
        if "places" not in spec and catch_all.setdefault(spec["claim"], name) != name:
            problems.append(
                (
                    ["settings", name],
                    f"setting '{catch_all[spec['claim']]}' already takes the "
                    f"{spec['claim']} places no setting lists",
                )
            )
    ndc_owners: dict[str, str] = {}
    for name, spec in products.items():
        for index, ndc in enumerate(spec["ndcs"]):
            if ndc in ndc_owners:  # the NDC decides the product: it cannot name two
                problems.append(
                    (
                        ["products", name, "ndcs", index],
                        f"NDC {ndc} is already a product of '{ndc_owners[ndc]}'",
                    )
                )
            ndc_owners.setdefault(ndc, name)
    return problems


def _cited(resolved: Resolved, problems: list[tuple[list[Any], str]]) -> list[str]:
    """Problems of a merged document, each cited at the layer that wrote that part."""
    cited = []
    for path, message in problems:
        layer = resolved.owner(path)
        text = f"{layer.source}:{pointer(path)}: {message}"
        if len(path) >= 2 and (path[0], path[1]) in resolved.introduced:
            introducer = resolved.introduced[(path[0], path[1])]
            if introducer.extends is not None:
                text += (
                    f" (the policies '{introducer.id}' extends have no "
                    f"{NAMED_SECTIONS[path[0]]} '{path[1]}': a new one must be complete; "
                    "is the name right?)"
                )
        cited.append(text)
    return cited


# The cache entries that say a family's layers passed this version's schema: named by, and
# holding, the hash of the tool version, the schema and the layers' texts. An entry counts
# only when what it holds is that hash: an empty, cut or foreign file never skips validation.
STAMPS = "valid-policies"


def _stamp(resolved: Resolved) -> str:
    """The hash that a validation stamp of these layers is named by and holds."""
    from edi_precheck import __version__

    digest = hashlib.sha256()
    for part in (__version__, _schema_text("policy"), *(layer.text for layer in resolved.chain)):
        digest.update(part.encode("utf-8") + b"\0")
    return digest.hexdigest()


def _stamped(stamp: str) -> bool:
    return read_entry(STAMPS, stamp, len(stamp)) == stamp


def _read_layer(source: str, text: str) -> Layer:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise PolicyError(
            [f"{source}: not JSON: {error.msg} at line {error.lineno}, column {error.colno}"]
        ) from None
    try:
        return layer_from_document(document, source, text)
    except LayerProblem as problem:
        raise PolicyError([str(problem)]) from None


def _file_layer(path: Path) -> Layer:
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise PolicyError([f"{path}: cannot read: {error}"]) from None
    return _read_layer(str(path), text)


@cache
def _shipped_texts() -> tuple[tuple[str, str], ...]:
    folder = resources.files(SHIPPED) / "data"
    entries = sorted(
        (entry for entry in folder.iterdir() if entry.name.endswith(".json")),
        key=lambda entry: entry.name,
    )
    return tuple((f"shipped:{entry.name}", entry.read_text("utf-8")) for entry in entries)


def shipped_layers() -> list[Layer]:
    """The layers inside the package, in file-name order."""
    return [_read_layer(source, text) for source, text in _shipped_texts()]


def _check(resolved: Resolved, known_rules: Collection[str]) -> list[str]:
    """Every problem of a merged family: its layers and the whole against the schema (once
    for the same texts: the stamp remembers it), then its references, always (they depend
    on the rule catalog too)."""
    if resolved.problems:
        return resolved.problems
    stamp = _stamp(resolved)
    if not _stamped(stamp):
        problems = [
            f"{layer.source}:{pointer(path)}: {message}"
            for layer in resolved.chain
            for path, message in _schema_problems(_without_nulls(layer.document), "layer")
        ] or _cited(resolved, _schema_problems(resolved.document, "full"))
        if problems:
            return problems
        write_entry(STAMPS, stamp, stamp)
    return _cited(resolved, _reference_problems(resolved.document, known_rules))


def resolve_policies(
    paths: Iterable[Path], known_rules: Collection[str]
) -> list[tuple[Policy, Resolved]]:
    """Each drug family a run with these policy files checks, merged and validated.

    With no files, the shipped families. A drug policy of one's own replaces the shipped
    families (unless an overlay names one); an overlay changes the policy it extends.
    """
    problems: list[str] = []
    given = []
    for path in paths:
        try:
            given.append(_file_layer(path))
        except PolicyError as error:
            problems.extend(error.problems)
    if problems:
        raise PolicyError(problems)
    layers = LayerSet(shipped_layers(), given)
    if layers.problems:
        raise PolicyError(layers.problems)
    families = layers.families()
    if not families:
        raise PolicyError(
            [
                f"{layer.source}: no drug family to check (a base layer is only extended)"
                for layer in given
            ]
        )
    results = []
    for family in families:
        resolved = layers.resolve(family)
        found = _check(resolved, known_rules)
        if found:
            problems.extend(problem for problem in found if problem not in problems)
            continue
        results.append((Policy.from_resolved(resolved), resolved))
    if problems:
        raise PolicyError(problems)
    return results


def load_policies(paths: Iterable[Path], known_rules: Collection[str]) -> list[Policy]:
    """The policies (one per drug family) a run with these policy files checks."""
    return [policy for policy, _ in resolve_policies(paths, known_rules)]


def shipped_policies(known_rules: Collection[str]) -> list[Policy]:
    """The shipped drug families, merged with the shipped base."""
    return load_policies((), known_rules)


def validate_document(document: Any, known_rules: Collection[str]) -> list[str]:
    """Every problem of one complete (unlayered) policy document, as `/pointer: message`."""
    problems = _schema_problems(document, "full")
    if not problems:
        problems = _reference_problems(document, known_rules)
    return [f"{pointer(path)}: {message}" for path, message in problems]
