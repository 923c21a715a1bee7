"""The native implementation-guide engine: pyx12's validation, on compiled tables.

pyx12 walks a generic object tree for every segment and builds an error tree as it goes;
that costs 2-5 ms a claim. This engine runs the same checks on the tables `ig.tables`
compiles from pyx12's own maps:

- the reader's checks (segment ids, empty segments, trailing separators, HL numbering
  and parents, LX numbering, envelope counts and control numbers);
- the map walk: which loop and segment a segment is, loops entered by their first
  segment's qualifier, segment and loop repeats, required segments and loops missing,
  segments and loops the guide does not use, segments the guide does not have;
- each segment's elements: too many, required, not used, length, characters, code values
  (with pyx12's external code lists), data types (AN, ID, DT, TM, R, N0-N2, and the date
  formats DTP02 and 1250 name), patterns, composites, and the X12 syntax rules.

Agreement with pyx12 is the specification (tests/test_ig_native.py runs both on every
fixture and on thousands of mutations), so pyx12's own choices are kept: which errors
become "segment has data element errors" (IK304 8), the segment an error is pinned to
(a required segment found missing is reported at the segment being read), and the
errors pyx12 drops (those it raises on the envelope segments themselves). Where pyx12
fails with an exception, this engine reports the same exception type as `crash`.

`validate` raises Declined for what it does not model (a text that is not one interchange
starting with ISA and GS, a second interchange, a guide it has no compiled map for, pyx12
settings other than its defaults); the caller then asks pyx12, and says so.
"""

from __future__ import annotations

import calendar
import functools
import re
from dataclasses import dataclass, field

from edi_precheck.ig.outcome import IGError, IGOutcome
from edi_precheck.ig.tables import (
    CompiledMap,
    CompositeSpec,
    ElementSpec,
    MapNotCompiled,
    Node,
    load,
    map_file_for,
)

_ENVELOPE = frozenset({"ISA", "IEA", "GS", "GE", "ST", "SE"})
_CONTROL_FILE = {"00501": "x12.control.00501.xml", "00401": "x12.control.00401.xml"}
# pyx12's test of a segment id: two or three characters, and this pattern, whose $ also
# matches before a final newline (so "N4\n" passes)
_SEGMENT_ID = re.compile(r"[A-Z][A-Z0-9]{1,2}$")
_VALID_IDS: set[str] = set()  # ids seen to be well formed
_CONTROL_CHARACTER = re.compile("[\x01-\x07\x09-\x0d\x11-\x17\x1c-\x1f]")
# Characters outside the X12 extended character set (ID and AN elements); 5010 adds ^ and `.
_EXTENDED_4010 = r"""A-Za-z0-9!"&'()*+,\-./:;?= %~@\[\]_{}\\|<>#$"""  # a character class body
_EXTENDED_5010 = _EXTENDED_4010 + "^`"
_NOT_EXTENDED_5010 = re.compile(f"[^{_EXTENDED_5010}]", re.A)
_NOT_EXTENDED_4010 = re.compile(f"[^{_EXTENDED_4010}]", re.A)
_NUMERIC = re.compile(r"-?[0-9]+", re.A)
_DECIMAL = re.compile(r"-?[0-9]*(?:\.[0-9]+)?", re.A)
_DIGITS = re.compile(r"[0-9]*", re.A)
_DATE_TYPES = ("RD8", "DT", "D8", "D6")
_DTP_FORMATS = ("RD8", "D8", "D6", "DT", "TM")


