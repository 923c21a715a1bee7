"""Cut a segment stream into transaction sets that pyx12 can validate one by one.

Each 837 transaction set is wrapped in its own interchange (its file's ISA and GS, then
GE*1 and IEA*1), so sets can be validated apart, in parallel, and a pyx12 failure on one
costs only that one. Segments are joined with the file's own delimiters and no layout
whitespace (pyx12 rejects indented files), and each keeps its position in the file so that
pyx12's positions map back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from edi_precheck.model.structure import Position, TransactionSpan
from edi_precheck.x12 import fixed_width_isa, padded

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


class TransactionCollector:
    """A segment sink (`model.structure`): calls `on_complete` with each 837 set read, at its
    SE. Where the set starts and ends, and whether it is read, is the parser's to say."""

    def __init__(self, on_complete: Callable[[TransactionSet], None]) -> None:
        self._on_complete = on_complete
        self._span: TransactionSpan | None = None
        self._current: TransactionSet | None = None
        self._segments: list[str] = []  # raw, ST first

    def segment(self, index: int, raw: str, position: Position) -> None:
        span = position.transaction
        if span is not self._span:  # a new set, or none (GE/IEA with no SE: not validated)
            self._span = span
            self._current = self._start(span) if span is not None else None
            self._segments = []
        if self._current is None or span is None:
            return
        self._segments.append(raw)
        self._current.indices.append(index)
        if index == span.end:
            self._finish(span)

    def end_of_file(self, position: Position) -> None:
        self._current = None  # a set with no SE: the envelope checks report it

    @staticmethod
    def _start(span: TransactionSpan) -> TransactionSet | None:
        map_version = PYX12_MAPS.get(span.version[:10])
        if span.kind is None or span.envelope is None or map_version is None:
            return None  # not an 837 5010 (x12.unsupported), or no ISA (x12.envelope)
        gs = padded(span.envelope.group_header(span.version), 9)
        return TransactionSet(
            control=span.control,
            version=span.version,
            map_version=map_version,
            isa_index=span.envelope.isa_index,
            gs_index=span.envelope.gs_index,
            isa=padded(span.envelope.isa, 17),
            gs=gs,
            indices=[],
        )

    def _finish(self, span: TransactionSpan) -> None:
        transaction = self._current
        self._current = None
        if transaction is None or span.envelope is None:
            return
        delimiters = span.envelope.delimiters
        separator, terminator = delimiters.element, delimiters.segment
        isa = fixed_width_isa(transaction.isa)  # pyx12 refuses a mispadded one whole
        isa[12] = "00501"  # the control version the 5010 guides are written for
        gs = list(transaction.gs)
        gs[8] = transaction.map_version  # the guide of the set (ST03 governs), as pyx12 maps it
        st = padded(self._segments[0].split(separator), 4)
        st[3] = transaction.map_version if st[3] else st[3]
        trailer = [["GE", "1", gs[6]], ["IEA", "1", isa[13]]]
        raw = [separator.join(fields) for fields in (isa, gs, st)]
        raw += self._segments[1:]
        raw += [separator.join(fields) for fields in trailer]
        transaction.text = terminator.join(raw) + terminator
        self._segments = []
        self._on_complete(transaction)
