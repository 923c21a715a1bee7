"""The history store: the drug lines sent before, on SQLite (a file) or PostgreSQL (shared).

Addressed by a URL: `sqlite:///relative/path.db`, `sqlite:////absolute/path.db`, or
`postgresql://user@host:port/db` (psycopg 3, the `[postgres]` extra). The tool creates and
migrates its own tables and refuses a store written by a newer version or under another
site key (its patient hashes would match nothing).

Writers take the store one at a time (SQLite's write lock; a PostgreSQL advisory lock),
for the whole of a `split`: a second split waits, then sees what the first sent, so two
hooks never send the same service. Readers (`check`) never wait for a writer. A store that
cannot be reached, or stays busy longer than `$EDI_PRECHECK_HISTORY_WAIT` seconds (60), is a
`HistoryError`: the run stops before it writes anything.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote, urlsplit, urlunsplit

from edi_precheck.findings import shown
from edi_precheck.history.errors import HistoryError
from edi_precheck.history.services import Service, ServiceKey
from edi_precheck.model.patient import PatientKeyer
from edi_precheck.x12 import LARGEST_CONTROL_NUMBER

HISTORY_ENV = "EDI_PRECHECK_HISTORY"
WAIT_ENV = "EDI_PRECHECK_HISTORY_WAIT"
DEFAULT_WAIT_SECONDS = 60.0

# The schema this version writes, and how to bring an older store to it: each step once,
# in order, under the writer's lock. Plain SQL both databases take.
SCHEMA_VERSION = 3
MIGRATIONS: tuple[tuple[int, tuple[str, ...]], ...] = (
    (
        1,
        (
            "CREATE TABLE services ("
            " patient TEXT NOT NULL,"  # keyed hash, never the member id
            " payer TEXT NOT NULL,"
            " family TEXT NOT NULL,"
            " product TEXT NOT NULL,"
            " code TEXT NOT NULL,"
            " service_date TEXT NOT NULL,"  # ISO 8601
            " units TEXT NOT NULL,"
            " waste INTEGER NOT NULL,"
            " recorded_on TEXT NOT NULL,"
            " PRIMARY KEY (patient, payer, code, service_date, units, waste))",
            "CREATE INDEX services_by_date ON services (service_date)",
            "CREATE INDEX services_by_dose ON services (patient, family, service_date)",
        ),
    ),
    (
        2,  # interchange and group control numbers, per sender, shared by every server
        ("CREATE TABLE control_numbers (sender TEXT PRIMARY KEY, last INTEGER NOT NULL)",),
    ),
    (
        3,  # whether a dose was a loading dose: the interval before it (units.frequency)
        ("ALTER TABLE services ADD COLUMN loading INTEGER NOT NULL DEFAULT 0",),
    ),
)
# The schema from which `services` has each column (a reader reads an older store as is).
_COLUMN_SINCE = {"loading": 3}
_META = "CREATE TABLE IF NOT EXISTS edi_precheck_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)"
# The PostgreSQL advisory lock writers take: any fixed 64-bit number of our own.
_WRITER_LOCK = 0x4544_4950_4843_4B31
# What a claim sent again on purpose does to the services on record (CLM05-3 7 or 8).
Correction = Literal["", "replacement", "void"]
_COLUMNS = "patient, payer, family, product, code, service_date, units, waste, recorded_on"


def wait_seconds() -> float:
    """How long a run waits for a store another run is writing. A value that is no
    number of seconds stops the run, as other settings do: a typo must not pass as 60 s."""
    text = os.environ.get(WAIT_ENV, "").strip()
    if not text:
        return DEFAULT_WAIT_SECONDS
    try:
        seconds = float(text)
    except ValueError:
        seconds = float("nan")
    if not 0 <= seconds < float("inf"):
        raise HistoryError(f"${WAIT_ENV} must be a number of seconds, not {shown(text)!r}")
    return seconds


def shown_url(url: str) -> str:
    """The URL without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))


def _sqlite_path(url: str) -> Path:
    """The file of `sqlite:///relative.db` or `sqlite:////absolute.db`."""
    rest = url[len("sqlite:///") :]
    if not rest:
        raise HistoryError(f"the history URL {url} names no file (sqlite:///path/history.db)")
    return Path(rest)


