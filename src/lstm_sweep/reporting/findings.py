"""Findings and the comparison with the published Table 1: plain data computed from results.

Every finding carries the numbers behind its sentence, and a sentence is only written when the
data supports it (with one seed per cell, the spread between seeds is reported as unknown).
Renderers (text, HTML) live in :mod:`lstm_sweep.reporting.tables` and :mod:`lstm_sweep.reporting.html`.
"""

from __future__ import annotations

import csv
import dataclasses
import math
import os
import stat as stat_mod
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from importlib import resources

from ..errors import ConfigError
from ..study import TASKS, Metric, TrialResult, failed_threshold, metric_of, plural, t_975
from . import checks
from .axes import AXES, COLS, ROWS, facet_key
from .scaling import scaling_sentences
from .tables import Cell, Table, build_tables, facet_name, is_accuracy, param_name
from .text import printable

FAILED_BELOW = 0.2  # mean test accuracy under this = training failed (chance is 0.1)
BAND_POINTS = 0.5  # the "goldilocks" band: rates within this many points of a row's best
DISAGREE_POINTS = 5.0  # seeds of a cell disagree when their accuracies span more than this
# A task scored by a loss (bits per character, MSE, nats): the band is the rates within this
# fraction of a row's best loss, and seeds disagree when they span more than this fraction of
# their best.
BAND_FRACTION = 0.05
DISAGREE_FRACTION = 0.1


@dataclass(frozen=True)
class Finding:
    kind: str
    text: str
    data: dict = field(default_factory=dict)


def _pts(x: float) -> str:
    return f"{100 * x:.1f}"


def _lr(x: float) -> str:
    return f"{x:g}"


def _times(x: float) -> str:
    """A factor as a sentence writes it: ``×8``, ``×2.5``, ``×10``, ``×1000`` (two significant
    digits below 10, a whole number above: rates two-fold apart give 8.000000000000002)."""
    return "×" + (f"{x:.2g}" if x < 10 else f"{round(x)}")


def _octaves(n: float) -> str:
    """``3 octaves``, ``1 octave``, ``3.3 octaves`` (rates ten-fold apart)."""
    text = f"{n:.1f}".removesuffix(".0")
    return f"{text} octave" + ("" if text == "1" else "s")


def _factor(a: float, b: float) -> float:
    """How far apart two rates are, whichever is larger: 8 for 0.01 and 0.00125."""
    return max(a, b) / min(a, b)


def _row(table: Table, row) -> dict:
    """Column value -> cell, for the cells of ``row`` that have values."""
    return {c: table.cell(row, c) for c in table.cols if table.cell(row, c).values}


def failing_from(accuracy: dict[float, float], failed=None) -> float | None:
    """The divergence frontier of one row: the smallest rate from which every larger tested rate
    fails (``failed(value)``: by default accuracy < FAILED_BELOW, the homework's; a table's
    :meth:`~lstm_sweep.reporting.tables.Table.failed` for its task); None if the largest rate
    trains."""
    fails = failed if failed is not None else (lambda v: v < FAILED_BELOW)
    start = None
    for lr in sorted(accuracy, reverse=True):
        if not fails(accuracy[lr]):
            break
        start = lr
    return start


def best_per_row(table: Table) -> dict:
    """Row value -> (best column value, its mean accuracy), over cells that have values: for
    the seed's table, width -> (best learning rate, accuracy). The best by the task's metric:
    the highest accuracy, the lowest loss (a tie: the first column)."""
    out = {}
    key = table.measure.key
    for h in table.rows:
        row = _row(table, h)
        if row:
            lr = max(row, key=lambda k: key(row[k].mean))
            out[h] = (lr, row[lr].mean)
    return out


def in_band(table: Table, value: float, best: float) -> bool:
    """Whether a mean ``value`` lies in the band of a row's ``best``: within BAND_POINTS points
    of the best accuracy, or within BAND_FRACTION of the best loss."""
    if is_accuracy(table):
        return value >= best - BAND_POINTS / 100
    return value <= best + BAND_FRACTION * abs(best)


def band_text(table: Table) -> str:
    """The band in words: ``0.5 points``, ``5 % of the best bits per character``."""
    if is_accuracy(table):
        return f"{BAND_POINTS} points"
    return f"{100 * BAND_FRACTION:g} % of the best {table.measure.title}"


def value_text(table: Table, value: float) -> str:
    """A value of the table's metric in a sentence: ``0.9500`` (an accuracy, as the homework's
    findings write it), ``1.523`` (a loss)."""
    return f"{value:.4f}" if is_accuracy(table) else table.measure.format(value)


def failure_text(table: Table) -> str:
    """What counts as failing, in words: ``accuracy < 0.2 or NaN loss``; ``mean squared error
    > 0.15 (0.9 × chance) or NaN loss``; where chance is unknown, divergence only."""
    measure, chance = table.measure, table.chance
    if is_accuracy(table) and chance == 0.1:  # the homework's ten classes
        return f"accuracy < {FAILED_BELOW} or NaN loss"
    if chance is None:
        return f"NaN loss only: the chance level of {measure.title} is unknown here"
    # a table without trials (no judge) is the homework's ten classes, answered above
    threshold = failed_threshold(table.judge) if table.judge is not None else None
    assert threshold is not None  # chance is known
    sign = "<" if measure.higher_is_better else ">"
    name = "accuracy" if is_accuracy(table) else measure.title
    factor = threshold / chance if chance else 0.0
    return f"{name} {sign} {threshold:.4g} ({factor:.2g} × chance) or NaN loss"


def frontier_per_row(table: Table, best: dict | None = None) -> dict:
    """Row value -> the rate from which training fails (see :func:`failing_from`), for the rows
    where one does; empty unless the columns are learning rates. ``best``: the table's
    :func:`best_per_row`, if already computed."""
    if table.col_axis != "lr":
        return {}
    out = {}
    for h in best_per_row(table) if best is None else best:
        values = {lr: (math.nan if c.diverged else c.mean) for lr, c in _row(table, h).items()}
        start = failing_from(values, table.failed)
        if start is not None:
            out[h] = start
    return out


def findings(results: Sequence[TrialResult], rows: str = ROWS, cols: str = COLS) -> list[Finding]:
    """Findings for each table (facet) of ``rows`` x ``cols`` in ``results``, then, with several
    tables, the sentences that compare them (:data:`ACROSS_RULES`).

    Raises:
        ConfigError: ``results`` is not a list of TrialResult; an unknown axis.
    """
    results = checks.results(results)
    out: list[Finding] = []
    tables = build_tables(results, "accuracy", rows, cols)
    times = {_key(t): t for t in build_tables(results, "time", rows, cols)}
    names = [facet_name(t, tables) for t in tables] if len(tables) > 1 else []
    for i, table in enumerate(tables):
        if names:  # say which table (facet) the sentences below are about
            out.append(Finding("facet", names[i], {"protocol": table.protocol}))
        out += _findings_for(table, times[_key(table)])
    for group in _scored_alike(tables) if names else []:
        facts = _Across.of([tables[i] for i in group], [names[i] for i in group])
        across = [f for rule in ACROSS_RULES for f in rule(facts)] if facts.rows else []
        if across:
            out.append(
                Finding(
                    "facet", "Across the tables (" + ", ".join(facts.names) + ")", {"tables": facts.names}
                )
            )
            out += across
    return out


