"""Plots (matplotlib, Agg, imported lazily): the data for each plot is computed by a pure
function first (tested), and drawn second. One figure per kind and table (facet: see
:func:`lstm_sweep.reporting.tables.build_tables`), each with a caption that says what it shows.

- heatmap of accuracy over the table's rows x columns (width x learning rate by default);
- accuracy vs time per trial, coloured by row, with the Pareto front;
- learning curves of one row (a width) or one column (a learning rate), one colour per
  series and the seeds as shades of it;
- best learning rate per width, with the band of rates within 0.5 points of the best;
- the scaling figure: the best rate against width (log-log) below the grid's resolution, with
  the fitted power law, its band and exponent, and the divergence frontier, one colour per
  parametrization (:mod:`lstm_sweep.reporting.scaling`);
- the transfer figure (Tensor Programs V, arXiv 2203.03466, Fig. 1): final training loss and
  test accuracy against the learning rate, one curve per width, one column per parametrization
  (sp and mup of one model side by side: one figure per table without its parametrization).
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError
from ..study import Metric, Status, TrialResult
from . import checks
from .axes import AXES, COLS, ROWS, check_axes, facet
from .findings import band_text, best_per_row, frontier_per_row, in_band, param_groups
from .scaling import Scaling, scaling_applies, scaling_of
from .tables import ACCURACY, Table, build_tables, facet_name, is_accuracy, param_name, table_key

KINDS = ("heatmap", "time", "curves", "best-lr", "scaling", "transfer")
# kinds drawn once per group of tables that differ only in their parametrization
_ACROSS_PARAMS = ("scaling", "transfer")


def _pyplot():
    import warnings

    import matplotlib

    # a name in a script the font lacks (a dataset called 日本語) is drawn as boxes: not news
    warnings.filterwarnings("ignore", message="Glyph .* missing from font", category=UserWarning)
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _np():
    import numpy

    return numpy


# --------------------------------------------------------------------------- data


def heatmap_data(table: Table) -> tuple[list[list[float]], list[list[str]]]:
    """(values, labels) per (row, column): NaN + "DNF"/"failed"/"" where no value; a diverged
    seed adds "*" to the label."""
    values, labels = [], []
    for h in table.rows:
        vrow, lrow = [], []
        for lr in table.cols:
            c = table.cell(h, lr)
            vrow.append(c.mean if c.mean is not None else math.nan)
            if c.label is not None or c.mean is None:
                lrow.append(c.label or "")
            else:
                shown = f"{c.mean:.3f}" if is_accuracy(table) else f"{c.mean:.3g}"
                lrow.append(shown + ("*" if c.diverged else ""))
        values.append(vrow)
        labels.append(lrow)
    return values, labels


def pareto_front(
    points: Sequence[tuple[float, float]], measure: Metric = ACCURACY
) -> list[tuple[float, float]]:
    """(time, accuracy) points no other point beats on both (less time and a better value of
    ``measure``: more accuracy, less loss), sorted by time."""
    front, best = [], -math.inf
    for t, acc in sorted(points, key=lambda p: (p[0], -measure.key(p[1]))):
        if measure.key(acc) > best:
            front.append((t, acc))
            best = measure.key(acc)
    return front


def time_points(results: Sequence[TrialResult], by: str = ROWS) -> list[tuple[float, float, object]]:
    """(wall seconds, test accuracy, value of axis ``by``: the width by default) of every trial
    that has an accuracy (and a time that a log axis can show)."""
    axis = AXES[by]
    return [
        (r.wall_s, r.test_accuracy, axis.value(r.config))
        for r in results
        if r.test_accuracy is not None and math.isfinite(r.test_accuracy) and r.wall_s > 0
    ]


def _series_label(axis_name: str, value) -> str:
    if axis_name == "lr":
        return f"lr {value:g}"
    return f"{value} units" if axis_name == "hidden" else AXES[axis_name].label(value)


def curve_series(
    results: Sequence[TrialResult],
    hidden: int | None = None,
    lr: float | None = None,
    rows: str = ROWS,
    cols: str = COLS,
) -> dict[str, list[tuple[int, list[tuple[int, float | None, float | None, float | None]]]]]:
    """Label -> [(seed, [(step, loss, accuracy, val)])] for the trials of one row or one column
    of a table: ``hidden``/``lr`` pick trials; where that fixes the table's rows (``hidden`` for
    the seed's layout) the series are its columns, where it fixes the columns they are its rows.
    With neither, the last row (the widest width). ``val``: the validation metric where it was
    measured (``--val-every``); a curve that has some ends with the trial's own, at its last
    step (``(steps_done, None, None, val_accuracy)``)."""
    row_axis = AXES[rows]
    pick = [
        r
        for r in results
        if (hidden is None or r.config.hidden == hidden) and (lr is None or r.config.lr == lr)
    ]
    fixed = {name for name, v in (("hidden", hidden), ("lr", lr)) if v is not None}
    if cols in fixed and rows not in fixed:
        by = rows
    else:
        by = cols
        if rows not in fixed and pick:  # the last row: the widest width
            last = max({row_axis.value(r.config) for r in pick}, key=row_axis.sort_key)
            pick = [r for r in pick if row_axis.value(r.config) == last]
    axis = AXES[by]
    out: dict[str, list] = {}
    for r in sorted(pick, key=lambda r: (axis.sort_key(axis.value(r.config)), r.config.seed)):
        points = [(p.step, p.loss, p.accuracy, p.val) for p in r.curve]
        measured = [q for q in points if q[3] is not None]
        if measured and r.val_accuracy is not None and r.steps_done > measured[-1][0]:
            points.append((r.steps_done, None, None, r.val_accuracy))
        out.setdefault(_series_label(by, axis.value(r.config)), []).append((r.config.seed, points))
    return out


def best_lr_data(table: Table) -> dict[int, dict]:
    """Width -> best lr, its accuracy (the task's metric), and the lowest/highest rate within
    the band."""
    out = {}
    for h, (lr, acc) in best_per_row(table).items():
        band = [
            x for x in table.cols if (c := table.cell(h, x)).mean is not None and in_band(table, c.mean, acc)
        ]
        out[h] = {"lr": lr, "accuracy": acc, "low": min(band), "high": max(band)}
    return out


@dataclass(frozen=True)
class TransferPoint:
    """One width at one rate of a transfer panel: the mean final training loss of the seeds
    that finished (None: none did), the mean test accuracy (as the tables: every seed that has
    one, diverged ones too), and how many of its seeds diverged or failed."""

    lr: float
    loss: float | None
    accuracy: float | None
    blown: int


@dataclass(frozen=True)
class TransferPanel:
    """One parametrization's column of the transfer figure: its name (``sp``, ``mup (base
    64)``), width -> its points by rate, and width -> its best rate (by mean test accuracy, as
    the findings choose it)."""

    title: str
    widths: dict[int, list[TransferPoint]]
    best: dict[int, float]


def _mean_loss(trials: Sequence[TrialResult]) -> float | None:
    """The mean final training loss of the trials that finished with a finite one."""
    losses = [
        r.train_loss
        for r in trials
        if r.status == Status.DONE and r.train_loss is not None and math.isfinite(r.train_loss)
    ]
    return sum(losses) / len(losses) if losses else None


def transfer_panels(results: Sequence[TrialResult]) -> list[TransferPanel]:
    """The columns of one transfer figure, from trials that differ only in width, rate, seed
    and parametrization: one per parametrization, sp first (trials of several models give a
    column per model and parametrization, in the tables' order).

    Raises:
        ConfigError: ``results`` is not a list of TrialResult.
    """
    results = checks.results(results)
    tables = build_tables(results, "accuracy", "hidden", "lr")
    cells: dict[tuple, list[TrialResult]] = {}
    for r in results:
        where = (table_key(r.config, facet(r.config)), r.config.hidden, r.config.lr)
        cells.setdefault(where, []).append(r)
    panels = []
    for table in (t for _, members in param_groups(tables) for t in members):
        key = table.key
        widths = {}
        for h in table.rows:
            points = []
            for lr in table.cols:
                trials = cells.get((key, h, lr), [])
                if trials:
                    points.append(
                        TransferPoint(
                            lr,
                            _mean_loss(trials),
                            table.cell(h, lr).mean,
                            sum(r.status in (Status.DIVERGED, Status.FAILED) for r in trials),
                        )
                    )
            widths[h] = points
        best = {h: lr for h, (lr, _) in best_per_row(table).items()}
        panels.append(
            TransferPanel(param_name(table.protocol) if "param" in table.protocol else "", widths, best)
        )
    return panels


def scaling_lines(results: Sequence[TrialResult]) -> list[Scaling]:
    """The lines of one scaling figure, from trials that differ only in width, rate, seed and
    parametrization: a :class:`~lstm_sweep.reporting.scaling.Scaling` per table (width x
    rate) with three widths or more, sp first (trials of several models: one per model and
    parametrization, in the tables' order).

    Raises:
        ConfigError: ``results`` is not a list of TrialResult.
    """
    results = checks.results(results)
    tables = [
        t for _, members in param_groups(build_tables(results, "accuracy", "hidden", "lr")) for t in members
    ]
    return [scaling_of(t, frontier_per_row(t)) for t in tables if scaling_applies(t) is None]


def shades(rgb: tuple[float, ...], n: int) -> list[tuple[float, float, float]]:
    """``n`` shades of one colour, from the colour itself towards white (seeds of one series)."""
    r, g, b = rgb[:3]
    if n <= 1:
        return [(r, g, b)]

    def toward_white(c: float, i: int) -> float:
        return c + (1 - c) * 0.65 * i / (n - 1)

    return [(toward_white(r, i), toward_white(g, i), toward_white(b, i)) for i in range(n)]


# --------------------------------------------------------------------------- drawing


def _log_ticks(axis, lo: float, hi: float) -> None:
    """Readable ticks on a log axis: plain numbers (``0.5``, ``2``, ``10``), no labels on minor
    ticks (matplotlib labels those when the data spans less than a decade, and they overlap),
    and 1-2-5 steps where the data spans under two decades."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    subs = (1.0, 2.0, 5.0) if hi / max(lo, 1e-12) < 100 else (1.0,)
    axis.set_major_locator(LogLocator(base=10, subs=subs))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(NullFormatter())


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _metric_label(measure: Metric) -> str:
    """An axis or colour bar's label: ``test accuracy``, ``bits per character (lower is
    better)``."""
    return measure.title if measure.higher_is_better else f"{measure.title} ({measure.direction})"


def _colour_scale(table: Table, values: list[list[float]]) -> tuple[str, float, float]:
    """(colour map, low, high) of a heatmap, so that better is the same colour (viridis'
    yellow) whichever way the metric points: an accuracy from the table's lowest value to its
    highest (the colour bar says which); a loss reversed, from its smallest to its largest value
    (at most its chance level, where known)."""
    finite = [v for row in values for v in row if math.isfinite(v)]
    if table.measure.higher_is_better:  # the table's own range: 0.73 and 0.97 look different
        low, high = min(finite, default=0.0), max(finite, default=1.0)
        return "viridis", low, high if high > low else low + 0.01
    low = min(finite, default=0.0)
    high = max(finite, default=1.0)
    if table.chance is not None and low < table.chance < high:
        high = table.chance
    return "viridis_r", low, high if high > low else low + 1.0


def _brightness(v: float, cmap: str, low: float, high: float) -> float:
    """How light a value's colour is, from 0 (dark) to 1 (viridis' yellow)."""
    x = min(max((v - low) / (high - low), 0.0), 1.0)
    return 1.0 - x if cmap.endswith("_r") else x


def plot_heatmap(table: Table, title: str = ""):
    plt = _pyplot()
    values, labels = heatmap_data(table)
    rows, cols = table.axes
    spread = table.seeds > 1
    fig, ax = plt.subplots(
        figsize=(1.1 * len(table.cols) + 2, (0.75 if spread else 0.55) * len(table.rows) + 1.6)
    )
    cmap, low, high = _colour_scale(table, values)
    colours = plt.get_cmap(cmap).with_extremes(bad="#d9d9d9")  # no value (pruned, DNF): grey
    tried = [[math.isfinite(v) or bool(labels[i][j]) for j, v in enumerate(r)] for i, r in enumerate(values)]
    masked = _np().ma.masked_invalid(_np().array(values, dtype=float))
    im = ax.imshow(masked, cmap=colours, vmin=low, vmax=high, aspect="auto")
    for i, flags in enumerate(tried):  # never tried: white, no label (not grey like a result)
        for j, was in enumerate(flags):
            if not was:
                ax.add_patch(plt.Rectangle((j - 0.5, i - 0.5), 1, 1, color="white", zorder=1))
    # the axes hold the grid's values, equally spaced: no "log scale", whatever their spacing
    names = [cols.label(c) for c in table.cols]
    crowded = len(names) > 6 and max(map(len, names)) > 6
    ax.set_xticks(
        range(len(table.cols)), names, rotation=45 if crowded else 0, ha="right" if crowded else "center"
    )
    ax.set_yticks(range(len(table.rows)), [rows.label(r) for r in table.rows])
    ax.set_xlabel(cols.title)
    ax.set_ylabel(rows.title)
    for i, texts in enumerate(labels):
        for j, said in enumerate(texts):
            v = values[i][j]
            light = math.isnan(v) or _brightness(v, cmap, low, high) > 0.6
            cell = table.cell(table.rows[i], table.cols[j])
            text = str(said)
            if spread and cell.std is not None and math.isfinite(v):
                text += f"\n±{cell.std:.3f}" if is_accuracy(table) else f"\n±{cell.std:.2g}"
            ax.text(j, i, text, ha="center", va="center", fontsize=7 if spread else 8,
                    color="black" if light else "white", zorder=2)  # fmt: skip
    fig.colorbar(im, ax=ax, label=_metric_label(table.measure))
    seeds = f" ({table.seeds} seeds: mean ± std)" if spread else ""
    ax.set_title(f"{_capital(table.measure.title)} by {rows.noun} and {cols.noun}{title}{seeds}", fontsize=9)
    fig.tight_layout()
    return fig


def plot_time(results: Sequence[TrialResult], by: str = ROWS, title: str = "", measure: Metric = ACCURACY):
    plt = _pyplot()
    points = time_points(results, by)
    axis = AXES[by]
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    groups = sorted({v for _, _, v in points}, key=axis.sort_key)
    cmap = plt.get_cmap("plasma")
    for k, g in enumerate(groups):
        xs = [t for t, _, w in points if w == g]
        ys = [a for _, a, w in points if w == g]
        colour = cmap(0.85 * k / max(len(groups) - 1, 1))  # plasma short of its yellow: legible on white
        ax.scatter(xs, ys, color=colour, label=_series_label(by, g), s=22, edgecolors="white", linewidths=0.4)
    front = pareto_front([(t, a) for t, a, _ in points], measure)
    if front:
        ax.step(
            [t for t, _ in front],
            [a for _, a in front],
            where="post",
            color="gray",
            linestyle="--",
            label="Pareto front",
        )
    ax.set_xscale("log")
    if points:
        _log_ticks(ax.xaxis, min(t for t, _, _ in points), max(t for t, _, _ in points))
    ax.set_xlabel("wall time per trial (s, log scale)")
    ax.set_ylabel(_metric_label(measure))
    what = "Accuracy" if measure.name == "accuracy" else _capital(measure.title)
    ax.set_title(f"{what} vs time per trial{title}", fontsize=10)
    # beside the axes, never over a point
    ax.legend(
        fontsize=7,
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        frameon=False,
        ncol=2 if len(groups) > 12 else 1,
    )
    fig.tight_layout()
    return fig


def plot_curves(series: dict[str, list], title: str = "", measure: Metric = ACCURACY):
    """Draw :func:`curve_series`' output: one colour per series, its seeds as shades; the
    right panel the batch's metric (a loss on a log scale where every point is positive), and
    the validation split's where measured (dashed, with dots)."""
    return plot_curve_rows([("", series)], title, measure)


MAX_CURVE_ROWS = 12  # a figure of every row's curves up to this many rows (else the widest's)


def _has_val(rows: Sequence[tuple[str, dict[str, list]]]) -> bool:
    """Whether any curve of ``rows`` has a validation point."""
    return any(
        len(p) > 3 and p[3] is not None
        for _, s in rows
        for runs in s.values()
        for _, pts in runs
        for p in pts
    )


def plot_curve_rows(rows: Sequence[tuple[str, dict[str, list]]], title: str = "", measure: Metric = ACCURACY):
    """Learning curves of several rows of a table (e.g. every width), a row of two panels each
    (batch loss, log scale; the metric, with the validation split's where measured, dashed):
    one colour per series label (the same in every row), its seeds as shades, one legend."""
    plt = _pyplot()
    n = max(1, len(rows))
    height = 3.8 if n == 1 else 1.2 + 2.3 * n
    fig, axes = plt.subplots(n, 2, figsize=(10, height), sharex="col", squeeze=False)
    labels = list(dict.fromkeys(label for _, series in rows for label in series))
    cmap = plt.get_cmap("viridis" if len(labels) > 10 else "tab10")
    colour = {
        label: cmap(k / max(len(labels) - 1, 1)) if len(labels) > 10 else cmap(k % 10)
        for k, label in enumerate(labels)
    }
    seeds = max((len(v) for _, series in rows for v in series.values()), default=1)
    what = "accuracy" if measure.name == "accuracy" else measure.title
    named: set[str] = set()
    faint = 0.45 if _has_val(rows) else 1.0  # the batch's curve behind the validation one
    for (row_label, series), (ax_loss, ax_acc) in zip(rows, axes):
        for label, runs in series.items():
            for color, (_, pts) in zip(shades(colour[label], len(runs)), runs):
                batch = [p for p in pts if p[1] is not None or p[2] is not None]
                steps = [p[0] for p in batch]
                name = None if label in named else label  # one legend entry per series
                named.add(label)
                ax_loss.plot(steps, [p[1] for p in batch], color=color, label=name, linewidth=1)
                ax_acc.plot(steps, [p[2] for p in batch], color=color, linewidth=1, alpha=faint)
                val = [(p[0], p[3]) for p in pts if len(p) > 3 and p[3] is not None]
                if val:
                    dashed = {"linestyle": "--", "marker": "o", "markersize": 3}
                    ax_acc.plot(*zip(*val), color=color, linewidth=1.2, **dashed)
        points = [p for runs in series.values() for _, pts in runs for p in pts]
        ax_loss.set_yscale("log")
        losses = [p[1] for p in points if p[1] is not None and p[1] > 0]
        if losses:  # plain numbers (0.5, 2), never 2×10⁰
            _log_ticks(ax_loss.yaxis, min(losses), max(losses))
        has_val = _has_val([(row_label, series)])
        prefix = f"{row_label}\n" if row_label else ""
        ax_loss.set_ylabel(f"{prefix}batch loss (log)")
        ax_acc.set_ylabel(what if has_val else f"batch {what}")
        values = [v for p in points for v in (p[2], p[3] if len(p) > 3 else None) if v is not None]
        if not measure.higher_is_better and values and min(values) > 0:
            ax_acc.set_yscale("log")
            ax_acc.set_ylabel(ax_acc.get_ylabel() + " (log)")
    axes[-1][0].set_xlabel("step")
    axes[-1][1].set_xlabel("step")
    fig.suptitle(
        f"Learning curves{title}" + (f" ({seeds} seeds as shades)" if seeds > 1 else ""), fontsize=10
    )
    # beside the top right panel, never over a curve
    handles, names = axes[0][0].get_legend_handles_labels()
    if faint < 1:
        from matplotlib.lines import Line2D

        handles += [
            Line2D([], [], color="0.4", linewidth=1, alpha=faint),
            Line2D([], [], color="0.4", linewidth=1.2, linestyle="--", marker="o", markersize=3),
        ]
        names += ["batch", "validation"]
    axes[0][1].legend(
        handles,
        names,
        fontsize=7,
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        frameon=False,
        ncol=2 if len(labels) > 14 else 1,
    )
    fig.tight_layout()
    return fig


def plot_best_lr(table: Table, title: str = ""):
    from matplotlib.ticker import NullLocator

    plt = _pyplot()
    data = best_lr_data(table)
    widths = list(data)
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.fill_between(
        widths,
        [data[h]["low"] for h in widths],
        [data[h]["high"] for h in widths],
        color="tab:blue",
        alpha=0.18,
        edgecolor="tab:blue",
        linewidth=0.8,
        linestyle=":",
        label=f"within {band_text(table)}" + (" of the best" if is_accuracy(table) else ""),
    )
    ax.plot(widths, [data[h]["lr"] for h in widths], marker="o", label="best rate")
    for h in widths:  # each point says its rate and what it reached there
        value = f"{data[h]['accuracy']:.3f}" if is_accuracy(table) else f"{data[h]['accuracy']:.3g}"
        ax.annotate(
            f"{data[h]['lr']:.3g} ({value})",
            (h, data[h]["lr"]),
            fontsize=7,
            textcoords="offset points",
            xytext=(4, 4),
        )
    ax.set_xscale("log", base=2)
    ax.set_xticks(widths)  # the widths themselves (16, 32), never 2⁴
    ax.set_xticklabels([f"{h:g}" for h in widths])
    ax.xaxis.set_minor_locator(NullLocator())
    ax.margins(x=0.15)  # room for the last point's label
    ax.set_yscale("log")
    rates = [v for h in widths for v in (data[h]["low"], data[h]["high"], data[h]["lr"]) if v and v > 0]
    if rates:
        _log_ticks(ax.yaxis, min(rates), max(rates))
    ax.set_xlabel(table.axes[0].title)
    ax.set_ylabel("learning rate")
    ax.set_title(f"Best learning rate per {table.axes[0].noun}{title}", fontsize=10)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    fig.tight_layout()
    return fig


def _width_colours(plt, widths: Sequence[int]) -> dict[int, tuple]:
    """One colour per width, narrow (dark) to wide (light), the same in every panel (viridis'
    last yellow is left out: it hardly shows on white)."""
    cmap = plt.get_cmap("viridis")
    return {h: cmap(0.85 * k / max(len(widths) - 1, 1)) for k, h in enumerate(widths)}


def _draw_transfer_panel(ax_loss, ax_acc, panel: TransferPanel, colours: dict) -> None:
    """One parametrization: a curve per width (loss above, accuracy below), its best rate as a
    star on both (the loss star only where a loss was drawn)."""
    for h, points in panel.widths.items():
        colour, best = colours[h], panel.best.get(h)
        loss = [(p.lr, p.loss) for p in points if p.loss is not None]
        acc = [(p.lr, p.accuracy) for p in points if p.accuracy is not None]
        if loss:
            ax_loss.plot(*zip(*loss), color=colour, marker=".", linewidth=1.2)
        if acc:
            ax_acc.plot(*zip(*acc), color=colour, marker=".", linewidth=1.2)
        for ax, pts in ((ax_loss, loss), (ax_acc, acc)):
            at = [y for x, y in pts if x == best]
            if at:
                ax.plot(
                    [best],
                    at,
                    marker="*",
                    markersize=11,
                    color=colour,
                    markeredgecolor="black",
                    markeredgewidth=0.6,
                    linestyle="none",
                )
    ax_loss.set_title(panel.title, fontsize=10)


def _mark_blown(ax_loss, panel: TransferPanel, colours: dict) -> None:
    """An x along the top edge of the loss panel where a seed diverged or failed, one row of
    them per width (several widths blow up at one rate), drawn once the limits are set: it
    must not move them."""
    row = {h: k for k, h in enumerate(colours)}  # every width's row, the same in each panel
    for h, points in panel.widths.items():
        xs = [p.lr for p in points if p.blown]
        if xs:
            ax_loss.plot(
                xs,
                [0.97 - 0.05 * row[h]] * len(xs),
                transform=ax_loss.get_xaxis_transform(),
                marker="x",
                markersize=7,
                color=colours[h],
                linestyle="none",
                clip_on=False,
                scalex=False,
                scaley=False,
            )


def plot_transfer(panels: Sequence[TransferPanel], title: str = "", measure: Metric = ACCURACY):
    """Draw :func:`transfer_panels`' output: a column per parametrization, final training
    loss (top) and test accuracy (bottom) against the rate, a curve per width."""
    from matplotlib.lines import Line2D

    plt = _pyplot()
    n = max(len(panels), 1)
    fig, axes = plt.subplots(2, n, figsize=(4.2 * n + 1.6, 6.6), sharex=True, sharey="row", squeeze=False)
    widths = sorted({h for p in panels for h in p.widths})
    colours = _width_colours(plt, widths)
    for k, panel in enumerate(panels):
        _draw_transfer_panel(axes[0][k], axes[1][k], panel, colours)
    rates = [p.lr for panel in panels for pts in panel.widths.values() for p in pts]
    losses = [p.loss for panel in panels for pts in panel.widths.values() for p in pts if p.loss is not None]
    for k in range(n):
        axes[0][k].set_xscale("log")
        if rates:
            _log_ticks(axes[1][k].xaxis, min(rates), max(rates))
        axes[1][k].set_xlabel("learning rate (log scale)")
    if losses and min(losses) > 0:
        axes[0][0].set_yscale("log")
        _log_ticks(axes[0][0].yaxis, min(losses), max(losses))
    axes[0][0].set_ylabel("final training loss" + (" (log scale)" if losses and min(losses) > 0 else ""))
    axes[1][0].set_ylabel(_metric_label(measure))
    for k, panel in enumerate(panels):
        _mark_blown(axes[0][k], panel, colours)
    handles = [Line2D([], [], color=colours[h], marker=".", label=f"{h} units") for h in widths]
    handles += [
        Line2D(
            [],
            [],
            color="gray",
            marker="*",
            markersize=10,
            linestyle="none",
            markeredgecolor="black",
            label="best rate",
        ),
        Line2D([], [], color="gray", marker="x", linestyle="none", label="a seed diverged or failed"),
    ]
    axes[0][n - 1].legend(
        handles=handles, fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0
    )
    fig.suptitle(
        f"Final training loss and {measure.title} against the learning rate, per width{title}", fontsize=10
    )
    fig.tight_layout()
    return fig


def _alpha_label(s: Scaling) -> str:
    """A line's name in the legend: ``sp: α = 0.93 (0.71–1.15)``."""
    fit = s.fit
    if fit is None:
        return f"{s.name}: α not fitted (under two widths inside the grid)"
    sep = " to " if fit.low < 0 else "–"
    return f"{s.name}: α = {fit.alpha:.2f} ({fit.low:.2f}{sep}{fit.high:.2f})"


_FRONTIER_MARKERS = ("x", "+", "1", "2", "3", "4")  # frontiers often coincide: told apart by marker


def _draw_scaling_line(ax, s: Scaling, colour, k: int = 0) -> None:
    """One parametrization (the ``k``-th): its estimates with their intervals (error bars;
    hollow where at the grid's edge), the fitted power law and its 95 % band, and the frontier
    (dashed; a marker of its own, since the frontiers of two parametrizations often
    coincide)."""
    inside = [(h, e) for h, e in s.estimates.items() if e is not None and not e.edge]
    edges = [(h, e) for h, e in s.estimates.items() if e is not None and e.edge]
    if inside:
        ax.errorbar(
            [h for h, _ in inside],
            [e.rate for _, e in inside],
            yerr=[[e.rate - e.low for _, e in inside], [e.high - e.rate for _, e in inside]],
            fmt="o",
            color=colour,
            markersize=5,
            capsize=3,
            linewidth=1.0,
            label=None if s.fit is not None else _alpha_label(s),
        )
    if edges:
        ax.plot(
            [h for h, _ in edges],
            [e.rate for _, e in edges],
            marker="o",
            markersize=6,
            markerfacecolor="none",
            color=colour,
            linestyle="none",
            gid="edge",
            label=None if s.fit is not None or inside else _alpha_label(s),
        )
    if s.fit is not None:
        lo, hi = min(s.widths), max(s.widths)
        steps = 48
        ws = sorted({round(lo * (hi / lo) ** (i / steps)) for i in range(steps + 1)})
        preds = [s.fit.predict(w) for w in ws]
        ax.fill_between(
            ws, [p.low for p in preds], [p.high for p in preds], color=colour, alpha=0.15, linewidth=0
        )
        ax.plot(ws, [p.rate for p in preds], color=colour, linewidth=1.5, label=_alpha_label(s), gid="fit")
    if s.frontier:
        fw = sorted(s.frontier)
        ax.plot(
            fw,
            [s.frontier[h] for h in fw],
            color=colour,
            linestyle="--",
            marker=_FRONTIER_MARKERS[k % len(_FRONTIER_MARKERS)],
            markersize=8,
            linewidth=1.2,
            label=f"{s.name}: divergence frontier",
            gid="frontier",
        )


def plot_scaling(lines: Sequence[Scaling], title: str = ""):
    """Draw :func:`scaling_lines`' output: the best rate against width, log-log, one colour per
    parametrization (the estimates with their 95 % intervals, the fitted power law with its
    95 % band and alpha in the legend, the divergence frontier dashed).

    Raises:
        ConfigError: ``lines`` is empty or not a list of Scaling.
    """
    from matplotlib.lines import Line2D

    lines = checks.items_of("lines", lines, Scaling, "a Scaling (from scaling_lines)")
    if not lines:
        raise ConfigError("lines is empty: no table has three widths or more (see scaling_lines)")
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7.4, 4.8))
    cmap = plt.get_cmap("tab10")
    for k, s in enumerate(lines):
        _draw_scaling_line(ax, s, cmap(k % 10), k)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    widths = sorted({h for s in lines for h in s.widths})
    ax.set_xticks(widths)
    ax.set_xticklabels([str(h) for h in widths])
    ax.minorticks_off()
    ax.set_xlabel("hidden units (log scale)")
    ax.set_ylabel("learning rate (log scale)")
    handles, _ = ax.get_legend_handles_labels()
    if any(e is not None and e.edge for s in lines for e in s.estimates.values()):
        handles.append(
            Line2D(
                [],
                [],
                color="gray",
                marker="o",
                markerfacecolor="none",
                linestyle="none",
                label="best at the grid's edge (left out of the fit)",
            )
        )
    ax.legend(handles=handles, fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0)
    ax.set_title(f"Best learning rate against width{title}", fontsize=10)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- which figures