class HistoryStore:
    """An open store. Reads at any time; writes inside `writing()`."""

    def __init__(
        self,
        url: str,
        keyer: PatientKeyer,
        connection: Any,
        dialect: str,
        read_only: bool = False,
    ) -> None:
        self.url = shown_url(url)
        self.keyer = keyer
        self.read_only = read_only
        self._schema = SCHEMA_VERSION  # the store's, once opened
        self._connection = connection
        self._dialect = dialect
        self._writing = False
        self._lock = threading.RLock()

    # -- opening --------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        url: str,
        keyer: PatientKeyer,
        create: bool,
        wait: float | None = None,
        read_only: bool = False,
    ) -> HistoryStore:
        """Open the store at `url` and bring its schema up to date. Without `create`, a
        store that does not exist yet is an error (a mistyped URL must not pass as an
        empty history). `read_only` (a run that only compares claims with the store:
        check, serve, Spark) never writes: it reads a store of an older schema as it is,
        a SQLite store on a read-only mount as a snapshot, and a PostgreSQL store with an
        account that may only read it."""
        wait = wait_seconds() if wait is None else wait
        if url.startswith("sqlite:"):
            connection = _connect_sqlite(url, create and not read_only, wait, read_only)
            store = cls(url, keyer, connection, "sqlite", read_only)
        elif url.startswith(("postgresql:", "postgres:")):
            store = cls(
                url, keyer, _connect_postgres(url, wait, read_only), "postgresql", read_only
            )
        else:
            raise HistoryError(
                f"the history URL {shown_url(url)} is neither sqlite:///path nor "
                "postgresql://user@host:port/db"
            )
        try:
            store._prepare(create, wait)
        except BaseException:
            store.close()
            raise
        return store

    def _prepare(self, create: bool, wait: float) -> None:
        """Check the schema version and the key; migrate when behind (under the lock). A
        reader (`read_only`) reads an older schema as it is and never migrates it: a column
        `services` gained since (`_COLUMN_SINCE`) reads as its default there."""
        version, key_check = self._meta()
        if version is not None:
            self._schema = version
        if version == SCHEMA_VERSION and key_check:
            self._check_key(key_check)
            return
        if version is None and (not create or self.read_only):
            raise HistoryError(
                f"{self.url} holds no edi-precheck history yet; `edi-precheck history record` "
                "or `split --history` creates it"
            )
        if version is not None and version > SCHEMA_VERSION:
            raise _newer(self.url, version)
        if self.read_only:
            if not key_check:
                raise HistoryError(
                    f"{self.url} is damaged: it holds no check of its site key; restore it "
                    "from a backup"
                )
            self._check_key(key_check)
            return
        with self.writing(wait):
            # Read again under the lock: another run may have made the store meanwhile.
            version, key_check = self._meta()
            if version is not None and version > SCHEMA_VERSION:
                raise _newer(self.url, version)
            if version is None and (tables := self._other_tables()):
                raise HistoryError(
                    f"{self.url} is not an edi-precheck history store: it holds other "
                    f"tables ({', '.join(sorted(tables)[:5])}); give the URL of an empty or "
                    "new database"
                )
            try:
                for step, statements in MIGRATIONS:
                    if version is None or step > version:
                        for statement in statements:
                            self._execute(statement)
                self._set_meta("schema_version", str(SCHEMA_VERSION))
                self._schema = SCHEMA_VERSION
                if not key_check:
                    self._set_meta("key_check", self.keyer.check_value())
            except self._errors() as error:  # an account that may only read it, say
                raise self._failure("cannot upgrade", error) from None
            if key_check:
                self._check_key(key_check)

    def _meta(self) -> tuple[int | None, str]:
        """The store's schema version (None: no history tables) and its key check."""
        exists = (
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?"
            if self._dialect == "sqlite"
            else "SELECT COUNT(*) FROM pg_tables WHERE schemaname = current_schema() "
            "AND tablename = ?"
        )
        try:
            if not self._query(exists, ("edi_precheck_meta",))[0][0]:
                return None, ""
            meta = dict(self._query("SELECT name, value FROM edi_precheck_meta"))
        except self._errors() as error:
            raise self._failure("cannot read", error) from None
        version = meta.get("schema_version")
        if version and not str(version).isdigit():
            raise HistoryError(
                f"{self.url} is damaged: its schema version {shown(str(version))} is not a "
                "number; restore it from a backup"
            )
        return (int(version) if version else None), meta.get("key_check", "")

    def _other_tables(self) -> list[str]:
        """The tables of a database with no history in it: none, for a new store (writing
        ours beside another application's would mix our hashes into its data)."""
        listing = (
            "SELECT name FROM sqlite_master WHERE type = 'table'"
            if self._dialect == "sqlite"
            else "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
        )
        try:
            return [shown(str(row[0])) for row in self._query(listing)]
        except self._errors() as error:
            raise self._failure("cannot read", error) from None

    def _check_key(self, key_check: str) -> None:
        if key_check != self.keyer.check_value():
            raise HistoryError(
                f"{self.url} was written under another site key: its patients would match no "
                "claim. Use the key file the store was made with (see `history` in the README)"
            )

    def _set_meta(self, name: str, value: str) -> None:
        self._execute(_META)
        self._execute(
            "INSERT INTO edi_precheck_meta (name, value) VALUES (?, ?) "
            "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            (name, value),
        )

    # -- reading --------------------------------------------------------------------------

    def may_know(self, patient: str) -> bool:
        return True  # asked, not guessed

    def same_service(self, key: ServiceKey) -> Service | None:
        """The service on record with this key, if any."""
        rows = self._select(
            "patient = ? AND payer = ? AND code = ? AND service_date = ? AND units = ? "
            "AND waste = ? LIMIT 1",
            (*key[:5], int(key[5])),
        )
        return rows[0] if rows else None

    def nearest_doses(
        self, patient: str, family: str, day: date
    ) -> tuple[Service | None, Service | None]:
        """The patient's last dose of the family on record before `day`, first after it."""
        found = []
        for comparison, order in (("<", "DESC"), (">", "ASC")):
            rows = self._select(
                f"patient = ? AND family = ? AND waste = 0 AND service_date {comparison} ? "
                f"ORDER BY service_date {order} LIMIT 1",
                (patient, family, day.isoformat()),
            )
            found.append(rows[0] if rows else None)
        return found[0], found[1]

    def _has_column(self, column: str) -> bool:
        """Whether `services` has `column`. A reader of an older store asks again until a
        writer migrates it (a long-lived `serve` then reads the new column without a
        restart); a writer has migrated it on opening."""
        if self._schema < _COLUMN_SINCE[column]:
            version, _ = self._meta()
            self._schema = max(self._schema, version or 0)
        return self._schema >= _COLUMN_SINCE[column]

    def _select(self, condition: str, parameters: tuple[Any, ...]) -> list[Service]:
        try:
            loading = "loading" if self._has_column("loading") else "0"
            rows = self._query(
                f"SELECT {_COLUMNS}, {loading} FROM services WHERE {condition}", parameters
            )
        except self._errors() as error:
            raise self._failure("cannot read", error) from None
        return [
            Service(
                patient=row[0],
                payer=row[1],
                family=row[2],
                product=row[3],
                code=row[4],
                day=date.fromisoformat(row[5]),
                units=row[6],
                waste=bool(row[7]),
                origin=f"recorded as sent on {row[8]}",
                loading=bool(row[9]),
            )
            for row in rows
        ]

    # -- writing --------------------------------------------------------------------------

    @contextlib.contextmanager
    def writing(self, wait: float | None = None) -> Iterator[None]:
        """Be the store's one writer for the block: committed when it ends, rolled back
        when it fails. Waits `wait` seconds at most for another writer to finish."""
        if self._writing:
            yield
            return
        if self.read_only:
            raise HistoryError(f"the history store {self.url} was opened read only")
        wait = wait_seconds() if wait is None else wait
        self._begin(wait)
        self._writing = True
        try:
            yield
        except BaseException:
            self._writing = False
            with contextlib.suppress(Exception):
                self._connection.rollback()
            raise
        self._writing = False
        try:
            self._connection.commit()
        except self._errors() as error:
            raise self._failure("cannot write", error) from None

    def record(self, services: Iterable[Service], correction: Correction = "") -> int:
        """Record one claim's services; how many were not on record. A replacement or a
        void first removes what is on record for its patient, payer, codes and dates (the
        services it corrects); a void records nothing. Call inside `writing()`."""
        assert self._writing, "record() outside writing()"
        services = list(services)
        recorded_on = datetime.now(UTC).date().isoformat()
        try:
            if correction:
                for patient, payer, code, day in {
                    (s.patient, s.payer, s.code, s.day) for s in services
                }:
                    self._execute(
                        "DELETE FROM services WHERE patient = ? AND payer = ? AND code = ? "
                        "AND service_date = ?",
                        (patient, payer, code, day.isoformat()),
                    )
            added = 0
            for service in services if correction != "void" else ():
                added += self._execute(
                    f"INSERT INTO services ({_COLUMNS}, loading) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    (
                        service.patient,
                        service.payer,
                        service.family,
                        service.product,
                        service.code,
                        service.day.isoformat(),
                        service.units,
                        int(service.waste),
                        recorded_on,
                        int(service.loading),
                    ),
                )
        except self._errors() as error:
            raise self._failure("cannot write", error) from None
        return added

    def next_control_number(self, sender: str, start: int | None, seed: int) -> int:
        """Draw the next interchange or group control number of `sender` (ISA05:ISA06):
        `start` when given, else one past the last drawn here, or past `seed` (the last
        this machine drew before it used the store) for a sender new to the store. Call
        inside `writing()`: the draw is committed with the outputs that carry it."""
        assert self._writing, "next_control_number() outside writing()"
        try:
            rows = self._query("SELECT last FROM control_numbers WHERE sender = ?", (sender,))
            last = int(rows[0][0]) if rows else seed
            number = start if start is not None else last % LARGEST_CONTROL_NUMBER + 1
            self._execute(
                "INSERT INTO control_numbers (sender, last) VALUES (?, ?) "
                "ON CONFLICT (sender) DO UPDATE SET last = excluded.last",
                (sender, number),
            )
        except self._errors() as error:
            raise self._failure("cannot write", error) from None
        return number

    def forget(self, keys: Iterable[ServiceKey]) -> int:
        """Remove these services (a batch the receiver rejected); how many were on record."""
        assert self._writing, "forget() outside writing()"
        removed = 0
        try:
            for patient, payer, code, day, units, waste in keys:
                removed += self._execute(
                    "DELETE FROM services WHERE patient = ? AND payer = ? AND code = ? "
                    "AND service_date = ? AND units = ? AND waste = ?",
                    (patient, payer, code, day, units, int(waste)),
                )
        except self._errors() as error:
            raise self._failure("cannot write", error) from None
        return removed

    def forget_before(self, day: date) -> int:
        """Remove every service given before `day`; how many."""
        assert self._writing, "forget_before() outside writing()"
        try:
            return self._execute("DELETE FROM services WHERE service_date < ?", (day.isoformat(),))
        except self._errors() as error:
            raise self._failure("cannot write", error) from None

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._connection.close()

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the two databases ----------------------------------------------------------------

    def _sql(self, statement: str) -> str:
        return statement.replace("?", "%s") if self._dialect == "postgresql" else statement

    def _execute(self, statement: str, parameters: tuple[Any, ...] = ()) -> int:
        with self._lock:
            cursor = self._connection.execute(self._sql(statement), parameters)
            return max(cursor.rowcount, 0)

    def _query(self, statement: str, parameters: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:  # one connection, one statement at a time (library threads)
            rows = self._connection.execute(self._sql(statement), parameters).fetchall()
            if self._dialect == "postgresql" and not self._writing:
                self._connection.commit()  # end the read's transaction: no idle transaction
        return [tuple(row) for row in rows]

    def _errors(self) -> tuple[type[BaseException], ...]:
        if self._dialect == "sqlite":
            return (sqlite3.Error,)
        import psycopg

        return (psycopg.Error,)

    def _failure(self, doing: str, error: BaseException) -> HistoryError:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
        return HistoryError(f"{doing} the history store {self.url}: {first_line}")

    def _begin(self, wait: float) -> None:
        """Start the writer's transaction, once no other writer holds the store."""
        if self._dialect == "sqlite":
            try:
                self._connection.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as error:
                if "locked" in str(error) or "busy" in str(error):
                    raise HistoryError(
                        f"the history store {self.url} is busy: another run has been writing "
                        f"it for more than {wait:g} s; nothing was written"
                    ) from None
                raise self._failure("cannot write", error) from None
            return
        import psycopg

        deadline = time.monotonic() + wait
        try:
            while True:
                row = self._connection.execute(
                    "SELECT pg_try_advisory_xact_lock(%s)", (_WRITER_LOCK,)
                ).fetchone()
                if row and row[0]:
                    return
                self._connection.rollback()
                if time.monotonic() >= deadline:
                    raise HistoryError(
                        f"the history store {self.url} is busy: another run has been writing "
                        f"it for more than {wait:g} s; nothing was written"
                    )
                time.sleep(0.05)
        except psycopg.Error as error:
            raise self._failure("cannot write", error) from None


def _newer(url: str, version: int) -> HistoryError:
    return HistoryError(
        f"{url} has history schema {version}, newer than this edi-precheck knows "
        f"({SCHEMA_VERSION}); upgrade edi-precheck"
    )


def _connect_sqlite(url: str, create: bool, wait: float, read_only: bool) -> sqlite3.Connection:
    path = _sqlite_path(url)
    if not path.exists():
        if not create:
            raise HistoryError(
                f"there is no history store at {path}; `edi-precheck history record` or "
                "`split --history` creates it"
            )
        try:  # made private before SQLite opens it: it holds dates of service
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:
            pass
        except OSError as error:
            raise HistoryError(
                f"cannot create the history store {path}: {error.strerror or error}"
            ) from None
    if read_only:
        return _read_only_sqlite(path, wait)
    # readers never wait for a writer (WAL)
    setup = ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL")
    try:
        return _sqlite(path, "mode=rw", wait, setup)
    except sqlite3.Error as error:
        raise HistoryError(f"cannot open the history store {path}: {error}") from None


def _sqlite(path: Path, mode: str, wait: float, setup: tuple[str, ...]) -> sqlite3.Connection:
    """A connection, `setup` run on it; closed at once when that fails (not when the
    traceback goes), so that a failed open holds no file. SQLite does not call its busy
    handler where waiting could deadlock (two connections turning a new store to WAL at
    once: one is told "locked" at once), so a busy setup is tried again until `wait`."""
    connection = sqlite3.connect(
        f"file:{quote(str(path))}?{mode}",
        uri=True,
        timeout=wait,
        isolation_level=None,  # transactions as we begin them
        check_same_thread=False,  # one thread at a time, as the engine uses it
    )
    deadline = time.monotonic() + wait
    pause = 0.01
    try:
        for statement in setup:
            while True:
                try:
                    connection.execute(statement)
                    break
                except sqlite3.OperationalError as error:
                    busy = "locked" in str(error) or "busy" in str(error)
                    if not busy or time.monotonic() + pause > deadline:
                        raise
                    time.sleep(pause)
                    pause = min(pause * 2, 0.25)
    except sqlite3.Error:
        connection.close()
        raise
    return connection


def _read_only_sqlite(path: Path, wait: float) -> sqlite3.Connection:
    """A connection this run never writes through (`query_only`). Where this account may
    write beside the store, SQLite opens it as a writer would, so that the last connection
    to close tidies the WAL files away (a read-only connection cannot: its -wal and -shm
    would stay, this account's, and could block the store's own writer). On a read-only
    file system, a store with no WAL file beside it is read as the snapshot it is
    (immutable: writes made elsewhere while it is open are not seen). Else it is refused."""
    if os.access(path, os.W_OK) and os.access(path.parent, os.W_OK):
        mode = "mode=rw"
    elif _on_read_only_file_system(path):
        if Path(f"{path}-wal").exists():
            raise HistoryError(
                f"cannot read the history store {path}: it is on a read-only file system "
                f"while a writer has it open ({path.name}-wal beside it), so SQLite cannot "
                "read it consistently from here; read it where it is written, or keep a "
                "shared history on PostgreSQL"
            )
        mode = "mode=ro&immutable=1"
    else:
        raise HistoryError(
            f"cannot read the history store {path}: SQLite must write its WAL files beside "
            f"it ({path.name}-wal, -shm), and this account may not; give it write access to "
            f"{path.parent} and the store, or keep a shared history on PostgreSQL"
        )
    try:  # the count makes SQLite open the file now, so that a failure is said here
        return _sqlite(
            path, mode, wait, ("PRAGMA query_only = ON", "SELECT COUNT(*) FROM sqlite_master")
        )
    except sqlite3.Error as error:
        raise HistoryError(f"cannot open the history store {path} to read it: {error}") from None


def _on_read_only_file_system(path: Path) -> bool:
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def _connect_postgres(url: str, wait: float, read_only: bool) -> Any:
    try:
        import psycopg
    except ImportError:
        raise HistoryError(
            "a postgresql:// history needs psycopg: pip install 'edi-precheck[postgres]'"
        ) from None
    try:
        connection = psycopg.connect(url, connect_timeout=max(1, int(min(wait, 30))))
        if read_only:  # the server refuses any write from this session
            connection.read_only = True
        return connection
    except psycopg.Error as error:
        text = str(error).strip().splitlines()
        raise HistoryError(
            f"cannot reach the history store {shown_url(url)}: {text[0] if text else error}"
        ) from None
