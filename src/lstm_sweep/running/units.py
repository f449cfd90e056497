"""Work units: which trials train together, and how many run side by side.

A *work unit* is what an executor runs at once: one trial (``single`` engine) or one fused group
(trials that share everything but learning rate and seed). :func:`make_units` asks the engine
registry (:mod:`lstm_sweep.training.engines`) which engine serves each trial.

Workers: on a CPU, trials of width <= :data:`CPU_PARALLEL_MAX_HIDDEN` run one per core, one thread
each (two one-thread trials side by side beat one two-thread trial at small widths); wider trials
run one at a time with every core.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..study import TrialConfig
from ..training import choose_engine

if TYPE_CHECKING:  # torch loads only when training starts
    import torch

CPU_PARALLEL_MAX_HIDDEN = 256


@dataclass(frozen=True)
class WorkUnit:
    """Trials trained together by one engine (a single trial, or a fused group)."""

    configs: tuple[TrialConfig, ...]
    engine: str
    until: int | None = None  # stop after this step (a search's rung); None: the trials' steps
    val_every: int | None = None  # the validation metric every this many steps; None: at the end

    @property
    def hidden(self) -> int:
        return self.configs[0].hidden

    def describe(self) -> str:
        c = self.configs[0]
        rung = f" to step {self.until}" if self.until else ""
        if len(self.configs) == 1:
            return c.describe() + rung
        return f"{c.model_prefix}hidden {c.hidden} x{len(self.configs)} (fused){rung}"


def cpu_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def make_units(
    trials: Sequence[TrialConfig],
    engine: str,
    device: torch.device,
    max_group: int = 64,
    val_every: int | None = None,
) -> list[WorkUnit]:
    """Split trials into work units, in grid order; fused groups hold at most ``max_group``;
    each measures the validation metric every ``val_every`` steps (None: at the end)."""
    slots: list[tuple[str, list[TrialConfig]]] = []  # (engine, members) in order of first trial
    fused_slot: dict[tuple, int] = {}
    for t in trials:
        chosen = choose_engine(t, engine, device.type)
        if chosen == "single":
            slots.append(("single", [t]))
            continue
        key = t.group_key()
        if key not in fused_slot:
            fused_slot[key] = len(slots)
            slots.append(("fused", []))
        slots[fused_slot[key]][1].append(t)
    return [
        WorkUnit(tuple(members[start : start + max_group]), chosen, val_every=val_every)
        for chosen, members in slots
        for start in range(0, len(members), max_group)
    ]


def workers_for(unit: WorkUnit, device: torch.device, workers: int | None) -> int:
    """How many such units run side by side: ``workers`` if given, else one per core for small
    CPU trials and one for everything else (a GPU runs one unit at a time)."""
    if workers is not None:
        return workers
    if device.type == "cpu" and unit.hidden <= CPU_PARALLEL_MAX_HIDDEN:
        return cpu_cores()
    return 1


def phases(
    units: Sequence[WorkUnit], device: torch.device, workers: int | None
) -> list[tuple[list[WorkUnit], int]]:
    """Consecutive units that run with the same number of side-by-side workers."""
    out: list[tuple[list[WorkUnit], int]] = []
    for unit in units:
        n = workers_for(unit, device, workers)
        if out and out[-1][1] == n:
            out[-1][0].append(unit)
        else:
            out.append(([unit], n))
    return out