NO_ACCURACY = "no trial has an accuracy (every one failed or ran out of memory)"


@dataclass(frozen=True)
class FigureSpec:
    """One figure to draw: its file stem (``heatmap``, or ``heatmap-gru`` with several tables),
    its kind, the table (facet) it shows, a caption saying what it shows, and how to draw it."""

    name: str
    kind: str
    facet: str
    caption: str
    draw: Callable[[], object]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9.=]+", "-", text.lower()).strip("-")[:60] or "table"


@dataclass(frozen=True)
class _Facet:
    """What the figures of one table (facet) are planned from: the table, its trials, its name
    (empty with one table), and the curves asked for (``hidden``/``lr``)."""

    table: Table
    members: list[TrialResult]
    name: str
    hidden: int | None
    lr: float | None

    @property
    def rows(self) -> str:
        return self.table.row_axis

    @property
    def cols(self) -> str:
        return self.table.col_axis

    @property
    def of(self) -> str:
        """The facet in a caption: `` (GRU)``."""
        return f" ({self.name})" if self.name else ""

    @property
    def title(self) -> str:
        """The facet in a figure's title: `` — GRU``."""
        return f" — {self.name}" if self.name else ""

    @property
    def accuracy(self) -> bool:
        """Whether its task is scored by accuracy (the homework's), not by a loss."""
        return is_accuracy(self.table)

    @property
    def metric(self) -> str:
        """Its metric as a caption starts: ``Test accuracy``, ``Bits per character (lower is
        better)``."""
        return _capital(_metric_label(self.table.measure))


