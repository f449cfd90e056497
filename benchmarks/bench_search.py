"""Search against the full grid and against Optuna's pruners, side by side in one run.

On a grid of widths x learning rates x seeds (default: the quick preset, 16-128 units x the
seed's six rates, 3 seeds, 999 steps), on this machine:

(a) the full grid (``run``);
(b) lstm-sweep's search (successive halving over rates, η = 3, rungs 111/333/999, the
    neighbour window);
(c) Optuna (``pip install optuna``) driving the same trials through lstm-sweep's Python API
    (``train_group`` with checkpoints: a pruned or promoted trial is continued, never retrained)
    with its ``SuccessiveHalvingPruner`` and its ``HyperbandPruner``, intermediate values (mean
    validation accuracy over seeds) reported at the same steps, its ``GridSampler`` over the
    same rates, two trials at a time (as the local executor's two workers);
(d) lstm-sweep's search over a two-fold range (2^-17 ... 1, 18 rates), against (a).

Each line: FLOPs, wall time, and per width the rate it chose, judged against the full grid's
best by mean validation accuracy over seeds. A chosen rate *is* the best, or is *within noise*
of it: its full-grid mean is below the best's by less than the standard error of that
difference (√(s_a²/n + s_b²/n), the seeds' standard deviations). Run it alone on the machine.

    python benchmarks/bench_search.py [--hidden 16,32,64,128] [--seeds 0,1,2] [--steps 999]
"""

from __future__ import annotations

import argparse
import math
import statistics
import tempfile
import threading
import time
from pathlib import Path

import torch

from lstm_sweep import Grid, load_mnist, load_results, plan_search, run_search, run_sweep, sweep_request
from lstm_sweep.running.cost import trial_flops
from lstm_sweep.running.search import flops_between
from lstm_sweep.study.config import TrialConfig
from lstm_sweep.training.checkpoint import CheckpointDir, Checkpointing
from lstm_sweep.training.train import train_group

DECADE = (1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0)
TWOFOLD = tuple(2.0**-k for k in range(17, -1, -1))


def val_table(db: Path) -> dict:
    """(hidden, lr) -> validation accuracies over seeds, of the trials that finished."""
    out: dict = {}
    for r in load_results(db):
        if r.status.value in ("done", "diverged", "failed", "oom"):
            out.setdefault((r.config.hidden, r.config.lr), []).append(r.val_accuracy or 0.0)
    return out


def best_of(table: dict, hidden: int) -> tuple[float, float]:
    row = {lr: statistics.fmean(v) for (h, lr), v in table.items() if h == hidden}
    lr = max(row, key=lambda r: (row[r], -r))
    return lr, row[lr]


def judge(full: dict, hidden: int, chosen: float, n: int) -> str:
    """'best', 'noise' (within the standard error of the difference) or 'miss'."""
    best, _ = best_of(full, hidden)
    if chosen == best:
        return "best"
    a, b = full[(hidden, best)], full.get((hidden, chosen))
    if b is None:
        return "miss"
    sa = statistics.stdev(a) if len(a) > 1 else 0.0
    sb = statistics.stdev(b) if len(b) > 1 else 0.0
    se = math.sqrt(sa * sa / n + sb * sb / n)
    return "noise" if statistics.fmean(a) - statistics.fmean(b) <= se else "miss"


def grid_of(hidden, lrs, seeds, steps) -> Grid:
    return Grid(hidden=hidden, lr=lrs, seeds=seeds, steps=(steps,), name="bench")


def run_full(grid, data, db) -> tuple[float, float]:
    t0 = time.perf_counter()
    run_sweep(grid, data, db, device="cpu", checkpoint_every=None)
    return sum(trial_flops(c) for c in grid.trials()), time.perf_counter() - t0


def run_ours(grid, data, db, window=10.0):
    request = sweep_request(grid, db, data=data, device="cpu")
    plan = plan_search(request, window=window)
    t0 = time.perf_counter()
    summary = run_search(plan)
    chosen = {r.row.hidden: r.best for r in summary.rows}
    return summary.flops, time.perf_counter() - t0, chosen, plan


