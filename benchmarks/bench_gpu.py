"""The GPU check of the Fast-engine issue, as ONE prepared script (device time is scarce).

1. the whole hw2 grid (9 widths x 6 rates, 999 steps) with ``--engine auto``: wall time per row,
   whether the 4096 row completed, the table;
2. fused vs single, side by side, on a few rows at reduced steps.

    python benchmarks/bench_gpu.py                    # on the GPU machine
    python benchmarks/bench_gpu.py --device cpu --hidden 16,32 --steps 20 --compare 16
                                                      # a dry run of the script itself on a CPU
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from lstm_sweep.data import load_mnist
from lstm_sweep.reporting.tables import build_tables, render_tables
from lstm_sweep.running.sweep import run_sweep
from lstm_sweep.store import load_results
from lstm_sweep.study.config import HW2_HIDDEN, HW2_LRS, Grid, TrialConfig
from lstm_sweep.training.device import device_name, resolve_device
from lstm_sweep.training.train import train_group


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--hidden", default=",".join(map(str, HW2_HIDDEN)))
    ap.add_argument("--steps", type=int, default=999)
    ap.add_argument("--compare", default="64,256,1024", help="rows timed fused vs single")
    ap.add_argument("--compare-steps", type=int, default=200)
    ap.add_argument("--precision", default="fp32")
    args = ap.parse_args()
    device = resolve_device(args.device)
    from lstm_sweep.training.device import check_precision

    check_precision(device, args.precision)
    data = load_mnist()
    print(f"device: {device_name(device)}; torch {torch.__version__}")

    grid = Grid(hidden=tuple(int(h) for h in args.hidden.split(",")), lrs=HW2_LRS,
                steps=args.steps, precision=args.precision, name="hw2")
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "gpu.db"
        summary = run_sweep(grid, data, db, device=str(device), engine="auto")
        results = load_results(db)
    print(f"\nhw2 grid, engine auto: {summary.ran} trials in {summary.wall_s:.1f} s; "
          f"statuses {summary.statuses}")
    for h in grid.hidden:
        row = [r for r in results if r.config.hidden == h]
        engines = sorted({f"{r.engine} x{r.group_size}" for r in row})
        print(f"  row {h:>4}: {sum(r.wall_s for r in row):7.1f} s  ({', '.join(engines)}; "
              f"peak {max(r.peak_mem_bytes or 0 for r in row) / 2**30:.1f} GiB)")
    wide = [r for r in results if r.config.hidden == max(grid.hidden)]
    print(f"  widest row completed: {all(str(r.status) in ('done', 'diverged') for r in wide)}")
    print(render_tables(build_tables(results)))

    print(f"\nfused vs single, {args.compare_steps} steps, 6 rates per row:")
    for h in (int(x) for x in args.compare.split(",")):
        configs = [TrialConfig(hidden=h, lr=lr, steps=args.compare_steps,
                               precision=args.precision) for lr in HW2_LRS]
        times = {}
        for engine in ("single", "fused"):
            train_group(configs[:1], data, device=device, engine=engine)  # warm-up
            t0 = time.perf_counter()
            if engine == "fused":
                timed = train_group(configs, data, device=device, engine="fused")
            else:
                timed = [r for c in configs
                         for r in train_group([c], data, device=device, engine="single")]
            times[engine] = time.perf_counter() - t0
            bad = [r for r in timed if str(r.status) not in ("done", "diverged")]
            if bad:
                raise SystemExit(f"benchmark invalid: {len(bad)} trials of hidden {h} "
                                 f"({engine}) ended {bad[0].status}: {bad[0].error}")
        print(f"  hidden {h:>4}: single {times['single']:6.2f} s, fused {times['fused']:6.2f} s, "
              f"fused/single speed-up x{times['single'] / times['fused']:.2f}")


if __name__ == "__main__":
    main()
