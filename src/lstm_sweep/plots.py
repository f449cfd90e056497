"""Plots (matplotlib, Agg, imported lazily): the data for each plot is computed by a pure
function first (tested), and drawn second.

- heatmap of accuracy over width x learning rate (values in the cells; DNF / diverged marked);
- accuracy vs time per trial, coloured by width, with the Pareto front;
- learning curves of one row (a width) or one column (a learning rate);
- best learning rate per width, with the band of rates within 0.5 points of the best.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from pathlib import Path

from .findings import BAND_POINTS, best_per_width
from .report import Table, build_tables
from .results import TrialResult

KINDS = ("heatmap", "time", "curves", "best-lr")


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


# --------------------------------------------------------------------------- data


def heatmap_data(table: Table) -> tuple[list[list[float]], list[list[str]]]:
    """(values, labels) per (width row, lr column): NaN + "DNF"/"failed"/"" where no value;
    a diverged seed adds "*" to the label."""
    values, labels = [], []
    for h in table.hidden:
        vrow, lrow = [], []
        for lr in table.lrs:
            c = table.cell(h, lr)
            vrow.append(c.mean if c.mean is not None else math.nan)
            lrow.append(c.label if c.label is not None else
                        f"{c.mean:.3f}" + ("*" if c.diverged else ""))
        values.append(vrow)
        labels.append(lrow)
    return values, labels


def pareto_front(points: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """(time, accuracy) points no other point beats on both (less time and more accuracy),
    sorted by time."""
    front, best = [], -math.inf
    for t, acc in sorted(points, key=lambda p: (p[0], -p[1])):
        if acc > best:
            front.append((t, acc))
            best = acc
    return front


def time_points(results: Sequence[TrialResult]) -> list[tuple[float, float, int]]:
    """(wall seconds, test accuracy, width) of every trial that has an accuracy (and a time
    that a log axis can show)."""
    return [(r.wall_s, r.test_accuracy, r.config.hidden) for r in results
            if r.test_accuracy is not None and math.isfinite(r.test_accuracy) and r.wall_s > 0]


def curve_series(results: Sequence[TrialResult], hidden: int | None = None,
                 lr: float | None = None) -> dict[str, list[tuple[int, float, float]]]:
    """Label -> [(step, loss, accuracy)] for the trials of one row (``hidden``) or column
    (``lr``); with neither, the row of the widest width."""
    if hidden is None and lr is None:
        hidden = max((r.config.hidden for r in results), default=None)
    out = {}
    for r in sorted(results, key=lambda r: (r.config.hidden, r.config.lr, r.config.seed)):
        c = r.config
        if (hidden is not None and c.hidden != hidden) or (lr is not None and c.lr != lr):
            continue
        label = (f"lr {c.lr:g}" if hidden is not None else f"{c.hidden} units") + \
            (f" seed {c.seed}" if c.seed else "")
        out[label] = [(p.step, p.loss, p.accuracy) for p in r.curve]
    return out


def best_lr_data(table: Table) -> dict[int, dict]:
    """Width -> best lr, its accuracy, and the lowest/highest rate within the band."""
    out = {}
    for h, (lr, acc) in best_per_width(table).items():
        band = [x for x in table.lrs if (c := table.cell(h, x)).mean is not None
                and c.mean >= acc - BAND_POINTS / 100]
        out[h] = {"lr": lr, "accuracy": acc, "low": min(band), "high": max(band)}
    return out


# --------------------------------------------------------------------------- drawing


def plot_heatmap(table: Table):
    plt = _pyplot()
    values, labels = heatmap_data(table)
    fig, ax = plt.subplots(figsize=(1.1 * len(table.lrs) + 2, 0.55 * len(table.hidden) + 1.6))
    im = ax.imshow(values, cmap="viridis", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(len(table.lrs)), [f"{lr:g}" for lr in table.lrs])
    ax.set_yticks(range(len(table.hidden)), [str(h) for h in table.hidden])
    ax.set_xlabel("learning rate (log scale)")
    ax.set_ylabel("hidden units (log scale)")
    for i, row in enumerate(labels):
        for j, text in enumerate(row):
            v = values[i][j]
            ax.text(j, i, text, ha="center", va="center", fontsize=8,
                    color="black" if (not math.isnan(v) and v > 0.6) else "white")
    fig.colorbar(im, ax=ax, label="test accuracy")
    ax.set_title("Test accuracy by width and learning rate (* diverged, DNF out of memory)",
                 fontsize=9)
    fig.tight_layout()
    return fig


def plot_time(results: Sequence[TrialResult]):
    plt = _pyplot()
    points = time_points(results)
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    widths = sorted({h for _, _, h in points})
    cmap = plt.get_cmap("plasma", max(len(widths), 2))
    for k, h in enumerate(widths):
        xs = [t for t, _, w in points if w == h]
        ys = [a for _, a, w in points if w == h]
        ax.scatter(xs, ys, color=cmap(k), label=f"{h} units", s=22)
    front = pareto_front([(t, a) for t, a, _ in points])
    if front:
        ax.step([t for t, _ in front], [a for _, a in front], where="post", color="gray",
                linestyle="--", label="Pareto front")
    ax.set_xscale("log")
    ax.set_xlabel("wall time per trial (s, log scale)")
    ax.set_ylabel("test accuracy")
    ax.set_title("Accuracy vs time: what extra width buys", fontsize=10)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig


def plot_curves(results: Sequence[TrialResult], hidden: int | None = None,
                lr: float | None = None):
    plt = _pyplot()
    if hidden is None and lr is None:  # the widest row by default
        hidden = max((r.config.hidden for r in results), default=None)
    series = curve_series(results, hidden, lr)
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 3.8))
    for label, pts in series.items():
        steps = [p[0] for p in pts]
        ax_loss.plot(steps, [p[1] for p in pts], label=label, linewidth=1)
        ax_acc.plot(steps, [p[2] for p in pts], label=label, linewidth=1)
    ax_loss.set_yscale("log")
    ax_loss.set_xlabel("step")
    ax_loss.set_ylabel("batch loss (log)")
    ax_acc.set_xlabel("step")
    ax_acc.set_ylabel("batch accuracy")
    what = f"{hidden} units" if hidden is not None else (f"lr {lr:g}" if lr is not None else "")
    fig.suptitle(f"Learning curves, {what}", fontsize=10)
    ax_acc.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig


def plot_best_lr(table: Table):
    plt = _pyplot()
    data = best_lr_data(table)
    widths = list(data)
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.fill_between(widths, [data[h]["low"] for h in widths], [data[h]["high"] for h in widths],
                    alpha=0.25, label=f"within {BAND_POINTS} points of the best")
    ax.plot(widths, [data[h]["lr"] for h in widths], marker="o", label="best rate")
    for h in widths:
        ax.annotate(f"{data[h]['accuracy']:.3f}", (h, data[h]["lr"]), fontsize=7,
                    textcoords="offset points", xytext=(4, 4))
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("hidden units")
    ax.set_ylabel("learning rate")
    ax.set_title("Best learning rate per width", fontsize=10)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def _first_protocol(results: Sequence[TrialResult]) -> tuple[Table | None, list[TrialResult]]:
    tables = build_tables(results, "accuracy")
    if not tables:
        return None, []
    table = tables[0]
    keep = {(h, x) for h in table.hidden for x in table.lrs}
    return table, [r for r in results if (r.config.hidden, r.config.lr) in keep
                   and r.config.protocol() == table.protocol]


NO_ACCURACY = "no trial has an accuracy (every one failed or ran out of memory)"


def gaps(results: Sequence[TrialResult], kinds: Sequence[str] = KINDS,
         hidden: int | None = None, lr: float | None = None) -> dict[str, str]:
    """The plots of ``kinds`` that have nothing to show, with the reason (an all-DNF store, a
    row or column that does not exist, trials too short for a learning curve)."""
    table, results = _first_protocol(results)
    if table is None:
        return {k: "the store holds no trials" for k in kinds}
    out = {}
    any_value = any(c.values for c in table.cells.values())
    for kind in kinds:
        if kind == "time" and not time_points(results):
            out[kind] = NO_ACCURACY
        elif kind == "best-lr" and not any_value:
            out[kind] = NO_ACCURACY
        elif kind == "curves":
            series = curve_series(results, hidden, lr)
            if not any(series.values()):
                what = (f"{hidden} units" if hidden is not None else
                        f"lr {lr:g}" if lr is not None else "the widest row")
                out[kind] = (f"no learning curve for {what}" if series else
                             f"no trial of {what} is stored")
    return out


def figures(results: Sequence[TrialResult], kinds: Sequence[str] = KINDS,
            hidden: int | None = None, lr: float | None = None) -> dict[str, object]:
    """Figures by name for the first protocol in ``results``; a kind with nothing to show
    (see :func:`gaps`) is left out."""
    table, results = _first_protocol(results)
    if table is None:
        return {}
    missing = gaps(results, kinds, hidden, lr)
    makers = {
        "heatmap": lambda: plot_heatmap(table),
        "time": lambda: plot_time(results),
        "curves": lambda: plot_curves(results, hidden, lr),
        "best-lr": lambda: plot_best_lr(table),
    }
    return {k: makers[k]() for k in kinds if k not in missing}


def image_bytes(fig, fmt: str = "png") -> bytes:
    """The figure as PNG or SVG bytes (the figure is closed)."""
    buf = io.BytesIO()
    try:
        fig.savefig(buf, format=fmt, dpi=110)
    finally:
        _pyplot().close(fig)
    return buf.getvalue()


def save(fig, path: str | Path, *, overwrite: bool = False) -> Path:
    """Write the figure to ``path`` (PNG or SVG by its suffix), safely (see
    :mod:`lstm_sweep.outputs`)."""
    from .outputs import write_output

    path = Path(path)
    fmt = path.suffix.lstrip(".").lower() or "png"
    return write_output(path, image_bytes(fig, fmt), fmt, overwrite=overwrite)


def svg_text(fig) -> str:
    """The figure as an inline SVG document (for the HTML report)."""
    buf = io.StringIO()
    fig.savefig(buf, format="svg")
    _pyplot().close(fig)
    text = buf.getvalue()
    return text[text.index("<svg"):]
