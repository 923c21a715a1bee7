"""The claim model: what an 837 says about a claim and its service lines, minus the patient.

Patient and subscriber names, member ids, birth dates and addresses are never read into
these objects, so nothing built from them (reports, logs, errors) can leak them. A claim
knows its patient only as a keyed hash (`model.patient`), for the checks across claims.

Values are kept as the text the file carries (an empty string when absent) so that a
finding can quote exactly what was sent; the properties turn them into numbers on demand.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache

# An X12 decimal (R) element: an optional minus, ASCII digits, at most one decimal point,
# at most 18 digits. Decimal() alone would take exponents (9E999999, which overflow a sum),
# underscores and other scripts' digits. The pattern cannot backtrack (a second run of
# digits must follow a point), and the length is checked before it runs.
X12_DECIMAL = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
MAX_DIGITS = 18


@lru_cache(maxsize=4096)  # units and charges repeat across lines; Decimal() is not free
def to_decimal(text: str) -> Decimal | None:
    """The number an X12 decimal element holds, or None when it is empty or not one."""
    text = text.strip(" ")  # '100 ~' on a line the reader did not strip
    if len(text) > MAX_DIGITS + 2 or not X12_DECIMAL.fullmatch(text):
        return None
    if len(text) - text.startswith("-") - ("." in text) > MAX_DIGITS:
        return None
    return Decimal(text)


def whole_number(text: str) -> int | None:
    """The number a whole-number element holds (LX01, a diagnosis pointer): ASCII digits
    only, at most 9 ('²' and a 5,000-digit pointer are not numbers), else None."""
    return int(text) if text.isascii() and text.isdigit() and len(text) < 10 else None


# HI qualifiers of the diagnoses a claim's lines are billed for: principal and other, in
# ICD-10-CM (ABK, ABF) or ICD-9-CM (BK, BF).
LINE_DIAGNOSIS_QUALIFIERS = frozenset({"ABK", "ABF", "BK", "BF"})

# Where each service-line field sits in SV1 (837P) and SV2 (837I), for findings to cite.
SERVICE_ELEMENTS = {
    "SV1": {
        "procedure": "SV101",
        "charge": "SV102",
        "unit_basis": "SV103",
        "units": "SV104",
        "place_of_service": "SV105",
        "diagnosis_pointers": "SV107",
    },
    "SV2": {
        "revenue_code": "SV201",
        "procedure": "SV202",
        "charge": "SV203",
        "unit_basis": "SV204",
        "units": "SV205",
    },
}


@dataclass(frozen=True, slots=True)
class Transaction:
    """One ST/SE transaction set and the envelope around it."""

    kind: str  # "837P" or "837I"
    version: str  # GS08, e.g. 005010X222A1
    interchange_control: str  # ISA13
    group_control: str  # GS06
    control: str  # ST02
    segment_index: int


@dataclass(frozen=True, slots=True)
class Provider:
    """A provider named on a claim: NPI (NM109 with NM108 = XX) and taxonomy (PRV03)."""

    role: str  # billing, rendering, attending, referring, operating, supervising, ...
    npi: str = ""
    taxonomy: str = ""


@dataclass(frozen=True, slots=True)
class Payer:
    """Who the claim goes to: SBR09 filing indicator and the 2010BB payer."""

    filing_indicator: str = ""  # SBR09: MB, MA, MC, CI, BL, HM, 12 ...
    responsibility: str = ""  # SBR01: P primary, S secondary, T tertiary ...
    payer_id: str = ""  # 2010BB NM109
    name: str = ""  # 2010BB NM103 (an organisation, not a person)


@dataclass(frozen=True, slots=True)
class Diagnosis:
    """One HI entry: its qualifier (ABK principal, ABF other, ...) and the code, no dot."""

    qualifier: str
    code: str


@dataclass(slots=True)
class ServiceLine:
    """One 2400 loop (LX) with its 2410 drug identification and 2420 rendering provider."""

    number: str  # LX01
    lx_segment_index: int  # where the line's loop starts
    segment_index: int  # of the SV1/SV2 segment (the LX when neither came)
    qualifier: str = ""  # SV101-1 / SV202-1: HC (HCPCS/CPT), N4 ...
    code: str = ""
    modifiers: tuple[str, ...] = ()
    charge: str = ""
    unit_basis: str = ""  # SV103 / SV204: UN unit, MJ minutes
    units: str = ""  # SV104 / SV205
    place_of_service: str = ""  # SV105, overrides CLM05-1 (837P)
    diagnosis_pointers: tuple[str, ...] = ()  # SV107 components (837P)
    revenue_code: str = ""  # SV201 (837I)
    service_date: str = ""  # DTP*472 D8 date, or the start of an RD8 range
    service_date_end: str = ""
    service_date_format: str = ""  # DTP02: D8 or RD8
    prior_authorization: str = ""  # 2400 REF*G1
    ndc_qualifier: str = ""  # LIN02, N4 for an 11-digit NDC
    ndc: str = ""  # LIN03
    ndc_segment_index: int | None = None  # of the LIN segment
    ctp_segment_index: int | None = None  # of its CTP segment
    ctp_quantity: str = ""  # CTP04
    ctp_unit: str = ""  # CTP05-1: UN, ML, GR, F2, ME
    rendering: Provider | None = None  # 2420A (837P) / 2420C (837I)
    service_segment: str = "SV1"  # SV1 on an 837P, SV2 on an 837I
    has_service_segment: bool = False  # False: an LX with no SV1/SV2 under it

    def element(self, name: str) -> str:
        """The X12 element id of a field on this line's service segment ('units' -> SV104)."""
        return SERVICE_ELEMENTS[self.service_segment][name]

    @property
    def units_value(self) -> Decimal | None:
        return to_decimal(self.units)

    @property
    def charge_value(self) -> Decimal | None:
        return to_decimal(self.charge)

    @property
    def ctp_quantity_value(self) -> Decimal | None:
        return to_decimal(self.ctp_quantity)