# A planner: the caption and the drawing of one figure of a facet, or why it has nothing to show.
Planned = tuple[str, Callable[[], object]] | str


def _plan_heatmap(f: _Facet) -> Planned:
    rows, cols = f.table.axes
    return (
        f"{f.metric}{f.of} by {rows.title} (rows) and {cols.title} (columns), the mean "
        "over seeds; * a seed diverged, DNF ran out of memory.",
        lambda: plot_heatmap(f.table, f.title),
    )


def _plan_time(f: _Facet) -> Planned:
    if not time_points(f.members, f.rows):
        return NO_ACCURACY
    return (
        f"{f.metric} against wall time per trial{f.of} (log scale), one point per trial, "
        f"coloured by {f.table.axes[0].noun}; the dashed line is the Pareto front (no "
        f"other trial is both faster and {'more accurate' if f.accuracy else 'lower'}).",
        lambda: plot_time(f.members, f.rows, f.title, f.table.measure),
    )


def _curves_at(f: _Facet) -> str:
    """Which curves a caption names: `` at 32 units, lr 0.01``; by default the last row."""
    if f.hidden is None and f.lr is None:
        row_axis = f.table.axes[0]
        last = max({row_axis.value(r.config) for r in f.members}, key=row_axis.sort_key)
        return f" at {_series_label(f.rows, last)}"
    return " at " + ", ".join(
        x
        for x in (
            f"{f.hidden} units" if f.hidden is not None else "",
            f"lr {f.lr:g}" if f.lr is not None else "",
        )
        if x
    )


