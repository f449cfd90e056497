"""Tables of results: compute first (:func:`build_tables` returns data), render second.

The layout is the seed's Table 1: rows = hidden size, columns = learning rate, one cell per
(hidden, lr) aggregating its seeds (mean, and ± sample std when there are several). ``DNF`` marks
a cell whose trials ran out of memory; ``*`` marks a value where a seed diverged (loss NaN/inf).
"""

from __future__ import annotations

import csv
import io
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from .config import CELLS, OPTIMIZERS
from .errors import ConfigError
from .results import Status, TrialResult

METRICS = {
    # name: (title, attribute, decimals, unit)
    "accuracy": ("Test accuracy", "test_accuracy", 4, ""),
    "time": ("Wall time per trial (s)", "wall_s", 1, "s"),
}
FORMATS = ("text", "markdown", "csv", "latex")
STATS = ("mean", "median", "best", "all")
_WITH_VALUE = (Status.DONE, Status.DIVERGED)


@dataclass(frozen=True)
class Cell:
    """The trials of one (hidden, lr) cell: their values (trials that produced one) and statuses."""

    values: tuple[float, ...]
    statuses: tuple[Status, ...]

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def mean(self) -> float | None:
        return statistics.fmean(self.values) if self.values else None

    @property
    def std(self) -> float | None:
        return statistics.stdev(self.values) if len(self.values) > 1 else None

    @property
    def median(self) -> float | None:
        return statistics.median(self.values) if self.values else None

    def best(self, metric: str) -> float | None:
        """The best seed: highest accuracy, or shortest time."""
        if not self.values:
            return None
        return max(self.values) if metric == "accuracy" else min(self.values)

    @property
    def diverged(self) -> bool:
        return Status.DIVERGED in self.statuses

    @property
    def label(self) -> str | None:
        """What stands in place of a value: DNF (out of memory), failed, or None."""
        if self.values:
            return None
        if Status.OOM in self.statuses:
            return "DNF"
        if Status.FAILED in self.statuses:
            return "failed"
        return ""


@dataclass(frozen=True)
class Table:
    metric: str
    protocol: dict
    hidden: tuple[int, ...]
    lrs: tuple[float, ...]
    cells: dict[tuple[int, float], Cell]
    seeds: int  # most seeds seen in one cell

    def cell(self, hidden: int, lr: float) -> Cell:
        return self.cells.get((hidden, lr), Cell((), ()))


def _protocol_key(protocol: dict) -> tuple:
    return tuple(sorted((k, str(v)) for k, v in protocol.items()))


def _model_order(config) -> tuple:
    """Tables of the seed's model (LSTM, Adam) first, then cell by cell, optimizer by optimizer
    (the order of insertion within equal models)."""
    return (CELLS.index(config.cell), list(OPTIMIZERS).index(config.optimizer))


def build_tables(results: Sequence[TrialResult], metric: str = "accuracy") -> list[Table]:
    """Group ``results`` by protocol (steps, batch, dataset, init, ...) into Table-1 grids.

    Raises:
        ConfigError: unknown metric.
    """
    if metric not in METRICS:
        raise ConfigError(f"unknown metric {metric!r}; choose one of: {', '.join(METRICS)}")
    attr = METRICS[metric][1]
    groups: dict[tuple, list[TrialResult]] = {}
    for r in results:
        groups.setdefault(_protocol_key(r.config.protocol()), []).append(r)
    tables = []
    for _, members in sorted(groups.items(), key=lambda kv: _model_order(kv[1][0].config)):
        raw: dict[tuple[int, float], tuple[list[float], list[Status]]] = {}
        for r in members:
            values, statuses = raw.setdefault((r.config.hidden, r.config.lr), ([], []))
            statuses.append(r.status)
            value = getattr(r, attr)
            if r.status in _WITH_VALUE and value is not None and math.isfinite(value):
                values.append(value)
        cells = {k: Cell(tuple(v), tuple(s)) for k, (v, s) in raw.items()}
        tables.append(
            Table(
                metric=metric,
                protocol=members[0].config.protocol(),
                hidden=tuple(sorted({h for h, _ in cells})),
                lrs=tuple(sorted({lr for _, lr in cells})),
                cells=cells,
                seeds=max(len(c.statuses) for c in cells.values()),
            )
        )
    return tables


# --------------------------------------------------------------------------- rendering


def _lr_label(lr: float) -> str:
    return f"{lr:g}"


def cell_text(table: Table, cell: Cell, stat: str = "mean") -> str:
    """What a cell shows: its statistic (± std), ``(n=k)``, ``*``, or DNF/failed."""
    label = cell.label
    if label is not None:
        return label
    decimals = METRICS[table.metric][2]
    if stat == "all":
        text = " / ".join(f"{v:.{decimals}f}" for v in cell.values)
    else:
        value = {"mean": cell.mean, "median": cell.median, "best": cell.best(table.metric)}[stat]
        text = f"{value:.{decimals}f}"
        if stat == "mean" and cell.std is not None:
            text += f" ± {cell.std:.{decimals}f}"
    if table.seeds > 1 and cell.n < table.seeds:
        text += f" (n={cell.n})"
    if cell.diverged:
        text += "*"
    return text


