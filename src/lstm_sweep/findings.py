"""Findings and the comparison with the published Table 1: plain data computed from results.

Every finding carries the numbers behind its sentence, and a sentence is only written when the
data supports it (with one seed per cell, the spread between seeds is reported as unknown).
Renderers (text, HTML) live in :mod:`lstm_sweep.report` and :mod:`lstm_sweep.html`.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources

from .report import Cell, Table, build_tables, describe
from .results import TrialResult

FAILED_BELOW = 0.2  # mean test accuracy under this = training failed (chance is 0.1)
BAND_POINTS = 0.5  # the "goldilocks" band: rates within this many points of a row's best
DISAGREE_POINTS = 5.0  # seeds of a cell disagree when their accuracies span more than this


@dataclass(frozen=True)
class Finding:
    kind: str
    text: str
    data: dict = field(default_factory=dict)


def _pts(x: float) -> str:
    return f"{100 * x:.1f}"


def _lr(x: float) -> str:
    return f"{x:g}"


def _row(table: Table, h: int) -> dict[float, Cell]:
    return {lr: table.cell(h, lr) for lr in table.lrs if table.cell(h, lr).values}


def failing_from(accuracy: dict[float, float]) -> float | None:
    """The divergence frontier of one row: the smallest rate from which every larger tested rate
    fails (accuracy < FAILED_BELOW); None if the largest rate trains."""
    start = None
    for lr in sorted(accuracy, reverse=True):
        if accuracy[lr] >= FAILED_BELOW:
            break
        start = lr
    return start


def best_per_width(table: Table) -> dict[int, tuple[float, float]]:
    """Width -> (best learning rate, its mean accuracy), over cells that have values."""
    out = {}
    for h in table.hidden:
        row = _row(table, h)
        if row:
            lr = max(row, key=lambda k: row[k].mean)
            out[h] = (lr, row[lr].mean)
    return out


def findings(results: Sequence[TrialResult]) -> list[Finding]:
    """Findings for each protocol in ``results`` (usually one)."""
    out: list[Finding] = []
    tables = build_tables(results, "accuracy")
    times = {tuple(sorted(t.protocol.items())): t for t in build_tables(results, "time")}
    for table in tables:
        time_table = times[tuple(sorted(table.protocol.items()))]
        if len(tables) > 1:  # say which table (facet) the sentences below are about
            out.append(Finding("facet", describe(table).rsplit(" · ", 1)[0],
                               {"protocol": table.protocol}))
        out += _findings_for(table, time_table)
    return out


@dataclass(frozen=True)
class _Facts:
    """What every rule reads: the accuracy and time tables and each width's best cell."""

    table: Table
    times: Table
    best: dict[int, tuple[float, float]]  # width -> (best rate, its accuracy)

    @property
    def widths(self) -> list[int]:
        return list(self.best)


def _best_lr(f: _Facts) -> list[Finding]:
    parts = [f"{h} → {_lr(lr)} ({acc:.4f})" for h, (lr, acc) in f.best.items()]
    return [Finding("best_lr", "Best learning rate per width: " + ", ".join(parts) + ".",
                    {"best": {h: {"lr": lr, "accuracy": acc} for h, (lr, acc) in f.best.items()}})]


def _best_lr_trend(f: _Facts) -> list[Finding]:
    """How the best rate moves with width (a trend only when it moves monotonically)."""
    widths, lrs = f.widths, [f.best[h][0] for h in f.widths]
    if len(widths) < 2:
        return []
    span = f"As width grows from {widths[0]} to {widths[-1]}, the best rate moves"
    if all(b <= a for a, b in zip(lrs, lrs[1:])) and lrs[-1] < lrs[0]:
        trend = f"{span} down, from {_lr(lrs[0])} to {_lr(lrs[-1])}."
    elif all(b >= a for a, b in zip(lrs, lrs[1:])) and lrs[-1] > lrs[0]:
        trend = f"{span} up, from {_lr(lrs[0])} to {_lr(lrs[-1])}."
    elif len(set(lrs)) == 1:
        trend = f"The best rate is {_lr(lrs[0])} at every width from {widths[0]} to {widths[-1]}."
    else:
        trend = ("The best rate does not move steadily with width: "
                 + ", ".join(_lr(x) for x in lrs) + ".")
    return [Finding("best_lr_trend", trend, {"widths": widths, "best_lrs": lrs})]


