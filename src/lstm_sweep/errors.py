"""The project's exceptions: one root, a few children.

Everything meant for a user derives from :class:`LstmSweepError`; the CLI catches it in one place
and prints ``Error: <message>`` with exit code 2.
"""

from __future__ import annotations


class LstmSweepError(Exception):
    """Root of all errors lstm-sweep raises on purpose (bad input, bad files, bad store)."""


class ConfigError(LstmSweepError, ValueError):
    """A grid, preset or trial configuration is invalid."""


class DataError(LstmSweepError):
    """A dataset file is missing, corrupt, or cannot be downloaded."""


class StoreError(LstmSweepError):
    """The results store cannot be opened, read or written."""