def _scored_alike(tables: Sequence[Table]) -> list[list[int]]:
    """The tables that may be compared, by index, two or more to a group: those whose tasks
    are scored alike (one metric, one chance level); a task's tables never meet another's."""
    groups: dict[tuple, list[int]] = {}
    for i, t in enumerate(tables):
        groups.setdefault((t.measure.name, t.chance), []).append(i)
    return [g for g in groups.values() if len(g) > 1]


def _key(table: Table) -> tuple:
    return table.key


@dataclass(frozen=True)
class _Facts:
    """What every rule reads: the accuracy and time tables and each row's best cell."""

    table: Table
    times: Table
    best: dict  # row -> (best column, its accuracy)

    @property
    def widths(self) -> list:
        return list(self.best)

    def row(self, value) -> str:
        """A row value in a sentence: ``16`` (a width), ``GRU``."""
        return self.table.axes[0].label(value)

    def col(self, value) -> str:
        return self.table.axes[1].label(value)


def _best_lr(f: _Facts) -> list[Finding]:
    rows, cols = f.table.axes
    what = "learning rate" if cols.name == "lr" else cols.noun
    parts = [f"{f.row(h)} → {f.col(lr)} ({value_text(f.table, acc)})" for h, (lr, acc) in f.best.items()]
    measure = f.table.measure
    by = "" if is_accuracy(f.table) else f" (the lowest {measure.title})"
    return [
        Finding(
            "best_lr",
            f"Best {what} per {rows.noun}{by}: " + ", ".join(parts) + ".",
            {"best": {h: {cols.name: lr, measure.name: acc} for h, (lr, acc) in f.best.items()}},
        )
    ]


def _best_lr_trend(f: _Facts) -> list[Finding]:
    """How the best column moves along the rows (a trend only when both axes are ordered and
    it moves monotonically)."""
    rows, cols = f.table.axes
    widths, lrs = f.widths, [f.best[h][0] for h in f.widths]
    if len(widths) < 2 or not cols.numeric:
        return []
    first, last = f.row(widths[0]), f.row(widths[-1])
    best = f"best {cols.noun}"
    span = f"As {rows.noun} grows from {first} to {last}, the {best} moves"
    if rows.numeric and all(b <= a for a, b in zip(lrs, lrs[1:])) and lrs[-1] < lrs[0]:
        trend = f"{span} down, from {f.col(lrs[0])} to {f.col(lrs[-1])}."
    elif rows.numeric and all(b >= a for a, b in zip(lrs, lrs[1:])) and lrs[-1] > lrs[0]:
        trend = f"{span} up, from {f.col(lrs[0])} to {f.col(lrs[-1])}."
    elif len(set(lrs)) == 1:
        trend = (
            f"The {best} is {f.col(lrs[0])} at every {rows.noun} from {first} to {last}."
            if rows.numeric
            else f"The {best} is {f.col(lrs[0])} for every {rows.noun}."
        )
    elif rows.numeric:
        trend = (
            f"The {best} does not move steadily with {rows.noun}: " + ", ".join(f.col(x) for x in lrs) + "."
        )
    else:
        return []
    return [Finding("best_lr_trend", trend, {"widths": widths, "best_lrs": lrs})]


def _best_lr_spread(f: _Facts) -> list[Finding]:
    """How far apart the widths' best rates lie, in octaves (log2 of the largest over the
    smallest; rows = widths, columns = rates). Under sp the best rate moves with width; the
    claim of μP (Tensor Programs V, arXiv 2203.03466) is that it stays put: near 0 octaves."""
    if (f.table.row_axis, f.table.col_axis) != ("hidden", "lr") or len(f.widths) < 2:
        return []
    rates = {h: f.best[h][0] for h in f.widths}
    low_h = min(f.widths, key=lambda h: rates[h])
    high_h = max(f.widths, key=lambda h: rates[h])
    low, high = rates[low_h], rates[high_h]
    first, last = f.widths[0], f.widths[-1]
    factor = high / low
    octaves = math.log2(factor)
    if low == high:
        text = f"The best rate spans no octave from {first} to {last} units: it is {_lr(low)} at every width."
    else:
        span = f"The best rate spans {_octaves(octaves)} ({_times(factor)}) from {first} to {last} units"
        if {rates[first], rates[last]} == {low, high}:  # the narrowest and widest are the ends
            text = f"{span}: {_lr(rates[first])} → {_lr(rates[last])}."
        else:
            text = f"{span}: {_lr(high)} at {high_h} units, {_lr(low)} at {low_h} units."
    return [
        Finding(
            "best_lr_spread",
            text,
            {
                "octaves": octaves,
                "factor": factor,
                "low": low,
                "high": high,
                "widths": [first, last],
                "best_lrs": rates,
            },
        )
    ]


def _band(f: _Facts) -> list[Finding]:
    """The goldilocks band: columns within BAND_POINTS of each row's best."""
    rows, cols = f.table.axes
    band = {
        h: [lr for lr, c in _row(f.table, h).items() if in_band(f.table, c.mean, f.best[h][1])]
        for h in f.widths
    }
    noun = "Rates" if cols.name == "lr" else f"{cols.title[0].upper()}{cols.title[1:]} values"
    accuracy = is_accuracy(f.table)
    within = f"{BAND_POINTS} points of each {rows.noun}'s best" if accuracy else band_text(f.table)
    text = (
        f"{noun} within {within}: "
        + "; ".join(f"{f.row(h)}: {', '.join(f.col(x) for x in band[h])}" for h in f.widths)
        + "."
    )
    data = {"band": band, "points": BAND_POINTS} if accuracy else {"band": band, "fraction": BAND_FRACTION}
    return [Finding("band", text, data)]


def _frontier(f: _Facts) -> list[Finding]:
    """The divergence frontier: from which rate upwards training fails, per row (only when the
    columns are learning rates)."""
    if f.table.col_axis != "lr":
        return []
    rows = f.table.axes[0]
    frontier = frontier_per_row(f.table, f.best)
    unknown = f.table.chance is None  # only divergence counts as failing
    if not frontier:
        why = f" (only divergence counts: the chance level of {f.table.measure.title} is unknown)"
        return [
            Finding(
                "frontier",
                f"No tested rate made training fail at any {rows.noun}{why if unknown else ''}.",
                {"frontier": {}},
            )
        ]
    unit = " units" if rows.name == "hidden" else ""
    text = (
        f"Training fails ({failure_text(f.table)}) from rate: "
        + ", ".join(f"{f.row(h)}{unit} ≥ {_lr(lr)}" for h, lr in frontier.items())
        + "."
    )
    fronts = [frontier[h] for h in f.widths if h in frontier]
    if (
        rows.numeric
        and len(fronts) > 1
        and all(b <= a for a, b in zip(fronts, fronts[1:]))
        and fronts[-1] < fronts[0]
    ):
        text += f" The frontier moves to smaller rates as {rows.noun} grows."
    return [Finding("frontier", text, {"frontier": frontier})]