def describe(table: Table, stat: str = "mean") -> str:
    """The table's caption: its protocol and what a cell shows."""
    p = table.protocol
    how = {"mean": "mean ± std", "median": "median", "best": "best seed", "all": "every seed"}
    seeds = f"{table.seeds} seeds, {how[stat]}" if table.seeds > 1 else "1 seed"
    return (f"{model_name(p)}{p['dataset']} · {p['steps']} steps · batch {p['batch_size']} · "
            f"init {p['init']} · {p['precision']} · {seeds}")


def model_name(p: dict) -> str:
    """``"GRU · momentum (momentum=0.99) · "`` for a protocol whose cell or optimizer is not the
    seed's (LSTM, Adam); empty for the seed's, so its tables read as they always did."""
    cell, optimizer, opt = p.get("cell", "lstm"), p.get("optimizer", "adam"), p.get("opt", ())
    if (cell, optimizer, tuple(opt)) == ("lstm", "adam", ()):
        return ""
    settings = f" ({', '.join(f'{k}={v:g}' for k, v in opt)})" if opt else ""
    return f"{cell.upper()} · {optimizer}{settings} · "


def table_notes(table: Table) -> list[str]:
    """The footnotes a table needs (diverged seeds, DNF)."""
    cells = [table.cell(h, lr) for h in table.hidden for lr in table.lrs]
    out = []
    if any(c.diverged for c in cells):
        out.append("* a seed diverged (loss became NaN/inf); its accuracy is still counted")
    if any(c.label == "DNF" for c in cells):
        out.append("DNF: out of memory")
    return out


def _grid(table: Table, stat: str = "mean") -> tuple[list[str], list[list[str]]]:
    header = ["hidden \\ lr", *(_lr_label(lr) for lr in table.lrs)]
    rows = [
        [str(h), *(cell_text(table, table.cell(h, lr), stat) for lr in table.lrs)]
        for h in table.hidden
    ]
    return header, rows


def render_text(table: Table, stat: str = "mean") -> str:
    header, rows = _grid(table, stat)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    line = lambda r: "  ".join(c.rjust(w) for c, w in zip(r, widths))  # noqa: E731
    out = [f"{METRICS[table.metric][0]}: {describe(table, stat)}", line(header),
           "  ".join("-" * w for w in widths), *(line(r) for r in rows)]
    return "\n".join(out + table_notes(table))


def render_markdown(table: Table, stat: str = "mean") -> str:
    header, rows = _grid(table, stat)
    out = [f"**{METRICS[table.metric][0]}** ({describe(table, stat)})", "",
           "| " + " | ".join(header) + " |", "|" + "|".join("---:" for _ in header) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    notes = table_notes(table)
    return "\n".join(out + ([""] + notes if notes else []))


def render_csv(table: Table, stat: str = "mean") -> str:
    """The reference file's layout (``hidden,lr_1e-05,...``); several seeds -> ``mean ± std``."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["hidden", *(f"lr_{lr!r}" for lr in table.lrs)])
    for h in table.hidden:
        writer.writerow([h, *(cell_text(table, table.cell(h, lr), stat) for lr in table.lrs)])
    return buf.getvalue().rstrip("\n")


def _latex_escape(text: str) -> str:
    return text.replace("±", r"$\pm$").replace("*", r"$^{*}$").replace("\\ lr", r"$\backslash$ lr")


def render_latex(table: Table, stat: str = "mean") -> str:
    header, rows = _grid(table, stat)
    out = [r"\begin{table}[ht]", r"\centering",
           rf"\caption{{{METRICS[table.metric][0]} ({_latex_escape(describe(table, stat))})}}",
           r"\begin{tabular}{r" + "r" * len(table.lrs) + "}", r"\toprule",
           " & ".join(["Neurons / LR", *header[1:]]) + r" \\", r"\midrule"]
    out += [" & ".join(_latex_escape(c) for c in r) + r" \\" for r in rows]
    out += [r"\bottomrule", r"\end{tabular}"]
    out += [rf"\par\footnotesize {_latex_escape(n)}" for n in table_notes(table)]
    out.append(r"\end{table}")
    return "\n".join(out)


_RENDERERS = {"text": render_text, "markdown": render_markdown, "csv": render_csv,
              "latex": render_latex}


def render_tables(tables: Sequence[Table], fmt: str = "text", stat: str = "mean") -> str:
    """Render each table in ``fmt``; several protocols give several tables, a blank line apart.

    ``stat``: ``mean`` (± sample std), ``median``, ``best`` seed, or ``all`` seeds' values.
    """
    if fmt not in _RENDERERS:
        raise ConfigError(f"unknown format {fmt!r}; choose one of: {', '.join(FORMATS)}")
    if stat not in STATS:
        raise ConfigError(f"unknown statistic {stat!r}; choose one of: {', '.join(STATS)}")
    return "\n\n".join(_RENDERERS[fmt](t, stat) for t in tables)
