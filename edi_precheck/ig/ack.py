"""One 999 acknowledgment for everything checked, built from pyx12's structured errors.

Transaction sets are validated one at a time. Their answers are gathered into one
interchange holding one 999 per functional group of the input, with AK9 counted again.
Each set's AK2/IK3/IK4/IK5 block is built from the errors pyx12 reports as data (segment
position, element position, reference and code), never from the text of the 999 pyx12
writes: that text copies the bad value (IK404), which can hold a patient's data, and a
segment terminator inside such a value could be read as segments of the 999 itself (a name
holding '~IK5*A~' would accept a rejected set). IK404 is never written; a segment id the
maps do not define is written as UNK (`segment_ids`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from itertools import groupby

from edi_precheck.ig.findings import SEGMENT_CODES
from edi_precheck.ig.outcome import IGError, IGOutcome
from edi_precheck.ig.segment_ids import UNRECOGNISED, printable_segment_id
from edi_precheck.ig.transactions import TransactionSet
from edi_precheck.x12 import fixed_width_isa

# IK304 for a segment whose elements are in error.
SEGMENT_HAS_ELEMENT_ERRORS = "8"
# IK502 for a set rejected for its segments, and for one whose ST02 is unreadable.
SEGMENTS_IN_ERROR = "5"
CONTROL_NUMBER_INVALID = "7"


@dataclass(slots=True)
class _Group:
    ak1: list[str]
    blocks: list[list[list[str]]] = field(default_factory=list)
    received: int = 0
    accepted: int = 0


def _echo(value: str) -> str:
    """An input's value as the 999 may repeat it: letters, digits, spaces and a little
    punctuation only. A delimiter or control character inside it would make segments of
    the 999 (a GS06 of '101~IK5' would), so whatever else it holds is left out."""
    return "".join(ch for ch in value if ch.isascii() and (ch.isalnum() or ch in " .-_/"))


def _answering(isa: list[str], gs: list[str]) -> tuple[list[str], list[str]]:
    """An ISA and GS for a 999 answering the input's: receiver and sender swapped, dated
    now, at the ISA's fixed widths, with the 999's own separators (ISA11, ISA16)."""
    now = datetime.now()
    ack_isa = [isa[0], *(_echo(value) for value in isa[1:])]
    ack_isa[5:9] = ack_isa[7:9] + ack_isa[5:7]
    ack_isa[9:12] = [now.strftime("%y%m%d"), now.strftime("%H%M"), "^"]
    ack_isa[13:15] = ["000000001", "0"]
    ack_isa[16] = ":"
    ack_gs = [
        "GS",
        "FA",
        _echo(gs[3]),
        _echo(gs[2]),
        now.strftime("%Y%m%d"),
        now.strftime("%H%M"),
        "1",
        "X",
        "005010X231A1",
    ]
    return fixed_width_isa(ack_isa), ack_gs


def _ak2(transaction: TransactionSet) -> tuple[list[str], bool]:
    """The set's AK2, and whether its ST02 could be echoed (4 to 9 letters or digits)."""
    control = transaction.control
    if 4 <= len(control) <= 9 and control.isalnum():
        return ["AK2", "837", control, _echo(transaction.version)], True
    echoed = "".join(ch for ch in control if ch.isalnum())[:9].ljust(4, "0")
    return ["AK2", "837", echoed, _echo(transaction.version)], False


def _segment_errors(errors: list[IGError]) -> list[list[str]]:
    """IK3 (and IK4) segments for the errors of one segment position."""
    first = errors[0]
    ik3 = [
        "IK3",
        printable_segment_id(first.segment_id) or UNRECOGNISED,
        str(first.position or ""),
        first.loop_id,
    ]
    codes = [e.code for e in errors if e.level == "segment" and e.code in SEGMENT_CODES]
    elements = [e for e in errors if e.level == "element"]
    if elements and SEGMENT_HAS_ELEMENT_ERRORS not in codes:
        codes.append(SEGMENT_HAS_ELEMENT_ERRORS)
    block = [[*ik3, code] for code in codes]
    for error in elements:
        position = ":".join(
            str(part) for part in (error.element_position, error.component_position) if part
        )
        block.append(["IK4", position, error.element_reference, error.code])
    return block


def set_response(transaction: TransactionSet, outcome: IGOutcome) -> list[list[str]]:
    """The AK2 ... IK5 block answering one set."""
    ak2, echoed = _ak2(transaction)
    if outcome.crash is not None or not echoed:  # no answer from pyx12, or no ST02 to echo
        code = SEGMENTS_IN_ERROR if echoed else CONTROL_NUMBER_INVALID
        return [ak2, ["IK5", "R", code]]
    block = [ak2]
    placed = sorted(
        (e for e in outcome.errors if e.level in ("segment", "element")),
        key=lambda e: e.position or 0,
    )
    for _, errors in groupby(placed, key=lambda e: e.position or 0):
        block.extend(_segment_errors(list(errors)))
    set_codes = [e.code for e in outcome.errors if e.level == "transaction"][:5]
    if len(block) > 1 and not set_codes:
        set_codes = [SEGMENTS_IN_ERROR]
    block.append(["IK5", "R", *set_codes] if set_codes else ["IK5", "A"])
    return block


class AckBuilder:
    """Collect the answer for each transaction set; `text()` is the merged 999."""

    def __init__(self) -> None:
        self._groups: dict[tuple[str, int, int], _Group] = {}
        self._input_envelope: tuple[list[str], list[str]] | None = None  # first input's

    def add(self, file: str, transaction: TransactionSet, outcome: IGOutcome) -> None:
        """Answer one set of `file` from pyx12's errors for it."""
        group_key = (file, transaction.isa_index, transaction.gs_index)
        group = self._groups.get(group_key)
        if group is None:  # AK1 names the group as the input's GS does
            group = self._groups[group_key] = _Group(
                [
                    "AK1",
                    _echo(transaction.gs[1]),
                    # GS06 is a number (N0, 1 to 9 digits): nothing else of it is repeated.
                    "".join(ch for ch in transaction.gs[6] if ch.isdigit())[:9] or "0",
                    _echo(transaction.version),
                ]
            )
        if self._input_envelope is None:
            self._input_envelope = (transaction.isa, transaction.gs)
        block = set_response(transaction, outcome)
        group.received += 1
        if block[-1] == ["IK5", "A"]:
            group.accepted += 1
            if len(block) == 2:  # accepted without a word: no AK2 block needed
                return
        group.blocks.append(block)

    def text(self) -> str:
        """The merged 999, or an empty string when no set was validated."""
        if self._input_envelope is None:
            return ""
        isa, gs = _answering(*self._input_envelope)
        out: list[list[str]] = [isa, gs]
        for number, group in enumerate(self._groups.values(), start=1):
            control = f"{number:04d}"
            body = [["ST", "999", control, gs[8]], group.ak1]
            for block in group.blocks:
                body.extend(block)
            # A: all accepted; R: none; P: some (partially accepted)
            code = "A" if group.accepted == group.received else "P" if group.accepted else "R"
            body.append(
                ["AK9", code, str(group.received), str(group.received), str(group.accepted)]
            )
            body.append(["SE", str(len(body) + 1), control])
            out.extend(body)
        out.append(["GE", str(len(self._groups)), gs[6]])
        out.append(["IEA", "1", isa[13]])
        return "".join("*".join(fields) + "~\n" for fields in out)