def _scaling(f: _Facts) -> list[Finding]:
    """How the best rate and the frontier scale with width, in numbers (tables of widths x
    rates with three widths or more: :mod:`lstm_sweep.reporting.scaling`)."""
    return [Finding(*s) for s in scaling_sentences(f.table, frontier_per_row(f.table, f.best))]


def _doubling(f: _Facts) -> list[Finding]:
    """Accuracy gained per doubling of width, and the time it costs (rows = widths)."""
    if f.table.row_axis != "hidden":
        return []
    out = []
    for a, b in zip(f.widths, f.widths[1:]):
        if b != 2 * a:
            continue
        gain = f.best[b][1] - f.best[a][1]
        ta = f.times.cell(a, f.best[a][0]).mean
        tb = f.times.cell(b, f.best[b][0]).mean
        if ta and tb:
            gained = (
                f"{'+' if gain >= 0 else ''}{_pts(gain)} points of best accuracy"
                if is_accuracy(f.table)
                else f"best {f.table.measure.title} {'+' if gain >= 0 else '−'}{abs(gain):.3g}"
            )
            out.append(
                Finding(
                    "doubling",
                    f"{a} → {b} units: {gained} ({value_text(f.table, f.best[a][1])} → "
                    f"{value_text(f.table, f.best[b][1])}) for {tb / ta:.1f}× the time per trial.",
                    {"from": a, "to": b, "gain": gain, "time_ratio": tb / ta},
                )
            )
    return out


def _enough_width(f: _Facts) -> list[Finding]:
    """The narrowest width within the band of the overall best (rows = widths)."""
    if f.table.row_axis != "hidden":
        return []
    best, key = f.best, f.table.measure.key
    top_h = max(best, key=lambda h: key(best[h][1]))
    enough = min(h for h in f.widths if in_band(f.table, best[h][1], best[top_h][1]))
    if enough == top_h:
        return []
    t_enough = f.times.cell(enough, best[enough][0]).mean
    t_top = f.times.cell(top_h, best[top_h][0]).mean
    if t_enough is None or t_top is None:
        return []
    return [
        Finding(
            "enough_width",
            f"{enough} units reach {value_text(f.table, best[enough][1])}, within "
            f"{band_text(f.table) if is_accuracy(f.table) else f'{100 * BAND_FRACTION:g} %'} of the "
            f"best ({value_text(f.table, best[top_h][1])} at {top_h} units), in {t_enough:.1f} s instead of "
            f"{t_top:.1f} s per trial.",
            {"width": enough, "best_width": top_h, "time": t_enough, "best_time": t_top},
        )
    ]


def _spread(f: _Facts) -> list[Finding]:
    """Seeds: how far they disagree, or that the spread is unknown with one seed."""
    table = f.table
    if table.seeds <= 1:
        return [
            Finding(
                "spread",
                "One seed per cell: the spread between seeds is unknown "
                "(run with --repeats 3 to measure it).",
                {"seeds": table.seeds},
            )
        ]
    wild = {
        (h, lr): c
        for h in table.rows
        for lr in table.cols
        if len((c := table.cell(h, lr)).values) > 1 and _disagree(table, c.values)
    }
    by = (
        f"{DISAGREE_POINTS:g} points"
        if is_accuracy(table)
        else f"{100 * DISAGREE_FRACTION:g} % of their best {table.measure.title}"
    )
    if wild:
        text = (
            f"Seeds disagree by more than {by} in {plural(len(wild), 'cell')}: "
            + ", ".join(
                f"{f.row(h)}/{f.col(lr)} ({value_text(table, min(c.values))}–"
                f"{value_text(table, max(c.values))})"
                for (h, lr), c in wild.items()
            )
            + "."
        )
    else:
        text = f"Seeds agree within {by} in every cell ({table.seeds} seeds)."
    return [Finding("spread", text, {"cells": [list(k) for k in wild]})]


def _disagree(table: Table, values: Sequence[float]) -> bool:
    """Whether a cell's seeds disagree: their accuracies span more than DISAGREE_POINTS points,
    their losses more than DISAGREE_FRACTION of the best of them."""
    if is_accuracy(table):
        return (max(values) - min(values)) * 100 > DISAGREE_POINTS
    return max(values) - min(values) > DISAGREE_FRACTION * abs(table.measure.best(values))


# The rules, in the order their sentences are shown. A rule = one small function of the facts.
def _searched(f: _Facts) -> list[Finding]:
    """A search pruned some cells: say so, and what the best rates above are the best of."""
    cells = f.table.cells
    pruned = [k for k, c in cells.items() if (c.label or "").startswith("pruned@")]
    if not pruned:
        return []
    rows, cols = f.table.axes
    finished = {r: sum(1 for (rr, _), c in cells.items() if rr == r and c.values) for r in f.table.rows}
    per = ", ".join(f"{f.row(r)}: {n}" for r, n in finished.items())
    return [
        Finding(
            "searched",
            f"A search pruned {len(pruned)} of {plural(len(cells), 'cell')} (shown "
            f"pruned@steps: stopped at a rung, ranked by validation accuracy); each "
            f"{rows.noun}'s best above is the best of the {cols.noun}s it finished in full "
            f"({per}).",
            {"pruned": len(pruned), "finished": finished},
        )
    ]


RULES = (
    _searched,
    _best_lr,
    _best_lr_trend,
    _best_lr_spread,
    _band,
    _frontier,
    _scaling,
    _doubling,
    _enough_width,
    _spread,
)


def _findings_for(table: Table, time_table: Table) -> list[Finding]:
    best = best_per_row(table)
    if not best:
        what = "an accuracy" if is_accuracy(table) else f"a {table.measure.title}"
        return [Finding("empty", f"No trial produced {what} yet.")]
    facts = _Facts(table, time_table, best)
    return [finding for rule in RULES for finding in rule(facts)]


# --------------------------------------------------------------------------- across tables
# Sentences that compare the tables (facets) on the rows they share: how the best column
# moves from the first table to each other one, which table is best in each row, and whether
# the divergence frontier moves.


@dataclass(frozen=True)
class _Across:
    """What every rule across tables reads, computed once: the tables, their names, each
    table's best cell per row, and the rows every table has a best cell in."""

    tables: Sequence[Table]
    names: list[str]
    bests: list[dict]  # per table: row -> (best column, its accuracy)
    rows: list  # the first table's row order, then rows only later tables list

    @classmethod
    def of(cls, tables: Sequence[Table], names: list[str]) -> _Across:
        bests = [best_per_row(t) for t in tables]
        shared = [r for t in tables for r in t.rows if all(r in d for d in bests)]
        return cls(tables, names, bests, list(dict.fromkeys(shared)))


