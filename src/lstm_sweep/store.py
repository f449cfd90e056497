"""The results store: one SQLite file, one row per finished trial, written by one process.

Contract (what every backend promises):
- :meth:`Store.save` commits a result, its learning curve and its environment in ONE transaction:
  a process killed at any moment leaves either the whole trial or nothing.
- Saving the same trial (same key) twice keeps one row, the latest.
- Only finished trials are rows; a trial interrupted mid-training is absent, so it runs again.
- Opening never modifies a file that is not an lstm-sweep store; reading never creates one.
- ``sqlite3`` errors surface as :class:`~lstm_sweep.errors.StoreError`.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from .config import TrialConfig
from .errors import StoreError
from .results import CurvePoint, Status, TrialResult

SCHEMA_VERSION = 1
APPLICATION_ID = 0x4C535357  # "LSSW": marks the file as an lstm-sweep store
_SQLITE_HEADER = b"SQLite format 3\x00"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS environments (
    id TEXT PRIMARY KEY,
    info TEXT NOT NULL            -- JSON: package versions, python, platform, device
);
CREATE TABLE IF NOT EXISTS trials (
    key TEXT PRIMARY KEY,         -- TrialConfig.key(): hash of the full configuration
    config TEXT NOT NULL,         -- JSON of the TrialConfig
    hidden INTEGER NOT NULL,
    lr REAL NOT NULL,
    seed INTEGER NOT NULL,
    steps INTEGER NOT NULL,
    batch_size INTEGER NOT NULL,
    init TEXT NOT NULL,
    precision TEXT NOT NULL,
    dataset TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('done', 'diverged', 'failed', 'oom')),
    test_accuracy REAL,
    val_accuracy REAL,
    train_loss REAL,
    steps_done INTEGER NOT NULL,
    wall_s REAL NOT NULL,
    cpu_s REAL NOT NULL,
    peak_mem_bytes INTEGER,
    device TEXT NOT NULL,
    error TEXT,
    started_at REAL NOT NULL,
    finished_at REAL NOT NULL,
    env_id TEXT REFERENCES environments(id),
    engine TEXT NOT NULL,         -- single | fused
    group_size INTEGER NOT NULL   -- trials trained together (times are per trial)
);
CREATE TABLE IF NOT EXISTS curves (
    key TEXT NOT NULL REFERENCES trials(key) ON DELETE CASCADE,
    step INTEGER NOT NULL,
    loss REAL,
    accuracy REAL,
    PRIMARY KEY (key, step)
) WITHOUT ROWID;
"""

_TRIAL_COLUMNS = (
    "key", "config", "hidden", "lr", "seed", "steps", "batch_size", "init", "precision", "dataset",
    "status", "test_accuracy", "val_accuracy", "train_loss", "steps_done", "wall_s", "cpu_s",
    "peak_mem_bytes", "device", "error", "started_at", "finished_at", "env_id", "engine",
    "group_size",
)


def _looks_like_sqlite(path: Path) -> bool:
    with open(path, "rb") as f:
        head = f.read(len(_SQLITE_HEADER))
    return head == _SQLITE_HEADER or head == b""


