"""Reporting: stored results into tables (:mod:`.tables`, laid out on any two
:mod:`.axes`), findings (:mod:`.findings`), figures (:mod:`.plots`), the HTML report
(:mod:`.html`), exports (:mod:`.export`), and files written safely (:mod:`.outputs`). Compute,
then render. Never imports torch, training or running: a report starts fast and runs anywhere
the store can be read.

What other layers use (the live page, :mod:`lstm_sweep.serve`) is imported from here."""

from ..study import plural
from .axes import AXES, COLS, ROWS, check_axes, facet, facet_key, select
from .checks import pairs
from .coords import Verdict, plot_coord_check, render_coord_csv, render_coord_table, verdicts
from .export import EXPORT_FORMATS, export_rows, render_export, results_dataframe
from .findings import compare, findings, load_reference, render_comparison, render_findings
from .html import render_html
from .optuna_export import check_optuna_target, export_optuna
from .outputs import OutputError, check_folder, check_target, output_folder, write_output
from .plots import KINDS as PLOT_KINDS
from .plots import FigureSpec, plan_figures
from .plots import figures as plot_figures
from .plots import gaps as plot_gaps
from .plots import save as save_figure
from .summary import StoreSummary, load_environments, summarize_store
from .tables import (
    FORMATS,
    METRICS,
    STATS,
    Table,
    build_tables,
    cell_text,
    describe,
    facet_name,
    render_tables,
    varied_fields,
)
from .tensorboard_export import check_tensorboard_target, export_tensorboard
from .text import printable

__all__ = [
    "AXES",
    "COLS",
    "EXPORT_FORMATS",
    "check_optuna_target",
    "check_tensorboard_target",
    "export_tensorboard",
    "export_optuna",
    "FORMATS",
    "METRICS",
    "PLOT_KINDS",
    "ROWS",
    "STATS",
    "FigureSpec",
    "OutputError",
    "StoreSummary",
    "Table",
    "Verdict",
    "build_tables",
    "cell_text",
    "check_axes",
    "check_folder",
    "check_target",
    "compare",
    "describe",
    "export_rows",
    "facet",
    "facet_key",
    "facet_name",
    "findings",
    "load_environments",
    "load_reference",
    "output_folder",
    "pairs",
    "plan_figures",
    "plot_coord_check",
    "plot_figures",
    "plot_gaps",
    "plural",
    "printable",
    "render_comparison",
    "render_coord_csv",
    "render_coord_table",
    "render_export",
    "render_findings",
    "render_html",
    "render_tables",
    "results_dataframe",
    "save_figure",
    "select",
    "summarize_store",
    "varied_fields",
    "verdicts",
    "write_output",
]