class _Crash(Exception):
    """pyx12 would stop here with an exception of this type."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


class Declined(Exception):
    """Input this engine does not model: pyx12 validates it. The message says why."""


# --- data types ----------------------------------------------------------------------


def _valid_date(data_type: str, value: str) -> bool:
    if (data_type == "D8" and len(value) != 8) or (data_type == "D6" and len(value) != 6):
        return False
    if not _DIGITS.fullmatch(value) or len(value) not in (6, 8, 12):
        return False
    if len(value) == 6:
        value = ("20" if int(value[:2]) < 50 else "19") + value
    year, month, day = int(value[:4]), int(value[4:6]), int(value[6:8])
    if year < 1800 or not 1 <= month <= 12:
        return False
    if not 1 <= day <= calendar.monthrange(year, month)[1]:
        return False
    return len(value) != 12 or _valid_time(value[8:12])


def _valid_time(value: str) -> bool:
    # pyx12 compares the hour, minute and second as text, and lets a short time pass.
    if not _DIGITS.fullmatch(value) or value[0:2] > "23" or value[2:4] > "59":
        return False
    return len(value) <= 4 or (6 <= len(value) <= 8 and value[4:6] <= "59")


def _valid_type(value: str, data_type: str | None, icvn: str) -> bool:
    """Whether `value` is of X12 data type `data_type` (pyx12's rules, charset E)."""
    if not data_type:
        return True
    if data_type[0] == "N":
        return _NUMERIC.fullmatch(value) is not None
    if data_type == "R":
        return _DECIMAL.fullmatch(value) is not None
    if data_type in ("ID", "AN"):
        pattern = _NOT_EXTENDED_5010 if icvn == "00501" else _NOT_EXTENDED_4010
        return pattern.search(value) is None
    if data_type == "RD8":
        if "-" not in value:
            return False
        parts = value.split("-")
        if len(parts) != 2:
            raise _Crash("ValueError")  # pyx12 unpacks the range into two dates
        return _valid_date("D8", parts[0]) and _valid_date("D8", parts[1])
    if data_type in ("DT", "D8", "D6"):
        return _valid_date(data_type, value)
    if data_type == "TM":
        return _valid_time(value)
    return data_type == "B"


# --- the error tree, as pyx12 keeps it ---------------------------------------------


@dataclass(slots=True)
class _Element:
    spec: ElementSpec
    codes: list[str] = field(default_factory=list)


class _SegmentErrors:
    """The errors of one segment (one is made for every segment read: kept cheap)."""

    __slots__ = ("added", "codes", "count", "elements", "name", "segment_id")

    def __init__(self, segment_id: str, name: str, count: int) -> None:
        self.segment_id, self.name, self.count = segment_id, name, count
        self.codes: list[str] = []
        self.elements: list[_Element] = []
        self.added = False


@dataclass(slots=True)
class _Transaction:
    codes: list[str] = field(default_factory=list)
    segments: list[_SegmentErrors] = field(default_factory=list)


@dataclass(slots=True)
class _Group:
    codes: list[str] = field(default_factory=list)
    transactions: list[_Transaction] = field(default_factory=list)


@dataclass(slots=True)
class _Interchange:
    codes: list[str] = field(default_factory=list)
    groups: list[_Group] = field(default_factory=list)


class _Errors:
    """Where each error goes. pyx12 keeps a current segment: the envelope (ISA, GS, ST,
    and after SE, GE, IEA), whose segment and element errors are not in its report, or
    the last segment it began to report on."""

    def __init__(self) -> None:
        self.interchanges: list[_Interchange] = []
        self.transaction: _Transaction | None = None
        self.current: _SegmentErrors | None = None  # None: the envelope
        self.element: _Element | None = None

    def interchange(self) -> None:
        self.interchanges.append(_Interchange())
        self.current = None

    def group(self) -> None:
        self.interchanges[-1].groups.append(_Group())
        self.current = None

    def start_transaction(self) -> None:
        self.transaction = _Transaction()
        self.interchanges[-1].groups[-1].transactions.append(self.transaction)
        self.current = None

    def envelope(self) -> None:
        self.current = None

    def segment(self, node: Node, segment_id: str, count: int) -> None:
        self.current = _SegmentErrors(segment_id, node.name, count)

    def _add_current(self) -> bool:
        current = self.current
        if current is None:
            return False
        if not current.added:
            if self.transaction is None:
                raise _Crash("AttributeError")
            self.transaction.segments.append(current)
            current.added = True
        return True

    def segment_error(self, code: str) -> None:
        if self.current is not None and self.transaction is None:
            return  # pyx12 drops it (it fails to file it and goes on)
        if self._add_current():
            assert self.current is not None
            self.current.codes.append(code)

    def begin_element(self, spec: ElementSpec) -> None:
        self.element = _Element(spec) if self.current is not None else None

    def element_error(self, code: str) -> None:
        if self.current is None or self.element is None:
            return  # an envelope segment's: pyx12 keeps it out of its report
        self._add_current()
        if not self.element.codes:
            self.current.elements.append(self.element)
        self.element.codes.append(code)

    def level_error(self, level: str, code: str) -> None:
        if level == "isa":
            self.interchanges[-1].codes.append(code)
        elif level == "gs":
            self.interchanges[-1].groups[-1].codes.append(code)
        elif level == "st":
            if self.transaction is None:
                raise _Crash("AttributeError")
            self.transaction.codes.append(code)
        else:
            self.segment_error(code)

    def flattened(self) -> list[IGError]:
        """The errors in the order pyx12's report lists them."""
        errors: list[IGError] = []
        for isa in self.interchanges:
            errors += [IGError("interchange", code) for code in isa.codes]
            for gs in isa.groups:
                errors += [IGError("group", code) for code in gs.codes]
                for st in gs.transactions:
                    errors += [IGError("transaction", code) for code in st.codes]
                    for seg in st.segments:
                        errors += [
                            IGError(
                                "segment",
                                code,
                                segment_id=seg.segment_id,
                                segment_name=seg.name,
                                position=seg.count,
                            )
                            for code in seg.codes
                        ]
                        for element in seg.elements:
                            spec = element.spec
                            component = spec.seq if spec.composite is not None else None
                            errors += [
                                IGError(
                                    "element",
                                    code,
                                    segment_id=seg.segment_id,
                                    segment_name=seg.name,
                                    position=seg.count,
                                    element_position=spec.position,
                                    component_position=component,
                                    element_reference=spec.data_ele,
                                    element_name=spec.name,
                                )
                                for code in element.codes
                            ]
        return errors


# --- one data segment ----------------------------------------------------------------


class _Segment:
    """A data segment: its id and its elements as sent (components not yet split)."""

    __slots__ = ("component", "id", "values")

    def __init__(self, line: str, element: str, component: str) -> None:
        parts = line.split(element)
        self.id = parts[0]
        self.values = parts[1:]
        self.component = component

    def value(self, position: int, component: int = 0) -> str | None:
        """An element as pyx12 reads it: the composite without trailing empty components,
        or one component; None when the segment is shorter."""
        if position > len(self.values):
            return None
        raw = self.values[position - 1]
        if not component:
            return raw.rstrip(self.component)
        parts = raw.split(self.component)
        return parts[component - 1] if component <= len(parts) else None

    def is_empty(self) -> bool:
        return not "".join(self.values).replace(self.component, "")


def _matches(node: Node, segment: _Segment) -> bool:
    if node.id != segment.id:
        return False
    key = node.key
    return key is None or segment.value(key[0], key[1]) in key[2]


# --- the element checks -------------------------------------------------------------

# (element, IK403), or (None, code) for an error pyx12 files on the segment as IK304 8
# (too many elements, a composite's own errors, a syntax rule): the code is not kept
_Found = list[tuple[ElementSpec | None, str]]


_NEVER = re.compile(r"(?!)")  # matches nothing: the element has no shortcut


def _passing_pattern(spec: ElementSpec, icvn: str) -> re.Pattern[str]:
    """A pattern only values that pass every check of `spec` match (not every such
    value): text of the right length in the character set, not ending in a space, or a
    number of the right number of digits. Elements with codes or a pattern have none."""
    if spec.codes or spec.external is not None or spec.external_missing or spec.regex:
        return _NEVER
    low, high = spec.min_len, spec.max_len
    if spec.data_type in ("AN", "ID") and 1 <= low <= high:
        characters = _EXTENDED_5010 if icvn == "00501" else _EXTENDED_4010
        return re.compile(
            f"[{characters}]{{{low - 1},{high - 1}}}[{characters.replace(' ', '')}]", re.A
        )
    if spec.data_type is not None and spec.data_type[0] == "N" and low <= high:
        return re.compile(f"-?[0-9]{{{max(low, 1)},{high}}}", re.A)
    return _NEVER


def _check_value(
    spec: ElementSpec, value: str, icvn: str, type_list: list[str | None] | None, out: _Found
) -> None:
    if not spec.resolved:
        raise _Crash("EngineError")
    if type_list is None:  # the shortcuts: values known to pass
        passing = spec.passing
        if passing is None:
            passing = spec.passing = _passing_pattern(spec, icvn)
        if passing.fullmatch(value):
            return
        codes = spec.passing_codes
        if codes is None:
            codes = spec.passing_codes = frozenset(
                code for code in spec.code_list if code and _passes(spec, code, icvn)
            )
        if value in codes:
            return
    data_type = spec.data_type
    measured = value
    if data_type is not None and (data_type == "R" or data_type[0] == "N"):
        measured = value.replace("-", "").replace(".", "")
    if len(measured) < spec.min_len:
        out.append((spec, "4"))
    if len(measured) > spec.max_len:
        out.append((spec, "5"))
    if _CONTROL_CHARACTER.search(value):
        out.append((spec, "6"))
        return
    if data_type in ("AN", "ID") and value[-1] == " " and len(value.rstrip()) >= spec.min_len:
        out.append((spec, "6"))
    has_codes = spec.codes or spec.external is not None or spec.external_missing
    if has_codes and value not in spec.codes:
        if spec.external_missing:
            raise _Crash("EngineError")
        if spec.external is None or value not in spec.external:
            out.append((spec, "7"))
    if not _valid_type(value, data_type, icvn):
        if data_type in _DATE_TYPES:
            out.append((spec, "8"))
        elif data_type == "TM":
            out.append((spec, "9"))
        else:
            out.append((spec, "6"))
    if type_list:
        valid = False
        for allowed in type_list:  # every one is tried, as pyx12 does (one may raise)
            if allowed is not None:
                valid = _valid_type(value, allowed, "00401") or valid
        if not valid:
            if "TM" in type_list:
                out.append((spec, "9"))
            elif any(t in type_list for t in _DATE_TYPES):
                out.append((spec, "8"))
    if spec.regex is not None and not spec.regex.search(value):
        out.append((spec, "7"))


def _passes(spec: ElementSpec, value: str, icvn: str) -> bool:
    found: _Found = []
    try:
        _check_value(spec, value, icvn, [], found)  # [] : no shortcut, no format list
    except _Crash:
        return False
    return not found


def _check_empty(spec: ElementSpec, out: _Found) -> None:
    if spec.usage == "R" and (
        spec.seq != 1 or spec.composite is None or spec.composite.usage == "R"
    ):
        out.append((spec, "1"))


def _check_element(
    spec: ElementSpec,
    raw: str | None,
    component: str,
    icvn: str,
    type_list: list[str | None] | None,
    out: _Found,
) -> None:
    """A simple element in a segment position (`raw` as sent, None when absent)."""
    if raw is not None and component in raw:
        out.append((spec, "6"))  # a composite where the guide has a simple element
        return
    _check_component(spec, raw, icvn, out, type_list)


def _check_component(
    spec: ElementSpec,
    value: str | None,
    icvn: str,
    out: _Found,
    type_list: list[str | None] | None = None,
) -> None:
    """A simple element's value (a component's, or a position's that is no composite)."""
    if not value:
        if spec.usage not in ("N", "S"):
            _check_empty(spec, out)
        return
    if spec.usage == "N":
        out.append((spec, "10"))
        return
    _check_value(spec, value, icvn, type_list, out)


def _check_composite(spec: CompositeSpec, parts: list[str] | None, icvn: str, out: _Found) -> None:
    empty = parts is None or not any(parts)
    if empty and spec.usage in ("N", "S"):
        return
    if spec.usage == "R" and empty:
        out.append((None, "1"))
        return
    if parts is None:
        raise _Crash("AssertionError")
    if spec.usage == "N":
        out.append((None, "5"))
        return
    components = spec.components  # (more parts than components: the caller has stopped)
    for index, component in enumerate(components):
        _check_component(component, parts[index] if index < len(parts) else None, icvn, out)


def _syntax_holds(rule: str, positions: tuple[int, ...], values: list[str], component: str) -> bool:
    if len(positions) < 2:
        return False
    count = len(values)
    present = [p <= count and values[p - 1].rstrip(component) != "" for p in positions]
    if rule == "P":
        return sum(present) in (0, len(present))
    if rule == "R":
        return any(present)
    if rule == "E":
        return sum(present) <= 1
    if rule == "C":
        return not present[0] or all(present[1:])
    if rule == "L":
        return not present[0] or any(present[1:])
    return False


_Absent = list[tuple[int, ElementSpec | None, str]]  # (index, element, IK403 or crash)
_absent: dict[Node, _Absent] = {}


def _absent_errors(node: Node) -> _Absent:
    """What each element of `node` says when the segment ends before it: most say nothing,
    so a short segment is checked by this list, not element by element."""
    found = _absent.get(node)
    if found is None:
        found = []
        for index, spec in enumerate(node.elements):
            if isinstance(spec, CompositeSpec):
                if spec.usage == "R":
                    found.append((index, None, "1"))
                elif spec.usage not in ("N", "S"):
                    found.append((index, None, "AssertionError"))
            else:
                out: _Found = []
                _check_element(spec, None, "", "", None, out)
                found += [(index, element, code) for element, code in out]
        _absent[node] = found
    return found


# Segments repeat (a payer's name, a provider's address, a common procedure): their checks
# are kept, by map node, component separator and text; bounded, so memory stays flat.
_CHECKED_LIMIT = 20_000
_checked: dict[tuple[Node, str, str], tuple[tuple[ElementSpec | None, str], ...] | str] = {}


def _checked_segment(
    node: Node, segment: _Segment, line: str, icvn: str
) -> tuple[tuple[ElementSpec | None, str], ...]:
    """`_check_segment`, remembered for segments seen before."""
    key = (node, segment.component, line)
    found = _checked.get(key)
    if found is None:
        try:
            found = tuple(_check_segment(node, segment, icvn))
        except _Crash as crash:
            found = crash.kind
        if len(_checked) >= _CHECKED_LIMIT:
            _checked.clear()
        _checked[key] = found
    if isinstance(found, str):
        raise _Crash(found)
    return found


def _check_segment(node: Node, segment: _Segment, icvn: str) -> _Found:
    """The element errors of `segment` read as `node`, in pyx12's order."""
    out: _Found = []
    values = segment.values
    specs = node.elements
    component = segment.component
    if len(values) > len(specs):
        out.append((None, "3"))
    formats: list[str | None] = []  # DTP02's date format, for DTP03
    type_list: list[str | None] = []  # the formats a 1250 element allows, for its 1251
    is_dtp = segment.id == "DTP"
    present = min(len(values), len(specs))
    for index in range(present):
        spec = specs[index]
        raw = values[index]
        if isinstance(spec, CompositeSpec):
            parts = raw.split(component)
            if len(parts) > len(spec.components) and spec.usage != "N":
                raise _Crash("IndexError")  # pyx12 looks past the composite's components
            _check_composite(spec, parts, icvn, out)
            continue
        if is_dtp and index == 1:
            shown = raw.rstrip(component)
            if shown in _DTP_FORMATS:
                formats = [shown]
        if spec.data_ele == "1250":
            type_list.extend(spec.code_list)
        if is_dtp and index == 2:
            _check_element(spec, raw, component, icvn, formats, out)
        elif spec.data_ele == "1251" and type_list:
            _check_element(spec, raw, component, icvn, type_list, out)
        else:
            _check_element(spec, raw, component, icvn, None, out)
    if present < len(specs):
        for index, element, code in _absent_errors(node):
            if index >= present:
                if code == "AssertionError":
                    raise _Crash(code)  # pyx12 asserts a composite it was not given
                out.append((element, code))
    for rule, positions in node.syntax:
        if not _syntax_holds(rule, positions, values, component):
            out.append((None, "2"))
    return out


# --- the map walk ---------------------------------------------------------------------


@dataclass(slots=True)
class _Missing:
    node: Node  # the required segment (or a required loop's first segment)
    count: int


@dataclass(slots=True)
class _WalkError:
    code: str
    node: Node | None  # the error is reported on a segment read as this node, or on the
    segment_id: str  # current segment when None
    count: int


def _parent(node: Node) -> Node:
    parent = node.parent
    assert parent is not None  # only the root has none, and the walk stops there
    return parent


class _Walker:
    """Finds the map node of each segment from the previous one, counting loops and
    segments as pyx12 does (per X12 path)."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.under: dict[str, set[str]] = {}  # a path's counted paths one level down
        self.missing: list[_Missing] = []
        self.errors: list[_WalkError] = []

    def reset(self, path: str) -> None:
        """Forget the counts of everything under `path` (entering a loop again)."""
        stack = list(self.under.pop(path, ()))
        while stack:
            key = stack.pop()
            self.counts.pop(key, None)
            below = self.under.pop(key, None)
            if below:
                stack.extend(below)

    def increment(self, path: str) -> None:
        counts = self.counts
        if path in counts:
            counts[path] += 1
            return
        counts[path] = 1
        while path:  # note it (and the paths above it) where `reset` will look
            parent = path.rpartition("/")[0]
            siblings = self.under.get(parent)
            if siblings is not None:
                siblings.add(path)
                return
            self.under[parent] = {path}
            path = parent

    def start_loop(self, loop_path: str, segment_path: str) -> None:
        self.reset(loop_path)
        self.increment(loop_path)
        self.increment(segment_path)

    def walk(self, node: Node, segment: _Segment, count: int) -> Node | None:
        """The node `segment` is, from `node`; None when the map has none (the error is in
        `errors`) or pyx12 ends its search without a node."""
        self.missing = []
        self.errors = []
        start = node
        position = node.pos
        if node.kind == "segment":
            node = _parent(node)  # its loop (or the root)
        while True:
            found = self._scan(node, position, segment, start, count)
            if found is not None:
                return found[0]
            if node.kind == "root":
                self.errors.append(_WalkError("1", start, segment.id, count))
                return None
            position = node.pos
            node = _parent(node)

    def _scan(
        self, loop: Node, position: int, segment: _Segment, start: Node, count: int
    ) -> tuple[Node | None] | None:
        """The children of `loop` from `position`: None when none is the segment, else a
        1-tuple of the node found (None in it when pyx12 ends the search with no node)."""
        for child in loop.children_from(position, segment.id):
            if child.kind == "segment":
                if _matches(child, segment):
                    if loop.kind == "loop" and self._loop_matches(loop, segment, count):
                        return (self._enter(loop, segment, count),)
                    self.increment(child.path)
                    self._segment_usage(child, segment, count)
                    if self.missing:
                        self.missing = [m for m in self.missing if m.node.same != child.same]
                        self._flush(child.pos)
                    return (child,)
                if child.usage == "R" and self.counts.get(child.path, 0) < 1:
                    self.missing.append(_Missing(child, count))
            elif self._loop_matches(child, segment, count):
                return (self._enter(child, segment, count),)
        return None

    def _loop_matches(self, loop: Node, segment: _Segment, count: int) -> bool:
        first = loop.first
        if first is None:
            return False
        if first.kind == "loop":
            return any(
                child.kind == "loop" and self._loop_matches(child, segment, count)
                for child in loop.children
            )
        if _matches(first, segment):
            return True
        if loop.usage == "R" and self.counts.get(loop.path, 0) < 1:
            self.missing.append(_Missing(first, count))
        return False

    def _enter(self, loop: Node, segment: _Segment, count: int) -> Node | None:
        first = loop.first
        if first is not None and first.kind == "segment" and _matches(first, segment):
            self._loop_usage(loop, segment, count)
            self.increment(first.path)
            self._flush(None)
            return first
        for child in loop.children:
            if child.kind == "loop":
                found = self._enter(child, segment, count)
                if found is not None:
                    return found
        return None

    def _segment_usage(self, node: Node, segment: _Segment, count: int) -> None:
        if node.usage == "N":
            self.errors.append(_WalkError("2", None, segment.id, count))
        elif node.usage in ("R", "S"):
            if self.counts.get(node.path, 0) > node.max_repeat:
                self.errors.append(_WalkError("5", node, segment.id, count))
        else:
            raise _Crash("EngineError")

    def _loop_usage(self, loop: Node, segment: _Segment, count: int) -> None:
        if loop.usage == "N":
            self.errors.append(_WalkError("2", None, segment.id, count))
        elif loop.usage in ("R", "S"):
            self.reset(loop.path)
            self.increment(loop.path)
            if self.counts[loop.path] > loop.max_repeat:
                self.errors.append(_WalkError("4", loop, segment.id, count))
        else:
            raise _Crash("EngineError")

    def _flush(self, position: int | None) -> None:
        kept = []
        for missing in self.missing:
            if missing.node.pos != position:
                self.errors.append(_WalkError("3", missing.node, missing.node.id, missing.count))
            else:
                kept.append(missing)
        self.missing = kept


# --- the reader's checks --------------------------------------------------------------


# IEA and GE: what they close, the level of their errors, and the codes for an unclosed
# inner loop, a control number other than the opener's, and a wrong count
_GROUP_TRAILERS = {
    "IEA": ("ISA", "isa", ("024", "001", "021")),
    "GE": ("GS", "gs", ("3", "4", "5")),
}


class _Reader:
    """pyx12's reader: splits segments and checks what needs no map (returns its errors
    as (level, code) pairs, to be reported once the segment's place is known)."""

    def __init__(self) -> None:
        self.loops: list[tuple[str, str | None]] = []
        self.isa_ids: list[str | None] = []
        self.gs_ids: list[str | None] = []
        self.st_ids: list[str | None] = []
        self.gs_count = 0
        self.st_count = 0
        self.hl_count = 0
        self.hl_stack: list[int | None] = []
        self.lx_count = 0
        self.check_lx = False
        self.count = 0  # the segment's position in its transaction set (ST = 1)

    @staticmethod
    def _int(value: str | None) -> int | None:
        try:
            return int(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return None

    def read(self, segment: _Segment, errors: list[tuple[str, str]]) -> None:
        if segment.is_empty():
            errors.append(("seg", "8"))
        if segment.id not in _VALID_IDS:
            if not 2 <= len(segment.id) <= 3 or not _SEGMENT_ID.match(segment.id):
                errors.append(("seg", "1"))
            elif len(_VALID_IDS) < 1000:
                _VALID_IDS.add(segment.id)
        kind = segment.id
        value = segment.value
        if kind == "ISA":
            if len(segment.values) != 16:
                raise _Crash("X12Error")
            control = value(13)
            if control in self.isa_ids:
                errors.append(("isa", "025"))
            self.loops.append(("ISA", control))
            self.isa_ids.append(control)
            self.gs_count, self.gs_ids = 0, []
        elif kind == "GS":
            control = value(6)
            if control in self.gs_ids:
                errors.append(("gs", "6"))
            self.gs_count += 1
            self.gs_ids.append(control)
            self.loops.append(("GS", control))
            self.st_count, self.st_ids = 0, []
        elif kind == "ST":
            self.hl_stack, self.hl_count = [], 0
            control = value(2)
            if control in self.st_ids:
                errors.append(("st", "23"))
            self.st_count += 1
            self.st_ids.append(control)
            self.loops.append(("ST", control))
            self.count = 1
        elif kind == "HL":
            self.hl_count += 1
            if self.hl_count != self._int(value(1)):
                errors.append(("seg", "HL1"))
            if value(2) != "":
                parent = self._int(value(2))
                if parent not in self.hl_stack:
                    errors.append(("seg", "HL2"))
                while self.hl_stack and parent != self.hl_stack[-1]:
                    self.hl_stack.pop()
            self.hl_stack.append(self.hl_count)
        elif self.check_lx and kind == "CLM":
            self.lx_count = 0
        elif self.check_lx and kind == "LX":
            self.lx_count += 1
            if value(1) != str(self.lx_count):
                errors.append(("seg", "LX"))
        if kind not in _ENVELOPE:
            self.count += 1
        elif kind in ("IEA", "GE", "SE"):
            self._trailer(segment, errors)

    def _trailer(self, segment: _Segment, errors: list[tuple[str, str]]) -> None:
        if not self.loops:
            raise _Crash("IndexError")
        value = segment.value
        if segment.id in _GROUP_TRAILERS:
            opener, level, (unterminated, other_number, miscounted) = _GROUP_TRAILERS[segment.id]
            if self.loops[-1][0] != opener:
                errors.append((level, unterminated))
                del self.loops[-1]
                if not self.loops:
                    raise _Crash("IndexError")
            if self.loops[-1][1] != value(2):
                errors.append((level, other_number))
            inside = self.gs_count if segment.id == "IEA" else self.st_count
            if self._int(value(1)) != inside:
                errors.append((level, miscounted))
        else:
            if self.loops[-1][0] != "ST" or self.loops[-1][1] != value(2):
                errors.append(("st", "3"))
            if self._int(value(1)) != self.count + 1:
                errors.append(("st", "4"))
        del self.loops[-1]

    def unclosed(self) -> list[tuple[str, str]]:
        """The trailers missing at the end of the text."""
        codes = {"ST": ("st", "2"), "GS": ("gs", "3"), "ISA": ("isa", "023")}
        return [codes[kind] for kind, _ in self.loops if kind in codes]


@functools.cache
def _default_settings() -> bool:
    """Whether pyx12 runs with its default settings: a pyx12.conf.xml (in the Python
    prefix's etc/ or the home folder) can choose the basic character set or leave code
    lists out, and the compiled tables assume the extended set and every list."""
    import pyx12.params

    settings = pyx12.params.params()
    return settings.get("charset") == "E" and not settings.get("exclude_external_codes")


def _group_count(segment: _Segment) -> None:
    """pyx12 reads GE01 as a number when it closes the group, and fails if it is none."""
    value = segment.value(1)
    if value is None:
        raise _Crash("TypeError")
    try:
        int(value)
    except ValueError:
        raise _Crash("ValueError") from None


_CHUNK = 8192  # pyx12 reads its input 8,192 characters at a time


def _lines(text: str) -> tuple[list[str], str, str, str]:
    """The segments of an interchange as pyx12's reader yields them, and the element and
    component separators and the control version. pyx12 reads 106 characters, then 8,192
    at a time, and stops (silently) when one more read leaves it without a terminator: a
    segment longer than that ends its reading."""
    if len(text) < 106 or text[:3] != "ISA" or text[84:89] not in _CONTROL_FILE:
        raise Declined("the text does not start with a 106-character ISA of version 00401 or 00501")
    terminator, element, component = text[105], text[3], text[104]
    lines = []
    start, read = 0, 106 + _CHUNK
    while True:
        end = text.find(terminator, start, read)
        if end < 0:
            read += _CHUNK
            end = text.find(terminator, start, read)
            if end < 0:
                break
        line = text[start:end].lstrip("\n\r")
        start = end + 1
        if not line:
            break
        lines.append(line)
    return lines, element, component, text[84:89]


def validate(text: str) -> IGOutcome:
    """Validate one interchange as pyx12 would. Raises Declined for what pyx12 must
    validate instead (see the module)."""
    try:
        return IGOutcome(errors=_validate(text), engine="native")
    except _Crash as crash:
        return IGOutcome(crash=crash.kind, engine="native")
    except MapNotCompiled as error:
        raise Declined(f"no compiled map for {error}") from None


def _validate(text: str) -> list[IGError]:
    lines, separator, component, control_version = _lines(text)
    reader, walker, errors = _Reader(), _Walker(), _Errors()
    compiled: CompiledMap | None = None
    map_file = _CONTROL_FILE[control_version]
    icvn: str | None = None
    node: Node | None = None  # the map node of the previous segment
    found: list[tuple[str, str]] = []
    for line in lines:
        if line.startswith(" "):
            found.append(("seg", "1"))
            line = line.lstrip()
        if not line:
            raise _Crash("IndexError")  # pyx12 fails on a segment of spaces
        if line[-1] == separator:
            found.append(("seg", "SEG1"))
        segment = _Segment(line, separator, component)
        if segment.id == "ISA":
            segment.component = separator  # pyx12 does not split the ISA's components
        reader.read(segment, found)
        kind = segment.id
        count = reader.count
        if kind == "ISA":
            if compiled is not None:
                raise Declined("a second interchange in one text")
            walker.start_loop("/ISA_LOOP", "/ISA_LOOP/ISA")
            errors.interchange()
            icvn = segment.value(12)
            node = None
        elif kind == "GS":
            if icvn is None:
                raise Declined("a GS before any ISA")
            walker.start_loop("/ISA_LOOP/GS_LOOP", "/ISA_LOOP/GS_LOOP/GS")
            chosen = map_file_for(icvn, segment.value(8), segment.value(1))
            if chosen != map_file:
                if chosen is None:
                    raise _Crash("EngineError")  # pyx12: "Map not found"
                map_file = chosen
                if not _default_settings():
                    raise Declined("pyx12 settings other than its defaults (charset, code lists)")
                compiled = load(chosen)
                reader.check_lx = compiled.id == "837"
            if compiled is None:
                raise Declined(f"no map for GS08 {segment.value(8)!r}")
            node = compiled.by_path["/ISA_LOOP/GS_LOOP/GS"]
            errors.group()
        else:
            if node is None:
                raise Declined("a segment before the first GS")
            start = node
            match = walker.walk(node, segment, count)
            for error in walker.errors:
                if error.node is not None:
                    errors.segment(error.node, error.segment_id, error.count)
                errors.segment_error(error.code)
            if match is None:
                # pyx12 goes on from the last segment it placed; this one is neither
                # reported on nor checked, and the reader's errors wait for the next
                node = start
                continue
            node = match
            if kind == "ST":
                errors.start_transaction()
            elif kind not in _ENVELOPE:
                errors.segment(node, kind, count)
        for level, code in found:
            errors.level_error(level, code)
        found = []
        if kind == "GE":
            _group_count(segment)
        if kind in ("IEA", "GE", "SE"):
            errors.envelope()
        if kind not in _ENVELOPE and compiled is not None and node is not None:
            element_errors = _checked_segment(node, segment, line, compiled.icvn)
            last: ElementSpec | None = None
            for spec, code in element_errors:
                if spec is None:
                    errors.segment_error("8")
                    continue
                if spec is not last:
                    errors.begin_element(spec)
                    last = spec
                errors.element_error(code)
    for level, code in found + reader.unclosed():
        errors.level_error(level, code)
    return errors.flattened()
