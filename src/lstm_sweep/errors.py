"""The project's exceptions: one root, a few children.

Everything meant for a user derives from :class:`LstmSweepError`; the CLI catches it in one place
and prints ``Error: <message>`` with exit code 2. A message is for people: code that must tell
failures apart reads a structured value (:attr:`StoreError.reason`), never the message's words.
"""

from __future__ import annotations

import enum


class LstmSweepError(Exception):
    """Root of all errors lstm-sweep raises on purpose (bad input, bad files, bad store)."""


class ConfigError(LstmSweepError, ValueError):
    """A grid, preset or trial configuration is invalid."""


class DataError(LstmSweepError):
    """A dataset file is missing, corrupt, or cannot be downloaded."""


class StoreReason(enum.Enum):
    """What kind of failure a :class:`StoreError` is."""

    BAD_PATH = "bad path"  # not a file path: a folder, FIFO or device, or in a missing folder
    MISSING = "missing"  # no store at the path (a reader never creates one)
    NOT_A_STORE = "not a store"  # not an SQLite file, another program's, or holding no results
    NEWER = "newer"  # a schema this version cannot read
    DAMAGED = "damaged"  # a table, row or the file itself is damaged
    READ_ONLY = "read-only"  # the store or its folder cannot be written
    FULL = "full"  # the disk is full (or failing)
    BUSY = "busy"  # another connection holds the lock longer than we wait
    REFUSED = "refused"  # a result no reader would take, or another dataset under a known name
    CLOSED = "closed"  # the store was closed
    OTHER = "other"  # anything else (another error SQLite reports, among others)


class StoreError(LstmSweepError):
    """The results store cannot be opened, read or written.

    Attributes:
        reason: what kind of failure (:class:`StoreReason`); the message says it to people.
    """

    def __init__(self, message: str, reason: StoreReason = StoreReason.OTHER):
        super().__init__(message)
        self.reason = reason  # (kept by pickle: an exception's __dict__ travels with it)
