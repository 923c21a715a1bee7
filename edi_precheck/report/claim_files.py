"""Write the claims of checked 837 files into two new 837 files: clean and held.

`ClaimSpool` is a segment sink (`model.structure`): as the check pass reads a file, it keeps
each claim span the parser marks, with the loops it needs (the transaction set header, its
billing provider, subscriber and patient loops), in a temporary file. So a claim is routed by
the very span its findings were made on: no second reading that has to agree on numbers.
Every output is a valid 837: interchange, group and transaction set envelopes are rebuilt
with new control numbers and counts (a group header the input lacked is rebuilt from its
ISA), HL numbers and parent pointers are renumbered. Writes go to a temporary file renamed
into place, so a reader never sees half a file, and an output with no claims is written
empty so that a stale file is never sent by mistake.
"""

from __future__ import annotations

import pickle
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, TextIO

from edi_precheck.findings import shown
from edi_precheck.model.structure import ClaimSpan, Position, TransactionSpan
from edi_precheck.report.control_numbers import NumberSource
from edi_precheck.report.files import replaced_atomically
from edi_precheck.x12 import Delimiters, fixed_width_isa, padded
from edi_precheck.x12.tokenizer import ISA_WIDTHS, is_segment_tag

Segment = list[str]
CUT_OFF = "it is cut off by the end of the file"
UNREAD = "it lies in text that could not be read as an X12 interchange"


@dataclass(slots=True)
class ClaimUnit:
    """One claim's segments and the loops above it, as the input holds them."""

    ordinal: int | None  # the claim's number in its file (None: the parser did not read it)
    segment_index: int  # of its CLM
    claim_id: str
    envelope: tuple[int, int, int]  # ISA, GS and ST positions: where it came from
    delimiters: Delimiters | None
    isa: Segment = field(default_factory=list)
    gs: Segment = field(default_factory=list)  # the input's, or one rebuilt from its ISA
    header: list[Segment] = field(default_factory=list)  # ST, BHT, 1000A/1000B loops
    hierarchy: list[tuple[int, list[Segment]]] = field(default_factory=list)  # top first
    segments: list[Segment] = field(default_factory=list)  # CLM and what belongs to it
    not_written: str = ""  # why it cannot be written to an output


