"""Denormal floats, side by side in one process: one trial through ``run_trial`` (one thread)
with denormals kept (as before lstm-sweep flushed them) and flushed (as now, and as TF 1.x),
for the cells that saturate or diverge and one that learns. Same trial, same batches; the
accuracy shows what flushing changes in the result. Run it alone on the machine.

    python benchmarks/bench_denormals.py [--steps 300] [--cells 64:1.0,128:0.1,64:0.01]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import time

import torch

from lstm_sweep import TrialConfig
from lstm_sweep.data import load_mnist
from lstm_sweep.training import train as train_module
from lstm_sweep.training.train import run_trial


def timed(config: TrialConfig, data, flush: bool):
    real = train_module.flushed
    if not flush:  # the code path as it was before: no mode set anywhere
        train_module.flushed = lambda device: contextlib.nullcontext(False)
    try:
        t0 = time.perf_counter()
        r = run_trial(config, data, device="cpu")
        return time.perf_counter() - t0, r
    finally:
        train_module.flushed = real


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--cells", default="64:1.0,128:0.1,64:0.01")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    data = load_mnist()
    print(
        f"torch {torch.__version__}, {args.threads} thread(s), load average "
        f"{os.getloadavg()[0]:.2f}; {args.steps} steps per trial"
    )
    print(f"{'hidden':>6} {'lr':>6}  {'kept':>8}  {'flushed':>8}  {'speed-up':>8}  accuracy kept / flushed")
    for cell in args.cells.split(","):
        h, lr = cell.split(":")
        config = TrialConfig(hidden=int(h), lr=float(lr), steps=args.steps)
        t_kept, kept = timed(config, data, flush=False)
        t_flushed, flushed = timed(config, data, flush=True)
        print(
            f"{h:>6} {lr:>6}  {t_kept:7.1f}s  {t_flushed:7.1f}s  {t_kept / t_flushed:7.1f}x  "
            f"{kept.test_accuracy} ({kept.status}) / {flushed.test_accuracy} "
            f"({flushed.status})"
        )


if __name__ == "__main__":
    main()
