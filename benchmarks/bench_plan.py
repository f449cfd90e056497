"""Does the plan hold? Plan a grid as ``lstm-sweep plan`` does (the probe of this device, taken
afresh), run it as ``lstm-sweep run`` does (engine auto, its default workers), and print per
width and for the whole grid the planned and the measured seconds and their ratio, in one run.
Run it alone on the machine: a second busy process makes both numbers lie.

    python benchmarks/bench_plan.py                      # the quick grid, all six rates, 999 steps
    python benchmarks/bench_plan.py --hidden 256 --steps 300          # one hw2 row, shorter
    python benchmarks/bench_plan.py --precision bf16 --hidden 1024,2048 --steps 30

By default every rate of the homework is in the grid, the diverging ones included: the plan's
probe sees a trial that learns, so a cost only a saturated or diverging trial pays (denormal
floats, before they were flushed) shows here as a ratio far from 1.

(The tests check what does not depend on the machine's speed: that the plan is its probe's
model, and its memory against the measured peaks.)
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import torch

from lstm_sweep import Grid, load_mnist, load_results, plan_sweep, run_sweep, sweep_request
from lstm_sweep.study.config import HW2_LRS, PRESETS


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hidden", default=None, help="widths  [default: the quick grid's]")
    ap.add_argument("--lr", default=None, help="rates  [default: the homework's six]")
    ap.add_argument("--steps", type=int, default=None, help="[default: 999, the homework's]")
    ap.add_argument("--precision", default="fp32", choices=("fp32", "bf16"))
    ap.add_argument("--engine", default="auto")
    ap.add_argument("--workers", type=int, default=None, help="[default: as run chooses]")
    args = ap.parse_args()
    quick = PRESETS["quick"]
    grid = Grid(
        hidden=tuple(int(h) for h in args.hidden.split(",")) if args.hidden else quick.hidden,
        lr=tuple(float(x) for x in args.lr.split(",")) if args.lr else HW2_LRS,
        steps=(args.steps,) if args.steps else quick.steps,
        precision=(args.precision,),
    )
    data = load_mnist()
    print(
        f"machine: {cpu_name()}, {os.cpu_count()} cores, torch {torch.__version__}; "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    print(
        f"grid: hidden {list(grid.hidden)} x lr {list(grid.lr)}, {grid.steps[0]} steps, "
        f"{args.precision}, engine {args.engine}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        request = sweep_request(
            grid, db, data=data, device="cpu", engine=args.engine, workers=args.workers, checkpoint_every=None
        )
        plan = plan_sweep(request, refresh=True).cost
        t0 = time.perf_counter()
        run_sweep(
            grid, data, db, device="cpu", engine=args.engine, workers=args.workers, checkpoint_every=None
        )
        wall = time.perf_counter() - t0
        measured = {r.config: r for r in load_results(db)}
    print(
        f"probe: {plan.calibration.overhead_s * 1e3:.2f} ms/step overhead + "
        f"{plan.calibration.flops_per_s / 1e9:.0f} GFLOP/s"
    )
    planned_w: dict[int, float] = defaultdict(float)
    measured_w: dict[int, float] = defaultdict(float)
    statuses: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for u in plan.units:  # a unit's time: the sum of its trials' shares (wall_s / group size)
        planned_w[u.unit.hidden] += u.seconds
        for c in u.unit.configs:
            r = measured[c]
            measured_w[u.unit.hidden] += r.wall_s
            statuses[u.unit.hidden][str(r.status)] += 1
    print(f"{'hidden':>6}  {'planned':>9}  {'measured':>9}  {'ratio':>6}  trials")
    for h in sorted(planned_w):
        s = ", ".join(f"{n} {k}" for k, n in sorted(statuses[h].items()))
        print(
            f"{h:>6}  {planned_w[h]:>8.1f}s  {measured_w[h]:>8.1f}s  "
            f"{planned_w[h] / measured_w[h]:>6.2f}  {s}"
        )
    print("(per width: the sum of its units' seconds on one worker; planned / measured)")
    print(
        f"whole grid: planned ETA {plan.seconds:.1f} s, measured wall {wall:.1f} s, "
        f"ratio {plan.seconds / wall:.2f}"
    )


if __name__ == "__main__":
    main()