def _plan_curves(f: _Facet) -> Planned:
    if f.hidden is None and f.lr is None:  # every row, where there are not too many
        row_axis = f.table.axes[0]
        values = sorted({row_axis.value(r.config) for r in f.members}, key=row_axis.sort_key)
        if 1 < len(values) <= MAX_CURVE_ROWS:
            return _plan_curve_rows(f, values)
    series = curve_series(f.members, f.hidden, f.lr, f.rows, f.cols)
    if not any(pts for runs in series.values() for _, pts in runs):
        what = (
            f"{f.hidden} units"
            if f.hidden is not None
            else f"lr {f.lr:g}"
            if f.lr is not None
            else "the last row"
        )
        return f"no learning curve for {what}" if series else f"no trial of {what} is stored"
    at = _curves_at(f)
    return (
        f"Learning curves{f.of}{at}: {_curves_shown(f, series)}",
        lambda: plot_curves(series, f.title + at, f.table.measure),
    )


def _curves_shown(f: _Facet, *series: dict[str, list]) -> str:
    """What a curves caption says is drawn (the validation curve where one was measured)."""
    validated = _has_val([("", s) for s in series])
    return (
        f"batch loss (log scale) and batch {'accuracy' if f.accuracy else f.table.measure.title} "
        "during training"
        + (", with the validation split's (dashed, dots) where measured" if validated else "")
        + ", one colour per series, each seed a shade of it."
    )


