"""The results store: one SQLite file, one row per finished trial, written by one process.

Contract (what every backend promises):
- :meth:`Store.save` commits a result, its learning curve and its environment in ONE transaction:
  a process killed at any moment leaves either the whole trial or nothing.
- Saving the same trial (same key) twice keeps one row, the latest.
- Only finished trials are rows; a trial interrupted mid-training is absent, so it runs again.
- Opening never modifies a file that is not an lstm-sweep store; reading never creates one.
- Reading never writes: no ``-wal``/``-shm`` files appear next to a store that has none, and a
  store on read-only media can be read.
- Only regular files are stores: a folder, FIFO or device is refused before it is opened.
- Every row is checked as it is read: a damaged or hand-edited store gives a
  :class:`~lstm_sweep.errors.StoreError` naming the store and the row, never a traceback;
  :meth:`Store.check` lists every problem without writing.
- ``sqlite3`` errors surface as :class:`~lstm_sweep.errors.StoreError`.

Concurrent drivers (several ``lstm-sweep run`` on one store, on one machine) cooperate through
*claims*: before training a trial a driver claims it (a row with its host, pid and a heartbeat);
other drivers skip claimed trials; the claim goes with the trial's result in one transaction, or
when the driver ends (normally, by Ctrl-C or by an error). A claim whose driver is gone (its pid
no longer runs on this host, or its heartbeat is older than the timeout) is taken over. SQLite's
locks need a local file system: a store on NFS or another network file system is not supported
(its locking is unreliable there, and a heartbeat cannot tell a slow network from a dead driver);
to spread one sweep over machines, use the Ray executor, whose driver alone writes the store.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import socket
import sqlite3
import stat
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .config import TrialConfig
from .errors import LstmSweepError, StoreError
from .results import CurvePoint, Status, TrialResult

log = logging.getLogger(__name__)

# 1: trials, curves, environments, meta. 2: + claims (concurrent drivers); v1 stores are
# migrated when opened for writing, and read as they are.
SCHEMA_VERSION = 2
APPLICATION_ID = 0x4C535357  # "LSSW": marks the file as an lstm-sweep store
_SQLITE_HEADER = b"SQLite format 3\x00"

_NUMBER = (int, float)


@dataclass(frozen=True)
class _Column:
    """One column of the trials table: its SQL, what Python values it holds, and where a result's
    value comes from. ``field``: a :class:`TrialResult` field of the same name (read back)."""

    name: str
    sql: str
    types: type | tuple[type, ...]
    nullable: bool
    value: Callable[[TrialResult, dict], object]
    field: bool = False


def _of_result(name: str, sql: str, types, nullable: bool = False) -> _Column:
    return _Column(name, sql + ("" if nullable else " NOT NULL"), types, nullable,
                   lambda r, _: getattr(r, name), field=True)


def _of_config(name: str, sql: str, types) -> _Column:
    """A configuration field, kept in its own column for queries (the JSON is the truth)."""
    return _Column(name, sql + " NOT NULL", types, False, lambda r, _: getattr(r.config, name))


_STATUSES = ", ".join(f"'{s}'" for s in Status)
# THE declaration of a stored trial: the schema, the insert and the checks on reading all come
# from it. (Order = the version-1 table's, which old stores have.)
COLUMNS = (
    _Column("key", "TEXT PRIMARY KEY", str, False, lambda r, _: r.config.key()),
    _Column("config", "TEXT NOT NULL", str, False,
            lambda r, _: json.dumps(r.config.to_dict(), sort_keys=True)),
    _of_config("hidden", "INTEGER", int),
    _of_config("lr", "REAL", _NUMBER),
    _of_config("seed", "INTEGER", int),
    _of_config("steps", "INTEGER", int),
    _of_config("batch_size", "INTEGER", int),
    _of_config("init", "TEXT", str),
    _of_config("precision", "TEXT", str),
    _of_config("dataset", "TEXT", str),
    _Column("status", f"TEXT NOT NULL CHECK (status IN ({_STATUSES}))", str, False,
            lambda r, _: str(r.status)),
    _of_result("test_accuracy", "REAL", _NUMBER, nullable=True),
    _of_result("val_accuracy", "REAL", _NUMBER, nullable=True),
    _of_result("train_loss", "REAL", _NUMBER, nullable=True),
    _of_result("steps_done", "INTEGER", int),
    _of_result("wall_s", "REAL", _NUMBER),
    _of_result("cpu_s", "REAL", _NUMBER),
    _of_result("peak_mem_bytes", "INTEGER", int, nullable=True),
    _of_result("device", "TEXT", str),
    _of_result("error", "TEXT", str, nullable=True),
    _of_result("started_at", "REAL", _NUMBER),
    _Column("finished_at", "REAL NOT NULL", _NUMBER, False, lambda _, x: x["finished_at"]),
    _Column("env_id", "TEXT REFERENCES environments(id)", str, True, lambda _, x: x["env_id"]),
    _of_result("engine", "TEXT", str),  # single | fused
    _of_result("group_size", "INTEGER", int),  # trials trained together (times are per trial)
)
_TRIAL_COLUMNS = tuple(c.name for c in COLUMNS)
_BY_NAME = {c.name: c for c in COLUMNS}

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS environments (
    id TEXT PRIMARY KEY,
    info TEXT NOT NULL            -- JSON: package versions, python, platform, device
);
CREATE TABLE IF NOT EXISTS trials (
    {(',' + chr(10) + '    ').join(f'{c.name} {c.sql}' for c in COLUMNS)}
);
CREATE TABLE IF NOT EXISTS curves (
    key TEXT NOT NULL REFERENCES trials(key) ON DELETE CASCADE,
    step INTEGER NOT NULL,
    loss REAL,
    accuracy REAL,
    PRIMARY KEY (key, step)
) WITHOUT ROWID;
"""

