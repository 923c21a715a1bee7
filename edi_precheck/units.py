"""Cutting a large 837 into units that are checked apart (in other processes, or on Spark
executors), and mapping what they find back to the file.

A file is first read once for its envelope (the parser skims every claim: counts and
file-level findings, at reading speed). If that pass finds it sound, one streaming scan
finds where each interchange, group and transaction set begins and ends, in bytes and in
segment positions, without holding the file; the sets are then grouped into units of about
`unit_bytes`, each a standalone interchange (the set's own ISA and GS, its sets, a rebuilt GE
and IEA) read back from the file one unit at a time. A unit's findings are moved back to
the file's segment positions and claim numbers; its own envelope findings (of the rebuilt
trailer) are dropped, the envelope pass having made the file's.

Units depend on the file's bytes only. A file the envelope pass finds damaged (a segment it
cannot read, a set cut off, counts that disagree), or whose interchanges do not share one
set of delimiters, is not cut: it is checked whole.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import BinaryIO

from edi_precheck.findings import Finding
from edi_precheck.model.structure import claim_kind, declared_version
from edi_precheck.reading import read_claims
from edi_precheck.report.results import FileResult
from edi_precheck.sources import Source

# Spark's unit sizes (the engine's own processes take smaller ones): rule checks read about
# 20 MB a second, pyx12 about 0.2 MB: with pyx12 a unit of 1 MB is already seconds of work,
# worth a task of its own.
DEFAULT_UNIT_BYTES = 16 * 1024 * 1024
DEFAULT_IG_UNIT_BYTES = 1024 * 1024
# File-level findings after which a file is checked whole: the cut relies on a sound
# envelope (what is only noted, a version disagreement or a set not read, is fine).
SOUND_RULES = frozenset({"x12.version", "x12.unsupported"})
# How much the scan reads at a time.
WINDOW_BYTES = 1 << 20
# The length of an ISA segment without its terminator (X12: fixed width).
ISA_LENGTH = 105


@dataclass(frozen=True)
class Unit:
    """Bytes to check, and where their segments and claims sit in the file."""

    file: str
    number: int
    data: bytes
    whole: bool  # the whole file: findings as they are
    isa_index: int = 0  # file positions of the envelope the unit repeats
    gs_index: int = 0
    first_index: int = 0  # file position of the unit's first ST
    last_index: int = 0  # ... and of its last SE
    claims_before: int = 0  # claims the parser numbers before the unit's first
    # Where its sets lie in the file, and the envelope around them: what `read` makes the
    # unit's bytes of (a unit sent to another process need not carry them).
    start: int = 0
    end: int = 0
    head: bytes = b""  # its ISA and GS segments, terminated
    tail: bytes = b""  # the GE and IEA rebuilt for its sets

    def read(self, source: Source) -> Unit:
        """The unit with its bytes, read from `source` (its file)."""
        if self.data or self.whole:
            return self
        with source.open() as stream:
            stream.seek(self.start)
            body = stream.read(self.end - self.start)
        return replace(self, data=self.head + body + self.tail)

    def without_bytes(self) -> Unit:
        """The unit as its positions alone, to send back with what was found in it."""
        return replace(self, data=b"", head=b"", tail=b"")

    def file_index(self, local: int | None) -> int | None:
        """The file position of the unit's segment `local` (ISA 1, GS 2, first ST 3)."""
        if local is None or self.whole:
            return local
        if local == 1:
            return self.isa_index
        if local == 2:
            return self.gs_index
        index = self.first_index + local - 3
        return index if index <= self.last_index else None  # the rebuilt GE/IEA

    def file_claim(self, local: int) -> int:
        """The file's number of the unit's claim `local`."""
        return local if self.whole else local + self.claims_before

    def moved(self, finding: Finding) -> Finding | None:
        """A unit's finding at its place in the file; None for what the unit's rebuilt
        envelope caused (the file's envelope findings come from the envelope pass)."""
        if self.whole:
            return finding
        if finding.claim_index is None and finding.rule != "x12.ig":
            return None
        position = self.file_index(finding.segment_index)
        if finding.segment_index is not None and position is None:
            return None
        claim = finding.claim_index
        return replace(
            finding,
            segment_index=position,
            claim_index=claim + self.claims_before if claim is not None else None,
        )