def _same_as_first(kind: str, what: str, names: list[str], same: list[str]) -> list[Finding]:
    """One sentence for every table where ``what`` is as in the first table."""
    if not same:
        return []
    return [
        Finding(
            kind,
            f"{what} is the same in {', '.join(same)} as in {names[0]}.",
            {"from": names[0], "same": same},
        )
    ]


def _across_best(a: _Across) -> list[Finding]:
    """How each row's best column moves from the first table to each other one."""
    names, bests, rows = a.names, a.bests, a.rows
    row_axis, col_axis = a.tables[0].axes
    r, c = row_axis.label, col_axis.label
    noun = "rate" if col_axis.name == "lr" else col_axis.noun
    out, same = [], []
    for name, best in zip(names[1:], bests[1:]):
        moves: dict[str, list] = {"unchanged": [], "up": [], "down": [], "changed": []}
        for h in rows:
            before, after = bests[0][h][0], best[h][0]
            how = (
                "unchanged"
                if before == after
                else ("changed" if not col_axis.numeric else "up" if after > before else "down")
            )
            moves[how].append(h)
        if len(moves["unchanged"]) == len(rows):
            same.append(name)
            continue
        parts = []
        for how, hs in moves.items():
            if not hs:
                continue
            if how == "unchanged":
                parts.append("unchanged at " + ", ".join(r(h) for h in hs))
            else:
                parts.append(
                    f"{how} at " + ", ".join(f"{r(h)} ({c(bests[0][h][0])} → {c(best[h][0])})" for h in hs)
                )
        out.append(
            Finding(
                "across_best",
                f"{names[0]} → {name}: the best {noun} per {row_axis.noun} is " + "; ".join(parts) + ".",
                {"from": names[0], "to": name, "moves": {k: [r(h) for h in v] for k, v in moves.items()}},
            )
        )
    where = ", ".join(f"{r(h)}: {c(bests[0][h][0])}" for h in rows)
    return _same_as_first("across_best", f"The best {noun} per {row_axis.noun} ({where})", names, same) + out


def _across_winner(a: _Across) -> list[Finding]:
    """Which table reaches the best accuracy in each shared row (at its own best column)."""
    tables, names, bests, rows = a.tables, a.names, a.bests, a.rows
    row_axis, col_axis = tables[0].axes
    noun = "rate" if col_axis.name == "lr" else col_axis.noun
    measure = tables[0].measure  # (the tables compared share their task's metric)
    winners = {}
    for h in rows:
        k = max(range(len(tables)), key=lambda i: measure.key(bests[i][h][1]))
        runner = measure.best([bests[i][h][1] for i in range(len(tables)) if i != k])
        tied = value_text(tables[0], bests[k][h][1]) == value_text(tables[0], runner)  # as shown
        winners[h] = ("a tie" if tied else names[k], bests[k][h][1], runner)
    count = {n: sum(w[0] == n for w in winners.values()) for n in names}
    lead = max(count, key=lambda n: count[n])
    text = (
        f"Best table per {row_axis.noun} (each at its best {noun}): "
        + ", ".join(
            f"{row_axis.label(h)} → {n} ({value_text(tables[0], acc)}, next {value_text(tables[0], nxt)})"
            for h, (n, acc, nxt) in winners.items()
        )
        + "."
    )
    if count[lead] == len(rows) and len(rows) > 1:  # a tie anywhere: no table is best everywhere
        text += f" {lead} is best at every {row_axis.noun}."
    return [
        Finding(
            "across_winner",
            text,
            {
                "winners": {
                    row_axis.label(h): {"table": n, measure.name: acc, "next": nxt}
                    for h, (n, acc, nxt) in winners.items()
                }
            },
        )
    ]


def _across_frontier(a: _Across) -> list[Finding]:
    """Whether the divergence frontier moves from the first table to each other one."""
    tables, names, rows = a.tables, a.names, a.rows
    if tables[0].col_axis != "lr":
        return []
    fronts = [frontier_per_row(t, best) for t, best in zip(tables, a.bests)]
    row_axis = tables[0].axes[0]
    if not any(fronts):
        return [
            Finding(
                "across_frontier",
                f"No tested rate made training fail in any table, at any {row_axis.noun}.",
                {"moved": {}},
            )
        ]
    r = row_axis.label
    show = lambda d, h: _lr(d[h]) if h in d else "none"  # noqa: E731
    out, same = [], []
    for name, front in zip(names[1:], fronts[1:]):
        moved = [h for h in rows if fronts[0].get(h) != front.get(h)]
        if not moved:
            same.append(name)
            continue
        text = (
            f"Divergence frontier, {names[0]} → {name}: "
            + ", ".join(f"{r(h)}: {show(fronts[0], h)} → {show(front, h)}" for h in moved)
            + (
                " (none: no tested rate fails)"
                if any(h not in front or h not in fronts[0] for h in moved)
                else ""
            )
            + "."
        )
        out.append(
            Finding(
                "across_frontier",
                text,
                {
                    "from": names[0],
                    "to": name,
                    "moved": {r(h): [fronts[0].get(h), front.get(h)] for h in moved},
                },
            )
        )
    where = ", ".join(f"{r(h)}: {show(fronts[0], h)}" for h in rows)
    return (
        _same_as_first(
            "across_frontier", f"The divergence frontier per {row_axis.noun} ({where})", names, same
        )
        + out
    )


_PARAM_FIELDS = ("param", "base_width")  # a parametrization: mup reads its base width


def _without_param(protocol: dict) -> dict:
    return {k: v for k, v in protocol.items() if k not in _PARAM_FIELDS}


def param_groups(tables: Sequence[Table]) -> list[tuple[str, list[Table]]]:
    """The tables grouped by everything but their parametrization (``param`` and its base
    width), so that sp and mup of one model sit side by side: per group, in the tables' order,
    what tells it apart from the other groups (``""`` with one group, ``GRU`` with several)
    and its tables, in the parametrization axis's order (sp first).

    Raises:
        ConfigError: ``tables`` is not a list of Table (from :func:`build_tables`).
    """
    tables = checks.items_of("tables", tables, Table, "a Table (from build_tables)")
    groups: dict[tuple, list[Table]] = {}
    for t in tables:
        groups.setdefault((facet_key(_without_param(t.protocol)), t.measure.name, t.chance), []).append(t)
    heads = [dataclasses.replace(ts[0], protocol=_without_param(ts[0].protocol)) for ts in groups.values()]
    names = [facet_name(h, heads) for h in heads] if len(heads) > 1 else [""] * len(heads)

    def order(t: Table) -> tuple:
        return (AXES["param"].sort_key(t.protocol.get("param")), t.protocol.get("base_width", 0))

    return [(name, sorted(ts, key=order)) for name, ts in zip(names, groups.values())]


