"""The reports of a store: ``table``, ``findings``, ``compare``, ``plot``, ``report``,
``export``. Each reads the store, computes, renders, writes or prints; nothing trains."""

from __future__ import annotations

from pathlib import Path

import click

import lstm_sweep as api
from lstm_sweep import LstmSweepError, build_tables, load_results, render_tables
from lstm_sweep.reporting import (
    AXES,
    EXPORT_FORMATS,
    METRICS,
    PLOT_KINDS,
    STATS,
    check_axes,
    check_folder,
    check_optuna_target,
    check_target,
    check_tensorboard_target,
    export_optuna,
    export_tensorboard,
    load_environments,
    output_folder,
    plan_figures,
    plural,
    printable,
    write_output,
)
from lstm_sweep.study import LIMITS

from . import options as o
from .params import LRS, Choice

# --reference for compare and report: the published numbers a store is compared with.
reference = click.option(
    "--reference",
    default="hw2",
    show_default=True,
    help="Published numbers to compare with: hw2 = the seed's Table 1 (the homework's rows of "
    "MNIST, per width and rate); tcn = the TCN paper's Table 1 (Bai, Kolter & Koltun 2018: "
    "pixels, permuted, adding, copy, chars), our best per task and cell beside the published "
    "number, its setup and what differs; or the path of a CSV table of your own (widths by "
    "rates, as `table --format csv` writes it: hidden,lr_0.001,...; DNF where none).",
)


def stored(db, curves: bool = False):
    """The store's trials; an error that says how to fill it when it holds none."""
    results = load_results(db, with_curves=curves)
    if not results:
        raise LstmSweepError(f"{db} holds no trials yet; run `lstm-sweep run --db {db}` first")
    return results


def selected(db, rows: str, cols: str, where, curves: bool = False):
    """The stored trials ``--where`` picks, for a layout of ``--rows`` x ``--cols`` (the axes
    checked before the store is read)."""
    check_axes(rows, cols)
    return api.select(stored(db, curves), where)


@click.command(
    "table",
    epilog=o.examples(
        "lstm-sweep table                                # Table 1: hidden size x learning rate",
        "lstm-sweep table --rows hidden --cols cell --best-over lr --format markdown",
        "lstm-sweep table --metric time --stat median --where optimizer=adam",
    ),
)
@o.db
@o.table_format
@click.option(
    "--metric",
    type=Choice(tuple(METRICS)),
    default="accuracy",
    show_default=True,
    help="What each cell shows: accuracy = test accuracy (a task's own metric: bpc, MSE), "
    "validation = the same on the validation split, loss = the final training loss, time = "
    "wall seconds per trial.",
)
@click.option(
    "--stat",
    type=Choice(STATS),
    default="mean",
    show_default=True,
    help="Per cell over seeds: mean ± std, median, best seed, or all values.",
)
@o.axes_options
@click.option(
    "--best-over",
    type=Choice(tuple(AXES)),
    help="Each cell at its best value of this axis (by mean accuracy, shown after "
    "@), e.g. --rows hidden --cols cell --best-over lr.",
)
def table(db, fmt, metric, stat, rows, cols, where, best_over) -> None:
    """Print Table 1 (rows = hidden size, columns = learning rate; or any two axes) from the
    store, one table per value of the other axes that vary."""
    results = selected(db, rows, cols, where)
    click.echo(render_tables(build_tables(results, metric, rows, cols, best_over), fmt, stat))


@click.command(
    "findings",
    epilog=o.examples(
        "lstm-sweep findings", "lstm-sweep findings --db hw2.db --rows hidden --cols param --where cell=lstm"
    ),
)
@o.db
@o.axes_options
def findings_cmd(db, rows, cols, where) -> None:
    """Short sentences computed from the stored results, each with its numbers: per table,
    then across the tables."""
    results = selected(db, rows, cols, where)
    click.echo(api.render_findings(api.findings(results, rows, cols)))


@click.command(
    "compare",
    epilog=o.examples(
        "lstm-sweep compare --db hw2.db --reference hw2",
        "lstm-sweep compare --db tasks.db --reference tcn   # adding, copy, pixels, ... vs the TCN paper",
        "lstm-sweep compare --db mine.db --reference theirs.csv   # a table of your own",
    ),
)
@o.db
@reference
def compare_cmd(db, reference) -> None:
    """Per cell: the published value vs ours (mean ± std), the difference, and a summary; with
    --reference tcn, per task and cell: our best result vs the published number and setup."""
    api.load_reference(reference)  # an unknown or unreadable reference: said before the store
    click.echo(api.render_comparison(api.compare(stored(db), reference)))


