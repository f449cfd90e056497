"""The one place that talks to ``sqlite3`` about failure: every store operation runs inside
:func:`storage_errors`, which turns SQLite's errors (and numbers it cannot hold) into a
:class:`~lstm_sweep.errors.StoreError` that names the store, what was being done, and the way out.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import StoreError


def hint(e: BaseException) -> str:
    """What a user can do about an SQLite error, as a clause to append (or nothing)."""
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


@contextmanager
def storage_errors(path: Path, doing: str) -> Iterator[None]:
    """Run a block of store work; an SQLite error becomes ``StoreError("<path>: cannot
    <doing> (<error>); <hint>")``.

    Raises:
        StoreError: from any ``sqlite3.Error`` or ``OverflowError`` inside the block.
    """
    try:
        yield
    except (sqlite3.Error, OverflowError) as e:
        raise StoreError(f"{path}: cannot {doing} ({e}){hint(e)}") from e


def first(conn: sqlite3.Connection, sql: str, params: tuple = ()) -> tuple | None:
    """The first row of a query, or None; every row is read, so that no statement stays active.

    (A statement stepped but not finished keeps its read transaction open, even in autocommit
    mode: that connection then reads an old snapshot of the store, and sees no other driver's
    heartbeat or result, for as long as the statement lives.)"""
    rows = conn.execute(sql, params).fetchall()
    return rows[0] if rows else None