def _transfer(group: str, sp: dict, other: dict, name: str) -> list[Finding]:
    """One sentence: how far the best rate moves from the narrowest to the widest width that
    both tables have a best rate at, under ``name`` (``mup (base 64)``) and under sp."""
    shared = sorted(set(sp) & set(other))
    if len(shared) < 2:
        return []
    lo, hi = shared[0], shared[-1]
    s_from, s_to, m_from, m_to = sp[lo][0], sp[hi][0], other[lo][0], other[hi][0]
    s_move, m_move = _factor(s_from, s_to), _factor(m_from, m_to)
    sp_moves = f"{_times(s_move)} ({_lr(s_from)} → {_lr(s_to)})"
    transfers = m_move < s_move and not math.isclose(m_move, s_move)
    if transfers and m_from == m_to:
        text = (
            f"Under {name} the best rate of {lo} units is also the best rate of {hi} units "
            f"({_lr(m_from)}); under sp it moves {sp_moves}."
        )
    elif transfers:
        text = (
            f"Under {name} the best rate of {lo} units is the best rate of {hi} units "
            f"within {_times(m_move)} ({_lr(m_from)} vs {_lr(m_to)}); under sp it moves "
            f"{sp_moves}."
        )
    elif m_from == m_to:  # and so under sp: this grid shows no move to correct
        text = (
            f"Width does not move the best rate from {lo} to {hi} units under either "
            f"parametrization: sp {_lr(s_from)} at both, {name} {_lr(m_from)} at both; "
            "these widths cannot show a transfer."
        )
    else:
        how = "as far as under sp" if math.isclose(m_move, s_move) else "further than under sp"
        under_sp = (
            f"({_times(s_move)}, {_lr(s_from)} → {_lr(s_to)})"
            if s_from != s_to
            else f"(where it stays at {_lr(s_from)})"
        )
        text = (
            f"Under {name} the best rate moves {_times(m_move)} from {lo} to {hi} units "
            f"({_lr(m_from)} → {_lr(m_to)}), {how} {under_sp}: it does not transfer here."
        )
    return [
        Finding(
            "across_transfer",
            (f"{group}: " if group else "") + text,
            {
                "group": group,
                "param": name,
                "widths": [lo, hi],
                "sp": [s_from, s_to],
                "other": [m_from, m_to],
                "sp_factor": s_move,
                "factor": m_move,
                "transfers": transfers,
            },
        )
    ]


def _across_transfer(a: _Across) -> list[Finding]:
    """Whether the best rate transfers across widths (μTransfer, Tensor Programs V, arXiv
    2203.03466): for each table that differs from an sp table only in its parametrization,
    how far the best rate moves between their narrowest and widest shared width, under each
    (rows = widths, columns = rates); in the tables' order."""
    if (a.tables[0].row_axis, a.tables[0].col_axis) != ("hidden", "lr"):
        return []
    best_of = {id(t): best for t, best in zip(a.tables, a.bests)}
    out = []
    for group, members in param_groups(a.tables):
        sp = [t for t in members if t.protocol.get("param") == "sp"]
        for t in members if sp else []:
            if t is not sp[0]:
                out += _transfer(group, best_of[id(sp[0])], best_of[id(t)], param_name(t.protocol))
    return out


ACROSS_RULES = (_across_best, _across_winner, _across_frontier, _across_transfer)


# --------------------------------------------------------------------------- the reference


# The protocol Table 1 was measured with (the seed's).
REFERENCE_PROTOCOL = {
    "dataset": "mnist",
    "steps": 999,
    "batch_size": 100,
    "init": "tf",
    "precision": "fp32",
    "display_step": 10,
    "cell": "lstm",
    "optimizer": "adam",
    "opt": (),
}


# The published numbers a store can be compared with: the homework's Table 1 (rows of MNIST,
# per width and rate), and the TCN paper's Table 1 (per task and cell; study.TASKS holds them).
REFERENCES = ("hw2", "tcn")


MAX_REFERENCE_BYTES = 2**20  # a table of widths x rates is a few KB


class Reference(dict):
    """A published table, (hidden, lr) -> accuracy (None: DNF), with where it came from and the
    protocol it was measured with where known (the built-in ``hw2``'s; a user's file: None)."""

    def __init__(self, cells: dict, name: str, protocol: dict | None):
        super().__init__(cells)
        self.name, self.protocol = name, protocol


def load_reference(name: str = "hw2") -> dict[tuple, float | None]:
    """The published table: for ``hw2``, (hidden, lr) -> accuracy, or None where it says DNF;
    for ``tcn``, (task, cell) -> its number in the task's metric; for the path of a CSV file
    (a table of your own, in the layout ``table --format csv`` writes: ``hidden,lr_0.001,...``
    and a row per width; ``DNF`` or an empty cell where there is none; ``_std``/``_n``
    columns ignored), its (hidden, lr) -> accuracy.

    Raises:
        ConfigError: neither a shipped reference (hw2, tcn) nor a readable CSV table of widths
            by rates with accuracies from 0 to 1.
    """
    if not isinstance(name, str) or not name:
        raise ConfigError(f"reference must be hw2, tcn or the path of a CSV table, got {name!r:.40}")
    if name == "tcn":
        return {(task, ref.cell): ref.value for task, info in TASKS.items() for ref in info.references}
    if name == "hw2":
        text = (resources.files("lstm_sweep") / "reference" / "hw2_table1.csv").read_text()
        return Reference(_table_of(text, "hw2"), "hw2", REFERENCE_PROTOCOL)
    if "/" not in name and "." not in name and not os.path.exists(name):  # a mistyped name
        raise ConfigError(
            f"unknown reference {printable(name)[:60]!r}: choose hw2, tcn, or the path of a CSV "
            "table of your own (no such file here)"
        )
    return Reference(_table_of(_read_reference(name), printable(name)), printable(name), None)


def _read_reference(path: str) -> str:
    """The text of a reference file: a regular file (opened without blocking: a FIFO never
    waits), at most :data:`MAX_REFERENCE_BYTES`, UTF-8."""
    how = "pass reference= with hw2, tcn, or the path of a CSV table (hidden,lr_0.001,...)"
    shown = printable(path)[:200]
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as e:
        raise ConfigError(f"reference {shown}: cannot open it ({e.strerror or e}); {how}") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat_mod.S_ISREG(mode):
            kind = "a folder" if stat_mod.S_ISDIR(mode) else "not a regular file (a FIFO, socket or device)"
            raise ConfigError(f"reference {shown} is {kind}; {how}")
        with os.fdopen(fd, "rb", closefd=False) as f:
            blob = f.read(MAX_REFERENCE_BYTES + 1)
    except OSError as e:
        raise ConfigError(f"reference {shown}: cannot read it ({e.strerror or e})") from None
    finally:
        os.close(fd)
    if len(blob) > MAX_REFERENCE_BYTES:
        raise ConfigError(f"reference {shown} is larger than 1 MiB: a table of widths by rates is smaller")
    try:
        return blob.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ConfigError(f"reference {shown} is not UTF-8 text; {how}") from None


def _reference_number(text: str) -> float | None:
    """A cell: ``0.9487``, ``0.80 ± 0.01`` (the mean), ``0.95*``; ``DNF``: None."""
    text = text.strip().rstrip("*").split("±")[0].split("(n=")[0].strip()
    if text.upper() == "DNF":
        return None
    return float(text)