@click.command(
    "plot",
    epilog=o.examples(
        "lstm-sweep plot                                 # every kind into plots/, as PNG",
        "lstm-sweep plot --kind heatmap --kind curves --hidden 128 --format svg --out figures",
        "lstm-sweep plot --kind transfer --cols lr --where cell=lstm",
        "lstm-sweep plot --kind scaling --format svg      # for a paper: the exponent, in vector form",
    ),
)
@o.db
@click.option(
    "--kind",
    "kinds",
    type=Choice(("all", *PLOT_KINDS)),
    multiple=True,
    default=("all",),
    show_default=True,
    help="Which plots (repeatable).",
)
@o.out_folder
@click.option(
    "--format",
    "fmt",
    type=Choice(("png", "svg", "pdf")),
    default="png",
    show_default=True,
    help="Image format (svg and pdf: vector, for a paper).",
)
@click.option(
    "--hidden",
    type=click.IntRange(1, LIMITS["hidden"]),
    help="Curves of this width only (a row)  [default: every width, a row of panels each]",
)
@click.option("--lr", type=LRS, help="Curves of this learning rate (a column).")
@o.overwrite
@o.axes_options
def plot_cmd(db, kinds, out_dir, fmt, hidden, lr, overwrite, rows, cols, where) -> None:
    """Heatmap, accuracy vs time (Pareto front), learning curves, best rate per width, the
    best rate against width (log-log: its fitted exponent and the divergence frontier, one
    line per parametrization), and learning-rate transfer across widths (one column per
    parametrization): one file per kind and table (facet)."""
    if lr is not None and len(lr) != 1:
        raise click.BadParameter("give one learning rate", param_hint="'--lr'")
    lr = lr[0] if lr else None
    chosen = PLOT_KINDS if "all" in kinds else tuple(dict.fromkeys(kinds))
    results = selected(db, rows, cols, where, curves=True)
    specs, missing = plan_figures(results, chosen, hidden, lr, rows, cols)
    folder = check_folder(out_dir)
    if folder.exists():
        for spec in specs:  # refuse before drawing anything
            check_target(folder / f"{spec.name}.{fmt}", fmt, overwrite=overwrite, protect=[db])
    folder = output_folder(out_dir)
    for spec in specs:
        click.echo(
            printable(api.save_figure(spec.draw(), folder / f"{spec.name}.{fmt}", overwrite=overwrite))
        )
    for name, why in missing.items():
        click.echo(printable(f"{name}: nothing to show ({why})"), err=True)


@click.command(
    "report",
    epilog=o.examples(
        "lstm-sweep report                               # report.html from lstm-sweep.db",
        "lstm-sweep report --db hw2.db --out hw2.html --rows hidden --cols param",
    ),
)
@o.db
@o.out_file("report.html")
@reference
@o.overwrite
@o.axes_options
def report_cmd(db, out, reference, overwrite, rows, cols, where) -> None:
    """One self-contained HTML file: tables, plots, findings, comparison, environment."""
    check_axes(rows, cols)
    api.load_reference(reference)  # an unknown reference: say so before any work
    check_target(out, "html", overwrite=overwrite, protect=[db])  # refuse before the work
    results = selected(db, rows, cols, where, curves=True)
    text = api.render_html(results, load_environments(db), reference, rows=rows, cols=cols)
    path = write_output(out, text, "html", overwrite=overwrite, protect=[db])
    click.echo(printable(f"{path} ({len(text) // 1024} KB)"))


@click.command(
    "export",
    epilog=o.examples(
        "lstm-sweep export > trials.csv", "lstm-sweep export --curves --format jsonl --out curves.jsonl"
    ),
)
@o.db
@click.option(
    "--format",
    "fmt",
    type=Choice((*EXPORT_FORMATS, "optuna", "tensorboard")),
    default="csv",
    show_default=True,
    help="csv = one header line, then rows; jsonl = a JSON object a line; optuna = an Optuna "
    "study in the Optuna storage (SQLite) --out names, which optuna-dashboard opens (needs "
    "optuna); tensorboard = a run per trial (curves, hyperparameters) in the log folder --out "
    "names (needs tensorboard).",
)
@click.option(
    "--curves", is_flag=True, help="One row per learning-curve point (long form) instead of one per trial."
)
@o.out_file(None)
@click.option(
    "--study",
    help=o.with_default("The Optuna study's name (--format optuna)", "the store's file name without .db"),
)
@o.overwrite
def export_cmd(db, fmt, curves, out, study, overwrite) -> None:
    """Every trial as data: configuration, status, metrics, times (CSV or JSON lines), or as an
    Optuna study (its parameters, value, learning curve as intermediate values, state)."""
    if fmt == "optuna" or study is not None:
        _export_optuna(db, fmt, out, study, overwrite)
        return
    if fmt == "tensorboard":
        _export_tensorboard(db, out, overwrite)
        return
    if out is not None:
        check_target(out, fmt, overwrite=overwrite, protect=[db])
    text = api.render_export(stored(db, curves=curves), fmt, curves)
    if out is None:
        click.echo(text, nl=False)
    else:
        path = write_output(out, text, fmt, overwrite=overwrite, protect=[db])
        click.echo(printable(f"{path} ({text.count(chr(10)) - (fmt == 'csv')} rows)"), err=True)


def _export_optuna(db, fmt, out, study, overwrite) -> None:
    if fmt != "optuna":
        raise click.UsageError("--study names an Optuna study: give it with --format optuna")
    if out is None:
        raise click.UsageError("--format optuna writes an Optuna storage: give its file with --out study.db")
    check_optuna_target(out, protect=[db])  # refused before the store is read
    name = study if study is not None else Path(db).name.removesuffix(".db") or "lstm-sweep"
    written = export_optuna(stored(db, curves=True), out, name, overwrite=overwrite, protect=[db])
    for study_name, n in written:
        click.echo(printable(f"{out}: study {study_name!r}, {plural(n, 'trial')}"), err=True)
    click.echo(printable(f"open it: optuna-dashboard sqlite:///{Path(out).resolve()}"), err=True)


def _export_tensorboard(db, out, overwrite) -> None:
    if out is None:
        raise click.UsageError("--format tensorboard writes a log folder: give it with --out runs")
    check_tensorboard_target(out, protect=[db])  # refused before the store is read
    names = export_tensorboard(stored(db, curves=True), out, overwrite=overwrite, protect=[db])
    click.echo(printable(f"{out}: {plural(len(names), 'run')}, one per trial"), err=True)
    click.echo(printable(f"open it: tensorboard --logdir {Path(out).resolve()}"), err=True)
