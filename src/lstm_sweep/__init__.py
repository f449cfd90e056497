"""lstm-sweep: how an LSTM's width and its Adam learning rate, together, decide what it learns.

Public API (the ``lstm-sweep`` command uses nothing else)::

    from lstm_sweep import Grid, load_mnist, run_sweep, load_results, build_tables, render_tables
    data = load_mnist()                           # --data-dir, $LSTM_SWEEP_DATA_DIR, or the cache
    run_sweep(Grid(hidden=(32,), lrs=(1e-2,)), data, "lstm-sweep.db")
    print(render_tables(build_tables(load_results("lstm-sweep.db"))))

Step by step, as ``lstm-sweep run`` does it (``docs/DESIGN.md``: request -> plan -> executor ->
engine -> store -> reports)::

    request = sweep_request(grid, "lstm-sweep.db", device="cpu", executor="local")  # checked
    plan = plan_sweep(request.with_data(load_mnist()))   # pending trials, work units, costs
    print(plan.render()); plan.check()                   # memory and ETA refusals
    summary = execute(plan)                              # results committed as they arrive
"""

from .axes import AXES, check_axes, select
from .config import (
    CELLS,
    INITS,
    LIMITS,
    OPTIMIZERS,
    PRECISIONS,
    PRESETS,
    Grid,
    TrialConfig,
    preset,
)
from .cost import human_bytes, human_seconds
from .data import DATASETS, Dataset, load_mnist
from .engines import ENGINE_CHOICES
from .errors import ConfigError, DataError, LstmSweepError, StoreError
from .executors import EXECUTORS
from .export import EXPORT_FORMATS, export_rows, render_export, results_dataframe
from .findings import compare, findings, load_reference, render_comparison, render_findings
from .html import render_html
from .outputs import OutputError, check_folder, check_target, output_folder, write_output
from .plots import KINDS as PLOT_KINDS
from .plots import FigureSpec, plan_figures
from .plots import figures as plot_figures
from .plots import gaps as plot_gaps
from .plots import save as save_figure
from .report import FORMATS, METRICS, STATS, build_tables, render_tables
from .results import Status, TrialResult
from .store import Store, check_store, load_results

# Training pulls in torch; load it on first use so that `lstm-sweep table` and friends start fast.
_LAZY = {"run_sweep": "sweep", "sweep_request": "sweep", "plan_sweep": "sweep",
         "execute": "sweep", "SweepCallbacks": "sweep", "SweepSummary": "sweep",
         "SweepRequest": "sweep", "Plan": "sweep", "run_trial": "train"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "AXES", "CELLS", "DATASETS", "OPTIMIZERS", "ENGINE_CHOICES", "EXECUTORS", "EXPORT_FORMATS",
    "FORMATS", "FigureSpec", "INITS", "LIMITS", "METRICS", "PLOT_KINDS",
    "PRECISIONS", "PRESETS", "STATS", "ConfigError", "DataError", "Dataset", "Grid",
    "LstmSweepError", "OutputError", "Plan", "Status", "Store", "StoreError", "SweepCallbacks",
    "SweepRequest", "SweepSummary", "TrialConfig", "TrialResult", "build_tables",
    "check_axes", "check_folder", "check_store", "check_target", "compare", "execute",
    "export_rows",
    "findings", "render_export", "results_dataframe",
    "human_bytes", "human_seconds", "load_mnist", "load_reference", "load_results",
    "output_folder", "plan_figures", "plan_sweep", "plot_figures", "plot_gaps", "preset",
    "render_comparison", "select",
    "render_findings", "render_html", "render_tables", "run_sweep", "run_trial", "save_figure",
    "sweep_request", "write_output",
]
