"""The :class:`Store`: a store file (:mod:`.core`: opened, or created, or migrated; its
connection, transactions and SQLite's errors) that saves trials and reads them back. Its claims
live in :mod:`.claims`, its checks in :mod:`.check`, its schema in :mod:`.schema`, what its path
may be in :mod:`.files`."""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from ..errors import StoreError, StoreReason
from ..study import CurvePoint, Status, TrialConfig, TrialResult
from . import check as checks
from . import claims as claiming
from .claims import Claim, Driver
from .core import StoreFile, first, row_error
from .schema import (
    COLUMNS,
    CURVE_COLUMNS,
    DATASET_META,
    FRACTION,
    LOSS,
    PLAN_META,
    RUNGS_QUERY,
    TRIAL_COLUMNS,
    curve_point,
    curve_select,
    environment_from_row,
    fingerprint_from_row,
    plan_from_row,
    range_of_config,
    result_from_row,
    rung_from_row,
)

_RESULT_ORDER = "ORDER BY hidden, lr, seed, key"  # results: by width, rate, seed


class Store(StoreFile):
    """The SQLite results store at ``path``: a :class:`.core.StoreFile` that saves trials and
    reads them back.

    Args:
        path: the database file.
        readonly: open for reading only: the file must exist, and nothing is written (not even
            SQLite's ``-wal``/``-shm`` files where the store has none).

    Raises:
        StoreError: the file is not a regular file or not an lstm-sweep store, has a newer or a
            damaged schema, or cannot be opened.
    """

    # ------------------------------------------------------------------ writing

    def save(
        self, result: TrialResult, environment: dict | None = None, driver: Driver | None = None
    ) -> None:
        """Commit ``result`` (and its curve and environment) atomically; same key -> replaced.
        The trial's claim (by ``driver``) ends in the same transaction."""
        if not isinstance(result, TrialResult):
            raise StoreError(f"save takes a TrialResult, not {type(result).__name__}", StoreReason.REFUSED)
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
            raise StoreError(
                f"{self.path}: refusing to store trial {str(row[0])[:40]}: {e}", StoreReason.REFUSED
            ) from None
        with self.transaction("save trial") as conn:
            if env_id is not None:
                conn.execute("INSERT OR IGNORE INTO environments VALUES (?, ?)", (env_id, env_json))
            conn.execute("DELETE FROM curves WHERE key = ?", (row[0],))
            conn.execute(
                f"INSERT OR REPLACE INTO trials ({', '.join(TRIAL_COLUMNS)}) "
                f"VALUES ({', '.join('?' * len(TRIAL_COLUMNS))})",
                row,
            )
            conn.executemany(
                f"INSERT INTO curves ({', '.join(CURVE_COLUMNS)}) "
                f"VALUES ({', '.join('?' * len(CURVE_COLUMNS))})",
                [(row[0], p.step, p.loss, p.accuracy, p.val) for p in result.curve],
            )
            if result.status is Status.PRUNED:  # a search's rung: kept for its replay
                conn.execute(
                    "INSERT OR REPLACE INTO rungs VALUES (?, ?, ?)",
                    (row[0], result.steps_done, result.val_accuracy),
                )
            if driver is not None:
                conn.execute("DELETE FROM claims WHERE key = ? AND driver = ?", (row[0], driver.id))

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
            raise StoreError(dataset_mismatch(self.path, name, row[0], fingerprint), StoreReason.REFUSED)

    def record_plan(
        self, driver: Driver, keys: Sequence[str], pending: int, eta_s: float, label: str = ""
    ) -> None:
        """Record what ``driver`` set out to do (its grid's keys, how many trials it will train,
        its plan's ETA, and what it is where it is not a sweep: ``search: hidden 64, to step
        333``) for the live page: one meta row per driver, ``plan:<driver id>``, kept while the
        driver holds claims and until the next driver records its own."""
        fields = {
            "host": driver.host,
            "pid": driver.pid,
            "started_at": time.time(),
            "keys": list(keys),
            "pending": int(pending),
            "eta_s": float(eta_s) if math.isfinite(eta_s) else None,
        }
        info = json.dumps({**fields, **({"label": str(label)[:200]} if label else {})})
        with self.transaction("record the plan") as conn:
            # the plans of drivers that hold no claim are over (finished, or gone): replaced,
            # so that the table keeps one row per live driver, not one per run ever made
            conn.execute(
                f"DELETE FROM meta WHERE substr(name, 1, {len(PLAN_META)}) = ? AND "
                f"substr(name, {len(PLAN_META) + 1}) NOT IN (SELECT driver FROM claims)",
                (PLAN_META,),
            )
            conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (PLAN_META + driver.id, info))

    def plans(self) -> list[dict]:
        """The plans drivers recorded (:meth:`record_plan`), oldest first; a row that is not
        one (edited by hand, :func:`.schema.plan_from_row` refuses it) is left out, and
        ``check`` reports it."""
        out = []
        for name, info in self.query(
            f"SELECT name, value FROM meta WHERE substr(name, 1, {len(PLAN_META)}) = ?", (PLAN_META,)
        ):
            try:
                out.append(plan_from_row(name, info))
            except ValueError:
                continue
        return sorted(out, key=lambda p: p["started_at"])

    # ------------------------------------------------------------------ claims (.claims)

    def claim(
        self,
        keys: Sequence[str],
        driver: Driver,
        retry: frozenset[Status] = frozenset(),
        timeout: float | None = None,
    ) -> list[str]:
        """See :func:`.claims.claim`."""
        return claiming.claim(self, keys, driver, retry, timeout)

    def held_elsewhere(
        self, keys: Sequence[str], driver: Driver, timeout: float | None = None
    ) -> dict[str, str]:
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
                    raise self._bad_row(row_error(f"unknown status {status!r:.30}", key)) from None
        return out

    def statuses(self) -> dict[str, Status]:
        """Status of every stored trial, by key."""
        return {
            key: status
            for key, (status, _) in self.finished([k for (k,) in self.query("SELECT key FROM trials")])
        }

    def results(self, *, with_curves: bool = False, reuse: dict | None = None) -> list[TrialResult]:
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
        if with_curves:  # each point's metric checked by its trial's (result_from_row)
            for key, step, loss, acc, val in self.query(
                f"SELECT {curve_select(self.schema_version)} FROM curves ORDER BY key, step"
            ):
                try:
                    curves.setdefault(key, []).append(curve_point(step, loss, acc, LOSS, val))
                except ValueError as e:
                    raise self._bad_row(row_error(str(e), key)) from None
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
            raise self._bad_row(row_error(str(e), d["key"])) from None

    def _results_reusing(self, reuse: dict) -> list[TrialResult]:
        for _ in range(3):  # a row replaced between the two reads: read again (at most twice)
            ids = self.query(f"SELECT rowid, key, finished_at FROM trials {_RESULT_ORDER}")
            wanted = [i for i in ids if i not in reuse]
            for start in range(0, len(wanted), 500):  # under SQLite's limit of bound parameters
                part = wanted[start : start + 500]
                for r in self.query(
                    f"SELECT rowid, {', '.join(TRIAL_COLUMNS)} FROM trials WHERE "
                    f"rowid IN ({', '.join('?' * len(part))})",
                    [rowid for rowid, _, _ in part],
                ):
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
            part = wanted[i : i + 500]
            scales = {  # where each trial's metric may lie: a fraction, or a loss
                key: range_of_config(config)
                for key, config in self.query(
                    f"SELECT key, config FROM trials WHERE key IN ({', '.join('?' * len(part))})", part
                )
            }
            for key, step, loss, acc, val in self.query(
                f"SELECT {curve_select(self.schema_version)} FROM curves WHERE key IN "
                f"({', '.join('?' * len(part))}) ORDER BY key, step",
                part,
            ):
                try:
                    scale = scales.get(key, FRACTION)
                    out.setdefault(key, []).append(curve_point(step, loss, acc, scale, val))
                except ValueError as e:
                    raise self._bad_row(row_error(str(e), key)) from None
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
        for row in self.query(RUNGS_QUERY):
            try:
                key, step, val = rung_from_row(*row)
            except ValueError as e:
                raise self._bad_row(row_error(str(e), row[0])) from None
            out[(key, step)] = val
        return out

    def environments(self) -> dict[str, dict]:
        """The environments trials were computed in, by id (JSON objects, checked)."""
        out = {}
        for i, info in self.query("SELECT id, info FROM environments"):
            try:
                out[i] = environment_from_row(i, info)
            except ValueError as e:
                raise self._bad_row(str(e)) from None
        return out

    # ------------------------------------------------------------------ checking (.check)

    def check(self) -> list[str]:
        """Every problem found in the store (empty: it is sound), without writing anything."""
        return checks.check(self)


def dataset_mismatch(path: Path, name: str, stored: str, given: str) -> str:
    return (
        f"{path} holds trials of dataset {name!r:.60} trained on other data (fingerprint "
        f"{str(stored)[:8]}, these files {given[:8]}); pass dataset_name= with another "
        "name, or store= with another store"
    )


def load_results(
    path: str | Path, *, with_curves: bool = False, trials: Iterable[TrialConfig] | None = None
) -> list[TrialResult]:
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