class ClaimSpool:
    """Keep the claims of one file as the parser reads it; `units()` gives them back, in
    file order, once the file's findings are known. A temporary file holds them, so memory
    does not grow with the file."""

    def __init__(self) -> None:
        # Unlinked at once: nothing is left behind, even by a killed run. Closed by units().
        self._spool: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115
        self._count = 0
        self._claim: ClaimSpan | None = None
        self._unit: ClaimUnit | None = None
        self._transaction: TransactionSpan | None = None
        self._header: list[Segment] = []
        self._loops: dict[int, list[Segment]] = {}  # open HL loops by HL position
        # The set's HL ids so far, and the HLs whose parent (HL02) names one of them: a
        # pointer to no earlier HL is read by position, as the parser reads it.
        self._hl_ids: set[str] = set()
        self._points_back: set[int] = set()

    def segment(self, index: int, raw: str, position: Position) -> None:
        claim = position.claim
        if claim is not self._claim:
            self._close()
            self._claim = claim
            if claim is not None:
                self._unit = self._open(claim, raw)
                return
        if claim is not None:
            if self._unit is not None and not self._unit.not_written:
                self._keep(self._unit.segments, raw)
            return
        transaction = position.transaction
        if transaction is not self._transaction:
            self._transaction, self._header, self._loops = transaction, [], {}
            self._hl_ids, self._points_back = set(), set()
        if (
            transaction is None
            or transaction.kind is None
            or transaction.envelope is None
            or index == transaction.end
        ):
            return  # nothing a claim of it could be written with
        if not position.loops:
            self._keep(self._header, raw)
            return
        open_loops = {loop.index for loop in position.loops}
        for known in [at for at in self._loops if at not in open_loops]:
            del self._loops[known]
        loop = self._loops.setdefault(position.loops[-1].index, [])
        self._keep(loop, raw)
        if len(loop) == 1 and loop[0][0] == "HL":  # the loop's HL: its parent pointer
            hl = padded(loop[0], 3)
            if hl[2] in self._hl_ids:
                self._points_back.add(index)
            self._hl_ids.add(hl[1])

    def end_of_file(self, position: Position) -> None:
        if self._unit is not None and position.claim is self._claim:
            # Cut off whatever else it lacks: the check did not read it as a claim either.
            self._unit.not_written = CUT_OFF
            self._unit.segments = []
        self._close()
        for index, claim_id in position.unread_claims:
            self._unit = ClaimUnit(None, index, claim_id, (0, 0, 0), None, not_written=UNREAD)
            self._close()

    def units(self) -> Iterator[ClaimUnit]:
        """Every claim met, in file order (read once)."""
        self._spool.seek(0)
        for _ in range(self._count):
            yield pickle.load(self._spool)
        self._spool.close()

    def _keep(self, segments: list[Segment], raw: str) -> None:
        """Add a segment to what is kept; one with no valid tag (which the parser reported,
        holding its transaction set) is left out, so that no output is damaged."""
        transaction = self._transaction if self._claim is None else self._claim.transaction
        assert transaction is not None and transaction.envelope is not None
        fields = raw.split(transaction.envelope.delimiters.element)
        if is_segment_tag(fields[0]):
            segments.append(fields)

    def _open(self, claim: ClaimSpan, raw: str) -> ClaimUnit:
        transaction = claim.transaction
        envelope = transaction.envelope if transaction is not None else None
        unit = ClaimUnit(
            claim.ordinal,
            claim.index,
            claim.claim_id,
            (
                envelope.isa_index if envelope else 0,
                envelope.gs_index if envelope else 0,
                transaction.index if transaction else 0,
            ),
            envelope.delimiters if envelope else None,
        )
        levels = [loop.level for loop in claim.loops]
        if claim.ordinal is None:
            unit.not_written = claim.not_read
        elif transaction is None or envelope is None:
            unit.not_written = "it has no interchange header (ISA) before it"
        elif "20" not in levels or "22" not in levels:
            unit.not_written = (
                "it has no billing provider or subscriber loop (HL 20, HL 22) above it, so "
                "no valid 837 can be written for it"
            )
        elif misplaced := self._misplaced_parent(claim):
            unit.not_written = misplaced
        elif too_long := _too_long_for_isa(envelope.isa):
            unit.not_written = (
                f"its interchange header cannot be rebuilt: {too_long} holds more than "
                "X12's fixed width"
            )
        else:
            unit.isa = fixed_width_isa(envelope.isa)  # a mispadded ISA is refused whole
            unit.gs = envelope.group_header(transaction.version)
            unit.header = list(self._header)
            unit.hierarchy = [
                (loop.index, list(self._loops.get(loop.index, []))) for loop in claim.loops
            ]
            unit.segments = [raw.split(envelope.delimiters.element)]
        return unit

    def _misplaced_parent(self, claim: ClaimSpan) -> str:
        """Why the claim's loops cannot be written as the input has them ("" when they
        can): an HL whose parent (HL02) names an earlier HL that is not the loop above it.
        The writer renumbers the loops it writes, parents included, so such a claim would
        come out under another subscriber, a file that then reads clean. (A pointer to no
        earlier HL says nothing: the loop above it is its parent, as the parser reads it.)"""
        above = ""
        for loop in claim.loops:
            kept = self._loops.get(loop.index)
            hl = padded(kept[0], 3) if kept and kept[0][0] == "HL" else None
            if hl is None:
                return "one of the HL segments above it cannot be read"
            if hl[2] != above and loop.index in self._points_back:
                return (
                    f"its HL {shown(hl[1])} names HL {shown(hl[2]) or '(none)'} as its parent "
                    f"(HL02), not the loop above it (HL {shown(above) or '(none)'}), so no "
                    "837 can be written for it without moving it to another subscriber"
                )
            above = hl[1]
        return ""

    def _close(self) -> None:
        if self._unit is not None:
            pickle.dump(self._unit, self._spool, protocol=pickle.HIGHEST_PROTOCOL)
            self._count += 1
        self._unit, self._claim = None, None


