"""Tables of results: compute first (:func:`build_tables` returns data), render second.

The layout is the seed's Table 1: rows = hidden size, columns = learning rate, one cell per
(hidden, lr) aggregating its seeds (mean, and ± sample std when there are several); any two axes
of :mod:`lstm_sweep.reporting.axes` may take their places, with one table per facet. ``DNF`` marks
a cell whose trials ran out of memory; ``*`` marks a value where a seed diverged (loss NaN/inf).
"""

from __future__ import annotations

import csv
import io
import json
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..errors import ConfigError
from ..study import METRICS as TASK_METRICS
from ..study import Metric, Status, TrialConfig, TrialResult, chance_of, is_failed, metric_of
from . import checks
from .axes import AXES, COLS, ROWS, Axis, check_axes, facet, facet_key, facet_order
from .text import csv_cell, printable

METRICS = {
    # name: (title, attribute, decimals (None: four significant digits), unit)
    "accuracy": ("Test accuracy", "test_accuracy", 4, ""),
    "validation": ("Validation accuracy", "val_accuracy", 4, ""),
    "loss": ("Final training loss (lower is better)", "train_loss", None, ""),
    "time": ("Wall time per trial (s)", "wall_s", 1, "s"),
}
# The metrics in the task's own measure (accuracy, or a task's bpc or MSE): its best is the
# task's, and a cell is judged failed by it.
IN_TASK_MEASURE = ("accuracy", "validation")
ACCURACY = TASK_METRICS["accuracy"]  # the homework's metric (rows of MNIST)
FORMATS = ("text", "markdown", "csv", "latex", "json")
STATS = ("mean", "median", "best", "all")
_WITH_VALUE = (Status.DONE, Status.DIVERGED)


@dataclass(frozen=True)
class Cell:
    """The trials of one (hidden, lr) cell: their values (trials that produced one) and statuses."""

    values: tuple[float, ...]
    statuses: tuple[Status, ...]
    pruned: tuple[int, ...] = ()  # steps done by each seed a search pruned

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def mean(self) -> float | None:
        if not self.values:
            return None
        try:
            return statistics.fmean(self.values)
        except OverflowError:  # times near 1e308 (a hand-edited store): the exact mean
            return statistics.mean(self.values)

    @property
    def std(self) -> float | None:
        return statistics.stdev(self.values) if len(self.values) > 1 else None

    @property
    def median(self) -> float | None:
        return statistics.median(self.values) if self.values else None

    def best(self, metric: str, measure: Metric = ACCURACY) -> float | None:
        """The best seed: by the task's ``measure`` (the highest accuracy, the lowest loss),
        or the shortest time."""
        if not self.values:
            return None
        return measure.best(self.values) if metric in IN_TASK_MEASURE else min(self.values)

    @property
    def diverged(self) -> bool:
        return Status.DIVERGED in self.statuses

    @property
    def label(self) -> str | None:
        """What stands in place of a value: DNF (out of memory), failed, ``pruned@111`` (a search
        stopped it after 111 steps: a result, not a failure), or None."""
        if self.values:
            return None
        if Status.OOM in self.statuses:
            return "DNF"
        if Status.FAILED in self.statuses:
            return "failed"
        if self.pruned:
            return f"pruned@{max(self.pruned)}"
        return ""


