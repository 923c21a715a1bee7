"""One 999 acknowledgment for everything checked, merged from pyx12's per-set 999s.

Transaction sets are validated one at a time, so pyx12 writes one 999 each. They are merged
into one interchange holding one 999 per functional group of the input, with AK9 counted
again. IK404 (a copy of the bad data element) is dropped: it can hold a patient's data. So
is any segment that is not one of a 999's set-response segments: pyx12 writes its 999 with
'~', and a '~' inside the input's data (legal when its terminator is another character)
would cut IK404 into pieces that look like segments.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from edi_precheck.ig.transactions import TransactionSet

# What one set's response may hold between AK1 and AK9; IK4 is kept to IK401-IK403.
SET_RESPONSE_TAGS = frozenset({"AK2", "IK3", "CTX", "IK4", "IK5"})


def _segments(text: str) -> list[list[str]]:
    return [part.strip().split("*") for part in text.split("~") if part.strip()]


@dataclass(slots=True)
class _Group:
    ak1: list[str]
    blocks: list[list[list[str]]] = field(default_factory=list)
    received: int = 0
    accepted: int = 0  # IK501 A (accepted) or E (accepted with errors)
    with_errors: int = 0  # IK501 E


def _answering(isa: list[str], gs: list[str]) -> tuple[list[str], list[str]]:
    """An ISA and GS for a 999 answering the input's: receiver and sender swapped, dated
    now, as pyx12 writes its own (used when pyx12 wrote none)."""
    now = datetime.now()
    ack_isa = list(isa)
    ack_isa[5:9] = isa[7:9] + isa[5:7]
    ack_isa[9:11] = [now.strftime("%y%m%d"), now.strftime("%H%M")]
    ack_isa[13:15] = ["000000001", "0"]
    ack_gs = [
        "GS",
        "FA",
        gs[3],
        gs[2],
        now.strftime("%Y%m%d"),
        now.strftime("%H%M"),
        "1",
        "X",
        "005010X231A1",
    ]
    return ack_isa, ack_gs


def _rejected(transaction: TransactionSet) -> list[list[str]]:
    """AK2/IK5 rejecting a set pyx12 wrote no answer for: IK502 5 (one or more segments in
    error), or 7 when its ST02 is no control number to echo (AK202 then holds what fits)."""
    control = transaction.control
    if 4 <= len(control) <= 9 and control.isalnum():
        return [["AK2", "837", control, transaction.version], ["IK5", "R", "5"]]
    echoed = "".join(ch for ch in control if ch.isalnum())[:9].ljust(4, "0")
    return [["AK2", "837", echoed, transaction.version], ["IK5", "R", "7"]]


class AckBuilder:
    """Collect pyx12's 999 for each transaction set; `text()` is the merged 999."""

    def __init__(self) -> None:
        self._groups: dict[tuple[str, int, int], _Group] = {}
        self._envelope: tuple[list[str], list[str]] | None = None  # of pyx12's 999
        self._input_envelope: tuple[list[str], list[str]] | None = None  # first input's

    def add(self, file: str, transaction: TransactionSet, ack: str) -> None:
        """Add the 999 pyx12 wrote for one set of `file`. When pyx12 could not validate the
        set (no 999), or stopped writing its 999 part-way (no AK9: it fails so on a damaged
        ST), the set is rejected with an AK2/IK5 of its own (IK502 5: one or more segments
        in error), as every rejected set must be."""
        segments = _segments(ack)
        tags = [fields[0] for fields in segments]
        group_key = (file, transaction.isa_index, transaction.gs_index)
        group = self._groups.get(group_key)
        if group is None:  # AK1 names the group as the input's GS does
            group = self._groups[group_key] = _Group(
                ["AK1", transaction.gs[1], transaction.gs[6], transaction.version]
            )
        if self._input_envelope is None:
            self._input_envelope = (transaction.isa, transaction.gs)
        group.received += 1
        if not {"ISA", "GS", "AK1"}.issubset(tags) or "AK9" not in tags[tags.index("AK1") :]:
            group.blocks.append(_rejected(transaction))
            return
        if self._envelope is None:
            self._envelope = (segments[tags.index("ISA")], segments[tags.index("GS")])
        start = tags.index("AK1")
        body = segments[start + 1 : tags.index("AK9", start)]
        if not body:  # accepted with no AK2 block
            group.accepted += 1
            return
        block = [
            fields[:4] if fields[0] == "IK4" else fields
            for fields in body
            if fields[0] in SET_RESPONSE_TAGS
        ]
        for fields in block:  # AK203: the guide the set declared, not the map pyx12 used
            if fields[0] == "AK2" and len(fields) > 3:
                fields[3] = transaction.version
        group.blocks.append(block)
        ik5 = next((fields for fields in block if fields[0] == "IK5"), None)
        status = ik5[1] if ik5 is not None and len(ik5) > 1 else "R"
        group.accepted += status in ("A", "E")
        group.with_errors += status == "E"

    def text(self) -> str:
        """The merged 999, or an empty string when no set was validated."""
        if self._envelope is not None:
            isa, gs = self._envelope
        elif self._input_envelope is not None:  # pyx12 wrote no 999 for any set
            isa, gs = _answering(*self._input_envelope)
        else:
            return ""
        out: list[list[str]] = [isa, gs]
        for number, group in enumerate(self._groups.values(), start=1):
            control = f"{number:04d}"
            body = [["ST", "999", control, gs[8]], group.ak1]
            for block in group.blocks:
                body.extend(block)
            if group.accepted == group.received:
                code = "E" if group.with_errors else "A"
            else:
                code = "R" if group.accepted == 0 else "P"
            body.append(
                ["AK9", code, str(group.received), str(group.received), str(group.accepted)]
            )
            body.append(["SE", str(len(body) + 1), control])
            out.extend(body)
        out.append(["GE", str(len(self._groups)), gs[6]])
        out.append(["IEA", "1", isa[13]])
        return "".join("*".join(fields) + "~\n" for fields in out)