def run_optuna(grid, data, tmp: Path, pruner_name: str, rungs):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    torch.set_num_threads(1)
    lock = threading.Lock()
    flops = [0.0]
    chosen = {}
    t0 = time.perf_counter()
    for hidden in grid.hidden:
        folder = CheckpointDir(tmp / f"optuna-{pruner_name}-{hidden}")
        policy = Checkpointing(folder, 3600)

        def objective(trial, hidden=hidden, policy=policy):
            lr = trial.suggest_categorical("lr", list(grid.lr))
            configs = [TrialConfig(hidden=hidden, lr=lr, seed=s, steps=grid.steps[0]) for s in grid.seeds]
            reached = 0
            for rung in rungs:
                final = rung == grid.steps[0]
                results = [
                    train_group(
                        [c],
                        data,
                        device="cpu",
                        engine="single",
                        checkpointing=policy,
                        until=None if final else rung,
                    )[0]
                    for c in configs
                ]
                with lock:
                    flops[0] += sum(flops_between(c, reached, rung, final) for c in configs)
                reached = rung
                value = statistics.fmean(r.val_accuracy or 0.0 for r in results)
                if final:
                    return value
                trial.report(value, rung)
                if trial.should_prune():
                    raise optuna.TrialPruned()
            return value

        if pruner_name == "sha":
            pruner = optuna.pruners.SuccessiveHalvingPruner(min_resource=rungs[0], reduction_factor=3)
        else:
            pruner = optuna.pruners.HyperbandPruner(
                min_resource=rungs[0], max_resource=grid.steps[0], reduction_factor=3
            )
        study = optuna.create_study(
            direction="maximize",
            pruner=pruner,
            sampler=optuna.samplers.GridSampler({"lr": list(grid.lr)}, seed=0),
        )
        study.optimize(objective, n_trials=len(grid.lr), n_jobs=2)
        finished = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
        chosen[hidden] = max(finished, key=lambda t: (t.value, -t.params["lr"])).params["lr"]
    return flops[0], time.perf_counter() - t0, chosen


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hidden", default="16,32,64,128")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--steps", type=int, default=999)
    ap.add_argument("--keep", help="keep the stores in this folder")
    args = ap.parse_args()
    hidden = tuple(int(h) for h in args.hidden.split(","))
    seeds = tuple(int(s) for s in args.seeds.split(","))
    data = load_mnist()
    tmp_ctx = tempfile.TemporaryDirectory()
    tmp = Path(args.keep) if args.keep else Path(tmp_ctx.name)
    tmp.mkdir(parents=True, exist_ok=True)
    decade = grid_of(hidden, DECADE, seeds, args.steps)
    lines = []

    def report(name, flops, wall, chosen, base_flops, base_wall):
        verdicts = {
            h: judge(full, h, chosen[h], len(seeds)) if chosen.get(h) is not None else "miss" for h in hidden
        }
        ok = sum(v != "miss" for v in verdicts.values())
        exact = sum(v == "best" for v in verdicts.values())
        rows = " ".join(f"{h}:{chosen.get(h)!s}({verdicts[h]})" for h in hidden)
        lines.append(
            f"{name:<22} {flops / 1e12:9.1f} TFLOP ({flops / base_flops:5.1%})  "
            f"{wall:7.1f} s ({wall / base_wall:5.1%})  found {exact}/{len(hidden)} "
            f"exactly, {ok}/{len(hidden)} within noise  {rows}"
        )
        print(lines[-1], flush=True)

    g_flops, g_wall = run_full(decade, data, tmp / "full.db")
    full = val_table(tmp / "full.db")
    best = {h: best_of(full, h)[0] for h in hidden}
    report("(a) full grid", g_flops, g_wall, best, g_flops, g_wall)
    s_flops, s_wall, s_chosen, plan = run_ours(decade, data, tmp / "search.db")
    report("(b) lstm-sweep search", s_flops, s_wall, s_chosen, g_flops, g_wall)
    for name in ("sha", "hyperband"):
        o_flops, o_wall, o_chosen = run_optuna(decade, data, tmp, name, plan.rungs)
        report(f"(c) optuna {name}", o_flops, o_wall, o_chosen, g_flops, g_wall)
    fine = grid_of(hidden, TWOFOLD, seeds, args.steps)
    f_flops, f_wall, f_chosen, _ = run_ours(fine, data, tmp / "fine.db")
    fine_vals = val_table(tmp / "fine.db")
    lines.append(
        "(d) lstm-sweep search, two-fold range 2^-17..1 (18 rates): "
        f"{f_flops / 1e12:.1f} TFLOP ({f_flops / g_flops:.1%} of the decade grid), "
        f"{f_wall:.1f} s ({f_wall / g_wall:.1%})"
    )
    print(lines[-1], flush=True)
    for h in hidden:
        got = statistics.fmean(fine_vals[(h, f_chosen[h])]) if f_chosen.get(h) else float("nan")
        want_lr, want = best_of(full, h)
        a = full[(h, want_lr)]
        se = statistics.stdev(a) / math.sqrt(len(a)) if len(a) > 1 else 0.0
        verdict = "better" if got > want else ("within noise" if got >= want - se else "worse")
        lines.append(
            f"    hidden {h}: two-fold best {f_chosen.get(h)} (validation {got:.4f}) vs "
            f"decade grid best {want_lr:g} ({want:.4f} ± {se:.4f} s.e.): {verdict}"
        )
        print(lines[-1], flush=True)
    print("\n".join(["", "summary:", *lines]))
    if args.keep:
        print(f"stores kept in {tmp}")


if __name__ == "__main__":
    main()
