"""Policy layers: a base, drug families that extend it, overlays that change them.

A layer is one JSON document. `extends` names its parent; the layers of a drug family,
merged root first, form the family's policy. Merging follows JSON Merge Patch (RFC 7396):
objects merge key by key, arrays and values replace, `null` removes an entry. So an
overlay names only what it changes: a rule's severity, a payer rule's requirement, an
indication, a setting. Overlays apply on top of the layer they extend, in the order they
were given; an overlay of the base changes every family.

This module only combines documents and says where each part came from; `loader` validates
them and builds the typed view.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

KINDS = ("base", "drug", "overlay")
# Top-level keys that describe a layer rather than merge into the family's policy.
META = frozenset({"$schema", "id", "kind", "extends", "version", "title", "description"})
# Sections keyed by name: an entry a layer names that its parents lack is a new entry.
# (Rule ids are not named here: the catalog, not a parent layer, says which exist.)
NAMED_SECTIONS = {
    "codes": "code",
    "settings": "setting",
    "products": "product",
    "indications": "indication group",
    "payer_rules": "payer rule",
}
# What a biosimilar leaves out, it takes from the product it follows.
NOT_INHERITED = frozenset({"ingredient", "biosimilar_of", "ndcs", "ndcs_note", "source", "form"})


class LayerProblem(Exception):
    """A problem of one layer, at a JSON pointer of its document."""


@dataclass(slots=True)
class Layer:
    """One policy document as read, before merging."""

    id: str
    kind: str  # base, drug or overlay
    extends: str | None
    version: str
    document: dict[str, Any]
    source: str  # a file path, or shipped:<name>
    text: str  # as read: a validated text is remembered by its hash


@dataclass(slots=True)
class Resolved:
    """A drug family's merged policy document and the layers it was merged from."""

    document: dict[str, Any]
    chain: list[Layer]  # root first; overlays after the layer they extend
    introduced: dict[tuple[str, str], Layer] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def owner(self, path: Iterable[Any]) -> Layer:
        """The last layer that wrote the part of the document at `path`."""
        head = list(path)[:2]
        for layer in reversed(self.chain):
            node: Any = layer.document
            for part in head:
                if not isinstance(node, Mapping) or part not in node:
                    break
                node = node[part]
            else:
                return layer
        return self.family

    @property
    def family(self) -> Layer:
        """The drug layer the family is named after (the last non-overlay in the chain)."""
        return [layer for layer in self.chain if layer.kind != "overlay"][-1]


def pointer(path: Iterable[Any]) -> str:
    """A JSON pointer (RFC 6901) for a path of keys and indexes."""
    parts = [str(part).replace("~", "~0").replace("/", "~1") for part in path]
    return "/" + "/".join(parts)


def layer_from_document(document: Any, source: str, text: str) -> Layer:
    """The Layer of a parsed document; raises LayerProblem when it cannot be one."""
    if not isinstance(document, dict):
        raise LayerProblem(f"{source}: a policy is a JSON object")
    kind = document.get("kind", "drug")
    extends = document.get("extends")
    if kind not in KINDS:
        raise LayerProblem(f"{source}:/kind: '{kind}' is not one of {', '.join(KINDS)}")
    if kind == "overlay" and not isinstance(extends, str):
        raise LayerProblem(f"{source}:/extends: an overlay names the policy it changes")
    if kind == "base" and extends is not None:
        raise LayerProblem(f"{source}:/extends: a base layer extends nothing")
    return Layer(
        id=str(document.get("id", "")),
        kind=kind,
        extends=extends if isinstance(extends, str) else None,
        version=str(document.get("version", "")),
        document=document,
        source=source,
        text=text,
    )


def _merge(
    target: dict[str, Any],
    patch: Mapping[str, Any],
    path: list[Any],
    layer: Layer,
    resolved: Resolved,
) -> None:
    for key, value in patch.items():
        here = [*path, key]
        if value is None:
            if key in target:
                del target[key]
            else:
                resolved.problems.append(
                    f"{layer.source}:{pointer(here)}: nothing named '{key}' to remove in the "
                    f"policies '{layer.id}' extends"
                )
        elif isinstance(value, Mapping) and isinstance(target.get(key), dict):
            _merge(target[key], value, here, layer, resolved)
        else:
            if len(here) == 2 and here[0] in NAMED_SECTIONS and key not in target:
                resolved.introduced[(here[0], key)] = layer
            target[key] = copy.deepcopy(value)