# Version 2: which driver is training which trial right now.
_CLAIMS = """
CREATE TABLE IF NOT EXISTS claims (
    key TEXT PRIMARY KEY,         -- the trial being trained
    driver TEXT NOT NULL,         -- the driver's id (random, one per run)
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    pid_start TEXT,               -- the process's start time (tells a reused pid apart)
    claimed_at REAL NOT NULL,
    heartbeat REAL NOT NULL
)
"""
# version -> statements that bring a store of version - 1 up to it (run in one transaction)
_MIGRATIONS = {2: [_CLAIMS]}
_TABLES = ("meta", "environments", "trials", "curves")


def _header(path: str | Path) -> bytes:
    with open(path, "rb") as f:
        return f.read(len(_SQLITE_HEADER))


def _looks_like_sqlite(path: Path) -> bool:
    """An SQLite file, or an empty one (a store yet to be made)."""
    return _header(path) in (_SQLITE_HEADER, b"")


def is_store_file(path: str | Path) -> bool:
    """Whether ``path`` is a regular file that holds an SQLite database (an lstm-sweep store or
    another program's): what no output may ever be written over."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode) and _header(path) == _SQLITE_HEADER
    except OSError:
        return False


def check_regular(path: Path, *, must_exist: bool) -> bool:
    """Whether ``path`` exists; refuse anything but a regular file (or a link to one)."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        if must_exist:
            raise StoreError(f"no results store at {path}; run `lstm-sweep run` first or pass "
                             "--db with the right file") from None
        if not path.parent.is_dir():
            raise StoreError(f"cannot create the results store {path}: folder {path.parent} does "
                             "not exist") from None
        return False
    except OSError as e:
        raise StoreError(f"{path}: cannot access the results store ({e.strerror})") from e
    if stat.S_ISDIR(mode):
        raise StoreError(f"{path} is a folder; --db needs a file path")
    if not stat.S_ISREG(mode):
        raise StoreError(f"{path} is not a regular file (a FIFO, socket or device); --db needs "
                         "a file path")
    return True


def _row_error(what: str, key: object) -> str:
    return f"trial {str(key)[:40]!s}: {what}"


