"""Side by side, in one process: does a 784-step task train as fast per FLOP as the homework's
28 steps on the fused engine, and is it no slower than what a user would write?

For each width, K models (the homework's first K rates) on one batch of random inputs:

(a) fused rows: ``make_engine("fused", ...)`` on 28 steps of 28 inputs (the homework's shape);
(b) fused pixels: the same engine on 784 steps of 1 input (``TaskShape(1, 10, "last",
    "xent")``, sequential MNIST's shape);
(c) plain pixels: what a user writes for the same K models: K separate
    ``nn.LSTM(1, H, batch_first=True)`` + ``nn.Linear(H, 10)``, cross-entropy at the last step,
    ``torch.optim.Adam``, ``loss.backward()``, one model after another.

Each is timed per training update of all K models (warm-up first, then the median of
``--repeats``), and turned into achieved GFLOP/s with the project's own count,
``running.cost.config_step_flops`` of ``TrialConfig(task="rows")`` vs ``task="pixels"`` (the
plan's FLOPs, ``3 B T 2 (I + H) 4H`` per model: a pixels update is 28 (1 + H) / (28 + H) times
a rows one, 15x at width 32, 23x at 128, in 28 times as many small steps). The issue's goal is
pixels GF/s >= rows GF/s (the step loop is not the cost) and fused <= plain per update.

The fused engine runs with denormals flushed, as lstm-sweep trains; the plain loop as PyTorch
does by default (random inputs and fresh weights make denormals unlikely in a few updates).
Run it alone on the machine (``--quick``: a check that it works, in seconds).

    python benchmarks/bench_tasks.py [--hidden 32,64,128] [--models 4] [--batch 50] [--repeats 5]
    python benchmarks/bench_tasks.py --quick [--threads 1]

On a machine others are using, threads spin at OpenMP's barriers and small updates take many
times longer (print the load average; ``--threads 1`` is steadier there, not the goal's number).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F

from lstm_sweep.data import ROWS, TaskShape
from lstm_sweep.running.cost import config_step_flops
from lstm_sweep.running.units import cpu_cores
from lstm_sweep.study.config import HW2_LRS, TrialConfig
from lstm_sweep.training import make_engine
from lstm_sweep.training.denormals import flushed

_spec = importlib.util.spec_from_file_location("bench_engine", Path(__file__).parent / "bench_engine.py")
assert _spec is not None and _spec.loader is not None
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)

CPU = torch.device("cpu")
PIXELS = TaskShape(1, 10, "last", "xent")
SHAPES = {"rows": (ROWS, 28, 28), "pixels": (PIXELS, 784, 1)}  # task: (shape, steps, inputs)


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (else what ``platform`` says)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def configs_for(task: str, hidden: int, models: int, batch: int) -> list[TrialConfig]:
    """K trials of one width that fuse into one group (one seed, so one batch order): the first
    ``models`` homework rates, cycled."""
    rates = [HW2_LRS[k % len(HW2_LRS)] for k in range(models)]
    return [TrialConfig(hidden=hidden, lr=lr, batch_size=batch, task=task) for lr in rates]


def update_flops(task: str, hidden: int, models: int, batch: int) -> float:
    """FLOPs of one training update of all K models, as the plan counts them."""
    return sum(config_step_flops(c) for c in configs_for(task, hidden, models, batch))


def batch_of(task: str, batch: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Random inputs in [0, 1) of the task's shape (B, T, I) and random labels (B,)."""
    _, steps, inputs = SHAPES[task]
    g = torch.Generator().manual_seed(seed)
    return torch.rand(batch, steps, inputs, generator=g), torch.randint(0, 10, (batch,), generator=g)


def median_seconds(update: Callable[[], object], warmup: int, repeats: int) -> float:
    """The median wall time of ``update()`` over ``repeats`` calls, after ``warmup`` untimed."""
    for _ in range(warmup):
        update()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        update()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def fused_update(task: str, hidden: int, models: int, batch: int) -> Callable[[], object]:
    """One training update of the fused engine holding K models of ``task``'s shape."""
    shape = SHAPES[task][0]
    engine = make_engine("fused", configs_for(task, hidden, models, batch), CPU, shape)
    x, y = batch_of(task, batch)

    def update():
        losses = engine.train_step(x, y)
        if not torch.isfinite(losses).all():
            raise bench.BenchmarkInvalid(
                f"benchmark invalid: fused {task} hidden {hidden}: a loss is not finite; no ratio printed"
            )
        return losses

    return update


