"""The store's core, which the rest of ``store/`` builds on: a store file opened (checked, or
created, or migrated), its connection and pragmas, its transactions and reads, and the one place
that talks to ``sqlite3`` about failure: every store operation runs inside
:func:`storage_errors`, which turns SQLite's errors (and numbers it cannot hold) into a
:class:`~lstm_sweep.errors.StoreError` that names the store, what was being done, the way out,
and the kind of failure (:class:`~lstm_sweep.errors.StoreReason`, from SQLite's result code).

:class:`StoreFile` is what :mod:`.claims` and :mod:`.check` work on; :class:`.store.Store` adds
saving and reading trials to it."""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from ..errors import StoreError, StoreReason
from .files import check_regular, cut_short, wal_of
from .schema import APPLICATION_ID, CLAIMS, MIGRATIONS, REBUILDS, RUNGS, SCHEMA, SCHEMA_VERSION, TABLES

log = logging.getLogger(__name__)

# SQLite's primary result codes (https://www.sqlite.org/rescode.html): an extended code keeps its
# primary one in the low byte.
BUSY, LOCKED, READONLY, IOERR, CORRUPT, FULL, NOTADB = 5, 6, 8, 10, 11, 13, 26
_REASONS = {
    BUSY: StoreReason.BUSY,
    LOCKED: StoreReason.BUSY,
    READONLY: StoreReason.READ_ONLY,
    IOERR: StoreReason.FULL,
    FULL: StoreReason.FULL,
    CORRUPT: StoreReason.DAMAGED,
    NOTADB: StoreReason.DAMAGED,
}
# Python 3.10's sqlite3 gives no code: its message is all there is (SQLite's own words)
_WORDS = (
    ("locked", BUSY),
    ("readonly", READONLY),
    ("read-only", READONLY),
    ("disk is full", FULL),
    ("disk i/o", IOERR),
    ("malformed", CORRUPT),
    ("not a database", NOTADB),
)
_HINTS = {
    StoreReason.READ_ONLY: "; the store or its folder is read-only: copy it somewhere writable, "
    "or read it with table/report/check",
    StoreReason.FULL: "; the disk is full (or failing): free space and run the same command "
    "again (the trials stored so far are kept)",
    StoreReason.DAMAGED: "; the file is damaged: `check_store(FILE)` tells what is wrong",
    StoreReason.REFUSED: "; a number is out of the store's range",
}