def _plan_curve_rows(f: _Facet, values: list) -> Planned:
    row_axis = f.table.axes[0]
    rows = []
    for v in values:
        members = [r for r in f.members if row_axis.value(r.config) == v]
        series = curve_series(members, None, None, f.rows, f.cols)
        if any(pts for runs in series.values() for _, pts in runs):
            rows.append((_series_label(f.rows, v), series))
    if not rows:
        return "no learning curve is stored"
    return (
        f"Learning curves{f.of}, a row of panels per {row_axis.noun} ({len(rows)}): "
        + _curves_shown(f, *(s for _, s in rows)),
        lambda: plot_curve_rows(rows, f.title, f.table.measure),
    )


def _plan_best_lr(f: _Facet) -> Planned:
    rows, cols = f.table.axes
    if cols.name != "lr" or not rows.numeric:
        return "the best-rate plot needs learning rates as columns and a numeric row axis"
    if not any(c.values for c in f.table.cells.values()):
        return NO_ACCURACY
    return (
        f"Best learning rate per {rows.noun}{f.of} (line; the number is its "
        f"{'accuracy' if f.accuracy else f.table.measure.title}) and "
        f"the band of rates within {band_text(f.table)}{' of it' if f.accuracy else ''}.",
        lambda: plot_best_lr(f.table, f.title),
    )


