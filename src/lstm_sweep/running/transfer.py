"""Transfer: tune the narrow widths' learning rate, predict every wider width's, verify it cheaply.

Three phases over one grid (a :class:`SweepRequest`), each trial the grid's own (same key: a
later ``run``, ``table``, ``report`` or ``serve`` of the grid sees and reuses it):

1. **Tune**: the search (:func:`~lstm_sweep.running.search.plan_search`, successive halving)
   over the *tune widths* only, every rate of the grid.
2. **Predict**, per facet (everything but width, rate and seed: one line per parametrization,
   cell, optimizer, ...), each wider width's best rate:

   - under a width-aware parametrization (any ``param`` but ``sp``: ``mup`` and its variants)
     the best rate of the **widest tuned width**. μP's promise is that the best rate does not
     move with width, but only in the limit: the narrowest models deviate most (Tensor Programs
     V, arXiv 2203.03466, tunes its proxy model at a width well away from the smallest and
     shows the optimum settling as width grows), so the widest tuned width is the one closest
     to those predicted; averaging in the narrower ones would pull the rate towards their
     finite-width bias;
   - under ``sp`` the rate extrapolated by the fitted exponent (``best rate ∝ width^-alpha``,
     :func:`~lstm_sweep.study.fit_exponent` over the tuned widths' search bests, each known to
     half a grid step), with its 95 % interval; where the prediction cannot be trusted (fewer
     than three widths inside the grid, an interval wider than a two-fold step either side) it
     says why and the rate is still verified, marked.

   The fitted alpha is shown for every facet (≈ 0 under μP). Each predicted rate is snapped to
   the nearest of the grid's rates (log distance), clipped to the grid's edge where it lies
   beyond it (and said so).
3. **Verify**: at each predicted width the snapped rate and ``verify`` grid steps either side,
   every seed, trained in full (trials already stored are not trained again; a pruned one goes
   on from its checkpoint). The found best is the verified rate with the best mean
   **validation** metric over seeds (what the search ranks by; the test set stays for
   reporting); the loss of transferring is its mean validation metric against the predicted
   rate's, in the metric's direction (0 where they coincide).

Why a command of its own rather than a mode of ``search``: a search answers "each width's best
rate" and spends its trials on every width it is given; a transfer spends them on the narrow
widths, then trains a small band at the wide ones chosen by a model of how the rate moves. It
has three phases, each with its own plan (the verify rates are known only after tuning) and its
own summary (predicted against found, and the metric lost), which a search's plan and summary
would have to carry as exceptions.

Resumable like the search: a transfer killed at any moment and started again replays the
tuning search's decisions from the store, predicts the same rates, and trains only the verify
trials not yet stored.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ..errors import ConfigError
from ..store import Store
from ..study import (
    ExponentFit,
    Metric,
    Status,
    TrialConfig,
    TrialResult,
    fit_exponent,
    grid_estimate,
    is_failed,
    metric_of,
    show,
    theory_of,
)
from .calibration import calibrations_for
from .cost import flops_between, human_seconds, plan_units, trial_flops
from .search import (
    DEFAULT_ETA,
    DEFAULT_WINDOW,
    FINAL,
    Row,
    SearchCallbacks,
    SearchPlan,
    SearchSummary,
    mean_metric,
    plan_search,
    ranked,
    run_search,
    search_rows,
    train_segment,
)
from .sweep import Plan, SweepCallbacks, SweepRequest, pending_trials
from .units import make_units

MAX_VERIFY = 2  # grid steps either side of the predicted rate
DEFAULT_VERIFY = 1
TUNE_AT_LEAST = 3  # the default tune widths: up to the base width, and at least this many
# how a facet's rate is predicted: sp, and every width-aware parametrization (mup, mup-*)
RULES = {"sp": "the exponent fitted over the tuned widths", "mup": "the widest tuned width's rate"}
# How the edge of stable training (the smallest rate at which most seeds break) moves with width:
# edge ∝ width^slope. Under SP with Adam the largest stable rate falls as 1/width where the hidden
# weights' updates dominate (Tensor Programs V; on the homework's model it halves per doubling from
# 32 units on); under a width-aware parametrization it stays put.
EDGE_SLOPE = {"sp": -1.0, "mup": 0.0}


# --------------------------------------------------------------------------- the widths


def default_tune_widths(widths: Sequence[int], base_width: int) -> tuple[int, ...]:
    """The widths tuned by default: those up to ``base_width``, and at least the three
    narrowest."""
    ordered = sorted(set(widths))
    return tuple(w for i, w in enumerate(ordered) if w <= base_width or i < TUNE_AT_LEAST)


def check_tune_widths(widths: Sequence[int], tune: Sequence[int] | None, base_width: int) -> tuple[int, ...]:
    """The tune widths (``tune``, or the default), checked against the grid's ``widths``.

    Raises:
        ConfigError: a tune width not in the grid, or no width left to predict.
    """
    if tune is None or (isinstance(tune, (list, tuple)) and not tune):
        chosen = default_tune_widths(widths, base_width)
    else:
        bad = [w for w in tune if isinstance(w, bool) or not isinstance(w, int) or w not in widths]
        if bad:
            raise ConfigError(
                f"the tune width {show(bad[0])} is not one of the grid's widths "
                f"{', '.join(str(w) for w in sorted(widths))}: tune some of Grid(hidden=...)"
            )
        chosen = tuple(sorted(set(tune)))
    if set(chosen) >= set(widths):
        raise ConfigError(
            f"every width of the grid ({', '.join(str(w) for w in sorted(widths))}) is tuned: nothing "
            "is left to predict: tune fewer of them (by default those up to the base width, and at "
            "least the three narrowest) or add wider ones to Grid(hidden=...)"
        )
    return chosen


def snap(rate: float, rates: Sequence[float]) -> tuple[float, str]:
    """The grid rate nearest ``rate`` in log distance (of two equally near, the smaller), and
    ``"low"``/``"high"`` where ``rate`` lies beyond the grid's range and was clipped to its edge
    (else ``""``)."""
    ordered = sorted(rates)
    nearest = min(ordered, key=lambda r: (abs(math.log(r) - math.log(rate)), r))
    tol = 1e-9
    clipped = "low" if rate < ordered[0] * (1 - tol) else "high" if rate > ordered[-1] * (1 + tol) else ""
    return nearest, clipped


def band(rate: float, rates: Sequence[float], steps: int) -> tuple[float, ...]:
    """``rate`` (one of ``rates``) and ``steps`` grid rates either side (fewer at the edge)."""
    ordered = sorted(rates)
    i = ordered.index(rate)
    return tuple(ordered[max(0, i - steps) : i + steps + 1])


# --------------------------------------------------------------------------- the plan


@dataclass(frozen=True)
class TransferPlan:
    """What a transfer will do: the tuning search's plan, the verify trials' expected count and
    cost, and how both compare with the full grid and a search over every width.

    Attributes:
        request: the whole grid (every width).
        search: the tuning search (the request restricted to ``tune_widths``).
        search_all: a search over every width, as :func:`plan_search` plans it (for comparison;
            its ``grid`` is the full grid's plan, whose trials are the ones verified).
        tune_widths, predict_widths: the widths tuned and those predicted.
        verify: grid steps trained either side of each predicted rate.
        rows: the grid's rows (one per facet and width) at the predicted widths.
        verify_trials, verify_flops, verify_seconds: the verify phase as expected before the
            rates are known (2·verify + 1 rates per predicted row, every seed).
        verify_plan: those trials as a plan (checked for memory and ETA).
    """

    request: SweepRequest
    search: SearchPlan
    search_all: SearchPlan
    tune_widths: tuple[int, ...]
    predict_widths: tuple[int, ...]
    verify: int
    rows: list[Row]
    verify_trials: int
    verify_flops: float
    verify_seconds: float
    verify_plan: Plan

    def __post_init__(self) -> None:
        """Raises ConfigError for fields of the wrong kind (a TransferPlan is made by
        :func:`plan_transfer`; one made by hand is checked alike)."""
        ok = (
            isinstance(self.request, SweepRequest)
            and isinstance(self.search, SearchPlan)
            and isinstance(self.search_all, SearchPlan)
            and isinstance(self.tune_widths, tuple)
            and isinstance(self.predict_widths, tuple)
            and bool(self.predict_widths)
            and isinstance(self.verify, int)
            and not isinstance(self.verify, bool)
            and 0 <= self.verify <= MAX_VERIFY
            and isinstance(self.rows, list)
            and all(isinstance(r, Row) for r in self.rows)
            and isinstance(self.verify_plan, Plan)
        )
        if not ok:
            raise ConfigError(
                "a TransferPlan is made by plan_transfer(request, ...); these fields are not "
                f"one's: {show(self)}"
            )

    @property
    def grid(self) -> Plan:
        """The full grid's plan (every trial of every width)."""
        return self.search_all.grid

    @property
    def flops(self) -> float:
        return self.search.flops + self.verify_flops

    @property
    def seconds(self) -> float:
        return self.search.seconds + self.verify_seconds

    def render(self) -> str:
        params = dict.fromkeys(r.proto.param for r in self.rows)
        rules = "; ".join(f"{p}: {RULES['sp' if p == 'sp' else 'mup']}" for p in params)
        n_rates = 2 * self.verify + 1
        facets = {r.facet for r in self.rows}
        seeds = max((len(ts) for r in self.rows for ts in r.trials.values()), default=0)
        out = [
            f"transfer: tune widths {_widths(self.tune_widths)} by search; predict "
            f"{_widths(self.predict_widths)} ({rules}); verify {n_rates} rate"
            f"{'s' if n_rates > 1 else ''} per predicted width (±{self.verify} grid step"
            f"{'' if self.verify == 1 else 's'})",
            "",
            "tune:",
            self.search.render(),
            "",
            f"verify: {len(self.predict_widths)} predicted width{_s(self.predict_widths)}"
            f" × {len(facets)} facet{'s' if len(facets) != 1 else ''} × {n_rates} rate"
            f"{'s' if n_rates > 1 else ''} × {seeds} seed{'s' if seeds != 1 else ''} = up to "
            f"{self.verify_trials} trials, {self.verify_flops / 1e15:.3g} PFLOP, ETA "
            f"{human_seconds(self.verify_seconds)} "
            "(the rates are chosen after tuning; trials already stored cost nothing)",
            "",
            _comparison(
                "transfer",
                self.flops,
                self.seconds,
                self.search_all.grid_flops,
                self.search_all.grid_seconds,
                self.search_all.flops,
                self.search_all.seconds,
                "ETA",
            ),
        ]
        return "\n".join(out)

    def check(self, force: bool = False) -> None:
        """Refuse, unless ``force``: the tuning search's refusals (memory, checkpoints' disk), a
        predicted width that does not fit in memory, an ETA beyond 30 days."""
        self.search.check(force)
        self.verify_plan.check(force)


def _s(items: Sequence | set) -> str:
    return "" if len(items) == 1 else "s"


def _widths(widths: Sequence[int]) -> str:
    return ", ".join(str(w) for w in widths)


def _comparison(
    what: str,
    flops: float,
    seconds: float,
    grid_flops: float,
    grid_seconds: float,
    all_flops: float,
    all_seconds: float,
    time_word: str,
) -> str:
    def share(a: float, b: float) -> str:
        return f"{a / b:.0%}" if b else "-"

    return (
        f"{what}: {flops / 1e15:.3g} PFLOP, {time_word} {human_seconds(seconds)} — "
        f"{share(flops, grid_flops)} of the full grid over every width ({grid_flops / 1e15:.3g} "
        f"PFLOP, ETA {human_seconds(grid_seconds)}), {share(flops, all_flops)} of a search over "
        f"every width ({all_flops / 1e15:.3g} PFLOP, ETA {human_seconds(all_seconds)})"
    )


def plan_transfer(
    request: SweepRequest,
    *,
    tune_widths: Sequence[int] | None = None,
    verify: int = DEFAULT_VERIFY,
    eta: int = DEFAULT_ETA,
    rungs: Sequence[int] | None = None,
    window: float | None = DEFAULT_WINDOW,
) -> TransferPlan:
    """Plan a transfer of ``request``'s grid (see the module docstring): tune ``tune_widths``
    (default: the widths up to the grid's base width, and at least the three narrowest), predict
    the others, verify ``verify`` (0 to 2) grid steps either side of each prediction.

    Raises:
        ConfigError: a tune width not in the grid, nothing left to predict, ``verify`` not 0 to
            2, or :func:`plan_search`'s refusals (fewer than two rates, several step counts,
            checkpoints off, bad ``eta``/``rungs``/``window``).
        StoreError: as for :func:`plan_search`.
    """
    if not isinstance(request, SweepRequest):
        raise ConfigError(f"request must be a SweepRequest; got {type(request).__name__}")
    if isinstance(verify, bool) or not isinstance(verify, int) or not 0 <= verify <= MAX_VERIFY:
        raise ConfigError(
            "verify= (grid steps trained either side of a predicted rate) must be 0, 1 or 2; "
            f"got {show(verify)}"
        )
    grid = request.grid
    tune = check_tune_widths(tuple(grid.hidden), tune_widths, grid.base_width)
    predict = tuple(sorted(w for w in set(grid.hidden) if w not in tune))
    axes: dict[str, Any] = {"hidden": tune}  # an axis field (made from the declaration)
    tune_request = replace(request, grid=replace(grid, **axes))
    search = plan_search(tune_request, eta=eta, rungs=rungs, window=window)
    search_all = plan_search(request, eta=eta, rungs=rungs, window=window)
    rows = [r for r in search_rows(search_all.grid.trials) if r.hidden in predict]
    sample: list[TrialConfig] = []
    for row in rows:  # the middle rates stand for those chosen later (a trial's cost is the rate's)
        i = len(row.rates) // 2
        for rate in band(row.rates[i], row.rates, verify):
            sample.extend(row.trials[rate])
    units = make_units(sample, request.engine, request.device, val_every=request.val_every)
    calibrations = calibrations_for(units, request.device, workers=request.workers)
    cost = plan_units(units, request.device, calibrations, request.workers)
    verify_plan = Plan(request, sample, sample, units, cost)
    return TransferPlan(
        request,
        search,
        search_all,
        tune,
        predict,
        verify,
        rows,
        len(sample),
        sum(trial_flops(c) for c in sample),
        cost.seconds,
        verify_plan,
    )


# --------------------------------------------------------------------------- the outcome


@dataclass(frozen=True)
class WidthTransfer:
    """One predicted width of one facet: the prediction, and what verifying it found.

    Attributes:
        width: the predicted width.
        predicted: the predicted best rate (None where no tuned width found one).
        low, high: its 95 % interval (the fit's under sp; half a grid step either side of the
            tuned rate under μP).
        ok: whether the prediction can be trusted; else ``reason`` says why.
        snapped: the grid rate trained for it (nearest in log distance); ``clipped``: ``"low"``
            or ``"high"`` where the prediction lay beyond the grid and was clipped to its edge.
        verified: the rates trained at this width (``snapped`` and its band), ascending.
        found: the verified rate with the best mean validation metric (None: none finished);
            ``edge``: it is the band's end (the true best may lie beyond).
        metric_at_predicted, metric_at_found: mean validation metric over seeds (None where
            none of the seeds has a finite value).
        lost: the metric lost had only ``snapped`` been trained: ``found``'s value against
            ``snapped``'s in the metric's direction (>= 0; 0 where they coincide).
        test_at_predicted, test_at_found: the mean test metric over seeds of the same rates.
        failing: the verified rates where training broke for some seed (diverged, or a
            validation metric no better than chance): ``(rate, failed seeds, judged seeds)``,
            ascending; the edge of stable training lies there.
        edge_at: the edge of stable training extrapolated to this width from the widest tuned
            width where the tuning search met one (:data:`EDGE_SLOPE`); None where it met none.
        near_edge: the trained rate lies within one two-fold step of ``edge_at`` or beyond it:
            the best rate there is likely lower than predicted.
    """

    width: int
    predicted: float | None
    low: float | None
    high: float | None
    ok: bool
    reason: str
    snapped: float | None
    clipped: str = ""
    verified: tuple[float, ...] = ()
    found: float | None = None
    edge: bool = False
    metric_at_predicted: float | None = None
    metric_at_found: float | None = None
    lost: float | None = None
    test_at_predicted: float | None = None
    test_at_found: float | None = None
    failing: tuple[tuple[float, int, int], ...] = ()
    edge_at: float | None = None
    near_edge: bool = False


@dataclass(frozen=True)
class FacetTransfer:
    """One facet: its tuned widths' bests, the fitted exponent, and each predicted width.

    Attributes:
        label: the facet as its varied fields say it (``param=mup``), or ``""`` where the grid
            has one facet.
        param: its parametrization; ``rule``: how its rates were predicted.
        tuned: tuned width -> the search's best rate (None: no rate finished).
        fit: the exponent over the tuned widths (None: fewer than two inside the grid);
            ``alpha``, ``alpha_low``, ``alpha_high`` its value and 95 % interval.
        widths: the predicted widths.
        edges: tuned width -> the smallest rate at which most of its seeds broke in the tuning
            search (diverged, or no better than chance at the steps they reached); widths
            where none did are absent.
    """

    label: str
    param: str
    rule: str
    tuned: dict[int, float | None]
    fit: ExponentFit | None
    widths: list[WidthTransfer]
    metric: Metric
    edges: dict[int, float] = field(default_factory=dict)

    @property
    def alpha(self) -> float | None:
        return None if self.fit is None else self.fit.alpha

    @property
    def alpha_low(self) -> float | None:
        return None if self.fit is None else self.fit.low

    @property
    def alpha_high(self) -> float | None:
        return None if self.fit is None else self.fit.high


@dataclass(frozen=True)
class TransferSummary:
    """What a transfer found, per facet and predicted width, and what it cost.

    Attributes:
        facets: per facet, its predictions and verification.
        search: the tuning search's summary.
        flops_transfer: FLOPs trained now (the tuning search's and the verify trials').
        flops_full_grid, seconds_full_grid: the full grid over every width, as planned.
        flops_search_all, seconds_search_all: a search over every width, as planned.
        seconds: this transfer's wall time.
        verify_trained: verify trials trained now (the others were stored).
    """

    facets: list[FacetTransfer]
    search: SearchSummary
    flops_transfer: float
    flops_full_grid: float
    flops_search_all: float
    seconds: float
    seconds_full_grid: float
    seconds_search_all: float
    verify_trained: int


@dataclass
class TransferCallbacks:
    """Progress hooks: the tuning search's, the verify phase's sweep hooks, and the predictions
    once made (before any verify trial)."""

    search: SearchCallbacks | None = None
    sweep: SweepCallbacks | None = None
    on_predictions: Callable[[list[FacetTransfer]], None] | None = None

    def __post_init__(self) -> None:
        if self.search is not None and not isinstance(self.search, SearchCallbacks):
            raise ConfigError(
                f"TransferCallbacks' search must be a SearchCallbacks or None; got {show(self.search)}"
            )
        if self.sweep is not None and not isinstance(self.sweep, SweepCallbacks):
            raise ConfigError(
                f"TransferCallbacks' sweep must be a SweepCallbacks or None; got {show(self.sweep)}"
            )
        if self.on_predictions is not None and not callable(self.on_predictions):
            raise ConfigError(
                "TransferCallbacks' on_predictions must be a function or None; got "
                f"{show(self.on_predictions)}"
            )


# --------------------------------------------------------------------------- predicting


def _labels(rows: Sequence[Row]) -> dict[tuple, str]:
    """Each facet named by the fields that differ between the grid's facets."""
    facets = list(dict.fromkeys(r.facet for r in rows))
    values: dict[str, set] = {}
    for f in facets:
        for k, v in f:
            values.setdefault(k, set()).add(v)
    varied = [k for k, vs in values.items() if len(vs) > 1]
    out = {}
    for f in facets:
        d = dict(f)
        out[f] = " ".join(f"{k}={d[k].strip(chr(39))}" for k in varied if k in d)
    return out


def predict_facet(
    label: str,
    param: str,
    tuned: Mapping[int, float | None],
    rates: Sequence[float],
    widths: Sequence[int],
    metric: Metric,
    edges: Mapping[int, float] | None = None,
) -> FacetTransfer:
    """The predictions of one facet from its tuned widths' search bests (``tuned``: width ->
    best rate, one of ``rates``, or None) at ``widths`` (unverified). ``edges``: tuned width ->
    the smallest rate at which most seeds broke there; each prediction is set against that edge
    extrapolated to its width (``edge_at``, ``near_edge``)."""
    bests = {w: r for w, r in sorted(tuned.items()) if r is not None}
    estimates = {w: grid_estimate(r, rates) for w, r in bests.items()}
    fit = fit_exponent(estimates) if estimates else None
    out: list[WidthTransfer] = []
    if param == "sp":
        rule = RULES["sp"]
        for w in widths:
            if fit is not None:
                p = fit.predict(w)
                snapped, clipped = snap(p.rate, rates)
                reason = "" if p.ok else f"cannot extrapolate: {p.reason}"
                out.append(WidthTransfer(w, p.rate, p.low, p.high, p.ok, reason, snapped, clipped))
            elif bests:  # nothing to fit: the widest tuned width's rate, marked
                widest = max(bests)
                left = ", ".join(f"{x}: {e.edge} edge" for x, e in estimates.items() if e.edge)
                reason = (
                    f"cannot extrapolate: fewer than two tuned widths have their best inside the grid"
                    f"{f' ({left})' if left else ''}; the widest tuned width's rate is verified instead"
                )
                e = estimates[widest]
                snapped, clipped = snap(e.rate, rates)
                out.append(WidthTransfer(w, e.rate, e.low, e.high, False, reason, snapped, clipped))
            else:
                out.append(WidthTransfer(w, None, None, None, False, "no tuned width finished a rate", None))
    else:
        rule = RULES["mup"]
        for w in widths:
            if not bests:
                out.append(WidthTransfer(w, None, None, None, False, "no tuned width finished a rate", None))
                continue
            widest = max(bests)
            e = estimates[widest]
            reason = (
                f"the widest tuned width's best ({widest}) is on the grid's {e.edge} edge: the true "
                "best may lie beyond"
                if e.edge
                else ""
            )
            snapped, clipped = snap(e.rate, rates)
            out.append(WidthTransfer(w, e.rate, e.low, e.high, not reason, reason, snapped, clipped))
    edges = dict(sorted((edges or {}).items()))
    if edges:
        widest = max(edges)
        slope = EDGE_SLOPE["sp" if param == "sp" else "mup"]
        out = [_against_edge(wt, edges[widest] * (wt.width / widest) ** slope) for wt in out]
    return FacetTransfer(label, param, rule, dict(tuned), fit, out, metric, edges)


def _against_edge(wt: WidthTransfer, edge: float) -> WidthTransfer:
    near = wt.snapped is not None and 2 * wt.snapped >= edge * (1 - 1e-9)
    return replace(wt, edge_at=edge, near_edge=near)


def _broken(
    row: Row, rate: float, results: Mapping[str, TrialResult], judged: tuple[Status, ...]
) -> tuple[int, int]:
    """Of ``rate``'s seeds stored with a status in ``judged``: how many broke (diverged, or a
    validation metric no better than chance), and how many were judged."""
    stored = [results[c.key()] for c in row.trials[rate] if c.key() in results]
    seen = [t for t in stored if t.status in judged]
    bad = sum(t.status is Status.DIVERGED or is_failed(t.config, t.val_accuracy) for t in seen)
    return bad, len(seen)


def search_edges(
    rows: Sequence[Row], results: Mapping[str, TrialResult], bests: Mapping[int, float | None]
) -> dict[int, float]:
    """Per row (a width) with a best rate in ``bests``: the smallest rate above it at which most
    of its judged seeds broke — diverged, or a validation metric no better than chance at the
    steps they reached (a pruned trial at its rung). Rates below the best are not looked at (too
    small a rate learns nothing either: that is not the edge); seeds not trained, out of memory
    or failed by an error say nothing."""
    out: dict[int, float] = {}
    for row in rows:
        best = bests.get(row.hidden)
        if best is None:
            continue
        for rate in (r for r in row.rates if r > best):
            bad, judged = _broken(row, rate, results, (Status.DONE, Status.PRUNED, Status.DIVERGED))
            if judged and 2 * bad > judged:
                out[row.hidden] = rate
                break
    return out


def _mean(values: Sequence[float | None], metric: Metric) -> float | None:
    """The mean over seeds (a missing value counted worst, as the search does); None where it
    is not finite (a loss with a diverged seed)."""
    m = mean_metric(values, metric)
    return m if math.isfinite(m) else None


def _verified(
    wt: WidthTransfer, row: Row, results: Mapping[str, TrialResult], metric: Metric, verify: int
) -> WidthTransfer:
    """``wt`` with what its verify trials found (the stored results of its band)."""
    if wt.snapped is None:
        return wt
    rates = band(wt.snapped, row.rates, verify)

    def val(rate: float) -> list[float | None]:
        return [results[c.key()].val_accuracy if c.key() in results else None for c in row.trials[rate]]

    def test(rate: float) -> float | None:
        vals = [results[c.key()].test_accuracy if c.key() in results else None for c in row.trials[rate]]
        return _mean(vals, metric)

    done = [
        r
        for r in rates
        if any(c.key() in results and results[c.key()].status is Status.DONE for c in row.trials[r])
    ]
    scores = {r: mean_metric(val(r), metric) for r in done}
    found = ranked(scores, metric)[0] if done else None
    at_pred = _mean(val(wt.snapped), metric)
    failing = []
    for r in rates:
        bad, judged = _broken(row, r, results, (Status.DONE, Status.DIVERGED))
        if bad:
            failing.append((r, bad, judged))
    at_found = _mean(val(found), metric) if found is not None else None
    lost = None
    if found == wt.snapped:
        lost = 0.0
    elif at_pred is not None and at_found is not None:
        lost = metric.key(at_found) - metric.key(at_pred)
    return replace(
        wt,
        verified=rates,
        found=found,
        edge=found is not None and len(rates) > 1 and found in (rates[0], rates[-1]),
        metric_at_predicted=at_pred,
        metric_at_found=at_found,
        lost=lost,
        test_at_predicted=test(wt.snapped),
        test_at_found=test(found) if found is not None else None,
        failing=tuple(failing),
    )


# --------------------------------------------------------------------------- running it


def run_transfer(plan: TransferPlan, callbacks: TransferCallbacks | None = None) -> TransferSummary:
    """Run a planned transfer: the tuning search, the predictions, the verify trials (each
    committed to the store as it ends; stored ones are not trained again).

    Raises:
        ConfigError: ``plan`` not a TransferPlan, or the request has no dataset.
        StoreError: as for :func:`run_search`.
    """
    if not isinstance(plan, TransferPlan):
        raise ConfigError(f"plan must be a TransferPlan (plan_transfer(...)); got {type(plan).__name__}")
    if callbacks is not None and not isinstance(callbacks, TransferCallbacks):
        raise ConfigError(f"callbacks must be a TransferCallbacks or None; got {type(callbacks).__name__}")
    callbacks = callbacks or TransferCallbacks()
    t0 = time.perf_counter()
    searched = run_search(plan.search, callbacks.search)
    facets = _predict(plan, searched)
    if callbacks.on_predictions:
        callbacks.on_predictions([ft for _, ft in facets])
    rows = {(r.facet, r.hidden): r for r in plan.rows}
    wanted: list[TrialConfig] = []
    for facet_key, ft in facets:
        for wt in ft.widths:
            if wt.snapped is not None:
                row = rows[(facet_key, wt.width)]
                wanted += [c for r in band(wt.snapped, row.rates, plan.verify) for c in row.trials[r]]
    request = plan.request
    retry = request.retry | {Status.PRUNED}  # a pruned verify trial is finished from its checkpoint
    reached: dict[str, int] = {}
    need = wanted
    if request.store.exists() and request.store.stat().st_size:
        with Store(request.store, readonly=True) as store:
            need = pending_trials(wanted, store, frozenset(retry))
            keys = {c.key() for c in need}
            reached = {
                r.key: r.steps_done for r in store.results() if r.key in keys and r.status not in FINAL
            }
    flops = searched.flops + sum(
        flops_between(c, reached.get(c.key(), 0), c.steps, True, request.val_every) for c in need
    )
    if need:
        train_segment(
            replace(request, retry=frozenset(retry)),
            need,
            None,
            callbacks.sweep,
            "transfer: the verify trials",
        )
    results: dict[str, TrialResult] = {}
    keys = {c.key() for c in wanted}
    if keys:
        with Store(request.store, readonly=True) as store:
            results = {r.key: r for r in store.results() if r.key in keys}
    done = [
        replace(
            ft,
            widths=[
                _verified(wt, rows[(facet_key, wt.width)], results, ft.metric, plan.verify)
                for wt in ft.widths
            ],
        )
        for facet_key, ft in facets
    ]
    return TransferSummary(
        done,
        searched,
        flops,
        plan.search_all.grid_flops,
        plan.search_all.flops,
        time.perf_counter() - t0,
        plan.search_all.grid_seconds,
        plan.search_all.seconds,
        len(need),
    )


def _predict(plan: TransferPlan, searched: SearchSummary) -> list[tuple[tuple, FacetTransfer]]:
    labels = _labels(search_rows(plan.grid.trials))
    tuned: dict[tuple, dict[int, float | None]] = {}
    protos: dict[tuple, Row] = {}
    by_facet: dict[tuple, list[Row]] = {}
    for r in searched.rows:
        tuned.setdefault(r.row.facet, {})[r.row.hidden] = r.best
        protos.setdefault(r.row.facet, r.row)
        by_facet.setdefault(r.row.facet, []).append(r.row)
    keys = {c.key() for rows in by_facet.values() for row in rows for cs in row.trials.values() for c in cs}
    results: dict[str, TrialResult] = {}
    store_path = plan.request.store
    if keys and store_path.exists() and store_path.stat().st_size:
        with Store(store_path, readonly=True) as store:
            results = {r.key: r for r in store.results() if r.key in keys}
    out = []
    for facet_key, by_width in tuned.items():
        row = protos[facet_key]
        widths = sorted(r.hidden for r in plan.rows if r.facet == facet_key)
        ft = predict_facet(
            labels.get(facet_key, ""),
            row.proto.param,
            by_width,
            row.rates,
            widths,
            metric_of(row.proto),
            search_edges(by_facet[facet_key], results, by_width),
        )
        out.append((facet_key, ft))
    return out


# --------------------------------------------------------------------------- what it says


def _num(x: float) -> str:
    """Two decimals, never ``-0.00``."""
    text = f"{x:.2f}"
    return "0.00" if text == "-0.00" else text


def _rate(r: float | None) -> str:
    return "—" if r is None else f"{r:.3g}"


def render_alpha(ft: FacetTransfer) -> str:
    """``α = 0.82 [0.31, 1.3] over widths 16, 32, 64 (theory: ...)`` or why there is none."""
    theory, words = theory_of(ft.param)
    fit = ft.fit
    if fit is None:
        said = "α: — (fewer than two tuned widths have their best inside the grid)"
    else:
        left = (
            f"; left out (best on the grid's edge): {', '.join(f'{w} {e}' for w, e in fit.left_out.items())}"
            if fit.left_out
            else ""
        )
        said = (
            f"α = {_num(fit.alpha)} [{_num(fit.low)}, {_num(fit.high)}] over widths "
            f"{_widths(fit.widths)}{left}"
        )
    return f"{said} (theory ≈ {theory:g}: {words})"


def render_edges(ft: FacetTransfer) -> str:
    """Where the tuning search met the edge of stable training, per tuned width."""
    met = ", ".join(f"{w}: {_rate(r)}" for w, r in ft.edges.items())
    none = [w for w in sorted(ft.tuned) if w not in ft.edges]
    if not met:
        return "edge of stable training: not met in the tuning search at any tuned width"
    rest = f"; not met at {_widths(none)}" if none else ""
    return f"edge of stable training (most seeds broke, in the tuning search) from: {met}{rest}"


def near_edge_words(ft: FacetTransfer, wt: WidthTransfer) -> str:
    """Why a prediction near the extrapolated edge is suspect."""
    widest = max(ft.edges)
    how = (
        f"the edge at {widest} units scaled as 1/width (the largest stable rate under sp with Adam)"
        if ft.param == "sp"
        else f"the edge at {widest} units (flat with width under {ft.param})"
    )
    return (
        f"near the edge: {how} is {_rate(wt.edge_at)} at {wt.width} units, within one two-fold step "
        "of the trained rate or below it; the best rate there is likely lower"
    )


def render_predictions(facets: Sequence[FacetTransfer]) -> str:
    """Each facet's tuned bests, fitted exponent and predicted rates (before verifying)."""
    out = []
    for ft in facets:
        name = ft.label or ft.param
        tuned = ", ".join(f"{w}: {_rate(r)}" for w, r in sorted(ft.tuned.items()))
        out.append(f"{name}: tuned best rates {tuned}; {render_alpha(ft)}")
        if ft.tuned:
            out.append("  " + render_edges(ft))
        for wt in ft.widths:
            interval = "" if wt.low is None else f" [{_rate(wt.low)}, {_rate(wt.high)}]"
            clipped = f", clipped to the grid's {wt.clipped} edge" if wt.clipped else ""
            mark = "" if wt.ok else f" — {wt.reason}"
            if wt.near_edge:
                mark += f" — {near_edge_words(ft, wt)}"
            out.append(
                f"  hidden {wt.width}: predicted {_rate(wt.predicted)}{interval} by {ft.rule}; "
                f"trains {_rate(wt.snapped)}{clipped}{mark}"
            )
    return "\n".join(out)


def edge_note(ft: FacetTransfer, wt: WidthTransfer, rates: Sequence[float]) -> str:
    """Where training broke among a width's verified rates (``wt.failing``), and how far that
    edge lies from the predicted rate, in steps of the grid's ``rates`` (ascending)."""
    rates = list(rates)
    at = rates.index(wt.snapped) if wt.snapped in rates else 0
    broke = "; ".join(f"lr {_rate(r)} fails {bad} of {n} seeds" for r, bad, n in wt.failing)
    above = [rates.index(r) - at for r, _, _ in wt.failing if r in rates and rates.index(r) > at]
    name = ft.label or ft.param
    if len(above) < len(wt.failing):
        where = "training breaks at or below the predicted rate: the prediction is past the edge"
    else:
        k = min(above)
        where = f"the edge of stable training is {k} grid step{'s' if k > 1 else ''} above the predicted rate"
    hint = (
        "; under sp that edge moves down as the width grows (it halves per doubling on the "
        "homework's model), and once it reaches the best rate the best rate falls with it: the "
        "fitted exponent does not see this, so expect wider widths' best rates below it"
        if ft.param == "sp"
        else ""
    )
    return f"! {name} hidden {wt.width}: {broke} — {where}{hint}"


def render_transfer_summary(plan: TransferPlan, summary: TransferSummary) -> str:
    """Per facet and predicted width: the predicted rate (and interval), the found best among
    the verified rates, the metric at both, what was lost; then the cost against the full grid
    and a search over every width.

    Raises:
        ConfigError: ``plan`` not a TransferPlan or ``summary`` not a TransferSummary.
    """
    if not isinstance(plan, TransferPlan) or not isinstance(summary, TransferSummary):
        raise ConfigError(
            f"render_transfer_summary takes a TransferPlan and a TransferSummary; got "
            f"{type(plan).__name__} and {type(summary).__name__}"
        )
    out = []
    notes: list[str] = []
    for ft in summary.facets:
        m = ft.metric
        said = "val" if m.name == "accuracy" else f"val {m.short}"
        out.append(f"{ft.label or ft.param}: {render_alpha(ft)}")
        header = [
            "hidden",
            "predicted",
            "95 % interval",
            "trained",
            "verified",
            "found",
            f"{said} @predicted",
            f"{said} @found",
            "lost",
        ]
        table = [header]
        for wt in ft.widths:
            mark = "" if wt.ok else " *"
            if not wt.ok:
                notes.append(f"* {ft.label or ft.param} hidden {wt.width}: {wt.reason}")
            if wt.clipped:
                notes.append(
                    f"{ft.label or ft.param} hidden {wt.width}: the prediction {_rate(wt.predicted)} lies "
                    f"beyond the grid's rates: clipped to its {wt.clipped} edge"
                )
            if wt.near_edge:
                notes.append(f"! {ft.label or ft.param} hidden {wt.width}: {near_edge_words(ft, wt)}")
            if wt.failing:
                rates = next((r.rates for r in plan.rows if r.hidden == wt.width), wt.verified)
                notes.append(edge_note(ft, wt, rates))
            lost = "—" if wt.lost is None else (m.format(wt.lost) if m.percent else f"{wt.lost:.4g}")
            table.append(
                [
                    str(wt.width),
                    _rate(wt.predicted) + mark,
                    "—" if wt.low is None else f"{_rate(wt.low)}–{_rate(wt.high)}",
                    _rate(wt.snapped),
                    str(len(wt.verified)),
                    _rate(wt.found) + (" edge" if wt.edge else ""),
                    m.format(wt.metric_at_predicted),
                    m.format(wt.metric_at_found),
                    lost,
                ]
            )
        widths = [max(len(r[i]) for r in table) for i in range(len(header))]
        out += ["  " + "  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in table]
    out += notes
    if any(wt.edge for ft in summary.facets for wt in ft.widths):
        out.append("edge: the found best is the end of the verified band: the true best may lie beyond it")
    out.append(
        _comparison(
            f"transfer trained now ({summary.search.trained} search segments, "
            f"{summary.verify_trained} verify trials)",
            summary.flops_transfer,
            summary.seconds,
            summary.flops_full_grid,
            summary.seconds_full_grid,
            summary.flops_search_all,
            summary.seconds_search_all,
            "wall",
        )
    )
    return "\n".join(out)


__all__ = [
    "DEFAULT_VERIFY",
    "EDGE_SLOPE",
    "MAX_VERIFY",
    "FacetTransfer",
    "TransferCallbacks",
    "TransferPlan",
    "TransferSummary",
    "WidthTransfer",
    "band",
    "check_tune_widths",
    "default_tune_widths",
    "edge_note",
    "near_edge_words",
    "render_edges",
    "search_edges",
    "plan_transfer",
    "predict_facet",
    "render_predictions",
    "render_transfer_summary",
    "run_transfer",
    "snap",
]
