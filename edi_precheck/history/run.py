"""What one run knows before each claim: the services on record, and those read earlier.

A run (one `check`, `split` or `history` command; one library call) compares every claim
with the claims read before it, in any of its files, with or without a store. What it has
read is kept in a ledger: dictionaries while the run is small, then a private temporary
SQLite database, so that memory stays flat however many claims a run reads. A bit filter of
the patients seen answers "never seen" (most patients of a batch) without asking the
database, and inserts go in batches (those not yet written are answered from memory, so a
question never forces a small write). The ledger also remembers which claim each service
came from, for `split` to record the claims it sends and `history record|forget` to act on
every claim.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Iterable, Iterator
from datetime import date
from typing import Any

from edi_precheck.history.services import Service, ServiceKey, nearer
from edi_precheck.history.store import Correction, HistoryStore
from edi_precheck.model import Claim

# Services kept in dictionaries before the ledger moves to a temporary database (about
# 250 bytes each), and inserts held back before they are written to it.
IN_MEMORY_SERVICES = 20_000
INSERT_BATCH = 2_000
# The filter of patients seen: 2^23 bits (1 MiB), three bits a patient; with a million
# patients in a run, under 3% of new patients are taken for seen (and merely asked for).
_FILTER_BITS = 1 << 23

# The questions go by a hash of what they ask (the service's key; patient and family), an
# integer index being much cheaper to write than one of six text columns; the columns asked
# are compared too. The hash is Python's, salted per process: the ledger is this process's.
_LEDGER = (
    "CREATE TABLE ledger (file INTEGER, claim INTEGER, correction TEXT, patient TEXT,"
    " payer TEXT, family TEXT, product TEXT, code TEXT, service_date TEXT, units TEXT,"
    " waste INTEGER, loading INTEGER, key_hash INTEGER, dose_hash INTEGER)",
    "CREATE INDEX ledger_by_key ON ledger (key_hash)",
    "CREATE INDEX ledger_by_dose ON ledger (dose_hash, service_date)",
)
# What a replacement or void read in the run corrects: the services of its patient, payer,
# code and date read before it (and on record) no longer answer; a void's own never do.
_CORRECTED = (
    "CREATE TABLE corrected (slot INTEGER, patient TEXT, payer TEXT, code TEXT,"
    " service_date TEXT, file INTEGER, claim INTEGER)",
    "CREATE INDEX corrected_by_slot ON corrected (slot)",
)
# Only split and history ask by claim: the index is made when first asked for.
_BY_CLAIM = "CREATE INDEX IF NOT EXISTS ledger_by_claim ON ledger (file, claim)"
_INSERT = "INSERT INTO ledger VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
_COLUMNS = (
    "file, claim, correction, patient, payer, family, product, code, service_date, units, waste,"
    " loading"
)
_Entry = tuple[int, int, Correction, Service]  # file number, claim index, correction, service
_Slot = tuple[str, str, str, str]  # patient, payer, code, date: what a correction corrects
# The dose before a day and the dose after it, in one statement (the last column says which).
_NEAREST = " UNION ALL ".join(
    f"SELECT * FROM (SELECT {_COLUMNS}, {which} FROM ledger WHERE dose_hash = ? "
    f"AND patient = ? AND family = ? AND waste = 0 AND service_date {comparison} ? "
    f"ORDER BY service_date {order} LIMIT 4)"  # more than 1: the nearest may be corrected
    for which, comparison, order in ((0, "<", "DESC"), (1, ">", "ASC"))
)


def correction_of(claim: Claim) -> Correction:
    """What a claim does to the services on record: a replacement or void names the claim
    it corrects (REF*F8); anything else adds."""
    if not claim.replaces_another:
        return ""
    return "void" if claim.frequency_code == "8" else "replacement"


class RunHistory:
    """The services sent (`store`, when given) or read earlier in this run."""

    def __init__(self, store: HistoryStore | None = None) -> None:
        self.store = store
        self._files: dict[int, str] = {}
        self._seen = bytearray(_FILTER_BITS // 8)
        self._count = 0
        # While small: entries by patient and by claim.
        self._by_patient: dict[str, list[_Entry]] = {}
        self._by_claim: dict[tuple[int, int], list[_Entry]] = {}
        # Then: the database, and the inserts not yet written to it.
        self._ledger: sqlite3.Connection | None = None
        self._pending: list[tuple[Any, ...]] = []
        self._pending_by_patient: dict[str, list[_Entry]] = {}  # the same, not yet written
        # The latest replacement or void of each slot read in the run, by (file, claim):
        # in memory while the ledger is, then in its database.
        self._corrected: dict[_Slot, tuple[int, int]] = {}
        self._corrections = 0  # none (most runs): nothing to look up

    # -- what the rules ask (history.services.ServiceHistory) ------------------------------

    def may_know(self, patient: str) -> bool:
        """Whether the store or this run may hold something of `patient`."""
        return self.store is not None or self._may_have_seen(patient)

    def same_service(self, key: ServiceKey) -> Service | None:
        """A service with this key on record, else read earlier in the run; neither when a
        replacement or void read in the run corrects it (nor the void itself)."""
        seen = self._may_have_seen(key[0])
        corrected = self._correction_of(key[:4]) if seen else None
        found = self.store.same_service(key) if self.store is not None else None
        if found is not None and corrected is None:
            return found
        if not seen:
            return None
        if self._ledger is None:
            candidates: Iterable[_Entry] = self._by_patient.get(key[0], ())
        else:
            rows = self._ledger.execute(
                f"SELECT {_COLUMNS} FROM ledger WHERE key_hash = ? AND patient = ? AND payer = ?"
                " AND code = ? AND service_date = ? AND units = ? AND waste = ?",
                (_key_hash(key), *key[:5], int(key[5])),
            )
            # and those read since the last write
            candidates = [*map(_entry, rows), *self._pending_by_patient.get(key[0], ())]
        for entry in candidates:
            if entry[3].key == key and self._answers(entry, corrected):
                return self._with_origin(entry)
        return None

    def _answers(self, entry: _Entry, corrected: tuple[int, int] | None) -> bool:
        """Whether a service read in the run stands: not a void's, and not read before a
        replacement or void of its slot (`corrected`: where the latest one was read)."""
        return entry[2] != "void" and (corrected is None or entry[:2] >= corrected)

    def _correction_of(self, slot: _Slot) -> tuple[int, int] | None:
        """Where the latest replacement or void of `slot` was read in the run, if any."""
        if not self._corrections:
            return None
        if self._ledger is None:
            return self._corrected.get(slot)
        rows = self._ledger.execute(
            "SELECT patient, payer, code, service_date, file, claim FROM corrected WHERE slot = ?",
            (hash(slot),),
        )
        places = [(row[4], row[5]) for row in rows if tuple(row[:4]) == slot]
        return max(places) if places else None

    def nearest_doses(
        self, patient: str, family: str, day: date
    ) -> tuple[Service | None, Service | None]:
        """The patient's doses of the family nearest to `day`, on record or in the run."""
        here: tuple[Service | None, Service | None] = (None, None)
        seen = self._may_have_seen(patient)
        if seen:
            here = self._nearest_read(patient, family, day)
        if self.store is None:
            return here
        on_record = self.store.nearest_doses(patient, family, day)
        if seen:  # a dose on record that a replacement or void of the run corrects is gone
            on_record = (self._standing(on_record[0]), self._standing(on_record[1]))
        return nearer(on_record, here)

    def _standing(self, service: Service | None) -> Service | None:
        if service is None or self._correction_of(_slot(service)) is None:
            return service
        return None

    def _nearest_read(
        self, patient: str, family: str, day: date
    ) -> tuple[Service | None, Service | None]:
        if self._ledger is None:
            earlier, later = _nearest_of(
                self._standing_entries(self._by_patient.get(patient, ())), family, day
            )
        else:
            earlier = later = None
            for row in self._ledger.execute(
                _NEAREST, (hash((patient, family)), patient, family, day.isoformat()) * 2
            ):
                if (earlier if row[-1] == 0 else later) is not None:
                    continue  # the nearer one on that side is taken
                entry = _entry(row[:-1])
                if not self._standing_entries([entry]):
                    continue  # the nearest is corrected: the next one is looked at
                if row[-1] == 0:
                    earlier = entry
                else:
                    later = entry
            # Those read since the last write come after every row: on the same day, the
            # latest read is the earlier dose (as the descending scan finds it), the first
            # written the later one.
            earlier, later = _nearest_of(
                self._standing_entries(self._pending_by_patient.get(patient, ())),
                family,
                day,
                earlier,
                later,
                True,
            )
        return (
            self._with_origin(earlier) if earlier else None,
            self._with_origin(later) if later else None,
        )

    def _standing_entries(self, entries: Iterable[_Entry]) -> Iterable[_Entry]:
        """The entries that stand (see `_answers`): all of them in a run with no
        replacement or void (most), which then costs nothing."""
        if not self._corrections:
            return entries
        return [e for e in entries if self._answers(e, self._correction_of(_slot(e[3])))]

    # -- what the engine tells, and split and history ask ----------------------------------

    def note(self, file_number: int, file_name: str, claim: Claim, services: list[Service]) -> None:
        """The services of a claim just read: later claims are compared with them."""
        self.note_services(file_number, file_name, claim.index, correction_of(claim), services)

    def note_services(
        self,
        file_number: int,
        file_name: str,
        claim_index: int,
        correction: Correction,
        services: list[Service],
    ) -> None:
        """`note`, for a claim read elsewhere (another process): its number in its file
        and what it does to the record (`correction_of`)."""
        self._files.setdefault(file_number, file_name)
        for service in services:
            self._mark_seen(service.patient)
        if correction:
            for slot in set(map(_slot, services)):
                self._note_correction(slot, (file_number, claim_index))
        entries = [(file_number, claim_index, correction, service) for service in services]
        self._count += len(entries)
        if self._ledger is None and self._count <= IN_MEMORY_SERVICES:
            self._by_claim.setdefault((file_number, claim_index), []).extend(entries)
            for entry in entries:
                self._by_patient.setdefault(entry[3].patient, []).append(entry)
            return
        if self._ledger is None:
            self._move_to_database()
        self._pending += [_row(entry) for entry in entries]
        for entry in entries:
            self._pending_by_patient.setdefault(entry[3].patient, []).append(entry)
        if len(self._pending) >= INSERT_BATCH:
            self._database()

    def of_claim(self, file_number: int, claim_index: int) -> tuple[list[Service], Correction]:
        """The services of one claim read in this run, and what it does to the record."""
        if self._ledger is None:
            entries = self._by_claim.get((file_number, claim_index), [])
        else:
            rows = (
                self._by_claim_index()
                .execute(
                    f"SELECT {_COLUMNS} FROM ledger WHERE file = ? AND claim = ?",
                    (file_number, claim_index),
                )
                .fetchall()
            )
            entries = [_entry(row) for row in rows]
        correction: Correction = entries[0][2] if entries else ""
        return [entry[3] for entry in entries], correction

    def claims(self) -> Iterator[tuple[list[Service], Correction]]:
        """Every claim read in this run with services, in reading order."""
        if self._ledger is None:
            for entries in list(self._by_claim.values()):
                yield [entry[3] for entry in entries], entries[0][2]
            return
        cursor = self._by_claim_index().execute(
            f"SELECT {_COLUMNS} FROM ledger ORDER BY file, claim, rowid"
        )
        claim: tuple[int, int] | None = None
        services: list[Service] = []
        correction: Correction = ""
        for file_number, claim_index, entry_correction, service in map(_entry, cursor):
            if (file_number, claim_index) != claim:
                if services:
                    yield services, correction
                claim, services, correction = (file_number, claim_index), [], entry_correction
            services.append(service)
        if services:
            yield services, correction

    def close(self) -> None:
        if self._ledger is not None:
            self._ledger.close()
            self._ledger = None
        self._by_patient, self._by_claim, self._pending = {}, {}, []
        self._pending_by_patient, self._corrected = {}, {}

    # -- the ledger's parts -----------------------------------------------------------------

    def _with_origin(self, entry: _Entry) -> Service:
        """The service of an entry, saying where in this run it was read."""
        file_number, claim_index, _, service = entry
        origin = f"claim {claim_index} of {self._files.get(file_number, '?')}"
        return dataclasses.replace(service, origin=origin)

    def _bits(self, patient: str) -> tuple[int, int, int]:
        value = hash(patient) & ((1 << 64) - 1)
        mask = _FILTER_BITS - 1
        return value & mask, (value >> 21) & mask, (value >> 42) & mask

    def _mark_seen(self, patient: str) -> None:
        for bit in self._bits(patient):
            self._seen[bit >> 3] |= 1 << (bit & 7)

    def _may_have_seen(self, patient: str) -> bool:
        seen = self._seen
        a, b, c = self._bits(patient)
        return bool(
            seen[a >> 3] & (1 << (a & 7))
            and seen[b >> 3] & (1 << (b & 7))
            and seen[c >> 3] & (1 << (c & 7))
        )

    def _note_correction(self, slot: _Slot, place: tuple[int, int]) -> None:
        self._corrections += 1
        if self._ledger is None:
            self._corrected[slot] = place
        else:
            self._ledger.execute(
                "INSERT INTO corrected VALUES (?, ?, ?, ?, ?, ?, ?)", (hash(slot), *slot, *place)
            )

    def _move_to_database(self) -> None:
        # "": a private temporary database, in memory while small, on disk beyond its page
        # cache, removed when closed.
        ledger = sqlite3.connect("", isolation_level=None, check_same_thread=False)
        ledger.execute("PRAGMA journal_mode=OFF")
        ledger.execute("PRAGMA synchronous=OFF")
        for statement in (*_LEDGER, *_CORRECTED):
            ledger.execute(statement)
        _insert(ledger, [_row(entry) for entries in self._by_claim.values() for entry in entries])
        ledger.executemany(
            "INSERT INTO corrected VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(hash(slot), *slot, *place) for slot, place in self._corrected.items()],
        )
        self._ledger, self._by_patient, self._by_claim = ledger, {}, {}
        self._corrected = {}

    def _database(self) -> sqlite3.Connection:
        """The ledger's database with every insert written (before any question)."""
        assert self._ledger is not None
        if self._pending:
            _insert(self._ledger, self._pending)
            self._pending, self._pending_by_patient = [], {}
        return self._ledger

    def _by_claim_index(self) -> sqlite3.Connection:
        """The database, indexed by claim as well (made on the first question by claim)."""
        ledger = self._database()
        ledger.execute(_BY_CLAIM)
        return ledger


