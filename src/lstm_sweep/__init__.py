"""lstm-sweep: how an LSTM's width and its Adam learning rate, together, decide what it learns.

The public API: what a program needs to plan, run and search a sweep, read a store, report on
it and serve it (``docs/api.md`` lists each name)::

    from lstm_sweep import Grid, load_dataset, run_sweep, load_results, build_tables, render_tables
    data = load_dataset()                         # data_dir=, $LSTM_SWEEP_DATA_DIR, or the cache
    run_sweep(Grid(hidden=(32,), lr=(1e-2,)), data, "lstm-sweep.db")
    print(render_tables(build_tables(load_results("lstm-sweep.db"))))

Step by step, as ``lstm-sweep run`` does it (``docs/DESIGN.md``: request -> plan -> executor ->
engine -> store -> reports)::

    request = sweep_request(grid, "lstm-sweep.db", device="cpu", executor="local")  # checked
    plan = plan_sweep(request.with_data(load_dataset()))   # pending trials, work units, costs
    print(plan.render()); plan.check()                   # memory and ETA refusals
    summary = execute(plan)                              # results committed as they arrive

Each layer offers more from its package (``lstm_sweep.study``, ``.data``, ``.store``,
``.running``, ``.reporting``, ``.serve``): the choices and limits, the plumbing the CLI uses.
"""

from __future__ import annotations

import importlib
import warnings
from typing import TYPE_CHECKING

from .data import DATASETS, Dataset, Task, load_dataset, load_text
from .errors import ConfigError, DataError, LstmSweepError, StoreError
from .reporting import (
    OutputError,
    StoreSummary,
    Verdict,
    build_tables,
    compare,
    export_rows,
    findings,
    load_reference,
    plot_coord_check,
    plot_figures,
    render_comparison,
    render_coord_table,
    render_export,
    render_findings,
    render_html,
    render_tables,
    results_dataframe,
    save_figure,
    select,
    summarize_store,
    verdicts,
)
from .store import Store, check_store, load_results
from .study import (
    PRESETS,
    TASKS,
    CoordPoint,
    Grid,
    Status,
    TrialConfig,
    TrialResult,
    lr_range,
    preset,
)

if TYPE_CHECKING:
    from .running import (
        Plan,
        SearchCallbacks,
        SearchPlan,
        SearchSummary,
        SweepCallbacks,
        SweepRequest,
        SweepSummary,
        coord_check,
        execute,
        plan_search,
        plan_sweep,
        plan_transfer,
        run_search,
        run_sweep,
        run_transfer,
        sweep_request,
    )
    from .serve import serve_store
    from .training import run_trial

# Running and training load torch, serving an HTTP server: on first use, so that reading a store
# and reporting start fast (and never load torch). Each name -> the layer package it comes from.
_LAZY = {
    **{
        name: ".running"
        for name in (
            "Plan",
            "SearchCallbacks",
            "SearchPlan",
            "SearchSummary",
            "SweepCallbacks",
            "SweepRequest",
            "SweepSummary",
            "coord_check",
            "execute",
            "plan_search",
            "plan_sweep",
            "plan_transfer",
            "run_search",
            "run_sweep",
            "run_transfer",
            "sweep_request",
        )
    },
    "run_trial": ".training",
    "serve_store": ".serve",
}

# Names of lstm-sweep 0.x's public API that now live in a layer's package only: still found here,
# with a DeprecationWarning naming their place (docs/api.md, "Moved").
_MOVED = {
    **{
        name: "lstm_sweep.study"
        for name in (
            "CELLS",
            "COORD_WIDTHS",
            "INITS",
            "LIMITS",
            "OPTIMIZERS",
            "PARAMS",
            "PRECISIONS",
            "QUANTITIES",
            "READOUTS",
            "axis_options",
        )
    },
    "load_mnist": "lstm_sweep.data",
    "claim_timeout": "lstm_sweep.store",
    **{
        name: "lstm_sweep.running"
        for name in ("EXECUTORS", "human_bytes", "human_seconds", "render_search_summary")
    },
    **{name: "lstm_sweep.training" for name in ("ENGINE_CHOICES", "train_group")},
    **{
        name: "lstm_sweep.reporting"
        for name in (
            "AXES",
            "EXPORT_FORMATS",
            "FORMATS",
            "METRICS",
            "PLOT_KINDS",
            "STATS",
            "FigureSpec",
            "check_axes",
            "check_folder",
            "check_target",
            "load_environments",
            "output_folder",
            "plan_figures",
            "plot_gaps",
            "printable",
            "render_coord_csv",
            "write_output",
        )
    },
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    if name in _MOVED:
        warnings.warn(
            f"lstm_sweep.{name} has moved: import it from {_MOVED[name]}", DeprecationWarning, stacklevel=2
        )
        return getattr(importlib.import_module(_MOVED[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    # describe a sweep
    "Grid",
    "PRESETS",
    "preset",
    "lr_range",
    "TrialConfig",
    # data and tasks
    "DATASETS",
    "Dataset",
    "load_dataset",
    "TASKS",
    "Task",
    "load_text",
    # run, search, check a parametrization
    "run_sweep",
    "sweep_request",
    "SweepRequest",
    "plan_sweep",
    "Plan",
    "execute",
    "SweepCallbacks",
    "SweepSummary",
    "run_trial",
    "plan_search",
    "run_search",
    "SearchPlan",
    "SearchCallbacks",
    "SearchSummary",
    "plan_transfer",
    "run_transfer",
    "coord_check",
    # read results
    "load_results",
    "TrialResult",
    "Status",
    "Store",
    "check_store",
    "summarize_store",
    "StoreSummary",
    "select",
    # report
    "build_tables",
    "render_tables",
    "findings",
    "render_findings",
    "compare",
    "render_comparison",
    "load_reference",
    "plot_figures",
    "save_figure",
    "render_html",
    "export_rows",
    "render_export",
    "results_dataframe",
    "CoordPoint",
    "verdicts",
    "Verdict",
    "render_coord_table",
    "plot_coord_check",
    # serve
    "serve_store",
    # errors
    "LstmSweepError",
    "ConfigError",
    "DataError",
    "StoreError",
    "OutputError",
]
