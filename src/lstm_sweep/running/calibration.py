"""Calibration: a short probe of this device (a few training steps at two widths) fits the cost
model's overhead and throughput; results are cached per machine, device, threads, torch version,
precision and engine (``$LSTM_SWEEP_CALIBRATION``, else next to the data cache)."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, TypeGuard

from ..data import IMAGE_SHAPE
from ..study import GATES, TrialConfig
from .cost import Calibration, calibration_key, step_flops

if TYPE_CHECKING:  # torch loads only when probing
    import torch


# The probe's two widths. On a CPU the arithmetic shows already at 128 units. A GPU is bound by
# kernel launches far beyond that, and its throughput keeps growing with the width (an H200 in
# tf32: 25 TFLOP/s at 1024 units, 71 at 2048, 121 at 4096): there the probe's narrow width gives
# the launch overhead and its wide width is the widest the plan trains (at least
# GPU_PROBE_MIN_WIDTH, at most GPU_PROBE_MAX_WIDTH), so the fitted line runs through the widths
# that take the time. Probed at (64, 1024) units, the H200's plan of the hw2 grid in tf32 said
# 192 s for a measured 125 s (the 4096 row 1.9 x too long); fitted at (64, 4096) on the same
# run's measured step times, it says 108 s (0.86; rows 0.64 to 0.92).
PROBE_WIDTHS = {"cpu": (32, 128), "cuda": (64, 1024)}
GPU_PROBE_MIN_WIDTH, GPU_PROBE_MAX_WIDTH = 1024, 4096


def probe_widths(device: torch.device, widest: int | None = None) -> tuple[int, int]:
    """The probe's (narrow, wide) widths on ``device`` for a plan whose widest trial has
    ``widest`` units (GPUs only; a CPU's probe widths are fixed)."""
    narrow, wide = PROBE_WIDTHS.get(device.type, PROBE_WIDTHS["cpu"])
    if device.type == "cuda" and widest is not None:
        wide = max(GPU_PROBE_MIN_WIDTH, min(int(widest), GPU_PROBE_MAX_WIDTH))
    return narrow, wide


def calibrations_for(units, device: torch.device, refresh: bool = False, workers: int | None = None) -> dict:
    """The probe of every (engine, precision, cell) that ``units`` train with, each probed up to
    the widest of its units (on a GPU); on a CPU, also the probe with one worker's threads,
    keyed (engine, precision, cell, threads), for the units that run in ``workers`` side by side
    (:func:`~lstm_sweep.running.units.workers_for`): a one-thread worker's overhead and
    throughput are its own (bf16's thin matmuls hardly gain from a second thread; fp32's do)."""
    from .units import cpu_cores, workers_for

    widest: dict[tuple, int] = {}
    for u in units:
        key = calibration_key(u.configs[0], u.engine)
        widest[key] = max(widest.get(key, 0), u.hidden)
        n = workers_for(u, device, workers)
        if device.type == "cpu" and n > 1:
            threads = max(1, cpu_cores() // n)
            widest[(*key, threads)] = max(widest.get((*key, threads), 0), u.hidden)
    return {
        key: calibration_for(
            device,
            precision=key[1],
            engine=key[0],
            refresh=refresh,
            cell=key[2],
            widest=widest[key],
            threads=key[-1] if isinstance(key[-1], int) else None,
            shape=key[4] if len(key) > 4 else None,
        )
        for key in sorted(widest, key=repr)
    }


def probe(
    device: torch.device,
    precision: str = "fp32",
    engine: str = "single",
    cell: str = "lstm",
    steps: int = 12,
    widths: tuple[int, int] | None = None,
    shape: tuple | None = None,
) -> Calibration:
    """Time a few training steps at two widths on random data and fit overhead + throughput;
    of rows' 28 steps of 28 pixels, or of a task's ``shape`` (:func:`~.cost.probe_shape`:
    steps, inputs, readout units, every step, loss), its steps' count cut so that the probe
    trains about as many time steps as rows' (at least 3 updates)."""
    import time

    import torch

    widths = widths or probe_widths(device)

    from ..data import TaskShape
    from ..training import WARMUP_STEPS, flushed, make_engine, precision_context, stepper

    measured = []
    seq, n_in, n_out, every, loss = shape or (IMAGE_SHAPE[0], IMAGE_SHAPE[1], 10, False, "xent")
    task = TaskShape(n_in, n_out, "every" if every else "last", loss)
    steps = max(3, steps * IMAGE_SHAPE[0] // seq)
    x = torch.rand(100, seq, n_in, device=device)
    if loss == "mse":
        y = torch.rand(100, device=device)
    else:
        y = torch.randint(0, n_out, (100, seq) if every else (100,), device=device)
    with precision_context(precision), flushed(device):  # as the trials will run
        for h in widths:
            runner = make_engine(
                engine, [TrialConfig(hidden=h, lr=1e-3, precision=precision, cell=cell)], device, task
            )
            step = stepper(runner, device)  # as training steps it (a CUDA graph on a GPU)
            for _ in range(WARMUP_STEPS + 2):  # warm-up (and the graph's capture)
                step(x, y)
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            t0 = time.perf_counter()
            for _ in range(steps):
                step(x, y)
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            flops = step_flops(h, 100, GATES[cell], seq, n_in, n_out if every else 0)
            measured.append(((time.perf_counter() - t0) / steps, flops))
    narrow, wide = measured
    return fit(narrow, wide, device=str(device))


def fit(narrow: tuple[float, float], wide: tuple[float, float], device: str) -> Calibration:
    """The line through two probe points (seconds per step, FLOPs per step): overhead + FLOPs /
    throughput. Where the two widths cannot tell arithmetic from overhead (the wide step no
    slower than the narrow one, or hardly: on a busy machine, say, whose noise once fitted
    10 ms of overhead and 10^18 FLOP/s, and cached it), the narrow step is taken as overhead and
    the wide one's rate as throughput: too slow rather than absurdly fast."""
    (t1, f1), (t2, f2) = narrow, wide
    raw = f2 / max(t2, 1e-9)  # the wide width's rate, overhead included
    throughput = (f2 - f1) / max(t2 - t1, 1e-9)
    if throughput <= 0 or throughput > DEGENERATE * raw:
        return Calibration(max(0.0, t1), raw, device)
    overhead = max(0.0, t1 - f1 / throughput)
    return Calibration(overhead, throughput, device)


# A fit whose throughput is this many times the wide step's own rate says that the wide step is
# over 95 % overhead: the probe's widths did not see the arithmetic.
DEGENERATE = 20.0


def calibration_for(
    device: torch.device,
    precision: str = "fp32",
    engine: str = "single",
    refresh: bool = False,
    cell: str = "lstm",
    widest: int | None = None,
    threads: int | None = None,
    shape: tuple | None = None,
) -> Calibration:
    """A cached probe result for this machine, device, precision, engine and cell (probed if
    new); on a GPU, probed up to ``widest`` units (:func:`probe_widths`); on a CPU with
    ``threads`` torch threads (None: as this process has them)."""
    import torch

    if threads is None or device.type != "cpu" or threads == torch.get_num_threads():
        return _calibration_for(device, precision, engine, refresh, cell, widest, shape)
    saved = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        return _calibration_for(device, precision, engine, refresh, cell, widest, shape)
    finally:
        torch.set_num_threads(saved)


def _calibration_for(
    device: torch.device,
    precision: str,
    engine: str,
    refresh: bool,
    cell: str,
    widest: int | None,
    shape: tuple | None = None,
) -> Calibration:
    import json

    import torch

    from ..data import cache_dir
    from ..training import device_name

    widths = probe_widths(device, widest)
    key = "|".join(
        [device_name(device), str(torch.get_num_threads()), torch.__version__, precision, engine]
        + ([cell] if cell != "lstm" else [])
        + ([f"{widths[0]}-{widths[1]}"] if device.type == "cuda" else [])
        + ([f"task={'x'.join(map(str, shape))}"] if shape is not None else [])
    )
    path = Path(os.environ.get("LSTM_SWEEP_CALIBRATION") or cache_dir().parent / "calibration.json")
    cache: dict = {}
    try:
        cache = json.loads(path.read_text())
    except (OSError, ValueError, RecursionError):  # none yet, or damaged: probe again
        pass
    if not isinstance(cache, dict):
        cache = {}
    cached = _cached(cache.get(key))
    if cached is not None and not refresh:
        return cached
    cal = probe(device, precision, engine, cell, widths=widths, shape=shape)
    cache[key] = {"overhead_s": cal.overhead_s, "flops_per_s": cal.flops_per_s, "device": cal.device}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(cache, indent=1))
        tmp.replace(path)
    except OSError:
        pass  # a cache we cannot write is only slower next time
    return cal


def _cached(entry: object) -> Calibration | None:
    """A cache entry as a :class:`Calibration`, or None where it is not one (a file edited by
    hand or damaged is probed again, never trusted)."""
    if not isinstance(entry, dict):
        return None
    overhead, rate, device = (entry.get(k) for k in ("overhead_s", "flops_per_s", "device"))
    if not (_is_number(overhead) and _is_number(rate) and isinstance(device, str)):
        return None
    if overhead < 0 or rate <= 0:
        return None
    return Calibration(float(overhead), float(rate), device)


def _is_number(value: object) -> TypeGuard[float]:
    """A finite int or float (not a bool)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
