"""Judging and showing a coordinate check (``lstm-sweep coord-check``): one verdict per
parametrization, a table, the log-log figure.

The verdict fits, per quantity, step and measure (its size, its change since init), a line to
log(size) against log(width) over the widest widths (from ``widest / span`` up) and reads the
growth the line predicts across them: flat when every growth at steps 1..S lies within
``[1/tolerance, tolerance]`` (microsoft/mup's own test asks 1.2 between two widths 4x apart). A
fit over several widths is steadier than one ratio of two noisy points; with two widths it is
that ratio. Step 0 (the init) is not judged: μP does not promise an init-time logit of one size.
Nor is the logits' *size*: it is mostly the head's bias, the seed's N(0, 1) draw, ten numbers
per model that differ between widths by chance (about ±20 % over three seeds, measured); the
logits' *change* is judged, and it is what a missing 1/m readout multiplier blows up.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import TypeGuard

from ..errors import ConfigError
from ..study import MAX_HIDDEN, MAX_STEPS, PARAMS, QUANTITY_NAMES, QUANTITY_TITLES, CoordPoint, show

DEFAULT_TOLERANCE = 1.2
DEFAULT_SPAN = 8  # judge the widths from widest / 8 up (256 to 2048 at the defaults)
MEASURES = ("value", "change")
NOT_JUDGED = {("logits", "value")}  # see the module docstring


@dataclass(frozen=True)
class Verdict:
    """The coordinate check's word on one parametrization: ``flat``, and the worst growth
    (``quantity``'s ``measure`` at ``step``, ``growth`` times from ``narrow`` to ``widest``),
    over steps 1..``steps`` (the last step measured at every width judged).
    ``diverged_at``: the width whose measurement there is not finite (NaN or infinite: its
    models diverged), then ``growth`` is infinite and the verdict not flat; None otherwise."""

    param: str
    flat: bool
    quantity: str
    measure: str
    step: int
    growth: float
    narrow: int
    widest: int
    steps: int
    tolerance: float
    diverged_at: int | None = None

    def __post_init__(self) -> None:
        """Raises ConfigError for fields of the wrong kind (a Verdict is made by
        :func:`verdicts`; one made by hand is checked alike)."""
        growth, tolerance = _as_float(self.growth), _as_float(self.tolerance)
        ok = (
            isinstance(self.param, str)
            and isinstance(self.flat, bool)
            and isinstance(self.quantity, str)
            and self.quantity in QUANTITY_TITLES
            and isinstance(self.measure, str)
            and self.measure in MEASURES
            and all(_is_count(getattr(self, n)) for n in ("step", "narrow", "widest", "steps"))
            and growth is not None
            and growth > 0
            and tolerance is not None
            and 1 < tolerance < math.inf
            and (self.diverged_at is None or _is_count(self.diverged_at))
        )
        if ok:
            object.__setattr__(self, "growth", growth)
            object.__setattr__(self, "tolerance", tolerance)
        else:
            raise ConfigError(
                f"a Verdict holds a parametrization, flat, a quantity, a measure "
                f"({', '.join(MEASURES)}), counts, a growth and a tolerance above "
                f"1; got {show(self)}"
            )

    @property
    def text(self) -> str:
        what = QUANTITY_TITLES.get(self.quantity, self.quantity)
        noun = "change" if self.measure == "change" else "size"
        if self.diverged_at is not None:
            return (
                f"{self.param}: not flat — the {noun} of the {what} is not finite at width "
                f"{self.diverged_at} (step {self.step}): its models diverged; give a "
                "smaller --lr"
            )
        if self.flat:
            within = max(self.growth, 1 / self.growth)
            return (
                f"{self.param}: flat — every quantity within ×{within:.2f} from "
                f"{self.narrow} to {self.widest} over steps 1-{self.steps}"
            )
        how = "grows" if self.growth > 1 else "shrinks"
        times = self.growth if self.growth > 1 else 1 / self.growth
        return (
            f"{self.param}: not flat — the {noun} of the {what} {how} ×{times:.1f} from "
            f"{self.narrow} to {self.widest} (step {self.step}; flat means within "
            f"×{self.tolerance:g})"
        )


def _is_real(v: object) -> TypeGuard[int | float]:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _as_float(v: object) -> float | None:
    """``v`` as a float (an integer beyond float's range: infinity), None if not a number."""
    if not _is_real(v):
        return None
    try:
        return float(v)
    except OverflowError:
        return math.inf if v > 0 else -math.inf


def _is_count(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= MAX_STEPS


def _check_points(points: object) -> list[CoordPoint]:
    if (
        not isinstance(points, (list, tuple))
        or not points
        or not all(isinstance(p, CoordPoint) for p in points)
    ):
        raise ConfigError(
            f"coordinate-check points must be a non-empty list of CoordPoint, got {show(points)}"
        )
    return list(points)


def _growth(widths: list[int], sizes: list[float], narrow: int, widest: int) -> float:
    """The growth from ``narrow`` to ``widest`` of the least-squares line log(size) ~ log(width);
    1 where every size is 0 (an all-zero quantity does not grow); NaN where a size is not
    finite."""
    if not all(math.isfinite(s) for s in sizes):
        return math.nan
    if all(s == 0 for s in sizes):
        return 1.0
    floor = max(sizes) * 1e-12 or 1e-300
    xs = [math.log(w) for w in widths]
    ys = [math.log(max(s, floor)) for s in sizes]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
    return math.exp(slope * math.log(widest / narrow))


def verdicts(
    points: Sequence[CoordPoint],
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    span: int = DEFAULT_SPAN,
    steps: int | None = None,
) -> list[Verdict]:
    """One :class:`Verdict` per parametrization in ``points`` (sp, mup, mup-opt), judging steps
    1..``steps`` (all measured steps if None). A measurement that is not finite (the models
    diverged) makes its parametrization's verdict not flat, naming the width.

    Raises:
        ConfigError: ``points`` not a non-empty list of CoordPoint, fewer than two widths or no
            step after init, ``tolerance`` not a finite number above 1, ``span`` not a whole
            number from 2 to 2^20, ``steps`` not a whole number from 1 to the last step measured.
    """
    points = _check_points(points)
    try:
        tol = float(tolerance) if _is_real(tolerance) else math.nan
    except OverflowError:
        tol = math.inf
    if not 1 < tol < math.inf:
        raise ConfigError(f"tolerance must be a finite number above 1, got {show(tolerance)}")
    if isinstance(span, bool) or not isinstance(span, int) or not 2 <= span <= MAX_HIDDEN:
        raise ConfigError(f"span must be a whole number from 2 to {MAX_HIDDEN:,}, got {show(span)}")
    if steps is not None and not _is_count(steps):
        raise ConfigError(f"steps must be a whole number of steps (at least 1) or None, got {show(steps)}")
    out = []
    order = {p: i for i, p in enumerate(PARAMS)}
    for param in sorted({p.param for p in points}, key=lambda p: (order.get(p, 99), p)):
        mine = [p for p in points if p.param == param]
        widths = sorted({p.width for p in mine})
        measured = max(p.step for p in mine)
        if steps is not None and steps > measured:
            raise ConfigError(
                f"{param}: steps 1..{steps} asked, but only steps up to {measured} were measured"
            )
        last = measured if steps is None else steps
        if len(widths) < 2 or last < 1:
            raise ConfigError(f"{param}: a verdict needs two widths and a step after init")
        widest = widths[-1]
        narrow = min(w for w in widths if w * span >= widest)
        if narrow == widest:
            narrow = widths[-2]
        judged = [w for w in widths if w >= narrow]
        size = {(p.quantity, p.step, p.width): p for p in mine}
        worst = None
        diverged = None
        reached = 0  # the last step judged at every width (what the verdict speaks for)
        for q in [q for q in QUANTITY_NAMES if any(p.quantity == q for p in mine)]:
            for step in range(1, last + 1):
                for measure in MEASURES:
                    if (q, measure) in NOT_JUDGED:
                        continue
                    got = [size.get((q, step, w)) for w in judged]
                    if any(g is None for g in got):
                        continue
                    sizes = [getattr(p, measure) for p in got]
                    bad = [w for w, v in zip(judged, sizes) if not math.isfinite(v)]
                    if bad and diverged is None:
                        diverged = (bad[0], q, measure, step)
                    if bad:
                        continue
                    g = _growth(judged, sizes, narrow, widest)
                    reached = max(reached, step)
                    if worst is None or abs(math.log(g)) > abs(math.log(worst[0])):
                        worst = (g, q, measure, step)
        if diverged is not None:
            width, q, measure, step = diverged
            out.append(
                Verdict(
                    param, False, q, measure, step, math.inf, narrow, widest, last, tol, diverged_at=width
                )
            )
            continue
        if worst is None:
            raise ConfigError(f"{param}: no step 1..{last} was measured at every width")
        g, q, measure, step = worst
        out.append(
            Verdict(
                param,
                abs(math.log(g)) <= math.log(tol) + 1e-12,
                q,
                measure,
                step,
                g,
                narrow,
                widest,
                reached,
                tol,
            )
        )
    return out


def render_coord_table(points: Sequence[CoordPoint]) -> str:
    """Per parametrization: each quantity's size and change (Δ) at the last step, per width,
    and its growth across the widths judged (the verdict's fit); ``-`` where a width has no
    measurement there.

    Raises:
        ConfigError: as :func:`verdicts` does.
    """
    points = _check_points(points)
    judgments = verdicts(points)
    lines = []
    for v in judgments:
        mine = [p for p in points if p.param == v.param]
        widths = sorted({p.width for p in mine})
        last = max(p.step for p in mine)
        at = {(p.quantity, p.width): p for p in mine if p.step == last}
        judged = [w for w in widths if w >= v.narrow]
        lines.append(f"{v.param}: mean |·| at step {last} (Δ = change since init)")
        head = f"{'quantity':<28}" + "".join(f"{w:>10}" for w in widths) + f"{f'×{v.narrow}→{v.widest}':>13}"
        lines.append(head)
        for q in [q for q in QUANTITY_NAMES if any((q, w) in at for w in widths)]:
            for measure, label in (("value", QUANTITY_TITLES[q]), ("change", "Δ " + q)):
                sizes = [
                    f"{getattr(at[(q, w)], measure):>10.3g}" if (q, w) in at else f"{'-':>10}" for w in widths
                ]
                growth = f"{'-':>13}"
                if all((q, w) in at for w in judged):
                    g = _growth(judged, [getattr(at[(q, w)], measure) for w in judged], v.narrow, v.widest)
                    growth = f"{g:>13.2f}"
                lines.append(f"{label:<28}" + "".join(sizes) + growth)
        lines.append("")
    return "\n".join(lines + [v.text for v in judgments])


def render_coord_csv(points: Sequence[CoordPoint]) -> str:
    """Every measurement, one row each: param, width, step, quantity, value, change."""
    points = _check_points(points)
    rows = ["param,width,step,quantity,value,change"]
    rows += [f"{p.param},{p.width},{p.step},{p.quantity},{p.value!r},{p.change!r}" for p in points]
    return "\n".join(rows)


MAX_PANELS = 6  # steps drawn in a figure (a column each): more would take minutes, unreadable


def panel_steps(steps: Sequence[int], most: int = MAX_PANELS) -> list[int]:
    """The steps a figure draws: all of them up to ``most``, else ``most`` spread evenly on a
    log scale from the first to the last (where sizes change fastest, early, more are drawn)."""
    steps = sorted(set(steps))
    if len(steps) <= most:
        return steps
    lo, hi = steps[0], steps[-1]
    targets = [lo * (hi / lo) ** (i / (most - 1)) for i in range(most)]
    picks = {min(steps, key=partial(_log_distance, t)) for t in targets}
    return sorted(picks)


def plot_coord_check(points: Sequence[CoordPoint], param: str, title: str = ""):
    """The log-log figure of one parametrization: one panel per step after init (columns; at
    most :data:`MAX_PANELS`, see :func:`panel_steps`), the quantities' sizes (top) and changes
    since init (bottom) against width, one line each (a size that is not finite is left out).

    Raises:
        ConfigError: ``points`` not a non-empty list of CoordPoint, ``param`` not the name of
            a parametrization in them, ``title`` not text, or no step after init.
    """
    points = _check_points(points)
    if not isinstance(param, str):
        raise ConfigError(f"param must be a parametrization's name, got {show(param)}")
    if not isinstance(title, str):
        raise ConfigError(f"title must be text, got {show(title)}")
    points = [p for p in points if p.param == param]
    if not points:
        raise ConfigError(f"no coordinate-check points for {show(param)}")
    steps = panel_steps([p.step for p in points if p.step > 0])
    if not steps:
        raise ConfigError(f"{param}: no step after init was measured")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    widths = sorted({p.width for p in points})
    quantities = [q for q in QUANTITY_NAMES if any(p.quantity == q for p in points)]
    fig, axes = plt.subplots(
        2, len(steps), figsize=(2.6 * len(steps) + 1.5, 5.6), squeeze=False, sharex=True, sharey="row"
    )
    at = {(p.quantity, p.step, p.width): p for p in points}
    for col, step in enumerate(steps):
        for row, measure in enumerate(MEASURES):
            ax = axes[row][col]
            for q in quantities:
                xs = [w for w in widths if (q, step, w) in at]
                ys = [getattr(at[(q, step, w)], measure) for w in xs]
                ys = [y if 0 < y < math.inf else float("nan") for y in ys]
                if any(y == y for y in ys):  # something to draw (not all NaN)
                    ax.plot(xs, ys, marker="o", ms=3, label=QUANTITY_TITLES[q])
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
            if row == 0:
                ax.set_title(f"step {step}")
            else:
                ax.set_xlabel("width")
            if col == 0:
                ax.set_ylabel("mean |·|" if measure == "value" else "mean |change since init|")
    if axes[0][-1].get_legend_handles_labels()[0]:
        axes[0][-1].legend(fontsize=7, loc="best")
    fig.suptitle(title or f"coordinate check: {param}")
    fig.tight_layout()
    return fig


def _log_distance(target: float, step: int) -> float:
    return abs(math.log(step / target))