SCALING_SHAPE = "the scaling plot needs widths as rows and learning rates as columns"


def _scaling_applies(results: Sequence[TrialResult], rows: str, cols: str) -> str | None:
    """Why the scaling plot cannot show ``results`` (None: it can): it needs widths as rows,
    rates as columns, and a table with three widths or more that have a result."""
    if (rows, cols) != ("hidden", "lr"):
        return SCALING_SHAPE
    tables = build_tables(results, "accuracy", "hidden", "lr")
    reasons = [scaling_applies(t) for t in tables]
    if not reasons:
        return "the store holds no trials"
    if any(why is None for why in reasons):
        return None
    return str(reasons[0]).replace("scaling of the best rate", "scaling plot")


def _plan_scaling(f: _Facet) -> Planned:
    why = _scaling_applies(f.members, f.rows, f.cols)
    if why:
        return why
    lines = scaling_lines(f.members)
    names = ", ".join(s.name for s in lines)
    return (
        f"The best learning rate against width{f.of} (log-log), one colour per parametrization "
        f"({names}): each width's best rate below the grid's resolution (a parabola in log rate "
        "through the best grid rate and its neighbours, by mean "
        f"{f.table.measure.title}) with its 95 % interval over seeds; a hollow marker where "
        "the best is at the grid's edge (left out of the fit). The solid line is the fitted "
        "power law, best rate ∝ width^−α, with its 95 % band and α in the legend; the dashed "
        "line of the same colour is the divergence frontier (the smallest rate from which "
        "training fails). Theory: α ≈ 1 under sp with Adam (shallower with a cross-entropy "
        "loss, Haas et al., arXiv 2505.22491), α ≈ 0 under μP.",
        lambda: plot_scaling(lines, f.title),
    )