@dataclass(slots=True)
class Claim:
    """One 2300 loop with its service lines and the loops above it that it needs.

    `index` is the 1-based ordinal of the claim in its file: CLM01 is not unique in real
    files, so findings and listings carry both.
    """

    index: int
    claim_id: str  # CLM01
    segment_index: int  # of the CLM segment
    transaction: Transaction
    billing: Provider
    payer: Payer
    last_segment_index: int = 0  # of the claim's last segment, known once it is complete
    charge: str = ""  # CLM02
    facility_code: str = ""  # CLM05-1: place of service (837P) or facility type (837I)
    facility_qualifier: str = ""  # CLM05-2: B (837P) or A (837I)
    frequency_code: str = ""  # CLM05-3
    diagnoses: list[Diagnosis] = field(default_factory=list)
    prior_authorization: str = ""  # 2300 REF*G1
    providers: list[Provider] = field(default_factory=list)  # 2310 loops
    attachments: list[tuple[str, str]] = field(default_factory=list)  # PWK01, PWK02
    service_date: str = ""  # 2300 DTP*472 (837P) or DTP*434 statement start (837I)
    service_date_end: str = ""
    lines: list[ServiceLine] = field(default_factory=list)
    patient_loop: bool = False  # a 2000C loop: the patient is not the subscriber
    patient: str = ""  # keyed hash of member id and birth date; "" when not known
    original_reference: str = ""  # 2300 REF*F8: the payer's number of the claim replaced

    @property
    def replaces_another(self) -> bool:
        """A replacement (CLM05-3 7) or void (8) naming the claim it corrects (REF*F8):
        it is sent again on purpose, not a duplicate."""
        return self.frequency_code in ("7", "8") and bool(self.original_reference.strip())

    @property
    def is_void(self) -> bool:
        """CLM05-3 8 with the REF*F8 of the claim it cancels: it repeats that claim as it
        was sent (the payer matches it so), so its lines are no service to judge. Without
        REF*F8 it cancels nothing (claim.original_missing)."""
        return self.frequency_code == "8" and self.replaces_another

    @property
    def kind(self) -> str:
        return self.transaction.kind

    @property
    def type_of_bill(self) -> str:
        """837I type of bill as printed on a UB-04: 0 + facility code + frequency."""
        if not self.facility_code:
            return ""
        return f"0{self.facility_code}{self.frequency_code}"

    @property
    def charge_value(self) -> Decimal | None:
        return to_decimal(self.charge)

    def provider(self, *roles: str) -> Provider | None:
        """The first claim-level provider in any of `roles`, in the order given."""
        for role in roles:
            for provider in self.providers:
                if provider.role == role:
                    return provider
        return None

    def line_date(self, line: ServiceLine) -> str:
        """The date a line was given: its DTP*472, else the claim's."""
        return line.service_date or self.service_date

    def line_diagnoses(self, line: ServiceLine) -> list[Diagnosis]:
        """The diagnoses a line points at (837P SV107), or the claim's principal and other
        diagnoses (837I), each once.

        Pointers that point nowhere are skipped here; `dx.pointer` reports them. An 837I's
        admitting diagnosis, patient's reason for visit and external cause describe the
        stay, not what a line was billed for: they do not count (the admitting diagnosis
        is often the principal one again).
        """
        if self.kind == "837I":
            seen: dict[str, Diagnosis] = {}
            for diagnosis in self.diagnoses:
                if diagnosis.qualifier in LINE_DIAGNOSIS_QUALIFIERS:
                    seen.setdefault(diagnosis.code, diagnosis)
            return list(seen.values())
        pointed = []
        for pointer in line.diagnosis_pointers:
            number = whole_number(pointer)
            if number is not None and 1 <= number <= len(self.diagnoses):
                pointed.append(self.diagnoses[number - 1])
        return pointed
