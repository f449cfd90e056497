"""lstm-sweep: how an LSTM's width and its Adam learning rate, together, decide what it learns.

Public API::

    from lstm_sweep import Grid, load_mnist, run_sweep, load_results, build_tables, render_tables
    data = load_mnist()                           # --data-dir, $LSTM_SWEEP_DATA_DIR, or the cache
    run_sweep(Grid(hidden=(32,), lrs=(1e-2,)), data, "lstm-sweep.db")
    print(render_tables(build_tables(load_results("lstm-sweep.db"))))
"""

from .config import PRESETS, Grid, TrialConfig, preset
from .data import Dataset, load_mnist
from .errors import ConfigError, DataError, LstmSweepError, StoreError
from .report import build_tables, render_tables
from .results import Status, TrialResult
from .store import Store, load_results

# Training pulls in torch; load it on first use so that `lstm-sweep table` and friends start fast.
_LAZY = {"run_sweep": "sweep", "SweepCallbacks": "sweep", "SweepSummary": "sweep",
         "run_trial": "train"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "PRESETS", "ConfigError", "DataError", "Dataset", "Grid", "LstmSweepError", "Status", "Store",
    "StoreError", "SweepCallbacks", "SweepSummary", "TrialConfig", "TrialResult", "build_tables",
    "load_mnist", "load_results", "preset", "render_tables", "run_sweep", "run_trial",
]
