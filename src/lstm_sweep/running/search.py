"""Search: each row's best learning rate for a fraction of the grid.

A *row* is one width of one facet (cell, optimizer, parametrization, ...): its candidates are the
grid's learning rates, each with all the grid's seeds. Per row, successive halving (Jamieson &
Talwalkar 2016; the synchronous form of Li et al.'s Hyperband and ASHA):

1. every candidate trains to the first *rung* (by default a ninth of the steps);
2. the candidates are ranked by their mean **validation** metric over seeds there (accuracy on
   the TF split's 5,000 images, the test set being only for reported accuracy; for another
   task its metric, in its direction: the lowest bits per character, MSE or loss; a missing
   value ranks worst), and the best 1/η of them
   (η = 3 by default) go on, **from their checkpoints**, to the next rung; the others stay in
   the store as ``pruned`` (their steps and validation accuracy; ``run --retry pruned``
   finishes them from their checkpoints);
3. the last rung is the trial's own steps: the winners are finished with the full, faithful
   protocol, and each stored result is the one ``run`` stores for that trial (same key; a
   later ``run`` of the grid does not train it again).

The study's structure is used twice. (a) Rows run narrowest first, and a row's candidates are
the rates within ``window`` (×10 by default) of the neighbouring width's best, since the best
rate moves smoothly with width (under μP it should not move at all); when the first rung's best
lies on the window's edge, the window widens by one rate on that side until it does not (the
zone moved further than the window). (b) A trial that diverged, ran out of memory or failed
before a rung is final: its stored result is exactly what ``run`` would store, so it is never
continued, and it still competes.

Everything the search decides follows from what is stored: a search killed at any moment and
started again replays its decisions from the store (a trial stored beyond a rung was promoted
there) and goes on; its trials resume from their checkpoints.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import torch

from ..errors import ConfigError, LstmSweepError
from ..store import Store
from ..study import (
    MAX_STEPS,
    Metric,
    Status,
    TrialConfig,
    TrialResult,
    check_count,
    is_finite_number,
    metric_of,
    show,
)
from .calibration import calibrations_for
from .cost import (
    flops_between,
    human_bytes,
    human_seconds,
    plan_units,
    trial_flops,
)
from .executors import make_executor, refuse_in_worker_start
from .sweep import (
    Plan,
    SweepCallbacks,
    SweepRequest,
    SweepSummary,
    check_disk,
    checkpoint_disk,
    checkpoint_line,
    execute,
    plan_sweep,
)
from .units import cpu_cores, make_units, workers_for

log = logging.getLogger(__name__)

DEFAULT_ETA = 3
DEFAULT_WINDOW = 10.0
DEFAULT_RUNGS = 3
# a rung planned shorter than this (on one worker) runs in this process: worker processes take
# seconds to start (measured: the quick grid's search, 1 seed, 2 min 48 s with a pool per rung)
RUNG_IN_PROCESS_S = 30.0
FINAL = frozenset({Status.DONE, Status.DIVERGED, Status.FAILED, Status.OOM})


@dataclass(frozen=True)
class Row:
    """The trials of one width and facet: rate -> its seeds' configurations."""

    hidden: int
    facet: tuple  # every other field but lr, seed and data seed
    rates: tuple[float, ...]  # ascending
    trials: dict  # rate -> tuple[TrialConfig, ...]

    def __post_init__(self) -> None:
        """Raises ConfigError for fields of the wrong kind (rows are made by
        :func:`search_rows`)."""
        ok = (
            _is_count(self.hidden)
            and isinstance(self.facet, tuple)
            and isinstance(self.rates, tuple)
            and self.rates
            and isinstance(self.trials, dict)
            and set(self.trials) == set(self.rates)
            and all(
                isinstance(ts, tuple) and ts and all(isinstance(c, TrialConfig) for c in ts)
                for ts in self.trials.values()
            )
        )
        if not ok:
            raise ConfigError(f"a search Row is made by search_rows(trials); got {show(self)}")

    @property
    def proto(self) -> TrialConfig:
        return self.trials[self.rates[0]][0]

    def label(self) -> str:
        return f"{self.proto.model_prefix}hidden {self.hidden}"

    def same_line(self, other: Row) -> bool:
        """Whether ``other`` is this row's neighbour line (same facet, another width)."""
        return self.facet == other.facet