TRANSFER_SHAPE = "the transfer plot needs widths as rows and learning rates as columns"


def _transfer_applies(results: Sequence[TrialResult], rows: str, cols: str) -> str | None:
    """Why the transfer plot cannot show ``results`` (None: it can): it needs widths as rows,
    rates as columns, and two of each."""
    if (rows, cols) != ("hidden", "lr"):
        return TRANSFER_SHAPE
    widths = {r.config.hidden for r in results}
    rates = {r.config.lr for r in results}
    if len(widths) < 2 or len(rates) < 2:
        return (
            f"the transfer plot needs two widths and two learning rates or more (here "
            f"{len(widths)} and {len(rates)})"
        )
    return None


def _plan_transfer(f: _Facet) -> Planned:
    why = _transfer_applies(f.members, f.rows, f.cols)
    if why:
        return why
    panels = transfer_panels(f.members)
    if not any(p.accuracy is not None for panel in panels for pts in panel.widths.values() for p in pts):
        return NO_ACCURACY
    columns = ", ".join(p.title for p in panels)
    return (
        f"Learning rate transfer across widths{f.of} (μTransfer, Tensor Programs V, Fig. 1): "
        f"final training loss (top) and {f.table.measure.title} (bottom) against the learning rate "
        f"(log scale), one curve per width, the mean over seeds; one column per "
        f"parametrization ({columns}). A star marks each width's best rate (by mean "
        f"{f.table.measure.title}), an x along the top edge a rate where a seed diverged or failed (its "
        "loss is left out). Where the stars line up across widths, the best rate "
        "transfers (μP's claim); under sp they are expected to move to smaller rates as "
        "width grows.",
        lambda: plot_transfer(panels, f.title, f.table.measure),
    )


PLANNERS: dict[str, Callable[[_Facet], Planned]] = {
    "heatmap": _plan_heatmap,
    "time": _plan_time,
    "curves": _plan_curves,
    "best-lr": _plan_best_lr,
    "scaling": _plan_scaling,
    "transfer": _plan_transfer,
}
assert tuple(PLANNERS) == KINDS


def _suffixed(names: Sequence[str]) -> list[tuple[str, str]]:
    """(name, file-name suffix) per name: ``GRU``, ``-gru`` (a suffix made unique); none for
    an empty name (one table)."""
    out, used = [], set()
    for name in names:
        suffix = "-" + _slug(name) if name else ""
        while suffix in used:
            suffix += "-2"
        used.add(suffix)
        out.append((name, suffix))
    return out


def _names(tables: Sequence[Table]) -> list[tuple[str, str]]:
    """(name, file-name suffix) per table: none with one table; ``GRU``, ``-gru`` with several
    (a suffix made unique)."""
    if len(tables) < 2:
        return [("", "")] * len(tables)
    return _suffixed([facet_name(table, tables) for table in tables])


def report_kinds(results: Sequence[TrialResult], rows: str = ROWS, cols: str = COLS) -> tuple[str, ...]:
    """The kinds a report shows for ``results``: every kind, but the transfer plot only where
    it can show something (widths as rows, rates as columns, two of each or more) and the
    scaling plot only where a table has three widths or more, so that a report of another
    layout does not explain, at each table, why it has none.

    Raises:
        ConfigError: ``results`` is not a list of TrialResult; an unknown axis.
    """
    results = checks.results(results)
    check_axes(rows, cols)
    skip = {
        "transfer": _transfer_applies(results, rows, cols) is not None,
        "scaling": _scaling_applies(results, rows, cols) is not None,
    }
    return tuple(k for k in KINDS if not skip.get(k, False))