@dataclass(frozen=True)
class Cut:
    """A file's units, and (when cut) its envelope pass: counts and file-level findings."""

    units: list[Unit]
    envelope: FileResult | None = None


@dataclass(slots=True)
class _Set:
    """One transaction set as the scan finds it: byte offsets and segment positions."""

    isa: bytes  # the ISA and GS segments it came under
    gs: bytes
    isa_index: int
    gs_index: int
    start: int  # byte offset of its ST
    st_index: int
    st: bytes
    end: int = 0  # byte offset after its SE's terminator
    se_index: int = 0
    claims: int = 0
    read: bool = False  # a set the parser reads (837P or 837I)


def cut(name: str, data: bytes, unit_bytes: int = DEFAULT_UNIT_BYTES) -> Cut:
    """The units of one file held in memory (Spark reads files whole)."""
    source = Source(name, None, data)
    if len(data) <= unit_bytes:
        return Cut([Unit(name, 0, data, True)])
    envelope = envelope_pass(source)
    units = list(units_of(source, envelope, unit_bytes))
    return Cut(units, envelope) if units else Cut([Unit(name, 0, data, True)])


def bills_often(source: Source, codes: frozenset[str], share: float, sample_bytes: int) -> bool:
    """Whether the first `sample_bytes` of `source` bill `codes` (procedure composites
    'HC:<code>') on at least `share` as many lines as there are claims: a guess from the
    bytes, for deciding how to read a file, never what is found in it."""
    with source.open() as stream:
        sample = stream.read(sample_bytes)
    if len(sample) <= ISA_LENGTH or not sample.startswith(b"ISA"):
        return False
    separator, terminator = sample[3:4], sample[ISA_LENGTH : ISA_LENGTH + 1]
    component = sample[ISA_LENGTH - 1 : ISA_LENGTH]  # ISA16
    claims = sample.count(terminator + b"CLM" + separator)
    lines = sum(
        sample.count(b"HC" + component + code.encode("latin-1") + end)
        for code in codes
        for end in (component, separator)
    )
    return claims > 0 and lines >= share * claims


def envelope_pass(source: Source) -> FileResult:
    """The file's counts, digest and file-level findings, every claim skimmed."""
    envelope = FileResult(source.name)
    for _ in read_claims(source, envelope, skim_codes=frozenset()):
        pass  # every claim is counted, none built
    return envelope


def units_of(
    source: Source,
    envelope: FileResult,
    unit_bytes: int,
    read: bool = True,
    largest_set: int | None = None,
) -> Iterator[Unit]:
    """The units of a file its envelope pass (`envelope_pass`) found sound, read back one
    at a time (without `read`, only where they lie: `Unit.read` reads one); nothing when
    it cannot be cut (it is then checked whole), or when a set it would hand on whole is
    larger than `largest_set` bytes (streamed, it needs no more memory than a small one)."""
    if any(finding.rule not in SOUND_RULES for finding in envelope.reader_findings):
        return
    with source.open() as stream:
        head = stream.read(ISA_LENGTH + 1)
    if len(head) <= ISA_LENGTH or not head.startswith(b"ISA"):
        return
    separator, terminator = head[3:4], head[ISA_LENGTH : ISA_LENGTH + 1]
    with source.open() as stream:
        sets = _scan(stream, separator, terminator)
    if sets is None or [(s.st_index, s.se_index) for s in sets] != envelope.transaction_spans:
        return
    text_separator = separator.decode("latin-1")
    for transaction in sets:
        gs_fields = transaction.gs.decode("latin-1").split(text_separator)
        st_fields = transaction.st.decode("latin-1").split(text_separator)
        transaction.read = claim_kind(st_fields, declared_version(gs_fields, st_fields)) is not None
        if transaction.read and not transaction.gs:
            return  # a set with no group header (the envelope pass says so): checked whole
        if largest_set is not None and transaction.end - transaction.start > largest_set:
            return
    yield from _grouped(source, sets, separator, terminator, unit_bytes, read)