def _table_of(text: str, name: str) -> dict[tuple, float | None]:
    """(hidden, lr) -> accuracy from a CSV table of widths (rows) by rates (``lr_X`` columns)."""
    rows = [r for r in csv.reader(text.splitlines()) if any(c.strip() for c in r)]
    fix = "a table as the CSV tables of lstm-sweep are: hidden,lr_0.001,lr_0.01 then a row per width"
    head = rows[0][0].strip().lower() if rows and rows[0] else ""
    if head.startswith("hidden [") and head != "hidden [accuracy]":  # table's CSV of another metric
        raise ConfigError(
            f"reference {name} holds {printable(head[8:].rstrip(']'))[:30]}, not test accuracy; give {fix}"
        )
    if len(rows) < 2 or not (head in ("hidden", "hidden [accuracy]") or head.startswith("hidden \\")):
        raise ConfigError(f"reference {name}: its first column must be hidden (widths); give {fix}")
    columns: dict[int, float] = {}
    for i, head in enumerate(rows[0][1:], start=1):
        head = head.strip()
        if not head.startswith("lr_") or head.endswith(("_std", "_n")) or "_best_" in head:
            continue
        try:
            lr = float(head.removeprefix("lr_"))
        except ValueError:
            continue
        if not (math.isfinite(lr) and lr > 0):
            raise ConfigError(f"reference {name}: column {printable(head)[:40]} is no positive rate")
        columns[i] = lr
    if not columns:
        raise ConfigError(f"reference {name}: no lr_<rate> column; give {fix}")
    out: dict[tuple, float | None] = {}
    for n, row in enumerate(rows[1:], start=2):
        try:
            hidden = int(row[0].strip())
        except (ValueError, IndexError):
            raise ConfigError(
                f"reference {name} line {n}: {printable(row[0] if row else '')[:40]!r} is no width"
            ) from None
        if hidden < 1:
            raise ConfigError(f"reference {name} line {n}: width {hidden} is not positive")
        for i, lr in columns.items():
            cell = row[i] if i < len(row) else ""
            said = cell.strip().lower()
            if not said or said in ("-", "failed") or said.startswith("pruned@"):  # no result there
                continue
            try:
                value = _reference_number(cell)
            except ValueError:
                raise ConfigError(
                    f"reference {name} line {n}: {printable(cell)[:40]!r} at lr {lr:g} is no "
                    "accuracy (a number, or DNF)"
                ) from None
            if value is not None and not 0 <= value <= 1:
                raise ConfigError(
                    f"reference {name} line {n}: accuracy {value:g} at lr {lr:g} is not from 0 to 1"
                )
            out[(hidden, lr)] = value
    if not out:
        raise ConfigError(f"reference {name}: no cell holds a number or DNF")
    return out


@dataclass(frozen=True)
class CellComparison:
    hidden: int
    lr: float
    reference: float | None  # None = DNF
    ours: Cell

    @property
    def diff(self) -> float | None:
        if self.reference is None or self.ours.mean is None:
            return None
        return self.ours.mean - self.reference

    def texts(self) -> tuple[str, str, str, str, str]:
        """(reference, ours as mean ± std, difference, within spread, within noise) as a table
        shows them."""
        ref = "DNF" if self.reference is None else f"{self.reference:.4f}"
        ours = (
            (self.ours.label or "")
            if self.ours.mean is None
            else (f"{self.ours.mean:.4f}" + (f" ± {self.ours.std:.4f}" if self.ours.std is not None else ""))
        )  # "": no value
        diff = "" if self.diff is None else f"{self.diff:+.4f}"
        word = {None: "-", True: "yes", False: "no"}
        return ref, ours, diff, word[self.within_spread], word[self.within_noise]

    @property
    def within_spread(self) -> bool | None:
        """Reference inside [min, max] of our seeds; None with fewer than two seeds."""
        if self.reference is None or len(self.ours.values) < 2:
            return None
        return min(self.ours.values) <= self.reference <= max(self.ours.values)

    @property
    def noise_interval(self) -> tuple[float, float] | None:
        """Where one more run of ours would land with 95 % probability: the prediction interval
        mean ± t(0.975, n-1) · s · sqrt(1 + 1/n) of our n seeds (normal seeds assumed); None with
        fewer than two seeds. The reference is one run of the original program, so this, not the
        range of three draws, is the question "could it be one more of ours?"."""
        values = self.ours.values
        if len(values) < 2 or self.ours.mean is None or self.ours.std is None:
            return None
        half = t_975(len(values) - 1) * self.ours.std * math.sqrt(1 + 1 / len(values))
        return self.ours.mean - half, self.ours.mean + half

    @property
    def within_noise(self) -> bool | None:
        """Reference inside :attr:`noise_interval`; None with fewer than two seeds or a DNF."""
        interval = self.noise_interval
        if self.reference is None or interval is None:
            return None
        return interval[0] <= self.reference <= interval[1]


@dataclass(frozen=True)
class Comparison:
    """Our cells of one table against the reference, and the summary sentences; ``facet`` names
    the table where the results hold several (``GRU``, ``mup``), each compared (``others``: the
    tables after the first, each a Comparison of its own)."""

    cells: list[CellComparison]
    summary: list[Finding]
    facet: str = ""
    others: tuple[Comparison, ...] = ()

    def each(self) -> list[Comparison]:
        """This table's comparison and the others', in the tables' order."""
        return [self, *self.others]


def compare(results: Sequence[TrialResult], reference: str = "hw2") -> Comparison | TaskComparison:
    """Our cells against the published table: each cell, and the summary sentences of
    :data:`COMPARISON_RULES`, for each table (protocol) in ``results`` — the first returned,
    the others in its ``others`` (each with its ``facet`` name). ``hw2`` compares the
    homework's task (rows of an image) only; a CSV table of one's own, any task scored by
    accuracy; ``tcn`` each task's best result per cell with the TCN paper's numbers
    (:func:`compare_published`).

    Raises:
        ConfigError: ``results`` is not a list of TrialResult; an unknown reference.
    """
    ref = load_reference(reference)
    results = checks.results(results)
    if reference == "tcn":
        return compare_published(results)
    if reference == "hw2":  # the homework's task only
        results = [r for r in results if r.config.task == "rows"]
    else:  # a table of one's own, of accuracies: any task scored by accuracy
        results = [r for r in results if metric_of(r.config).name == "accuracy"]
    tables = build_tables(results, "accuracy")
    if not tables:
        return Comparison([], [Finding("empty", "No results to compare.")])
    each = []
    for table in tables:
        cells = [
            CellComparison(h, lr, ref[(h, lr)], table.cell(h, lr))
            for (h, lr) in sorted(ref)
            if (h, lr) in table.cells
        ]
        name = facet_name(table, tables) if len(tables) > 1 else ""
        each.append(
            Comparison(cells, [f for rule in COMPARISON_RULES for f in rule(table, ref, cells)], name)
        )
    return replace(each[0], others=tuple(each[1:]))