def _band(f: _Facts) -> list[Finding]:
    """The goldilocks band: rates within BAND_POINTS of each width's best."""
    band = {h: [lr for lr, c in _row(f.table, h).items()
                if c.mean >= f.best[h][1] - BAND_POINTS / 100] for h in f.widths}
    text = (f"Rates within {BAND_POINTS} points of each width's best: "
            + "; ".join(f"{h}: {', '.join(_lr(x) for x in band[h])}" for h in f.widths) + ".")
    return [Finding("band", text, {"band": band, "points": BAND_POINTS})]


def _frontier(f: _Facts) -> list[Finding]:
    """The divergence frontier: from which rate upwards training fails, per width."""
    frontier = {}
    for h in f.widths:
        start = failing_from({lr: (0.0 if c.diverged else c.mean)
                              for lr, c in _row(f.table, h).items()})
        if start is not None:
            frontier[h] = start
    if not frontier:
        return [Finding("frontier", "No tested rate made training fail at any width.",
                        {"frontier": {}})]
    text = ("Training fails (accuracy < " + f"{FAILED_BELOW}" + " or NaN loss) from rate: "
            + ", ".join(f"{h} units ≥ {_lr(lr)}" for h, lr in frontier.items()) + ".")
    fronts = [frontier[h] for h in f.widths if h in frontier]
    if len(fronts) > 1 and all(b <= a for a, b in zip(fronts, fronts[1:])) and \
            fronts[-1] < fronts[0]:
        text += " The frontier moves to smaller rates as width grows."
    return [Finding("frontier", text, {"frontier": frontier})]


def _doubling(f: _Facts) -> list[Finding]:
    """Accuracy gained per doubling of width, and the time it costs."""
    out = []
    for a, b in zip(f.widths, f.widths[1:]):
        if b != 2 * a:
            continue
        gain = f.best[b][1] - f.best[a][1]
        ta = f.times.cell(a, f.best[a][0]).mean
        tb = f.times.cell(b, f.best[b][0]).mean
        if ta and tb:
            out.append(Finding(
                "doubling",
                f"{a} → {b} units: {'+' if gain >= 0 else ''}{_pts(gain)} points of best accuracy "
                f"({f.best[a][1]:.4f} → {f.best[b][1]:.4f}) for {tb / ta:.1f}× the time per "
                "trial.",
                {"from": a, "to": b, "gain": gain, "time_ratio": tb / ta}))
    return out


def _enough_width(f: _Facts) -> list[Finding]:
    """The narrowest width within the band of the overall best."""
    best = f.best
    top_h = max(best, key=lambda h: best[h][1])
    enough = min(h for h in f.widths if best[h][1] >= best[top_h][1] - BAND_POINTS / 100)
    if enough == top_h:
        return []
    t_enough = f.times.cell(enough, best[enough][0]).mean
    t_top = f.times.cell(top_h, best[top_h][0]).mean
    return [Finding(
        "enough_width",
        f"{enough} units reach {best[enough][1]:.4f}, within {BAND_POINTS} points of the best "
        f"({best[top_h][1]:.4f} at {top_h} units), in {t_enough:.1f} s instead of "
        f"{t_top:.1f} s per trial.",
        {"width": enough, "best_width": top_h, "time": t_enough, "best_time": t_top})]


def _spread(f: _Facts) -> list[Finding]:
    """Seeds: how far they disagree, or that the spread is unknown with one seed."""
    table = f.table
    if table.seeds <= 1:
        return [Finding("spread", "One seed per cell: the spread between seeds is unknown "
                        "(run with --repeats 3 to measure it).", {"seeds": table.seeds})]
    wild = {(h, lr): c for h in table.hidden for lr in table.lrs
            if len((c := table.cell(h, lr)).values) > 1
            and (max(c.values) - min(c.values)) * 100 > DISAGREE_POINTS}
    if wild:
        text = (f"Seeds disagree by more than {DISAGREE_POINTS:g} points in {len(wild)} cells: "
                + ", ".join(f"{h}/{_lr(lr)} ({min(c.values):.4f}–{max(c.values):.4f})"
                            for (h, lr), c in wild.items()) + ".")
    else:
        text = f"Seeds agree within {DISAGREE_POINTS:g} points in every cell ({table.seeds} seeds)."
    return [Finding("spread", text, {"cells": [list(k) for k in wild]})]


