"""Write the claims of checked 837 files into two new 837 files: clean and held.

A second pass over the input reads raw segments and routes each claim, with the loops it
needs (the transaction set header, its billing provider, subscriber and patient loops), to
the output its decision names. Every output is a valid 837: interchange, group and
transaction set envelopes are rebuilt with new control numbers and counts, HL numbers and
parent pointers are renumbered. Writes go to a temporary file renamed into place, so a
reader never sees half a file, and an output with no claims is written empty so that a
stale file is never sent by mistake.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO, cast

from edi_precheck.model.parser import claim_kind, declared_version
from edi_precheck.sources import Source
from edi_precheck.x12 import Delimiters, SegmentReader, padded

Segment = list[str]


@dataclass(slots=True)
class ClaimUnit:
    """One claim's segments and the loops above it, as the input holds them."""

    index: int  # 1-based ordinal of the claim in its file (as the parser counts)
    claim_id: str
    envelope: tuple[str, int, int, int]  # file, ISA, GS and ST positions: where it came from
    isa: Segment
    gs: Segment
    header: list[Segment]  # ST, BHT, 1000A/1000B loops
    hierarchy: list[tuple[int, list[Segment]]]  # (HL position, loop segments), top first
    segments: list[Segment]  # CLM and everything after it that belongs to the claim
    delimiters: Delimiters


@dataclass(slots=True)
class _Transaction:
    envelope: tuple[str, int, int, int]
    isa: Segment
    gs: Segment
    header: list[Segment] = field(default_factory=list)
    loops: dict[str, tuple[int, list[Segment]]] = field(default_factory=dict)  # by HL level


def claim_units(
    source: Source, on_cut_off: Callable[[int, str], None] | None = None
) -> Iterator[ClaimUnit]:
    """Yield the claims of an 837 file with their context, reading it once more.

    `on_cut_off(index, claim_id)` hears of a claim the file ends inside (not yielded).
    """
    with source.open() as stream:
        reader = SegmentReader(stream)
        isa: Segment = []
        gs: Segment = []
        isa_at = gs_at = 0
        transaction: _Transaction | None = None
        claim: ClaimUnit | None = None
        count = 0
        for index, fields in reader:
            tag = fields[0]
            if claim is not None and tag in ("CLM", "HL", "SE", "GE", "IEA", "ISA", "GS", "ST"):
                yield claim
                claim = None
            if tag == "ISA":
                isa, isa_at = fields, index
            elif tag == "GS":
                gs, gs_at = fields, index
            if tag in ("SE", "GE", "IEA", "ISA", "GS", "ST"):
                transaction = None
            if tag == "ST":
                if claim_kind(fields, declared_version(gs, fields)) is not None:
                    transaction = _Transaction(
                        (source.name, isa_at, gs_at, index), isa, gs, [fields]
                    )
                continue
            if transaction is None or tag in ("SE", "GE", "IEA", "ISA", "GS"):
                continue
            if tag == "HL":
                level = fields[3] if len(fields) > 3 else ""
                transaction.loops[level] = (index, [fields])
                for lower in {"20": ("22", "23"), "22": ("23",)}.get(level, ()):
                    transaction.loops.pop(lower, None)
            elif tag == "CLM":
                count += 1
                hierarchy = [
                    transaction.loops[level]
                    for level in ("20", "22", "23")
                    if level in transaction.loops
                ]
                delimiters = reader.delimiters
                assert delimiters is not None
                claim = ClaimUnit(
                    count,
                    fields[1] if len(fields) > 1 else "",
                    transaction.envelope,
                    transaction.isa,
                    transaction.gs,
                    transaction.header,
                    hierarchy,
                    [fields],
                    delimiters,
                )
            elif claim is not None:
                claim.segments.append(fields)
            elif transaction.loops:
                last_level = next(reversed(transaction.loops))
                transaction.loops[last_level][1].append(fields)
            else:
                transaction.header.append(fields)
        if claim is not None and on_cut_off is not None:
            on_cut_off(claim.index, claim.claim_id)


def _with(fields: Segment, position: int, value: str) -> Segment:
    """A copy of `fields` with element `position` set (a GS or HL cut short in transfer
    still gets its new control number)."""
    copy = padded(fields, position + 1)
    copy[position] = value
    return copy


class _Output:
    """One 837 being written: envelopes opened lazily, closed with their counts."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self.claims = 0
        self._delimiters: Delimiters | None = None
        self._isa: tuple[str, int] | None = None
        self._gs: tuple[str, int, int] | None = None
        self._st: tuple[str, int, int, int] | None = None
        self._isa_control = self._gs_control = self._st_control = 0
        self._groups = self._sets = self._segments = self._hl = 0
        self._isa_segment: Segment = []
        self._gs_segment: Segment = []
        self._written_loops: dict[int, str] = {}  # input HL position -> output HL id

    def _write(self, fields: Segment) -> None:
        assert self._delimiters is not None
        text = self._delimiters.element.join(fields) + self._delimiters.segment
        if not self._delimiters.segment.isspace():
            text += "\n"
        self._stream.write(text)
        if self._st is not None:
            self._segments += 1

    def add(self, claim: ClaimUnit) -> None:
        file, isa_at, gs_at, _ = claim.envelope
        if self._isa != (file, isa_at) or self._delimiters != claim.delimiters:
            self._close_interchange()
            self._delimiters = claim.delimiters
            self._isa_control += 1
            self._isa = (file, isa_at)
            self._isa_segment = _with(claim.isa, 13, f"{self._isa_control:09d}")
            self._write(self._isa_segment)
        if self._gs != (file, isa_at, gs_at):
            self._close_group()
            self._gs_control += 1
            self._groups += 1
            self._gs = (file, isa_at, gs_at)
            self._gs_segment = _with(claim.gs, 6, str(self._gs_control))
            self._write(self._gs_segment)
        if self._st != claim.envelope:
            self._close_transaction()
            self._st_control += 1
            self._sets += 1
            st = _with(claim.header[0], 2, f"{self._st_control:04d}")
            self._st = claim.envelope
            self._segments = 0
            self._hl = 0
            self._written_loops = {}
            self._write(st)
            for fields in claim.header[1:]:
                self._write(fields)
        parent = ""
        for position, loop in claim.hierarchy:
            if position not in self._written_loops:
                self._hl += 1
                hl = _with(_with(loop[0], 1, str(self._hl)), 2, parent)
                self._write(hl)
                for fields in loop[1:]:
                    self._write(fields)
                self._written_loops[position] = str(self._hl)
            parent = self._written_loops[position]
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
def atomic_output(path: Path) -> Iterator[_Output]:
    """An _Output writing to a temporary file beside `path`, renamed into place on success."""
    folder = path.parent if str(path.parent) else Path(".")
    with tempfile.NamedTemporaryFile(
        "w", encoding="utf-8", newline="", dir=folder, prefix=f".{path.name}.", delete=False
    ) as handle:
        temporary = Path(handle.name)
        try:
            output = _Output(cast(TextIO, handle))
            yield output
            output.close()
        except BaseException:
            handle.close()
            temporary.unlink(missing_ok=True)
            raise
    umask = os.umask(0)
    os.umask(umask)
    temporary.chmod(0o666 & ~umask)  # as an ordinary new file would be, not 0600
    os.replace(temporary, path)
