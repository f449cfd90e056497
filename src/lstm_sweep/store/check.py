"""``lstm-sweep check``: every problem of a store, found without writing anything — SQLite's own
integrity and foreign-key checks, a file cut short, missing tables and columns, every trial row
and curve point (types, ranges, JSON), the environments, the rungs, the meta table's plans and
dataset fingerprints, and claims that cannot be live. Each row goes through the very function
its readers use (:mod:`.schema`), so that whatever a reader refuses, ``check`` reports."""

from __future__ import annotations

import sqlite3
import time

from ..errors import ConfigError
from .claims import DEFAULT_TIMEOUT, Claim, StaleKind, claim_timeout
from .core import StoreFile, row_error
from .files import cut_short
from .schema import (
    CLAIM_COLUMNS,
    DATASET_META,
    LOSS,
    PLAN_META,
    RUNGS_QUERY,
    TABLES,
    TRIAL_COLUMNS,
    check_curve,
    claim_problem,
    curve_columns,
    curve_point,
    curve_select,
    environment_from_row,
    fingerprint_from_row,
    plan_from_row,
    result_from_row,
    rung_from_row,
)


def check(store: StoreFile) -> list[str]:
    """Every problem found in ``store`` (empty: it is sound)."""
    conn = store.connection
    problems = cut_short(store.path, conn)
    try:
        for (line,) in conn.execute("PRAGMA integrity_check").fetchall():
            if line != "ok":
                problems.append(f"integrity: {line}")
        for table, rowid, parent, _ in conn.execute("PRAGMA foreign_key_check").fetchall():
            problems.append(f"{table} row {rowid} refers to a missing {parent} row")
    except sqlite3.Error as e:
        return [f"SQLite cannot check the file: {e}"]
    tables = (*TABLES, "claims") if store.schema_version >= 2 else TABLES
    have = {t: store.columns_of(t) for t in tables}
    curve_cols = curve_columns(store.schema_version)
    for table, columns in (("trials", TRIAL_COLUMNS), ("claims", CLAIM_COLUMNS), ("curves", curve_cols)):
        if table not in have:
            continue
        if not have[table]:
            problems.append(f"table {table} is missing")
        else:
            problems += [f"table {table} lacks column {c}" for c in columns if c not in have[table]]
    if problems:
        return problems
    return (
        _check_trials(store)
        + _check_environments(store)
        + _check_rungs(store)
        + _check_meta(store)
        + _check_claims(store)
    )


def _check_trials(store: StoreFile) -> list[str]:
    problems = []
    curves: dict[str, list] = {}
    for key, step, loss, acc, val in store.query(
        f"SELECT {curve_select(store.schema_version)} FROM curves", doing="read curves"
    ):
        try:  # then by its trial
            curves.setdefault(key, []).append(curve_point(step, loss, acc, LOSS, val))
        except ValueError as e:
            problems.append(row_error(str(e), key))
    for r in store.query(f"SELECT {', '.join(TRIAL_COLUMNS)} FROM trials", doing="read trials"):
        d = dict(zip(TRIAL_COLUMNS, r))
        try:
            curve = tuple(sorted(curves.get(d["key"], ()), key=lambda p: p.step))
            result = result_from_row(d, curve)
        except ValueError as e:
            problems.append(row_error(str(e), d["key"]))
            continue
        problem = check_curve(result)
        if problem:
            problems.append(row_error(problem, d["key"]))
    return problems


def _check_environments(store: StoreFile) -> list[str]:
    problems = []
    for row in store.query("SELECT id, info FROM environments", doing="read environments"):
        try:
            environment_from_row(*row)
        except ValueError as e:
            problems.append(str(e))
    return problems


def _check_rungs(store: StoreFile) -> list[str]:
    if "rungs" not in store.tables():
        return []
    problems = []
    for row in store.query(RUNGS_QUERY, doing="read rungs"):
        try:
            rung_from_row(*row)
        except ValueError as e:
            problems.append(row_error(str(e), row[0]))
    return problems


def _check_meta(store: StoreFile) -> list[str]:
    """The rows readers read: plans (the live page's progress) and dataset fingerprints."""
    problems = []
    for name, value in store.query("SELECT name, value FROM meta", doing="read meta"):
        if not isinstance(name, str):
            continue  # no reader looks it up
        try:
            if name.startswith(PLAN_META):
                plan_from_row(name, value)
            elif name.startswith(DATASET_META):
                fingerprint_from_row(name, value)
        except ValueError as e:
            problems.append(str(e))
    return problems


def _check_claims(store: StoreFile) -> list[str]:
    """Claims that hold no trial (a stale claim a driver would take over is not a problem;
    one that no driver can take over, or that names a trial stored already, is)."""
    if "claims" not in (store.tables() if store.schema_version >= 2 else ()):
        return []
    try:
        timeout = claim_timeout()
    except ConfigError:
        timeout = DEFAULT_TIMEOUT
    now = time.time()
    stored = {k for (k,) in store.query("SELECT key FROM trials", doing="read trials")}
    problems = []
    for row in store.query(f"SELECT {', '.join(CLAIM_COLUMNS)} FROM claims", doing="read claims"):
        c = Claim.from_row(row)
        label = f"claim of trial {str(c.key)[:40]} by {str(c.who)[:60]}"
        problem = claim_problem(row)
        if problem is not None:  # no driver holds a trial by it (one takes the trial over)
            problems.append(f"{label}: {problem}")
            continue
        why = c.staleness(now, timeout)
        if why is not None and why.kind is StaleKind.FUTURE:
            problems.append(f"{label}: {why.text}")
        if c.key in stored:
            problems.append(f"claim of trial {c.key[:40]} by {str(c.who)[:60]}: the trial is stored already")
    return problems
