"""The cost model of a sweep: FLOPs, memory and time per work unit, what the device offers, and
the plan as a text table (shown before anything trains).

Time per training step = overhead + FLOPs / throughput, both fitted on this device by a short
probe (:mod:`lstm_sweep.running.calibration`). FLOPs count the LSTM's matmuls: forward + backward = 3 x
forward, ``B x T x 2 (I + H) 4H`` per forward (``docs/DESIGN.md``, "Speed"), with T, I and the
readout from the trial's task (:mod:`lstm_sweep.study.tasks`): rows 28 steps of 28 inputs, pixels
784 of 1, adding T of 2, copy T + 20 of 10, a text a step per character; a task scored at every
step (copy, chars) adds the head's ``B x T x 2 H O`` and keeps T steps of logits.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..data import IMAGE_SHAPE
from ..errors import ConfigError
from ..study import GATES, TASKS, TrialConfig, plural, sequence_steps, task_info
from .units import WorkUnit, cpu_cores, phases, workers_for

if TYPE_CHECKING:  # torch loads only when training starts
    import torch

N_STEPS, N_INPUT = IMAGE_SHAPE
BYTES = {"fp32": 4, "tf32": 4, "bf16": 2}
EVAL_IMAGES = 15_000  # validation 5,000 + test 10,000
DATASET_BYTES = 70_000 * N_STEPS * N_INPUT * (4 + 1)  # MNIST as float32, plus the uint8 read
DEFAULT_EVAL_CHUNK = 1000
# Beyond this ETA a sweep needs --force: a typo in --steps or --hidden, most likely.
MAX_ETA_S = 30 * 24 * 3600


def step_flops(
    hidden: int,
    batch: int,
    gates: int = 4,
    steps: int = N_STEPS,
    n_input: int = N_INPUT,
    every_step_outputs: int = 0,
) -> float:
    """Matmul FLOPs of one training step of one model (forward + backward = 3 x forward):
    3 x B x T x 2 (I + H) gH, with g = 4 for an LSTM, 3 for a GRU, 1 for a basic RNN; a readout
    of ``every_step_outputs`` units at every step adds 3 x B x T x 2 H O (one at the last step
    is left out, as it always was: it is a 28th of a row's step or less)."""
    recurrent = 2 * (n_input + hidden) * gates * hidden
    return 3 * batch * steps * (recurrent + 2 * hidden * every_step_outputs)


def task_shape(config: TrialConfig) -> tuple[int, int, int, bool]:
    """(steps per sequence, inputs per step, readout units, read at every step) of a trial's
    task: rows (28, 28, 10, False), pixels (784, 1, 10, False), adding (T, 2, 1, False), copy
    (T + 20, 10, 10, True), chars (T, V, V, True) with V a typical vocabulary (100)."""
    info = task_info(config)
    return sequence_steps(config), info.n_input, info.n_output, info.every_step


def probe_shape(config: TrialConfig) -> tuple[int, int, int, bool, str] | None:
    """The shape a calibration probe trains for ``config``'s task: None for the homework's rows
    (the probe of every earlier release), else (steps, inputs, readout units, every step, loss):
    a 784-step sequence of one pixel pays its per-step costs 784 times, which no probe of 28
    steps of 28 can tell."""
    t, i, o, every = task_shape(config)
    if (t, i, o, every) == (N_STEPS, N_INPUT, 10, False):
        return None
    return t, i, o, every, "mse" if task_info(config).metric == "mse" else "xent"


def calibration_key(config: TrialConfig, engine: str) -> tuple:
    """Which probe plans ``config``'s units: (engine, precision, cell), and for a task other
    than rows its :func:`probe_shape` after ``"task"``; a worker's probe adds its threads."""
    key: tuple = (engine, config.precision, config.cell)
    shape = probe_shape(config)
    return key if shape is None else (*key, "task", shape)


def config_step_flops(config: TrialConfig) -> float:
    """:func:`step_flops` of one trial, its task's shape and readout included."""
    t, i, o, every = task_shape(config)
    return step_flops(config.hidden, config.batch_size, GATES[config.cell], t, i, o if every else 0)


# A generated task's sequences (train, validation and test) as the plan counts them, and the
# bytes of one step of one channel (float32); a text holds one integer id per character.
GENERATED_SEQUENCES = 60_000
TEXT_BYTES_PER_CHAR = 8


def dataset_bytes(config: TrialConfig, text_chars: int | None = None) -> int:
    """Bytes a trial's data holds in memory: MNIST as now for an image task; a generated task's
    N x T x channels (float32); a text's characters (``text_chars``: its length, where known)."""
    info = task_info(config)
    if info.source == "generated":
        t, i, _, _ = task_shape(config)
        return GENERATED_SEQUENCES * t * i * 4
    if info.source == "text":
        return (text_chars or 0) * TEXT_BYTES_PER_CHAR
    return DATASET_BYTES


VALIDATION_IMAGES = 5_000  # what a search's rung measures (the validation split)


def flops_between(
    config: TrialConfig, start: int, end: int, final: bool, val_every: int | None = None
) -> float:
    """FLOPs of training ``config`` from step ``start`` to ``end`` (curve points included, and
    the validation split every ``val_every`` steps before ``end``), then measuring it:
    validation at a search's rung, validation and test when it ends."""
    step = config_step_flops(config)
    forward = step / 3
    points = end // config.display_step - start // config.display_step
    checks = (end - 1) // val_every - start // val_every if val_every else 0
    images = EVAL_IMAGES if final else VALIDATION_IMAGES
    return (
        (end - start) * step
        + points * forward
        + forward * (images + max(0, checks) * VALIDATION_IMAGES) / config.batch_size
    )


def trial_flops(config: TrialConfig, val_every: int | None = None) -> float:
    """Training steps, the curve's extra forward passes (the validation split's every
    ``val_every`` steps), and evaluation of one trial."""
    return flops_between(config, 0, config.steps, final=True, val_every=val_every)


def unit_memory(unit: WorkUnit, eval_chunk: int = DEFAULT_EVAL_CHUNK) -> dict[str, int]:
    """Predicted bytes a unit holds at its peak, by part (fp32 master weights always)."""
    c = unit.configs[0]
    k, h, b = len(unit.configs), c.hidden, c.batch_size
    t, _, o, every = task_shape(c)
    act = 2 if c.precision == "bf16" else 4
    g = GATES[c.cell]
    weights = 4 * k * trial_params(c) * 4  # parameters, gradients, Adam m and v
    # kept for backward per model: gates (4H), h and c (2H), and the backward's dz (4H) and
    # stacked states; the fused engine keeps a few more copies than oneDNN's workspace
    per_step = (19 if unit.engine == "fused" else 12) * h * (g + 2) // 6  # LSTM: 12h / 19h
    per_step += 2 * o if every else 0  # a readout at every step: its logits and their gradient
    activations = k * t * b * per_step * act
    evaluation = k * eval_chunk * t * ((g + 1) * h + (o if every else 0)) * act  # one chunk
    return {"weights+adam": weights, "activations": activations, "eval chunk": evaluation}


@dataclass(frozen=True)
class Calibration:
    """Seconds per training step = overhead + FLOPs / throughput, fitted on a short probe."""

    overhead_s: float
    flops_per_s: float
    device: str


@dataclass(frozen=True)
class UnitPlan:
    unit: WorkUnit
    workers: int
    flops: float  # per trial
    memory: dict[str, int]
    seconds: float  # the whole unit

    @property
    def memory_total(self) -> int:
        return sum(self.memory.values())


@dataclass(frozen=True)
class SweepPlan:
    units: list[UnitPlan]
    device: str
    device_memory: int | None  # bytes available to one unit
    base_memory: int  # bytes the process holds before a unit starts (code, data)
    calibration: Calibration

    @property
    def seconds(self) -> float:
        """ETA: units of a phase share its workers."""
        return sum(u.seconds / u.workers for u in self.units)

    @property
    def too_big(self) -> list[UnitPlan]:
        if self.device_memory is None:
            return []
        return [u for u in self.units if u.memory_total + self.base_memory > self.device_memory]


def plan_units(
    units: Sequence[WorkUnit],
    device: torch.device,
    calibrations: dict[tuple, Calibration],
    workers: int | None = None,
) -> SweepPlan:
    """FLOPs, memory and time of each unit, and what the device offers.

    ``calibrations`` maps :func:`calibration_key` (engine, precision, cell, and a task's probe
    shape) to its probe (:func:`~lstm_sweep.running.calibration.calibration_for`).
    """
    plans = []
    for u in units:
        c = u.configs[0]
        key = calibration_key(c, u.engine)
        measured = key in calibrations  # a probe of the task's own shape (or rows')
        calibration = calibrations[key] if measured else calibrations[key[:3]]
        n = workers_for(u, device, workers)
        own = calibrations.get((*(key if measured else key[:3]), max(1, cpu_cores() // n)))
        if device.type == "cpu" and n > 1 and own is not None:
            calibration = own  # probed with one worker's threads
            share = _CPU_WORKER_CONTENTION  # workers side by side share the memory bandwidth
        elif device.type == "cpu" and n > 1:
            share = n * _CPU_WORKER_SHARE  # only the all-core probe: 1/n of its throughput
        else:
            share = 1.0
        # a fused step serves all K models: its overhead is paid once
        compute = len(u.configs) * trial_flops(c, u.val_every) / calibration.flops_per_s * share
        # a probe of rows' 28 time steps alone (none of the task's own shape): a longer
        # sequence pays its overhead per time step (784 pixels: 28 times), a rough bound
        scale = 1.0 if measured else max(1.0, sequence_steps(c) / N_STEPS)
        seconds = calibration.overhead_s * c.steps * scale + compute
        plans.append(UnitPlan(u, n, trial_flops(c, u.val_every), unit_memory(u), seconds))
    available, base = device_memory(device)
    # the header's probe: the first one (with nothing to run, none was taken)
    shown = next(iter(calibrations.values()), Calibration(0.0, 1e11, str(device)))
    return SweepPlan(plans, shown.device, available, base, shown)


# n workers on a CPU: each unit is planned from the probe taken with one worker's threads
# (calibrations_for), its matmuls slowed by _CPU_WORKER_CONTENTION for the memory bandwidth the
# workers share. Without that probe (a plan given only the all-core one), a unit's matmuls run at
# about 1 / (1.05 n) of the all-core throughput and its overhead per step stays the same.
# Measured on 2 cores (Intel Xeon with AMX), the quick grid with all six rates, 999 steps, engine
# auto (benchmarks/bench_plan.py); the first model here (the whole unit, overhead included, times
# 0.9 n of the all-core probe) planned 16 units 1.7x too long in fp32 and 128 units in bf16 1.9x.
_CPU_WORKER_SHARE = 1.05
_CPU_WORKER_CONTENTION = 1.0


def device_memory(device: torch.device) -> tuple[int | None, int]:
    """(bytes a unit may use, bytes already held): GPU free memory, or this machine's
    available RAM and this process's resident size."""
    if device.type == "cuda":
        import torch

        free, _ = torch.cuda.mem_get_info(device)
        return int(free), 0
    available = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    available = int(line.split()[1]) * 1024
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return available, int(line.split()[1]) * 1024
    except OSError:
        pass
    return available, 0


# --------------------------------------------------------------------------- rendering


def _quantity(value: object, what: str) -> float:
    """``value`` as a finite, non-negative number, or ConfigError naming ``what``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{what} must be a number, got {type(value).__name__}")
    try:
        x = float(value)
    except OverflowError:
        x = math.inf
    if not x >= 0:  # NaN too
        raise ConfigError(f"{what} must be a number >= 0, got {str(value)[:40]}")
    return x


def human_seconds(seconds: float) -> str:
    """``12.5 s``, ``3 min 07 s``, ``26 h 40 min``.

    Raises:
        ConfigError: ``seconds`` is not a number >= 0.
    """
    seconds = _quantity(seconds, "seconds")
    if seconds == math.inf:
        return "∞"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, sec = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {sec:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def human_bytes(n: float) -> str:
    """``512 B``, ``446 MB``, ``22.7 GB``.

    Raises:
        ConfigError: ``n`` is not a number >= 0.
    """
    n = _quantity(n, "bytes")
    if n == math.inf:
        return "∞ B"
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit in ("B", "KB", "MB") else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def task_label(config: TrialConfig) -> str:
    """How the plan names a trial's task: ``""`` for rows (the homework's), else ``pixels``,
    ``adding T=100``, ``copy T=20``, ``chars 100 steps``, a task of one's own by its name."""
    if config.task == "rows":
        return ""
    info = TASKS.get(config.task)
    if info is None or info.fixed_steps:
        return config.task
    if info.source == "text":
        return f"{config.task} {config.length} steps"
    return f"{config.task} T={config.length}"


def plan_rows(plan) -> list[dict]:
    """One row per (task, cell, width, steps, batch, engine, workers, precision): trials, FLOPs,
    memory, time."""
    rows: dict[tuple, dict] = {}
    for u in plan.units:
        c = u.unit.configs[0]
        task = task_label(c)
        key = (task, c.cell, c.hidden, c.steps, c.batch_size, u.unit.engine, u.workers, c.precision)
        row = rows.setdefault(
            key,
            {
                "task": task,
                "hidden": c.hidden,
                "engine": u.unit.engine,
                "workers": u.workers,
                "precision": c.precision,
                "trials": 0,
                "cell": c.cell,
                "steps": c.steps,
                "batch_size": c.batch_size,
                "flops_per_trial": u.flops,
                "memory": 0,
                "seconds": 0.0,
            },
        )
        row["trials"] += len(u.unit.configs)
        row["memory"] = max(row["memory"], u.memory_total + plan.base_memory)
        row["seconds"] += u.seconds / u.workers
    return list(rows.values())


def render_plan(plan, title: str = "plan") -> str:
    """The plan as a text table with totals, the ETA and the memory verdict."""
    cal = plan.calibration
    if not plan.units:
        return f"{title} on {plan.device}: nothing to run (every trial is stored already)"
    out = [
        f"{title} on {plan.device} (probe: {cal.overhead_s * 1e3:.2f} ms/step overhead + "
        f"{cal.flops_per_s / 1e9:.0f} GFLOP/s)"
    ]
    header = ["hidden", "trials", "engine", "workers", "GFLOP/trial", "peak memory", "time/trial", "time"]
    rows = [header]
    found = plan_rows(plan)
    varies = [k for k in ("steps", "batch_size") if len({r[k] for r in found}) > 1]
    for r in found:
        cell = f" {r['task']}" if r["task"] else ""
        cell += f" {r['cell']}" if r["cell"] != "lstm" else ""
        cell += "".join(f" {r[k]} steps" if k == "steps" else f" batch {r[k]}" for k in varies)
        rows.append(
            [
                str(r["hidden"]),
                str(r["trials"]),
                f"{r['engine']} {r['precision']}{cell}",
                str(r["workers"]),
                f"{r['flops_per_trial'] / 1e9:,.0f}",
                human_bytes(r["memory"]),
                human_seconds(r["seconds"] / r["trials"] * r["workers"]),
                human_seconds(r["seconds"]),
            ]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    out += ["  ".join(cell.rjust(w) for cell, w in zip(row, widths)) for row in rows]
    trials = sum(len(u.unit.configs) for u in plan.units)
    flops = sum(u.flops * len(u.unit.configs) for u in plan.units)
    out.append(
        f"total: {plural(trials, 'trial')}, {flops / 1e15:.3g} PFLOP, ETA {human_seconds(plan.seconds)}"
    )
    if plan.device_memory is not None and plan.units:
        largest = max(u.memory_total for u in plan.units) + plan.base_memory
        out.append(
            f"memory: largest unit {human_bytes(largest)} of "
            f"{human_bytes(plan.device_memory)} available"
            + (f"; {len(plan.too_big)} units do NOT fit" if plan.too_big else "")
        )
    return "\n".join(out)


# --------------------------------------------------------------------------- checkpoints

SLOTS = {"adam": 2, "rmsprop": 2, "momentum": 1, "adagrad": 1, "sgd": 0}


def trial_params(config: TrialConfig) -> int:
    """Trainable parameters of one trial's model (kernel over [x, h], biases, head)."""
    g, h = GATES[config.cell], config.hidden
    _, i, o, _ = task_shape(config)
    return (i + h) * g * h + g * h + o * h + o


def checkpoint_size(config: TrialConfig) -> int:
    """Bytes of one checkpoint of ``config``: parameters, optimizer slots and a diverged
    model's frozen copy (fp32), the training set's permutation, the curve."""
    return (
        4 * trial_params(config) * (2 + SLOTS[config.optimizer])
        + 4 * 55_000
        + 24 * (config.steps // config.display_step)
        + 4096
    )


def checkpoint_need(
    units: Sequence[WorkUnit], device: torch.device, workers: int | None, kept: Sequence[TrialConfig] = ()
) -> int:
    """Bytes the checkpoints of a sweep need on disk at most at once: the units that run side
    by side, each trial with two generations (the newest and the one before), plus those
    ``kept`` after their unit (a search's pruned trials, one generation each)."""
    need = 0
    for phase, n in phases(units, device, workers):
        sizes = sorted((sum(checkpoint_size(c) for c in u.configs) for u in phase), reverse=True)
        need = max(need, 2 * sum(sizes[:n]))
    return need + sum(checkpoint_size(c) for c in kept)
