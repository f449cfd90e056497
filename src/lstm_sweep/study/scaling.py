"""How the best learning rate scales with width: estimates below a grid's resolution, a fitted
exponent with its interval, and predictions for wider models that say when they cannot be
trusted. Plain Python (no numpy): the study layer's arithmetic, used by the findings (any store
with several widths) and by the transfer workflow (tune narrow widths, predict the wide ones).

Everything is in log2 units of rate and width, so one *step* of a two-fold grid is 1.

- :func:`best_rate`: one width's best rate from its per-seed results: the vertex of a parabola in
  log2(rate) through the best grid rate and its two neighbours (on the mean over seeds), with a
  95 % interval from resampling the seeds (bootstrap; with few seeds widened to Student's t on
  the resamples' spread, which the percentiles of so few distinct resamples understate). A
  best rate on the grid's edge is not
  resolved: the true best may lie beyond, and it says so (``edge``).
- :func:`grid_estimate`: what a search finds (a grid rate, no neighbours to fit), known to half a
  step either side.
- :func:`fit_exponent`: ``best rate ∝ width^-alpha`` by least squares over widths, with a 95 %
  interval that is the widest of three: the seeds' bootstrap, the scatter about the line
  (Student's t), and the estimates' own resolution. :meth:`ExponentFit.predict` extrapolates to
  another width and refuses (``ok`` False, with the reason) where its interval is wider than one
  two-fold step either side, or where fewer than three widths were fitted.

Theory the exponent is set against (see :data:`THEORY`): under the standard parametrization with
Adam, stability forces the best rate ∝ 1/width where the hidden (or readout) updates dominate
(alpha ≈ 1, Tensor Programs V); with a cross-entropy loss the decay is shallower (Haas et al.,
arXiv 2505.22491); under μP the best rate does not move (alpha ≈ 0).
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ..errors import ConfigError
from .limits import show

STEP = 1.0  # one two-fold step, in log2 units
BOOTSTRAP = 1000  # resamples of the seeds
# The variance (log2 units²) of a best rate known only to a grid point: uniform over one step.
GRID_VARIANCE = STEP**2 / 12

# What theory says of alpha (best rate ∝ width^-alpha), by parametrization.
THEORY = {
    "sp": (
        1.0,
        "SP with Adam: ≈ 1 where hidden-weight updates dominate (Tensor Programs V); "
        "shallower with a cross-entropy loss (Haas et al., arXiv 2505.22491)",
    ),
    "mup": (0.0, "μP: 0, the best rate does not move with width"),
}

# Student's t, two-sided 95 % (the 0.975 quantile), by degrees of freedom; beyond 30, 1.96 is
# within 2 % of it. Tabulated rather than computed: the standard library has no t quantile.
_T_975 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip


def t_975(df: int) -> float:
    """The 0.975 quantile of Student's t with ``df`` >= 1 degrees of freedom."""
    if df < 1:
        raise ValueError(f"degrees of freedom must be >= 1, got {df}")
    return _T_975[df - 1] if df <= len(_T_975) else 1.96


def theory_of(param: str) -> tuple[float, str]:
    """What theory predicts of alpha under ``param`` (``mup-*`` as ``mup``)."""
    return THEORY["sp" if param == "sp" else "mup"]


@dataclass(frozen=True)
class RateEstimate:
    """One width's best learning rate.

    Attributes:
        rate: the estimate (below the grid's resolution where ``resolved``).
        low, high: its 95 % interval (over seeds; half a step either side where only the grid
            point is known).
        grid_best: the grid rate with the best mean over seeds.
        edge: ``""``; or ``"low"``/``"high"`` where ``grid_best`` is the grid's smallest/largest
            rate (the true best may lie beyond it: ``rate`` is then ``grid_best``).
        seeds: how many seeds it rests on.
        resolved: a parabola through the best rate and both neighbours placed it between them.
        replicates: log2 of the estimate in each bootstrap resample of the seeds (empty where one
            seed, or a grid point only).
    """

    rate: float
    low: float
    high: float
    grid_best: float
    edge: str = ""
    seeds: int = 1
    resolved: bool = False
    replicates: tuple[float, ...] = field(default=(), repr=False)

    @property
    def variance(self) -> float:
        """The variance of log2(rate): the replicates' (times n/(n-1): resampling n seeds
        understates it by that factor), never below a grid point's. A rate
        known only to its interval (a grid point, or one seed's vertex) is uniform over it:
        ``GRID_VARIANCE`` on a two-fold grid, more on a coarser one (a ten-fold grid's step is
        3.3 two-fold steps)."""
        if len(self.replicates) < 2 or not self.resolved:
            return max(math.log2(self.high / self.low) ** 2 / 12, GRID_VARIANCE)
        mean = sum(self.replicates) / len(self.replicates)
        var = sum((r - mean) ** 2 for r in self.replicates) / (len(self.replicates) - 1)
        return var * _small_sample(self.seeds) if self.seeds > 1 else max(var, GRID_VARIANCE)


