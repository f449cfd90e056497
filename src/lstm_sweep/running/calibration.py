"""Calibration: a short probe of this device (a few training steps at two widths) fits the cost
model's overhead and throughput; results are cached per machine, device, threads, torch version,
precision and engine (``$LSTM_SWEEP_CALIBRATION``, else next to the data cache)."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import TYPE_CHECKING

from ..data import IMAGE_SHAPE
from ..study.config import GATES, TrialConfig
from .cost import Calibration, step_flops

if TYPE_CHECKING:  # torch loads only when probing
    import torch


def probe(device: torch.device, precision: str = "fp32", engine: str = "single", cell: str = "lstm",
          steps: int = 12, widths: tuple[int, int] = (32, 128)) -> Calibration:
    """Time a few training steps at two widths on random data and fit overhead + throughput."""
    import time

    import torch

    from ..training.engines import make_engine
    from ..training.engines.base import precision_context

    measured = []
    x = torch.rand(100, *IMAGE_SHAPE, device=device)
    y = torch.randint(0, 10, (100,), device=device)
    with precision_context(precision):
        for h in widths:
            runner = make_engine(engine, [TrialConfig(hidden=h, lr=1e-3, precision=precision,
                                                      cell=cell)],
                                 device)
            runner.train_step(x, y)  # warm-up
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            t0 = time.perf_counter()
            for _ in range(steps):
                runner.train_step(x, y)
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            measured.append(((time.perf_counter() - t0) / steps,
                             step_flops(h, 100, GATES[cell])))
    (t1, f1), (t2, f2) = measured
    throughput = (f2 - f1) / max(t2 - t1, 1e-9)
    if throughput <= 0:  # noise: fall back to the larger width's throughput, no overhead
        return Calibration(0.0, f2 / t2, str(device))
    overhead = max(0.0, t1 - f1 / throughput)
    return Calibration(overhead, throughput, str(device))


def calibration_for(device: torch.device, precision: str = "fp32", engine: str = "single",
                    refresh: bool = False, cell: str = "lstm") -> Calibration:
    """A cached probe result for this machine, device, precision, engine and cell (probed if
    new)."""
    import json

    import torch

    from ..data import cache_dir
    from ..training.device import device_name

    key = "|".join([device_name(device), str(torch.get_num_threads()), torch.__version__,
                    precision, engine] + ([cell] if cell != "lstm" else []))
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
    cal = probe(device, precision, engine, cell)
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


def _cached(entry: object) -> Calibration | None:
    """A cache entry as a :class:`Calibration`, or None where it is not one (a file edited by
    hand or damaged is probed again, never trusted)."""
    if not isinstance(entry, dict):
        return None
    overhead, rate, device = (entry.get(k) for k in ("overhead_s", "flops_per_s", "device"))
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                  for v in (overhead, rate))
    if not numbers or overhead < 0 or rate <= 0 or not isinstance(device, str):
        return None
    return Calibration(float(overhead), float(rate), device)
