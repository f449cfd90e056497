"""The results store: one SQLite file, one row per finished trial.

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
- ``sqlite3`` errors surface as :class:`~lstm_sweep.errors.StoreError` (:mod:`.core`), whose
  ``reason`` (:class:`~lstm_sweep.errors.StoreReason`) tells the kind of failure to code.
- A dataset's name means one dataset in a store: trials of other data under the same name are
  refused (:meth:`Store.bind_dataset`).

Concurrent drivers (several ``lstm-sweep run`` on one store, on one machine) cooperate through
*claims* (:mod:`.claims`). SQLite's locks need a local file system: a store on NFS or another
network file system is not supported (its locking is unreliable there, and a heartbeat cannot
tell a slow network from a dead driver); to spread one sweep over machines, use the Ray
executor, whose driver alone writes the store.

The modules, by job, each importing only those before it: :mod:`.files` (what a store's path
may be), :mod:`.schema` (tables, columns, versions, reading a row back), :mod:`.core` (a store
file opened, created or migrated; its connection, transactions and reads; SQLite's errors),
:mod:`.claims` (drivers, claims, the heartbeat), :mod:`.check` (``lstm-sweep check``),
:mod:`.store` (save, read). The store imports the study's records only: never training, running
or reporting.
"""

from .claims import (
    DEFAULT_TIMEOUT,
    Claim,
    Driver,
    Heartbeat,
    StaleKind,
    Staleness,
    claim_timeout,
    heartbeat_interval,
)
from .core import StoreFile
from .files import check_regular, is_store_file, wal_of
from .schema import COLUMNS, SCHEMA, SCHEMA_VERSION, result_from_row, result_problem
from .store import Store, check_store, dataset_mismatch, load_results

__all__ = [
    "COLUMNS",
    "DEFAULT_TIMEOUT",
    "SCHEMA",
    "SCHEMA_VERSION",
    "Claim",
    "Driver",
    "Heartbeat",
    "StaleKind",
    "Staleness",
    "Store",
    "StoreFile",
    "check_regular",
    "check_store",
    "claim_timeout",
    "dataset_mismatch",
    "heartbeat_interval",
    "is_store_file",
    "load_results",
    "result_from_row",
    "result_problem",
    "wal_of",
]
