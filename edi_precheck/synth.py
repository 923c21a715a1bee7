"""Synthetic X12 837P (005010X222A1) claim files of any size, for tests and benchmarks.

Why this exists: the hand-written fixtures are small, and the project promises to read
files of 100 MB and more (peers fail there, see docs/domain.md section 11). Large real
claim files cannot be shipped (they are full of PHI), so this module writes invented ones.

Design choices, and why:

- Streaming: segments go to the binary file object in small chunks as they are made, so
  memory stays flat however many claims are asked for. SE01 and GE01 are counted on the
  way, never computed from a finished string.
- Deterministic: every choice comes from one ``random.Random(seed)``, so a test or a
  benchmark can name a file by ``(claims, seed, claims_per_st)`` and get the same bytes.
- Stand-alone: it imports nothing from the rest of ``edi_precheck``, so a bug in the
  parser can never hide itself by also shaping the test data.
- Realistic mix: payers cycle through Medicare Part B, Medicaid, commercial, Blue Cross
  and PPO; most claims carry a denosumab line (Prolia, Xgeva, the biosimilar Q-codes, and
  the user's J3486) with its NDC and an administration line, some an office visit.
  Medicare drug lines carry JZ (a full single-dose container); commercial drug claims carry
  a prior authorization. J3486 lines carry the Prolia NDC, which the CMS crosswalk lists
  under J0897, so a checker reports those lines (``ndc.code_mismatch``) by design.

Every person, member id, address and phone number is invented; NPIs are fake numbers that
pass the NPI check digit.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import BinaryIO

__all__ = ["SynthStats", "main", "write_837p"]

GS08 = "005010X222A1"
FILE_DATE = date(2026, 10, 31)  # creation date: after every service date below
FIRST_SERVICE_DATE = date(2026, 1, 5)
SERVICE_DAYS = (date(2026, 10, 30) - FIRST_SERVICE_DATE).days
FLUSH_BYTES = 64 * 1024

ENDOCRINOLOGY = "207RE0101X"
ONCOLOGY = "207RX0202X"


@dataclass(frozen=True)
class SynthStats:
    """What was written, so a caller can compare a reader's counts with the truth."""

    claims: int
    service_lines: int
    drug_lines: int
    transaction_sets: int
    bytes_written: int


@dataclass(frozen=True)
class _Payer:
    sbr09: str
    name: str
    payer_id: str
    group: str  # SBR03; Medicare and Medicaid send none
    commercial: bool  # commercial plans want a prior authorization for the drug


@dataclass(frozen=True)
class _Drug:
    hcpcs: str
    units: int
    ndc: str
    ctp_quantity: str
    ctp_unit: str
    charge_cents: int
    oncology: bool  # Xgeva and its biosimilars: bone metastases, not osteoporosis
    weight: int


@dataclass(frozen=True)
class _Provider:
    name: str
    npi: str
    ein: str
    street: str
    city: str
    state: str
    zip9: str


# Cycled per subscriber in this order, as the module docstring promises.
_PAYERS = (
    _Payer("MB", "MEDICARE B SYNTHETIC MAC", "01112", "", False),
    _Payer("MC", "TESTSTATE MEDICAID", "MCD01", "", False),
    _Payer("CI", "TESTCOMMERCIAL HEALTH PLAN", "TCHP1", "GRP4471", True),
    _Payer("BL", "TESTSTATE BLUE CROSS BLUE SHIELD", "BCBS9", "GRP8802", True),
    _Payer("12", "TEST PPO NETWORK", "PPO42", "GRP3310", True),
)