def _too_long_for_isa(isa: Segment) -> str:
    """The ISA elements (ISA06, ...) whose text is longer than X12's fixed width: an ISA
    padded wrongly is rebuilt, one whose text does not fit is not ("" when it fits)."""
    fields = padded(isa, len(ISA_WIDTHS) + 1)
    return ", ".join(
        f"ISA{number:02d}"
        for number, width in enumerate(ISA_WIDTHS, start=1)
        if len(fields[number].strip()) > width
    )


def _redelimited(fields: Segment, source: Delimiters, target: Delimiters) -> Segment | None:
    """A segment's elements written with `target`'s component and repetition separators
    instead of `source`'s; None when its text holds a separator of `target` as data, so
    that it cannot be."""
    mapping = {source.component: target.component}
    if source.repetition and target.repetition:
        mapping[source.repetition] = target.repetition
    table = str.maketrans(mapping)  # at once: ':' -> '^' and '^' -> ':' do not collide
    taken = [
        separator
        for separator in (target.element, target.component, target.repetition, target.segment)
        if separator
    ]
    written = []
    for value in fields:
        data = value
        for separator in mapping:
            data = data.replace(separator, "")
        if any(separator in data for separator in taken):
            return None
        written.append(value.translate(table))
    return written


def _written_with(claim: ClaimUnit, target: Delimiters) -> ClaimUnit:
    """The claim with its interchange's separators replaced by `target`'s (the claim as it
    is when they are the same, or when its text holds one of `target`'s as data)."""
    source = claim.delimiters
    if source is None or source == target:
        return claim
    segments = [
        claim.isa,
        claim.gs,
        *claim.header,
        *(fields for _, loop in claim.hierarchy for fields in loop),
        *claim.segments,
    ]
    written: list[Segment] = []
    for fields in segments:
        redelimited = _redelimited(fields, source, target)
        if redelimited is None:
            return claim
        written.append(redelimited)
    done = iter(written)
    isa, gs = next(done), next(done)
    header = [next(done) for _ in claim.header]
    hierarchy = [(at, [next(done) for _ in loop]) for at, loop in claim.hierarchy]
    return replace(
        claim,
        delimiters=target,
        isa=isa,
        gs=gs,
        header=header,
        hierarchy=hierarchy,
        segments=[next(done) for _ in claim.segments],
    )


def _with(fields: Segment, position: int, value: str) -> Segment:
    """A copy of `fields` with element `position` set (a GS or HL cut short in transfer
    still gets its new control number)."""
    copy = padded(fields, position + 1)
    copy[position] = value
    return copy


@dataclass(frozen=True, slots=True)
class Renumbered:
    """An output transaction set's control numbers and the input's they replace."""

    output: str  # the output's name ("clean", "held")
    isa13: str
    gs06: str
    st02: str
    file: str
    input_isa13: str
    input_gs06: str
    input_st02: str

    def to_dict(self) -> dict[str, object]:
        return {
            "output": self.output,
            "isa13": self.isa13,
            "gs06": self.gs06,
            "st02": self.st02,
            "from": {
                "file": self.file,
                "isa13": self.input_isa13,
                "gs06": self.input_gs06,
                "st02": self.input_st02,
            },
        }


