"""Side by side, in one process: each cell (TF's LSTM, GRU, basic RNN) through lstm-sweep's
strategies on the quick widths x the six rates, evaluation included:

- ``auto``: what ``lstm-sweep run`` does by default on this device (workers side by side);
- ``single``: one trial at a time, no workers;
- ``fused``: each width's trials as one batched model, no workers.

Prints per cell and width the ms per training step of one trial and the ratio single / fused,
then per cell the whole grid's wall time and the ratios single / auto and single / fused, and
the cost of each cell relative to the LSTM. Run it alone on the machine; medians of
``--repeats`` runs.

    python benchmarks/bench_cells.py [--steps 100] [--hidden 16,32,64,128] [--cells lstm,gru,rnn]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
from pathlib import Path

import torch

from lstm_sweep.data import load_mnist
from lstm_sweep.running.units import cpu_cores
from lstm_sweep.study.config import HW2_LRS, TrialConfig

_spec = importlib.util.spec_from_file_location("bench_engine", Path(__file__).parent / "bench_engine.py")
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)

STRATEGIES = ("auto", "single", "fused")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--hidden", default="16,32,64,128")
    ap.add_argument("--cells", default="lstm,gru,rnn")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    data = load_mnist()
    widths = [int(h) for h in args.hidden.split(",")]
    cells = args.cells.split(",")
    print(
        f"machine: {cpu_cores()} cores, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads; load average {os.getloadavg()[0]:.2f}"
    )
    print(
        f"grid per cell: hidden {widths} x {len(HW2_LRS)} rates, {args.steps} steps, "
        f"evaluation included; median of {args.repeats} runs\n"
    )
    bench.engine([TrialConfig(hidden=16, lr=1e-3, steps=5)], data, "single")  # warm-up
    totals: dict[str, dict[str, float]] = {}
    print(f"{'cell':>4} {'hidden':>6}  {'single ms':>9}  {'fused ms':>8}  single/fused")
    for cell in cells:
        configs = [
            TrialConfig(hidden=h, lr=lr, steps=args.steps, cell=cell, data_seed=0)
            for h in widths
            for lr in HW2_LRS
        ]
        runs: dict[str, list[float]] = {s: [] for s in STRATEGIES}
        per_width: dict[str, dict[int, list[float]]] = {s: {h: [] for h in widths} for s in STRATEGIES}
        for _ in range(args.repeats):
            for s in STRATEGIES:  # interleaved, so that drift hits every strategy alike
                seconds, _, results = bench.engine(configs, data, s)
                bench.check_finished(results, f"{cell} strategy {s}")
                runs[s].append(seconds)
                n = max(1, round(sum(r.wall_s for r in results) / seconds))
                for h in widths:
                    per_width[s][h].append(sum(r.wall_s for r in results if r.config.hidden == h) / n)
        totals[cell] = {s: statistics.median(v) for s, v in runs.items()}
        for h in widths:
            single, fused = (statistics.median(per_width[s][h]) for s in ("single", "fused"))
            ms = lambda t: t / (len(HW2_LRS) * args.steps) * 1000  # noqa: E731
            print(f"{cell:>4} {h:>6}  {ms(single):9.2f}  {ms(fused):8.2f}  {single / fused:12.2f}")
    print("\nwhole grid per cell, wall time (median):")
    for cell, t in totals.items():
        print(
            f"  {cell:>4}: auto {t['auto']:6.1f} s  single {t['single']:6.1f} s  "
            f"fused {t['fused']:6.1f} s   single/auto {t['single'] / t['auto']:.2f}  "
            f"single/fused {t['single'] / t['fused']:.2f}"
            + (
                f"   auto vs LSTM's auto: {t['auto'] / totals['lstm']['auto']:.2f}x"
                if "lstm" in totals and cell != "lstm"
                else ""
            )
        )


if __name__ == "__main__":
    main()
