"""lstm-sweep: how an LSTM's width and its Adam learning rate, together, decide what it learns.

Public API (the ``lstm-sweep`` command uses nothing else)::

    from lstm_sweep import Grid, load_dataset, run_sweep, load_results, build_tables, render_tables
    data = load_dataset()                         # --data-dir, $LSTM_SWEEP_DATA_DIR, or the cache
    run_sweep(Grid(hidden=(32,), lr=(1e-2,)), data, "lstm-sweep.db")
    print(render_tables(build_tables(load_results("lstm-sweep.db"))))

Step by step, as ``lstm-sweep run`` does it (``docs/DESIGN.md``: request -> plan -> executor ->
engine -> store -> reports)::

    request = sweep_request(grid, "lstm-sweep.db", device="cpu", executor="local")  # checked
    plan = plan_sweep(request.with_data(load_dataset()))   # pending trials, work units, costs
    print(plan.render()); plan.check()                   # memory and ETA refusals
    summary = execute(plan)                              # results committed as they arrive
"""

from .data import DATASETS, Dataset, load_dataset, load_mnist
from .errors import ConfigError, DataError, LstmSweepError, StoreError
from .reporting.axes import AXES, check_axes, select
from .reporting.coords import Verdict, plot_coord_check, render_coord_csv, render_coord_table, verdicts
from .reporting.export import EXPORT_FORMATS, export_rows, render_export, results_dataframe
from .reporting.findings import compare, findings, load_reference, render_comparison, render_findings
from .reporting.html import render_html
from .reporting.outputs import OutputError, check_folder, check_target, output_folder, write_output
from .reporting.plots import KINDS as PLOT_KINDS
from .reporting.plots import FigureSpec, plan_figures
from .reporting.plots import figures as plot_figures
from .reporting.plots import gaps as plot_gaps
from .reporting.plots import save as save_figure
from .reporting.summary import StoreSummary, load_environments, summarize_store
from .reporting.tables import FORMATS, METRICS, STATS, build_tables, render_tables
from .reporting.text import printable
from .running.cost import human_bytes, human_seconds
from .running.executors import EXECUTORS
from .store import Store, check_store, claim_timeout, load_results
from .study import (
    CELLS,
    INITS,
    LIMITS,
    OPTIMIZERS,
    PARAMS,
    PRECISIONS,
    PRESETS,
    READOUTS,
    Grid,
    TrialConfig,
    axis_options,
    lr_range,
    preset,
)
from .study.coords import COORD_WIDTHS, QUANTITIES, CoordPoint
from .study.results import Status, TrialResult
from .training.engines import ENGINE_CHOICES

# Training pulls in torch; load it on first use so that `lstm-sweep table` and friends start fast.
_LAZY = {"run_sweep": "running.sweep", "sweep_request": "running.sweep",
         "plan_sweep": "running.sweep", "execute": "running.sweep",
         "SweepCallbacks": "running.sweep", "SweepSummary": "running.sweep",
         "SweepRequest": "running.sweep", "Plan": "running.sweep", "run_trial": "training.train",
         "coord_check": "running.coordcheck", "plan_search": "running.search",
         "run_search": "running.search", "SearchPlan": "running.search",
         "SearchSummary": "running.search", "SearchCallbacks": "running.search",
         "render_search_summary": "running.search", "train_group": "training.train",
         "serve_store": "serve.server"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "AXES", "CELLS", "COORD_WIDTHS", "DATASETS", "ENGINE_CHOICES", "EXECUTORS", "EXPORT_FORMATS", "FORMATS",
    "INITS", "LIMITS", "METRICS", "OPTIMIZERS", "PARAMS", "PLOT_KINDS", "PRECISIONS", "PRESETS",
    "QUANTITIES", "READOUTS", "STATS", "build_tables", "check_axes", "check_folder", "check_store",
    "check_target", "claim_timeout", "compare", "ConfigError", "coord_check", "CoordPoint",
    "DataError", "Dataset", "execute", "export_rows", "FigureSpec", "findings", "Grid",
    "human_bytes", "human_seconds", "load_dataset", "load_mnist", "load_reference", "load_results",
    "lr_range", "LstmSweepError", "output_folder", "OutputError", "Plan", "plan_figures",
    "plan_sweep", "plot_coord_check", "plot_figures", "plot_gaps", "preset", "printable",
    "render_comparison", "render_coord_csv", "render_coord_table", "render_export",
    "render_findings", "render_html", "plan_search", "run_search", "SearchPlan", "SearchSummary",
    "SearchCallbacks", "render_search_summary", "train_group", "serve_store",
    "render_tables", "results_dataframe", "run_sweep",
    "run_trial", "save_figure", "select", "Status", "Store", "StoreError",
    "StoreSummary", "load_environments", "summarize_store", "sweep_request",
    "SweepCallbacks", "SweepRequest", "SweepSummary", "TrialConfig", "TrialResult", "Verdict",
    "verdicts", "write_output", "axis_options",
]