@dataclass(frozen=True)
class Table:
    """One table: ``rows`` x ``cols`` (values of two axes, the seed's hidden x lr by default),
    a :class:`Cell` per pair, and the ``protocol``: every field its trials share."""

    metric: str
    protocol: dict
    rows: tuple
    cols: tuple
    cells: dict[tuple, Cell]
    seeds: int  # most seeds seen in one cell
    row_axis: str = ROWS
    col_axis: str = COLS
    best_over: str | None = None  # an axis each cell takes its best value of
    chosen: dict = field(default_factory=dict)  # (row, col) -> that value
    measure: Metric = ACCURACY  # the task's metric, which its "accuracy" values are in
    judge: TrialConfig | None = None  # one of its trials: the task's chance level

    @property
    def key(self) -> tuple:
        """What tells this table's trials from another table's: its protocol and its task's
        metric and chance (tables with the task as an axis share one protocol)."""
        return (facet_key(self.protocol), self.measure.name, self.chance)

    @property
    def chance(self) -> float | None:
        """The task's chance level in its metric (the homework's 0.1; None: not known)."""
        return 0.1 if self.judge is None else chance_of(self.judge)

    def failed(self, value: float | None) -> bool:
        """Whether a cell's ``value`` (its task's metric; None or NaN: diverged) is no better
        than chance (:func:`lstm_sweep.study.is_failed`): for the homework, under 0.2."""
        if self.judge is None:
            return value is None or math.isnan(value) or value < 0.2
        return is_failed(self.judge, value)

    def cell(self, row, col) -> Cell:
        return self.cells.get((row, col), Cell((), ()))

    def text(self, row, col, stat: str = "mean") -> str:
        """What the table shows at (row, col): :func:`cell_text`, and with ``best_over`` the
        value it took (``0.9658 @ 0.01``)."""
        text = cell_text(self, self.cell(row, col), stat)
        if self.best_over is not None and (row, col) in self.chosen:
            text += f" @ {AXES[self.best_over].label(self.chosen[(row, col)])}"
        return text

    @property
    def axes(self) -> tuple[Axis, Axis]:
        return AXES[self.row_axis], AXES[self.col_axis]


def build_tables(
    results: Sequence[TrialResult],
    metric: str = "accuracy",
    rows: str = ROWS,
    cols: str = COLS,
    best_over: str | None = None,
) -> list[Table]:
    """Lay ``results`` out as tables of ``rows`` x ``cols`` (the seed's Table 1: hidden x lr),
    one per facet: per value of every other field that varies (steps, cell, dataset, ...).

    ``best_over``: an axis each cell takes its best value of (the one with the highest mean
    accuracy; ``metric`` is then that value's), e.g. a table of width x cell, each cell at its
    best learning rate; :attr:`Table.chosen` says which value each cell took.

    Three steps: group the trials by facet, pool each cell's trials (per value of
    ``best_over``), and take each cell (at its best value of ``best_over``).

    Raises:
        ConfigError: ``results`` is not a list of TrialResult; an unknown metric or axis, or
            ``best_over`` that is the rows' or columns' axis.
    """
    results = checks.results(results)
    checks.choice("metric", metric, METRICS)
    row_axis, col_axis = check_axes(rows, cols)
    over_axis = _best_over_axis(best_over, rows, cols)
    attr = METRICS[metric][1]
    tables = []
    for protocol, members in _facets(results, rows, cols, best_over):
        measure = metric_of(members[0].config)
        pools = _pools(members, attr, row_axis, col_axis, over_axis)
        cells, chosen = _cells(pools, over_axis, measure)
        tables.append(
            Table(
                metric=metric,
                protocol=protocol,
                rows=tuple(sorted({r for r, _ in cells}, key=row_axis.sort_key)),
                cols=tuple(sorted({c for _, c in cells}, key=col_axis.sort_key)),
                cells=cells,
                seeds=max(len(c.statuses) for c in cells.values()),
                row_axis=rows,
                col_axis=cols,
                best_over=best_over,
                chosen=chosen,
                measure=measure,
                judge=members[0].config,
            )
        )
    return tables


def _best_over_axis(best_over: str | None, rows: str, cols: str) -> Axis | None:
    """The axis each cell takes its best value of (None: no such axis)."""
    if best_over is None:
        return None
    checks.choice("axis", best_over, AXES, " for the best over")
    if best_over in (rows, cols):
        raise ConfigError(
            f"best_over={best_over} is already the table's rows or columns: choose another axis"
        )
    return AXES[best_over]


def _facets(
    results: Sequence[TrialResult], rows: str, cols: str, over: str | None
) -> list[tuple[dict, list[TrialResult]]]:
    """Step 1: (protocol, its trials) per facet, in the tables' order; trials of tasks scored
    apart (another metric or chance level) never share a table, even with the task an axis."""
    groups: dict[tuple, tuple[dict, list[TrialResult]]] = {}
    for r in results:
        protocol = facet(r.config, rows, cols, over)
        groups.setdefault(table_key(r.config, protocol), (protocol, []))[1].append(r)
    return sorted(groups.values(), key=lambda g: facet_order(g[0]))


