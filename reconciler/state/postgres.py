"""The PostgreSQL state backend: one state per name in a database shared by a team and its CI.

Tables (created on first use, under a transaction advisory lock so two first runs do not race;
`reconciler_schema.version` says which layout the tables have, so a later release can upgrade
them and an older one refuses a newer layout instead of misreading it):

- `reconciler_states`  name, lineage, serial, format, data (the state file's exact bytes),
                       updated_at, updated_by. A write is a compare-and-set: it happens only if
                       the serial is still the one this run read, else "the state moved".
- `reconciler_journal` one row per batch of finished changes of an apply in progress, each in its
                       own transaction as it finishes (what the local journal file holds), keyed
                       by the lineage and serial it extends; folded in on the next load and
                       deleted by the write that makes them part of the state, in that write's
                       transaction. A kill -9 mid-apply therefore loses nothing, and the re-apply
                       sends nothing twice.
- `reconciler_locks`   who holds the lock (Terraform's LockInfo, plus the holder's backend pid),
                       for the message a refused run prints and for `force-unlock`.

The lock itself is a session advisory lock keyed by the state name, taken on a dedicated
connection held for the whole run: PostgreSQL releases it when that connection ends, however the
process ends. Every journal row and state write checks, in its transaction, that the lock row is
still this run's (a fence): after `force-unlock` the old holder records what it finished and then
stops, instead of writing on beside the new holder.

The URL is a secret (it may hold a password): it is registered with `core.redact`, and every
message names only the user, host, port and database.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from reconciler.core import redact
from reconciler.core.diagnostics import Diagnostic, DiagnosticError
from reconciler.state import fileformat
from reconciler.state.journal import OPS, Entry, apply_entries, unfolded_refusal
from reconciler.state.lock import LockError, LockInfo, wait_for, who
from reconciler.state.model import State

SCHEMA_VERSION = 1
"""The table layout this release writes (reconciler_schema.version)."""
_SCHEMA_LOCK_KEY = 0x7265636F6E63696C  # "reconcil": serialises table creation and upgrades
CONNECT_TIMEOUT = 10

_DDL = """
CREATE TABLE IF NOT EXISTS reconciler_schema (
    id integer PRIMARY KEY CHECK (id = 1),
    version integer NOT NULL
);
CREATE TABLE IF NOT EXISTS reconciler_states (
    name text PRIMARY KEY,
    lineage text NOT NULL,
    serial bigint NOT NULL,
    format integer NOT NULL,
    data bytea NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by text NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS reconciler_journal (
    seq bigserial PRIMARY KEY,
    name text NOT NULL,
    lineage text NOT NULL,
    base_serial bigint NOT NULL,
    entries text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS reconciler_journal_name_seq ON reconciler_journal (name, seq);
CREATE TABLE IF NOT EXISTS reconciler_locks (
    name text PRIMARY KEY,
    id text NOT NULL,
    operation text NOT NULL,
    who text NOT NULL,
    pid integer NOT NULL,
    created text NOT NULL,
    version text NOT NULL,
    path text NOT NULL,
    backend_pid integer NOT NULL
);
"""


@dataclass(frozen=True)
class PgTarget:
    """A parsed connection URL; `where` is safe to print, `url` is not."""

    url: str = field(repr=False)
    user: str
    host: str
    port: int
    database: str

    @classmethod
    def parse(cls, url: str) -> PgTarget:
        parts = urlsplit(url)
        if parts.scheme not in ("postgresql", "postgres"):
            raise DiagnosticError.single(
                "the state URL must start with postgresql:// (postgresql://user@host:5432/database)",
                field="state.url")
        if parts.password:
            redact.register(parts.password)
            redact.register(unquote(parts.password))
        redact.register(url)
        try:
            port = parts.port or 5432
        except ValueError:
            raise DiagnosticError.single("the state URL has an invalid port", field="state.url") from None
        return cls(url, unquote(parts.username or ""), parts.hostname or "localhost", port,
                   unquote(parts.path.lstrip("/")) or unquote(parts.username or ""))

    @property
    def where(self) -> str:
        user = f"{self.user}@" if self.user else ""
        return f"postgresql://{user}{self.host}:{self.port}/{self.database}"


def _lock_key(name: str) -> int:
    """The advisory lock key of a state name: 64 bits of its SHA-256, signed as PostgreSQL wants."""
    return int.from_bytes(hashlib.sha256(b"reconciler-state:" + name.encode()).digest()[:8], "big", signed=True)


def _oids(key: int) -> tuple[int, int]:
    # pg_locks shows a bigint advisory key as classid (high 32 bits), objid (low 32 bits), objsubid 1.
    unsigned = key & 0xFFFFFFFFFFFFFFFF
    return unsigned >> 32, unsigned & 0xFFFFFFFF


def _psycopg() -> Any:
    try:
        import psycopg
    except ImportError as exc:  # pragma: no cover - a dependency of the package
        raise DiagnosticError.single("the postgres state backend needs psycopg 3: pip install 'psycopg[binary]'") \
            from exc
    return psycopg


def _db_error(target: PgTarget, exc: Exception, doing: str) -> DiagnosticError:
    text = redact.redact(str(exc).strip()) or type(exc).__name__
    hint = ""
    low = text.lower()
    if "password authentication failed" in low or "no password supplied" in low:
        hint = "Check the user and password of RECONCILER_STATE_URL (or the variable state.url names)."
    elif "does not exist" in low and "database" in low:
        hint = f"Create the database first: createdb -h {target.host} -p {target.port} {target.database}"
    elif "connection refused" in low or "timeout" in low or "could not translate" in low:
        hint = "Is the server running and reachable from here?"
    return DiagnosticError.single(f"PostgreSQL state backend {target.where}: cannot {doing}: {text}",
                                  detail=hint)


class PostgresStore:
    """The state `name` in the database at `url`; the same methods as the local `StateStore`."""

    kind = "postgres"

    def __init__(self, url: str, name: str, *, unlock_args: str = "") -> None:
        self.target = PgTarget.parse(url)
        self.name = name
        self.unlock_args = unlock_args
        self.recovered = 0
        self._conn: Any = None
        self._mutex = threading.RLock()
        self._base: tuple[str, int] | None = None
        self._seen_seq = 0
        """The newest journal row this run has read or written (a write deletes up to it)."""
        self._fence: str | None = None
        """The lock ID this run holds; every write checks the lock row still carries it."""
        self._journal: PgJournal | None = None
        self._ready = False

    # -- connection --------------------------------------------------------------------------

    @property
    def location(self) -> str:
        return f"{self.target.where} (state {self.name})"

    def describe(self) -> dict[str, Any]:
        return {"backend": "postgres", "name": self.name, "host": self.target.host, "port": self.target.port,
                "database": self.target.database}

    def connect(self) -> Any:
        psycopg = _psycopg()
        try:
            # TCP keepalives: a lock connection idle through a long apply is kept open, and a dead
            # peer is noticed instead of hanging.
            return psycopg.connect(self.target.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT,
                                   application_name="reconciler", keepalives=1, keepalives_idle=30,
                                   keepalives_interval=10, keepalives_count=3)
        except psycopg.Error as exc:
            raise _db_error(self.target, exc, "connect") from None

    @contextmanager
    def _tx(self, doing: str) -> Iterator[Any]:
        """A transaction on the data connection; database errors become clear diagnostics."""
        psycopg = _psycopg()
        with self._mutex:
            if self._conn is None or self._conn.closed:
                self._conn = self.connect()
            try:
                if not self._ready:
                    self._ensure_schema(self._conn)
                with self._conn.transaction(), self._conn.cursor() as cur:
                    yield cur
            except psycopg.OperationalError as exc:
                raise _db_error(self.target, exc, doing) from None
            except psycopg.Error as exc:
                raise _db_error(self.target, exc, doing) from None

    def _ensure_schema(self, conn: Any) -> None:
        with conn.transaction(), conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK_KEY,))
            cur.execute("SELECT to_regclass('reconciler_schema') IS NOT NULL")
            if cur.fetchone()[0]:
                cur.execute("SELECT version FROM reconciler_schema WHERE id = 1")
                row = cur.fetchone()
                if row is not None and row[0] > SCHEMA_VERSION:
                    raise DiagnosticError.single(
                        f"PostgreSQL state backend {self.target.where}: its tables have layout version {row[0]}, "
                        f"this reconciler knows up to {SCHEMA_VERSION}",
                        detail="Use the newer reconciler that upgraded them.")
                if row is not None and row[0] == SCHEMA_VERSION:
                    self._ready = True
                    return
            cur.execute(_DDL)
            cur.execute("INSERT INTO reconciler_schema (id, version) VALUES (1, %s) "
                        "ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version", (SCHEMA_VERSION,))
        self._ready = True

    # -- reading -----------------------------------------------------------------------------

    def exists(self) -> bool:
        with self._tx("read the state") as cur:
            cur.execute("SELECT 1 FROM reconciler_states WHERE name = %s", (self.name,))
            return cur.fetchone() is not None

    def peek(self) -> State:
        return self.load()

    def load(self) -> State:
        """The state row (or a new empty state) plus the journal rows of an interrupted apply."""
        with self._tx("read the state") as cur:
            # One snapshot for the state row and its journal rows (a write changes both at once).
            cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            cur.execute("SELECT lineage, serial, data FROM reconciler_states WHERE name = %s", (self.name,))
            row = cur.fetchone()
            cur.execute("SELECT seq, lineage, base_serial, entries FROM reconciler_journal WHERE name = %s "
                        "ORDER BY seq", (self.name,))
            rows = cur.fetchall()
        state = State() if row is None else fileformat.loads(bytes(row[2]), self.location)
        disk_serial = state.serial
        self.recovered = 0
        entries: list[Entry] = []
        for seq, lineage, base, text in rows:
            self._seen_seq = max(self._seen_seq, seq)
            if row is None and base == disk_serial and not entries:
                state.lineage = lineage  # the first apply on a fresh state was interrupted: keep its lineage
            if lineage != state.lineage:
                raise DiagnosticError.single(
                    f"the journal of {self.location} belongs to another state (lineage {lineage}, this state's "
                    f"is {state.lineage})",
                    detail="Delete its rows (DELETE FROM reconciler_journal WHERE name = ...) if they are not needed.")
            if base == disk_serial:
                entries += json.loads(text)
            elif base > disk_serial:
                raise DiagnosticError.single(
                    f"the journal of {self.location} extends serial {base} but the state is at serial {disk_serial}; "
                    "was the state row replaced by an older copy?")
        if entries:
            apply_entries(state, entries)
            state.serial = disk_serial + 1
            self.recovered = len(entries)
        self._base = (state.lineage, disk_serial)
        return state

    # -- writing -----------------------------------------------------------------------------

    def _check_fence(self, cur: Any) -> bool:
        if self._fence is None:
            return True
        cur.execute("SELECT id FROM reconciler_locks WHERE name = %s FOR SHARE", (self.name,))
        held = cur.fetchone()
        return held is not None and held[0] == self._fence

    def _lost(self) -> DiagnosticError:
        return DiagnosticError.single(
            f"the lock of {self.location} was taken away (force-unlock) while this run held it; stopping",
            detail="Everything finished so far is recorded in the state's journal. Run plan again.")

    def write(self, state: State) -> State:
        """Persist `state` (which includes every journaled record) as serial + 1, if the state is
        still at the serial this run read (compare-and-set)."""
        if self._base is None:
            self.load_base()
        assert self._base is not None
        expected = self._base[1]
        new_serial = state.serial + 1
        self._put(state.model_copy(update={"serial": new_serial}), expected)
        state.serial = new_serial
        return state

    def load_base(self) -> None:
        with self._tx("read the state") as cur:
            cur.execute("SELECT lineage, serial FROM reconciler_states WHERE name = %s", (self.name,))
            row = cur.fetchone()
        self._base = (row[0], row[1]) if row else None
        if self._base is None:
            self._base = ("", 0)

    def write_copy(self, state: State) -> State:
        """Persist `state` with its own lineage and serial (a copy from another backend), whatever is
        stored now; `state migrate` checks the lineages first. Refuses (DiagnosticError, nothing
        written) while journal rows hold records not folded into the stored state yet."""
        self._put(state, None)
        return state

    def _refuse_unfolded(self, cur: Any, row: tuple[str, int] | None) -> None:
        """For a copy: stop if journal rows extend the stored state (or a state never written); rows
        already folded in (same lineage, an older serial) are deleted with the write."""
        cur.execute("SELECT seq, lineage, base_serial, entries FROM reconciler_journal WHERE name = %s", (self.name,))
        unfolded = 0
        for seq, lineage, base, text in cur.fetchall():
            self._seen_seq = max(self._seen_seq, seq)
            if row is None or lineage != row[0] or base >= row[1]:
                unfolded += len(json.loads(text))
        if unfolded:
            raise unfolded_refusal(self.location, unfolded)

    def _put(self, state: State, expected: int | None) -> None:
        data = fileformat.dumps(state)
        with self._tx("write the state") as cur:
            if not self._check_fence(cur):
                raise self._lost()
            cur.execute("SELECT lineage, serial FROM reconciler_states WHERE name = %s FOR UPDATE", (self.name,))
            row = cur.fetchone()
            if expected is None:
                self._refuse_unfolded(cur, row)
            else:
                found = row[1] if row else 0
                if row is not None and row[0] != state.lineage:
                    raise DiagnosticError.single(f"refusing to overwrite {self.location}: it holds another state "
                                                 f"(lineage {row[0]}, this one is {state.lineage})")
                if found != expected:
                    raise DiagnosticError.single(
                        f"the state {self.location} moved while this run used it: serial {expected} expected, "
                        f"{found} found",
                        detail="Another run wrote it. Nothing of this write was stored; run plan again to see "
                               "what the platforms hold now.")
            if row is None:
                cur.execute("INSERT INTO reconciler_states (name, lineage, serial, format, data, updated_by) "
                            "VALUES (%s, %s, %s, %s, %s, %s)",
                            (self.name, state.lineage, state.serial, state.version, data, who()))
            else:
                cur.execute("UPDATE reconciler_states SET lineage = %s, serial = %s, format = %s, data = %s, "
                            "updated_at = now(), updated_by = %s WHERE name = %s",
                            (state.lineage, state.serial, state.version, data, who(), self.name))
            # The journal rows this run knows of are now part of the state, in this same transaction.
            cur.execute("DELETE FROM reconciler_journal WHERE name = %s AND seq <= %s",
                        (self.name, self._seen_seq))
        self._base = (state.lineage, state.serial)

    # -- journal -----------------------------------------------------------------------------

    def journal(self) -> PgJournal:
        if self._base is None:
            self.load()
        if self._journal is None:
            self._journal = PgJournal(self)
        return self._journal

    def record(self, entries: list[Entry]) -> None:
        assert self._base is not None
        lineage, base = self._base
        text = json.dumps(entries, sort_keys=True, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        with self._tx("record a finished change") as cur:
            cur.execute("INSERT INTO reconciler_journal (name, lineage, base_serial, entries) "
                        "VALUES (%s, %s, %s, %s) RETURNING seq", (self.name, lineage, base, text))
            self._seen_seq = max(self._seen_seq, cur.fetchone()[0])
            fenced = self._check_fence(cur)
        if not fenced:
            raise self._lost()  # the record is kept; nothing more is sent

    # -- lock --------------------------------------------------------------------------------

    def lock(self, operation: str, timeout: float = 0.0) -> PgLockHandle:
        return PgLockHandle(self, operation, timeout)

    def _holder_pid(self, cur: Any) -> int | None:
        classid, objid = _oids(_lock_key(self.name))
        cur.execute("SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = %s::oid "
                    "AND objid = %s::oid AND objsubid = 1", (classid, objid))
        row = cur.fetchone()
        return int(row[0]) if row else None

    def _lock_row(self, cur: Any) -> tuple[LockInfo, int] | None:
        cur.execute("SELECT id, operation, who, pid, created, version, path, backend_pid FROM reconciler_locks "
                    "WHERE name = %s", (self.name,))
        row = cur.fetchone()
        if row is None:
            return None
        return LockInfo(row[0], row[1], row[2], row[3], row[4], row[5], row[6]), int(row[7])

    def lock_holder(self) -> LockInfo | None:
        """Who holds the lock now (a row whose session has ended does not count)."""
        with self._tx("read the lock") as cur:
            if self._holder_pid(cur) is None:
                return None
            found = self._lock_row(cur)
        return found[0] if found else LockInfo("", "unknown", "unknown", 0, "", "", self.location)

    def force_unlock(self, lock_id: str) -> tuple[LockInfo, bool]:
        """Release the lock `lock_id`: (what it was, whether its session was still connected).

        A lock whose session has ended only leaves its row, which is removed. A session still
        connected (a hung run, a laptop whose connection has not timed out) is terminated with
        pg_terminate_backend; the run it belongs to finds its lock row gone at its next write,
        records what it finished and stops.
        """
        with self._tx("release the lock") as cur:
            found = self._lock_row(cur)
            holder = self._holder_pid(cur)
            if found is None:
                if holder is None:
                    raise DiagnosticError.single(f"the state {self.location} is not locked")
                raise DiagnosticError.single(
                    f"the state {self.location} is locked by PostgreSQL session {holder}, which has not said who "
                    "it is; retry in a moment")
            info, backend_pid = found
            if info.id != lock_id:
                raise DiagnosticError.single(
                    f"lock ID {lock_id} does not match the lock on {self.location}",
                    detail=f"The current lock is:\n{info.describe()}\n"
                           "Check the ID printed in the lock error and run force-unlock with it.")
            alive = holder is not None and holder == backend_pid
            if alive:
                cur.execute("SELECT pg_terminate_backend(%s)", (backend_pid,))
                if not cur.fetchone()[0]:
                    raise DiagnosticError.single(
                        f"could not end PostgreSQL session {backend_pid} holding the lock",
                        detail="Ask the database administrator to run: SELECT pg_terminate_backend("
                               f"{backend_pid});")
            cur.execute("DELETE FROM reconciler_locks WHERE name = %s AND id = %s", (self.name, lock_id))
        if alive:
            # The advisory lock goes with the session, which ends asynchronously: wait for it (bounded).
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                with self._tx("release the lock") as cur:
                    if self._holder_pid(cur) != backend_pid:
                        break
                time.sleep(0.05)
        return info, alive

    def close(self) -> None:
        with self._mutex:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


class PgJournal:
    """The journal handle an apply records into: one row, one transaction per batch of records."""

    def __init__(self, store: PostgresStore) -> None:
        self.store = store

    def record_many(self, entries: Iterable[Entry]) -> None:
        batch = list(entries)
        for e in batch:
            if e.get("op") not in OPS:
                raise ValueError(f"unknown journal op {e.get('op')!r}")
        if batch:
            self.store.record(batch)

    def record(self, entry: Entry) -> None:
        self.record_many([entry])

    def close(self) -> None:
        pass


@dataclass
class PgLockHandle:
    """The advisory lock of one state, on its own connection, with its row in reconciler_locks."""

    store: PostgresStore
    operation: str
    timeout: float = 0.0
    info: LockInfo | None = None
    warnings: list[Diagnostic] = field(default_factory=list)
    held: bool = False
    waited: float = 0.0
    _conn: Any = None

    @property
    def lock_id(self) -> str:
        if self.info is None:
            raise RuntimeError("lock never acquired")
        return self.info.id

    def acquire(self) -> PgLockHandle:
        if self.held:
            raise RuntimeError("lock already held by this handle")
        store = self.store
        store.exists()  # the tables exist before anything reads them
        conn = store.connect()
        key = _lock_key(store.name)
        psycopg = _psycopg()

        def attempt() -> bool | None:
            with conn.cursor() as cur:
                cur.execute("SELECT pg_try_advisory_lock(%s)", (key,))
                return True if cur.fetchone()[0] else None

        def busy(waited: float) -> LockError:
            with store._tx("read the lock") as cur:
                found = store._lock_row(cur)
            if found is None:
                return LockError.busy(store.location, waited)
            return LockError.held(found[0], store.location, store.unlock_args, waited)

        start = time.monotonic()
        try:
            wait_for(attempt, self.timeout, busy)
            self.waited = time.monotonic() - start
            mine = LockInfo.new(self.operation, store.location)
            with conn.transaction(), conn.cursor() as cur:
                cur.execute("SELECT id, operation, who, pid, created FROM reconciler_locks WHERE name = %s "
                            "FOR UPDATE", (store.name,))
                left = cur.fetchone()
                cur.execute(
                    "INSERT INTO reconciler_locks (name, id, operation, who, pid, created, version, path, backend_pid)"
                    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, pg_backend_pid()) ON CONFLICT (name) DO UPDATE SET "
                    "id = EXCLUDED.id, operation = EXCLUDED.operation, who = EXCLUDED.who, pid = EXCLUDED.pid, "
                    "created = EXCLUDED.created, version = EXCLUDED.version, path = EXCLUDED.path, "
                    "backend_pid = EXCLUDED.backend_pid",
                    (store.name, mine.id, mine.operation, mine.who, mine.pid, mine.created, mine.version, mine.path))
        except psycopg.Error as exc:
            conn.close()
            raise _db_error(store.target, exc, "take the lock") from None
        except BaseException:
            conn.close()
            raise
        if left is not None:
            self.warnings.append(Diagnostic.warning(
                f"the previous {left[1]} by {left[2]} (pid {left[3]}, since {left[4]}) was interrupted and is "
                "no longer connected",
                detail=f"Its lock ID was {left[0]}. Its finished writes are in the journal and are picked up by "
                       "this run."))
        self._conn, self.info, self.held = conn, mine, True
        store._fence = mine.id
        return self

    def release(self) -> None:
        if not self.held or self.info is None:
            return
        psycopg = _psycopg()
        try:
            with self._conn.transaction(), self._conn.cursor() as cur:
                cur.execute("DELETE FROM reconciler_locks WHERE name = %s AND id = %s",
                            (self.store.name, self.info.id))
                cur.execute("SELECT pg_advisory_unlock(%s)", (_lock_key(self.store.name),))
        except psycopg.Error:
            pass  # the session is gone (terminated by force-unlock): PostgreSQL already released the lock
        finally:
            self._conn.close()
            self._conn = None
            self.held = False
            self.store._fence = None

    def __enter__(self) -> PgLockHandle:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