# The rules, in the order their sentences are shown. A rule = one small function of the facts.
RULES = (_best_lr, _best_lr_trend, _band, _frontier, _doubling, _enough_width, _spread)


def _findings_for(table: Table, time_table: Table) -> list[Finding]:
    best = best_per_width(table)
    if not best:
        return [Finding("empty", "No trial produced an accuracy yet.")]
    facts = _Facts(table, time_table, best)
    return [finding for rule in RULES for finding in rule(facts)]


# --------------------------------------------------------------------------- the reference


# The protocol Table 1 was measured with (the seed's).
REFERENCE_PROTOCOL = {"dataset": "mnist", "steps": 999, "batch_size": 100, "init": "tf",
                      "precision": "fp32", "display_step": 10, "cell": "lstm",
                      "optimizer": "adam", "opt": ()}


def load_reference(name: str = "hw2") -> dict[tuple[int, float], float | None]:
    """The published table: (hidden, lr) -> accuracy, or None where it says DNF."""
    if name != "hw2":
        from .errors import ConfigError

        raise ConfigError(f"unknown reference {name!r}; the one shipped is: hw2")
    text = (resources.files("lstm_sweep") / "reference" / "hw2_table1.csv").read_text()
    rows = list(csv.reader(text.splitlines()))
    lrs = [float(c.removeprefix("lr_")) for c in rows[0][1:]]
    return {
        (int(row[0]), lr): (None if value == "DNF" else float(value))
        for row in rows[1:]
        for lr, value in zip(lrs, row[1:])
    }


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

    def texts(self) -> tuple[str, str, str, str]:
        """(reference, ours as mean ± std, difference, within spread) as a table shows them."""
        ref = "DNF" if self.reference is None else f"{self.reference:.4f}"
        ours = self.ours.label or (f"{self.ours.mean:.4f}" + (
            f" ± {self.ours.std:.4f}" if self.ours.std is not None else ""))
        diff = "" if self.diff is None else f"{self.diff:+.4f}"
        return ref, ours, diff, {None: "-", True: "yes", False: "no"}[self.within_spread]

    @property
    def within_spread(self) -> bool | None:
        """Reference inside [min, max] of our seeds; None with fewer than two seeds."""
        if self.reference is None or len(self.ours.values) < 2:
            return None
        return min(self.ours.values) <= self.reference <= max(self.ours.values)


@dataclass(frozen=True)
class Comparison:
    cells: list[CellComparison]
    summary: list[Finding]


def compare(results: Sequence[TrialResult], reference: str = "hw2") -> Comparison:
    """Our cells against the published table (the first protocol in ``results``): each cell, and
    the summary sentences of :data:`COMPARISON_RULES`."""
    ref = load_reference(reference)
    tables = build_tables(results, "accuracy")
    if not tables:
        return Comparison([], [Finding("empty", "No results to compare.")])
    table = tables[0]
    cells = [CellComparison(h, lr, ref[(h, lr)], table.cell(h, lr))
             for (h, lr) in sorted(ref) if (h, lr) in table.cells]
    return Comparison(cells, [f for rule in COMPARISON_RULES for f in rule(table, ref, cells)])


def _protocol_note(table: Table, ref: dict, cells: list[CellComparison]) -> list[Finding]:
    differs = {k: (v, table.protocol.get(k)) for k, v in REFERENCE_PROTOCOL.items()
               if table.protocol.get(k) != v}
    out = []
    if differs:
        out.append(Finding(
            "protocol",
            "Note: the reference was measured with another protocol ("
            + ", ".join(f"{k} {ref_v} there, {ours} here" for k, (ref_v, ours) in differs.items())
            + "): the differences below are not only chance.",
            {"differs": {k: list(v) for k, v in differs.items()}}))
    if not cells:
        out.append(Finding("no_overlap", "None of the stored cells is in the reference table "
                           "(widths 16-4096, rates 1e-05-1).", {}))
    return out