def _oriented(v: float | None, higher_is_better: bool) -> float:
    """``v`` as a score where larger is better; a failed or missing value is the worst."""
    if v is None or not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v):
        return -math.inf
    return float(v) if higher_is_better else -float(v)


def _vertex(xs: Sequence[float], ys: Sequence[float]) -> float:
    """The x of the parabola's extremum through three points (x ascending, the middle one the
    largest y), clipped to the outer two; the middle x where the points lie on a line."""
    (x0, x1, x2), (y0, y1, y2) = xs, ys
    denom = (x0 - x1) * (x0 - x2) * (x1 - x2)
    a = (x2 * (y1 - y0) + x1 * (y0 - y2) + x0 * (y2 - y1)) / denom
    b = (x2 * x2 * (y0 - y1) + x1 * x1 * (y2 - y0) + x0 * x0 * (y1 - y2)) / denom
    if a >= 0 or not math.isfinite(a) or not math.isfinite(b):
        return x1
    return min(max(-b / (2 * a), x0), x2)


def _estimate(xs: Sequence[float], scores: Sequence[float]) -> tuple[int, float, bool] | None:
    """(index of the best grid rate, log2 estimate, resolved) from mean scores, or None."""
    if not any(math.isfinite(s) for s in scores):
        return None
    i = max(range(len(scores)), key=lambda k: (scores[k], -k))  # ties: the smaller rate
    if 0 < i < len(xs) - 1 and math.isfinite(scores[i - 1]) and math.isfinite(scores[i + 1]):
        return i, _vertex(xs[i - 1 : i + 2], scores[i - 1 : i + 2]), True
    return i, xs[i], False


def _check_values(values: object) -> dict[float, list[float | None]]:
    def fits(rate: object, vs: object) -> bool:
        return (
            isinstance(rate, (int, float))
            and not isinstance(rate, bool)
            and math.isfinite(rate)
            and rate > 0
            and isinstance(vs, Sequence)
            and not isinstance(vs, str)
            and len(vs) > 0
        )

    if not (isinstance(values, Mapping) and values and all(fits(r, v) for r, v in values.items())):
        raise ConfigError(
            "values must map each learning rate (a positive number) to its seeds' results "
            f"(a non-empty list; None where a seed failed); got {show(values)}"
        )
    return {float(r): list(v) for r, v in sorted(values.items())}


def best_rate(
    values: Mapping[float, Sequence[float | None]],
    higher_is_better: bool = True,
    *,
    boot: int = BOOTSTRAP,
    rng_seed: int = 0,
) -> RateEstimate | None:
    """One width's best rate from ``values`` (rate -> the result of each seed, position i being
    seed i; None or NaN where the seed failed, which scores worst): a parabola in log2(rate) on
    the mean over seeds, with a 95 % bootstrap interval over seeds (``boot`` resamples, drawn
    from ``random.Random(rng_seed)``: the same inputs give the same interval, and every width
    of a study draws the same seeds, whose batch order its widths share). The interval is the
    wider of the resamples' 2.5 and 97.5 percentiles and the estimate ± t(n - 1) times their
    standard deviation times sqrt(n / (n - 1)): n seeds have few distinct resamples, and with
    three the percentiles alone contain the true best about three times in four. None where no
    rate has a result.

    Raises:
        ConfigError: ``values`` not a mapping of positive rates to non-empty lists.
    """
    table = _check_values(values)
    rates = list(table)
    xs = [math.log2(r) for r in rates]
    n = max(len(v) for v in table.values())
    scored = [[_oriented(v, higher_is_better) for v in table[r]] for r in rates]

    def means(idx: Sequence[int]) -> list[float]:
        out = []
        for row in scored:
            picked = [row[i] for i in idx if i < len(row)]
            out.append(sum(picked) / len(picked) if picked else -math.inf)
        return out

    found = _estimate(xs, means(range(n)))
    if found is None:
        return None
    i, x, resolved = found
    edge = "low" if i == 0 and len(xs) > 1 else "high" if i == len(xs) - 1 and len(xs) > 1 else ""
    replicates: list[float] = []
    if n > 1:
        rng = random.Random(rng_seed)
        for _ in range(boot):
            again = _estimate(xs, means([rng.randrange(n) for _ in range(n)]))
            if again is not None:
                replicates.append(again[1])
    if replicates and resolved:
        ordered = sorted(replicates)
        lo = ordered[int(0.025 * (len(ordered) - 1))]
        hi = ordered[int(math.ceil(0.975 * (len(ordered) - 1)))]
        spread = _spread(replicates) if len(replicates) > 1 else 0.0
        half = t_975(n - 1) * math.sqrt(spread * _small_sample(n))
        low, high = 2.0 ** min(lo, x - half), 2.0 ** max(hi, x + half)
    elif resolved:  # one seed: a step wide around the vertex
        low, high = 2.0 ** (x - STEP / 2), 2.0 ** (x + STEP / 2)
    else:
        low, high = _half_steps(rates, i)
    return RateEstimate(
        rate=2.0**x,
        low=low,
        high=high,
        grid_best=rates[i],
        edge=edge,
        seeds=n,
        resolved=resolved,
        replicates=tuple(replicates),
    )


