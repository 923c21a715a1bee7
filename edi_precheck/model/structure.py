"""The structure of an 837 as the parser walks it: interchanges, groups, transaction sets,
HL loops and claims, each with its segment positions.

The parser (`model.parser`) is the one walker of segments: it decides where a transaction
set, a loop and a claim begin and end, which sets are read and how claims are numbered.
Whoever needs more than built claims (the split writer, the implementation-guide splitter)
is a `SegmentSink`: it is handed each segment with the parser's `Position` and never walks
the structure itself, so it cannot disagree with the claims and findings of the same pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from edi_precheck.x12 import Delimiters, padded

# Implementation guides we read, by the first ten characters of the version they declare.
SUPPORTED_VERSIONS = {"005010X222": "837P", "005010X223": "837I"}
# The full version of each, for a group header rebuilt where the input had none.
GUIDE_VERSIONS = {"837P": "005010X222A1", "837I": "005010X223A2"}


def declared_version(gs: list[str], st: list[str]) -> str:
    """The implementation guide a transaction set declares: ST03, which governs the set
    (X12), else GS08, the group's."""
    return (st[3] if len(st) > 3 else "") or (gs[8] if len(gs) > 8 else "")


def claim_kind(st: list[str], version: str) -> str | None:
    """'837P' or '837I' for a set we read (ST01 837 of a supported guide), else None."""
    return SUPPORTED_VERSIONS.get(version[:10]) if len(st) > 1 and st[1] == "837" else None


def rebuilt_gs(isa: list[str], version: str, control: str = "1") -> list[str]:
    """A functional group header for an interchange that has none: sender and receiver of
    the ISA, its date (ISA09, YYMMDD, taken as this century) and time, the set's version."""
    isa = padded(isa, 11)
    return [
        "GS",
        "HC",
        isa[6].strip(),
        isa[8].strip(),
        "20" + isa[9].strip() if len(isa[9].strip()) == 6 else isa[9].strip(),
        isa[10].strip(),
        control,
        "X",
        version,
    ]


@dataclass(slots=True)
class Envelope:
    """The interchange and functional group a transaction set came in."""

    isa: list[str]
    isa_index: int
    delimiters: Delimiters
    gs: list[str] | None = None  # None: the interchange has no GS before the set
    gs_index: int = 0

    def group_header(self, version: str) -> list[str]:
        """The GS the set came under, or one rebuilt from the ISA when there was none."""
        return list(self.gs) if self.gs is not None else rebuilt_gs(self.isa, version)


@dataclass(slots=True)
class TransactionSpan:
    """One ST ... SE, read or not."""

    index: int  # of the ST
    st: list[str]
    envelope: Envelope | None  # None: no ISA before it (the envelope checks report it)
    version: str  # as the set declares it (ST03, else GS08)
    kind: str | None  # 837P or 837I; None for a set that is not read
    not_read: str = ""  # why it is not read, in words, when kind is None
    end: int = 0  # position of its SE once met

    @property
    def control(self) -> str:
        return self.st[2] if len(self.st) > 2 else ""


@dataclass(slots=True)
class LoopSpan:
    """One HL loop: its level (20 billing provider, 22 subscriber, 23 patient)."""

    index: int  # of the HL
    level: str


@dataclass(slots=True)
class ClaimSpan:
    """One CLM and the segments after it up to the next CLM, HL or envelope segment."""

    index: int  # of the CLM
    claim_id: str
    ordinal: int | None  # the claim's number in its file; None when it is not read
    transaction: TransactionSpan | None
    loops: tuple[LoopSpan, ...] = ()  # the HL loops above it, top first
    not_read: str = ""  # why it is not read, when ordinal is None


@dataclass(slots=True)
class Position:
    """Where the parser is: what the segment it hands to sinks belongs to."""

    envelope: Envelope | None = None
    transaction: TransactionSpan | None = None
    loops: list[LoopSpan] = field(default_factory=list)  # open HL loops, top first
    claim: ClaimSpan | None = None
    # At the end of the file: CLMs in text the reader could not read as X12 (segment
    # position as far as it could count, CLM01).
    unread_claims: list[tuple[int, str]] = field(default_factory=list)


class SegmentSink(Protocol):
    """Told of every segment in file order, with where it lies; `end_of_file` after the
    last (an open claim there was cut off by the end of the file)."""

    def segment(self, index: int, raw: str, position: Position) -> None: ...

    def end_of_file(self, position: Position) -> None: ...