# NDCs, doses and CTP quantities from docs/domain.md section 2.
_DRUGS = (
    _Drug("J0897", 60, "55513071001", "1", "UN", 165000, False, 40),  # Prolia
    _Drug("J0897", 120, "55513073001", "1.7", "ML", 260000, True, 25),  # Xgeva
    _Drug("Q5136", 60, "61314024063", "1", "UN", 110000, False, 7),  # Jubbonti
    _Drug("Q5136", 120, "61314022894", "1.7", "ML", 185000, True, 4),  # Wyost
    _Drug("Q5157", 60, "72606003701", "1", "UN", 105000, False, 7),  # Stoboclo
    _Drug("Q5157", 120, "72606003801", "1.7", "ML", 190000, True, 4),  # Osenvelt
    _Drug("J3486", 60, "55513071001", "1", "UN", 165000, False, 5),  # the user's J3486
)
_DRUG_WEIGHTS = tuple(d.weight for d in _DRUGS)

# Fake NPIs that pass the Luhn check digit (prefix 80840).
_PROVIDERS = (
    _Provider(
        "SYNTHETIC ENDOCRINE CLINIC",
        "1120000041",
        "990000101",
        "100 TEST MEDICAL PLAZA",
        "SPRINGFIELD",
        "IL",
        "627010001",
    ),
    _Provider(
        "SYNTHETIC ONCOLOGY ASSOCIATES",
        "1220000057",
        "990000102",
        "200 SAMPLE CANCER CENTER DR",
        "COLUMBUS",
        "OH",
        "432150002",
    ),
    _Provider(
        "SYNTHETIC MULTISPECIALTY GROUP",
        "1320000064",
        "990000103",
        "300 FICTIONAL HEALTH WAY",
        "DENVER",
        "CO",
        "802020003",
    ),
)
_RENDERING = {
    ENDOCRINOLOGY: (("SYNTHENDO", "MARIA", "1610000014"), ("SYNTHENDO", "OMAR", "1910000045")),
    ONCOLOGY: (("SYNTHONCO", "RAJ", "1710000021"), ("SYNTHONCO", "LENA", "1810000038")),
}

_LAST_NAMES = ("TESTPATIENT", "SAMPLEPATIENT", "DEMOPATIENT", "SYNTHPATIENT", "FAKEPATIENT")
_FEMALE = ("ALICE", "BEATRICE", "CARMEN", "DORA", "ELAINE", "FRIEDA", "GLORIA", "HELEN")
_MALE = ("ARTHUR", "BERNARD", "CALVIN", "DENNIS", "EDWARD", "FRANK", "GEORGE", "HAROLD")
_STREETS = ("EXAMPLE LANE", "SAMPLE AVENUE", "PLACEHOLDER ROAD", "MOCK STREET", "FICTION WAY")
_CITIES = (
    ("SPRINGFIELD", "IL", "62704"),
    ("COLUMBUS", "OH", "43215"),
    ("DENVER", "CO", "80202"),
    ("ALBANY", "NY", "12207"),
    ("SALEM", "OR", "97301"),
)

# Medicare Beneficiary Identifier alphabet: no S, L, O, I, B, Z.
_MBI_LETTERS = "ACDEFGHJKMNPQRTUVWXY"
_DIGITS = "0123456789"


def _money(cents: int) -> str:
    """X12 decimal without trailing zeros (1650, 27.5), as the fixtures write it."""
    whole, frac = divmod(cents, 100)
    return str(whole) if frac == 0 else f"{whole}.{frac:02d}".rstrip("0")


def _mbi(rng: random.Random) -> str:
    """An invented id in the MBI pattern (C A AN N A AN N A A N N)."""
    alnum = _MBI_LETTERS + _DIGITS
    pattern = (
        "123456789",
        _MBI_LETTERS,
        alnum,
        _DIGITS,
        _MBI_LETTERS,
        alnum,
        _DIGITS,
        _MBI_LETTERS,
        _MBI_LETTERS,
        _DIGITS,
        _DIGITS,
    )
    return "".join(rng.choice(chars) for chars in pattern)


def _member_id(rng: random.Random, payer: _Payer) -> str:
    if payer.sbr09 == "MB":
        return _mbi(rng)
    if payer.sbr09 == "MC":
        return f"TS9{rng.randrange(10**7):07d}"
    return f"{payer.payer_id[:3]}{rng.randrange(10**9):09d}"


