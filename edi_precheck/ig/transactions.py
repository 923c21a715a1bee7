"""Cut a segment stream into transaction sets that pyx12 can validate one by one.

Each 837 transaction set is wrapped in its own interchange (its file's ISA and GS, then
GE*1 and IEA*1), so sets can be validated apart, in parallel, and a pyx12 failure on one
costs only that one. Segments are joined with the file's own delimiters and no layout
whitespace (pyx12 rejects indented files), and each keeps its position in the file so that
pyx12's positions map back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from edi_precheck.model.parser import claim_kind, declared_version
from edi_precheck.x12 import Delimiters, padded

# The implementation guides pyx12 has maps for, by the GS08 prefix they serve. A file
# declaring another release of the same guide (005010X222A2, or 005010X222 alone) is
# validated with the nearest map, and its findings say so.
PYX12_MAPS = {"005010X222": "005010X222A1", "005010X223": "005010X223A2"}


@dataclass(slots=True)
class TransactionSet:
    """One ST ... SE, ready for pyx12, with what is needed to map its errors back."""

    control: str  # ST02
    version: str  # GS08 (else ST03) as sent
    map_version: str  # GS08 given to pyx12
    isa_index: int
    gs_index: int
    isa: list[str]  # the input's ISA and GS (padded): a 999 answers to them
    gs: list[str]
    indices: list[int]  # file position of each segment, ST first, SE last
    text: str = ""

    @property
    def st_index(self) -> int:
        return self.indices[0]

    @property
    def se_index(self) -> int:
        return self.indices[-1]

    def file_index(self, position: int | None) -> int:
        """The file position of the segment pyx12 numbers `position` (ST = 1)."""
        if position is None or position < 1:
            return self.st_index
        return self.indices[min(position, len(self.indices)) - 1]


@dataclass(slots=True)
class _Open:
    isa: list[str] = field(default_factory=list)
    isa_index: int = 0
    gs: list[str] = field(default_factory=list)
    gs_index: int = 0


class TransactionCollector:
    """Observe raw segments (`observe`), call `on_complete` with each finished 837 set."""

    def __init__(self, on_complete: Callable[[TransactionSet], None]) -> None:
        self._delimiters: Delimiters | None = None
        self._on_complete = on_complete
        self._envelope = _Open()
        self._current: TransactionSet | None = None
        self._segments: list[str] = []  # raw, ST first

    def observe(self, index: int, raw: str, delimiters: Delimiters) -> None:
        separator = delimiters.element
        tag = raw.split(separator, 1)[0]
        if tag == "ISA":
            self._delimiters = delimiters
            self._envelope = _Open(isa=raw.split(separator), isa_index=index)
            self._current = None
        elif tag == "GS":
            self._envelope.gs, self._envelope.gs_index = raw.split(separator), index
            self._current = None
        elif tag == "ST":
            self._start(index, raw.split(separator), raw)
        elif self._current is not None:
            if tag in ("GE", "IEA"):
                self._current = None  # no SE: the envelope checks report it
                return
            self._segments.append(raw)
            self._current.indices.append(index)
            if tag == "SE":
                self._finish()

    def _start(self, index: int, fields: list[str], raw: str) -> None:
        gs = padded(self._envelope.gs, 9)
        version = declared_version(gs, fields)
        map_version = PYX12_MAPS.get(version[:10])
        if claim_kind(fields, version) is None or not self._envelope.isa or map_version is None:
            self._current = None  # not an 837 5010: reported as x12.unsupported
            return
        self._current = TransactionSet(
            control=fields[2] if len(fields) > 2 else "",
            version=version,
            map_version=map_version,
            isa_index=self._envelope.isa_index,
            gs_index=self._envelope.gs_index,
            isa=padded(self._envelope.isa, 17),
            gs=gs,
            indices=[index],
        )
        self._segments = [raw]

    def _finish(self) -> None:
        transaction = self._current
        delimiters = self._delimiters
        self._current = None
        if transaction is None or delimiters is None:
            return
        separator, terminator = delimiters.element, delimiters.segment
        isa = list(transaction.isa)
        isa[12] = "00501"  # the control version the 5010 guides are written for
        gs = list(transaction.gs)
        gs[8] = transaction.map_version  # also where a sender filled only ST03
        st = padded(self._segments[0].split(separator), 4)
        if st[3] == transaction.version:
            st[3] = transaction.map_version
        trailer = [["GE", "1", gs[6]], ["IEA", "1", isa[13]]]
        raw = [separator.join(fields) for fields in (isa, gs, st)]
        raw += self._segments[1:]
        raw += [separator.join(fields) for fields in trailer]
        transaction.text = terminator.join(raw) + terminator
        self._segments = []
        self._on_complete(transaction)