def _row_bests(table: Table, ref: dict, cells: list[CellComparison]) -> list[Finding]:
    ours_best = best_per_width(table)
    out, agree = [], []
    for h in sorted({c.hidden for c in cells}):
        row = {lr: v for (hh, lr), v in ref.items() if hh == h and v is not None}
        if not row or h not in ours_best:
            continue
        ref_lr = max(row, key=row.get)
        our_lr, our_acc = ours_best[h]
        agree.append(ref_lr == our_lr)
        out.append(Finding(
            "row_best",
            f"{h} units: best cell reference {_lr(ref_lr)} ({row[ref_lr]:.4f}), ours "
            f"{_lr(our_lr)} ({our_acc:.4f}) — {'same rate' if ref_lr == our_lr else 'differs'}.",
            {"hidden": h, "reference_lr": ref_lr, "our_lr": our_lr}))
    if agree:
        out.append(Finding("best_lr_agreement",
                           f"The best rate agrees in {sum(agree)} of {len(agree)} rows.",
                           {"agree": sum(agree), "rows": len(agree)}))
    return out


def _differences(table: Table, ref: dict, cells: list[CellComparison]) -> list[Finding]:
    out = []
    diffs = [c.diff for c in cells if c.diff is not None]
    if diffs:
        mad = sum(abs(d) for d in diffs) / len(diffs)
        out.append(Finding("mean_abs_diff", f"Mean |ours − reference| over {len(diffs)} cells: "
                           f"{_pts(mad)} points.", {"mean_abs_diff": mad}))
    spread = [c.within_spread for c in cells if c.within_spread is not None]
    if spread:
        out.append(Finding("within_spread", f"The reference lies within our seeds' range in "
                           f"{sum(spread)} of {len(spread)} cells.",
                           {"within": sum(spread), "cells": len(spread)}))
    else:
        out.append(Finding("within_spread", "One seed per cell: whether the reference lies "
                           "within our spread is unknown.", {}))
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
    return [Finding(
        "frontier",
        f"Divergence frontier (every rate from here up ends below {FAILED_BELOW}), "
        "reference vs ours: "
        + ", ".join(f"{h}: {_lr(ref_front[h]) if h in ref_front else '-'} vs "
                    f"{_lr(our_front[h]) if h in our_front else '-'}"
                    for h in sorted(set(ref_front) | set(our_front))) + ".",
        {"reference": ref_front, "ours": our_front})]


def _dnf_completed(table: Table, ref: dict, cells: list[CellComparison]) -> list[Finding]:
    dnf = [c for c in cells if c.reference is None]
    if not dnf:
        return []
    completed = [c for c in dnf if c.ours.values]
    return [Finding(
        "dnf_completed",
        f"Reference DNF cells we completed: {len(completed)} of {len(dnf)}"
        + (": " + ", ".join(f"{c.hidden}/{_lr(c.lr)} ({c.ours.mean:.4f})" for c in completed)
           if completed else "") + ".",
        {"completed": [[c.hidden, c.lr] for c in completed]})]


COMPARISON_RULES = (_protocol_note, _row_bests, _differences, _frontiers, _dnf_completed)


def render_comparison(comp: Comparison) -> str:
    lines = [f"{'hidden':>6} {'lr':>7} {'reference':>9} {'ours':>17} {'diff':>7}  in spread"]
    for c in comp.cells:
        ref, ours, diff, spread = c.texts()
        lines.append(f"{c.hidden:>6} {_lr(c.lr):>7} {ref:>9} {ours:>17} {diff:>7}  {spread}")
    return "\n".join(lines + [""] + [f.text for f in comp.summary])


def render_findings(items: Sequence[Finding]) -> str:
    """One line per finding; a facet (several tables) as a heading above its findings."""
    return "\n".join(f"{f.text}:" if f.kind == "facet" else f"- {f.text}" for f in items)