def table_key(config: TrialConfig, protocol: dict) -> tuple:
    """The :attr:`Table.key` of the table a trial of ``config`` (whose facet is ``protocol``)
    sits in."""
    return (facet_key(protocol), metric_of(config).name, chance_of(config))


@dataclass
class _Pool:
    """The trials of one cell at one value of the best-over axis: their values of the metric,
    their statuses, and their accuracies (what the best value is chosen by)."""

    values: list[float] = field(default_factory=list)
    statuses: list[Status] = field(default_factory=list)
    accuracies: list[float] = field(default_factory=list)
    pruned: list[int] = field(default_factory=list)

    def score(self, measure: Metric) -> float:
        """Its mean accuracy (the task's metric), larger is better whichever way it points."""
        return measure.key(statistics.fmean(self.accuracies)) if self.accuracies else -math.inf


def _usable(r: TrialResult, value: float | None) -> bool:
    """Whether a trial's value counts: it finished with one (done or diverged) and a number."""
    return r.status in _WITH_VALUE and value is not None and math.isfinite(value)


def _pools(
    members: Sequence[TrialResult], attr: str, row_axis: Axis, col_axis: Axis, over_axis: Axis | None
) -> dict[tuple, _Pool]:
    """Step 2: (row, column, value of ``over_axis`` or None) -> the pool of those trials."""
    pools: dict[tuple, _Pool] = {}
    for r in members:
        where = (
            row_axis.value(r.config),
            col_axis.value(r.config),
            over_axis.value(r.config) if over_axis else None,
        )
        pool = pools.setdefault(where, _Pool())
        pool.statuses.append(r.status)
        if r.status is Status.PRUNED:
            pool.pruned.append(r.steps_done)
        if _usable(r, getattr(r, attr)):
            pool.values.append(getattr(r, attr))
        if r.test_accuracy is not None and _usable(r, r.test_accuracy):
            pool.accuracies.append(r.test_accuracy)
    return pools


def _cells(
    pools: dict[tuple, _Pool], over_axis: Axis | None, measure: Metric = ACCURACY
) -> tuple[dict, dict]:
    """Step 3: (row, column) -> its Cell, from the pool with the best mean accuracy (the
    task's ``measure``: the lowest mean loss; a tie: the value first in the axis's order); and
    (row, column) -> that value, where one was chosen (with ``over_axis``, and some trial had
    an accuracy)."""
    best: dict[tuple, tuple[object, _Pool]] = {}
    for (row, col, over), pool in pools.items():
        held = best.get((row, col))
        if (
            held is None
            or pool.score(measure) > held[1].score(measure)
            or (
                pool.score(measure) == held[1].score(measure)
                and over_axis
                and over_axis.sort_key(over) < over_axis.sort_key(held[0])
            )
        ):
            best[(row, col)] = (over, pool)
    cells = {k: Cell(tuple(p.values), tuple(p.statuses), tuple(p.pruned)) for k, (_, p) in best.items()}
    chosen = {k: over for k, (over, p) in best.items() if over_axis and p.accuracies}
    return cells, chosen


def varied_fields(tables: Sequence[Table]) -> tuple[str, ...]:
    """The protocol fields whose values differ between ``tables`` (what tells them apart)."""
    if len(tables) < 2:
        return ()
    keys = dict.fromkeys(k for t in tables for k in t.protocol)
    return tuple(k for k in keys if len({repr(t.protocol.get(k)) for t in tables}) > 1)


def facet_name(table: Table, tables: Sequence[Table]) -> str:
    """What tells ``table`` apart from the others of ``tables``: ``GRU · momentum``,
    ``300 steps``; the full caption where nothing does."""
    varied = varied_fields(tables)
    parts = _parts(table.protocol, set(varied), only=True)
    return " · ".join(parts) if parts else describe(table).rsplit(" · ", 1)[0]


