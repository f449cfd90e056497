"""Side by side, in one process: the naive baseline vs lstm-sweep's engines on the quick grid.

(a) baseline: what a user writes — one ``torch.nn.LSTM`` trial after another (``torch.optim.Adam``,
    all cores), then test accuracy; it keeps denormal floats, as PyTorch does by default (a trial
    that saturates then runs many times slower);
(a') baseline ftz: the same loop with denormals flushed on every thread, as lstm-sweep trains
    (the ratio against it is the engines' own gain, without the denormals');
(b) lstm-sweep: the same trials (same batches) through the engine strategies, evaluation included
    (validation + test), worker start-up included:
    - ``auto``: what ``lstm-sweep run`` does by default on this device;
    - ``single``: one trial at a time (oneDNN), no workers;
    - ``fused``: each width's trials as one batched model, no workers.

Prints per width the ms per training step of one trial, achieved GFLOP/s, this run's fp32 matmul
peak (a large ``torch.mm``) and the ratios engine / baseline. Run it alone on the machine.

    python benchmarks/bench_engine.py [--steps 200] [--hidden 16,32,64,128] [--strategies ...]
    python benchmarks/bench_engine.py --precision bf16  # our runs in bf16 (baseline fp32)
    python benchmarks/bench_engine.py --wide --steps 10  # widths >= 512: % of the matmul peak
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import time
from dataclasses import replace

import torch
import torch.nn.functional as F

from lstm_sweep.data import BatchStream, load_mnist
from lstm_sweep.running.executors.inprocess import InProcessExecutor
from lstm_sweep.running.executors.local import LocalExecutor
from lstm_sweep.running.units import cpu_cores, make_units, phases
from lstm_sweep.study.config import HW2_LRS, TrialConfig
from lstm_sweep.training.denormals import flushed


class BenchmarkInvalid(SystemExit):
    """The measurement cannot be trusted: say why and print no ratio."""


def check_finished(results, what: str) -> None:
    """Every timed trial must have trained (``done``, or ``diverged``: counted as such); a trial
    that failed or ran out of memory in seconds would make any ratio a false win."""
    bad = [r for r in results if str(r.status) not in ("done", "diverged")]
    if bad:
        r = bad[0]
        raise BenchmarkInvalid(
            f"benchmark invalid: {len(bad)} of {len(results)} trials of {what} ended "
            f"{sorted({str(b.status) for b in bad})} (first: hidden {r.config.hidden} lr "
            f"{r.config.lr:g}: {r.error}); no ratio printed"
        )
    diverged = sum(str(r.status) == "diverged" for r in results)
    if diverged:
        print(
            f"  note: {diverged} of {len(results)} trials of {what} diverged (they stop early; "
            "timed as they ran)"
        )


def check_below_peak(gflops: float, peak: float, what: str) -> None:
    """A rate above the machine's measured matmul peak is a measurement error, not a result."""
    if gflops > peak * 1.05:
        raise BenchmarkInvalid(
            f"benchmark invalid: {what} computes {gflops:.0f} GFLOP/s, above "
            f"this machine's {peak:.0f} GFLOP/s matmul peak; no ratio printed"
        )


def trial_flops(hidden: int, steps: int, batch: int = 100) -> float:
    """fwd + bwd matmul FLOPs of the LSTM (docs/DESIGN.md): 3 x steps x B x 28 x 2 (28 + H) 4H."""
    return 3 * steps * batch * 28 * 2 * (28 + hidden) * 4 * hidden


def matmul_peak(dtype=torch.float32, n: int = 2048, repeats: int = 5) -> float:
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    a @ b
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - t0)
    return 2 * n**3 / statistics.median(times) / 1e9