def _scan(stream: BinaryIO, separator: bytes, terminator: bytes) -> list[_Set] | None:
    """Every transaction set of the stream, in one pass of `WINDOW_BYTES` reads; None when
    an interchange uses other delimiters than the first."""
    layout = re.escape(b" \t\r\n".replace(terminator, b""))
    pattern = re.compile(
        re.escape(terminator) + b"[" + layout + b"]*(ISA|GS|ST|SE|CLM)" + re.escape(separator)
    )
    sets: list[_Set] = []
    isa, gs, isa_index, gs_index = b"", b"", 0, 0
    open_set: _Set | None = None
    # A terminator put before the file, so that its first ISA is found like any segment;
    # it is not counted: `counted` is the real terminators before `data`'s first byte.
    data, base, counted = terminator, -len(terminator), -1
    while True:
        chunk = stream.read(WINDOW_BYTES)
        data += chunk
        # Only matches that start before the last terminator are whole; the rest waits.
        limit = data.rfind(terminator) if chunk else len(data)
        position, before = 0, counted
        for match in pattern.finditer(data, 0, limit):
            before += data.count(terminator, position, match.start() + 1)
            position = match.start() + 1
            tag, start, index = match.group(1), match.start(1), before + 1
            if tag == b"CLM":
                if open_set is not None:
                    open_set.claims += 1
                continue
            ends = data.find(terminator, start)
            segment = data[start : ends if ends >= 0 else len(data)]
            if tag == b"ISA":
                if len(segment) != ISA_LENGTH or segment[3:4] != separator:
                    return None
                isa, gs, isa_index, gs_index = segment, b"", index, 0
            elif tag == b"GS":
                gs, gs_index = segment, index
            elif tag == b"ST":
                open_set = _Set(isa, gs, isa_index, gs_index, base + start, index, segment)
            elif open_set is not None:  # SE
                open_set.se_index = index
                open_set.end = base + (ends + len(terminator) if ends >= 0 else len(data))
                sets.append(open_set)
                open_set = None
        counted = before + data.count(terminator, position, limit)
        if not chunk:
            return sets
        base += limit
        data = data[limit:]


def _grouped(
    source: Source,
    sets: list[_Set],
    separator: bytes,
    terminator: bytes,
    unit_bytes: int,
    read: bool,
) -> Iterator[Unit]:
    """Consecutive sets the parser reads, under one ISA and GS, up to about `unit_bytes`
    a unit; a set not read (x12.unsupported) is in no unit and ends the one before it."""
    pending: list[_Set] = []
    claims_before = number = 0

    def unit_of(group: list[_Set]) -> Unit:
        first, last = group[0], group[-1]
        isa_fields = first.isa.split(separator) + [b"1"] * 14
        gs_fields = first.gs.split(separator) + [b"1"] * 7
        trailer = [
            [b"GE", str(len(group)).encode(), gs_fields[6]],
            [b"IEA", b"1", isa_fields[13]],
        ]
        unit = Unit(
            source.name,
            number,
            b"",
            False,
            first.isa_index,
            first.gs_index,
            first.st_index,
            last.se_index,
            claims_before,
            first.start,
            last.end,
            first.isa + terminator + first.gs + terminator,
            b"".join(separator.join(fields) + terminator for fields in trailer),
        )
        return unit.read(source) if read else unit

    size = 0
    for transaction in sets:
        if pending and (
            not transaction.read
            or (pending[0].isa_index, pending[0].gs_index)
            != (transaction.isa_index, transaction.gs_index)
            or size >= unit_bytes
        ):
            yield unit_of(pending)
            number += 1
            claims_before += sum(s.claims for s in pending)
            pending, size = [], 0
        if transaction.read:
            pending.append(transaction)
            size += transaction.end - transaction.start
    if pending:
        yield unit_of(pending)
