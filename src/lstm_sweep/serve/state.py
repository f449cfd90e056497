"""What the live page shows, computed from the store: one row per trial, the tables per facet
(cells with their statistic and a heat value), the findings, the drivers' progress and claims.

A :class:`Watcher` polls the store cheaply (``PRAGMA data_version`` on a read-only connection,
and the identity of the files: a store replaced or deleted is noticed) and, when something was
committed, rebuilds the :class:`Snapshot` and numbers what changed, so that a browser that has
seen version ``v`` is sent only the rows and tables that changed after ``v``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ConfigError, LstmSweepError
from ..reporting import (
    AXES,
    COLS,
    ROWS,
    Table,
    build_tables,
    cell_text,
    check_axes,
    describe,
    facet,
    facet_key,
    facet_name,
    findings,
    printable,
    select,
    varied_fields,
)
from ..store import Store, claim_timeout, wal_of
from ..study import LIVE_SUFFIX, METRICS, TrialResult, checkpoint_dir, read_live

log = logging.getLogger(__name__)

_CONFIG_SHOWN = (
    "hidden",
    "lr",
    "seed",
    "cell",
    "optimizer",
    "init",
    "precision",
    "param",
    "batch_size",
    "steps",
    "dataset",
)


def _number(x: float | None) -> float | None:
    return x if x is None or math.isfinite(x) else None


def _finite(x: object) -> float | None:
    """``x`` as a finite float where it is one (a number read from a row anyone may have
    written: not a bool, NaN, an infinity, text or an integer too large for a float), else None."""
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return None
    try:
        x = float(x)
    except OverflowError:
        return None
    return x if math.isfinite(x) else None


def _facet_id(protocol: dict) -> str:
    return hashlib.sha1(repr(facet_key(protocol)).encode()).hexdigest()[:10]


def trial_row(r: TrialResult, rows: str = ROWS, cols: str = COLS) -> dict:
    """One trial as the page's trial list and charts read it (plain JSON values, stored strings
    with their control characters escaped; the page inserts every string as text)."""
    config = r.config.to_dict()
    row: dict = {"key": r.config.key(), "status": r.status.value}
    for name in _CONFIG_SHOWN:
        if name in config:
            value = config[name]
            row[name] = (
                value if isinstance(value, (int, float)) and not isinstance(value, bool) else printable(value)
            )
    if config.get("opt"):
        row["optimizer"] = AXES["optimizer"].label(AXES["optimizer"].value(r.config))
    row.update(
        test_accuracy=_number(r.test_accuracy),
        val_accuracy=_number(r.val_accuracy),
        train_loss=_number(r.train_loss),
        steps_done=r.steps_done,
        wall_s=_number(r.wall_s),
        started_at=_number(r.started_at),
        device=printable(r.device),
        engine=printable(r.engine),
        error=printable(r.error)[:300] if r.error else None,
    )
    row.update(_place(r.config, rows, cols))
    return row


def _place(config, rows: str, cols: str) -> dict:
    """Where a trial sits in the page's tables: its facet's id, its row and column labels."""
    row_axis, col_axis = AXES[rows], AXES[cols]
    return {
        "_f": _facet_id(facet(config, rows, cols)),
        "_r": row_axis.label(row_axis.value(config)),
        "_c": col_axis.label(col_axis.value(config)),
    }


def metric_view(table: Table) -> dict:
    """How the page reads a table's values: the metric's name, title, column name, direction
    (``higher``: higher is better, so the heat's bright end and the best cell follow it) and
    whether it is a fraction shown as a percentage."""
    m = getattr(table, "measure", None) or METRICS["accuracy"]
    return {
        "name": m.name,
        "title": m.title,
        "short": m.short,
        "higher": m.higher_is_better,
        "percent": m.percent,
    }


def _best_cell(values: list[list[float | None]], higher: bool) -> list[int] | None:
    """[row, column] of the best mean in the metric's direction (the first of equals), or None
    where no cell has one."""
    best: tuple[float, int, int] | None = None
    for i, line in enumerate(values):
        for j, v in enumerate(line):
            if v is None:
                continue
            key = v if higher else -v
            if best is None or key > best[0]:
                best = (key, i, j)
    return None if best is None else [best[1], best[2]]


def table_view(table: Table, tables: Sequence[Table]) -> dict:
    """One table as the page draws it: labels, per cell its text and a heat value (the mean of
    the task's metric, or None), its metric and the best cell in the metric's direction, and
    whether its columns are numbers spaced by factors (a log axis). A table of a task not
    scored by accuracy names its metric in its title."""
    rows, cols = table.axes
    cells, means = [], []
    for r in table.rows:
        line, values = [], []
        for c in table.cols:
            cell = table.cell(r, c)
            values.append(_number(cell.mean))
            line.append({"text": cell_text(table, cell), "value": values[-1], "n": len(cell.statuses)})
        cells.append(line)
        means.append(values)
    metric = metric_view(table)
    name = facet_name(table, tables)
    if metric["name"] != "accuracy":
        said = f"{metric['title']} ({'higher' if metric['higher'] else 'lower'} is better)"
        name = f"{name} · {said}" if name else said
    col_values = [c for c in table.cols if isinstance(c, (int, float))]
    log_cols = (
        cols.numeric
        and len(col_values) > 2
        and all(v > 0 for v in col_values)
        and max(col_values) / min(col_values) >= 100
    )
    return {
        "id": _facet_id(table.protocol),
        "name": name,
        "metric": metric,
        "best": _best_cell(means, metric["higher"]),
        "caption": describe(table, always=varied_fields(tables)),
        "row_axis": rows.name,
        "col_axis": cols.name,
        "rows": [rows.label(r) for r in table.rows],
        "cols": [cols.label(c) for c in table.cols],
        "col_values": [c if isinstance(c, (int, float)) else None for c in table.cols],
        "log_cols": bool(log_cols),
        "cells": cells,
    }


def _findings_view(results: Sequence[TrialResult], rows: str, cols: str) -> list[dict]:
    try:
        return [{"kind": f.kind, "text": f.text} for f in findings(results, rows, cols)]
    except LstmSweepError as e:  # e.g. a layout findings cannot describe
        return [{"kind": "note", "text": f"no findings: {e}"}]


@dataclass
class Snapshot:
    """The page's state at one moment: trial rows by key, table views by facet id (in order),
    findings, progress; ``error`` a message when the store cannot be read (the rest is the
    last state that could)."""

    rows: dict[str, dict] = field(default_factory=dict)
    tables: dict[str, dict] = field(default_factory=dict)
    summary: dict = field(default_factory=dict)
    error: str | None = None


@dataclass
class ReadCache:
    """What a watcher keeps between looks at ONE store file, so that a look reads and converts
    only the trials stored since the last: the stored rows as results (``Store.results``'s
    ``reuse``) and each result's page row."""

    results: dict = field(default_factory=dict)
    rows: dict = field(default_factory=dict)  # trial key -> (result, its page row)


def build_snapshot(
    store: Store,
    rows: str = ROWS,
    cols: str = COLS,
    where: Sequence[tuple[str, str]] = (),
    cache: ReadCache | None = None,
) -> Snapshot:
    """Read the store once and compute everything the page shows (with ``cache``: reading and
    converting only what was stored since the cache's last look at this store)."""
    results = store.results(reuse=cache.results) if cache is not None else store.results()
    try:
        shown = select(results, where) if where else results
    except ConfigError:  # no trial has that value (yet)
        shown = []
    snap = Snapshot(rows={}, tables={})
    known = cache.rows if cache is not None else {}
    page_rows = {}
    for r in shown:
        key = r.config.key()
        hit = known.get(key)
        row = hit[1] if hit is not None and hit[0] is r else trial_row(r, rows, cols)
        page_rows[key] = (r, row)
        snap.rows[key] = row
    if cache is not None:
        cache.rows = page_rows
    acc = build_tables(shown, "accuracy", rows, cols) if shown else []  # each task's metric
    for t in acc:
        view = table_view(t, acc)
        snap.tables[view["id"]] = view
    now = time.time()
    claims = running_trials(store, rows, cols, now)
    counts: dict[str, int] = {}
    for r in results:
        counts[r.status.value] = counts.get(r.status.value, 0) + 1
    snap.summary = {
        "trials": len(results),
        "shown": len(shown),
        "counts": counts,
        "findings": _findings_view(shown, rows, cols) if shown else [],
        "claims": claims,
        "progress": _progress(store, results, claims, now),
        "rows_axis": rows,
        "cols_axis": cols,
        "where": [f"{k}={printable(v)}" for k, v in where],
    }
    return snap


def running_trials(store: Store, rows: str = ROWS, cols: str = COLS, now: float | None = None) -> list[dict]:
    """The claims (which driver trains which trial), and for each trial still training, what
    it published of its curve (:mod:`lstm_sweep.study.live`): the step it reached, its curve,
    where it sits in the tables."""
    now = time.time() if now is None else now
    timeout = claim_timeout()
    folder = checkpoint_dir(store.path)
    out = []
    for c in store.claims():  # any value a row may hold (SQLite keeps whatever was written)
        try:
            live = c.live(now, timeout)
        except (TypeError, ValueError, OverflowError):
            live = False
        key, claimed_at = printable(c.key)[:64], _finite(c.claimed_at)
        entry = {
            "key": key,
            "host": printable(c.host)[:100],
            "pid": c.pid
            if isinstance(c.pid, int) and not isinstance(c.pid, bool) and abs(c.pid) < 2**53
            else None,
            "claimed_at": claimed_at,
            "live": live,
        }
        got = read_live(folder, key) if live else None
        if got is not None and claimed_at is not None and got["written_at"] < claimed_at - 1:
            got = None  # an earlier attempt's curve (a failed or pruned trial claimed again)
        if got is not None:
            config = got["config"]
            entry.update(
                trial=printable(config.describe()),
                step=got["step"],
                steps=config.steps,
                curve=got["curve"],
                seed=config.seed,
                **_place(config, rows, cols),
            )
        out.append(entry)
    return out


def live_files(path: Path) -> tuple:
    """What tells that a running trial published more of its curve: the names, sizes and times
    of the curve files in the store's checkpoint folder."""
    out = []
    try:
        with os.scandir(checkpoint_dir(path)) as entries:
            for e in entries:
                if e.name.endswith(LIVE_SUFFIX):
                    try:  # never a link followed, nor a file opened
                        st = e.stat(follow_symlinks=False)
                    except OSError:
                        continue
                    out.append((e.name, st.st_mode, st.st_size, st.st_mtime_ns))
    except (OSError, ValueError):
        return ()
    return tuple(sorted(out))


def _progress(store: Store, results: list, claims: list[dict], now: float) -> dict | None:
    """The latest recorded plan: trials of its grid done / planned — those it found finished
    plus those stored since it started (a trial it trains again, a search's rung, counts when
    it ends anew) — how many it has finished itself (``ran``: what the page measures its pace
    on), and its ETA (a plan whose start is not a finite time is no plan; an ETA that is not a
    finite number is none)."""
    plans = [(at, p) for p in store.plans() if (at := _finite(p.get("started_at"))) is not None]
    if not plans:
        return None
    started_at, plan = max(plans, key=lambda ap: ap[0])
    keys = [k for k in plan["keys"] if isinstance(k, str)]
    ended = {r.config.key(): _finite(r.started_at + r.wall_s) for r in results}
    pending = _count(plan.get("pending"), len(keys))
    ran = sum(1 for k in keys if (ended.get(k) or -math.inf) >= started_at)
    if pending is None:  # an older plan: what is stored
        done = sum(1 for k in keys if k in ended)
    else:
        done = min(len(keys), len(keys) - pending + ran)
    eta = _finite(plan.get("eta_s"))
    left = None if eta is None else _finite(max(0.0, started_at + eta - now))
    return {
        "planned": len(keys),
        "done": done,
        "ran": ran,
        "started_at": started_at,
        "eta_s": eta,
        "left_s": left,
        "pending": pending,
        "label": printable(plan.get("label", ""))[:200],
        "host": printable(plan.get("host", ""))[:100],
        "running": sum(1 for c in claims if c["live"]),
    }


def _count(value: object, most: int) -> int | None:
    """A plan's count of trials it had to run, if it is a whole number from 0 to ``most``."""
    ok = isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= most
    return value if ok else None  # type: ignore[return-value]


def _identity(path: Path) -> tuple:
    """What tells that the store's files changed or were replaced: their inode, size, mtime."""
    out: list[tuple[int, int, int, int] | None] = []
    for p in (path, wal_of(path)):
        try:
            st = os.stat(p)
            out.append((st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns))
        except (OSError, ValueError):
            out.append(None)
    return tuple(out)


class Watcher:
    """Follows a store in a thread: every ``interval`` seconds it asks SQLite whether another
    connection committed (``PRAGMA data_version``) and whether the files changed; if so it
    rebuilds the snapshot and bumps :attr:`version`, numbering each changed row and table.

    Readers call :meth:`changes` (what changed after a version) and :meth:`wait` (block until
    a version after the one they have, or a timeout)."""

    def __init__(
        self,
        path: str | Path,
        *,
        rows: str = ROWS,
        cols: str = COLS,
        where: Sequence[tuple[str, str]] = (),
        interval: float = 0.5,
    ):
        check_axes(rows, cols)
        for name, _ in where:  # as `table --where` refuses it (a value no trial has yet is fine)
            if name not in AXES:
                raise ConfigError(f"unknown axis {name!r:.40} in where=; choose one of: {', '.join(AXES)}")
        self.path = Path(path)
        self.rows, self.cols, self.where = rows, cols, tuple(where)
        self.interval = interval
        self.version = 0
        self.snapshot = Snapshot()
        self._row_versions: dict[str, int] = {}
        self._table_versions: dict[str, int] = {}
        self._removed: dict[str, int] = {}
        self._summary_version = 0
        self._store: Store | None = None
        self._seen: tuple | None = None
        self._cache, self._cache_file = ReadCache(), None  # the file (device, inode) it is of
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._look()  # whatever the store holds, the server starts

    # ---------------------------------------------------------------- following the store

    def start(self) -> Watcher:
        self._close()  # SQLite's connection belongs to its thread: the watcher opens its own
        self._thread = threading.Thread(target=self._loop, name="lstm-sweep-watcher", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)  # the thread closes its connection as it ends
        else:
            self._close()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self._look()
        self._close()

    def _look(self) -> None:
        """:meth:`refresh`, where any error becomes the page's message (the watcher never dies,
        the server always starts)."""
        try:
            self.refresh()
        except Exception as e:  # noqa: BLE001 - say so in the page
            log.warning("the watcher could not read %s: %s", self.path, e)
            self._close()
            self._fail(f"cannot read the store: {type(e).__name__}")

    def _close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    def _signature(self) -> tuple:
        """The files' identity and SQLite's data version. When the files changed (a commit
        that reached the main file, a -wal that came or went, another file in its place) the
        store is opened again: a connection that read the file as ``immutable`` sees no commit."""
        ident, live = _identity(self.path), live_files(self.path)
        if self._store is not None and self._seen is not None and ident == self._seen[0]:
            try:
                return ident, self._store.data_version(), live
            except LstmSweepError:
                pass
        self._close()
        return ident, None, live

    def refresh(self) -> bool:
        """Look at the store once; True if the snapshot changed."""
        sig = self._signature()
        if sig == self._seen and self.snapshot.error is None:
            return False
        file = sig[0][0][:2] if sig[0][0] else None
        if file != self._cache_file or self.snapshot.error is not None:
            self._cache, self._cache_file = ReadCache(), file  # another file: read it all
        try:
            if self._store is None:
                self._store = Store(self.path, readonly=True)
                sig = (sig[0], self._store.data_version(), sig[2])
            elif self._seen is not None and sig[:2] == self._seen[:2]:
                # nothing committed: only running trials published more of their curves
                self._seen = sig
                summary = {
                    **self.snapshot.summary,
                    "claims": running_trials(self._store, self.rows, self.cols),
                }
                return self._publish(Snapshot(self.snapshot.rows, self.snapshot.tables, summary))
            snap = build_snapshot(self._store, self.rows, self.cols, self.where, self._cache)
        except LstmSweepError as e:
            self._close()
            self._seen, self._cache_file = sig, None
            return self._fail(printable(str(e)))
        except (OSError, ValueError) as e:
            self._close()
            self._seen, self._cache_file = sig, None
            return self._fail(f"cannot read the store: {getattr(e, 'strerror', None) or e}")
        self._seen = sig
        return self._publish(snap)

    def _fail(self, message: str) -> bool:
        if self.snapshot.error == message:
            return False
        with self._cond:
            self.version += 1
            self.snapshot = Snapshot(
                self.snapshot.rows, self.snapshot.tables, dict(self.snapshot.summary), message
            )
            self._summary_version = self.version
            self._cond.notify_all()
        return True

    def _publish(self, snap: Snapshot) -> bool:
        old = self.snapshot
        changed_rows = [k for k, row in snap.rows.items() if old.rows.get(k) != row]
        gone = [k for k in old.rows if k not in snap.rows]
        changed_tables = [k for k, t in snap.tables.items() if old.tables.get(k) != t]
        gone_tables = [k for k in old.tables if k not in snap.tables]
        summary_changed = (
            snap.summary != old.summary or list(snap.tables) != list(old.tables) or old.error is not None
        )
        if not (changed_rows or gone or changed_tables or gone_tables or summary_changed):
            return False
        with self._cond:
            self.version += 1
            v = self.version
            for k in changed_rows:
                self._row_versions[k] = v
                self._removed.pop(k, None)
            for k in gone:
                self._row_versions.pop(k, None)
                self._removed[k] = v
            for k in changed_tables:
                self._table_versions[k] = v
            for k in gone_tables:
                self._table_versions.pop(k, None)
            self._summary_version = v
            self.snapshot = snap
            self._cond.notify_all()
        return True

    # ---------------------------------------------------------------- reading it

    def changes(self, since: int = 0) -> dict:
        """What a page that has seen version ``since`` needs: every row and table changed after
        it (all of them when ``since`` is 0 or not a version of this server), the keys removed,
        the summary, the order of the tables."""
        with self._cond:
            snap, version = self.snapshot, self.version
            full = since <= 0 or since > version
            rows = [
                snap.rows[k] for k, v in self._row_versions.items() if (full or v > since) and k in snap.rows
            ]
            tables = [
                snap.tables[k]
                for k, v in self._table_versions.items()
                if (full or v > since) and k in snap.tables
            ]
            removed = [] if full else [k for k, v in self._removed.items() if v > since]
            out = {
                "version": version,
                "full": full,
                "rows": rows,
                "removed": removed,
                "tables": tables,
                "order": list(snap.tables),
                "error": snap.error,
            }
            if full or self._summary_version > since:
                out["summary"] = snap.summary
            return out

    def wait(self, since: int, timeout: float) -> int:
        """Block until the version passes ``since`` (or ``timeout`` s, or stop); the version."""
        with self._cond:
            self._cond.wait_for(lambda: self.version != since or self._stop.is_set(), timeout)
            return self.version

    def curves(self, keys: Sequence[str]) -> dict[str, list]:
        """The stored learning curves of ``keys``: step, the batch's loss and metric, the
        validation metric (null where not measured)."""
        with Store(self.path, readonly=True) as store:
            got = store.curves(keys)
        return {
            k: [[p.step, _number(p.loss), _number(p.accuracy), _number(p.val)] for p in pts]
            for k, pts in got.items()
        }


def to_json(value: object) -> str:
    """Compact JSON for the page; ``<``, ``>``, ``&`` escaped so that it may sit in HTML."""
    try:
        text = json.dumps(value, separators=(",", ":"), allow_nan=False)
    except ValueError:  # a non-finite number that slipped through: null, never an error page
        text = json.dumps(_nulled(value), separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _nulled(value: object) -> object:
    """``value`` with every non-finite float replaced by None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _nulled(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_nulled(v) for v in value]
    return value