def _slot(service: Service) -> _Slot:
    """What a replacement or void of the service corrects: its patient, payer, code, date."""
    return service.patient, service.payer, service.code, service.day.isoformat()


def _nearest_of(
    entries: Iterable[_Entry],
    family: str,
    day: date,
    earlier: _Entry | None = None,
    later: _Entry | None = None,
    latest_on_a_tie: bool = False,
) -> tuple[_Entry | None, _Entry | None]:
    """The doses of `family` among `entries` nearest before and after `day` (wasted amounts
    are not doses), nearer than `earlier` and `later`. On the same day the first entry
    wins, except for the earlier dose with `latest_on_a_tie`."""
    for entry in entries:
        dose = entry[3]
        if dose.family != family or dose.waste:
            continue
        if dose.day < day and (
            earlier is None
            or dose.day > earlier[3].day
            or (latest_on_a_tie and dose.day == earlier[3].day)
        ):
            earlier = entry
        elif dose.day > day and (later is None or dose.day < later[3].day):
            later = entry
    return earlier, later


def _insert(ledger: sqlite3.Connection, rows: list[tuple[Any, ...]]) -> None:
    """Write rows in one transaction (autocommit would make each row one)."""
    ledger.execute("BEGIN")
    ledger.executemany(_INSERT, rows)
    ledger.execute("COMMIT")


def _row(entry: _Entry) -> tuple[Any, ...]:
    file_number, claim_index, correction, s = entry
    return (
        file_number,
        claim_index,
        correction,
        s.patient,
        s.payer,
        s.family,
        s.product,
        s.code,
        s.day.isoformat(),
        s.units,
        int(s.waste),
        int(s.loading),
        _key_hash(s.key),
        hash((s.patient, s.family)),
    )


def _key_hash(key: tuple[str, str, str, str, str, bool]) -> int:
    return hash((*key[:5], int(key[5])))


def _entry(row: tuple[Any, ...]) -> _Entry:
    file_number, claim_index, correction, patient, payer, family, product, code, *rest = row
    day, units, waste, loading = rest
    service = Service(
        patient,
        payer,
        family,
        product,
        code,
        date.fromisoformat(day),
        units,
        bool(waste),
        loading=bool(loading),
    )
    return file_number, claim_index, correction, service
