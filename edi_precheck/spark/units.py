"""Cutting a large 837 into units of work that executors check apart, and mapping what
they find back to the file.

A file up to `unit_bytes` is one unit, checked whole: its findings are the command line's.
A larger one is read once for its envelope (the parser skims every claim: counts and
file-level findings, at reading speed), then cut at transaction-set boundaries into units
of about `unit_bytes`, each a standalone interchange (the set's own ISA and GS, its sets,
GE and IEA) whose claims are checked, and pyx12 run, anywhere. A unit's findings are moved
back to the file's segment positions and claim numbers; its own envelope findings (of the
rebuilt trailer) are dropped, the envelope pass having made the file's.

Units depend on the file's bytes only, never on how Spark partitions them, so the findings
do not either. What differs from one run over the whole file: claims are compared with the
claims of their own unit only (`claim.duplicate`, `units.frequency`); a history store
compares them with everything on record. A file the envelope pass finds damaged (a segment
it cannot read, a set cut off, counts that disagree) is checked whole, as one unit.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, replace

from edi_precheck.engine import read_claims
from edi_precheck.findings import Finding
from edi_precheck.model.structure import claim_kind, declared_version
from edi_precheck.report.results import FileResult
from edi_precheck.sources import Source

# Unit sizes: rule checks read about 20 MB a second, pyx12 about 0.2 MB: with pyx12 a unit
# of 1 MB is already seconds of work, worth a task of its own.
DEFAULT_UNIT_BYTES = 16 * 1024 * 1024
DEFAULT_IG_UNIT_BYTES = 1024 * 1024
# File-level findings after which a file is checked whole: the cut relies on a sound
# envelope (what is only noted, a version disagreement or a set not read, is fine).
SOUND_RULES = frozenset({"x12.version", "x12.unsupported"})


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


def _segment_starts(data: bytes, terminator: bytes, tag: bytes, separator: bytes) -> list[int]:
    pattern = re.compile(
        rb"(?:\A|" + re.escape(terminator) + rb")[ \t\r\n]*(" + tag + re.escape(separator) + b")"
    )
    return [match.start(1) for match in pattern.finditer(data)]


def cut(name: str, data: bytes, unit_bytes: int = DEFAULT_UNIT_BYTES) -> Cut:
    """The units of one file (see the module's docstring)."""
    whole = Cut([Unit(name, 0, data, True)])
    if len(data) <= unit_bytes or not data.startswith(b"ISA") or len(data) < 106:
        return whole
    separator, terminator = data[3:4], data[105:106]
    envelope = FileResult(name)
    for _ in read_claims(Source(name, None, data), envelope, skim_codes=frozenset()):
        pass  # every claim is counted, none built
    if any(f.rule not in SOUND_RULES for f in envelope.reader_findings):
        return whole
    spans = envelope.transaction_spans
    starts = _segment_starts(data, terminator, b"ST", separator)
    if len(starts) != len(spans):
        return whole
    isas = _segment_starts(data, terminator, b"ISA", separator)
    groups = _segment_starts(data, terminator, b"GS", separator)
    if not isas or isas[0] > starts[0]:
        return whole
    # Terminators before each envelope and set start, counted in one pass over the file:
    # how far a unit's ISA and GS lie before its first ST, in segments.
    before: dict[int, int] = {}
    counted = position = 0
    for point in sorted({*isas, *groups, *starts}):
        counted += data.count(terminator, position, point)
        before[point], position = counted, point
    set_end = re.compile(re.escape(terminator) + rb"[ \t\r\n]*SE" + re.escape(separator))
    units: list[Unit] = []
    claims_seen = 0
    pending: list[tuple[int, int, int, int]] = []  # (ST offset, end offset, ST, SE) of a unit
    pending_header = (-1, -1)  # the ISA and GS offsets of the pending sets

    def segment_at(offset: int) -> bytes:
        end = data.find(terminator, offset)
        return data[offset : end if end >= 0 else len(data)]

    def header_of(offset: int) -> tuple[int, int]:
        isa = isas[bisect.bisect_left(isas, offset) - 1]
        gs_position = bisect.bisect_left(groups, offset) - 1
        gs = groups[gs_position] if gs_position >= 0 and groups[gs_position] > isa else -1
        return isa, gs

    def flush() -> None:
        nonlocal claims_seen
        if not pending:
            return
        first_offset, last_end = pending[0][0], pending[-1][1]
        isa, gs = pending_header
        body = data[first_offset:last_end]
        isa_fields = segment_at(isa).split(separator) + [b"1"] * 14
        gs_fields = segment_at(gs).split(separator) + [b"1"] * 7
        trailer = [
            [b"GE", str(len(pending)).encode(), gs_fields[6]],
            [b"IEA", b"1", isa_fields[13]],
        ]
        text = b"".join(
            [segment_at(isa), terminator, segment_at(gs), terminator, body]
            + [separator.join(fields) + terminator for fields in trailer]
        )
        first_st, last_se = pending[0][2], pending[-1][3]
        gs_index = first_st - (before[first_offset] - before[gs])
        isa_index = gs_index - (before[gs] - before[isa])
        units.append(
            Unit(name, len(units), text, False, isa_index, gs_index, first_st, last_se, claims_seen)
        )
        claims_seen += len(_segment_starts(body, terminator, b"CLM", separator))
        pending.clear()

    size = 0
    text_separator = separator.decode("latin-1")
    for offset, (st_index, se_index) in zip(starts, spans, strict=True):
        isa, gs = header_of(offset)
        end_match = set_end.search(data, offset)
        if gs < 0 or end_match is None:
            return whole
        end = data.find(terminator, end_match.start() + len(terminator))
        end = end + len(terminator) if end >= 0 else len(data)
        gs_fields = segment_at(gs).decode("latin-1").split(text_separator)
        st_fields = segment_at(offset).decode("latin-1").split(text_separator)
        if claim_kind(st_fields, declared_version(gs_fields, st_fields)) is None:
            flush()  # a set not read (x12.unsupported): in no unit; its claims unnumbered
            continue
        if pending and (pending_header != (isa, gs) or size >= unit_bytes):
            flush()
            size = 0
        pending_header = (isa, gs)
        pending.append((offset, end, st_index, se_index))
        size += end - offset
    flush()
    return Cut(units, envelope)
