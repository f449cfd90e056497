"""``lstm-sweep coord-check``: the diagnostic that tells a correct μP from a broken one.

For each parametrization and width, the trials of every seed train together (the fused engine)
for a few steps on ONE fixed batch at a deliberately large rate; before the first update and
after each, :func:`~lstm_sweep.training.coord.probe` records the mean absolute value of every
quantity of the last time step and of its change since init (microsoft/mup's ``coord_check``,
for the LSTM's own quantities). The records are plain :class:`~lstm_sweep.study.coords.CoordPoint`
rows; ``lstm_sweep.reporting.coords`` judges and draws them.

Any task can be checked (``task=``, with its ``length`` and ``task_seed``): the batch is the first
sequences of the task's training split (:func:`~lstm_sweep.data.data_for_task`), token ids read
one-hot, and the engines train on the task's loss and readout. The quantities are those of the
last time step whatever the readout: for a task scored at every step (copy, chars) the last
step's logits are one of its T outputs, each made by the same weights from a state of the same
kind, so their width scaling is that of any other step.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import torch

from ..data import Dataset, TaskShape, data_for_task, load_user_task
from ..errors import ConfigError
from ..study import (
    COORD_BATCH,
    COORD_SEEDS,
    COORD_STEPS,
    COORD_WIDTHS,
    DEFAULT_BASE_WIDTH,
    MAX_HIDDEN,
    PARAMS,
    TASKS,
    CoordPoint,
    TrialConfig,
    check_count,
    is_user_task,
    show,
)
from ..training import (
    ADAM_LIKE,
    flushed,
    make_engine,
    model_inputs,
    probe,
    readout_multiplier,
    resolve_device,
)
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


def task_fields(task: str = "rows", length: int = 0, task_seed: int = 0) -> dict[str, Any]:
    """The task fields of a check's trials: ``task``, ``length``, ``task_seed``, and for a task
    of the user's own (``module:Class``, ``file.py:Class``) what its loader gives
    (``task_id``, ``task_metric``, ``task_chance`` and its own ``length``), as a sweep's trials
    hold them.

    Raises:
        ConfigError, DataError: a user's task that cannot be loaded (from the data layer).
    """
    fields: dict[str, Any] = {"task": task, "length": length, "task_seed": task_seed}
    if isinstance(task, str) and task not in TASKS and is_user_task(task):
        user = load_user_task(task)
        fields.update(
            task_id=user.task_id, task_metric=user.metric, task_chance=user.chance, length=user.length
        )
    return fields


def coord_check(
    data: Dataset,
    *,
    widths: Sequence[int] = COORD_WIDTHS,
    params: Sequence[str] = PARAMS[:2],
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
    task: str = "rows",
    length: int = 0,
    task_seed: int = 0,
) -> list[CoordPoint]:
    """Measure every quantity's size per parametrization, width and step (0 = init).

    Every argument becomes part of a :class:`TrialConfig` and is checked as one (a bad cell,
    rate, seed, task, ...); ``lr`` None is :func:`default_lr`. ``on_done(param, width)`` is
    called as each width is measured. ``data`` is the data as loaded for the task (images for
    rows, pixels and permuted; a text, :func:`~lstm_sweep.data.load_text`, for chars; anything,
    :func:`~lstm_sweep.data.generated_data` say, for the generated tasks and the user's own);
    the trials' ``length`` (0: the task's default) and ``task_seed`` make the task's sequences
    (:func:`~lstm_sweep.data.data_for_task`), and the batch is the first ``batch_size``
    training sequences. The quantities are those of the last time step, also for a task scored
    at every step (the module's docstring says why that is enough).

    Raises:
        ConfigError: fewer than two widths, repeated values, anything a trial refuses, a batch
            larger than the training split, more than :data:`MAX_COORD_STEPS` steps, a widest
            width that cannot fit in the device's memory, or an
            ``on_done`` that is not callable (all checked before any training).
        DataError: data the task cannot read (images for chars, a text too short for one
            sequence of ``length``, ...).
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
    template = TrialConfig(
        16,
        lr,
        cell=cell,
        optimizer=optimizer,
        base_width=base_width,
        readout=readout,
        batch_size=batch_size,
        dataset=data.name,
        **task_fields(task, length, task_seed),
    )  # every other argument, checked once; the task's length resolved
    made = data_for_task(data, template.task, template.length, template.task_seed)
    if batch_size > len(made.train):
        what = "images" if template.task in TASKS and TASKS[template.task].source == "images" else "sequences"
        raise ConfigError(f"batch size {batch_size} is more than the {len(made.train):,} training {what}")
    device = resolve_device(device)
    _check_memory(replace(template, hidden=max(widths)), len(seeds), device)
    x, y = _fixed_batch(made, batch_size, device)
    points = []
    with flushed(device):  # as trials train
        for param in params:
            for width in sorted(widths):
                configs = [
                    replace(
                        template,
                        hidden=width,
                        seed=s,
                        data_seed=0,
                        steps=steps,
                        param=param,
                        base_width=base_width,  # (an sp template holds the default)
                    )
                    for s in seeds
                ]
                try:
                    points += _measure(configs, x, y, steps, made.shape)
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


def _fixed_batch(made: Dataset, batch_size: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """The first ``batch_size`` training sequences as the models read them: inputs (B, T, I)
    floats (token ids one-hot) and targets (B,) or (B, T)."""
    inputs = np.ascontiguousarray(made.train.images[:batch_size])
    if made.shape.tokens:
        inputs = inputs.astype(np.int64)  # ids of any integer type (a text's uint16)
    x = model_inputs(torch.as_tensor(inputs, device=device), made.shape)
    return x, torch.as_tensor(np.ascontiguousarray(made.train.labels[:batch_size]), device=device)


def coord_memory(width: int, seeds: int, batch_size: int, cell: str = "lstm", **task: Any) -> int:
    """Bytes one width's check holds at its peak: the fused group's training (weights, optimizer
    slots, activations of the batch) and the probes' two copies of every seed's weights.
    ``task`` holds the trials' task fields (``task="chars", length=50``; :func:`task_fields`):
    the task's steps, inputs and readout make its cost (the homework's rows without them)."""
    config = TrialConfig(hidden=width, lr=0.01, batch_size=batch_size, cell=cell, **task)
    return _memory(config, seeds)


def _memory(config: TrialConfig, seeds: int) -> int:
    unit = WorkUnit((config,) * seeds, "fused")
    parts = unit_memory(unit, eval_chunk=config.batch_size)
    return sum(parts.values()) + 2 * 4 * seeds * trial_params(config)


def _check_memory(widest: TrialConfig, seeds: int, device: torch.device) -> None:
    """Refuse, before any work, a widest width whose check cannot fit in the device's memory
    (a 2^20-unit LSTM would otherwise be allocated, or swap, before it fails)."""
    need = _memory(widest, seeds)
    available, _ = device_memory(device)
    if available is not None and need > available:
        raise ConfigError(
            f"width {widest.hidden} with {seeds} seeds needs about "
            f"{human_bytes(need)}, and {device} has {human_bytes(available)} "
            "free; give smaller widths=, fewer seeds= or a smaller "
            "batch_size="
        )


def _measure(
    configs: list[TrialConfig], x: torch.Tensor, y: torch.Tensor, steps: int, shape: TaskShape
) -> list[CoordPoint]:
    first = configs[0]
    engine = cast("FusedEngine | FusedCellEngine", make_engine("fused", configs, x.device, shape))
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