class _SegmentWriter:
    """Buffers a few KB of segments, counts them per transaction set, counts bytes."""

    def __init__(self, out: BinaryIO) -> None:
        self._out = out
        self._pending: list[str] = []
        self._pending_chars = 0
        self.bytes_written = 0
        self.in_st = 0  # segments since ST, ST included

    def seg(self, text: str) -> None:
        self._pending.append(text)
        self._pending.append("~")
        self._pending_chars += len(text) + 1
        self.in_st += 1
        if self._pending_chars >= FLUSH_BYTES:
            self.flush()

    def flush(self) -> None:
        if self._pending:
            data = "".join(self._pending).encode("ascii")
            self._out.write(data)
            self.bytes_written += len(data)
            self._pending.clear()
            self._pending_chars = 0


class _Generator:
    """Holds the running counters while one interchange is written."""

    def __init__(self, out: BinaryIO, seed: int, drug_share: float) -> None:
        self.w = _SegmentWriter(out)
        self.rng = random.Random(seed)
        self.office_visit_share = 1.0 - drug_share
        self.seed = seed
        self.claims = 0
        self.service_lines = 0
        self.drug_lines = 0
        self.subscribers = 0
        self.hl = 0

    # -- envelopes -------------------------------------------------------------------

    def interchange_header(self) -> None:
        yymmdd = FILE_DATE.strftime("%y%m%d")
        isa = (
            f"ISA*00*{'':10}*00*{'':10}*ZZ*{'SYNTHSUBMITTER':<15}*ZZ*{'SYNTHRECEIVER':<15}"
            f"*{yymmdd}*1200*^*00501*{self.isa13}*0*T*:"
        )
        assert len(isa) == 105  # 106 with the segment terminator
        self.w.seg(isa)
        self.w.seg(f"GS*HC*SYNTHSUBMITTER*SYNTHRECEIVER*{FILE_DATE:%Y%m%d}*1200*1*X*{GS08}")

    @property
    def isa13(self) -> str:
        return f"{self.seed % 10**9:09d}"

    def transaction_set(self, number: int, claims: int) -> None:
        st02 = f"{number:04d}"
        self.w.in_st = 0
        self.w.seg(f"ST*837*{st02}*{GS08}")
        self.w.seg(f"BHT*0019*00*SYN{self.seed}B{number}*{FILE_DATE:%Y%m%d}*1200*CH")
        self.w.seg("NM1*41*2*SYNTHETIC BILLING SERVICE*****46*SYNTHSUB01")
        self.w.seg("PER*IC*BILLING DESK*TE*5555550100")
        self.w.seg("NM1*40*2*SYNTHETIC CLEARINGHOUSE*****46*SYNTHRCV01")
        # HL numbering restarts in every transaction set.
        self.hl = 1
        provider = _PROVIDERS[(number - 1) % len(_PROVIDERS)]
        self.w.seg("HL*1**20*1")
        self.w.seg(f"NM1*85*2*{provider.name}*****XX*{provider.npi}")
        self.w.seg(f"N3*{provider.street}")
        self.w.seg(f"N4*{provider.city}*{provider.state}*{provider.zip9}")
        self.w.seg(f"REF*EI*{provider.ein}")
        left = claims
        while left:
            # One subscriber in ten has two claims; never split across transaction sets.
            n = 2 if left >= 2 and self.rng.random() < 0.1 else 1
            self.subscriber(n)
            left -= n
        self.w.seg(f"SE*{self.w.in_st + 1}*{st02}")

    # -- loops -----------------------------------------------------------------------

    def person(self, female: bool) -> tuple[str, str, str]:
        rng = self.rng
        last = f"{rng.choice(_LAST_NAMES)}{rng.randrange(1, 10000)}"
        first = rng.choice(_FEMALE if female else _MALE)
        born = date(1935, 1, 1) + timedelta(days=rng.randrange(40 * 365))
        return last, first, f"{born:%Y%m%d}"

    def address(self) -> None:
        rng = self.rng
        city, state, zip5 = rng.choice(_CITIES)
        self.w.seg(f"N3*{rng.randrange(1, 9999)} {rng.choice(_STREETS)}")
        self.w.seg(f"N4*{city}*{state}*{zip5}")

    def subscriber(self, claim_count: int) -> None:
        rng = self.rng
        payer = _PAYERS[self.subscribers % len(_PAYERS)]
        self.subscribers += 1
        # A commercial subscriber sometimes covers a spouse: then a 2000C patient loop.
        has_patient = payer.commercial and rng.random() < 0.3
        self.hl += 1
        sub_hl = self.hl
        self.w.seg(f"HL*{sub_hl}*1*22*{1 if has_patient else 0}")
        self.w.seg(f"SBR*P*{'' if has_patient else '18'}*{payer.group}******{payer.sbr09}")
        sub_female = rng.random() < 0.7
        last, first, born = self.person(sub_female)
        self.w.seg(f"NM1*IL*1*{last}*{first}****MI*{_member_id(rng, payer)}")
        self.address()
        if not has_patient:  # subscriber demographics only when the subscriber is the patient
            self.w.seg(f"DMG*D8*{born}*{'F' if sub_female else 'M'}")
        self.w.seg(f"NM1*PR*2*{payer.name}*****PI*{payer.payer_id}")
        female = sub_female
        if has_patient:
            self.hl += 1
            female = not sub_female
            _, pfirst, pborn = self.person(female)
            self.w.seg(f"HL*{self.hl}*{sub_hl}*23*0")
            self.w.seg("PAT*01")
            self.w.seg(f"NM1*QC*1*{last}*{pfirst}")
            self.address()
            self.w.seg(f"DMG*D8*{pborn}*{'F' if female else 'M'}")
        for _ in range(claim_count):
            self.claim(payer, female)

    def claim(self, payer: _Payer, female: bool) -> None:
        rng = self.rng
        self.claims += 1
        served = FIRST_SERVICE_DATE + timedelta(days=rng.randrange(SERVICE_DAYS + 1))
        dos = f"{served:%Y%m%d}"
        # (procedure composite, charge in cents, units, NDC segments or None, pointers)
        lines: list[tuple[str, int, int, tuple[str, str] | None, str]] = []
        drug: _Drug | None = None
        if rng.random() < self.office_visit_share:
            dx = ["M810"]
            lines.append(("99213", 12500, 1, None, "1"))
        else:
            drug = rng.choices(_DRUGS, weights=_DRUG_WEIGHTS)[0]
            if drug.oncology:
                dx = ["C7951", rng.choice(("C50911", "C3490") if female else ("C61", "C3490"))]
            else:
                dx = [rng.choice(("M810", "M810", "M810", "M818"))]
            # Medicare requires JZ on a full single-dose container; others get it half the time.
            jz = payer.sbr09 == "MB" or rng.random() < 0.5
            proc = f"{drug.hcpcs}:JZ" if jz else drug.hcpcs
            ctp: tuple[str, str] | None = (
                f"LIN**N4*{drug.ndc}",
                f"CTP****{drug.ctp_quantity}*{drug.ctp_unit}",
            )
            pointers = "1:2" if len(dx) > 1 else "1"
            if rng.random() < 0.2:
                lines.append(("99213:25", 12500, 1, None, "1"))
            lines.append((proc, drug.charge_cents, drug.units, ctp, pointers))
            admin = ("96401", 11000) if drug.oncology else ("96372", 4500)
            lines.append((admin[0], admin[1], 1, None, "1"))
        total = sum(line[1] for line in lines)
        pos = "22" if rng.random() < 0.05 else "11"
        self.w.seg(f"CLM*S{self.seed}C{self.claims:09d}*{_money(total)}***{pos}:B:1*Y*A*Y*Y")
        if drug is not None and payer.commercial:
            self.w.seg(f"REF*G1*PA{rng.randrange(10**8):08d}")
        self.w.seg("HI*" + "*".join([f"ABK:{dx[0]}"] + [f"ABF:{code}" for code in dx[1:]]))
        taxonomy = ONCOLOGY if drug is not None and drug.oncology else ENDOCRINOLOGY
        rlast, rfirst, rnpi = rng.choice(_RENDERING[taxonomy])
        self.w.seg(f"NM1*82*1*{rlast}*{rfirst}****XX*{rnpi}")
        self.w.seg(f"PRV*PE*PXC*{taxonomy}")
        for number, (proc, cents, units, ctp, pointers) in enumerate(lines, 1):
            self.w.seg(f"LX*{number}")
            self.w.seg(f"SV1*HC:{proc}*{_money(cents)}*UN*{units}***{pointers}")
            self.w.seg(f"DTP*472*D8*{dos}")
            if ctp is not None:
                self.w.seg(ctp[0])
                self.w.seg(ctp[1])
                self.drug_lines += 1
        self.service_lines += len(lines)


