"""The :class:`Store`: opening a store (or creating, or migrating it), saving trials and reading
them back. Its claims live in :mod:`.claims`, its checks in :mod:`.check`, its schema in
:mod:`.schema`, what its path may be in :mod:`.files`; every SQLite error passes through
:func:`.sqlite.storage_errors`."""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from ..errors import StoreError
from ..study.config import TrialConfig
from ..study.results import CurvePoint, Status, TrialResult
from . import check as checks
from . import claims as claiming
from .claims import Claim, Driver
from .files import check_regular, cut_short, wal_of
from .schema import (
    APPLICATION_ID,
    CLAIMS,
    COLUMNS,
    DATASET_META,
    MIGRATIONS,
    PLAN_META,
    REBUILDS,
    RUNGS,
    SCHEMA,
    SCHEMA_VERSION,
    TABLES,
    TRIAL_COLUMNS,
    curve_point,
    fingerprint_from_row,
    load_json,
    plan_from_row,
    result_from_row,
    rung_from_row,
)
from .sqlite import first, storage_errors

log = logging.getLogger(__name__)


_RESULT_ORDER = "ORDER BY hidden, lr, seed, key"  # results: by width, rate, seed


class Store:
    """The SQLite results store at ``path``.

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
            raise StoreError(f"a store is a file path, not {path!r:.40}")
        self.path = Path(path)
        self.readonly = readonly
        self._immutable = False
        self._conn: sqlite3.Connection | None = None
        exists = check_regular(self.path, must_exist=readonly)
        # (whether it is an SQLite file at all, SQLite itself says when it reads the header:
        # this process never opens the store's file but through SQLite, see files.cut_short)
        if not readonly:
            where = self.path if exists else self.path.parent
            if not os.access(where, os.W_OK) or (exists and not os.access(self.path.parent,
                                                                          os.W_OK)):
                raise StoreError(f"{self.path}: the store or its folder is read-only (SQLite "
                                 "writes its journal beside the store); copy it to a writable "
                                 "folder and pass --db there. table, report and check can read "
                                 "it where it is")
        try:
            with storage_errors(self.path, "open the results store"):
                try:
                    self._open(readonly)
                except sqlite3.DatabaseError as e:
                    if "not a database" in str(e):
                        raise StoreError(f"{self.path} is not an SQLite database; pass --db "
                                         "with another file name") from None
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
                if "locked" not in str(e) or time.monotonic() > give_up:
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
            log.warning("%s: cannot read its -wal file (%s); showing the trials in the main file "
                        "only", self.path, e)
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
            (app_id,) = first(conn, "PRAGMA application_id")
            tables = {r[0] for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type='table'")}
            if app_id != APPLICATION_ID and tables:
                raise StoreError(f"{self.path} is an SQLite file of another program, not an "
                                 "lstm-sweep store; pass --db with another file name")
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
                raise StoreError(f"{self.path} holds no lstm-sweep results yet; run "
                                 "`lstm-sweep run` first or pass --db with the right file")
            return version
        if version is None:  # a new store: create it, unless another driver just did
            app_id, _, version = self._identity("BEGIN IMMEDIATE")  # holds the write lock
            try:
                if version is None:
                    for statement in [*SCHEMA.split(";"), CLAIMS, RUNGS]:
                        if statement.strip():
                            conn.execute(statement)
                    conn.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)",
                                 (str(SCHEMA_VERSION),))
                    conn.execute("INSERT OR REPLACE INTO meta VALUES ('created_at', ?)",
                                 (str(time.time()),))
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
            raise StoreError(f"{self.path}: damaged store: table {', '.join(missing)} is missing; "
                             f"`lstm-sweep check --db {self.path}` lists what is wrong")
        row = first(self.connection, "SELECT value FROM meta WHERE name = 'schema_version'")
        if row is None:
            raise StoreError(f"{self.path}: damaged store: it has no schema version (meta table "
                             f"edited?); `lstm-sweep check --db {self.path}` lists what is wrong")
        try:
            version = int(str(row[0]).strip())
        except ValueError:
            raise StoreError(f"{self.path}: damaged store: schema version {row[0]!r:.30} is not a "
                             "number") from None
        if version > SCHEMA_VERSION:
            raise StoreError(f"{self.path} has schema version {version}; this lstm-sweep "
                             f"reads up to {SCHEMA_VERSION}. Upgrade lstm-sweep")
        if version < 1:
            raise StoreError(f"{self.path}: damaged store: schema version {version}")
        return version

    def _migrate(self, version: int) -> None:
        """Bring a store of an older schema up to :data:`SCHEMA_VERSION`, in one transaction."""
        rebuild = any(t in REBUILDS for t in range(version + 1, SCHEMA_VERSION + 1))
        if rebuild:  # outside any transaction, as SQLite requires
            self.connection.execute("PRAGMA foreign_keys = OFF").fetchall()
        try:
            with self.transaction("migrate the store") as conn:
                (now,) = first(conn, "SELECT value FROM meta WHERE name = 'schema_version'")
                if int(now) >= SCHEMA_VERSION:  # another driver migrated it meanwhile
                    return
                for target in range(int(now) + 1, SCHEMA_VERSION + 1):
                    for statement in MIGRATIONS[target]:
                        conn.execute(statement)
                if rebuild and conn.execute("PRAGMA foreign_key_check").fetchall():
                    raise StoreError(f"{self.path}: damaged store: curves of trials that do not "
                                     f"exist; `lstm-sweep check --db {self.path}` lists them")
                conn.execute("UPDATE meta SET value = ? WHERE name = 'schema_version'",
                             (str(SCHEMA_VERSION),))
        finally:
            if rebuild:
                self.connection.execute("PRAGMA foreign_keys = ON").fetchall()
        log.info("%s: migrated the store from schema %d to %d", self.path, version,
                 SCHEMA_VERSION)

    # ------------------------------------------------------------------ SQL, in one place

    @property
    def connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError(f"{self.path}: the store is closed")
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

    def query(self, sql: str, params: Iterable = (), *, doing: str = "read the results store"
              ) -> list[tuple]:
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
        return {name for (name,) in self.query(
            "SELECT name FROM sqlite_master WHERE type='table'")}

    def has_table(self, name: str) -> bool:
        return name in self.tables()

    def columns_of(self, table: str) -> set[str]:
        """The columns of ``table`` (empty: there is no such table)."""
        return {r[1] for r in self.query(f"PRAGMA table_info({table})")}

    # ------------------------------------------------------------------ writing

    def save(self, result: TrialResult, environment: dict | None = None,
             driver: Driver | None = None) -> None:
        """Commit ``result`` (and its curve and environment) atomically; same key -> replaced.
        The trial's claim (by ``driver``) ends in the same transaction."""
        if not isinstance(result, TrialResult):
            raise StoreError(f"save takes a TrialResult, not {type(result).__name__}")
        env_id = None
        env_json = None
        if environment is not None:
            env_json = json.dumps(environment, sort_keys=True)
            env_id = hashlib.sha256(env_json.encode()).hexdigest()[:16]
        extra = {"finished_at": time.time(), "env_id": env_id}
        row = tuple(c.value(result, extra) for c in COLUMNS)
        try:  # nothing is committed that a reader would refuse
            result_from_row(dict(zip(TRIAL_COLUMNS, row)))
        except ValueError as e:
            raise StoreError(f"{self.path}: refusing to store trial {row[0][:40]}: {e}") from None
        with self.transaction("save trial") as conn:
            if env_id is not None:
                conn.execute("INSERT OR IGNORE INTO environments VALUES (?, ?)",
                             (env_id, env_json))
            conn.execute("DELETE FROM curves WHERE key = ?", (row[0],))
            conn.execute(
                f"INSERT OR REPLACE INTO trials ({', '.join(TRIAL_COLUMNS)}) "
                f"VALUES ({', '.join('?' * len(TRIAL_COLUMNS))})",
                row,
            )
            conn.executemany(
                "INSERT INTO curves VALUES (?, ?, ?, ?)",
                [(row[0], p.step, p.loss, p.accuracy) for p in result.curve],
            )
            if result.status is Status.PRUNED:  # a search's rung: kept for its replay
                conn.execute("INSERT OR REPLACE INTO rungs VALUES (?, ?, ?)",
                             (row[0], result.steps_done, result.val_accuracy))
            if driver is not None:
                conn.execute("DELETE FROM claims WHERE key = ? AND driver = ?",
                             (row[0], driver.id))

    def dataset_fingerprint(self, name: str) -> str | None:
        """The fingerprint of the data that this store's trials of dataset ``name`` were trained
        on (None: none recorded)."""
        rows = self.query("SELECT value FROM meta WHERE name = ?", (DATASET_META + name,))
        if not rows:
            return None
        try:
            return fingerprint_from_row(DATASET_META + name, rows[0][0])
        except ValueError as e:
            raise self._bad_row(str(e)) from None

    def bind_dataset(self, name: str, fingerprint: str) -> None:
        """Record that dataset ``name`` means the data of ``fingerprint`` in this store, or
        refuse (StoreError) when the store knows it as other data: one name, one dataset."""
        with self.transaction("record the dataset") as conn:
            row = first(conn, "SELECT value FROM meta WHERE name = ?", (DATASET_META + name,))
            if row is None:
                conn.execute("INSERT INTO meta VALUES (?, ?)", (DATASET_META + name, fingerprint))
        if row is not None and row[0] != fingerprint:
            raise StoreError(dataset_mismatch(self.path, name, row[0], fingerprint))

    def record_plan(self, driver: Driver, keys: Sequence[str], pending: int, eta_s: float
                    ) -> None:
        """Record what ``driver`` set out to do (its grid's keys, how many trials it will train,
        its plan's ETA) for the live page: one meta row per driver, ``plan:<driver id>``, kept
        while the driver holds claims and until the next driver records its own."""
        info = json.dumps({"host": driver.host, "pid": driver.pid, "started_at": time.time(),
                           "keys": list(keys), "pending": int(pending),
                           "eta_s": float(eta_s) if math.isfinite(eta_s) else None})
        with self.transaction("record the plan") as conn:
            # the plans of drivers that hold no claim are over (finished, or gone): replaced,
            # so that the table keeps one row per live driver, not one per run ever made
            conn.execute(f"DELETE FROM meta WHERE substr(name, 1, {len(PLAN_META)}) = ? AND "
                         f"substr(name, {len(PLAN_META) + 1}) NOT IN (SELECT driver FROM claims)",
                         (PLAN_META,))
            conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (PLAN_META + driver.id, info))

    def plans(self) -> list[dict]:
        """The plans drivers recorded (:meth:`record_plan`), oldest first; a row that is not
        one (edited by hand, :func:`.schema.plan_from_row` refuses it) is left out, and
        ``check`` reports it."""
        out = []
        for name, info in self.query(
                f"SELECT name, value FROM meta WHERE substr(name, 1, {len(PLAN_META)}) = ?",
                (PLAN_META,)):
            try:
                out.append(plan_from_row(name, info))
            except ValueError:
                continue
        return sorted(out, key=lambda p: p["started_at"])

    # ------------------------------------------------------------------ claims (.claims)

    def claim(self, keys: Sequence[str], driver: Driver, retry: frozenset[Status] = frozenset(),
              timeout: float | None = None) -> list[str]:
        """See :func:`.claims.claim`."""
        return claiming.claim(self, keys, driver, retry, timeout)

    def held_elsewhere(self, keys: Sequence[str], driver: Driver,
                       timeout: float | None = None) -> dict[str, str]:
        """See :func:`.claims.held_elsewhere`."""
        return claiming.held_elsewhere(self, keys, driver, timeout)

    def heartbeat(self, driver: Driver) -> None:
        claiming.beat(self, driver)

    def release(self, driver: Driver) -> None:
        claiming.release(self, driver)

    def claims(self) -> list[Claim]:
        """Every claim (:class:`~lstm_sweep.store.claims.Claim` records)."""
        return claiming.read_claims(self)

    # ------------------------------------------------------------------ reading

    def finished(self, keys: Sequence[str]) -> list[tuple[str, tuple[Status, float]]]:
        """(key, (status, finished_at)) of those of ``keys`` that are stored."""
        wanted = set(keys)
        out = []
        self._refuse_if_cut()
        for key, status, at in self.query("SELECT key, status, finished_at FROM trials"):
            if key in wanted:
                try:
                    out.append((key, (Status(status), at)))
                except ValueError:
                    raise self._bad_row(checks.row_error(f"unknown status {status!r:.30}", key)) \
                        from None
        return out

    def statuses(self) -> dict[str, Status]:
        """Status of every stored trial, by key."""
        return {key: status for key, (status, _) in self.finished(
            [k for (k,) in self.query("SELECT key FROM trials")])}

    def results(self, *, with_curves: bool = False,
                reuse: dict | None = None) -> list[TrialResult]:
        """All stored trials, ordered by hidden size, learning rate, seed.

        ``reuse``: a dict this method keeps between calls on one store (a reader that looks
        again and again, like the live page): rows it has read before (same row id, key and
        finish time) are not read and checked again, only new or replaced ones. Without curves.

        Raises:
            StoreError: naming the store and the first bad row.
        """
        self._refuse_if_cut()
        if reuse is not None and not with_curves:
            return self._results_reusing(reuse)
        rows = self.query(f"SELECT {', '.join(TRIAL_COLUMNS)} FROM trials {_RESULT_ORDER}")
        curves: dict[str, list[CurvePoint]] = {}
        if with_curves:
            for key, step, loss, acc in self.query(
                "SELECT key, step, loss, accuracy FROM curves ORDER BY key, step"
            ):
                try:
                    curves.setdefault(key, []).append(curve_point(step, loss, acc))
                except ValueError as e:
                    raise self._bad_row(checks.row_error(str(e), key)) from None
        out = []
        for r in rows:
            d = dict(zip(TRIAL_COLUMNS, r))
            out.append(self._result(d, tuple(curves.get(d["key"], ()))))
        return out

    def _result(self, d: dict, curve: tuple[CurvePoint, ...] = ()) -> TrialResult:
        """One ``trials`` row (a dict by column) as a result; a bad row names the store."""
        try:
            return result_from_row(d, curve)
        except ValueError as e:
            raise self._bad_row(checks.row_error(str(e), d["key"])) from None

    def _results_reusing(self, reuse: dict) -> list[TrialResult]:
        for _ in range(3):  # a row replaced between the two reads: read again (at most twice)
            ids = self.query(f"SELECT rowid, key, finished_at FROM trials {_RESULT_ORDER}")
            wanted = [i for i in ids if i not in reuse]
            for start in range(0, len(wanted), 500):  # under SQLite's limit of bound parameters
                part = wanted[start:start + 500]
                for r in self.query(f"SELECT rowid, {', '.join(TRIAL_COLUMNS)} FROM trials WHERE "
                                    f"rowid IN ({', '.join('?' * len(part))})",
                                    [rowid for rowid, _, _ in part]):
                    d = dict(zip(TRIAL_COLUMNS, r[1:]))
                    reuse[(r[0], d["key"], d["finished_at"])] = self._result(d)
            if all(i in reuse for i in ids):
                break
        current = set(ids)
        for gone in [i for i in reuse if i not in current]:
            del reuse[gone]
        return [reuse[i] for i in ids if i in reuse]

    def curves(self, keys: Sequence[str]) -> dict[str, list[CurvePoint]]:
        """The stored learning curves of ``keys`` (those that have one), each in step order."""
        out: dict[str, list[CurvePoint]] = {}
        wanted = list(dict.fromkeys(keys))
        for i in range(0, len(wanted), 500):  # under SQLite's limit of bound parameters
            part = wanted[i:i + 500]
            for key, step, loss, acc in self.query(
                    f"SELECT key, step, loss, accuracy FROM curves WHERE key IN "
                    f"({', '.join('?' * len(part))}) ORDER BY key, step", part):
                try:
                    out.setdefault(key, []).append(curve_point(step, loss, acc))
                except ValueError as e:
                    raise self._bad_row(checks.row_error(str(e), key)) from None
        return out

    def data_version(self) -> int:
        """SQLite's ``PRAGMA data_version``: changes when another connection commits."""
        (version,) = self.query("PRAGMA data_version")[0]
        return version

    def rungs(self) -> dict[tuple[str, int], float]:
        """(trial key, step) -> its validation accuracy when a search stopped it there.

        Raises:
            StoreError: a row :func:`.schema.rung_from_row` refuses (naming the store).
        """
        if not self.has_table("rungs"):
            return {}
        out = {}
        for row in self.query("SELECT key, step, val_accuracy FROM rungs"):
            try:
                key, step, val = rung_from_row(*row)
            except ValueError as e:
                raise self._bad_row(checks.row_error(str(e), row[0])) from None
            out[(key, step)] = val
        return out

    def environments(self) -> dict[str, dict]:
        """The environments trials were computed in, by id (JSON objects, checked)."""
        out = {}
        for i, info in self.query("SELECT id, info FROM environments"):
            try:
                env = load_json(info, f"environment {str(i)[:20]}")
            except ValueError as e:
                raise self._bad_row(str(e)) from None
            if not isinstance(env, dict):
                raise self._bad_row(f"environment {str(i)[:20]}: not a JSON object")
            out[i] = env
        return out

    # ------------------------------------------------------------------ checking (.check)

    def check(self) -> list[str]:
        """Every problem found in the store (empty: it is sound), without writing anything."""
        return checks.check(self)

    def _bad_row(self, what: str) -> StoreError:
        return StoreError(f"{self.path}: damaged store: {what}; `lstm-sweep check --db "
                          f"{self.path}` lists every problem")

    def _refuse_if_cut(self) -> None:
        """A file cut short may read without an SQLite error yet miss trials: refuse it."""
        problems = cut_short(self.path, self.connection)
        if problems:
            raise self._bad_row(problems[0])

    def close(self) -> None:
        self._close_quietly()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def dataset_mismatch(path: Path, name: str, stored: str, given: str) -> str:
    return (f"{path} holds trials of dataset {name!r:.60} trained on other data (fingerprint "
            f"{str(stored)[:8]}, these files {given[:8]}); pass --dataset-name with another "
            "name, or --db with another store")


def load_results(path: str | Path, *, with_curves: bool = False,
                 trials: Iterable[TrialConfig] | None = None) -> list[TrialResult]:
    """The trials stored at ``path`` (opened read-only): all, or those of ``trials``.

    Raises:
        StoreError: the file is not a store, or is damaged (naming the first bad row).
    """
    with Store(path, readonly=True) as store:
        results = store.results(with_curves=with_curves)
    if trials is not None:
        wanted = set(trials)
        results = [r for r in results if r.config in wanted]
    return results


def check_store(path: str | Path) -> list[str]:
    """Every problem found in the store at ``path`` (read-only).

    Raises:
        StoreError: it cannot be opened as a store at all.
    """
    with Store(path, readonly=True) as store:
        return store.check()