# --------------------------------------------------------------------------- rendering


def cell_text(table: Table, cell: Cell, stat: str = "mean") -> str:
    """What a cell shows: its statistic (± std), ``(n=k)``, ``*``, or DNF/failed."""
    label = cell.label
    if label is not None:
        return label
    show = _shown(table)
    if stat == "all":
        text = " / ".join(show(v) for v in cell.values)
    else:
        best = cell.best(table.metric, table.measure)
        value = {"mean": cell.mean, "median": cell.median, "best": best}[stat]
        text = show(value)
        if stat == "mean" and cell.std is not None:
            text += f" ± {show(cell.std)}"
    if table.seeds > 1 and cell.n < table.seeds:
        text += f" (n={cell.n})"
    if cell.diverged:
        text += "*"
    return text


def _shown(table: Table):
    """How a table writes a value: with its metric's decimals (accuracy and time, as the
    homework's tables), a loss in four significant digits (``1.523``, ``5.3e-05``)."""
    decimals = METRICS[table.metric][2]
    if (table.metric in IN_TASK_MEASURE and not is_accuracy(table)) or decimals is None:
        return lambda v: f"{v:.4g}"
    return lambda v: f"{v:.{decimals}f}"


def is_accuracy(table: Table) -> bool:
    """Whether ``table``'s task is scored by accuracy (the homework's), not by a loss."""
    return table.measure.name == "accuracy"


def metric_title(table: Table) -> str:
    """What a table's values are, as its caption starts: ``Test accuracy``, ``Wall time per
    trial (s)``, ``Bits per character (lower is better)``."""
    if table.metric in IN_TASK_MEASURE and not is_accuracy(table):
        title = table.measure.title
        title = f"validation {title}" if table.metric == "validation" else title
        return f"{title[0].upper()}{title[1:]} ({table.measure.direction})"
    return METRICS[table.metric][0]


def describe(table: Table, stat: str = "mean", always: Sequence[str] = ()) -> str:
    """The table's caption: what its trials share (model, data, protocol) and what a cell
    shows. ``always``: fields named even at the seed's value (those that tell tables apart)."""
    how = {"mean": "mean ± std", "median": "median", "best": "best seed", "all": "every seed"}
    seeds = f"{table.seeds} seeds, {how[stat]}" if table.seeds > 1 else "1 seed"
    over = []
    if table.best_over:
        axis = AXES[table.best_over]
        noun = "learning rate" if axis.name == "lr" else axis.noun
        by = "accuracy" if is_accuracy(table) else table.measure.title
        over = [f"each cell at its best {noun} (by mean {by}), shown after @"]
    return " · ".join([*_parts(table.protocol, set(always)), *over, seeds])


def param_name(protocol: dict) -> str:
    """A table's parametrization in words: ``sp``, or ``mup (base 64)`` (μP reads its base
    width; sp does not, so it is not named there).

    Raises:
        ConfigError: ``protocol`` is not a dict with a ``param`` (a table's protocol).
    """
    if not isinstance(protocol, dict) or "param" not in protocol:
        raise ConfigError(
            f"protocol must be a table's protocol (a dict with a param), got {checks.kind_of(protocol)}"
        )
    name = AXES["param"].label(protocol["param"])
    if protocol["param"] != "sp" and "base_width" in protocol:
        name += f" (base {protocol['base_width']})"
    return name