def write_837p(
    out: BinaryIO,
    claims: int,
    *,
    seed: int = 0,
    claims_per_st: int = 5000,
    drug_share: float = 0.9,
) -> SynthStats:
    """Write one interchange (one GS) of ``claims`` invented 837P claims to ``out``.

    A new ST transaction set starts every ``claims_per_st`` claims, as large submitters
    do to keep each set under their partner's limit. ``drug_share`` of the claims carry a
    denosumab line (the rest are office visits): 0.9 by default, the worst case for the
    drug-line checks; an ordinary clearinghouse batch holds a few percent. ``out`` is
    written in chunks of about 64 KB and never seeked, so a pipe or a socket works too.
    """
    if claims < 1:
        raise ValueError("claims must be at least 1")
    if claims_per_st < 1:
        raise ValueError("claims_per_st must be at least 1")
    if not 0.0 <= drug_share <= 1.0:
        raise ValueError("drug_share must be between 0 and 1")
    gen = _Generator(out, seed, drug_share)
    gen.interchange_header()
    sets = 0
    left = claims
    while left:
        sets += 1
        batch = min(left, claims_per_st)
        gen.transaction_set(sets, batch)
        left -= batch
    gen.w.seg(f"GE*{sets}*1")
    gen.w.seg(f"IEA*1*{gen.isa13}")
    gen.w.flush()
    return SynthStats(
        claims=gen.claims,
        service_lines=gen.service_lines,
        drug_lines=gen.drug_lines,
        transaction_sets=sets,
        bytes_written=gen.w.bytes_written,
    )