def _protocol_note(table: Table, ref: dict, cells: list[CellComparison]) -> list[Finding]:
    known = getattr(ref, "protocol", REFERENCE_PROTOCOL) or {}  # a user's table: not known
    differs = {k: (v, table.protocol.get(k)) for k, v in known.items() if table.protocol.get(k) != v}
    out = []
    if differs:
        out.append(
            Finding(
                "protocol",
                "Note: the reference was measured with another protocol ("
                + ", ".join(f"{k} {ref_v} there, {ours} here" for k, (ref_v, ours) in differs.items())
                + "): the differences below are not only chance.",
                {"differs": {k: list(v) for k, v in differs.items()}},
            )
        )
    if not cells:
        out.append(
            Finding(
                "no_overlap",
                f"None of the stored cells is in the reference table (widths {_span([h for h, _ in ref])}, "
                f"rates {_span([lr for _, lr in ref], _lr)}).",
                {},
            )
        )
    return out


def _span(values: list, show=str) -> str:
    return f"{show(min(values))}-{show(max(values))}" if values else "none"


def _row_bests(table: Table, ref: dict, cells: list[CellComparison]) -> list[Finding]:
    ours_best = best_per_row(table)
    out, agree = [], []
    for h in sorted({c.hidden for c in cells}):
        row = {lr: v for (hh, lr), v in ref.items() if hh == h and v is not None}
        if not row or h not in ours_best:
            continue
        ref_lr = max(row, key=lambda lr: row[lr])
        our_lr, our_acc = ours_best[h]
        agree.append(ref_lr == our_lr)
        out.append(
            Finding(
                "row_best",
                f"{h} units: best cell reference {_lr(ref_lr)} ({row[ref_lr]:.4f}), ours "
                f"{_lr(our_lr)} ({our_acc:.4f}) — {'same rate' if ref_lr == our_lr else 'differs'}.",
                {"hidden": h, "reference_lr": ref_lr, "our_lr": our_lr},
            )
        )
    if agree:
        out.append(
            Finding(
                "best_lr_agreement",
                f"The best rate agrees in {sum(agree)} of {plural(len(agree), 'row')}.",
                {"agree": sum(agree), "rows": len(agree)},
            )
        )
    return out


def _differences(table: Table, ref: dict, cells: list[CellComparison]) -> list[Finding]:
    out = []
    diffs = [c.diff for c in cells if c.diff is not None]
    if diffs:
        mad = sum(abs(d) for d in diffs) / len(diffs)
        out.append(
            Finding(
                "mean_abs_diff",
                f"Mean |ours − reference| over {plural(len(diffs), 'cell')}: {_pts(mad)} points.",
                {"mean_abs_diff": mad},
            )
        )
    spread = [c.within_spread for c in cells if c.within_spread is not None]
    if spread:
        out.append(
            Finding(
                "within_spread",
                f"The reference lies within our seeds' range in {sum(spread)} of "
                f"{plural(len(spread), 'cell')}.",
                {"within": sum(spread), "cells": len(spread)},
            )
        )
        noise = [c.within_noise for c in cells if c.within_noise is not None]
        outside = [c for c in cells if c.within_noise is False]
        out.append(
            Finding(
                "within_noise",
                f"The reference is within noise (inside the 95 % prediction interval of one more "
                f"run of ours) in {sum(noise)} of {plural(len(noise), 'cell')}"
                + (": outside at " + ", ".join(f"{c.hidden}/{_lr(c.lr)}" for c in outside) if outside else "")
                + ".",
                {"within": sum(noise), "cells": len(noise), "outside": [[c.hidden, c.lr] for c in outside]},
            )
        )
    else:
        out.append(
            Finding(
                "within_spread",
                "One seed per cell: whether the reference lies within our spread is unknown.",
                {},
            )
        )
    return out


def _frontiers(table: Table, ref: dict, cells: list[CellComparison]) -> list[Finding]:
    ref_front, our_front = {}, {}
    for h in sorted({c.hidden for c in cells}):
        row = [c for c in cells if c.hidden == h]
        r = failing_from({c.lr: c.reference for c in row if c.reference is not None})
        o = failing_from({c.lr: c.ours.mean for c in row if c.ours.mean is not None})
        if r is not None:
            ref_front[h] = r
        if o is not None:
            our_front[h] = o
    if not (ref_front or our_front):
        return []
    return [
        Finding(
            "frontier",
            f"Divergence frontier (every rate from here up ends below {FAILED_BELOW}), "
            "reference vs ours: "
            + ", ".join(
                f"{h}: {_lr(ref_front[h]) if h in ref_front else '-'} vs "
                f"{_lr(our_front[h]) if h in our_front else '-'}"
                for h in sorted(set(ref_front) | set(our_front))
            )
            + ".",
            {"reference": ref_front, "ours": our_front},
        )
    ]


def _dnf_completed(table: Table, ref: dict, cells: list[CellComparison]) -> list[Finding]:
    dnf = [c for c in cells if c.reference is None]
    if not dnf:
        return []
    completed = [c for c in dnf if c.ours.values]
    return [
        Finding(
            "dnf_completed",
            f"Reference DNF cells we completed: {len(completed)} of {len(dnf)}"
            + (
                ": " + ", ".join(f"{c.hidden}/{_lr(c.lr)} ({c.ours.mean:.4f})" for c in completed)
                if completed
                else ""
            )
            + ".",
            {"completed": [[c.hidden, c.lr] for c in completed]},
        )
    ]


COMPARISON_RULES = (_protocol_note, _row_bests, _differences, _frontiers, _dnf_completed)


def render_comparison(comp: Comparison | TaskComparison) -> str:
    """The comparison as text: one line per cell, then the summary sentences (for the TCN
    paper's numbers: :func:`render_published`).

    Raises:
        ConfigError: ``comp`` is not a Comparison (from :func:`compare`).
    """
    if isinstance(comp, TaskComparison):
        return render_published(comp)
    if not isinstance(comp, Comparison):
        raise ConfigError(f"comp must be a Comparison (from compare), got {checks.kind_of(comp)}")
    blocks = []
    for one in comp.each():
        lines = [f"{printable(one.facet)}:"] if one.facet else []
        lines.append(
            f"{'hidden':>6} {'lr':>7} {'reference':>9} {'ours':>17} {'diff':>7}  in spread  in noise"
        )
        for c in one.cells:
            ref, ours, diff, spread, noise = c.texts()
            lines.append(f"{c.hidden:>6} {_lr(c.lr):>7} {ref:>9} {ours:>17} {diff:>7}  {spread:<9}  {noise}")
        blocks.append("\n".join(lines + [""] + [printable(f.text) for f in one.summary]))
    return "\n\n".join(blocks)


def render_findings(items: Sequence[Finding]) -> str:
    """One line per finding (its control characters escaped: one finding, one line); a facet
    (several tables) as a heading above its findings.

    Raises:
        ConfigError: ``items`` is not a list of Finding (from :func:`findings`).
    """
    items = checks.items_of("items", items, Finding, "a Finding (from findings)")
    return "\n".join(
        f"{printable(f.text)}:" if f.kind == "facet" else f"- {printable(f.text)}" for f in items
    )


