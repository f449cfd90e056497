"""What a store's path may be, before SQLite sees it: a regular file (never a folder, FIFO or
device), an SQLite file (or an empty one, a store yet to be made), and whole (not cut short)."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

from ..errors import StoreError, StoreReason

SQLITE_HEADER = b"SQLite format 3\x00"


def header(path: str | Path) -> bytes:
    """The first bytes of ``path``, as many as SQLite's magic string has."""
    with open(path, "rb") as f:
        return f.read(len(SQLITE_HEADER))


def is_store_file(path: str | Path) -> bool:
    """Whether ``path`` is a regular file that holds an SQLite database (an lstm-sweep store or
    another program's): what no output may ever be written over. (It reads the file's first
    bytes: never call it on a store this process has open, see :func:`cut_short`.)"""
    try:
        return stat.S_ISREG(os.stat(path).st_mode) and header(path) == SQLITE_HEADER
    except OSError:
        return False


def check_regular(path: Path, *, must_exist: bool) -> bool:
    """Whether ``path`` exists; refuse anything but a regular file (or a link to one).

    Raises:
        StoreError: a folder, FIFO, socket or device; a missing file where ``must_exist``; a
            missing folder to create the file in.
    """
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        if must_exist:
            raise StoreError(
                f"no results store at {path}; run `lstm-sweep run` first or pass store= with the right file",
                StoreReason.MISSING,
            ) from None
        if not path.parent.is_dir():
            raise StoreError(
                f"cannot create the results store {path}: folder {path.parent} does not exist",
                StoreReason.BAD_PATH,
            ) from None
        return False
    except OSError as e:
        raise StoreError(
            f"{path}: cannot access the results store ({e.strerror})", StoreReason.BAD_PATH
        ) from e
    if stat.S_ISDIR(mode):
        raise StoreError(f"{path} is a folder; store= needs a file path", StoreReason.BAD_PATH)
    if not stat.S_ISREG(mode):
        raise StoreError(
            f"{path} is not a regular file (a FIFO, socket or device); store= needs a file path",
            StoreReason.BAD_PATH,
        )
    return True


def wal_of(path: Path) -> Path:
    """SQLite's write-ahead log beside the store."""
    return path.with_name(path.name + "-wal")


def cut_short(path: Path, conn: sqlite3.Connection) -> list[str]:
    """What SQLite's integrity check does not see: a file cut short (its header's page count,
    and a size that is a whole number of pages), read through the store's own connection
    ``conn`` and ``stat``: this process must never open and close the store's file itself, for
    closing any descriptor of a file drops every POSIX lock the process holds on it (SQLite's
    own among them: another driver could then think itself the last one and delete the WAL
    under this one's feet)."""
    try:
        size = os.stat(path).st_size
        page = conn.execute("PRAGMA page_size").fetchall()[0][0]
        pages = conn.execute("PRAGMA page_count").fetchall()[0][0]
    except (OSError, sqlite3.Error) as e:
        return [f"cannot read the file ({getattr(e, 'strerror', None) or e})"]
    if 0 < size < 100:
        return [f"the file is {size} bytes, shorter than SQLite's 100-byte header"]
    out = []
    if page and size % page:
        out.append(
            f"the file is {size:,} bytes, not a whole number of {page}-byte pages (truncated or appended to)"
        )
    if page and pages * page > size and not wal_of(path).exists():
        out.append(
            f"truncated: the header counts {pages} pages of {page} bytes, the file holds {size / page:.2f}"
        )
    return out