def _small_sample(n: int) -> float:
    """n/(n-1): how much resampling n seeds understates the variance of their mean."""
    return n / (n - 1)


def _spread(xs: Sequence[float]) -> float:
    """The sample variance of ``xs`` (two or more)."""
    mean = sum(xs) / len(xs)
    return sum((x - mean) ** 2 for x in xs) / (len(xs) - 1)


def _half_steps(rates: Sequence[float], i: int) -> tuple[float, float]:
    """The interval of a grid point: to the geometric midpoints with its neighbours (half a
    two-fold step where it has none)."""
    r = rates[i]
    low = math.sqrt(r * rates[i - 1]) if i > 0 else r / math.sqrt(2)
    high = math.sqrt(r * rates[i + 1]) if i < len(rates) - 1 else r * math.sqrt(2)
    return low, high


def grid_estimate(rate: float, grid: Sequence[float]) -> RateEstimate:
    """The best rate a search found, ``rate``, one of ``grid``'s rates: known to half a step
    either side, on the edge where it is the grid's smallest or largest.

    Raises:
        ConfigError: ``rate`` not one of ``grid``'s rates.
    """
    rates = sorted(float(g) for g in grid)
    if rate not in rates:
        raise ConfigError(f"rate {show(rate)} is not one of the grid's rates {rates}")
    i = rates.index(rate)
    low, high = _half_steps(rates, i)
    edge = "low" if i == 0 and len(rates) > 1 else "high" if i == len(rates) - 1 and len(rates) > 1 else ""
    return RateEstimate(rate=rate, low=low, high=high, grid_best=rate, edge=edge)


def fit_line(xs: Sequence[float], ys: Sequence[float]) -> tuple[float, float] | None:
    """Least squares ``y = slope x + intercept``: (slope, intercept), or None with fewer than two
    distinct x."""
    if len(xs) != len(ys) or len(set(xs)) < 2:
        return None
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx
    return slope, my - slope * mx


@dataclass(frozen=True)
class Prediction:
    """The best rate predicted at ``width``, its 95 % interval, and whether it can be trusted
    (``ok``; else ``reason`` says why)."""

    width: int
    rate: float
    low: float
    high: float
    ok: bool
    reason: str = ""


