"""Planning a sweep: which trials train together, on how many workers, and what it will cost.

A *work unit* is what an executor runs at once: one trial (``single`` engine) or one fused group
(trials that share everything but learning rate and seed). :func:`make_units` chooses the engine
per width:

- ``single`` — ``nn.LSTM``'s fused kernel (oneDNN on CPU, cuDNN on GPU);
- ``fused`` — K models of one width as one batched model (:mod:`lstm_sweep.fused`);
- ``auto`` — the faster of the two as measured (``benchmarks/bench_engine.py``): on a CPU the
  oneDNN kernel beats our eager fusion at every width of the quick grid (and running one trial per
  core beats both), so CPU trials run ``single``; on a GPU, where a small trial is bound by kernel
  launches, widths up to :data:`GPU_FUSE_MAX_HIDDEN` are fused.

Workers: on a CPU, trials of width <= :data:`CPU_PARALLEL_MAX_HIDDEN` run one per core, one thread
each (two one-thread trials side by side beat one two-thread trial at small widths); wider trials
run one at a time with every core.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .config import TrialConfig
from .errors import ConfigError

if TYPE_CHECKING:  # torch loads only when training starts
    import torch

ENGINE_CHOICES = ("auto", "single", "fused")
GPU_FUSE_MAX_HIDDEN = 1024
CPU_PARALLEL_MAX_HIDDEN = 256


@dataclass(frozen=True)
class WorkUnit:
    """Trials trained together by one engine (a single trial, or a fused group)."""

    configs: tuple[TrialConfig, ...]
    engine: str

    @property
    def hidden(self) -> int:
        return self.configs[0].hidden

    def describe(self) -> str:
        c = self.configs[0]
        if len(self.configs) == 1:
            return f"hidden {c.hidden} lr {c.lr:g} seed {c.seed}"
        return f"hidden {c.hidden} x{len(self.configs)} (fused)"


def cpu_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _group_key(config: TrialConfig) -> tuple:
    from .train import group_key

    return group_key(config)


def choose_engine(config: TrialConfig, engine: str, device: torch.device) -> str:
    """The engine a trial trains with (see the module docstring)."""
    from .train import fusable

    if engine not in ENGINE_CHOICES:
        raise ConfigError(f"unknown engine {engine!r}; choose one of: {', '.join(ENGINE_CHOICES)}")
    if engine == "fused" and not fusable(config):
        raise ConfigError("--engine fused supports --init tf only (PyTorch's init has two "
                          "trainable biases); use --engine single or auto")
    if engine != "auto":
        return engine
    if device.type == "cuda" and fusable(config) and config.hidden <= GPU_FUSE_MAX_HIDDEN:
        return "fused"
    return "single"


def make_units(
    trials: Sequence[TrialConfig], engine: str, device: torch.device, max_group: int = 64
) -> list[WorkUnit]:
    """Split trials into work units, in grid order; fused groups hold at most ``max_group``."""
    slots: list[tuple[str, list[TrialConfig]]] = []  # (engine, members) in order of first trial
    fused_slot: dict[tuple, int] = {}
    for t in trials:
        chosen = choose_engine(t, engine, device)
        if chosen == "single":
            slots.append(("single", [t]))
            continue
        key = _group_key(t)
        if key not in fused_slot:
            fused_slot[key] = len(slots)
            slots.append(("fused", []))
        slots[fused_slot[key]][1].append(t)
    return [
        WorkUnit(tuple(members[start : start + max_group]), chosen)
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
