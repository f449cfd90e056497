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
from dataclasses import dataclass, replace
from pathlib import Path
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


def choose_engine(config: TrialConfig, engine: str, device: torch.device) -> str:
    """The engine a trial trains with (see the module docstring)."""
    if engine not in ENGINE_CHOICES:
        raise ConfigError(f"unknown engine {engine!r}; choose one of: {', '.join(ENGINE_CHOICES)}")
    if engine == "fused" and not config.fusable:
        raise ConfigError("--engine fused supports --init tf only (PyTorch's init has two "
                          "trainable biases); use --engine single or auto")
    if engine != "auto":
        return engine
    if device.type == "cuda" and config.fusable and config.hidden <= GPU_FUSE_MAX_HIDDEN:
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
        key = t.group_key()
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


# --------------------------------------------------------------------------- cost model

BYTES = {"fp32": 4, "tf32": 4, "bf16": 2}
EVAL_IMAGES = 15_000  # validation 5,000 + test 10,000
DATASET_BYTES = 70_000 * 784 * (4 + 1)  # MNIST as float32, plus the uint8 it is read from
DEFAULT_EVAL_CHUNK = 1000


def step_flops(hidden: int, batch: int) -> float:
    """Matmul FLOPs of one training step of one model (forward + backward = 3 x forward):
    3 x B x 28 x 2 (28 + H) 4H (DESIGN.md, "Speed")."""
    return 3 * batch * 28 * 2 * (28 + hidden) * 4 * hidden


def trial_flops(config: TrialConfig) -> float:
    """Training steps, the curve's extra forward passes, and evaluation of one trial."""
    forward = step_flops(config.hidden, config.batch_size) / 3
    curve = (config.steps // config.display_step) * forward
    evaluation = forward * EVAL_IMAGES / config.batch_size
    return config.steps * step_flops(config.hidden, config.batch_size) + curve + evaluation


def unit_memory(unit: WorkUnit, eval_chunk: int = DEFAULT_EVAL_CHUNK) -> dict[str, int]:
    """Predicted bytes a unit holds at its peak, by part (fp32 master weights always)."""
    c = unit.configs[0]
    k, h, b, t = len(unit.configs), c.hidden, c.batch_size, 28
    act = 2 if c.precision == "bf16" else 4
    params = (28 + h) * 4 * h + 4 * h + 10 * h + 10
    weights = 4 * k * params * 4  # parameters, gradients, Adam m and v
    # kept for backward per model: gates (4H), h and c (2H), and the backward's dz (4H) and
    # stacked states; the fused engine keeps a few more copies than oneDNN's workspace
    per_step = (19 if unit.engine == "fused" else 12) * h
    activations = k * t * b * per_step * act
    evaluation = k * eval_chunk * t * 5 * h * act  # outputs and gates of one chunk
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
    calibrations: dict[tuple[str, str], Calibration],
    workers: int | None = None,
) -> SweepPlan:
    """FLOPs, memory and time of each unit, and what the device offers.

    ``calibrations`` maps (engine, precision) to its probe (:func:`calibration_for`).
    """
    plans = []
    for u in units:
        c = u.configs[0]
        calibration = calibrations[(u.engine, c.precision)]
        n = workers_for(u, device, workers)
        # a fused step serves all K models: its overhead is paid once
        seconds = calibration.overhead_s * c.steps + len(u.configs) * (
            trial_flops(c) / calibration.flops_per_s)
        if device.type == "cpu" and n > 1:
            seconds *= n * _CPU_WORKER_SHARE  # each worker has 1/n of the cores
        plans.append(UnitPlan(u, n, trial_flops(u.configs[0]), unit_memory(u), seconds))
    available, base = device_memory(device)
    # the header's probe: the first one (with nothing to run, none was taken)
    shown = next(iter(calibrations.values()), Calibration(0.0, 1e11, str(device)))
    return SweepPlan(plans, shown.device, available, base, shown)


def plan_sweep(
    trials: Sequence[TrialConfig],
    device: torch.device,
    engine: str = "auto",
    workers: int | None = None,
    refresh: bool = False,
    data_loaded: bool = True,
) -> SweepPlan:
    """Units, calibrated costs and memory for ``trials`` (probing this device once if new).

    ``data_loaded``: whether this process already holds the dataset (else its size is added).
    """
    units = make_units(trials, engine, device)
    calibrations = {
        key: calibration_for(device, precision=key[1], engine=key[0], refresh=refresh)
        for key in sorted({(u.engine, u.configs[0].precision) for u in units})
    }
    plan = plan_units(units, device, calibrations, workers)
    if not data_loaded:
        plan = replace(plan, base_memory=plan.base_memory + DATASET_BYTES)
    return plan


# A trial in one of n one-thread workers takes ~0.9 n times its all-core time: measured on 2
# cores, 999 steps, 16-128 units: 2.15x / 2.0x / 1.8x / 1.5x (small widths gain most from workers,
# as their all-core runs leave a core idle).
_CPU_WORKER_SHARE = 0.9


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


# --------------------------------------------------------------------------- calibration


def probe(device: torch.device, precision: str = "fp32", engine: str = "single",
          steps: int = 12, widths: tuple[int, int] = (32, 128)) -> Calibration:
    """Time a few training steps at two widths on random data and fit overhead + throughput."""
    import time

    import torch

    from .train import make_engine, precision_context

    measured = []
    x = torch.rand(100, 28, 28, device=device)
    y = torch.randint(0, 10, (100,), device=device)
    with precision_context(precision):
        for h in widths:
            runner = make_engine(engine, [TrialConfig(hidden=h, lr=1e-3, precision=precision)],
                                 device)
            runner.train_step(x, y)  # warm-up
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            t0 = time.perf_counter()
            for _ in range(steps):
                runner.train_step(x, y)
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            measured.append(((time.perf_counter() - t0) / steps, step_flops(h, 100)))
    (t1, f1), (t2, f2) = measured
    throughput = (f2 - f1) / max(t2 - t1, 1e-9)
    if throughput <= 0:  # noise: fall back to the larger width's throughput, no overhead
        return Calibration(0.0, f2 / t2, str(device))
    overhead = max(0.0, t1 - f1 / throughput)
    return Calibration(overhead, throughput, str(device))


def calibration_for(device: torch.device, precision: str = "fp32", engine: str = "single",
                    refresh: bool = False) -> Calibration:
    """A cached probe result for this machine, device, precision and engine (probed if new)."""
    import json

    import torch

    from .data import cache_dir
    from .device import device_name

    key = "|".join([device_name(device), str(torch.get_num_threads()), torch.__version__,
                    precision, engine])
    path = Path(os.environ.get("LSTM_SWEEP_CALIBRATION") or cache_dir().parent / "calibration.json")
    cache: dict = {}
    try:
        cache = json.loads(path.read_text())
    except (OSError, ValueError):
        pass
    if key in cache and not refresh:
        return Calibration(**cache[key])
    cal = probe(device, precision, engine)
    cache[key] = {"overhead_s": cal.overhead_s, "flops_per_s": cal.flops_per_s,
                  "device": cal.device}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(cache, indent=1))
        tmp.replace(path)
    except OSError:
        pass  # a cache we cannot write is only slower next time
    return cal