def _parts(p: dict, always: set[str], only: bool = False) -> list[str]:
    """The caption's parts for protocol ``p``: the model where it is not the seed's (LSTM,
    Adam) or is in ``always``, then the data and the protocol (``only``: just ``always``)."""
    out = _task_parts(p, always, only)
    named = (
        always if only else always | {"dataset", "steps", "batch_size", "init", "precision", "hidden", "lr"}
    )
    seeds_model = (p.get("cell", "lstm"), p.get("optimizer", "adam"), tuple(p.get("opt", ()))) == (
        "lstm",
        "adam",
        (),
    )
    model = always & {"cell", "optimizer", "opt"}
    whole = not only and (model or not seeds_model)  # a caption names the whole model
    if "cell" in p and (whole or "cell" in always):
        out.append(AXES["cell"].label(p["cell"]))
    if "optimizer" in p and (whole or always & {"optimizer", "opt"}):
        out.append(AXES["optimizer"].label(AXES["optimizer"].value_of(p)))
    # the parametrization where it is not the seed's (sp) or tells tables apart
    if "param" in p and (always & {"param", "base_width"} or (not only and p["param"] != "sp")):
        out.append(param_name(p))
    if "readout" in p and ("readout" in always or (not only and p["readout"] != "normal")):
        out.append(f"{AXES['readout'].label(p['readout'])} readout")
    texts = {
        "dataset": printable,
        "hidden": lambda v: f"{v} units",
        "lr": lambda v: f"lr {v:g}",
        "steps": lambda v: f"{v} steps",
        "batch_size": lambda v: f"batch {v}",
        "init": lambda v: f"init {v}",
        "precision": lambda v: str(v),
        "display_step": lambda v: f"a point every {v} steps",
    }
    for k, text in texts.items():
        if k in p and k in named:
            out.append(text(p[k]))
    return out


# How a caption writes the task's fields (a task's own fields: its length, its seed, a user
# task's identity, metric and chance level).
_TASK_TEXTS = {
    "task": lambda v: AXES["task"].label(v),
    "length": lambda v: f"length {v}" if v else "",
    "task_seed": lambda v: f"task seed {v}",
    "task_id": lambda v: f"task {v}" if v else "",
    "task_metric": lambda v: str(TASK_METRICS[v].title) if v in TASK_METRICS else "",
    "task_chance": lambda v: "chance unknown" if v is None else f"chance {v:g}",
}


def _task_parts(p: dict, always: set[str], only: bool) -> list[str]:
    """The caption's parts for the task: named where it is not the homework's (rows of an
    image) or tells tables apart (``always``); its length where it has one, its seed where it
    reads one (or tells tables apart)."""
    fields = set(_TASK_TEXTS)
    if only:
        named = always & fields
    elif p.get("task", "rows") == "rows" and not always & fields:
        return []
    else:
        named = {"task"} | (always & fields) | {k for k in ("length", "task_seed", "task_id") if p.get(k)}
    texts = (printable(text(p[k])) for k, text in _TASK_TEXTS.items() if k in p and k in named)
    return [t for t in texts if t]


def table_notes(table: Table) -> list[str]:
    """The footnotes a table needs (diverged seeds, DNF)."""
    cells = list(table.cells.values())
    out = []
    what = "accuracy" if is_accuracy(table) else table.measure.title
    if any(c.diverged for c in cells):
        out.append(f"* a seed diverged (loss became NaN/inf); its {what} is still counted")
    if any(c.label == "DNF" for c in cells):
        out.append("DNF: out of memory")
    if any((c.label or "").startswith("pruned@") for c in cells):
        out.append(
            f"pruned@N: a search stopped it after N steps (its validation {what} there "
            "ranked below the rates it kept)"
        )
    return out


def _grid(table: Table, stat: str = "mean") -> tuple[list[str], list[list[str]]]:
    rows, cols = table.axes
    header = [f"{rows.name} \\ {cols.name}", *(cols.label(c) for c in table.cols)]
    body = [[rows.label(r), *(table.text(r, c, stat) for c in table.cols)] for r in table.rows]
    return header, body


def render_text(table: Table, stat: str = "mean", always: Sequence[str] = ()) -> str:
    header, rows = _grid(table, stat)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    line = lambda r: "  ".join(c.rjust(w) for c, w in zip(r, widths))  # noqa: E731
    out = [
        f"{metric_title(table)}: {describe(table, stat, always)}",
        line(header),
        "  ".join("-" * w for w in widths),
        *(line(r) for r in rows),
    ]
    return "\n".join(out + table_notes(table))