def search_rows(trials: Sequence[TrialConfig]) -> list[Row]:
    """The grid's trials as rows, narrowest first within each facet.

    Raises:
        ConfigError: ``trials`` not a list of TrialConfig.
    """
    if not isinstance(trials, (list, tuple)) or not all(isinstance(t, TrialConfig) for t in trials):
        raise ConfigError(f"search_rows takes a list of TrialConfig, got {show(trials)}")
    groups: dict[tuple, dict[float, list[TrialConfig]]] = {}
    for t in trials:
        d = t.to_dict()
        for k in ("hidden", "lr", "seed", "data_seed"):
            d.pop(k, None)
        facet = tuple(sorted((k, repr(v)) for k, v in d.items()))
        groups.setdefault((facet, t.hidden), {}).setdefault(t.lr, []).append(t)
    rows = [
        Row(
            hidden,
            facet,
            tuple(sorted(by_rate)),
            {lr: tuple(sorted(ts, key=lambda c: c.seed)) for lr, ts in by_rate.items()},
        )
        for (facet, hidden), by_rate in groups.items()
    ]
    order = {f: i for i, f in enumerate(dict.fromkeys(facet for facet, _ in groups))}
    return sorted(rows, key=lambda r: (order[r.facet], r.hidden))


def default_rungs(steps: int, eta: int = DEFAULT_ETA, n: int = DEFAULT_RUNGS) -> tuple[int, ...]:
    """Rungs at steps/η^(n-1), ..., steps/η, steps (999 steps, η 3: 111, 333, 999).

    Raises:
        ConfigError: ``steps`` not a trial's steps, ``eta`` not 2 to 10, ``n`` not 1 to 10.
    """
    check_count("steps", steps, MAX_STEPS)
    for name, value, low in (("eta", eta, 2), ("n", n, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= 10:
            raise ConfigError(f"{name} must be a whole number from {low} to 10, got {show(value)}")
    return tuple(sorted({max(1, steps // eta**k) for k in range(n)}))


def check_rungs(rungs: Sequence[int] | None, steps: int, eta: int) -> tuple[int, ...]:
    """The rungs to use for trials of ``steps`` steps: ``rungs`` (a list of the earlier ones;
    the trial's steps are always the last) or the default (None or empty). ConfigError for
    anything else, or steps beyond the trial's."""
    if rungs is None or (isinstance(rungs, (list, tuple)) and not rungs):
        return default_rungs(steps, eta)
    if not isinstance(rungs, (list, tuple)):
        raise ConfigError(f"rungs= are a list of steps from 1 to the trials' {steps}; got {show(rungs)}")
    bad = [r for r in rungs if isinstance(r, bool) or not isinstance(r, int) or not 1 <= r <= steps]
    if bad:
        raise ConfigError(f"rungs= are steps from 1 to the trials' {steps}; got {show(bad[0])}")
    return tuple(sorted({*rungs, steps}))


def in_window(rates: Sequence[float], center: float | None, window: float | None) -> list[float]:
    """The rates within ×``window`` of ``center`` (all of them without a center or window)."""
    if center is None or window is None:
        return list(rates)
    lo, hi = center / window * (1 - 1e-9), center * window * (1 + 1e-9)
    return [r for r in rates if lo <= r <= hi]


# --------------------------------------------------------------------------- decisions


def worst(metric: Metric) -> float:
    """What a missing value (no result, or none at a rung) counts as: 0 for accuracy (as it
    always did), an infinite loss for a metric that is a loss: it ranks last."""
    return 0.0 if metric.higher_is_better else math.inf


def mean_metric(values: Sequence[float | None], metric: Metric) -> float:
    """The mean of the seeds' validation values, each missing one (None, NaN) counted as
    :func:`worst`."""
    vals = [worst(metric) if v is None or math.isnan(v) else v for v in values]
    return sum(vals) / len(vals)


def ranked(scores: Mapping[float, float], metric: Metric) -> list[float]:
    """The rates of ``scores`` (rate -> mean validation value), best first in the metric's
    direction (the highest accuracy, the lowest loss); of equal scores, the smaller rate."""
    return sorted(scores, key=lambda r: (-metric.key(scores[r]), r))


def promoted(scores: Mapping[float, float], eta: int, metric: Metric) -> list[float]:
    """The rates that go on from a rung: the best ⌈n/η⌉ of ``scores``, ascending."""
    quota = max(1, math.ceil(len(scores) / eta))
    return sorted(ranked(scores, metric)[:quota])


def metric_words(metric: Metric) -> str:
    """How the search's messages name what it ranks by: ``validation accuracy``, or
    ``validation bits per character (lower is better)``."""
    if metric.name == "accuracy":
        return "validation accuracy"
    return f"validation {metric.title} ({metric.direction})"


# --------------------------------------------------------------------------- costs


def planned_counts(n: int, rungs: Sequence[int], eta: int) -> list[int]:
    """Candidates at each rung when ``n`` start: n, ⌈n/η⌉, ⌈n/η²⌉, ..."""
    out = [n]
    for _ in rungs[1:]:
        out.append(max(1, math.ceil(out[-1] / eta)))
    return out


def row_search_flops(row: Row, n: int, rungs: Sequence[int], eta: int) -> float:
    """FLOPs of the search of ``row`` starting from ``n`` candidates (no early divergence)."""
    seeds = len(row.trials[row.rates[0]])
    total, prev = 0.0, 0
    for count, rung in zip(planned_counts(n, rungs, eta), rungs):
        final = rung == rungs[-1]
        total += count * seeds * flops_between(row.proto, prev, rung, final)
        prev = rung
    return total


# --------------------------------------------------------------------------- the plan


def _is_count(v: object, low: int = 1) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and low <= v


@dataclass(frozen=True)
class RowPlan:
    row: Row
    candidates: int  # at the first rung (expected: the window around the middle rate)
    counts: list[int]
    flops: float
    grid_flops: float
    grid_seconds: float  # the full grid's plan for this row
    serial_seconds: float = 0.0  # the same units one after another (each with its threads)

    @property
    def seconds(self) -> float:
        """The search's time: its share of the row's FLOPs, its segments one after another (a
        rung is a few short segments, run in this process with a worker's threads)."""
        return self.serial_seconds * self.flops / self.grid_flops if self.grid_flops else 0.0


@dataclass(frozen=True)
class SearchPlan:
    """What a search will do: its rows, rungs, expected cost against the full grid's."""

    request: SweepRequest
    grid: Plan  # the full grid, as ``run`` would plan it
    rows: list[RowPlan]
    rungs: tuple[int, ...]
    eta: int
    window: float | None
    flops_without_window: float
    checkpoint_need: int = 0
    checkpoint_free: int | None = None

    def __post_init__(self) -> None:
        """Raises ConfigError for fields of the wrong kind (a SearchPlan is made by
        :func:`plan_search`; one made by hand is checked alike)."""
        ok = (
            isinstance(self.request, SweepRequest)
            and isinstance(self.grid, Plan)
            and isinstance(self.rows, list)
            and all(isinstance(r, RowPlan) for r in self.rows)
            and isinstance(self.rungs, tuple)
            and self.rungs
            and all(_is_count(r) for r in self.rungs)
            and _is_count(self.eta)
            and (self.window is None or (is_finite_number(self.window) and self.window > 1))
            and is_finite_number(self.flops_without_window)
            and _is_count(self.checkpoint_need, 0)
            and (self.checkpoint_free is None or _is_count(self.checkpoint_free, 0))
        )
        if not ok:
            raise ConfigError(
                f"a SearchPlan is made by plan_search(request, ...); these fields are not one's: {show(self)}"
            )

    @property
    def flops(self) -> float:
        return sum(r.flops for r in self.rows)

    @property
    def grid_flops(self) -> float:
        return sum(r.grid_flops for r in self.rows)

    @property
    def seconds(self) -> float:
        return sum(r.seconds for r in self.rows)

    @property
    def grid_seconds(self) -> float:
        return sum(r.grid_seconds for r in self.rows)

    def render(self) -> str:
        rungs = ", ".join(str(r) for r in self.rungs)
        window = f"×{self.window:g} of the narrower width's best" if self.window else "off"
        metrics = dict.fromkeys(metric_words(metric_of(rp.row.proto)) for rp in self.rows)
        decided = " / ".join(metrics) or "validation accuracy"
        out = [
            f"search on {self.grid.cost.device}: successive halving, η = {self.eta}, rungs at "
            f"{rungs} steps, decided by {decided}; window {window}"
        ]
        header = ["row", "rates", "seeds", *[f"@{r}" for r in self.rungs], "GFLOP", "of grid", "time"]
        table = [header]
        for rp in self.rows:
            seeds = len(rp.row.trials[rp.row.rates[0]])
            table.append(
                [
                    rp.row.label(),
                    f"{rp.candidates}/{len(rp.row.rates)}",
                    str(seeds),
                    *[str(c) for c in rp.counts],
                    f"{rp.flops / 1e9:,.0f}",
                    f"{rp.flops / rp.grid_flops:.0%}" if rp.grid_flops else "-",
                    human_seconds(rp.seconds),
                ]
            )
        widths = [max(len(r[i]) for r in table) for i in range(len(header))]
        out += ["  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in table]
        share = self.flops / self.grid_flops if self.grid_flops else 0.0
        out.append(
            f"total: {self.flops / 1e15:.3g} PFLOP, ETA {human_seconds(self.seconds)} — "
            f"{share:.0%} of the full grid's {self.grid_flops / 1e15:.3g} PFLOP, ETA "
            f"{human_seconds(self.grid_seconds)}"
        )
        if self.window:
            saved = 1 - self.flops / self.flops_without_window if self.flops_without_window else 0
            out.append(
                f"the neighbour window saves {saved:.0%} (without it: "
                f"{self.flops_without_window / 1e15:.3g} PFLOP)"
            )
        out.append(
            "(expected: the window's place, early divergence and ties move it a little; "
            "rows already in the store cost less)"
        )
        line = checkpoint_line(self.request, self.checkpoint_need, self.checkpoint_free)
        if line:
            out.append(line)
        return "\n".join(out)

    def check(self, force: bool = False) -> None:
        """Refuse, unless ``force``: a width that does not fit in memory, or checkpoints that
        do not fit on the disk (the search always checkpoints at its rungs)."""
        self.grid.check(force)
        if not force:
            check_disk(self.request, self.checkpoint_need, self.checkpoint_free)


def plan_search(
    request: SweepRequest,
    *,
    eta: int = DEFAULT_ETA,
    rungs: Sequence[int] | None = None,
    window: float | None = DEFAULT_WINDOW,
    refresh: bool = False,
) -> SearchPlan:
    """Plan a search of ``request``'s grid: rows, rungs, its expected FLOPs and time against the
    full grid's plan.

    Raises:
        ConfigError: ``eta`` not an integer from 2 to 10, ``rungs`` not a list of steps within
            the trials' steps, ``window`` not a finite number above 1 (or None), a grid with
            several step counts or with fewer than two rates, or checkpoints turned off (a
            search continues its trials from them).
        StoreError: as for :func:`plan_sweep`.
    """
    if not isinstance(request, SweepRequest):
        raise ConfigError(f"request must be a SweepRequest; got {type(request).__name__}")
    if isinstance(eta, bool) or not isinstance(eta, int) or not 2 <= eta <= 10:
        raise ConfigError(
            f"eta= (the fraction a rung keeps is 1/eta) must be an integer from 2 to 10; got {eta!r:.20}"
        )
    if window is not None:
        try:
            factor = (
                float(window)
                if isinstance(window, (int, float)) and not isinstance(window, bool)
                else math.nan
            )
        except OverflowError:  # an integer beyond float's range
            factor = math.inf
        if not 1 < factor < math.inf:
            raise ConfigError(
                f"window= must be a finite factor above 1 (10 = a decade either "
                f"side), or off; got {show(window)}"
            )
        window = factor
    if request.checkpoint_every is None:
        raise ConfigError("a search continues its trials from their checkpoints: drop checkpoint_every=off")
    grid = request.grid
    if len(grid.steps) != 1:
        raise ConfigError("search takes one Grid(steps=...) value (the rungs are fractions of it)")
    if len(grid.lr) < 2:
        raise ConfigError(
            "search needs at least two learning rates to choose from (Grid(lr=...), e.g. 1e-5:1:6 or 2^-16:1)"
        )
    steps = grid.steps[0]
    rungs = check_rungs(rungs, steps, eta)
    grid_plan = plan_sweep(replace(request, retry=frozenset()), refresh=refresh)
    trials = grid_plan.trials
    rows = search_rows(trials)
    # the full grid's cost per row (every trial, stored or not: what the search is measured by)
    units = make_units(trials, request.engine, request.device)
    calibrations = calibrations_for(units, request.device, workers=request.workers)
    full = plan_units(units, request.device, calibrations, request.workers)
    seconds: dict[int, float] = {}
    serial: dict[int, float] = {}
    for u in full.units:
        c = u.unit.configs[0]
        row_key = next(r for r in rows if r.hidden == c.hidden and c in r.trials.get(c.lr, ()))
        seconds[id(row_key)] = seconds.get(id(row_key), 0.0) + u.seconds / u.workers
        serial[id(row_key)] = serial.get(id(row_key), 0.0) + u.seconds
    row_plans, without = [], 0.0
    for i, row in enumerate(rows):
        first = i == 0 or not row.same_line(rows[i - 1])
        middle = row.rates[len(row.rates) // 2]
        n = len(row.rates) if first else len(in_window(row.rates, middle, window))
        flops = row_search_flops(row, n, rungs, eta)
        without += row_search_flops(row, len(row.rates), rungs, eta)
        grid_flops = sum(trial_flops(c) for ts in row.trials.values() for c in ts)
        row_plans.append(
            RowPlan(
                row,
                n,
                planned_counts(n, rungs, eta),
                flops,
                grid_flops,
                seconds.get(id(row), 0.0),
                serial.get(id(row), 0.0),
            )
        )
    kept = [c for ts in (r.trials.values() for r in rows) for t in ts for c in t]
    need, free = checkpoint_disk(request, units, kept)
    return SearchPlan(request, grid_plan, row_plans, rungs, eta, window, without, need, free)


# --------------------------------------------------------------------------- running it


@dataclass
class RowResult:
    """What the search found for one row."""

    row: Row
    best: float | None  # the rate with the best mean validation metric among finished ones
    best_val: float | None
    candidates: list[float] = field(default_factory=list)  # rates trained at the first rung
    reached: dict = field(default_factory=dict)  # rate -> the steps its seeds reached

    def __post_init__(self) -> None:
        """Raises ConfigError for fields of the wrong kind (made by :func:`run_search`)."""
        ok = (
            isinstance(self.row, Row)
            and (self.best is None or is_finite_number(self.best))
            and (self.best_val is None or is_finite_number(self.best_val))
            and isinstance(self.candidates, list)
            and all(is_finite_number(c) for c in self.candidates)
            and isinstance(self.reached, dict)
            and all(_is_count(n, 0) for n in self.reached.values())
        )
        if not ok:
            raise ConfigError(f"a RowResult is made by run_search; got {show(self)}")


@dataclass(frozen=True)
class SearchSummary:
    rows: list[RowResult]
    flops: float  # trained by this search now
    grid_flops: float
    planned_grid_s: float
    wall_s: float
    trained: int  # trial segments trained (a trial continued at two rungs counts twice)
    statuses: dict[str, int]  # the grid's trials in the store afterwards, by status

    def __post_init__(self) -> None:
        """Raises ConfigError for fields of the wrong kind (made by :func:`run_search`)."""
        ok = (
            isinstance(self.rows, list)
            and all(isinstance(r, RowResult) for r in self.rows)
            and all(
                is_finite_number(getattr(self, n))
                for n in ("flops", "grid_flops", "planned_grid_s", "wall_s")
            )
            and _is_count(self.trained, 0)
            and isinstance(self.statuses, dict)
            and all(isinstance(k, str) and _is_count(v, 0) for k, v in self.statuses.items())
        )
        if not ok:
            raise ConfigError(
                f"a SearchSummary is made by run_search(plan); these fields are not one's: {show(self)}"
            )


@dataclass
class SearchCallbacks:
    """Progress hooks: those of a sweep, for every rung, plus a row's start and end."""

    sweep: SweepCallbacks | None = None
    on_rung: Callable[[Row, int, int], None] | None = None  # (row, rung step, trials to train)
    on_row: Callable[[RowResult], None] | None = None

    def __post_init__(self) -> None:
        """Raises ConfigError for a hook that is neither callable nor None (before any work)."""
        if self.sweep is not None and not isinstance(self.sweep, SweepCallbacks):
            raise ConfigError(
                f"SearchCallbacks' sweep must be a SweepCallbacks or None; got {show(self.sweep)}"
            )
        for name in ("on_rung", "on_row"):
            if getattr(self, name) is not None and not callable(getattr(self, name)):
                raise ConfigError(
                    f"SearchCallbacks' {name} must be a function or None; got {show(getattr(self, name))}"
                )


class _State:
    """The row's trials as stored: status and steps reached, validation metric."""

    def __init__(self, request: SweepRequest, row: Row):
        keys = {c.key(): c for ts in row.trials.values() for c in ts}
        self.metric = metric_of(row.proto)
        self.results: dict[str, TrialResult] = {}
        self.rungs: dict[tuple[str, int], float | None] = {}
        path = request.store
        if path.exists() and path.stat().st_size:
            with Store(path, readonly=True) as store:
                for r in store.results():
                    if r.key in keys:
                        self.results[r.key] = r
                self.rungs = {k: v for k, v in store.rungs().items() if k[0] in keys}
        self.retry = request.retry - {Status.PRUNED}

    def final(self, c: TrialConfig) -> bool:
        r = self.results.get(c.key())
        return r is not None and r.status in FINAL and r.status not in self.retry

    def reached(self, c: TrialConfig) -> int:
        r = self.results.get(c.key())
        if r is None or r.status in self.retry:
            return 0
        return r.steps_done

    def score(self, configs: Sequence[TrialConfig], rung: int | None = None) -> float:
        """Mean validation metric over seeds at ``rung`` (as recorded when the search stopped
        them there; a trial that went on since, or ended, counts with its stored one; without
        one, :func:`worst`): what the search ranked by, so that a search started again ranks
        alike."""
        vals: list[float | None] = []
        for c in configs:
            key = c.key()
            if rung is not None and (key, rung) in self.rungs:
                vals.append(self.rungs[(key, rung)])
            elif key in self.results:
                vals.append(self.results[key].val_accuracy)
            else:
                vals.append(None)
        return mean_metric(vals, self.metric)

    def scores(self, row: Row, rates: Sequence[float], rung: int | None = None) -> dict[float, float]:
        """{rate: :meth:`score` of its seeds} of ``rates``."""
        return {r: self.score(row.trials[r], rung) for r in rates}


def run_search(plan: SearchPlan, callbacks: SearchCallbacks | None = None) -> SearchSummary:
    """Run a planned search, row by row (see the module docstring); every trial is committed
    to the store as it ends or stops at a rung.

    Raises:
        ConfigError: ``plan`` not a SearchPlan, or the request has no dataset.
        StoreError: as for :func:`execute`.
    """
    refuse_in_worker_start()
    if not isinstance(plan, SearchPlan):
        raise ConfigError(f"plan must be a SearchPlan (plan_search(...)); got {type(plan).__name__}")
    if callbacks is not None and not isinstance(callbacks, SearchCallbacks):
        raise ConfigError(f"callbacks must be a SearchCallbacks or None; got {type(callbacks).__name__}")
    request = plan.request
    if request.data is None:
        raise LstmSweepError("the search request has no dataset: request.with_data(data)")
    callbacks = callbacks or SearchCallbacks()
    t0 = time.perf_counter()
    out: list[RowResult] = []
    totals: dict[str, Any] = {"flops": 0.0, "trained": 0}
    statuses: dict[str, int] = {}
    for i, rp in enumerate(plan.rows):
        row = rp.row
        prev = out[-1] if out and row.same_line(plan.rows[i - 1].row) else None
        center = prev.best if prev is not None else None
        result = _search_row(plan, row, center, callbacks, totals, statuses)
        out.append(result)
        if callbacks.on_row:
            callbacks.on_row(result)
    final: dict[str, int] = {}  # what the store now says of the grid's trials
    keys = {c.key() for c in plan.grid.trials}
    with Store(request.store, readonly=True) as store:
        for key, status in store.statuses().items():
            if key in keys:
                final[str(status)] = final.get(str(status), 0) + 1
    return SearchSummary(
        out,
        totals["flops"],
        plan.grid_flops,
        plan.grid_seconds,
        time.perf_counter() - t0,
        totals["trained"],
        final,
    )


def _search_row(
    plan: SearchPlan, row: Row, center: float | None, callbacks: SearchCallbacks, totals: dict, statuses: dict
) -> RowResult:
    request, rungs, eta = plan.request, plan.rungs, plan.eta
    state = _State(request, row)
    alive = in_window(row.rates, center, plan.window)
    tried = list(alive)
    for k, rung in enumerate(rungs):
        state = _advance(plan, row, alive, rung, state, callbacks, totals, statuses)
        if k == 0 and plan.window and center is not None:
            # the zone moved beyond the window: widen it on the side where the best lies
            while True:
                best = ranked(state.scores(row, alive, rung), state.metric)[0]
                i = row.rates.index(best)
                edge = None
                if best == min(alive) and i > 0:
                    edge = row.rates[i - 1]
                elif best == max(alive) and i + 1 < len(row.rates):
                    edge = row.rates[i + 1]
                if edge is None or edge in alive:
                    break
                log.info("%s: best at the window's edge (%g); trying %g", row.label(), best, edge)
                alive = sorted({*alive, edge})
                tried.append(edge)
                state = _advance(plan, row, [edge], rung, state, callbacks, totals, statuses)
        if k == len(rungs) - 1:
            break
        alive = _promote(row, alive, rung, state, eta)
    finished = [r for r in row.rates if all(state.final(c) for c in row.trials[r])]
    trained = [
        r
        for r in finished  # a rate that only failed or ran out of memory is no best
        if any(state.results[c.key()].status is Status.DONE for c in row.trials[r])
    ]
    winner = ranked(state.scores(row, trained), state.metric)[0] if trained else None
    reached = {r: max(state.reached(c) for c in row.trials[r]) for r in tried}
    value = state.score(row.trials[winner]) if winner is not None else None
    best_val = value if value is not None and math.isfinite(value) else None
    return RowResult(row, winner, best_val, sorted(tried), reached)


def _promote(row: Row, alive: list[float], rung: int, state: _State, eta: int) -> list[float]:
    """The rates that go on from ``rung``: the best ⌈len(alive)/η⌉ by mean validation metric
    there (:func:`promoted`). A rate whose seeds are all final (diverged early, or finished by
    an earlier run) keeps its place in the ranking; it has nothing to continue."""
    return promoted(state.scores(row, alive, rung), eta, state.metric)


def _advance(
    plan: SearchPlan,
    row: Row,
    rates: Sequence[float],
    rung: int,
    state: _State,
    callbacks: SearchCallbacks,
    totals: dict,
    statuses: dict,
) -> _State:
    """Train the seeds of ``rates`` that are not final and not yet at ``rung`` up to it."""
    request = plan.request
    need = [c for r in rates for c in row.trials[r] if not state.final(c) and state.reached(c) < rung]
    if not need:
        return state
    if callbacks.on_rung:
        callbacks.on_rung(row, rung, len(need))
    final = rung == row.proto.steps
    for c in need:
        totals["flops"] += flops_between(c, state.reached(c), rung, final, request.val_every)
    totals["trained"] += len(need)
    label = f"search: {row.label()}, to step {rung}"
    summary = train_segment(request, need, None if final else rung, callbacks.sweep, label)
    for s, n in summary.statuses.items():
        statuses[s] = statuses.get(s, 0) + n
    return _State(request, row)


def train_segment(
    request: SweepRequest,
    need: Sequence[TrialConfig],
    until: int | None,
    callbacks: SweepCallbacks | None = None,
    label: str = "",
) -> SweepSummary:
    """Train ``need`` (a few of the grid's trials, none final in the store) up to step
    ``until`` (None: to their end, measured and stored as ``run`` stores them), each from its
    checkpoint where it has one (a pruned trial goes on from where it stopped). A short segment
    runs in this process with a worker's threads (worker processes take seconds to start)."""
    units = [
        replace(u, until=until)
        for u in make_units(need, request.engine, request.device, val_every=request.val_every)
    ]
    calibrations = calibrations_for(units, request.device, workers=request.workers)
    cost = plan_units(units, request.device, calibrations, request.workers)
    rung_request = replace(request, retry=request.retry | {Status.PRUNED})
    threads = None
    if request.workers is None and request.executor.name == "local":
        # a rung is often a few short segments: starting worker processes (each loads torch
        # and the data, seconds) would cost more than they save; this process runs them, with
        # every core, unless the rung is long
        alone = plan_units(units, request.device, calibrations, 1)
        n = max(workers_for(u, request.device, None) for u in units)
        if alone.seconds * n < RUNG_IN_PROCESS_S:
            rung_request = replace(rung_request, workers=1, executor=make_executor("local", workers=1))
            cost = alone
            # with the threads a worker would have, so that the numbers are run's own
            threads = max(1, cpu_cores() // n) if request.device.type == "cpu" else None
    saved = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        return execute(Plan(rung_request, list(need), list(need), units, cost, label=label), callbacks)
    finally:
        torch.set_num_threads(saved)


def render_search_summary(plan: SearchPlan, summary: SearchSummary) -> str:
    """Each row's best rate as the search found it, and its cost against the full grid's.

    Raises:
        ConfigError: ``plan`` not a SearchPlan or ``summary`` not a SearchSummary.
    """
    if not isinstance(plan, SearchPlan) or not isinstance(summary, SearchSummary):
        raise ConfigError(
            f"render_search_summary takes a SearchPlan and a SearchSummary; got "
            f"{type(plan).__name__} and {type(summary).__name__}"
        )
    out = []
    for r in summary.rows:
        if r.best is None:
            out.append(f"{r.row.label()}: no rate finished")
            continue
        tried = ", ".join(f"{lr:g}@{r.reached.get(lr, 0)}" for lr in r.candidates)
        metric = metric_of(r.row.proto)
        said = "validation" if metric.name == "accuracy" else f"validation {metric.short}"
        value = "—" if r.best_val is None else f"{r.best_val:.4f}"
        out.append(f"{r.row.label()}: best rate {r.best:g} ({said} {value}); tried {tried}")
    share = summary.flops / summary.grid_flops if summary.grid_flops else 0.0
    untried = len(plan.grid.trials) - sum(summary.statuses.values())
    counted = ", ".join(f"{n} {s}" for s, n in sorted(summary.statuses.items()))
    counted += f", {untried} never tried" if untried else ""
    out.append(
        f"search: {summary.flops / 1e15:.3g} PFLOP trained now ({share:.0%} of the full "
        f"grid's {summary.grid_flops / 1e15:.3g}), {human_seconds(summary.wall_s)} "
        f"(the full grid's plan: {human_seconds(summary.planned_grid_s)}); "
        f"the grid's trials now: {counted}"
    )
    return "\n".join(out)


__all__ = [
    "DEFAULT_ETA",
    "DEFAULT_WINDOW",
    "Row",
    "RowResult",
    "SearchCallbacks",
    "SearchPlan",
    "SearchSummary",
    "default_rungs",
    "human_bytes",
    "plan_search",
    "render_search_summary",
    "run_search",
    "search_rows",
    "train_segment",
]
