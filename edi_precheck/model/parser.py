"""The 837 parser: raw segments in, one finished `Claim` at a time out.

It follows the 837 loop structure only as far as claims need: billing provider (2000A),
subscriber and payer (2000B), patient (2000C), claim (2300) with its
providers (2310) and other-payer loops (2320/2330, skipped), and service lines (2400) with
drug identification (2410) and line providers (2420). Anything else is passed over without
being split into elements: on a large file that is most of the work saved.

Who the patient is (member id, birth date) is read only when the caller gives a
`PatientKeyer`, and only to be hashed with it (`model.patient`): the claim carries the hash.

A claim is yielded when the segment that follows it proves it complete (next CLM, HL, SE or
envelope segment). A claim the file ends inside is reported, not yielded.

It is also the one walker of the file's structure (`model.structure`): it keeps a `Position`
(envelope, transaction set, HL loops, claim, each with its segment positions) and hands every
segment with it to its sinks, so that the split writer and the implementation-guide splitter
see the sets and claims this pass reads, numbered as its findings number them.

Given the codes its caller checks (`skim_codes`), the parser skims (`model.skim`): claims
that bill none of them and balance are counted, not built, and the subscriber loops above
them are read only when a claim under them is. Blocks the skim cannot take (a malformed
tag; sinks that must see every segment) are read segment by segment, as is everything
when no codes are given.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import BinaryIO

from edi_precheck.findings import Finding, file_finding, quoted, shown
from edi_precheck.model.claim import (
    Claim,
    Diagnosis,
    Payer,
    Provider,
    ServiceLine,
    Transaction,
)
from edi_precheck.model.patient import PatientKeyer
from edi_precheck.model.skim import SKIPPED, ClaimSkimmer, UnitEvent
from edi_precheck.model.structure import (
    ClaimSpan,
    Envelope,
    LoopSpan,
    Position,
    SegmentSink,
    TransactionSpan,
    claim_kind,
    declared_version,
)
from edi_precheck.x12 import Delimiters, EnvelopeChecker, SegmentReader
from edi_precheck.x12.tokenizer import LAYOUT_WHITESPACE, is_segment_tag

# HI qualifiers that carry ICD-10-CM (AB*) or ICD-9-CM (B*) diagnoses; the others hold
# procedure, occurrence, value and condition codes.
DIAGNOSIS_QUALIFIERS = frozenset({"ABK", "ABF", "ABJ", "APR", "ABN", "BK", "BF", "BJ", "PR", "BN"})
# NM101 entity codes of the 2310/2420 provider loops, by the role we call them.
PROVIDER_ROLES = {
    "82": "rendering",
    "DN": "referring",
    "P3": "primary_care",
    "71": "attending",
    "72": "operating",
    "ZZ": "other_operating",
    "DQ": "supervising",
    "DK": "ordering",
    "77": "service_facility",
    "QB": "purchased_service",
}

# Skimming a claim and then reading it costs more than reading it: after a block where the
# skim passed over fewer than this share of the claims, this many blocks are read segment
# by segment before the skim tries again.
SKIM_PAYS_FROM = 0.5
BLOCKS_UNSKIMMED = 7
# A unit still open after a block is read again with the next; one longer than this (a
# claim of thousands of lines, a set of segments with no HL or CLM) is handed to the
# handlers instead, so that neither time nor memory grows with it.
MAX_CARRIED_CHARS = 1 << 20

Handler = Callable[[int, list[str]], Claim | None]
# The order of the HL levels a claim sits under: a loop closes the loops below it.
LOOP_RANKS = {"20": 0, "22": 1, "23": 2}


def _padded(fields: list[str], length: int) -> list[str]:
    """`fields` with at least `length` entries, so elements can be indexed directly."""
    if len(fields) < length:
        fields += [""] * (length - len(fields))
    return fields


class ClaimParser:
    """Iterate the claims of one 837 byte stream.

    After iteration: `findings` holds the file-level x12.* findings in segment order, and
    `transaction_sets`, `claims` and `service_lines` count what was read. Each of `sinks`
    is handed every segment with its `position` (`model.structure`); with sinks, every
    claim is read in full.
    """

    def __init__(
        self,
        stream: BinaryIO,
        sinks: Sequence[SegmentSink] = (),
        skim_codes: frozenset[str] | None = None,
        keyer: PatientKeyer | None = None,
    ) -> None:
        self.reader = SegmentReader(stream)
        self._keyer = keyer
        self._skim_codes = skim_codes if not sinks else None
        self._skimmer: ClaimSkimmer | None = None
        self._unskimmed_blocks = 0  # blocks still to read segment by segment
        self._delimiters: Delimiters | None = None
        self._separator = "*"
        self._wanted: set[str] = set()  # the first three characters of segments we read
        self._known: set[str] = set()  # the first four of segments we pass over, tag checked
        self.envelope = EnvelopeChecker()
        self._sinks = tuple(sinks)
        self.position = Position()
        self._findings: list[Finding] = []
        self._closed_by_damage: Claim | None = None  # see _damaged_claim
        self.claims = 0
        self.service_lines = 0
        self._component = ":"
        self._transaction: Transaction | None = None  # the set being read; None: none is
        self._billing = Provider("billing")
        self._payer = Payer()
        self._in_patient_loop = False
        # PHI, held only until the claims under the loop are hashed (and only with a keyer).
        self._member_id = ""  # 2010BA NM109
        self._birth_dates = ["", ""]  # DMG02 of the subscriber (2010BA), the patient (2010CA)
        self._person = -1  # whose DMG comes next: 0 subscriber, 1 patient, -1 nobody's
        self._claim: Claim | None = None
        self._line: ServiceLine | None = None
        self._in_other_payer = False  # 2320/2330: later NM1/SBR belong to another payer
        self._last_provider: tuple[list[Provider], int] | None = None
        self._handlers: dict[str, Handler] = {
            "ISA": self._on_isa,
            "GS": self._on_gs,
            "ST": self._on_st,
            "SE": self._on_end,
            "GE": self._on_end,
            "IEA": self._on_end,
            "HL": self._on_hl,
            "PRV": self._on_prv,
            "NM1": self._on_nm1,
            "SBR": self._on_sbr,
            "CLM": self._on_clm,
            "HI": self._on_hi,
            "REF": self._on_ref,
            "DTP": self._on_dtp,
            "PWK": self._on_pwk,
            "DMG": self._on_dmg,
            "LX": self._on_lx,
            "SV1": self._on_sv1,
            "SV2": self._on_sv2,
            "LIN": self._on_lin,
            "CTP": self._on_ctp,
        }

    @property
    def transaction_sets(self) -> int:
        return self.envelope.transaction_sets

    @property
    def findings(self) -> list[Finding]:
        """Every file-level finding so far, from all layers, in segment order."""
        return sorted(
            [*self.reader.findings, *self.envelope.findings, *self._findings],
            key=lambda finding: finding.segment_index or 0,
        )

    # -- driver ---------------------------------------------------------------------------

    def __iter__(self) -> Iterator[Claim]:
        last = 0
        for first, text, count in self.reader.blocks():
            events: list[UnitEvent] | None = None
            if first != last + 1:  # the reader dropped a segment: units cannot span the gap
                yield from self._end_skim()
            if self.reader.delimiters is not self._delimiters:  # an ISA, a new interchange
                yield from self._end_skim()
                self._use_delimiters(self.reader.delimiters)
            elif self._unskimmed_blocks:
                self._unskimmed_blocks -= 1
            elif self._skimmer is not None:
                events = self._skimmer.skim(first, text)
            if events is None:
                yield from self._end_skim()
                yield from self._read_segments(first, text)
            else:
                yield from self._read_units(events)
                if self._skimmer is not None and self._skimmer.carried_chars > MAX_CARRIED_CHARS:
                    yield from self._end_skim()
            last = first + count - 1
        yield from self._end_skim()
        self.envelope.at_end_of_file(last)
        self._at_end_of_file()
        self.position.unread_claims = self.reader.unread_claims
        for sink in self._sinks:
            sink.end_of_file(self.position)

    def _use_delimiters(self, delimiters: Delimiters | None) -> None:
        assert delimiters is not None
        self._delimiters = delimiters
        self._separator = delimiters.element
        # By their first three characters: 'LX*' (not 'LXA'), and a bare 'LX' with no
        # element, which the skimmer also counts as the segment it names.
        self._wanted = {(tag + self._separator)[:3] for tag in self._handlers} | {
            tag for tag in self._handlers if len(tag) == 2
        }
        self._known = set()
        self._skimmer = (
            ClaimSkimmer(delimiters, self._skim_codes) if self._skim_codes is not None else None
        )

    def _read_segments(self, first: int, text: str) -> Iterator[Claim]:
        """Read a block segment by segment: every tag checked, the sinks told."""
        delimiters = self._delimiters
        assert delimiters is not None
        handlers, sinks, position = self._handlers, self._sinks, self.position
        separator, wanted, known = self._separator, self._wanted, self._known
        index = first - 1
        for raw in text.split(delimiters.segment):
            index += 1
            prefix = raw[:3]
            if prefix not in wanted and raw[:4] not in known:
                raw = self._first_sight(index, raw, separator)
                prefix = raw[:3]
            if prefix in wanted:
                fields = raw.split(separator)
                handler = handlers.get(fields[0])
                if handler is None:  # 'CLMX*': a wanted start, a damaged tag
                    self._first_sight(index, raw, separator)
                elif (finished := handler(index, fields)) is not None:
                    yield finished
            if self._closed_by_damage is not None:  # the claim a damaged CLM closed
                yield self._closed_by_damage
                self._closed_by_damage = None
            for sink in sinks:  # after the handler: a CLM or HL belongs to what it opens
                sink.segment(index, raw, position)

    def _handle(self, index: int, text: str) -> Iterator[Claim]:
        """Read the segments of a unit whose tags the skimmer has checked already."""
        assert self._delimiters is not None
        handlers, separator, wanted = self._handlers, self._separator, self._wanted
        for raw in text.split(self._delimiters.segment):
            if raw[:3] in wanted:
                fields = raw.split(separator)
                handler = handlers.get(fields[0])
                if handler is not None and (finished := handler(index, fields)) is not None:
                    yield finished
            index += 1

    def _read_units(self, events: list[UnitEvent]) -> Iterator[Claim]:
        """Read a block as the skimmer cut it: skipped claims counted, the rest read."""
        skipped = read = 0
        for tag, index, unit, end in events:
            if tag == SKIPPED:  # this event is (SKIPPED, claims, "", service lines)
                claims, lines = index, end
                skipped += claims
                if self._transaction is not None:  # outside a set we read, claims are not
                    self.claims += claims
                    self.service_lines += lines
                continue
            read += tag == "CLM"
            yield from self._handle(index, unit)
            if end and self._claim is not None:
                yield self._finish_claim(end)  # type: ignore[misc]
        if read > (skipped + read) * SKIM_PAYS_FROM:
            self._unskimmed_blocks = BLOCKS_UNSKIMMED

    def _end_skim(self) -> Iterator[Claim]:
        """Hand what the skimmer holds to the handlers, before reading segment by segment
        or at the end of the file; a claim left open stays open for what follows."""
        if self._skimmer is not None:
            for _, index, text, _ in self._skimmer.take_carry():
                yield from self._handle(index, text)

    def _first_sight(self, index: int, raw: str, separator: str) -> str:
        """A segment whose start (first four characters) has not been seen: the segment to
        read in its place.

        '~ CLM' on one line has its layout space stripped here (the reader leaves it:
        searching every block for it costs more than meeting it here). A valid tag we do
        not read is remembered by its start: 'DMG*' then passes unchecked, 'DMGX' (a
        damaged tag) does not. A bad tag is reported.
        """
        if raw[:1] in LAYOUT_WHITESPACE:
            raw = raw.strip(LAYOUT_WHITESPACE)
            if raw[:3] in self._wanted:
                return raw
        tag = raw.split(separator, 1)[0]
        if _damaged_claim_tag(tag):
            self._damaged_claim(index, raw.split(separator, 2), tag)
        elif is_segment_tag(tag):
            self._known.add(raw[:4])
        else:
            self.reader.report_bad_tag(index)
            self.envelope.note_unreadable()
        return raw

    def _damaged_claim(self, index: int, fields: list[str], tag: str) -> None:
        """A CLM whose tag is damaged ('clm', 'CLM ', a NUL before it): no reader takes it
        for a claim, so its lines would go unchecked, or be read as the claim before's, and
        a split would drop it unnoticed. It closes the claim before it, is reported, and is
        a claim not read to the sinks: its segments are read as no claim's."""
        self._closed_by_damage = self._finish_claim(index)
        claim_id = shown(fields[1]) if len(fields) > 1 else ""
        position = self.position
        position.claim = ClaimSpan(
            index, claim_id, None, position.transaction, tuple(position.loops)
        )
        position.claim.not_read = "its CLM segment's tag is damaged, so it was not read"
        self._findings.append(
            file_finding(
                "x12.syntax",
                f"segment {index} is a CLM segment with a damaged tag ({quoted(tag)}): "
                f"claim {claim_id or '(no CLM01)'} is not read, and its lines are not checked",
                "write the tag as CLM, in capitals with nothing around it, and resend",
                segment_index=index,
            )
        )
        self.envelope.note_unreadable()

    def _finish_claim(self, index: int) -> Claim | None:
        """Close the open claim (if any) before segment `index`; hand it back for yielding."""
        claim = self._claim
        self._claim = None
        self._line = None
        self._in_other_payer = False
        self._last_provider = None
        if claim is not None:
            claim.last_segment_index = index - 1
            self.claims += 1
            self.service_lines += len(claim.lines)
        return claim

    def _at_end_of_file(self) -> None:
        if self._claim is not None:
            claim = self._claim
            self._claim = None
            self._findings.append(
                file_finding(
                    "x12.envelope",
                    (
                        f"claim {claim.index} is cut off by the end of "
                        "the file; its lines were not read"
                    ),
                    "resend the complete file",
                    claim_id=claim.claim_id,
                    claim_index=claim.index,
                    segment="CLM",
                    segment_index=claim.segment_index,
                )
            )

    # -- envelopes ------------------------------------------------------------------------

    def _on_isa(self, index: int, fields: list[str]) -> Claim | None:
        self.envelope.on_envelope(index, fields)
        finished = self._finish_claim(index)
        delimiters = self.reader.delimiters
        assert delimiters is not None
        self._component = delimiters.component
        _padded(fields, 14)
        self._leave_transaction(envelope=Envelope(list(fields), index, delimiters))
        return finished

    def _on_gs(self, index: int, fields: list[str]) -> Claim | None:
        self.envelope.on_envelope(index, fields)
        finished = self._finish_claim(index)
        _padded(fields, 9)
        isa = self.position.envelope
        self._leave_transaction(
            envelope=Envelope(isa.isa, isa.isa_index, isa.delimiters, list(fields), index)
            if isa is not None
            else None
        )
        return finished

    def _leave_transaction(self, envelope: Envelope | None) -> None:
        """An envelope segment ends any set still open (its SE is missing): claims after
        it belong to no set until the next ST, and are not read."""
        self._transaction = None
        position = self.position
        position.envelope, position.transaction, position.claim = envelope, None, None
        position.loops = []

    def _on_st(self, index: int, fields: list[str]) -> Claim | None:
        self.envelope.on_envelope(index, fields)
        finished = self._finish_claim(index)
        self._transaction = None
        self._billing = Provider("billing")
        self._payer = Payer()
        self._member_id, self._birth_dates, self._person = "", ["", ""], -1
        _padded(fields, 4)
        envelope = self.position.envelope  # ISA padded to 14 elements, GS to 9
        isa = envelope.isa if envelope is not None else _padded([], 14)
        gs = envelope.gs if envelope is not None and envelope.gs is not None else _padded([], 9)
        version = declared_version(gs, fields)
        kind = claim_kind(fields, version)
        span = TransactionSpan(index, list(fields), envelope, version, kind)
        self.position.transaction, self.position.claim = span, None
        self.position.loops = []
        if fields[3] and gs[8] and fields[3] != gs[8]:
            self._report_versions(index, fields, gs[8])
        if kind is None:
            span.not_read = self._report_unsupported(index, fields, version)
        else:
            self._transaction = Transaction(
                kind=kind,
                version=version,
                interchange_control=isa[13].strip(),
                group_control=gs[6],
                control=fields[2],
                segment_index=index,
            )
        return finished

    def _report_versions(self, index: int, fields: list[str], group_version: str) -> None:
        self._findings.append(
            file_finding(
                "x12.version",
                (
                    f"transaction set {fields[2]} declares {fields[3]} (ST03), its group "
                    f"{group_version} (GS08); the set is read as ST03 says"
                ),
                "make GS08 and ST03 name the same implementation guide",
                segment="ST",
                segment_index=index,
                element="ST03",
            )
        )

    def _report_unsupported(self, index: int, fields: list[str], version: str) -> str:
        """Report a set that is not read; return what it is, in words."""
        set_id = fields[1] or "?"
        if set_id != "837":
            what = f"an X12 {set_id} transaction, not an 837 claim"
        elif version.startswith("004010"):
            what = f"an 837 in version 4010 ({version}), retired since 2012"
        elif version[:10] == "005010X224":
            what = f"an 837 dental claim ({version})"
        else:
            what = f"an 837 of implementation guide '{version}'"
        self._findings.append(
            file_finding(
                "x12.unsupported",
                (
                    f"transaction set {fields[2]} is {what}; only 837P "
                    "(005010X222A1) and 837I (005010X223A2) are checked, so it was skipped"
                ),
                "send 837P or 837I 5010 claims, or check this transaction with another tool",
                segment="ST",
                segment_index=index,
            )
        )
        return what

    def _on_end(self, index: int, fields: list[str]) -> Claim | None:
        self.envelope.on_envelope(index, fields)  # SE, GE or IEA
        finished = self._finish_claim(index)
        position = self.position
        position.claim = None
        if fields[0] == "SE":
            self._transaction = None
            if position.transaction is not None and not position.transaction.end:
                position.transaction.end = index  # it stays the position of its SE
        else:
            self._leave_transaction(position.envelope if fields[0] == "GE" else None)
        return finished

    # -- hierarchy: billing provider, subscriber, patient ---------------------------------

    def _on_hl(self, index: int, fields: list[str]) -> Claim | None:
        finished = self._finish_claim(index)
        level = _padded(fields, 4)[3]
        position = self.position
        position.claim = None
        rank = LOOP_RANKS.get(level, len(LOOP_RANKS))
        position.loops = [
            loop for loop in position.loops if LOOP_RANKS.get(loop.level, len(LOOP_RANKS)) < rank
        ] + [LoopSpan(index, level)]
        self._person = -1
        if level in ("20", "22"):
            if level == "20":
                self._billing = Provider("billing")
            self._payer = Payer()
            self._in_patient_loop = False
            self._member_id, self._birth_dates = "", ["", ""]
        elif level == "23":
            self._in_patient_loop = True
            self._birth_dates[1] = ""
        return finished

    def _on_sbr(self, index: int, fields: list[str]) -> None:
        if self._claim is not None:
            self._in_other_payer = True  # 2320: the other payer's SBR
            return
        _padded(fields, 10)
        payer = self._payer
        self._payer = Payer(fields[9], fields[1], payer.payer_id, payer.name)

    def _on_nm1(self, index: int, fields: list[str]) -> None:
        _padded(fields, 10)
        entity = fields[1]
        claim = self._claim
        if claim is None:
            self._person = -1
            if entity == "85":
                self._billing = Provider("billing", self._npi(fields), self._billing.taxonomy)
            elif entity == "PR" and self._transaction is not None:
                payer = self._payer
                self._payer = Payer(
                    payer.filing_indicator, payer.responsibility, fields[9], fields[3]
                )
            elif entity in ("IL", "QC") and self._keyer is not None:
                # PHI: kept only until the claim is hashed, and only when it is to be.
                self._person = 0 if entity == "IL" else 1
                if entity == "IL":
                    self._member_id = fields[9]
            return
        if self._in_other_payer:
            return
        role = PROVIDER_ROLES.get(entity)
        if role is None:
            self._last_provider = None
            return
        provider = Provider(role, self._npi(fields))
        line = self._line
        if line is not None:
            if role == "rendering":
                line.rendering = provider
                self._last_provider = None
            return
        claim.providers.append(provider)
        self._last_provider = (claim.providers, len(claim.providers) - 1)

    @staticmethod
    def _npi(fields: list[str]) -> str:
        return fields[9] if fields[8] == "XX" else ""

    def _on_prv(self, index: int, fields: list[str]) -> None:
        taxonomy = _padded(fields, 4)[3]
        if self._claim is None:
            if fields[1] == "BI":
                self._billing = Provider("billing", self._billing.npi, taxonomy)
            return
        line = self._line
        if line is not None:
            if line.rendering is not None:
                line.rendering = Provider(line.rendering.role, line.rendering.npi, taxonomy)
            return
        if self._last_provider is not None:
            providers, position = self._last_provider
            providers[position] = Provider(
                providers[position].role, providers[position].npi, taxonomy
            )

    def _on_dmg(self, index: int, fields: list[str]) -> None:
        if self._claim is None and self._person >= 0:
            self._birth_dates[self._person] = _padded(fields, 3)[2]
        self._person = -1

    def _patient(self) -> str:
        """The keyed hash of the patient the next claim is for ("" without a keyer)."""
        if self._keyer is None:
            return ""
        birth_date = self._birth_dates[1 if self._in_patient_loop else 0]
        return self._keyer.patient(self._member_id, birth_date)

    # -- claim ----------------------------------------------------------------------------

    def _on_clm(self, index: int, fields: list[str]) -> Claim | None:
        finished = self._finish_claim(index)
        _padded(fields, 6)
        position = self.position
        span = ClaimSpan(
            index,
            fields[1],
            self.claims + 1 if self._transaction is not None else None,
            position.transaction,
            tuple(position.loops),
        )
        position.claim = span
        if self._transaction is None:
            transaction = position.transaction
            if transaction is not None and transaction.kind is None:
                span.not_read = (
                    f"its transaction set {transaction.control} is {transaction.not_read}, "
                    "which is not checked"
                )
            else:
                span.not_read = "it is outside any transaction set (no ST before it)"
            return finished
        facility = _padded(fields[5].split(self._component), 3)
        self._claim = Claim(
            index=self.claims + 1,  # the claim it closed is already counted
            claim_id=fields[1],
            segment_index=index,
            transaction=self._transaction,
            billing=self._billing,
            payer=self._payer,
            charge=fields[2],
            facility_code=facility[0],
            facility_qualifier=facility[1],
            frequency_code=facility[2],
            patient_loop=self._in_patient_loop,
            patient=self._patient(),
        )
        return finished

    def _on_hi(self, index: int, fields: list[str]) -> None:
        claim = self._claim
        if claim is None or self._line is not None:
            return
        for composite in fields[1:]:
            parts = composite.split(self._component)
            if len(parts) >= 2 and parts[0] in DIAGNOSIS_QUALIFIERS and parts[1]:
                claim.diagnoses.append(Diagnosis(parts[0], parts[1]))

    def _on_ref(self, index: int, fields: list[str]) -> None:
        if self._claim is None or self._in_other_payer:
            return
        qualifier = fields[1] if len(fields) > 1 else ""
        if qualifier == "F8" and self._line is None:
            self._claim.original_reference = _padded(fields, 3)[2]
        if qualifier != "G1":
            return
        number = _padded(fields, 3)[2]
        if self._line is not None:
            self._line.prior_authorization = number
        else:
            self._claim.prior_authorization = number

    def _on_dtp(self, index: int, fields: list[str]) -> None:
        claim = self._claim
        if claim is None or self._in_other_payer:
            return
        _padded(fields, 4)
        qualifier = fields[1]
        start, _, end = fields[3].partition("-")
        line = self._line
        if line is not None:
            if qualifier == "472":
                line.service_date_format = fields[2]
                line.service_date, line.service_date_end = start, end
        elif qualifier in ("472", "434"):
            claim.service_date, claim.service_date_end = start, end

    def _on_pwk(self, index: int, fields: list[str]) -> None:
        if self._claim is not None and self._line is None:
            _padded(fields, 3)
            self._claim.attachments.append((fields[1], fields[2]))

    # -- service lines --------------------------------------------------------------------

    def _on_lx(self, index: int, fields: list[str]) -> None:
        claim = self._claim
        if claim is None:
            return
        self._in_other_payer = False
        self._last_provider = None
        self._line = ServiceLine(
            number=_padded(fields, 2)[1],
            lx_segment_index=index,
            segment_index=index,
            service_segment="SV2" if claim.transaction.kind == "837I" else "SV1",
        )
        claim.lines.append(self._line)

    def _procedure(self, line: ServiceLine, composite: str) -> None:
        parts = composite.split(self._component)
        line.qualifier = parts[0]
        line.code = parts[1] if len(parts) > 1 else ""
        line.modifiers = tuple(part for part in parts[2:6] if part)

    def _service_segment(self, index: int) -> ServiceLine | None:
        """The open line, if this SV1/SV2 is its first service segment."""
        line = self._line
        if line is None or line.has_service_segment:
            return None
        line.has_service_segment = True
        line.segment_index = index
        return line

    def _on_sv1(self, index: int, fields: list[str]) -> None:
        line = self._service_segment(index)
        if line is None:
            return
        _padded(fields, 8)
        self._procedure(line, fields[1])
        line.charge, line.unit_basis, line.units = fields[2], fields[3], fields[4]
        line.place_of_service = fields[5]
        if fields[7]:
            line.diagnosis_pointers = tuple(p for p in fields[7].split(self._component) if p)

    def _on_sv2(self, index: int, fields: list[str]) -> None:
        line = self._service_segment(index)
        if line is None:
            return
        _padded(fields, 6)
        line.revenue_code = fields[1]
        self._procedure(line, fields[2])
        line.charge, line.unit_basis, line.units = fields[3], fields[4], fields[5]

    def _on_lin(self, index: int, fields: list[str]) -> None:
        line = self._line
        if line is None or line.ndc_segment_index is not None:
            return
        _padded(fields, 4)
        line.ndc_qualifier = fields[2]
        line.ndc = fields[3]
        line.ndc_segment_index = index

    def _on_ctp(self, index: int, fields: list[str]) -> None:
        line = self._line
        if line is None or line.ndc_segment_index is None or line.ctp_segment_index is not None:
            return
        _padded(fields, 6)
        line.ctp_segment_index = index
        line.ctp_quantity = fields[4]
        line.ctp_unit = fields[5].split(self._component)[0]


def _damaged_claim_tag(tag: str) -> bool:
    """A tag that is CLM but for case, layout or stray characters around it."""
    return tag != "CLM" and "".join(ch for ch in tag if ch.isalnum()).upper() == "CLM"