def render_markdown(table: Table, stat: str = "mean", always: Sequence[str] = ()) -> str:
    header, rows = _grid(table, stat)
    header = [c.replace("|", "\\|") for c in header]  # a | in a name is not a column
    rows = [[c.replace("|", "\\|") for c in r] for r in rows]
    out = [
        f"**{metric_title(table)}** ({describe(table, stat, always)})",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---:" for _ in header) + "|",
    ]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    notes = table_notes(table)
    return "\n".join(out + ([""] + notes if notes else []))


def _col_header(table: Table, col) -> str:
    cols = table.axes[1]
    return f"{cols.name}_{col!r}" if cols.name == "lr" else f"{cols.name}_{cols.label(col)}"


def _ordered(axis: Axis, values) -> list:
    return sorted(dict.fromkeys(values), key=axis.sort_key)


def render_csv(tables: Sequence[Table], stat: str = "mean") -> str:
    """Every table as one CSV block of numbers: the reference file's layout
    (``hidden,lr_1e-05,...``; other axes alike, ``cell,steps_300,steps_999``), with, where a
    cell has several seeds, its ``_std`` and ``_n`` beside each column (``stat`` mean; median
    and best: ``_n``). Tables that differ by a field (two datasets) are rows of the same block,
    that field a column of its own, as is the metric where tasks measure differently. A cell
    without a value holds its label (``DNF``, ``failed``, ``pruned@111``); seeds that diverged
    are counted, as in every format (``export`` has each trial's status). With ``best_over``,
    ``_best_<axis>`` beside each column holds the value each cell took."""
    first = tables[0]
    rows, cols = first.axes
    varied = [k for k in varied_fields(tables) if k not in (rows.name, cols.name)]
    metrics = len({t.measure.name for t in tables}) > 1
    spread = stat != "all" and any(t.seeds > 1 for t in tables)
    columns = _ordered(cols, (c for t in tables for c in t.cols))
    header = [*varied, *(["metric"] if metrics else [])]
    what = first.metric if first.metric != "accuracy" else first.measure.name  # loss, time, bpc...
    plain = metrics or (is_accuracy(first) and first.metric == "accuracy")  # test accuracy: the reference's
    header.append(rows.name if plain else f"{rows.name} [{what}]")
    for c in columns:
        name = _col_header(first, c)
        header += [name, f"{name}_std", f"{name}_n"] if spread and stat == "mean" else [name]
        if spread and stat != "mean":
            header.append(f"{name}_n")
        if first.best_over:
            header.append(f"{name}_best_{first.best_over}")
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([csv_cell(h) for h in header])
    for t in tables:
        show = _shown(t)
        lead = [printable(str(t.protocol.get(k, ""))) for k in varied] + ([t.measure.name] if metrics else [])
        for r in t.rows:  # a name such as =HYPERLINK(...) is text, not a formula (csv_cell)
            line = [*lead, rows.label(r)]
            for c in columns:
                cell = t.cell(r, c)
                if stat == "all" or cell.label is not None:
                    value = cell.label if cell.label is not None else " / ".join(show(v) for v in cell.values)
                else:
                    value = show(
                        {"mean": cell.mean, "median": cell.median, "best": cell.best(t.metric, t.measure)}[
                            stat
                        ]
                    )
                line.append(value)
                if spread and stat == "mean":
                    line.append("" if cell.std is None else show(cell.std))
                if spread:
                    line.append(str(cell.n) if cell.n else "")
                if first.best_over:
                    chosen = t.chosen.get((r, c))
                    line.append("" if chosen is None else AXES[first.best_over].label(chosen))
            writer.writerow([csv_cell(x) for x in line])
    return buf.getvalue().rstrip("\n")


def _json_number(value: object) -> object:
    return None if isinstance(value, float) and not math.isfinite(value) else value


def _json_safe(value: object) -> object:
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return _json_number(value)
    return str(value)