def plain_update(hidden: int, models: int, batch: int) -> Callable[[], object]:
    """One training update of K separate ``nn.LSTM(1, H)`` + ``nn.Linear(H, 10)`` models on
    pixels, one after another, each with its own ``torch.optim.Adam``: what a user writes."""
    x, y = batch_of("pixels", batch)
    nets = []
    for k, c in enumerate(configs_for("pixels", hidden, models, batch)):
        torch.manual_seed(k)
        lstm, head = torch.nn.LSTM(1, hidden, batch_first=True), torch.nn.Linear(hidden, 10)
        nets.append((lstm, head, torch.optim.Adam([*lstm.parameters(), *head.parameters()], lr=c.lr)))

    def update():
        for lstm, head, opt in nets:
            out, _ = lstm(x)
            loss = F.cross_entropy(head(out[:, -1]), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            if not torch.isfinite(loss):
                raise bench.BenchmarkInvalid(
                    f"benchmark invalid: plain pixels hidden {hidden}: a loss is not finite; no ratio printed"
                )

    return update


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hidden", default="32,64,128", help="widths")
    ap.add_argument("--models", type=int, default=4, help="K: models fused (and plain models)")
    ap.add_argument("--batch", type=int, default=50, help="sequences per update")
    ap.add_argument("--repeats", type=int, default=5, help="timed updates (median)")
    ap.add_argument("--warmup", type=int, default=2, help="untimed updates first")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: one per core)")
    ap.add_argument("--quick", action="store_true", help="a check that it works: width 16, K 2, 2 repeats")
    args = ap.parse_args(argv)
    if args.quick:
        args.hidden, args.models, args.batch, args.repeats, args.warmup = "16", 2, 10, 2, 1
    widths = [int(h) for h in args.hidden.split(",")]
    k, batch = args.models, args.batch
    torch.set_num_threads(args.threads or cpu_cores())
    print(
        f"machine: {cpu_model()}; {cpu_cores()} cores, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads; load average {os.getloadavg()[0]:.2f}"
    )
    peak = bench.matmul_peak()
    print(f"fp32 matmul peak (2048^3 torch.mm): {peak:.0f} GFLOP/s")
    print(
        f"K = {k} models per update, batch {batch}; rows 28 steps x 28 inputs, pixels 784 steps x 1 "
        f"input; median of {args.repeats} updates after {args.warmup} warm-up\n"
    )
    rows = []
    for h in widths:
        flops = {task: update_flops(task, h, k, batch) for task in SHAPES}
        with flushed(CPU):
            t_rows = median_seconds(fused_update("rows", h, k, batch), args.warmup, args.repeats)
            t_pixels = median_seconds(fused_update("pixels", h, k, batch), args.warmup, args.repeats)
        t_plain = median_seconds(plain_update(h, k, batch), args.warmup, args.repeats)
        gf = {
            "rows": flops["rows"] / t_rows / 1e9,
            "pixels": flops["pixels"] / t_pixels / 1e9,
            "plain": flops["pixels"] / t_plain / 1e9,
        }
        for what, rate in gf.items():
            bench.check_below_peak(rate, peak, f"{what} at hidden {h}")
        rows.append((h, t_rows, gf["rows"], t_pixels, gf["pixels"], t_plain, gf["plain"]))

    print(
        f"{'hidden':>6}  {'rows ms':>8} {'rows GF/s':>9}  {'pixels ms':>9} {'pixels GF/s':>11}  "
        f"{'pix/rows':>8}  {'plain ms':>9} {'plain GF/s':>10}  {'plain/fused':>11}"
    )
    for h, t_rows, g_rows, t_pixels, g_pixels, t_plain, g_plain in rows:
        print(
            f"{h:>6}  {1000 * t_rows:8.2f} {g_rows:9.2f}  {1000 * t_pixels:9.2f} {g_pixels:11.2f}  "
            f"{g_pixels / g_rows:8.2f}  {1000 * t_plain:9.2f} {g_plain:10.2f}  {t_plain / t_pixels:11.2f}"
        )
    print(
        f"(ms per training update of all {k} models; GF/s = achieved GFLOP/s by the plan's count; "
        "pix/rows = pixels GF/s / rows GF/s (goal >= 1); plain/fused = plain nn.LSTM pixels time / "
        "fused pixels time (goal >= 1))"
    )


if __name__ == "__main__":
    main()
