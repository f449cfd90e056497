"""How one table's best rate and divergence frontier scale with width, in numbers: the facts
behind the scaling findings (:func:`scaling_sentences`, wired into
:func:`lstm_sweep.reporting.findings.findings`) and the ``scaling`` figure
(:mod:`lstm_sweep.reporting.plots`). The arithmetic is the study layer's
(:mod:`lstm_sweep.study.scaling`); this module reads it off a width x rate table and says it.

For a table of widths (rows) x learning rates (columns) with at least :data:`MIN_WIDTHS`
widths:

- each width's best rate below the grid's resolution (a parabola in log rate through the best
  grid rate and its neighbours) with its 95 % interval over seeds, or the edge of the grid it
  sits on (the true best may lie beyond: such a width is left out of the fit);
- the exponent alpha of ``best rate ∝ width^-alpha`` with its interval, set against what theory
  says of the table's parametrization (sp ≈ 1, μP ≈ 0: :func:`lstm_sweep.study.theory_of`);
- the divergence frontier (the smallest rate from which every larger one fails, per width; the
  caller gives it, from :func:`lstm_sweep.reporting.findings.frontier_per_row`) and its slope in
  log-log;
- under a width-aware parametrization (not sp), microsoft/mup's second check: at every rate a
  wider net is at least as good as a narrower one, beyond the noise between seeds.

Plain data first (:class:`Scaling`), sentences second; the sentences come back as
``(kind, text, data)`` so that the findings module wraps them (it imports this one, not the
other way round).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ..errors import ConfigError
from ..study import ExponentFit, RateEstimate, Status, best_rate, fit_exponent, fit_line, t_975, theory_of
from .tables import Cell, Table, is_accuracy, param_name

MIN_WIDTHS = 3  # fewer widths cannot show a power law (a line through two points fits any)


@dataclass(frozen=True)
class FrontierFit:
    """The divergence frontier against width: ``frontier ∝ width^slope`` (log-log least
    squares over the widths that fail at a tested rate), with a 95 % interval on the slope that
    is the wider of the scatter's (Student's t, three widths or more) and the grid's resolution
    (each frontier is known only to one grid step below it)."""

    slope: float
    low: float
    high: float
    widths: tuple[int, ...]


@dataclass(frozen=True)
class WiderFailure:
    """One place where a wider net does worse than the next narrower one at one rate.

    Attributes:
        lr: the rate.
        narrow, wide: the two widths.
        before, after: their means over seeds (``after`` None: the wider one failed to train).
        drop: how much worse the wider one is, in the metric (None: it failed to train).
        noise: the two cells' combined standard error over seeds (0 with one seed each).
    """

    lr: float
    narrow: int
    wide: int
    before: float
    after: float | None
    drop: float | None
    noise: float


@dataclass(frozen=True)
class Scaling:
    """One table's scaling facts (see the module's docstring).

    Attributes:
        param: the table's parametrization (``sp``, ``mup``, ...), name: as the report writes
            it (``mup (base 64)``).
        widths: the table's widths with a result.
        estimates: width -> its best rate (None where no rate has a result).
        fit: the exponent (None where fewer than two widths have a best inside the grid).
        theory, theory_text: what theory says of alpha under ``param``.
        frontier: width -> the smallest failing rate, for the widths where a tested rate fails.
        frontier_fit: its slope against width (None with fewer than two such widths).
        wider: the failures of "wider is better" (None under sp, where it is not claimed).
        rates_checked: the rates at which two widths could be compared (wider is better).
        seeds: the most seeds a cell holds.
    """

    param: str
    name: str
    higher_is_better: bool
    widths: tuple[int, ...]
    estimates: dict[int, RateEstimate | None]
    fit: ExponentFit | None
    theory: float
    theory_text: str
    frontier: dict[int, float]
    frontier_fit: FrontierFit | None
    wider: tuple[WiderFailure, ...] | None
    rates_checked: tuple[float, ...] = field(default=())
    seeds: int = 1


def scaling_applies(table: Table) -> str | None:
    """Why ``table`` has no scaling facts (None: it has): they need widths as rows, learning
    rates as columns, and :data:`MIN_WIDTHS` widths or more with a result."""
    if not isinstance(table, Table):
        raise ConfigError(f"table must be a Table (from build_tables), got {type(table).__name__}")
    if (table.row_axis, table.col_axis) != ("hidden", "lr"):
        return "the scaling of the best rate needs widths as rows and learning rates as columns"
    widths = [h for h in table.rows if any(table.cell(h, lr).values for lr in table.cols)]
    if len(widths) < MIN_WIDTHS:
        return (
            f"the scaling of the best rate needs {MIN_WIDTHS} widths or more with a result "
            f"(here {len(widths)}): two points fit any power law"
        )
    if len(table.cols) < 2:
        return f"the scaling of the best rate needs two learning rates or more (here {len(table.cols)})"
    return None


def seed_values(table: Table, width: int) -> dict[float, list[float | None]]:
    """Rate -> the result of each of its seeds at ``width`` (the store lists a cell's trials by
    seed), None for each trial without a usable result (failed, diverged to NaN, out of
    memory, pruned): :func:`lstm_sweep.study.best_rate` scores those worst. Rates with no trial
    are left out."""
    out: dict[float, list[float | None]] = {}
    for lr in table.cols:
        cell = table.cell(width, lr)
        if cell.statuses:
            values: list[float | None] = list(cell.values)
            out[lr] = values + [None] * (len(cell.statuses) - len(values))
    return out


def _failed(table: Table, cell: Cell) -> bool | None:
    """Whether a cell failed to train (as the frontier counts it: a diverged seed, or a mean no
    better than the table's failure threshold); None where it says nothing (no trial, or only
    trials out of memory or pruned)."""
    if not cell.values:
        return True if any(s in (Status.DIVERGED, Status.FAILED) for s in cell.statuses) else None
    return cell.diverged or table.failed(cell.mean)


def _std_error(cell: Cell) -> float:
    return cell.std / math.sqrt(cell.n) if cell.std is not None else 0.0


def wider_is_better(table: Table) -> tuple[tuple[float, ...], tuple[WiderFailure, ...]]:
    """microsoft/mup's second check on ``table`` (widths x rates): at each rate, each width
    against the next narrower one that has a result there. A failure is a wider cell worse than
    the narrower by more than the two cells' combined standard error over seeds
    (``sqrt(se_narrow² + se_wide²)``; zero with one seed, where any drop counts), or a wider
    cell that fails to train where the narrower trains. A pair where the narrower fails says
    nothing (it cannot get worse). Returns the rates where some pair was compared, and the
    failures."""
    key = table.measure.key
    checked: list[float] = []
    failures: list[WiderFailure] = []
    for lr in table.cols:
        present = [h for h in table.rows if _failed(table, table.cell(h, lr)) is not None]
        compared = False
        for narrow, wide in zip(present, present[1:]):
            a, b = table.cell(narrow, lr), table.cell(wide, lr)
            if _failed(table, a) or a.mean is None:
                continue
            compared = True
            noise = math.hypot(_std_error(a), _std_error(b))
            if _failed(table, b) or b.mean is None:
                failures.append(WiderFailure(lr, narrow, wide, a.mean, b.mean, None, noise))
            elif key(a.mean) - key(b.mean) > noise:
                drop = abs(a.mean - b.mean)
                failures.append(WiderFailure(lr, narrow, wide, a.mean, b.mean, drop, noise))
        if compared:
            checked.append(lr)
    return tuple(checked), tuple(failures)


def frontier_fit(frontier: Mapping[int, float], grid: Sequence[float]) -> FrontierFit | None:
    """The slope of ``log frontier`` against ``log width`` (``frontier``: width -> the smallest
    failing rate, each one of ``grid``'s rates), with its 95 % interval; None with fewer than
    two widths. A frontier is known only to lie between the grid rate below it and itself: its
    variance is a uniform's over that step (at the grid's smallest rate, over the step above
    it: the grid's spacing there)."""
    widths = tuple(sorted(frontier))
    if len(widths) < 2:
        return None
    rates = sorted(grid)
    xs = [math.log2(w) for w in widths]
    ys = [math.log2(frontier[w]) for w in widths]
    line = fit_line(xs, ys)
    assert line is not None  # distinct widths
    slope, intercept = line
    n = len(xs)
    mx = sum(xs) / n
    sxx = sum((x - mx) ** 2 for x in xs)

    def step_below(rate: float) -> float:
        """The grid's step below ``rate`` (at its smallest rate, the step above it)."""
        i = rates.index(rate) if rate in rates else 0
        if i > 0:
            return math.log2(rate / rates[i - 1])
        return math.log2(rates[1] / rates[0]) if len(rates) > 1 else 1.0

    variances = [step_below(frontier[w]) ** 2 / 12 for w in widths]
    half = 1.96 * math.sqrt(sum((x - mx) ** 2 * v for x, v in zip(xs, variances))) / sxx
    if n >= 3:
        scatter = math.sqrt(sum((y - (slope * x + intercept)) ** 2 for x, y in zip(xs, ys)) / (n - 2))
        half = max(half, t_975(n - 2) * scatter / math.sqrt(sxx))
    return FrontierFit(slope, slope - half, slope + half, widths)


def scaling_of(table: Table, frontier: Mapping[int, float]) -> Scaling:
    """The scaling facts of ``table`` (see the module's docstring); ``frontier``: width -> the
    smallest failing rate (:func:`lstm_sweep.reporting.findings.frontier_per_row`).

    Raises:
        ConfigError: ``table`` not a Table, or one without scaling facts (the message says
            why: :func:`scaling_applies`); ``frontier`` not a mapping.
    """
    why = scaling_applies(table)
    if why is not None:
        raise ConfigError(why)
    if not isinstance(frontier, Mapping):
        raise ConfigError(
            f"frontier must map widths to rates (frontier_per_row), got {type(frontier).__name__}"
        )
    hib = table.measure.higher_is_better
    widths = tuple(h for h in table.rows if any(table.cell(h, lr).values for lr in table.cols))
    estimates = {h: best_rate(seed_values(table, h), hib) for h in widths}
    param = str(table.protocol.get("param", "sp"))
    alpha, text = theory_of(param)
    checked, failures = wider_is_better(table) if param != "sp" else ((), ())
    front = {h: frontier[h] for h in widths if h in frontier}
    return Scaling(
        param=param,
        name=param_name(table.protocol) if "param" in table.protocol else param,
        higher_is_better=hib,
        widths=widths,
        estimates=estimates,
        fit=fit_exponent(estimates),
        theory=alpha,
        theory_text=text,
        frontier=front,
        frontier_fit=frontier_fit(front, table.cols),
        wider=failures if param != "sp" else None,
        rates_checked=checked,
        seeds=table.seeds,
    )


# --------------------------------------------------------------------------- sentences


def _rate(x: float) -> str:
    return f"{x:.3g}"


def _exp(x: float) -> str:
    """An exponent in a sentence, as the figure's legend writes it: ``0.93``, ``−0.90`` (a minus
    sign, not a hyphen), ``0.00``."""
    return f"{x:.2f}".replace("-", "−") if abs(x) >= 0.005 else "0.00"


def _value(table: Table, v: float) -> str:
    """A value of the table's metric: ``0.9500`` (an accuracy), ``1.523`` (a loss)."""
    return f"{v:.4f}" if is_accuracy(table) else table.measure.format(v)


def _estimate_text(e: RateEstimate | None) -> str:
    if e is None:
        return "no result"
    if e.edge:
        return f"{_rate(e.rate)} (at the grid's {e.edge} edge: the best may lie beyond)"
    if not e.resolved:
        return f"{_rate(e.rate)} (a grid point: a neighbouring rate failed)"
    return f"{_rate(e.rate)} ({_rate(e.low)}–{_rate(e.high)})"


def _estimate_data(e: RateEstimate | None) -> dict | None:
    if e is None:
        return None
    return {
        "rate": e.rate,
        "low": e.low,
        "high": e.high,
        "grid_best": e.grid_best,
        "edge": e.edge,
        "resolved": e.resolved,
        "seeds": e.seeds,
    }


def _best_rates(s: Scaling) -> tuple[str, str, dict]:
    how = (
        f"95 % over {s.seeds} seeds"
        if s.seeds > 1
        else "one seed, no spread to measure: ± half a two-fold step"
    )
    text = (
        f"Best rate per width (a parabola in log rate through the best grid rate and its "
        f"neighbours, {how}): " + ", ".join(f"{h} → {_estimate_text(s.estimates[h])}" for h in s.widths) + "."
    )
    data = {
        "param": s.param,
        "widths": list(s.widths),
        "estimates": {h: _estimate_data(s.estimates[h]) for h in s.widths},
    }
    return "scaling_best_rate", text, data


def _contains(low: float, high: float, x: float) -> bool:
    return low <= x <= high


def _exponent(s: Scaling) -> tuple[str, str, dict]:
    fit = s.fit
    edges = {h: e.edge for h, e in s.estimates.items() if e is not None and e.edge}
    left = ", ".join(f"{h} ({edge} edge)" for h, edge in edges.items())
    data: dict = {
        "param": s.param,
        "theory": s.theory,
        "left_out": edges,
        "alpha": None,
        "low": None,
        "high": None,
        "widths": [],
        "contains_theory": None,
    }
    if fit is None:
        inside = sum(1 for e in s.estimates.values() if e is not None and not e.edge)
        text = (
            f"The best-rate exponent cannot be fitted under {s.name}: {inside} width"
            f"{'' if inside == 1 else 's'} ha{'s' if inside == 1 else 've'} a best rate inside the grid "
            f"(two or more are needed){f'; at the edge: {left}' if left else ''}. Widen the grid of rates."
        )
        return "scaling_exponent", text, data
    contains = _contains(fit.low, fit.high, s.theory)
    other_param, other = ("μP", 0.0) if s.param == "sp" else ("sp", 1.0)
    verdict = "the interval contains it" if contains else "the interval excludes it"
    if contains and _contains(fit.low, fit.high, other):
        verdict += f", and {other:g} ({other_param}'s) too: these widths and seeds cannot tell them apart"
    elif s.param == "sp" and 0 < fit.low and fit.high < 1:
        verdict += ": a shallower decay, as Haas et al. find with a cross-entropy loss"
    widths = fit.widths
    over = f"{widths[0]}–{widths[-1]} units ({len(widths)} widths)"
    few = " (two widths: the interval rests on the grid's resolution only)" if len(widths) < 3 else ""
    text = (
        f"Under {s.name} the best rate scales as width^−α with α = {_exp(fit.alpha)} "
        f"(95 %: {_exp(fit.low)} to {_exp(fit.high)}) over {over}{few}"
        + (f", leaving out {left}: best at the grid's edge" if left else "")
        + f". Theory: {s.theory_text}; {verdict}."
    )
    data.update(
        alpha=fit.alpha,
        low=fit.low,
        high=fit.high,
        widths=widths,
        estimates={h: fit.estimates[h].rate for h in widths},
        contains_theory=contains,
    )
    return "scaling_exponent", text, data


def _frontier(s: Scaling) -> list[tuple[str, str, dict]]:
    if not s.frontier:
        return []  # the frontier finding already says that no tested rate fails
    never = [h for h in s.widths if h not in s.frontier]
    data: dict = {
        "param": s.param,
        "frontier": dict(s.frontier),
        "slope": None,
        "low": None,
        "high": None,
        "no_failure": never,
    }
    where = ", ".join(f"{h} → {_rate(r)}" for h, r in s.frontier.items())
    tail = f"; no tested rate fails at {', '.join(str(h) for h in never)} units" if never else ""
    fit = s.frontier_fit
    if fit is None:
        text = (
            f"The divergence frontier (the smallest failing rate) is known at one width only "
            f"({where}){tail}: no slope against width."
        )
        return [("scaling_frontier", text, data)]
    power = f"width^{_exp(fit.slope)} (95 %: {_exp(fit.low)} to {_exp(fit.high)})"
    if fit.low <= 0 <= fit.high:
        how = f"does not move measurably with width: {power}"
    else:
        how = f"{'falls' if fit.slope < 0 else 'rises'} as {power}"
    text = f"The divergence frontier (the smallest failing rate) {how} on the grid's rates: {where}{tail}."
    data.update(slope=fit.slope, low=fit.low, high=fit.high)
    return [("scaling_frontier", text, data)]


def _failure_text(table: Table, f: WiderFailure) -> str:
    if f.drop is None:
        after = "fails to train" + (f" ({_value(table, f.after)})" if f.after is not None else "")
        return f"lr {f.lr:g}: {f.wide} units {after} where {f.narrow} units reach {_value(table, f.before)}"
    assert f.after is not None
    noise = f"noise ±{_value(table, f.noise)}" if f.noise > 0 else "one seed: no noise estimate"
    return (
        f"lr {f.lr:g}: {f.narrow} → {f.wide} units is worse by {_value(table, f.drop)} "
        f"({_value(table, f.before)} → {_value(table, f.after)}, {noise})"
    )


def _wider(s: Scaling, table: Table) -> list[tuple[str, str, dict]]:
    if s.wider is None or not s.rates_checked:
        return []
    failures = s.wider
    data = {
        "param": s.param,
        "rates": list(s.rates_checked),
        "holds": not failures,
        "failures": [
            {
                "lr": f.lr,
                "narrow": f.narrow,
                "wide": f.wide,
                "before": f.before,
                "after": f.after,
                "drop": f.drop,
                "noise": f.noise,
            }
            for f in failures
        ],
    }
    n = len(s.rates_checked)
    beyond = "beyond the two cells' standard error over seeds" if s.seeds > 1 else "one seed: any drop counts"
    if not failures:
        text = (
            f"Wider is better at every rate under {s.name} (microsoft/mup's check: each width at "
            f"least as good as the next narrower, {beyond}): it holds at all {n} rates compared."
        )
    else:
        bad = sorted({f.lr for f in failures})
        text = (
            f"Wider is not always better under {s.name} ({beyond}): "
            + "; ".join(_failure_text(table, f) for f in failures)
            + f". It fails at {len(bad)} of {n} rates compared."
        )
    return [("scaling_wider", text, data)]


def scaling_sentences(table: Table, frontier: Mapping[int, float]) -> list[tuple[str, str, dict]]:
    """The scaling findings of ``table`` as (kind, text, data): each width's best rate, the
    exponent against theory, the frontier's slope, and (not under sp) whether wider is better;
    none where :func:`scaling_applies` says why not.

    Raises:
        ConfigError: as :func:`scaling_of`, but a table without scaling facts.
    """
    if scaling_applies(table) is not None:
        return []
    s = scaling_of(table, frontier)
    return [_best_rates(s), _exponent(s), *_frontier(s), *_wider(s, table)]
