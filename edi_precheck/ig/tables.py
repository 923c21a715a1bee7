"""pyx12's implementation-guide maps compiled into compact tables for the native engine.

pyx12 knows the 837 guides as XML maps it ships (loops, segments, usage, repeats, element
types and lengths, code lists, syntax rules). Here a map is loaded once with pyx12's own
loader, so that every value means what it means to pyx12, and flattened into plain lists:
a node table for loops and segments and, for each segment, its element specifications.
The flat form is JSON, kept in the cache (`policy.cache`, kind "ig") under a key made of
pyx12's version and the bytes of the map, code and data-element files, so a new pyx12 or
an edited map is compiled again; nothing of pyx12's maps is stored in this repository.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from importlib.resources import files
from typing import Any

from edi_precheck.policy.cache import read_entry, write_entry

FORMAT = 1  # of the compiled JSON; a change makes every cached table stale
CACHE_KIND = "ig"
_CACHE_LIMIT = 64 * 1024 * 1024
MAXINT = 2147483647  # pyx12's "no limit" for repeats

# The maps the native engine is built and tested for: pyx12's 837 5010 guides.
NATIVE_MAPS = frozenset({"837.5010.X222.A1.xml", "837Q3.I.5010.X223.A1.xml"})


class MapNotCompiled(Exception):
    """This map is not one the native engine validates with; pyx12 is used instead."""


@dataclass(slots=True)
class ElementSpec:
    """A simple data element as the map defines it (standalone or inside a composite)."""

    usage: str
    name: str
    data_ele: str
    seq: int
    data_type: str | None
    min_len: int
    max_len: int
    codes: frozenset[str | None]
    code_list: tuple[str | None, ...]  # the same, in the map's order
    external: frozenset[str | None] | None  # an external code list, when the map names one
    external_missing: bool  # the map names a code list pyx12 does not define
    regex: re.Pattern[str] | None
    resolved: bool  # False: pyx12 cannot find the data element's type (it raises)
    composite: CompositeSpec | None = None  # the composite this is a component of
    position: int = 0  # IK401-1: the segment position (the composite's, for a component)
    # filled in by the engine on first use: values it knows pass every check
    passing: re.Pattern[str] | None = None
    passing_codes: frozenset[str | None] | None = None


@dataclass(slots=True)
class CompositeSpec:
    usage: str
    name: str
    refdes: str
    seq: int
    components: list[ElementSpec] = field(default_factory=list)


@dataclass(slots=True, eq=False)
class Node:
    """A loop or a segment of the map (or the map's root)."""

    kind: str  # "root", "loop", "segment"
    id: str
    name: str
    usage: str
    pos: int
    max_repeat: int
    path: str  # pyx12's X12 path: the key of its loop and segment counters
    same: tuple[str, str]  # what pyx12 compares nodes by: the id and the parent's id
    parent: Node | None = None
    children: list[Node] = field(default_factory=list)  # in pyx12's scanning order
    # segments only
    key: tuple[int, int, frozenset[str | None]] | None = None  # qualifier: element, component
    elements: list[ElementSpec | CompositeSpec] = field(default_factory=list)
    syntax: list[tuple[str, tuple[int, ...]]] = field(default_factory=list)
    # loops only: first child, and children from each start position
    first: Node | None = None
    first_ids: frozenset[str] = frozenset()  # ids of the segments that can open the loop
    may_miss: bool = False  # trying the loop can note a required loop missing
    _from: dict[tuple[int, str], list[Node]] = field(default_factory=dict)
    _ids: frozenset[str] | None = None  # the segment ids a child can be or open

    def children_from(self, pos: int, segment_id: str) -> list[Node]:
        """The children at or after map position `pos`, in scanning order, that a segment
        `segment_id` can be or open, or whose absence can be noted on the way (required
        segments, and loops that can note a required loop missing); the others cannot
        change what a scan finds or notes. Kept by position and id; every id no child
        can be is one key (""), so that a file of endless unknown ids does not grow it."""
        if self._ids is None:
            self._ids = frozenset(
                child.id for child in self.children if child.kind == "segment"
            ).union(*(child.first_ids for child in self.children if child.kind == "loop"))
        if segment_id not in self._ids:
            segment_id = ""
        key = (pos, segment_id)
        found = self._from.get(key)
        if found is None:
            found = [
                child
                for child in self.children
                if child.pos >= pos
                and (
                    (child.kind == "segment" and (child.id == segment_id or child.usage == "R"))
                    or (child.kind == "loop" and (segment_id in child.first_ids or child.may_miss))
                )
            ]
            self._from[key] = found
        return found


@dataclass(slots=True)
class CompiledMap:
    file: str
    id: str
    icvn: str
    root: Node
    by_path: dict[str, Node]


# --- compiling (needs pyx12) ---------------------------------------------------------


def _source_digest(map_file: str) -> str:
    """What a compiled table depends on: pyx12's version and its map, code and data-element
    files."""
    from pyx12 import __version__ as pyx12_version

    digest = hashlib.sha256(f"{FORMAT}:{pyx12_version}:{map_file}".encode())
    folder = files("pyx12").joinpath("map")
    for name in (map_file, "codes.xml", "dataele.xml"):
        digest.update(folder.joinpath(name).read_bytes())
    return digest.hexdigest()[:32]


def _element_json(element: Any, ext_codes: Any) -> dict[str, Any]:
    try:
        data = element._resolve_data_ele()
        data_type, min_len, max_len, resolved = (
            data["data_type"],
            data["min_len"],
            data["max_len"],
            True,
        )
    except Exception:  # pyx12 raises when validating such an element; so will we
        data_type, min_len, max_len, resolved = None, 0, 0, False
    external = element.external_codes
    return {
        "usage": element.usage or "",
        "name": element.name or "",
        "data_ele": element.data_ele or "",
        "seq": element.seq,
        "type": data_type,
        "min": min_len,
        "max": max_len,
        "codes": list(element.valid_codes),
        "external": external,
        "external_codes": (
            sorted(ext_codes.codes[external]["codes"], key=lambda c: c or "")
            if external is not None and external in ext_codes.codes
            else None
        ),
        "regex": element.res if element.res else None,
        "resolved": resolved,
    }


def _node_json(node: Any, table: list[dict[str, Any]], parent: int, ext_codes: Any) -> int:
    """Append `node` (and what is under it) to `table`; its index."""
    from pyx12.map_if import composite_if, loop_if, segment_if

    index = len(table)
    kind = "loop" if isinstance(node, loop_if) else "segment"
    entry: dict[str, Any] = {
        "kind": kind,
        "id": node.id or "",
        "name": node.name or "",
        "usage": node.usage or "",
        "pos": node.pos,
        "max": node.get_max_repeat(),
        "path": node.x12path.format(),
        "same": [node.id or "", node.parent.id or ""],
        "parent": parent,
        "children": [],
    }
    table.append(entry)
    if isinstance(node, segment_if):
        key = node._resolve_unique_key_field(node.id, with_qual=False)
        if key is not None:
            child, element, component = key
            entry["key"] = [element, component or 0, list(child.valid_codes)]
        entry["syntax"] = node.syntax
        elements = []
        for position, child in enumerate(node.children, start=1):
            if child.seq != position:  # pyx12 cannot look such an element up either
                raise MapNotCompiled(f"{node.id} element {position} out of sequence")
            if isinstance(child, composite_if):
                elements.append(
                    {
                        "composite": True,
                        "usage": child.usage or "",
                        "name": child.name or "",
                        "refdes": child.refdes or "",
                        "seq": child.seq,
                        "components": [_element_json(c, ext_codes) for c in child.children],
                    }
                )
            else:
                elements.append(_element_json(child, ext_codes))
        entry["elements"] = elements
    else:
        assert isinstance(node, loop_if)
        for child in node.childIterator():
            entry["children"].append(_node_json(child, table, index, ext_codes))
    return index


def compile_map(map_file: str) -> dict[str, Any]:
    """The JSON tables of pyx12's map `map_file` (loaded with pyx12's own loader)."""
    if map_file not in NATIVE_MAPS:
        raise MapNotCompiled(map_file)
    import pyx12.map_if
    import pyx12.params

    root = pyx12.map_if.load_map_file(map_file, pyx12.params.params())
    table: list[dict[str, Any]] = [
        {
            "kind": "root",
            "id": root.id or "",
            "name": root.name or "",
            "usage": "",
            "pos": 0,
            "max": MAXINT,
            "path": "/",
            "same": [root.id or "", ""],
            "parent": -1,
            "children": [],
        }
    ]
    for pos in sorted(root.pos_map):
        for child in root.pos_map[pos]:
            table[0]["children"].append(_node_json(child, table, 0, root.ext_codes))
    return {
        "format": FORMAT,
        "file": map_file,
        "id": root.id or "",
        "icvn": root.icvn or "00401",
        "nodes": table,
    }


# --- loading -------------------------------------------------------------------------


def _element(entry: dict[str, Any], position: int, composite: CompositeSpec | None) -> ElementSpec:
    external = entry["external"]
    external_codes = entry["external_codes"]
    return ElementSpec(
        usage=entry["usage"],
        name=entry["name"],
        data_ele=entry["data_ele"],
        seq=entry["seq"],
        data_type=entry["type"],
        min_len=entry["min"],
        max_len=entry["max"],
        codes=frozenset(entry["codes"]),
        code_list=tuple(entry["codes"]),
        external=frozenset(external_codes) if external_codes is not None else None,
        external_missing=external is not None and external_codes is None,
        regex=re.compile(entry["regex"], re.S) if entry["regex"] else None,
        resolved=entry["resolved"],
        composite=composite,
        position=position,
    )


def build(tables: dict[str, Any]) -> CompiledMap:
    """The runtime form of compiled tables."""
    nodes: list[Node] = []
    for entry in tables["nodes"]:
        node = Node(
            kind=entry["kind"],
            id=entry["id"],
            name=entry["name"],
            usage=entry["usage"],
            pos=entry["pos"],
            max_repeat=entry["max"],
            path=entry["path"],
            same=(entry["same"][0], entry["same"][1]),
        )
        if entry["kind"] == "segment":
            if "key" in entry:
                element, component, codes = entry["key"]
                node.key = (element, component, frozenset(codes))
            node.syntax = [(rule[0], tuple(rule[1:])) for rule in entry["syntax"]]
            for position, spec in enumerate(entry["elements"], start=1):
                if spec.get("composite"):
                    composite = CompositeSpec(
                        spec["usage"], spec["name"], spec["refdes"], spec["seq"]
                    )
                    composite.components = [
                        _element(c, position, composite) for c in spec["components"]
                    ]
                    node.elements.append(composite)
                else:
                    node.elements.append(_element(spec, position, None))
        nodes.append(node)
    for node, entry in zip(nodes, tables["nodes"], strict=True):
        if entry["parent"] >= 0:
            node.parent = nodes[entry["parent"]]
        node.children = [nodes[i] for i in entry["children"]]
        node.first = node.children[0] if node.children else None
    for node in reversed(nodes):  # children come after their parents in the table
        first = node.first
        if node.kind != "loop" or first is None:
            continue
        if first.kind == "segment":
            node.first_ids, node.may_miss = frozenset({first.id}), node.usage == "R"
        else:  # a wrapper: pyx12 tries each loop inside it
            inner = [child for child in node.children if child.kind == "loop"]
            node.first_ids = frozenset().union(*(child.first_ids for child in inner))
            node.may_miss = any(child.may_miss for child in inner)
    return CompiledMap(
        file=tables["file"],
        id=tables["id"],
        icvn=tables["icvn"],
        root=nodes[0],
        by_path={node.path: node for node in nodes if node.kind != "root"},
    )


_LOCK = threading.Lock()


@functools.cache
def _load(map_file: str) -> CompiledMap:
    name = f"{map_file}.{_source_digest(map_file)}.json"
    text = read_entry(CACHE_KIND, name, _CACHE_LIMIT)
    tables: dict[str, Any] | None = None
    if text is not None:
        try:
            tables = json.loads(text)
        except ValueError:
            tables = None
        if not isinstance(tables, dict) or tables.get("format") != FORMAT:
            tables = None
    if tables is None:
        tables = compile_map(map_file)
        write_entry(CACHE_KIND, name, json.dumps(tables, separators=(",", ":")))
    return build(tables)


def load(map_file: str) -> CompiledMap:
    """The compiled form of pyx12's map `map_file`: from the cache, else compiled now (and
    cached). Raises MapNotCompiled for a map the native engine does not validate with."""
    if map_file not in NATIVE_MAPS:
        raise MapNotCompiled(map_file)
    with _LOCK:
        return _load(map_file)


@functools.cache
def map_file_for(icvn: str, guide: str | None, functional_id: str | None) -> str | None:
    """The map pyx12 would pick for an interchange version, GS08 and GS01 (its maps.xml)."""
    import pyx12.map_index

    found: str | None = pyx12.map_index.map_index().get_filename(icvn, guide, functional_id)
    return found