# --------------------------------------------------------------------------- published per task
# The TCN paper's Table 1 (study.TASKS' references): per task and cell, our best result (the
# best mean over seeds of any width and rate) beside the published number and its setup.

_GATES = {"lstm": 4, "gru": 3, "rnn": 1}  # weight blocks of a cell (TF 1.x's)


def parameters(task: str, cell: str, hidden: int) -> int | None:
    """About how many parameters a net of ``cell`` and ``hidden`` units has on a built-in
    ``task`` (its recurrent weights and biases, and the readout; a text's vocabulary taken as
    the task's typical one); None for a task of the user's own."""
    info = TASKS.get(task)
    if info is None or cell not in _GATES:
        return None
    return _GATES[cell] * hidden * (info.n_input + hidden + 1) + (hidden + 1) * info.n_output


@dataclass(frozen=True)
class PublishedCell:
    """One published number (a task and a cell) and our best result of that task and cell:
    ``ours`` the best cell's trials (None: we ran none), ``at`` its protocol (hidden, lr,
    steps, ...)."""

    task: str
    cell: str
    measure: Metric
    value: float
    source: str
    setup: str
    ours: Cell | None
    at: dict
    length: int = 0  # the published number's T (adding, copy); 0: none
    corpus: str = ""  # the published number's text (chars)

    def ours_text(self) -> str:
        """Our best mean (± std) in the task's metric, or ``not run``."""
        if self.ours is None or self.ours.mean is None:
            return "not run"
        std = f" ± {self.measure.format(self.ours.std, 2)}" if self.ours.std is not None else ""
        return self.measure.format(self.ours.mean) + std

    def where(self) -> str:
        """Where our best lies: ``128 units, lr 0.001``."""
        return f"{self.at['hidden']} units, lr {_lr(self.at['lr'])}" if self.at else ""

    def differs(self) -> str:
        """What differs between our setup and theirs, in one line."""
        if not self.at:
            return f"theirs: {self.setup}"
        a = self.at
        params = parameters(self.task, self.cell, a["hidden"])
        size = f" (~{params / 1000:.0f}K parameters)" if params is not None else ""
        length = f", length {a['length']}" if a.get("length") else ""
        return (
            f"ours: {a['hidden']} units{size}, {a['steps']} steps of {a['optimizer']} at lr "
            f"{_lr(a['lr'])}, batch {a['batch_size']}{length}; theirs: {self.setup}"
        )


@dataclass(frozen=True)
class TaskComparison:
    """Our best results beside the TCN paper's numbers: a :class:`PublishedCell` per task of
    ``results`` and cell it published, and the summary sentences."""

    cells: list[PublishedCell]
    summary: list[Finding]


def _best_of(tables: Sequence[Table]) -> tuple[Cell | None, dict]:
    """The best cell (by mean, in the tables' metric) of ``tables`` and its protocol with its
    width and rate (None, {}: no cell has a value)."""
    best: tuple[float, Cell, dict] | None = None
    for t in tables:
        for (h, lr), c in t.cells.items():
            if c.mean is not None and (best is None or t.measure.key(c.mean) > best[0]):
                best = (t.measure.key(c.mean), c, {**t.protocol, "hidden": h, "lr": lr})
    return (None, {}) if best is None else (best[1], best[2])


def compare_published(results: Sequence[TrialResult]) -> TaskComparison:
    """Each task of ``results`` that the TCN paper (Bai, Kolter & Koltun 2018, Table 1)
    reports, per cell it reports: our best result beside its number, source and setup; and a
    sentence per task it does not report.

    Raises:
        ConfigError: ``results`` is not a list of TrialResult.
    """
    results = checks.results(results)
    tables = build_tables(results, "accuracy")
    tasks = list(dict.fromkeys(r.config.task for r in results))
    cells, summary = [], []
    for task in tasks:
        info = TASKS.get(task)
        if info is None or not info.references:
            why = "compare it with the reference hw2" if task == "rows" else "no published number to compare"
            text = f"{printable(task)}: not in the TCN paper's Table 1 ({why})."
            summary.append(Finding("unpublished", text, {"task": task}))
            continue
        measure = metric_of(next(r.config for r in results if r.config.task == task))
        for ref in info.references:
            mine = [t for t in tables if (t.protocol.get("task"), t.protocol.get("cell")) == (task, ref.cell)]
            ours, at = _best_of(mine)
            cells.append(
                PublishedCell(
                    task,
                    ref.cell,
                    measure,
                    ref.value,
                    ref.source,
                    ref.setup,
                    ours,
                    at,
                    ref.length,
                    ref.corpus,
                )
            )
    summary += [_verdict(c, c.ours.mean) for c in cells if c.ours is not None and c.ours.mean is not None]
    return TaskComparison(cells, summary)


def _verdict(c: PublishedCell, mean: float) -> Finding:
    """One sentence: our best ``mean`` against the published number, which is better by the
    task's metric; where the two are not the same task (another length T: said against each
    one's chance level; another text: not comparable), it says so instead of ranking them."""
    ours, theirs = c.measure.format(mean), c.measure.format(c.value)
    head = f"{c.task} {c.cell}: ours {ours} vs published {theirs} ({c.measure.title}, {c.measure.direction})"
    facts = {"task": c.task, "cell": c.cell, "ours": mean, "published": c.value}
    length = c.at.get("length", 0)
    if c.corpus:
        text = f"{head}: not comparable: theirs is {c.corpus}, another text than ours."
        return Finding("published", text, facts)
    if c.length and length and length != c.length:
        info = TASKS[c.task]
        here, there = info.chance(length), info.chance(c.length)
        assert here is not None and there is not None  # adding's and copy's are known
        text = (
            f"{head}: not the same task: T = {length} here, {c.length} there. Against each "
            f"one's chance ({c.measure.format(here)} here, {c.measure.format(there)} there): "
            f"ours {mean / here:.1%} of chance, theirs {c.value / there:.1%}."
        )
        return Finding("published", text, facts)
    if c.measure.better(mean, c.value):
        better = "ours is better"
    else:
        better = "the same" if mean == c.value else "theirs is better"
    return Finding("published", f"{head}: {better}.", facts)


def render_published(comp: TaskComparison) -> str:
    """The comparison with the TCN paper's numbers as text: a table per task (cell, ours, where
    our best lies, the published number), each row's setups (ours, theirs), the source, then
    the summary sentences."""
    lines: list[str] = []
    for task in dict.fromkeys(c.task for c in comp.cells):
        rows = [c for c in comp.cells if c.task == task]
        m = rows[0].measure
        lines += [f"{task} ({m.title}, {m.direction})", f"{'cell':>5} {'ours':>18} {'published':>10}  at"]
        for c in rows:
            lines.append(f"{c.cell:>5} {c.ours_text():>18} {m.format(c.value):>10}  {c.where()}")
            lines.append(f"      {c.differs()}")
        lines += [f"Source: {s}" for s in dict.fromkeys(c.source for c in rows)] + [""]
    return "\n".join(lines + [printable(f.text) for f in comp.summary]).strip("\n")
