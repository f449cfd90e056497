"""How close the plan's ETA comes to the real thing: plan a small grid (the probe of this device,
taken afresh), run it, and print per trial the predicted and the measured seconds and their
ratio, in one run. Run it alone on the machine: a second busy process makes both numbers lie.

    python benchmarks/bench_plan.py [--hidden 16,64,256] [--steps 300] [--workers 1]

(The tests check what does not depend on the machine's speed: that the plan is its probe's
model, and its memory against the measured peaks.)
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from lstm_sweep import Grid, load_mnist, load_results, plan_sweep, run_sweep, sweep_request


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hidden", default="16,64,256")
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--workers", type=int, default=1)
    args = ap.parse_args()
    grid = Grid(hidden=tuple(int(h) for h in args.hidden.split(",")), lrs=(1e-2,),
                steps=args.steps)
    data = load_mnist()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        request = sweep_request(grid, db, data=data, device="cpu", engine="single",
                                workers=args.workers)
        plan = plan_sweep(request, refresh=True).cost
        run_sweep(grid, data, db, device="cpu", engine="single", workers=args.workers)
        measured = {r.config: r for r in load_results(db)}
    print(f"probe: {plan.calibration.overhead_s * 1e3:.2f} ms/step overhead + "
          f"{plan.calibration.flops_per_s / 1e9:.0f} GFLOP/s")
    print(f"{'hidden':>6}  {'planned':>9}  {'measured':>9}  {'ratio':>6}")
    ratios = []
    for u in plan.units:
        r = measured[u.unit.configs[0]]
        ratio = u.seconds / r.wall_s
        ratios.append(ratio)
        print(f"{u.unit.hidden:>6}  {u.seconds:>8.2f}s  {r.wall_s:>8.2f}s  {ratio:>6.2f}")
    print(f"planned / measured: {min(ratios):.2f} to {max(ratios):.2f}")


if __name__ == "__main__":
    main()
