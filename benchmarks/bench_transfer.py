"""Learning-rate transfer at the seed's scale: tune the narrow widths, predict the wide ones,
verify, and set it all beside the full grid.

The homework's model (LSTM, Adam, rows of MNIST, 999 steps of 100 images, TF's init), three
seeds, a two-fold range of rates (2^-17 ... 1, 18 rates), ``sp`` and ``mup`` (base width 64):

(a) the full grid at the tuned widths (``run``): every rate, every seed — the reference for what
    the search picks and for the exponent fitted below the grid's resolution;
(b) ``lstm-sweep transfer`` (``plan_transfer``/``run_transfer``): a search at the tuned widths,
    a predicted rate per wider width (sp: the fitted exponent; mup: the widest tuned width's
    rate), the predicted rate ± ``--verify`` two-fold steps trained at each wider width.

It prints, per parametrization: the tuned widths (full grid's best, its sub-grid estimate with
its interval over seeds, the search's pick); the exponent alpha of best rate ∝ width^-alpha,
fitted on the full grid (sub-grid, bootstrap over seeds) and on the search's picks; the
divergence frontier's slope; and per predicted width the side-by-side table: predicted, found
(the best of the verified rates), validation and test accuracy at both, what was lost, and the
FLOPs share of the transfer against the full two-fold grid over every width. For sp, the
prediction at 1024 units is set against the GPU table's (best rate 0.01 up to 512 units, 0.001
from 1024 on a decade grid).

Both stores live in ``--dir`` (default: ~/.cache/lstm-sweep/bench): the run resumes where it
stopped (Ctrl-C or kill, then the same command), so a 1024-unit verification may span sittings.
``--predict`` names the widths to verify now; the FLOPs share is planned over ``--upto``'s.
Run it alone on the machine.

    python benchmarks/bench_transfer.py [--tune 16,32,64,128] [--predict 256,512,1024]
        [--seeds 0,1,2] [--steps 999] [--verify 1] [--dir DIR]
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from pathlib import Path

from lstm_sweep import Grid, load_results, run_sweep, sweep_request
from lstm_sweep.data import load_mnist
from lstm_sweep.running import plan_transfer, run_transfer
from lstm_sweep.running.cost import human_seconds
from lstm_sweep.study import best_rate, fit_exponent, fit_line, grid_estimate

TWOFOLD = tuple(2.0**-k for k in range(17, -1, -1))
# The GPU run's best rate per width (decade grid, one seed; docs/results.md).
GPU_BEST = {
    16: 0.01,
    32: 0.01,
    64: 0.01,
    128: 0.01,
    256: 0.01,
    512: 0.01,
    1024: 0.001,
    2048: 0.001,
    4096: 0.001,
}


def widths(text: str) -> tuple[int, ...]:
    return tuple(int(w) for w in text.split(","))


def grid(hidden, seeds, steps) -> Grid:
    return Grid(
        hidden=tuple(hidden),
        lr=TWOFOLD,
        seeds=tuple(seeds),
        steps=(steps,),
        param=("sp", "mup"),
        name="bench",
    )


def per_seed(db: Path, param: str, hidden: int) -> dict[float, list[float | None]]:
    """rate -> validation accuracy per seed (None: not finished or failed), finished trials."""
    out: dict[float, dict[int, float | None]] = {}
    for r in load_results(db):
        c = r.config
        if c.param != param or c.hidden != hidden or r.status.value == "pruned":
            continue
        ok = r.status.value == "done" and r.val_accuracy is not None and math.isfinite(r.val_accuracy)
        out.setdefault(c.lr, {})[c.seed] = r.val_accuracy if ok else None
    return {lr: [v[s] for s in sorted(v)] for lr, v in sorted(out.items())}


def frontier(table: dict[float, list[float | None]]) -> float | None:
    """The smallest rate from which every larger rate fails (mean accuracy < 0.2)."""
    failing = None
    for lr in sorted(table, reverse=True):
        vals = [v if v is not None else 0.0 for v in table[lr]]
        if statistics.fmean(vals) < 0.2:
            failing = lr
        else:
            break
    return failing


def r3(x: float | None) -> str:
    return "—" if x is None else f"{x:.3g}"


def pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.2f}%"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tune", default="16,32,64,128")
    ap.add_argument("--predict", default="256,512,1024", help="the wider widths verified now")
    ap.add_argument("--upto", default="256,512,1024", help="the wider widths the FLOPs share counts")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--steps", type=int, default=999)
    ap.add_argument("--verify", type=int, default=1)
    ap.add_argument("--dir", default=str(Path.home() / ".cache" / "lstm-sweep" / "bench"))
    args = ap.parse_args()
    tune, predict, upto = widths(args.tune), widths(args.predict), widths(args.upto)
    seeds = widths(args.seeds)
    folder = Path(args.dir)
    folder.mkdir(parents=True, exist_ok=True)
    full_db, transfer_db = folder / "transfer-grid.db", folder / "transfer.db"
    data = load_mnist()

    t0 = time.perf_counter()
    run_sweep(grid(tune, seeds, args.steps), data, full_db, device="cpu")
    print(f"(a) the full grid at {args.tune}: stored ({time.perf_counter() - t0:.0f} s now)", flush=True)

    whole = plan_transfer(
        sweep_request(grid(tune + upto, seeds, args.steps), transfer_db, data=data, device="cpu"),
        tune_widths=tune,
        verify=args.verify,
    )
    plan = plan_transfer(
        sweep_request(grid(tune + predict, seeds, args.steps), transfer_db, data=data, device="cpu"),
        tune_widths=tune,
        verify=args.verify,
    )
    t0 = time.perf_counter()
    summary = run_transfer(plan)
    print(
        f"(b) transfer to {args.predict}: {summary.flops_transfer / 1e15:.3g} PFLOP trained now, "
        f"{time.perf_counter() - t0:.0f} s",
        flush=True,
    )

    print()
    print(
        f"LSTM + Adam, rows of MNIST, {args.steps} steps, {len(seeds)} seeds, rates 2^-17..1 two-fold; "
        f"tuned {args.tune}, verify ±{args.verify} step"
    )
    for ft in summary.facets:
        param = ft.param
        print(f"\n== {param}")
        print("tuned widths: full grid's best | sub-grid estimate (95 % over seeds) | search's pick")
        estimates, fronts = {}, {}
        for w in tune:
            table = per_seed(full_db, param, w)
            means = {
                lr: statistics.fmean(v if v is not None else 0.0 for v in vs) for lr, vs in table.items()
            }
            best = max(means, key=lambda r: (means[r], -r))
            est = best_rate(table)
            estimates[w] = est
            fronts[w] = frontier(table)
            picked = ft.tuned.get(w)
            print(
                f"  {w:>5}: {r3(best)} ({pct(means[best])}) | {r3(est.rate)} ({r3(est.low)}–{r3(est.high)})"
                f"{' edge' if est.edge else ''} | {r3(picked)}"
                f"{'' if picked is None else f' ({pct(means.get(picked))} on the full grid)'}"
            )
        fit = fit_exponent(estimates)
        picks = {w: grid_estimate(r, TWOFOLD) for w, r in ft.tuned.items() if r is not None}
        sfit = fit_exponent(picks)
        if fit is not None:
            print(f"alpha, full grid (sub-grid, bootstrap): {fit.alpha:.2f} [{fit.low:.2f}, {fit.high:.2f}]")
        if sfit is not None:
            print(
                f"alpha, search's picks (grid points):    {sfit.alpha:.2f} [{sfit.low:.2f}, {sfit.high:.2f}]"
            )
        known = {w: f for w, f in fronts.items() if f is not None}
        line = fit_line([math.log2(w) for w in known], [math.log2(f) for f in known.values()])
        print(
            "divergence frontier: "
            + ", ".join(f"{w} → {r3(f)}" for w, f in fronts.items())
            + (f"; slope {line[0]:.2f} (log-log)" if line else "")
        )
        if fit is not None and param == "sp":
            for w in sorted(set(predict + upto)):
                p = fit.predict(w)
                gpu = GPU_BEST.get(w)
                print(
                    f"  full-grid fit predicts {r3(p.rate)} [{r3(p.low)}, {r3(p.high)}] at {w} units"
                    f"{'' if p.ok else ' (cannot extrapolate)'}; GPU table's best (decade grid): {r3(gpu)}"
                )
        print(
            "  hidden  predicted  [95 %]            trained  found     val@pred  val@found  "
            "test@pred  test@found  lost(val)"
        )
        for wt in ft.widths:
            interval = "" if wt.low is None else f"[{r3(wt.low)}, {r3(wt.high)}]"
            print(
                f"  {wt.width:>6}  {r3(wt.predicted):>9}  {interval:<17} {r3(wt.snapped):>7}  "
                f"{r3(wt.found) + (' edge' if wt.edge else ''):<9} {pct(wt.metric_at_predicted):>9}  "
                f"{pct(wt.metric_at_found):>9}  {pct(wt.test_at_predicted):>9}  {pct(wt.test_at_found):>10}  "
                f"{pct(wt.lost):>9}" + ("" if wt.ok else f"  * {wt.reason}")
            )
            if wt.found is not None and wt.snapped is not None:
                steps = abs(math.log2(wt.found / wt.snapped))
                print(f"          found within {steps:.0f} two-fold step(s) of the prediction")
    share = whole.flops / whole.search_all.grid_flops
    print(
        f"\nFLOPs (planned, widths {args.tune} + {args.upto}): transfer {whole.flops / 1e15:.3g} PFLOP = "
        f"{share:.1%} of the full two-fold grid over those widths ({whole.search_all.grid_flops / 1e15:.3g} "
        f"PFLOP); a search over every width {whole.search_all.flops / 1e15:.3g} PFLOP "
        f"({whole.search_all.flops / whole.search_all.grid_flops:.1%}); ETA transfer "
        f"{human_seconds(whole.seconds)}, full grid {human_seconds(whole.search_all.grid_seconds)} "
        "on this machine"
    )


if __name__ == "__main__":
    main()