def _apply(resolved: Resolved, layer: Layer) -> None:
    body = {key: value for key, value in layer.document.items() if key not in META}
    sources = body.pop("sources", None)
    _merge(resolved.document, body, [], layer, resolved)
    if isinstance(sources, list):  # every layer's sources stand beside its parents'
        resolved.document.setdefault("sources", []).extend(sources)
    resolved.chain.append(layer)


def inherit_biosimilars(document: dict[str, Any]) -> None:
    """Give each biosimilar what it leaves out from the product it follows."""
    products = document.get("products")
    if not isinstance(products, dict):
        return
    done: set[str] = set()

    def complete(name: str, seen: tuple[str, ...]) -> None:
        spec = products.get(name)
        if name in done or not isinstance(spec, dict):
            return
        reference = spec.get("biosimilar_of")
        if isinstance(reference, str) and reference not in seen:
            complete(reference, (*seen, name))
            source = products.get(reference)
            if isinstance(source, dict):
                for key, value in source.items():
                    if key not in NOT_INHERITED and key not in spec:
                        spec[key] = copy.deepcopy(value)
        done.add(name)

    for name in list(products):
        complete(name, ())


class LayerSet:
    """The layers of a run: the shipped ones, then the user's, which replace a shipped
    layer of the same id and are applied in the order given."""

    def __init__(self, shipped: list[Layer], given: list[Layer]) -> None:
        self.problems: list[str] = []
        self.layers: dict[str, Layer] = {layer.id: layer for layer in shipped}
        seen: dict[str, Layer] = {}
        for layer in given:
            if layer.id in seen:
                self.problems.append(
                    f"{layer.source}:/id: '{layer.id}' is also the id of {seen[layer.id].source}"
                )
                continue
            seen[layer.id] = layer
            self.layers[layer.id] = layer
        self.given = list(seen.values())
        self.overlays: dict[str, list[Layer]] = {}
        for layer in self.layers.values():
            if layer.kind == "overlay" and layer.extends is not None:
                self.overlays.setdefault(layer.extends, []).append(layer)
        for layer in self.layers.values():
            if layer.extends is not None and layer.extends not in self.layers:
                self.problems.append(
                    f"{layer.source}:/extends: no policy '{layer.extends}' (shipped: "
                    f"{', '.join(sorted(known.id for known in shipped))}; or give it with --policy)"
                )

    def families(self) -> list[Layer]:
        """The drug families a run checks: every drug layer, shipped or given. A complete
        policy given without `extends` replaces the shipped families: then only the given
        families and those the given overlays change are checked."""
        drugs = [layer for layer in self.layers.values() if layer.kind == "drug"]
        if not any(layer.kind == "drug" and layer.extends is None for layer in self.given):
            return drugs
        named = [self._family_of(layer) for layer in self.given]
        return [layer for layer in drugs if layer in named]

    def _family_of(self, layer: Layer) -> Layer | None:
        seen: set[str] = set()
        current: Layer | None = layer
        while current is not None and current.kind == "overlay" and current.id not in seen:
            seen.add(current.id)
            current = self.layers.get(current.extends) if current.extends else None
        return current if current is not None and current.kind == "drug" else None

    def resolve(self, family: Layer) -> Resolved:
        """The merged policy of one drug family, with its overlays applied."""
        resolved = Resolved({}, [])
        self._build(family, resolved, ())
        resolved.document["id"] = family.id
        resolved.document["version"] = family.version
        for key in ("title", "description"):
            if key in family.document:
                resolved.document[key] = family.document[key]
        inherit_biosimilars(resolved.document)
        return resolved

    def _build(self, layer: Layer, resolved: Resolved, visiting: tuple[str, ...]) -> None:
        if layer.id in visiting:
            resolved.problems.append(
                f"{layer.source}:/extends: the policies extend each other "
                f"({' -> '.join((*visiting, layer.id))})"
            )
            return
        parent = self.layers.get(layer.extends) if layer.extends else None
        if layer.kind != "overlay" and parent is not None:
            self._build(parent, resolved, (*visiting, layer.id))
        _apply(resolved, layer)
        for overlay in self.overlays.get(layer.id, []):
            self._build(overlay, resolved, (*visiting, layer.id))
