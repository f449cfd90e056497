"""``lstm-sweep coord-check``: the diagnostic that tells a correct μP from a broken one.

For each parametrization and width, the trials of every seed train together (the fused engine)
for a few steps on ONE fixed batch at a deliberately large rate; before the first update and
after each, :func:`~lstm_sweep.training.coord.probe` records the mean absolute value of every
quantity of the last time step and of its change since init (microsoft/mup's ``coord_check``,
for the LSTM's own quantities). The records are plain :class:`~lstm_sweep.study.coords.CoordPoint`
rows; ``lstm_sweep.reporting.coords`` judges and draws them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, cast

import torch

from ..data import Dataset
from ..errors import ConfigError
from ..study import (
    COORD_BATCH,
    COORD_SEEDS,
    COORD_STEPS,
    COORD_WIDTHS,
    DEFAULT_BASE_WIDTH,
    MAX_HIDDEN,
    PARAMS,
    CoordPoint,
    TrialConfig,
    check_count,
    show,
)
from ..training import ADAM_LIKE, flushed, make_engine, probe, readout_multiplier, resolve_device
from .cost import device_memory, human_bytes, trial_params, unit_memory
from .units import WorkUnit

if TYPE_CHECKING:
    from ..training import FusedCellEngine, FusedEngine

MAX_COORD_STEPS = 1000


def default_lr(optimizer: str) -> float:
    """A deliberately large rate: 0.01 for the Adam-like optimizers (the seed's best at 256
    units, 10x what the wide nets want), 0.1 for SGD and Momentum."""
    return 0.01 if optimizer in ADAM_LIKE else 0.1


MAX_COORD_VALUES = 64  # widths, parametrizations or seeds in one check


def _distinct(name: str, values: object, check: Callable[[Any], object]) -> tuple:
    if not isinstance(values, (list, tuple)) or not 1 <= len(values) <= MAX_COORD_VALUES:
        raise ConfigError(f"{name} must be a list of 1 to {MAX_COORD_VALUES} values, got {show(values)}")
    for v in values:
        check(v)
    if len(set(values)) != len(values):
        raise ConfigError(f"{name} has repeated values: {show(list(values))}")
    return tuple(values)


def coord_check(
    data: Dataset,
    *,
    widths: Sequence[int] = COORD_WIDTHS,
    params: Sequence[str] = PARAMS,
    cell: str = "lstm",
    optimizer: str = "adam",
    lr: float | None = None,
    seeds: Sequence[int] = COORD_SEEDS,
    steps: int = COORD_STEPS,
    base_width: int = DEFAULT_BASE_WIDTH,
    readout: str = "normal",
    batch_size: int = COORD_BATCH,
    device: str | torch.device = "cpu",
    on_done: Callable[[str, int], None] | None = None,
) -> list[CoordPoint]:
    """Measure every quantity's size per parametrization, width and step (0 = init).

    Every argument becomes part of a :class:`TrialConfig` and is checked as one (a bad cell,
    rate, seed, ...); ``lr`` None is :func:`default_lr`. ``on_done(param, width)`` is called as
    each width is measured. The batch is the first ``batch_size`` training images.

    Raises:
        ConfigError: fewer than two widths, repeated values, anything a trial refuses, a batch
            larger than the training split, more than :data:`MAX_COORD_STEPS` steps, a widest
            width that cannot fit in the device's memory, or an
            ``on_done`` that is not callable (all checked before any work).
    """
    if not isinstance(data, Dataset):
        raise ConfigError(f"a coordinate check needs a Dataset, got {show(data)}")
    widths = _distinct("widths", widths, lambda w: check_count("hidden size", w, MAX_HIDDEN))
    if len(widths) < 2:
        raise ConfigError("a coordinate check compares widths: give at least two")
    params = _distinct("parametrizations", params, lambda p: TrialConfig(16, 0.1, param=p))
    seeds = _distinct("seeds", seeds, lambda s: TrialConfig(16, 0.1, seed=s))
    check_count("steps", steps, MAX_COORD_STEPS)
    if on_done is not None and not callable(on_done):
        raise ConfigError(f"on_done must be a function (param, width) or None, got {show(on_done)}")
    lr = default_lr(optimizer) if lr is None and isinstance(optimizer, str) else lr
    TrialConfig(
        16, lr, cell=cell, optimizer=optimizer, base_width=base_width, readout=readout, batch_size=batch_size
    )  # every other argument, checked once
    if batch_size > len(data.train):
        raise ConfigError(f"batch size {batch_size} is more than the {len(data.train):,} training images")
    device = resolve_device(device)
    _check_memory(max(widths), len(seeds), batch_size, cell, device)
    x = torch.as_tensor(data.train.images[:batch_size], device=device)
    y = torch.as_tensor(data.train.labels[:batch_size], device=device)
    points = []
    with flushed(device):  # as trials train
        for param in params:
            for width in sorted(widths):
                configs = [
                    TrialConfig(
                        hidden=width,
                        lr=lr,
                        seed=s,
                        data_seed=0,
                        steps=steps,
                        batch_size=batch_size,
                        cell=cell,
                        optimizer=optimizer,
                        param=param,
                        base_width=base_width,
                        readout=readout,
                        dataset=data.name,
                    )
                    for s in seeds
                ]
                try:
                    points += _measure(configs, x, y, steps)
                except (MemoryError, RuntimeError) as e:  # torch's out-of-memory errors included
                    if not isinstance(e, MemoryError) and "memory" not in str(e).lower():
                        raise
                    raise ConfigError(
                        f"width {width} ({len(configs)} seeds together) does not fit "
                        f"in the memory of {device}; give smaller widths= or "
                        "fewer seeds="
                    ) from None
                if on_done is not None:
                    on_done(param, width)
    return points


def coord_memory(width: int, seeds: int, batch_size: int, cell: str = "lstm") -> int:
    """Bytes one width's check holds at its peak: the fused group's training (weights, optimizer
    slots, activations of the batch) and the probes' two copies of every seed's weights."""
    config = TrialConfig(hidden=width, lr=0.01, batch_size=batch_size, cell=cell)
    unit = WorkUnit((config,) * seeds, "fused")
    parts = unit_memory(unit, eval_chunk=batch_size)
    return sum(parts.values()) + 2 * 4 * seeds * trial_params(config)


def _check_memory(widest: int, seeds: int, batch_size: int, cell: str, device: torch.device) -> None:
    """Refuse, before any work, a widest width whose check cannot fit in the device's memory
    (a 2^20-unit LSTM would otherwise be allocated, or swap, before it fails)."""
    need = coord_memory(widest, seeds, batch_size, cell)
    available, _ = device_memory(device)
    if available is not None and need > available:
        raise ConfigError(
            f"width {widest} with {seeds} seeds needs about "
            f"{human_bytes(need)}, and {device} has {human_bytes(available)} "
            "free; give smaller widths=, fewer seeds= or a smaller "
            "batch_size="
        )


def _measure(configs: list[TrialConfig], x: torch.Tensor, y: torch.Tensor, steps: int) -> list[CoordPoint]:
    first = configs[0]
    engine = cast("FusedEngine | FusedCellEngine", make_engine("fused", configs, x.device))
    mult = readout_multiplier(first)

    def now() -> list[dict[str, torch.Tensor]]:
        return [
            probe(first.cell, {n: t.to(x.device) for n, t in engine.tf_params(k).items()}, x, mult)
            for k in range(engine.k)
        ]

    start = now()
    points = []
    for step in range(steps + 1):
        if step:
            engine.train_step(x, y)
        current = start if step == 0 else now()
        for q in start[0]:
            value = sum(m[q].abs().mean().item() for m in current) / len(current)
            change = sum((m[q] - m0[q]).abs().mean().item() for m, m0 in zip(current, start)) / len(current)
            points.append(CoordPoint(first.param, first.hidden, step, q, value, change))
    return points
