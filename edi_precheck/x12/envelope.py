"""Envelope checks (ISA/IEA, GS/GE, ST/SE) made while the segments stream past.

Each trailer is checked against its header: control numbers match, counts agree. A header
left open at the next header or at end of file means a missing trailer, which at end of
file usually means a truncated transfer.
"""

from __future__ import annotations

from dataclasses import dataclass

from edi_precheck.findings import Finding, file_finding, quoted, shown

# ISA13 and GS06 are at most nine digits; a counter past this starts again at 1.
LARGEST_CONTROL_NUMBER = 999_999_999
# ST02, the transaction set control number (element 329): AN 4/9 in the 5010 guides. A
# shorter one is rejected by the receiver's 999 (IK5 R), though pyx12 reports no element
# error on envelope segments; so it is said here.
ST02_LENGTHS = range(4, 10)


@dataclass(slots=True)
class _Open:
    """A header seen and not yet closed by its trailer."""

    control: str
    index: int
    children: int = 0


def _element(fields: list[str], position: int) -> str:
    return fields[position].strip() if len(fields) > position else ""


class EnvelopeChecker:
    """Told of each envelope segment (`on_envelope`), of each unreadable one, and of the
    end of the file, it records envelope findings.

    `transaction_sets` counts the ST segments seen; `transaction_spans` holds (ST position,
    position of the SE, else of the segment before whatever closed the set, or the file's
    last).
    """

    def __init__(self) -> None:
        self.findings: list[Finding] = []
        self.transaction_sets = 0
        self.transaction_spans: list[tuple[int, int]] = []
        self._isa: _Open | None = None
        self._gs: _Open | None = None
        self._st: _Open | None = None
        self._last_envelope = 0  # position of the last envelope segment outside an ST
        self._unreadable = 0  # unreadable segments since the last envelope segment, outside ST
        self._handlers = {
            "ISA": self._on_isa,
            "IEA": self._on_iea,
            "GS": self._on_gs,
            "GE": self._on_ge,
            "ST": self._on_st,
            "SE": self._on_se,
        }

    def _report(
        self,
        message: str,
        hint: str,
        index: int | None,
        segment: str | None,
        element: str | None = None,
    ) -> None:
        self.findings.append(
            file_finding(
                "x12.envelope",
                message,
                hint,
                segment=segment,
                segment_index=index,
                element=element,
            )
        )

    def on_envelope(self, index: int, fields: list[str]) -> None:
        """Check one ISA, IEA, GS, GE, ST or SE segment (the caller dispatches by tag)."""
        tag = fields[0]
        if tag != "SE":
            self._check_gap(index)
        self._handlers[tag](index, fields)
        if tag != "ST":
            self._last_envelope = index

    def note_unreadable(self) -> None:
        """A segment was dropped as unreadable: it is reported already, not as stray."""
        if self._st is None:  # inside a set it cannot be a stray; it must not hide one
            self._unreadable += 1

    def _check_gap(self, index: int) -> None:
        """Segments between two envelope segments, outside any ST ... SE, are strays.

        Found from the positions of envelope segments alone, so that the other segments
        cost nothing here.
        """
        if self._st is None and index - self._last_envelope - 1 > self._unreadable:
            first = self._last_envelope + 1
            self._report(
                f"segment {first} lies outside any ST/SE transaction set",
                "every segment between GS and GE belongs inside an ST ... SE pair",
                first,
                None,
            )
        self._unreadable = 0

    # -- headers --------------------------------------------------------------------------

    def _on_isa(self, index: int, fields: list[str]) -> None:
        if self._isa is not None:
            self._close_missing("IEA", index)
        self._isa = _Open(_element(fields, 13), index)

    def _on_gs(self, index: int, fields: list[str]) -> None:
        if self._isa is None:
            self._report(
                f"GS at segment {index} has no ISA before it",
                "start the interchange with an ISA segment",
                index,
                "GS",
            )
        elif self._gs is not None:
            self._close_missing("GE", index)
        if self._isa is not None:
            self._isa.children += 1
        self._gs = _Open(_element(fields, 6), index)

    def _on_st(self, index: int, fields: list[str]) -> None:
        if self._st is not None:
            self._close_missing("SE", index)
        if self._gs is None:
            self._report(
                f"ST at segment {index} has no GS before it",
                "wrap transaction sets in a GS ... GE functional group",
                index,
                "ST",
            )
        else:
            self._gs.children += 1
        self.transaction_sets += 1
        self._st = _Open(_element(fields, 2), index)
        control = _element(fields, 2)
        if len(control) not in ST02_LENGTHS:
            self._report(
                f"ST02 (the transaction set control number) {quoted(control)} is "
                f"{len(control)} character{'' if len(control) == 1 else 's'} long; X12 allows "
                f"{ST02_LENGTHS.start} to "
                f"{ST02_LENGTHS.stop - 1}, so the receiver's 999 rejects the set",
                "number the set with 4 to 9 characters (e.g. 0001) in ST02 and SE02",
                index,
                "ST",
                "ST02",
            )

    # -- trailers -------------------------------------------------------------------------

    def _on_se(self, index: int, fields: list[str]) -> None:
        st = self._st
        if st is None:
            self._report(
                f"SE at segment {index} closes no open ST",
                "remove the stray SE or restore its ST",
                index,
                "SE",
            )
            return
        self._st = None
        self.transaction_spans.append((st.index, index))
        self._compare(
            index,
            fields,
            st,
            ("SE", "ST02"),
            index - st.index + 1,
            f"segments, but transaction set {shown(st.control)} has",
            " (ST to SE inclusive)",
        )

    def _on_ge(self, index: int, fields: list[str]) -> None:
        if self._st is not None:
            self._close_missing("SE", index)
        gs = self._gs
        if gs is None:
            self._report(
                f"GE at segment {index} closes no open GS",
                "remove the stray GE or restore its GS",
                index,
                "GE",
            )
            return
        self._gs = None
        self._compare(
            index,
            fields,
            gs,
            ("GE", "GS06"),
            gs.children,
            f"transaction sets, but group {shown(gs.control)} has",
        )

    def _on_iea(self, index: int, fields: list[str]) -> None:
        if self._gs is not None:
            self._close_missing("GE", index)
        isa = self._isa
        if isa is None:
            self._report(
                f"IEA at segment {index} closes no open ISA", "remove the stray IEA", index, "IEA"
            )
            return
        self._isa = None
        self._compare(
            index,
            fields,
            isa,
            ("IEA", "ISA13"),
            isa.children,
            f"functional groups, but interchange {shown(isa.control)} has",
        )

    def _compare(
        self,
        index: int,
        fields: list[str],
        opened: _Open,
        names: tuple[str, str],
        counted: int,
        counting: str,
        note: str = "",
    ) -> None:
        """Check a trailer's count (its 01 element) and control number (its 02 element)."""
        trailer, header_element = names
        declared = _element(fields, 1)
        if declared != str(counted):
            self._report(
                f"{trailer}01 says {shown(declared) or 'nothing'} {counting} {counted}{note}",
                f"set {trailer}01 to {counted}",
                index,
                trailer,
                f"{trailer}01",
            )
        control = _element(fields, 2)
        if control != opened.control:
            self._report(
                f"{trailer}02 control number {quoted(control)} does not match "
                f"{header_element} {quoted(opened.control)}",
                f"set {trailer}02 to {shown(opened.control)}",
                index,
                trailer,
                f"{trailer}02",
            )

    # -- missing trailers -----------------------------------------------------------------

    def _close_missing(self, trailer: str, index: int) -> None:
        """Report a trailer that never came before segment `index`, then forget its header."""
        opened = {"SE": self._st, "GE": self._gs, "IEA": self._isa}[trailer]
        if trailer in ("GE", "IEA") and self._st is not None:
            self._close_missing("SE", index)
        if trailer == "IEA" and self._gs is not None:
            self._close_missing("GE", index)
        if opened is None:
            return
        header = {"SE": "ST", "GE": "GS", "IEA": "ISA"}[trailer]
        # A set without its SE is said at its ST: what closed it (the next ST) lies in
        # another set, which must not be held for it.
        self._report(
            f"{header} {shown(opened.control)} (segment {opened.index}) has no {trailer} "
            f"before segment {index}",
            f"close {header} {shown(opened.control)} with its {trailer}",
            opened.index if trailer == "SE" else index,
            "ST" if trailer == "SE" else trailer,
        )
        if trailer == "SE":
            self.transaction_spans.append((opened.index, index - 1))
            self._st = None
        elif trailer == "GE":
            self._gs = None
        else:
            self._isa = None

    def at_end_of_file(self, last_index: int) -> None:
        if last_index:
            self._check_gap(last_index + 1)
        for header, opened, trailer in (
            ("ST", self._st, "SE"),
            ("GS", self._gs, "GE"),
            ("ISA", self._isa, "IEA"),
        ):
            if opened is None:
                continue
            if header == "ST":
                self.transaction_spans.append((opened.index, last_index))
            self._report(
                f"the file ends inside {header} {shown(opened.control)} (opened at segment "
                f"{opened.index}) with no {trailer}: it looks truncated",
                "resend the complete file",
                last_index or None,
                trailer,
            )
        self._st = self._gs = self._isa = None