def main(argv: list[str] | None = None) -> int:
    """``python -m edi_precheck.synth --claims N OUT``: write a file, print its stats as JSON."""
    parser = argparse.ArgumentParser(
        prog="python -m edi_precheck.synth",
        description="Write a synthetic 837P (005010X222A1) file of invented denosumab claims.",
    )
    parser.add_argument("output", help="file to write, or - for standard output")
    parser.add_argument("--claims", type=int, default=1000, help="number of claims (default 1000)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument(
        "--claims-per-st",
        type=int,
        default=5000,
        help="claims per ST transaction set (default 5000)",
    )
    args = parser.parse_args(argv)
    if args.claims < 1 or args.claims_per_st < 1:
        parser.error("--claims and --claims-per-st must be at least 1")
    started = time.perf_counter()
    if args.output == "-":
        stats = write_837p(
            sys.stdout.buffer, args.claims, seed=args.seed, claims_per_st=args.claims_per_st
        )
        sys.stdout.buffer.flush()
        report = sys.stderr
    else:
        with open(args.output, "wb") as out:
            stats = write_837p(out, args.claims, seed=args.seed, claims_per_st=args.claims_per_st)
        report = sys.stdout
    seconds = time.perf_counter() - started
    print(json.dumps({**asdict(stats), "seconds": round(seconds, 3)}), file=report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