@dataclass(frozen=True)
class ExponentFit:
    """``best rate ∝ width^-alpha``, fitted on ``estimates`` (width -> its best rate).

    Attributes:
        alpha: the exponent (1: the rate halves per width doubling; 0: it stays put).
        low, high: alpha's 95 % interval.
        estimates: the widths fitted (inside the grid), each with its estimate.
        left_out: widths whose best rate lies on the grid's edge, with the edge.
        scatter: the residuals' standard deviation about the line (log2 units; 0 with two
            widths).
    """

    alpha: float
    low: float
    high: float
    estimates: dict[int, RateEstimate]
    left_out: dict[int, str]
    scatter: float
    _centre: tuple[float, float] = (0.0, 0.0)  # mean log2 width, mean log2 rate
    _half_pred: tuple = field(default=(), repr=False)  # bootstrap: (slope, intercept) per resample

    @property
    def widths(self) -> list[int]:
        return sorted(self.estimates)

    def _sxx(self) -> float:
        xs = [math.log2(w) for w in self.estimates]
        mx = sum(xs) / len(xs)
        return sum((x - mx) ** 2 for x in xs)

    def _floor_variance(self) -> float:
        return sum(e.variance for e in self.estimates.values()) / len(self.estimates)

    def predict(self, width: int) -> Prediction:
        """The best rate at ``width`` (log-linear in log width), with its 95 % interval: the
        widest of the bootstrap's, the scatter's (t with n - 2 degrees of freedom) and the
        estimates' own resolution. ``ok`` only where at least three widths were fitted and the
        interval lies within one two-fold step either side."""
        mx, my = self._centre
        x = math.log2(width)
        y = my - self.alpha * (x - mx)
        n, sxx = len(self.estimates), self._sxx()
        lever = 1 / n + (x - mx) ** 2 / sxx
        half = 1.96 * math.sqrt(self._floor_variance() * lever)
        if n >= 3:
            half = max(half, t_975(n - 2) * self.scatter * math.sqrt(lever))
        below = above = half
        if self._half_pred:
            ys = sorted(s * x + c for s, c in self._half_pred)
            lo = ys[int(0.025 * (len(ys) - 1))]
            hi = ys[int(math.ceil(0.975 * (len(ys) - 1)))]
            below, above = max(half, y - lo), max(half, hi - y)
        reason = ""
        if n < 3:
            reason = (
                f"the exponent rests on {n} widths inside the grid; extrapolating needs three or "
                "more (a line through two points cannot show it is a power law)"
            )
        elif max(below, above) > STEP:
            reason = (
                f"the 95 % interval at {width} units runs from ×{2**-below:.2g} to "
                f"×{2**above:.2g} of the prediction: wider than one two-fold step either side"
            )
        return Prediction(width, 2.0**y, 2.0 ** (y - below), 2.0 ** (y + above), not reason, reason)


def fit_exponent(estimates: Mapping[int, RateEstimate | None]) -> ExponentFit | None:
    """Fit ``best rate ∝ width^-alpha`` to ``estimates`` (width -> its best rate; None where a
    width has none). Widths whose best lies on the grid's edge are left out (and named in
    ``left_out``). None where fewer than two widths remain.

    alpha's interval is the widest of: the bootstrap's (where every estimate has as many
    replicates: the fit on each resample), the scatter about the line (t with n - 2 degrees
    of freedom), and the estimates' resolution (their variance carried through the fit).

    Raises:
        ConfigError: a width not a positive integer, or an estimate not a RateEstimate.
    """
    if not isinstance(estimates, Mapping):
        raise ConfigError(f"estimates must map widths to RateEstimate; got {show(estimates)}")
    for w, e in estimates.items():
        if isinstance(w, bool) or not isinstance(w, int) or w < 1:
            raise ConfigError(f"a width must be a positive integer; got {show(w)}")
        if e is not None and not isinstance(e, RateEstimate):
            raise ConfigError(f"the estimate of width {w} must be a RateEstimate; got {show(e)}")
    inside = {w: e for w, e in sorted(estimates.items()) if e is not None and not e.edge}
    left_out = {w: e.edge for w, e in sorted(estimates.items()) if e is not None and e.edge}
    if len(inside) < 2:
        return None
    xs = [math.log2(w) for w in inside]
    ys = [math.log2(e.rate) for e in inside.values()]
    line = fit_line(xs, ys)
    assert line is not None  # distinct widths
    slope, intercept = line
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    ssr = sum((y - (slope * x + intercept)) ** 2 for x, y in zip(xs, ys))
    scatter = math.sqrt(ssr / (n - 2)) if n >= 3 else 0.0
    half = 1.96 * math.sqrt(sum((x - mx) ** 2 * e.variance for x, e in zip(xs, inside.values()))) / sxx
    if n >= 3:
        half = max(half, t_975(n - 2) * scatter / math.sqrt(sxx))
    alpha = -slope
    low, high = alpha - half, alpha + half
    resamples: list[tuple[float, float]] = []
    counts = {len(e.replicates) for e in inside.values()}
    if len(counts) == 1 and min(counts) > 1 and all(e.resolved for e in inside.values()):
        for b in range(counts.pop()):
            fit = fit_line(xs, [e.replicates[b] for e in inside.values()])
            if fit is not None:
                resamples.append(fit)
        alphas = sorted(-s for s, _ in resamples)
        low = min(low, alphas[int(0.025 * (len(alphas) - 1))])
        high = max(high, alphas[int(math.ceil(0.975 * (len(alphas) - 1)))])
    return ExponentFit(
        alpha=alpha,
        low=low,
        high=high,
        estimates=inside,
        left_out=left_out,
        scatter=scatter,
        _centre=(mx, my),
        _half_pred=tuple(resamples),
    )