class Store:
    """The SQLite results store at ``path``.

    Args:
        path: the database file.
        readonly: open without the right to write (and fail if the file does not exist).

    Raises:
        StoreError: the file is not an lstm-sweep store, has a newer schema, or cannot be opened.
    """

    def __init__(self, path: str | Path, *, readonly: bool = False):
        self.path = Path(path)
        if self.path.exists():
            if self.path.is_dir():
                raise StoreError(f"{self.path} is a folder; --db needs a file path")
            if not _looks_like_sqlite(self.path):
                raise StoreError(
                    f"{self.path} is not an SQLite database; pass --db with another file name"
                )
        elif readonly:
            raise StoreError(f"no results store at {self.path}; run `lstm-sweep run` first or "
                             "pass --db with the right file")
        try:
            if readonly:
                self._conn = sqlite3.connect(
                    f"{self.path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None
                )
            else:
                self._conn = sqlite3.connect(self.path, isolation_level=None, timeout=30.0)
            self._conn.execute("PRAGMA busy_timeout = 30000")
            self._conn.execute("PRAGMA foreign_keys = ON")
            self._check_and_init(readonly)
        except sqlite3.Error as e:
            raise StoreError(f"{self.path}: cannot open the results store ({e})") from e

    def _check_and_init(self, readonly: bool) -> None:
        conn = self._conn
        (app_id,) = conn.execute("PRAGMA application_id").fetchone()
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if app_id != APPLICATION_ID and tables:
            raise StoreError(f"{self.path} is an SQLite file of another program, not an "
                             "lstm-sweep store; pass --db with another file name")
        if app_id == APPLICATION_ID:
            (version,) = conn.execute(
                "SELECT value FROM meta WHERE name = 'schema_version'"
            ).fetchone()
            if int(version) > SCHEMA_VERSION:
                raise StoreError(f"{self.path} has schema version {version}; this lstm-sweep "
                                 f"reads up to {SCHEMA_VERSION}. Upgrade lstm-sweep")
        if readonly:
            if app_id != APPLICATION_ID:
                raise StoreError(f"{self.path} holds no lstm-sweep results yet; run "
                                 "`lstm-sweep run` first or pass --db with the right file")
            return
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        if app_id != APPLICATION_ID:
            with self._transaction():
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(
                    "INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
                )
                conn.execute("INSERT OR REPLACE INTO meta VALUES ('created_at', ?)",
                             (str(time.time()),))
                conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")

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

    def save(self, result: TrialResult, environment: dict | None = None) -> None:
        """Commit ``result`` (and its curve and environment) atomically; same key -> replaced."""
        env_id = None
        env_json = None
        if environment is not None:
            env_json = json.dumps(environment, sort_keys=True)
            env_id = hashlib.sha256(env_json.encode()).hexdigest()[:16]
        cfg = result.config
        row = (
            cfg.key(), json.dumps(cfg.to_dict(), sort_keys=True), cfg.hidden, cfg.lr, cfg.seed,
            cfg.steps, cfg.batch_size, cfg.init, cfg.precision, cfg.dataset, str(result.status),
            result.test_accuracy, result.val_accuracy, result.train_loss, result.steps_done,
            result.wall_s, result.cpu_s, result.peak_mem_bytes, result.device, result.error,
            result.started_at, time.time(), env_id, result.engine, result.group_size,
        )
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
        except sqlite3.Error as e:
            raise StoreError(f"{self.path}: cannot save trial ({e})") from e

    # ------------------------------------------------------------------ reading

    def statuses(self) -> dict[str, Status]:
        """Status of every stored trial, by key."""
        rows = self._query("SELECT key, status FROM trials")
        return {key: Status(status) for key, status in rows}

    def results(self, *, with_curves: bool = False) -> list[TrialResult]:
        """All stored trials, ordered by hidden size, learning rate, seed."""
        rows = self._query(
            f"SELECT {', '.join(_TRIAL_COLUMNS)} FROM trials ORDER BY hidden, lr, seed, key"
        )
        curves: dict[str, list[CurvePoint]] = {}
        if with_curves:
            for key, step, loss, acc in self._query(
                "SELECT key, step, loss, accuracy FROM curves ORDER BY key, step"
            ):
                curves.setdefault(key, []).append(CurvePoint(step, loss, acc))
        out = []
        for r in rows:
            d = dict(zip(_TRIAL_COLUMNS, r))
            out.append(
                TrialResult(
                    config=TrialConfig.from_dict(json.loads(d["config"])),
                    status=Status(d["status"]),
                    test_accuracy=d["test_accuracy"],
                    val_accuracy=d["val_accuracy"],
                    train_loss=d["train_loss"],
                    steps_done=d["steps_done"],
                    wall_s=d["wall_s"],
                    cpu_s=d["cpu_s"],
                    peak_mem_bytes=d["peak_mem_bytes"],
                    device=d["device"],
                    error=d["error"],
                    curve=tuple(curves.get(d["key"], ())),
                    started_at=d["started_at"],
                    engine=d["engine"],
                    group_size=d["group_size"],
                )
            )
        return out

    def environments(self) -> dict[str, dict]:
        return {i: json.loads(info) for i, info in self._query("SELECT id, info FROM environments")}

    def _query(self, sql: str, params: Iterable = ()) -> list[tuple]:
        try:
            return self._conn.execute(sql, tuple(params)).fetchall()
        except sqlite3.Error as e:
            raise StoreError(f"{self.path}: cannot read the results store ({e})") from e

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def load_results(path: str | Path, *, with_curves: bool = False) -> list[TrialResult]:
    """All trials stored at ``path`` (opened read-only)."""
    with Store(path, readonly=True) as store:
        return store.results(with_curves=with_curves)