def baseline(configs, data) -> float:
    """One nn.LSTM trial after another, as a user would write it; returns wall seconds."""
    x_all = torch.as_tensor(data.train.images.reshape(-1, 28, 28))
    y_all = torch.as_tensor(data.train.labels)
    test_x = torch.as_tensor(data.test.images.reshape(-1, 28, 28))
    test_y = torch.as_tensor(data.test.labels)
    t0 = time.perf_counter()
    for c in configs:
        torch.manual_seed(c.seed)
        lstm, head = torch.nn.LSTM(28, c.hidden, batch_first=True), torch.nn.Linear(c.hidden, 10)
        opt = torch.optim.Adam([*lstm.parameters(), *head.parameters()], lr=c.lr)
        batches = BatchStream(len(y_all), c.batch_size, seed=c.data_seed)
        for _ in range(c.steps):
            idx = torch.as_tensor(batches.next_indices())
            out, _ = lstm(x_all[idx])
            loss = F.cross_entropy(head(out[:, -1]), y_all[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            out, _ = lstm(test_x)
            (head(out[:, -1]).argmax(1) == test_y).float().mean().item()
    return time.perf_counter() - t0


CPU = torch.device("cpu")


def engine(configs, data, strategy: str, device=CPU):
    """Our engine on the same trials, as `lstm-sweep run --engine <strategy>` runs them
    (``auto`` with its default workers; ``single``/``fused`` in this process).

    Returns wall seconds, what it chose, and the results."""
    units = make_units(configs, strategy, device)
    planned = phases(units, device, None if strategy == "auto" else 1)
    executor = LocalExecutor() if strategy == "auto" else InProcessExecutor()
    results = []
    t0 = time.perf_counter()
    for _, rs in executor.run(units, data, device):
        results.extend(rs)
    chosen = "; ".join(
        f"{len(p)} {p[0].engine} unit(s) of width {sorted({u.hidden for u in p})} on {n} worker(s)"
        for p, n in planned
    )
    return time.perf_counter() - t0, chosen, results


def main() -> None:
    from lstm_sweep.training.device import check_precision

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--hidden", default="16,32,64,128")
    ap.add_argument("--strategies", default="auto,single,fused")
    ap.add_argument(
        "--precision",
        default="fp32",
        choices=("fp32", "bf16"),
        help="precision of lstm-sweep's runs (the baseline stays fp32)",
    )
    ap.add_argument("--wide", action="store_true", help="widths 512,1024: %% of matmul peak")
    args = ap.parse_args()
    check_precision(CPU, args.precision)  # e.g. bf16 on a CPU without it: a clear error
    data = load_mnist()
    print(
        f"machine: {cpu_cores()} cores, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads; load average {os.getloadavg()[0]:.2f}"
    )
    peak = matmul_peak()
    print(
        f"fp32 matmul peak (2048^3 torch.mm): {peak:.0f} GFLOP/s; "
        f"bf16: {matmul_peak(torch.bfloat16):.0f} GFLOP/s"
    )
    if args.wide:
        return wide(data, peak, args.steps)
    widths = [int(h) for h in args.hidden.split(",")]
    strategies = args.strategies.split(",")
    configs = [TrialConfig(hidden=h, lr=lr, steps=args.steps) for h in widths for lr in HW2_LRS]
    flops = {h: trial_flops(h, args.steps) * len(HW2_LRS) for h in widths}
    print(
        f"grid: hidden {widths} x {len(HW2_LRS)} rates = {len(configs)} trials, "
        f"{args.steps} steps each, evaluation included; lstm-sweep in {args.precision}\n"
    )

    baseline([TrialConfig(hidden=16, lr=1e-3, steps=5)], data)  # warm-up: not timed
    per_width: dict[str, dict[int, float]] = {"baseline": {}, "baseline ftz": {}}
    totals = {}
    for name, mode in (("baseline", contextlib.nullcontext), ("baseline ftz", flushed)):
        t0 = time.perf_counter()
        with mode():
            for h in widths:
                per_width[name][h] = baseline([c for c in configs if c.hidden == h], data)
        totals[name] = time.perf_counter() - t0
    chosen = {}
    for s in strategies:
        ours = [replace(c, precision=args.precision) for c in configs]
        totals[s], chosen[s], results = engine(ours, data, s)
        check_finished(results, f"strategy {s}")
        # a trial's own clock; side-by-side workers overlap, so per width = sum / workers
        n = max(1, round(sum(r.wall_s for r in results) / totals[s]))
        per_width[s] = {h: sum(r.wall_s for r in results if r.config.hidden == h) / n for h in widths}

    print(f"{'hidden':>6}" + "".join(f"  {k:>20}" for k in per_width))
    for h in widths:
        line = f"{h:>6}"
        for times in per_width.values():
            ms = times[h] / (len(HW2_LRS) * args.steps) * 1000
            ratio = per_width["baseline"][h] / times[h]
            line += f"  {ms:6.2f} ms {flops[h] / times[h] / 1e9:5.1f} GF x{ratio:4.2f}"
        print(line)
    print("(ms per training step of one trial; GF = achieved GFLOP/s; x = baseline / this)")
    total_flops = sum(flops.values())
    for s in strategies:
        check_below_peak(total_flops / totals[s] / 1e9, peak, f"strategy {s}")
    print(
        f"\nwhole grid, wall time: baseline {totals['baseline']:.1f} s "
        f"({100 * total_flops / totals['baseline'] / 1e9 / peak:.0f}% of the fp32 peak), "
        f"baseline ftz {totals['baseline ftz']:.1f} s"
    )
    for s in strategies:
        print(
            f"  {s:>6}: {totals[s]:6.1f} s   ratio engine/baseline = "
            f"{totals['baseline'] / totals[s]:.2f}   "
            f"(/ baseline ftz = {totals['baseline ftz'] / totals[s]:.2f})   "
            f"({100 * total_flops / totals[s] / 1e9 / peak:.0f}% of peak)   {chosen[s]}"
        )
    print(
        f"FLOP limit of the ratio at this peak: "
        f"{totals['baseline'] / (total_flops / (peak * 1e9)):.2f} (ftz: "
        f"{totals['baseline ftz'] / (total_flops / (peak * 1e9)):.2f})"
    )


def wide(data, peak: float, steps: int) -> None:
    """Training steps alone (no evaluation) of one wide trial: achieved vs matmul peak."""
    from lstm_sweep.training.engines import make_engine

    x = torch.as_tensor(data.train.images[:100].reshape(-1, 28, 28))
    y = torch.as_tensor(data.train.labels[:100])
    for h in (512, 1024):
        for precision, p in (("fp32", peak), ("bf16", matmul_peak(torch.bfloat16))):
            runner = make_engine("single", [TrialConfig(hidden=h, lr=1e-3, precision=precision)], CPU)
            losses = runner.train_step(x, y)  # warm-up
            if not torch.isfinite(losses).all():
                raise BenchmarkInvalid(
                    f"benchmark invalid: hidden {h} {precision}: the warm-up step's loss is not finite"
                )
            times = []
            for _ in range(steps):
                t0 = time.perf_counter()
                runner.train_step(x, y)
                times.append(time.perf_counter() - t0)
            t = statistics.median(times)
            achieved = trial_flops(h, 1) / t / 1e9
            check_below_peak(achieved, p, f"hidden {h} {precision}")
            print(
                f"hidden {h} {precision}: {t * 1000:.0f} ms/step (median of {steps}), "
                f"{achieved:.0f} GFLOP/s = {100 * achieved / p:.0f}% of the {precision} "
                f"matmul peak ({p:.0f})"
            )


if __name__ == "__main__":
    main()