def _check_value(name: str, value: object) -> str | None:
    column = _BY_NAME[name]
    types, nullable = column.types, column.nullable
    if value is None:
        return None if nullable else f"{name} is NULL"
    if isinstance(value, bool) or not isinstance(value, types):
        return f"{name} holds {type(value).__name__} {str(value)[:30]!r}, not a number" \
            if types in (int, _NUMBER) else f"{name} holds {type(value).__name__}, not text"
    if isinstance(value, float) and name not in ("test_accuracy", "val_accuracy", "train_loss") \
            and not math.isfinite(value):
        return f"{name} is {value}"
    return None


def result_from_row(d: dict, curve: tuple[CurvePoint, ...] = ()) -> TrialResult:
    """A :class:`TrialResult` from one ``trials`` row (a dict by column), every field checked.

    Raises:
        ValueError: what is wrong with the row (the caller names the store and the row).
    """
    for name in _TRIAL_COLUMNS:
        if name not in d:
            raise ValueError(f"column {name} is missing")
        problem = _check_value(name, d[name])
        if problem:
            raise ValueError(problem)
    try:
        raw = json.loads(d["config"])
    except ValueError as e:
        raise ValueError(f"config is not valid JSON ({e})") from None
    if not isinstance(raw, dict):
        raise ValueError("config is not a JSON object")
    required = {"hidden", "lr"}
    if required - raw.keys():
        raise ValueError(f"config lacks {', '.join(sorted(required - raw.keys()))}")
    try:
        config = TrialConfig.from_dict(raw)
    except (LstmSweepError, TypeError) as e:
        raise ValueError(f"config is invalid ({e})") from None
    if config.key() != d["key"]:
        raise ValueError("config does not match the row's key (edited by hand?)")
    try:
        status = Status(d["status"])
    except ValueError:
        raise ValueError(f"unknown status {d['status']!r:.30}") from None
    if d["group_size"] < 1 or d["steps_done"] < 0:
        raise ValueError(f"group_size {d['group_size']} / steps_done {d['steps_done']} out of "
                         "range")
    return TrialResult(config=config, status=status, curve=curve,
                       **{c.name: d[c.name] for c in COLUMNS if c.field})


def _curve_point(step: object, loss: object, acc: object) -> CurvePoint:
    if isinstance(step, bool) or not isinstance(step, int):
        raise ValueError(f"curve step {step!r:.30} is not an integer")
    for name, v in (("loss", loss), ("accuracy", acc)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, _NUMBER)):
            raise ValueError(f"curve {name} at step {step} holds {v!r:.30}, not a number")
    return CurvePoint(step, loss, acc)