def table_data(table: Table, tables: Sequence[Table] = ()) -> dict:
    """One table as plain data (what ``--format json`` writes): its metric and caption, the
    protocol its trials share, what tells it from the other ``tables``, its two axes' values,
    and each cell's statistics, every seed's value and status; a value that is not finite is
    None."""
    rows, cols = table.axes
    cells = []
    for r in table.rows:
        for c in table.cols:
            cell = table.cell(r, c)
            cells.append(
                {
                    rows.name: _json_safe(r),
                    cols.name: _json_safe(c),
                    "mean": _json_number(cell.mean),
                    "std": _json_number(cell.std),
                    "median": _json_number(cell.median),
                    "best": _json_number(cell.best(table.metric, table.measure)),
                    "n": cell.n,
                    "values": [_json_number(v) for v in cell.values],
                    "statuses": [str(x) for x in cell.statuses],
                    "label": cell.label,
                    "diverged": cell.diverged,
                    **({"chosen": _json_safe(table.chosen.get((r, c)))} if table.best_over else {}),
                }
            )
    varied = varied_fields(tables) if tables else ()
    return {
        "title": metric_title(table),
        "caption": describe(table, "mean", varied),
        "metric": table.metric,
        "measure": table.measure.name,
        "rows_axis": rows.name,
        "cols_axis": cols.name,
        "best_over": table.best_over,
        "facet": {k: _json_safe(table.protocol.get(k)) for k in varied},
        "protocol": _json_safe(table.protocol),
        "rows": _json_safe(list(table.rows)),
        "cols": _json_safe(list(table.cols)),
        "cells": cells,
        "notes": table_notes(table),
    }


def render_json(tables: Sequence[Table]) -> str:
    """Every table as one JSON document: ``{"tables": [table_data, ...]}`` (strict JSON)."""
    return json.dumps({"tables": [table_data(t, tables) for t in tables]}, allow_nan=False, indent=1)


_LATEX = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "±": r"$\pm$",
    "*": r"$^{*}$",
}


def _latex_escape(text: str) -> str:
    """``text`` as LaTeX prints it (a dataset name may hold any character)."""
    return "".join(_LATEX.get(ch, ch) for ch in text)


def render_latex(table: Table, stat: str = "mean", always: Sequence[str] = ()) -> str:
    header, rows = _grid(table, stat)
    row_axis, col_axis = table.axes
    corner = header[0]  # as every format writes it: hidden \ lr
    out = [
        r"\begin{table}[ht]",
        r"\centering",
        rf"\caption{{{_latex_escape(metric_title(table))} "
        rf"({_latex_escape(describe(table, stat, always))})}}",
        r"\begin{tabular}{r" + "r" * len(table.cols) + "}",
        r"\toprule",
        " & ".join(_latex_escape(c) for c in [corner, *header[1:]]) + r" \\",
        r"\midrule",
    ]
    out += [" & ".join(_latex_escape(c) for c in r) + r" \\" for r in rows]
    out += [r"\bottomrule", r"\end{tabular}"]
    out += [rf"\par\footnotesize {_latex_escape(n)}" for n in table_notes(table)]
    out.append(r"\end{table}")
    return "\n".join(out)


_RENDERERS = {"text": render_text, "markdown": render_markdown, "latex": render_latex}


def render_tables(tables: Sequence[Table], fmt: str = "text", stat: str = "mean") -> str:
    """Render each table in ``fmt``; several facets give several tables, a blank line apart,
    each caption naming what tells it apart from the others; as data (``csv``, ``json``) they
    are one block (:func:`render_csv`, :func:`render_json`).

    ``stat``: ``mean`` (± sample std), ``median``, ``best`` seed, or ``all`` seeds' values.
    Names from the store are shown with their control characters escaped, in every format.

    Raises:
        ConfigError: ``tables`` is not a list of Table (from :func:`build_tables`); an unknown
            format or statistic.
    """
    tables = checks.items_of("tables", tables, Table, "a Table (from build_tables)")
    checks.choice("format", fmt, FORMATS)
    checks.choice("statistic", stat, STATS)
    if not tables:
        return ""
    if fmt == "csv":
        return render_csv(tables, stat)
    if fmt == "json":
        return render_json(tables)
    always = varied_fields(tables)
    return "\n\n".join(_RENDERERS[fmt](t, stat, always) for t in tables)