class _Output:
    """One 837 being written: envelopes opened lazily, closed with their counts; control
    numbers drawn from `numbers`, each output set's recorded in `renumbered`."""

    def __init__(self, stream: TextIO, name: str, numbers: NumberSource) -> None:
        self._stream = stream
        self._name = name
        self._numbers = numbers
        self.renumbered: list[Renumbered] = []
        self._sender = ""
        self.claims = 0
        # Every interchange is written with the first one's separators (re-delimited):
        # translators and pyx12 take a file's separators from its first ISA. Only a claim
        # whose text holds one of them as data keeps its own, in an interchange of its own.
        self._first_delimiters: Delimiters | None = None
        self._delimiters: Delimiters | None = None  # the open interchange's
        self._isa: tuple[str, int] | None = None
        self._gs: tuple[str, int, int] | None = None
        self._st: tuple[str, int, int, int] | None = None
        self._st_control = 0
        self._groups = self._sets = self._segments = self._hl = 0
        self._isa_segment: Segment = []
        self._gs_segment: Segment = []
        # input HL position -> output HL id, HL04 and parent as written
        self._written_loops: dict[int, tuple[str, str, str]] = {}

    def _write(self, fields: Segment) -> None:
        assert self._delimiters is not None
        text = self._delimiters.element.join(fields) + self._delimiters.segment
        if not self._delimiters.segment.isspace():
            text += "\n"
        self._stream.write(text)
        if self._st is not None:
            self._segments += 1

    def add(self, file: str, claim: ClaimUnit) -> None:
        isa_at, gs_at, st_at = claim.envelope
        assert claim.delimiters is not None and not claim.not_written
        self._first_delimiters = self._first_delimiters or claim.delimiters
        claim = _written_with(claim, self._first_delimiters)
        assert claim.delimiters is not None
        if self._isa != (file, isa_at) or self._delimiters != claim.delimiters:
            self._close_interchange()
            self._delimiters = claim.delimiters
            self._isa = (file, isa_at)
            self._sender = f"{padded(claim.isa, 7)[5].strip()}:{claim.isa[6].strip()}"
            control = self._numbers.next(self._sender)
            self._isa_segment = _with(claim.isa, 13, f"{control:09d}")
            self._st_control = 0
            self._write(self._isa_segment)
        if self._gs != (file, isa_at, gs_at):
            self._close_group()
            self._groups += 1
            self._gs = (file, isa_at, gs_at)
            self._gs_segment = _with(claim.gs, 6, str(self._numbers.next(self._sender)))
            self._write(self._gs_segment)
        if self._st != (file, isa_at, gs_at, st_at):
            self._close_transaction()
            self._st_control += 1
            self._sets += 1
            st = _with(claim.header[0], 2, f"{self._st_control:04d}")
            self.renumbered.append(
                Renumbered(
                    self._name,
                    self._isa_segment[13],
                    self._gs_segment[6],
                    st[2],
                    file,
                    padded(claim.isa, 14)[13].strip(),
                    padded(claim.gs, 7)[6],
                    padded(claim.header[0], 3)[2],
                )
            )
            self._st = (file, isa_at, gs_at, st_at)
            self._segments = 0
            self._hl = 0
            self._written_loops = {}
            self._write(st)
            for fields in claim.header[1:]:
                self._write(fields)
        parent = ""
        last = len(claim.hierarchy) - 1
        for depth, (position, loop) in enumerate(claim.hierarchy):
            # HL04 says whether a loop has an HL below it, as written here: a subscriber
            # whose own claim went out with HL04 0 is written again, with 1, above a
            # dependent's claim (a subscriber loop may repeat; its HL04 may not be wrong).
            child = "1" if depth < last else "0"
            written = self._written_loops.get(position)
            if written is None or written[1:] != (child, parent):
                self._hl += 1
                hl = _with(_with(_with(loop[0], 1, str(self._hl)), 2, parent), 4, child)
                self._write(hl)
                for fields in loop[1:]:
                    self._write(fields)
                written = self._written_loops[position] = (str(self._hl), child, parent)
            parent = written[0]
        for fields in claim.segments:
            self._write(fields)
        self.claims += 1

    def _close_transaction(self) -> None:
        if self._st is not None:
            control = f"{self._st_control:04d}"
            self._write(["SE", str(self._segments + 1), control])
            self._st = None

    def _close_group(self) -> None:
        self._close_transaction()
        if self._gs is not None:
            self._write(["GE", str(self._sets), self._gs_segment[6]])
            self._gs, self._sets = None, 0

    def _close_interchange(self) -> None:
        self._close_group()
        if self._isa is not None:
            self._write(["IEA", str(self._groups), self._isa_segment[13]])
            self._isa, self._groups = None, 0

    def close(self) -> None:
        self._close_interchange()


@contextmanager
def atomic_output(path: Path, name: str, numbers: NumberSource) -> Iterator[_Output]:
    """An _Output writing to a temporary file beside `path`, renamed into place on success;
    `name` says which output it is in the record of control numbers."""
    folder = path.parent if str(path.parent) else Path(".")
    folder.mkdir(parents=True, exist_ok=True)  # an output folder a hook names may be new
    with replaced_atomically(path) as stream:  # whole or not at all, 0600 (report.files)
        output = _Output(stream, name, numbers)
        yield output
        output.close()