def _process_start(pid: int) -> str | None:
    """The start time of process ``pid`` (clock ticks since boot), None if it is not running."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OverflowError:
        return False
    return True


class Driver:
    """Who is running a sweep: a random id, this host, this process (and its start time)."""

    def __init__(self) -> None:
        self.id = uuid.uuid4().hex
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self.pid_start = _process_start(self.pid)
        self.started_at = time.time()

    def __repr__(self) -> str:
        return f"driver {self.host}:{self.pid}"


def claim_timeout() -> float:
    """Seconds without a heartbeat after which a claim is taken over
    (``$LSTM_SWEEP_CLAIM_TIMEOUT``, default 60)."""
    try:
        value = float(os.environ.get("LSTM_SWEEP_CLAIM_TIMEOUT", "60"))
    except ValueError:
        value = 60.0
    return value if math.isfinite(value) and value > 0 else 60.0


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
        self.path = Path(path)
        self.readonly = readonly
        self._immutable = False
        exists = check_regular(self.path, must_exist=readonly)
        if exists:
            try:
                looks = _looks_like_sqlite(self.path)
            except OSError as e:
                raise StoreError(f"{self.path}: cannot read the results store ({e.strerror})") \
                    from e
            if not looks:
                raise StoreError(
                    f"{self.path} is not an SQLite database; pass --db with another file name"
                )
        if not readonly:
            where = self.path if exists else self.path.parent
            if not os.access(where, os.W_OK) or (exists and not os.access(self.path.parent,
                                                                          os.W_OK)):
                raise StoreError(f"{self.path}: the store or its folder is read-only (SQLite "
                                 "writes its journal beside the store); copy it to a writable "
                                 "folder and pass --db there. table, report and check can read "
                                 "it where it is")
        try:
            self._open(readonly)
        except sqlite3.Error as e:
            conn = getattr(self, "_conn", None)
            if conn is not None:
                conn.close()
            raise StoreError(f"{self.path}: cannot open the results store ({e})"
                             + _hint(e, readonly)) from e
        except StoreError:
            self._conn.close()
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
                    self._conn.execute("PRAGMA busy_timeout = 30000")
                self._conn.execute("PRAGMA foreign_keys = ON")
                self.schema_version = self._check_and_init(readonly)
                return
            except sqlite3.OperationalError as e:
                if "locked" not in str(e) or time.monotonic() > give_up:
                    raise
                self._conn.close()
                time.sleep(delay)
                delay = min(delay * 2, 1.0)

    def _wal(self) -> Path:
        return self.path.with_name(self.path.name + "-wal")

    def _connect_readonly(self) -> sqlite3.Connection:
        """Read without writing: ``immutable`` where no writer left a ``-wal`` file (then SQLite
        creates nothing), else a read-only WAL connection (the writer's files exist already).
        On read-only media with a ``-wal`` left behind, the ``immutable`` view is the fallback
        (trials only in the ``-wal`` are then not seen, and a warning says so)."""
        uri = self.path.resolve().as_uri()
        if not self._wal().exists():
            self._immutable = True
            return sqlite3.connect(f"{uri}?mode=ro&immutable=1", uri=True, isolation_level=None)
        self._immutable = False
        conn = sqlite3.connect(f"{uri}?mode=ro", uri=True, isolation_level=None)
        try:
            conn.execute("PRAGMA busy_timeout = 30000")
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
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
        conn = self._conn
        conn.execute(begin)
        try:
            (app_id,) = conn.execute("PRAGMA application_id").fetchone()
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
        conn = self._conn
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
                    for statement in [*_SCHEMA.split(";"), _CLAIMS]:
                        if statement.strip():
                            conn.execute(statement)
                    conn.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)",
                                 (str(SCHEMA_VERSION),))
                    conn.execute("INSERT OR REPLACE INTO meta VALUES ('created_at', ?)",
                                 (str(time.time()),))
                    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                    version = SCHEMA_VERSION
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        if version < SCHEMA_VERSION:
            self._migrate(version)
        return SCHEMA_VERSION

    def _schema_version(self, tables: set[str]) -> int:
        missing = [t for t in _TABLES if t not in tables]
        if missing:
            raise StoreError(f"{self.path}: damaged store: table {', '.join(missing)} is missing; "
                             f"`lstm-sweep check --db {self.path}` lists what is wrong")
        row = self._conn.execute("SELECT value FROM meta WHERE name = 'schema_version'").fetchone()
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
        with self._transaction() as conn:
            for target in range(version + 1, SCHEMA_VERSION + 1):
                for statement in _MIGRATIONS[target]:
                    conn.execute(statement)
            conn.execute("UPDATE meta SET value = ? WHERE name = 'schema_version'",
                         (str(SCHEMA_VERSION),))
        log.info("%s: migrated the store from schema %d to %d", self.path, version,
                 SCHEMA_VERSION)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        else:
            self._conn.execute("COMMIT")

    # ------------------------------------------------------------------ writing

    def save(self, result: TrialResult, environment: dict | None = None,
             driver: Driver | None = None) -> None:
        """Commit ``result`` (and its curve and environment) atomically; same key -> replaced.
        The trial's claim (by ``driver``) ends in the same transaction."""
        env_id = None
        env_json = None
        if environment is not None:
            env_json = json.dumps(environment, sort_keys=True)
            env_id = hashlib.sha256(env_json.encode()).hexdigest()[:16]
        extra = {"finished_at": time.time(), "env_id": env_id}
        row = tuple(c.value(result, extra) for c in COLUMNS)
        try:
            with self._transaction() as conn:
                if env_id is not None:
                    conn.execute("INSERT OR IGNORE INTO environments VALUES (?, ?)",
                                 (env_id, env_json))
                conn.execute("DELETE FROM curves WHERE key = ?", (row[0],))
                conn.execute(
                    f"INSERT OR REPLACE INTO trials ({', '.join(_TRIAL_COLUMNS)}) "
                    f"VALUES ({', '.join('?' * len(_TRIAL_COLUMNS))})",
                    row,
                )
                conn.executemany(
                    "INSERT INTO curves VALUES (?, ?, ?, ?)",
                    [(row[0], p.step, p.loss, p.accuracy) for p in result.curve],
                )
                if driver is not None:
                    conn.execute("DELETE FROM claims WHERE key = ? AND driver = ?",
                                 (row[0], driver.id))
        except (sqlite3.Error, OverflowError) as e:
            raise StoreError(f"{self.path}: cannot save trial ({e})" + _hint(e, False)) from e

    # ------------------------------------------------------------------ claims

    def claim(self, keys: Sequence[str], driver: Driver, retry: frozenset[Status] = frozenset(),
              timeout: float | None = None) -> list[str]:
        """Claim, in one transaction, those of ``keys`` that still need training: not stored
        (or stored with a status in ``retry`` before ``driver`` started) and not claimed by a
        live driver. Stale claims (see the module docstring) are taken over.

        Returns:
            The keys now claimed by ``driver``, in the order given.
        """
        timeout = claim_timeout() if timeout is None else timeout
        now = time.time()
        out = []
        try:
            with self._transaction() as conn:
                for key in keys:
                    stored = conn.execute("SELECT status, finished_at FROM trials WHERE key = ?",
                                          (key,)).fetchone()
                    if stored is not None and not (
                        stored[0] in {str(s) for s in retry} and stored[1] < driver.started_at
                    ):
                        continue
                    held = conn.execute("SELECT driver, host, pid, pid_start, heartbeat FROM "
                                        "claims WHERE key = ?", (key,)).fetchone()
                    if held is not None and held[0] != driver.id and \
                            _claim_live(held[1:], now, timeout):
                        continue
                    conn.execute("INSERT OR REPLACE INTO claims VALUES (?, ?, ?, ?, ?, ?, ?)",
                                 (key, driver.id, driver.host, driver.pid, driver.pid_start,
                                  now, now))
                    out.append(key)
        except sqlite3.Error as e:
            raise StoreError(f"{self.path}: cannot claim trials ({e})" + _hint(e, False)) from e
        return out

    def held_elsewhere(self, keys: Sequence[str], driver: Driver,
                       timeout: float | None = None) -> dict[str, str]:
        """Those of ``keys`` claimed by another live driver: key -> who."""
        timeout = claim_timeout() if timeout is None else timeout
        now = time.time()
        wanted = set(keys)
        out = {}
        for key, who, host, pid, start, beat in self._query(
            "SELECT key, driver, host, pid, pid_start, heartbeat FROM claims"
        ):
            if key in wanted and who != driver.id and _claim_live((host, pid, start, beat), now,
                                                                timeout):
                out[key] = f"{host}:{pid}"
        return out

    def heartbeat(self, driver: Driver) -> None:
        """Mark ``driver``'s claims as alive now."""
        self._write("UPDATE claims SET heartbeat = ? WHERE driver = ?", (time.time(), driver.id))

    def release(self, driver: Driver) -> None:
        """End every claim of ``driver`` (its sweep is over, whatever the reason)."""
        self._write("DELETE FROM claims WHERE driver = ?", (driver.id,))

    def claims(self) -> list[tuple]:
        """(key, host, pid, claimed_at, heartbeat) of every claim."""
        if self.schema_version < 2:
            return []
        return self._query("SELECT key, host, pid, claimed_at, heartbeat FROM claims")

    def _write(self, sql: str, params: tuple) -> None:
        try:
            with self._transaction() as conn:
                conn.execute(sql, params)
        except sqlite3.Error as e:
            raise StoreError(f"{self.path}: cannot update claims ({e})" + _hint(e, False)) from e

    # ------------------------------------------------------------------ reading

    def finished(self, keys: Sequence[str]) -> list[tuple[str, tuple[Status, float]]]:
        """(key, (status, finished_at)) of those of ``keys`` that are stored."""
        wanted = set(keys)
        out = []
        self._refuse_if_cut()
        for key, status, at in self._query("SELECT key, status, finished_at FROM trials"):
            if key in wanted:
                try:
                    out.append((key, (Status(status), at)))
                except ValueError:
                    raise self._bad_row(_row_error(f"unknown status {status!r:.30}", key)) \
                        from None
        return out

    def statuses(self) -> dict[str, Status]:
        """Status of every stored trial, by key."""
        out = {}
        self._refuse_if_cut()
        for key, status in self._query("SELECT key, status FROM trials"):
            try:
                out[key] = Status(status)
            except ValueError:
                raise self._bad_row(_row_error(f"unknown status {status!r:.30}", key)) from None
        return out

    def results(self, *, with_curves: bool = False) -> list[TrialResult]:
        """All stored trials, ordered by hidden size, learning rate, seed.

        Raises:
            StoreError: naming the store and the first bad row.
        """
        self._refuse_if_cut()
        rows = self._query(
            f"SELECT {', '.join(_TRIAL_COLUMNS)} FROM trials ORDER BY hidden, lr, seed, key"
        )
        curves: dict[str, list[CurvePoint]] = {}
        if with_curves:
            for key, step, loss, acc in self._query(
                "SELECT key, step, loss, accuracy FROM curves ORDER BY key, step"
            ):
                try:
                    curves.setdefault(key, []).append(_curve_point(step, loss, acc))
                except ValueError as e:
                    raise self._bad_row(_row_error(str(e), key)) from None
        out = []
        for r in rows:
            d = dict(zip(_TRIAL_COLUMNS, r))
            try:
                out.append(result_from_row(d, tuple(curves.get(d["key"], ()))))
            except ValueError as e:
                raise self._bad_row(_row_error(str(e), d["key"])) from None
        return out

    def environments(self) -> dict[str, dict]:
        out = {}
        for i, info in self._query("SELECT id, info FROM environments"):
            try:
                env = json.loads(info)
            except (TypeError, ValueError):
                env = None
            if not isinstance(env, dict):
                raise self._bad_row(f"environment {str(i)[:20]}: not a JSON object")
            out[i] = env
        return out

    def _bad_row(self, what: str) -> StoreError:
        return StoreError(f"{self.path}: damaged store: {what}; `lstm-sweep check --db "
                          f"{self.path}` lists every problem")

    def _query(self, sql: str, params: Iterable = ()) -> list[tuple]:
        try:
            rows = self._conn.execute(sql, tuple(params)).fetchall()
            if self._immutable and self._wal().exists():
                # a writer started while we read the file as immutable: read through its WAL
                self._conn.close()
                self._conn = self._connect_readonly()
                rows = self._conn.execute(sql, tuple(params)).fetchall()
            return rows
        except sqlite3.Error as e:
            raise StoreError(f"{self.path}: cannot read the results store ({e})") from e

    # ------------------------------------------------------------------ checking

    def check(self) -> list[str]:
        """Every problem found in the store (empty: it is sound), without writing anything."""
        problems = self._check_file()
        try:
            for (line,) in self._conn.execute("PRAGMA integrity_check").fetchall():
                if line != "ok":
                    problems.append(f"integrity: {line}")
            for table, rowid, parent, _ in self._conn.execute(
                "PRAGMA foreign_key_check"
            ).fetchall():
                problems.append(f"{table} row {rowid} refers to a missing {parent} row")
        except sqlite3.Error as e:
            return [f"SQLite cannot check the file: {e}"]
        have = {t: {r[1] for r in self._query(f"PRAGMA table_info({t})")}
                for t in (*_TABLES, "claims")}
        for column in _TRIAL_COLUMNS:
            if column not in have["trials"]:
                problems.append(f"table trials lacks column {column}")
        if problems:
            return problems
        for r in self._query(f"SELECT {', '.join(_TRIAL_COLUMNS)} FROM trials"):
            d = dict(zip(_TRIAL_COLUMNS, r))
            try:
                result_from_row(d)
            except ValueError as e:
                problems.append(_row_error(str(e), d["key"]))
        for key, step, loss, acc in self._query("SELECT key, step, loss, accuracy FROM curves"):
            try:
                _curve_point(step, loss, acc)
            except ValueError as e:
                problems.append(_row_error(str(e), key))
        try:
            self.environments()
        except StoreError as e:
            problems.append(str(e).split("damaged store: ", 1)[-1].split(";")[0])
        return problems

    def _refuse_if_cut(self) -> None:
        """A file cut short may read without an SQLite error yet miss trials: refuse it."""
        problems = self._check_file()
        if problems:
            raise self._bad_row(problems[0])

    def _check_file(self) -> list[str]:
        """What SQLite's integrity check does not see: a file cut short (its header's page count,
        and a size that is a whole number of pages)."""
        try:
            with open(self.path, "rb") as f:
                header = f.read(100)
            size = os.stat(self.path).st_size
        except OSError as e:
            return [f"cannot read the file ({e.strerror})"]
        if len(header) < 100:
            return [f"the file is {size} bytes, shorter than SQLite's 100-byte header"]
        page = int.from_bytes(header[16:18], "big")
        page = 65536 if page == 1 else page
        pages = int.from_bytes(header[28:32], "big")
        valid = header[24:28] == header[92:96]  # the page count is current (SQLite >= 3.7.0)
        out = []
        if page and size % page:
            out.append(f"the file is {size:,} bytes, not a whole number of {page}-byte pages "
                       "(truncated or appended to)")
        if page and valid and pages * page > size and not self._wal().exists():
            out.append(f"truncated: the header counts {pages} pages of {page} bytes, the file "
                       f"holds {size / page:.2f}")
        return out

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _claim_live(held: tuple, now: float, timeout: float) -> bool:
    """Whether a claim (host, pid, pid_start, heartbeat) belongs to a driver still at work."""
    host, pid, start, beat = held
    if not isinstance(beat, _NUMBER) or now - beat > timeout:
        return False
    if host == socket.gethostname() and isinstance(pid, int):
        if not _pid_alive(pid) or (start is not None and _process_start(pid) not in (None, start)):
            return False  # the driver was killed (or its pid now belongs to another process)
    return True


def _hint(e: BaseException, readonly: bool) -> str:
    text = str(e).lower()
    if "readonly" in text or "read-only" in text:
        return ("; the store or its folder is read-only: copy it somewhere writable, or read it "
                "with table/report/check")
    if "disk is full" in text or "disk i/o" in text:
        return ("; the disk is full (or failing): free space and run the same command again "
                "(the trials stored so far are kept)")
    if "malformed" in text or "not a database" in text:
        return "; the file is damaged: `lstm-sweep check --db FILE` tells what is wrong"
    if isinstance(e, OverflowError):
        return "; a number is out of the store's range"
    return ""


def load_results(path: str | Path, *, with_curves: bool = False,
                 trials: Iterable[TrialConfig] | None = None) -> list[TrialResult]:
    """The trials stored at ``path`` (opened read-only): all, or those of ``trials``."""
    with Store(path, readonly=True) as store:
        results = store.results(with_curves=with_curves)
    if trials is not None:
        wanted = set(trials)
        results = [r for r in results if r.config in wanted]
    return results


def check_store(path: str | Path) -> list[str]:
    """Every problem found in the store at ``path`` (read-only). Raises StoreError when it
    cannot be opened as a store at all."""
    with Store(path, readonly=True) as store:
        return store.check()
