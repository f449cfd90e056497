"""bf16 against fp32 on this CPU, side by side in one process: the matmul peaks, and training
steps of hw2's wide rows through both engines (one trial each, the same batch), with the plan's
prediction for each (its probe of that engine and precision). Run it alone on the machine.

    python benchmarks/bench_bf16.py [--hidden 1024,2048,4096] [--steps 3]

On a CPU without native bf16 (AVX2 only) it says so and stops: bf16 is refused there.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import torch

from lstm_sweep.running.calibration import calibration_for
from lstm_sweep.running.cost import step_flops
from lstm_sweep.study.config import TrialConfig
from lstm_sweep.training.denormals import flushed
from lstm_sweep.training.device import unsupported
from lstm_sweep.training.engines import make_engine
from lstm_sweep.training.engines.base import precision_context

CPU = torch.device("cpu")


def peak(dtype: torch.dtype, m: int, k: int, n: int, repeats: int = 5) -> float:
    a, b = torch.randn(m, k, dtype=dtype), torch.randn(k, n, dtype=dtype)
    a @ b
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - t0)
    return 2 * m * k * n / statistics.median(times) / 1e9


def step_seconds(hidden: int, engine: str, precision: str, steps: int, x, y) -> float:
    config = TrialConfig(hidden=hidden, lr=1e-3, precision=precision)
    with precision_context(precision), flushed(CPU):
        runner = make_engine(engine, [config], CPU)
        runner.train_step(x, y)  # warm-up (oneDNN builds its primitives)
        times = []
        for _ in range(steps):
            t0 = time.perf_counter()
            losses = runner.train_step(x, y)
            times.append(time.perf_counter() - t0)
    if not torch.isfinite(losses).all():
        raise SystemExit(f"benchmark invalid: hidden {hidden} {engine} {precision}: loss not finite")
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hidden", default="1024,2048,4096")
    ap.add_argument("--engines", default="single,fused")
    ap.add_argument("--steps", type=int, default=3)
    args = ap.parse_args()
    why = unsupported(CPU, "bf16")
    if why:
        raise SystemExit(f"no bf16 here: {why}")
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, load average {os.getloadavg()[0]:.2f}"
    )
    for shape in ((100, 4096, 16384), (2048, 2048, 2048)):
        f32, b16 = peak(torch.float32, *shape), peak(torch.bfloat16, *shape)
        print(
            f"matmul {shape[0]}x{shape[1]} @ {shape[1]}x{shape[2]}: fp32 {f32:.0f} GFLOP/s, "
            f"bf16 {b16:.0f} GFLOP/s ({b16 / f32:.1f}x)"
        )
    x = torch.rand(100, 28, 28)
    y = torch.randint(0, 10, (100,))
    print(
        f"\n{'hidden':>6} {'engine':>7}  {'fp32':>9}  {'bf16':>9}  {'bf16 x':>6}  "
        f"{'planned fp32':>12}  {'planned bf16':>12}"
    )
    for engine in args.engines.split(","):
        cal = {p: calibration_for(CPU, precision=p, engine=engine) for p in ("fp32", "bf16")}
        for h in (int(w) for w in args.hidden.split(",")):
            t = {p: step_seconds(h, engine, p, args.steps, x, y) for p in ("fp32", "bf16")}
            plan = {p: cal[p].overhead_s + step_flops(h, 100) / cal[p].flops_per_s for p in ("fp32", "bf16")}
            print(
                f"{h:>6} {engine:>7}  {t['fp32'] * 1e3:7.0f}ms  {t['bf16'] * 1e3:7.0f}ms  "
                f"{t['fp32'] / t['bf16']:5.2f}x  {plan['fp32'] * 1e3:10.0f}ms  "
                f"{plan['bf16'] * 1e3:10.0f}ms"
            )
    print("(median seconds of one training step, batch 100; planned = the plan's probe model)")


if __name__ == "__main__":
    main()