def sqlite_code(e: BaseException) -> int | None:
    """SQLite's primary result code of error ``e`` (None: not an error SQLite reported)."""
    code = getattr(e, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF
    if isinstance(e, sqlite3.Error):
        text = str(e).lower()
        return next((c for words, c in _WORDS if words in text), None)
    return None


def reason_of(e: BaseException) -> StoreReason:
    """The kind of failure an error of SQLite's (or a number it cannot hold) is."""
    if isinstance(e, OverflowError):
        return StoreReason.REFUSED
    code = sqlite_code(e)
    return StoreReason.OTHER if code is None else _REASONS.get(code, StoreReason.OTHER)


def hint(e: BaseException) -> str:
    """What a user can do about an SQLite error, as a clause to append (or nothing)."""
    return _HINTS.get(reason_of(e), "")


@contextmanager
def storage_errors(path: Path, doing: str) -> Iterator[None]:
    """Run a block of store work; an SQLite error becomes ``StoreError("<path>: cannot
    <doing> (<error>); <hint>")`` with its :class:`~lstm_sweep.errors.StoreReason`.

    Raises:
        StoreError: from any ``sqlite3.Error`` or ``OverflowError`` inside the block.
    """
    try:
        yield
    except (sqlite3.Error, OverflowError) as e:
        raise StoreError(f"{path}: cannot {doing} ({e}){hint(e)}", reason_of(e)) from e


def first(conn: sqlite3.Connection, sql: str, params: tuple = ()) -> tuple | None:
    """The first row of a query, or None; every row is read, so that no statement stays active.

    (A statement stepped but not finished keeps its read transaction open, even in autocommit
    mode: that connection then reads an old snapshot of the store, and sees no other driver's
    heartbeat or result, for as long as the statement lives.)"""
    rows = conn.execute(sql, params).fetchall()
    return rows[0] if rows else None


def only(conn: sqlite3.Connection, sql: str, params: tuple = ()) -> tuple:
    """The row of a query that always has one; where a damaged store lacks it, the
    ``sqlite3.DatabaseError`` a damaged file gives."""
    row = first(conn, sql, params)
    if row is None:
        raise sqlite3.DatabaseError(f"no row for {sql!r}")
    return row


def row_error(what: str, key: object) -> str:
    """A problem of trial ``key``'s row, as readers and ``check`` word it."""
    return f"trial {str(key)[:40]!s}: {what}"


def damaged(path: Path, what: str) -> StoreError:
    """The error for a store damaged by ``what`` (a readable problem, as ``check`` lists it)."""
    return StoreError(
        f"{path}: damaged store: {what}; `check_store({path})` lists every problem", StoreReason.DAMAGED
    )


_S = TypeVar("_S", bound="StoreFile")


class StoreFile:
    """An lstm-sweep store file at ``path``, open: its connection, transactions and reads.

    Args:
        path: the database file.
        readonly: open for reading only: the file must exist, and nothing is written (not even
            SQLite's ``-wal``/``-shm`` files where the store has none).

    Raises:
        StoreError: the file is not a regular file or not an lstm-sweep store, has a newer or a
            damaged schema, or cannot be opened.
    """

    def __init__(self, path: str | Path, *, readonly: bool = False):
        if not isinstance(path, (str, os.PathLike)) or not str(path):
            raise StoreError(f"a store is a file path, not {path!r:.40}", StoreReason.BAD_PATH)
        self.path = Path(path)
        self.readonly = readonly
        self._immutable = False
        self._conn: sqlite3.Connection | None = None
        exists = check_regular(self.path, must_exist=readonly)
        # (whether it is an SQLite file at all, SQLite itself says when it reads the header:
        # this process never opens the store's file but through SQLite, see files.cut_short)
        if not readonly:
            where = self.path if exists else self.path.parent
            if not os.access(where, os.W_OK) or (exists and not os.access(self.path.parent, os.W_OK)):
                raise StoreError(
                    f"{self.path}: the store or its folder is read-only (SQLite "
                    "writes its journal beside the store); copy it to a writable "
                    "folder and pass store= there. table, report and check can read "
                    "it where it is",
                    StoreReason.READ_ONLY,
                )
        try:
            with storage_errors(self.path, "open the results store"):
                try:
                    self._open(readonly)
                except sqlite3.DatabaseError as e:
                    if sqlite_code(e) == NOTADB:
                        raise StoreError(
                            f"{self.path} is not an SQLite database; pass store= with another file name",
                            StoreReason.NOT_A_STORE,
                        ) from None
                    raise
        except BaseException:
            self._close_quietly()
            raise

    # ------------------------------------------------------------------ opening

    def _open(self, readonly: bool, patience: float = 30.0) -> None:
        """Connect and check (or create, or migrate) the schema. Two drivers creating one store
        at the same moment can meet SQLITE_BUSY where SQLite calls no busy handler (switching the
        journal to WAL): then wait a little and open again, for up to ``patience`` seconds."""
        give_up = time.monotonic() + patience
        delay = 0.05
        while True:
            try:
                if readonly:
                    self._conn = self._connect_readonly()
                else:
                    self._conn = sqlite3.connect(self.path, isolation_level=None, timeout=30.0)
                    self._conn.execute("PRAGMA busy_timeout = 30000").fetchall()
                self._conn.execute("PRAGMA foreign_keys = ON").fetchall()
                self.schema_version = self._check_and_init(readonly)
                return
            except sqlite3.OperationalError as e:
                if sqlite_code(e) not in (BUSY, LOCKED) or time.monotonic() > give_up:
                    raise
                self._close_quietly()
                time.sleep(delay)
                delay = min(delay * 2, 1.0)

    def _close_quietly(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _connect_readonly(self) -> sqlite3.Connection:
        """Read without writing: ``immutable`` where no writer left a ``-wal`` file (then SQLite
        creates nothing), else a read-only WAL connection (the writer's files exist already).
        On read-only media with a ``-wal`` left behind, the ``immutable`` view is the fallback
        (trials only in the ``-wal`` are then not seen, and a warning says so)."""
        uri = self.path.resolve().as_uri()
        if not wal_of(self.path).exists():
            self._immutable = True
            return sqlite3.connect(f"{uri}?mode=ro&immutable=1", uri=True, isolation_level=None)
        self._immutable = False
        conn = sqlite3.connect(f"{uri}?mode=ro", uri=True, isolation_level=None)
        try:
            conn.execute("PRAGMA busy_timeout = 30000").fetchall()
            conn.execute("SELECT count(*) FROM sqlite_master").fetchall()
            return conn
        except sqlite3.OperationalError as e:
            conn.close()
            log.warning(
                "%s: cannot read its -wal file (%s); showing the trials in the main file only", self.path, e
            )
            self._immutable = True
            return sqlite3.connect(f"{uri}?mode=ro&immutable=1", uri=True, isolation_level=None)

    def _identity(self, begin: str = "BEGIN") -> tuple[int, set[str], int | None]:
        """(application id, tables, schema version or None) read in one transaction, so that a
        store another driver is creating at this moment is seen either empty or whole. With
        ``BEGIN IMMEDIATE`` the transaction stays open (holding the write lock) for the caller to
        create the schema in and commit."""
        conn = self.connection
        conn.execute(begin)
        try:
            (app_id,) = only(conn, "PRAGMA application_id")
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if app_id != APPLICATION_ID and tables:
                raise StoreError(
                    f"{self.path} is an SQLite file of another program, not an "
                    "lstm-sweep store; pass store= with another file name",
                    StoreReason.NOT_A_STORE,
                )
            version = self._schema_version(tables) if app_id == APPLICATION_ID else None
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        if begin == "BEGIN":
            conn.execute("COMMIT")
        return app_id, tables, version

    def _check_and_init(self, readonly: bool) -> int:
        conn = self.connection
        app_id, _, version = self._identity()
        if readonly:
            if version is None:
                raise StoreError(
                    f"{self.path} holds no lstm-sweep results yet; run "
                    "`lstm-sweep run` first or pass store= with the right file",
                    StoreReason.NOT_A_STORE,
                )
            return version
        if version is None:  # a new store: create it, unless another driver just did
            app_id, _, version = self._identity("BEGIN IMMEDIATE")  # holds the write lock
            try:
                if version is None:
                    for statement in [*SCHEMA.split(";"), CLAIMS, RUNGS]:
                        if statement.strip():
                            conn.execute(statement)
                    conn.execute(
                        "INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
                    )
                    conn.execute("INSERT OR REPLACE INTO meta VALUES ('created_at', ?)", (str(time.time()),))
                    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}").fetchall()
                    version = SCHEMA_VERSION
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        conn.execute("PRAGMA journal_mode = WAL").fetchall()
        conn.execute("PRAGMA synchronous = NORMAL").fetchall()
        if version < SCHEMA_VERSION:
            self._migrate(version)
        elif not {"claims", "rungs"} <= self.tables():  # dropped by hand: made again
            with self.transaction("recreate the claims and rungs tables") as c:
                c.execute(CLAIMS)
                c.execute(RUNGS)
        return SCHEMA_VERSION

    def _schema_version(self, tables: set[str]) -> int:
        missing = [t for t in TABLES if t not in tables]
        if missing:
            raise StoreError(
                f"{self.path}: damaged store: table {', '.join(missing)} is missing; "
                f"`check_store({self.path})` lists what is wrong",
                StoreReason.DAMAGED,
            )
        row = first(self.connection, "SELECT value FROM meta WHERE name = 'schema_version'")
        if row is None:
            raise StoreError(
                f"{self.path}: damaged store: it has no schema version (meta table "
                f"edited?); `check_store({self.path})` lists what is wrong",
                StoreReason.DAMAGED,
            )
        try:
            version = int(str(row[0]).strip())
        except ValueError:
            raise StoreError(
                f"{self.path}: damaged store: schema version {row[0]!r:.30} is not a number",
                StoreReason.DAMAGED,
            ) from None
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} has schema version {version}; this lstm-sweep "
                f"reads up to {SCHEMA_VERSION}. Upgrade lstm-sweep",
                StoreReason.NEWER,
            )
        if version < 1:
            raise StoreError(f"{self.path}: damaged store: schema version {version}", StoreReason.DAMAGED)
        return version

    def _migrate(self, version: int) -> None:
        """Bring a store of an older schema up to :data:`SCHEMA_VERSION`, in one transaction."""
        rebuild = any(t in REBUILDS for t in range(version + 1, SCHEMA_VERSION + 1))
        if rebuild:  # outside any transaction, as SQLite requires
            self.connection.execute("PRAGMA foreign_keys = OFF").fetchall()
        try:
            with self.transaction("migrate the store") as conn:
                (now,) = only(conn, "SELECT value FROM meta WHERE name = 'schema_version'")
                if int(now) >= SCHEMA_VERSION:  # another driver migrated it meanwhile
                    return
                for target in range(int(now) + 1, SCHEMA_VERSION + 1):
                    for statement in MIGRATIONS[target]:
                        conn.execute(statement)
                if rebuild and conn.execute("PRAGMA foreign_key_check").fetchall():
                    raise StoreError(
                        f"{self.path}: damaged store: curves of trials that do not "
                        f"exist; `check_store({self.path})` lists them",
                        StoreReason.DAMAGED,
                    )
                conn.execute(
                    "UPDATE meta SET value = ? WHERE name = 'schema_version'", (str(SCHEMA_VERSION),)
                )
        finally:
            if rebuild:
                self.connection.execute("PRAGMA foreign_keys = ON").fetchall()
        log.info("%s: migrated the store from schema %d to %d", self.path, version, SCHEMA_VERSION)

    # ------------------------------------------------------------------ SQL, in one place

    @property
    def connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError(f"{self.path}: the store is closed", StoreReason.CLOSED)
        return self._conn

    @contextmanager
    def transaction(self, doing: str) -> Iterator[sqlite3.Connection]:
        """One write transaction (``BEGIN IMMEDIATE``: the write lock first), committed at the
        end of the block and rolled back if it raises; SQLite's errors become StoreError."""
        with storage_errors(self.path, doing):
            conn = self.connection
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            else:
                conn.execute("COMMIT")

    def query(self, sql: str, params: Iterable = (), *, doing: str = "read the results store") -> list[tuple]:
        """Every row of a read; SQLite's errors become StoreError."""
        with storage_errors(self.path, doing):
            rows = self.connection.execute(sql, tuple(params)).fetchall()
            if self._immutable and wal_of(self.path).exists():
                # a writer started while we read the file as immutable: read through its WAL
                self.connection.close()
                self._conn = self._connect_readonly()
                rows = self.connection.execute(sql, tuple(params)).fetchall()
            return rows

    def tables(self) -> set[str]:
        return {name for (name,) in self.query("SELECT name FROM sqlite_master WHERE type='table'")}

    def has_table(self, name: str) -> bool:
        return name in self.tables()

    def columns_of(self, table: str) -> set[str]:
        """The columns of ``table`` (empty: there is no such table)."""
        return {r[1] for r in self.query(f"PRAGMA table_info({table})")}

    def _bad_row(self, what: str) -> StoreError:
        return damaged(self.path, what)

    def _refuse_if_cut(self) -> None:
        """A file cut short may read without an SQLite error yet miss trials: refuse it."""
        problems = cut_short(self.path, self.connection)
        if problems:
            raise self._bad_row(problems[0])

    def close(self) -> None:
        self._close_quietly()

    def __enter__(self: _S) -> _S:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
