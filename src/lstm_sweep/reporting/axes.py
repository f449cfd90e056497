"""The axes results can be laid out on: a table's rows and columns, a plot's x and y, and the
facets (one table per value of every other axis that varies).

An axis reads one value from a trial's configuration (the ``optimizer`` axis reads the optimizer
with its settings, so that ``momentum`` and ``momentum (momentum=0.99)`` are two values), says
how a value is written, and orders values: numbers ascending, the seed's model first among cells
and optimizers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import cast

from ..errors import ConfigError
from ..study import OPTIMIZERS, TRIAL_AXES, TrialConfig
from . import checks
from .text import printable


@dataclass(frozen=True)
class Axis:
    """One axis: its name (as ``--rows``/``--cols`` take it), what it is called, the
    configuration fields it covers, and whether its values are numbers (ordered, log-spaced)."""

    name: str
    title: str  # as a plot's axis label: "hidden units"
    noun: str  # in sentences: "width"
    fields: tuple[str, ...]
    numeric: bool = False
    order: tuple[str, ...] = ()  # the known order of a categorical axis's values
    write: Callable[[object], str] = field(default=str, repr=False, compare=False)  # a value

    def value(self, config: TrialConfig) -> object:
        if self.name == "optimizer":
            return (config.optimizer, tuple(tuple(p) for p in config.opt))
        return getattr(config, self.fields[0])

    def value_of(self, protocol: dict) -> object:
        """The value in a table's protocol (a dict of configuration fields)."""
        if self.name == "optimizer":
            return (protocol["optimizer"], tuple(tuple(p) for p in protocol.get("opt", ())))
        return protocol[self.fields[0]]

    def label(self, value: object) -> str:
        """How a value is written: ``0.01``, ``GRU``, ``momentum (momentum=0.99)``; a stored
        name's control characters escaped (:func:`~lstm_sweep.reporting.text.printable`)."""
        if self.name == "optimizer":
            name, opt = cast("tuple[str, tuple]", value)
            return printable(name + (f" ({', '.join(f'{k}={v:g}' for k, v in opt)})" if opt else ""))
        return printable(self.write(value))

    def sort_key(self, value: object) -> tuple:
        if self.numeric:
            return (0, value, "")
        if self.name == "optimizer":
            name, opt = cast("tuple[str, tuple]", value)
            return (list(OPTIMIZERS).index(name) if name in OPTIMIZERS else len(OPTIMIZERS), str(opt), "")
        rank = self.order.index(value) if value in self.order else len(self.order)
        return (rank, 0, str(value))


# Built on the study's one declaration of the axes trials vary along (the seed, a replicate,
# is the statistic inside a cell, never an axis); the optimizer axis covers its settings too.
AXES: dict[str, Axis] = {
    a.name: Axis(
        a.name,
        a.title,
        a.noun,
        ("optimizer", "opt") if a.name == "optimizer" else (a.name,),
        numeric=a.numeric,
        order=a.order,
        write=a.label,
    )
    for a in TRIAL_AXES
    if not a.replicates
}
ROWS, COLS = "hidden", "lr"  # the seed's Table 1
# Fields that are never an axis: the seeds are the statistic inside a cell.
_NOT_FACETS = ("seed", "data_seed")


def check_axes(rows: str, cols: str) -> tuple[Axis, Axis]:
    """The two axes of a table.

    Raises:
        ConfigError: an unknown axis (or one that is not text), or the same one twice.
    """
    for name in (rows, cols):
        checks.choice("axis", name, AXES)
    if rows == cols:
        raise ConfigError(f"rows and columns are both {rows}: choose two different axes")
    return AXES[rows], AXES[cols]


def facet(config: TrialConfig, rows: str = ROWS, cols: str = COLS, over: str | None = None) -> dict:
    """The configuration fields a table of ``rows`` x ``cols`` holds fixed: every field but the
    two axes' (and the axis ``over`` which each cell takes the best value), and the seeds."""
    drop = set(AXES[rows].fields) | set(AXES[cols].fields) | set(_NOT_FACETS)
    if over is not None:
        drop |= set(AXES[over].fields)
    return {k: v for k, v in config.to_dict().items() if k not in drop}


def facet_key(protocol: dict) -> tuple:
    """A hashable identity of a table's protocol (a facet), to group trials and tables by."""
    return tuple(sorted((k, repr(v)) for k, v in protocol.items()))


def facet_order(protocol: dict) -> tuple:
    """Sort key of a table: the seed's model first, then axis by axis (cell, optimizer,
    dataset, ...), each value in its axis's order."""
    return tuple(a.sort_key(a.value_of(protocol)) for a in AXES.values() if a.fields[0] in protocol)


def _matches(axis: Axis, value: object, text: str) -> bool:
    if axis.numeric:
        try:
            return float(text) == float(cast(float, value))
        except (TypeError, ValueError, OverflowError):
            return False
    if axis.name == "optimizer" and text == cast(tuple, value)[0]:  # "momentum" matches any settings
        return True
    return text.lower() in (axis.label(value).lower(), str(value).lower())


def select(results: Sequence, where: Sequence[tuple[str, str]]) -> list:
    """The results whose every ``(axis, value)`` of ``where`` matches (``cell=gru``,
    ``lr=0.01``, ``optimizer=momentum``): what a report of a few tables of a large store shows.

    Raises:
        ConfigError: ``results`` is not a list of TrialResult, ``where`` not a list of
            (axis, value) pairs of text, an unknown axis, or a value no result has (naming the
            values there are).
    """
    out = checks.results(results)
    for name, text in checks.pairs("where", where):
        if name not in AXES:
            raise ConfigError(f"unknown axis {name!r:.40} in where=; choose one of: {', '.join(AXES)}")
        axis = AXES[name]
        kept = [r for r in out if _matches(axis, axis.value(r.config), text)]
        if not kept:
            have = sorted({axis.value(r.config) for r in out}, key=axis.sort_key)
            there = ", ".join(axis.label(v) for v in have)[:300]
            raise ConfigError(
                f"no trial has {name}={text!r:.60}"
                + (f"; its values in the store: {there}" if have else " (no trial is left)")
            )
        out = kept
    return out
