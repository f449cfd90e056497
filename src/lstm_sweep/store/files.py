"""What a store's path may be, before SQLite sees it: a regular file (never a folder, FIFO or
device), an SQLite file (or an empty one, a store yet to be made), and whole (not cut short)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ..errors import StoreError

SQLITE_HEADER = b"SQLite format 3\x00"


def header(path: str | Path) -> bytes:
    """The first bytes of ``path``, as many as SQLite's magic string has."""
    with open(path, "rb") as f:
        return f.read(len(SQLITE_HEADER))


def looks_like_sqlite(path: Path) -> bool:
    """An SQLite file, or an empty one (a store yet to be made)."""
    return header(path) in (SQLITE_HEADER, b"")


def is_store_file(path: str | Path) -> bool:
    """Whether ``path`` is a regular file that holds an SQLite database (an lstm-sweep store or
    another program's): what no output may ever be written over."""
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


def wal_of(path: Path) -> Path:
    """SQLite's write-ahead log beside the store."""
    return path.with_name(path.name + "-wal")


def cut_short(path: Path) -> list[str]:
    """What SQLite's integrity check does not see: a file cut short (its header's page count,
    and a size that is a whole number of pages)."""
    try:
        with open(path, "rb") as f:
            head = f.read(100)
        size = os.stat(path).st_size
    except OSError as e:
        return [f"cannot read the file ({e.strerror})"]
    if len(head) < 100:
        return [f"the file is {size} bytes, shorter than SQLite's 100-byte header"]
    page = int.from_bytes(head[16:18], "big")
    page = 65536 if page == 1 else page
    pages = int.from_bytes(head[28:32], "big")
    valid = head[24:28] == head[92:96]  # the page count is current (SQLite >= 3.7.0)
    out = []
    if page and size % page:
        out.append(f"the file is {size:,} bytes, not a whole number of {page}-byte pages "
                   "(truncated or appended to)")
    if page and valid and pages * page > size and not wal_of(path).exists():
        out.append(f"truncated: the header counts {pages} pages of {page} bytes, the file "
                   f"holds {size / page:.2f}")
    return out