def _check_plot_args(results, kinds, hidden, lr) -> tuple[list[TrialResult], list[str]]:
    """The arguments every figure function takes, checked (see :func:`plan_figures`)."""
    results = checks.results(results)
    kinds = [checks.choice("plot kind", k, KINDS) for k in checks.sequence("kinds", kinds)]
    checks.optional_width("hidden", hidden)
    checks.optional_rate("lr", lr)
    return results, kinds


def plan_figures(
    results: Sequence[TrialResult],
    kinds: Sequence[str] = KINDS,
    hidden: int | None = None,
    lr: float | None = None,
    rows: str = ROWS,
    cols: str = COLS,
) -> tuple[list[FigureSpec], dict[str, str]]:
    """The figures of ``kinds`` for each table of ``rows`` x ``cols`` in ``results`` (nothing is
    drawn yet), and the figures that have nothing to show, by name, with the reason (an
    all-DNF store, a row or column that does not exist, trials too short for a curve). The
    transfer figure is one per group of tables that differ only in their parametrization
    (sp and mup side by side), after the tables' figures.

    Raises:
        ConfigError: ``results`` is not a list of TrialResult, ``kinds`` not a list of
            :data:`KINDS`, ``hidden`` not a positive whole number or None, ``lr`` not a
            positive number or None; an unknown axis.
    """
    results, kinds = _check_plot_args(results, kinds, hidden, lr)
    tables = build_tables(results, "accuracy", rows, cols)
    if not tables:
        return [], {k: "the store holds no trials" for k in kinds}
    by_facet: dict[tuple, list[TrialResult]] = {}  # each table's trials, grouped once
    for r in results:
        by_facet.setdefault(table_key(r.config, facet(r.config, rows, cols)), []).append(r)
    specs: list[FigureSpec] = []
    missing: dict[str, str] = {}
    per_table = [k for k in kinds if k not in _ACROSS_PARAMS]
    across = [k for k in kinds if k in _ACROSS_PARAMS]
    for table, (name, suffix) in zip(tables, _names(tables)):
        f = _Facet(table, by_facet[table.key], name, hidden, lr)
        _plan(f, suffix, per_table, specs, missing)
    if across:  # sp and mup of one model side by side: one figure per group, after the tables
        groups = param_groups(tables)
        for (name, suffix), (_, members) in zip(_suffixed([n for n, _ in groups]), groups):
            trials = [r for t in members for r in by_facet[t.key]]
            _plan(_Facet(members[0], trials, name, hidden, lr), suffix, across, specs, missing)
    return specs, missing


def _plan(
    f: _Facet, suffix: str, kinds: Sequence[str], specs: list[FigureSpec], missing: dict[str, str]
) -> None:
    """Plan the figures of ``kinds`` for facet ``f``: each a spec, or why it has nothing."""
    for kind in kinds:
        planned = PLANNERS[kind](f)
        if isinstance(planned, str):
            missing[kind + suffix] = planned
        else:
            specs.append(FigureSpec(kind + suffix, kind, f.name, *planned))


def gaps(
    results: Sequence[TrialResult],
    kinds: Sequence[str] = KINDS,
    hidden: int | None = None,
    lr: float | None = None,
    rows: str = ROWS,
    cols: str = COLS,
) -> dict[str, str]:
    """The figures of ``kinds`` that have nothing to show, by name, with the reason.

    Raises:
        ConfigError: as :func:`plan_figures`.
    """
    return plan_figures(results, kinds, hidden, lr, rows, cols)[1]


def figures(
    results: Sequence[TrialResult],
    kinds: Sequence[str] = KINDS,
    hidden: int | None = None,
    lr: float | None = None,
    rows: str = ROWS,
    cols: str = COLS,
) -> dict[str, object]:
    """Figures by name (one per kind and table); those with nothing to show are left out.

    Raises:
        ConfigError: as :func:`plan_figures`.
    """
    return {s.name: s.draw() for s in plan_figures(results, kinds, hidden, lr, rows, cols)[0]}


def image_bytes(fig, fmt: str = "png") -> bytes:
    """The figure as PNG, SVG or PDF bytes (the figure is closed; a PDF without its creation
    date, so that the same figure is the same file)."""
    buf = io.BytesIO()
    try:
        fig.savefig(
            buf, format=fmt, dpi=110, **({"metadata": {"CreationDate": None}} if fmt == "pdf" else {})
        )
    finally:
        _pyplot().close(fig)
    return buf.getvalue()


IMAGE_FORMATS = ("png", "svg", "pdf")


def save(fig, path: str | Path, *, overwrite: bool = False) -> Path:
    """Write the figure to ``path`` (PNG, SVG or PDF by its suffix; none: PNG), safely (see
    :mod:`lstm_sweep.reporting.outputs`).

    Raises:
        ConfigError: ``fig`` is not a matplotlib Figure, ``path`` not a path ending in .png,
            .svg or .pdf, ``overwrite`` not a bool.
        OutputError: the file may not or cannot be written.
    """
    from matplotlib.figure import Figure

    from .outputs import write_output

    if not isinstance(fig, Figure):
        raise ConfigError(f"fig must be a matplotlib Figure, got {checks.kind_of(fig)}")
    path = checks.path("path", path)
    checks.flag("overwrite", overwrite)
    fmt = path.suffix.lstrip(".").lower() or "png"
    if fmt not in IMAGE_FORMATS:
        raise ConfigError(f"path {str(path)!r:.80} is not a .png, .svg or .pdf file name")
    return write_output(path, image_bytes(fig, fmt), fmt, overwrite=overwrite)


def svg_text(fig) -> str:
    """The figure as an inline SVG document (for the HTML report)."""
    buf = io.StringIO()
    fig.savefig(buf, format="svg")
    _pyplot().close(fig)
    text = buf.getvalue()
    return text[text.index("<svg") :]
