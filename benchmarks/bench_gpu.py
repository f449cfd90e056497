"""The GPU check, as ONE prepared script (device time is scarce): what a GPU does with our sweeps.

Sections, each recorded as it ends (a run cut off by its time limit keeps what it measured),
each skipped when too little of ``--budget`` is left, each failure recorded and passed over:

1. ``env``: the device, torch, cuDNN, and the matmul ceilings (fp32, tf32, bf16);
2. ``cells``: the LSTM, GRU and basic RNN at a few widths, 6 rates each, fused vs single
   (GFLOP/s per cell: are the GRU and RNN no slower per FLOP than the LSTM?);
3. ``steps``: time per training step by engine and width (what the cost model is fitted to);
4. ``checkpoint``: a widest-width trial stopped half-way and resumed from its checkpoint, against
   the same trial run through;
5. ``coord``: the muP coordinate check up to the widest width;
6. ``grid-<precision>``: the whole hw2 grid (``--hidden``, 6 rates, ``--steps``) through the
   sweep driver, engine ``auto``, into one store: the plan (its ETA per row), then per row the
   wall time, engines, group sizes, peak GPU memory, statuses; whether the widest row completed;
   the table. fp32 first (faithful), then ``--precisions``' others;
7. ``transfer``: one learning-rate row under muP at the narrowest and widest transfer widths;
8. ``workflow``: ``lstm-sweep transfer`` itself at 999 steps, sp and mup, tuned on the narrow
   widths (16-128) and verified (predicted rate ± one two-fold step) at 1024, 2048 and 4096
   units, ``--wf-seeds`` seeds: predicted against found, accuracy lost, FLOPs share;
9. ``coord2``: the coordinate check to 4096 units under mup and mup-opt (Adam's epsilon scaled
   per tensor): does the ×1.25 from 1024 to 4096 go with epsilon?
10. ``tasks``: each new task's small preset (pixels, adding, copy, chars) through the sweep
   driver: its time against its plan, its best cell.

The sections run in ``--sections``' order (default: the issue's order of value: ``workflow``,
``coord2``, the grids, then the rest).

    python benchmarks/bench_gpu.py --out $OUT           # on the GPU machine
    python benchmarks/bench_gpu.py --device cpu --hidden 16,32 --steps 20 --small --out /tmp/g \
        --sections workflow,coord2,tasks
                                                        # a dry run of the script itself on a CPU
Writes ``<out>/gpu.json`` (every section's numbers) and ``<out>/gpu.db`` (the grid's store).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
import traceback
from dataclasses import replace
from pathlib import Path

import torch

from lstm_sweep.data import load_mnist
from lstm_sweep.reporting.tables import build_tables, render_tables
from lstm_sweep.running.coordcheck import coord_check
from lstm_sweep.running.cost import plan_rows, step_flops
from lstm_sweep.running.sweep import SweepCallbacks, execute, plan_sweep, sweep_request
from lstm_sweep.store import load_results
from lstm_sweep.study.config import GATES, HW2_HIDDEN, HW2_LRS, Grid, TrialConfig
from lstm_sweep.training.checkpoint import CheckpointDir, Checkpointing
from lstm_sweep.training.device import device_name, resolve_device, unsupported
from lstm_sweep.training.engines import make_engine
from lstm_sweep.training.engines.base import precision_context
from lstm_sweep.training.graphs import stepper
from lstm_sweep.training.train import train_group

T0 = time.perf_counter()


class Record:
    """Everything measured, written to ``<out>/gpu.json`` after each change."""

    def __init__(self, out: Path, budget: float):
        self.out, self.budget, self.data = out, budget, {"sections": {}}
        out.mkdir(parents=True, exist_ok=True)

    def left(self) -> float:
        return self.budget - (time.perf_counter() - T0)

    def put(self, section: str, value) -> None:
        self.data["sections"][section] = value
        self.data["elapsed_s"] = round(time.perf_counter() - T0, 1)
        tmp = self.out / "gpu.json.tmp"
        tmp.write_text(json.dumps(self.data, indent=1, default=str))
        tmp.replace(self.out / "gpu.json")


def say(*args) -> None:
    print(f"[{time.perf_counter() - T0:6.1f}s]", *args, flush=True)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


# --------------------------------------------------------------------------- sections


def section_env(rec: Record, device: torch.device, small: bool) -> dict:
    info = {
        "device": device_name(device),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "cudnn": torch.backends.cudnn.version() if device.type == "cuda" else None,
    }
    if device.type == "cuda":
        free, total = torch.cuda.mem_get_info(device)
        info.update(
            memory_total_gb=round(total / 2**30, 1),
            memory_free_gb=round(free / 2**30, 1),
            capability=torch.cuda.get_device_capability(device),
        )
    n = 1024 if small else 8192
    peaks = {}
    for prec, dtype in (("fp32", torch.float32), ("tf32", torch.float32), ("bf16", torch.bfloat16)):
        if unsupported(device, prec):
            continue
        with precision_context(prec):
            a = torch.randn(n, n, device=device, dtype=dtype)
            b = torch.randn(n, n, device=device, dtype=dtype)
            a @ b
            sync(device)
            reps = 3 if small else 10
            t0 = time.perf_counter()
            for _ in range(reps):
                a @ b
            sync(device)
            peaks[prec] = round(2 * n**3 * reps / (time.perf_counter() - t0) / 1e12, 2)
        del a, b
    info["matmul_tflops"] = peaks
    say(f"env: {info}")
    return info


def _group_time(configs, data, device, engine) -> tuple[float, list]:
    sync(device)
    t0 = time.perf_counter()
    if engine == "fused":
        results = train_group(configs, data, device=device, engine="fused")
    else:
        results = [r for c in configs for r in train_group([c], data, device=device, engine="single")]
    sync(device)
    return time.perf_counter() - t0, results


def section_cells(rec: Record, device, data, widths, steps) -> list:
    """Each cell's 6 rates per width, fused vs single; GFLOP/s of the training FLOPs."""
    rows = []
    for cell in ("lstm", "gru", "rnn"):
        for h in widths:
            configs = [TrialConfig(hidden=h, lr=lr, steps=steps, cell=cell) for lr in HW2_LRS]
            train_group(configs[:1], data, device=device, engine="fused")  # warm-up
            row = {"cell": cell, "hidden": h, "steps": steps, "trials": len(configs)}
            flops = len(configs) * steps * step_flops(h, configs[0].batch_size, GATES[cell])
            for engine in ("single", "fused"):
                seconds, results = _group_time(configs, data, device, engine)
                bad = [r for r in results if str(r.status) not in ("done", "diverged")]
                row[engine] = {
                    "s": round(seconds, 3),
                    "gflops": round(flops / seconds / 1e9, 1),
                    "bad": [f"{r.status}: {r.error}" for r in bad][:2],
                    "acc": [r.test_accuracy for r in results],
                }
            row["fused_speedup"] = round(row["single"]["s"] / row["fused"]["s"], 2)
            rows.append(row)
            say(
                f"cells: {cell} {h:>5}: single {row['single']['s']:7.2f} s "
                f"({row['single']['gflops']:8.1f} GFLOP/s), fused {row['fused']['s']:7.2f} s "
                f"({row['fused']['gflops']:8.1f} GFLOP/s), fused x{row['fused_speedup']}"
            )
            rec.put("cells", rows)
    return rows


def section_steps(rec: Record, device, widths, precisions, k: int = 6) -> list:
    """Seconds per training step of one model (single) and of k models (fused), by width."""
    rows = []
    x = torch.rand(100, 28, 28, device=device)
    y = torch.randint(0, 10, (100,), device=device)
    for prec in precisions:
        with precision_context(prec):
            for h in widths:
                for engine, n in (("single", 1), ("fused", k)):
                    configs = [TrialConfig(hidden=h, lr=1e-3 * (i + 1), precision=prec) for i in range(n)]
                    runner = make_engine(engine, configs, device)
                    step = stepper(runner, device)  # as training steps it
                    for _ in range(5):
                        step(x, y)
                    sync(device)
                    reps = 3 if h >= 2048 else 10
                    t0 = time.perf_counter()
                    for _ in range(reps):
                        step(x, y)
                    sync(device)
                    s = (time.perf_counter() - t0) / reps
                    f = n * step_flops(h, 100)
                    rows.append(
                        {
                            "precision": prec,
                            "hidden": h,
                            "engine": engine,
                            "k": n,
                            "s_per_step": s,
                            "tflops": round(f / s / 1e12, 2),
                        }
                    )
                    say(
                        f"steps: {prec} {engine:6} k={n} {h:>5}: {s * 1e3:8.2f} ms/step "
                        f"{f / s / 1e12:7.2f} TFLOP/s"
                    )
                    del runner, step
            rec.put("steps", rows)
    return rows


def section_graphs(rec: Record, device, widths, steps: int = 20, k: int = 6) -> list:
    """A fused group stepped eagerly and from its CUDA graph: the same numbers? how fast?"""
    from lstm_sweep.training.graphs import GraphedStep

    rows = []
    g = torch.Generator(device="cpu").manual_seed(0)
    batches = [
        (
            torch.rand(100, 28, 28, generator=g).to(device),
            torch.randint(0, 10, (100,), generator=g).to(device),
        )
        for _ in range(steps)
    ]
    for cell in ("lstm", "gru"):
        for h in widths:
            configs = [TrialConfig(hidden=h, lr=10.0 ** -(i % 5 + 1), cell=cell) for i in range(k)]
            out = {"cell": cell, "hidden": h, "k": k, "steps": steps}
            for mode in ("eager", "graph"):
                runner = make_engine("fused", configs, device)
                step = runner.train_step if mode == "eager" else GraphedStep(runner, device)
                losses = [step(x, y).clone() for x, y in batches]
                sync(device)
                out[f"{mode}_theta"] = runner.theta.detach().clone()
                out[f"{mode}_losses"] = torch.stack(losses)
                t0 = time.perf_counter()
                for x, y in batches:
                    step(x, y)
                sync(device)
                out[f"{mode}_ms"] = round((time.perf_counter() - t0) / steps * 1e3, 3)
                del runner, step
            out["same_theta"] = bool(torch.equal(out.pop("eager_theta"), out.pop("graph_theta")))
            out["same_losses"] = bool(torch.equal(out.pop("eager_losses"), out.pop("graph_losses")))
            out["speedup"] = round(out["eager_ms"] / out["graph_ms"], 2)
            rows.append(out)
            say(
                f"graphs: {cell} {h:>5} x{k}: eager {out['eager_ms']:7.2f} ms/step, graph "
                f"{out['graph_ms']:7.2f} ms/step (x{out['speedup']}); same parameters "
                f"{out['same_theta']}, same losses {out['same_losses']}"
            )
            rec.put("graphs", rows)
    return rows


def section_checkpoint(rec: Record, device, data, hidden, steps) -> dict:
    """A widest-width trial: through, vs stopped at half (its checkpoint) and resumed."""
    config = TrialConfig(hidden=hidden, lr=1e-3, steps=steps, display_step=max(1, steps // 10))
    t0 = time.perf_counter()
    (through,) = train_group([config], data, device=device, engine="single")
    t_through = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        policy = Checkpointing(CheckpointDir(tmp), every_s=1e9)  # only at the stop
        (half,) = train_group(
            [config], data, device=device, engine="single", checkpointing=policy, until=steps // 2
        )
        size = sum(p.stat().st_size for p in Path(tmp).iterdir())
        t0 = time.perf_counter()
        (resumed,) = train_group([config], data, device=device, engine="single", checkpointing=policy)
        t_resumed = time.perf_counter() - t0
    out = {
        "hidden": hidden,
        "steps": steps,
        "through": [str(through.status), through.test_accuracy, through.train_loss],
        "half": [str(half.status), half.steps_done, half.val_accuracy],
        "resumed": [str(resumed.status), resumed.test_accuracy, resumed.train_loss],
        "checkpoint_mb": round(size / 2**20, 1),
        "same_accuracy": through.test_accuracy == resumed.test_accuracy,
        "loss_diff": None
        if None in (through.train_loss, resumed.train_loss)
        else abs(through.train_loss - resumed.train_loss),
        "curve_same": [p.loss for p in through.curve] == [p.loss for p in resumed.curve],
        "through_s": round(t_through, 2),
        "resumed_s": round(t_resumed, 2),
    }
    say(f"checkpoint: {out}")
    return out


def section_coord(rec: Record, device, data, widths) -> dict:
    from lstm_sweep.reporting.coords import render_coord_table, verdicts

    t0 = time.perf_counter()
    points = coord_check(data, widths=widths, device=device)
    seconds = time.perf_counter() - t0
    out = {"widths": list(widths), "s": round(seconds, 1), "points": len(points)}
    try:
        out["verdicts"] = [str(v) for v in verdicts(points)]
        out["table"] = render_coord_table(points)
    except Exception as e:  # noqa: BLE001 - the numbers matter more than our verdict's shape
        out["verdict_error"] = repr(e)
    last = {}
    for p in points:
        if p.step == max(q.step for q in points):
            last.setdefault(f"{p.param} {p.quantity}", {})[p.width] = p.value
    out["last_step"] = last
    say(f"coord: {out.get('verdicts', out.get('verdict_error'))} in {seconds:.1f} s")
    return out


def section_grid(rec: Record, device, data, db: Path, hidden, steps, precision) -> dict:
    grid = Grid(hidden=tuple(hidden), lr=HW2_LRS, steps=steps, precision=precision, name=f"hw2-{precision}")
    plan = plan_sweep(
        sweep_request(grid, db, data=data, device=str(device), engine="auto", checkpoint_every="off")
    )
    say(plan.render())
    if precision != "fp32" and plan.cost.seconds > rec.left():
        return {
            "skipped": f"planned {plan.cost.seconds:.0f} s, {rec.left():.0f} s left",
            "planned_s": plan.cost.seconds,
        }
    planned = {r["hidden"]: r["seconds"] for r in plan_rows(plan.cost)}
    cal = plan.cost.calibration
    out = {
        "precision": precision,
        "steps": steps,
        "planned_s": plan.cost.seconds,
        "probe": {"overhead_ms": cal.overhead_s * 1e3, "gflops": cal.flops_per_s / 1e9},
        "rows": {},
    }
    rows: dict[int, dict] = {}
    unit_t0: dict = {}

    def on_unit_start(unit):
        unit_t0[unit.configs] = time.perf_counter()

    def on_trial_end(r, i, n):
        row = rows.setdefault(
            r.config.hidden, {"wall_s": 0.0, "engines": set(), "peak_gb": 0.0, "statuses": {}, "acc": {}}
        )
        row["wall_s"] += r.wall_s
        row["engines"].add(f"{r.engine} x{r.group_size}")
        row["peak_gb"] = max(row["peak_gb"], (r.peak_mem_bytes or 0) / 2**30)
        row["statuses"][str(r.status)] = row["statuses"].get(str(r.status), 0) + 1
        row["acc"][r.config.lr] = r.test_accuracy
        row["planned_s"] = planned.get(r.config.hidden)
        if r.error:
            row["error"] = r.error[:300]
        say(
            f"  [{i}/{n}] {r.config.hidden} lr {r.config.lr:g}: {r.status} "
            f"acc {r.test_accuracy} {r.wall_s:.1f} s ({r.engine} x{r.group_size}, "
            f"peak {(r.peak_mem_bytes or 0) / 2**30:.2f} GiB)"
        )
        out["rows"] = {h: {**v, "engines": sorted(v["engines"])} for h, v in rows.items()}
        rec.put(f"grid-{precision}", out)

    t0 = time.perf_counter()
    summary = execute(plan, SweepCallbacks(on_unit_start=on_unit_start, on_trial_end=on_trial_end))
    out["wall_s"] = time.perf_counter() - t0
    out["statuses"] = summary.statuses
    results = [r for r in load_results(db) if r.config.precision == precision and r.config.steps == steps]
    wide = [r for r in results if r.config.hidden == max(hidden)]
    out["widest_completed"] = bool(wide) and all(str(r.status) in ("done", "diverged") for r in wide)
    out["table"] = render_tables(build_tables(results))
    say(
        f"grid {precision}: {summary.ran} trials in {out['wall_s']:.1f} s (planned "
        f"{plan.cost.seconds:.1f} s); statuses {summary.statuses}; widest row completed: "
        f"{out['widest_completed']}"
    )
    for h in sorted(rows):
        v = rows[h]
        p = v.get("planned_s")
        say(
            f"  row {h:>5}: {v['wall_s']:8.1f} s (planned {p or 0:8.1f} s, ratio "
            f"{(p or 0) / max(v['wall_s'], 1e-9):5.2f})  {', '.join(sorted(v['engines']))}  "
            f"peak {v['peak_gb']:.2f} GiB  {v['statuses']}"
        )
    say("\n" + out["table"])
    return out


def section_transfer(rec: Record, device, data, widths, steps, precision) -> dict:
    from lstm_sweep.study.config import TRANSFER_LRS

    out = {"widths": list(widths), "steps": steps, "precision": precision, "rows": {}}
    for h in widths:
        configs = [
            TrialConfig(hidden=h, lr=lr, steps=steps, param="mup", precision=precision) for lr in TRANSFER_LRS
        ]
        seconds, results = _group_time(configs, data, device, "fused" if h <= 1024 else "single")
        accs = {lr: r.test_accuracy for lr, r in zip(TRANSFER_LRS, results)}
        best = max((a, lr) for lr, a in accs.items() if a is not None)
        out["rows"][h] = {"s": round(seconds, 1), "acc": accs, "best_lr": best[1]}
        say(
            f"transfer mup {h:>5}: best lr {best[1]:g} ({best[0]:.4f}) in {seconds:.1f} s; "
            + " ".join(f"{lr:g}:{a:.3f}" for lr, a in accs.items() if a is not None)
        )
        rec.put("transfer", out)
    return out


TWOFOLD = tuple(2.0**-k for k in range(17, -1, -1))  # the transfer's rates: 2^-17 ... 1


def section_workflow(rec: Record, device, data, db: Path, tune, predict, steps, seeds, precision) -> dict:
    """``lstm-sweep transfer`` (plan_transfer, run_transfer) from ``tune`` to ``predict``, sp and
    mup: the plan, then the summary (predicted, found, lost, FLOPs share), as the CLI prints
    them."""
    from lstm_sweep.running import plan_transfer, render_transfer_summary, run_transfer

    grid = Grid(
        hidden=(*tune, *predict),
        lr=TWOFOLD,
        seed=tuple(seeds),
        steps=steps,
        param=("sp", "mup"),
        precision=precision,
        name="transfer-gpu",
    )
    request = sweep_request(grid, db, data=data, device=str(device), engine="auto")
    plan = plan_transfer(request, tune_widths=tuple(tune), verify=1)
    say(plan.render())
    out = {"tune": list(tune), "predict": list(predict), "seeds": list(seeds), "planned_s": plan.seconds}
    if plan.seconds > 2 * rec.left():
        out["skipped"] = f"planned {plan.seconds:.0f} s, {rec.left():.0f} s left"
        return out
    t0 = time.perf_counter()
    summary = run_transfer(plan)
    out["wall_s"] = round(time.perf_counter() - t0, 1)
    out["summary"] = render_transfer_summary(plan, summary)
    say(out["summary"])
    say(f"workflow: {out['wall_s']} s (planned {plan.seconds:.0f} s)")
    return out


def section_coord2(rec: Record, device, data, widths) -> dict:
    """The coordinate check under mup and mup-opt (epsilon per tensor) to the widest width."""
    from lstm_sweep.reporting.coords import render_coord_table, verdicts

    t0 = time.perf_counter()
    points = coord_check(data, widths=widths, params=("mup", "mup-opt"), device=device)
    out = {"widths": list(widths), "s": round(time.perf_counter() - t0, 1)}
    out["verdicts"] = [str(v) for v in verdicts(points)]
    out["table"] = render_coord_table(points)
    say(out["table"])
    say(f"coord2: {out['verdicts']} in {out['s']} s")
    return out


def section_tasks(rec: Record, device, data, db: Path, small: bool) -> dict:
    """Each new task's small preset through the sweep driver: planned against measured time,
    the best cell. chars reads this repository's README (no network on the GPU machine)."""
    from lstm_sweep.data import generated_data, load_text
    from lstm_sweep.study.config import preset

    out = {}
    text = Path(__file__).resolve().parents[1] / "README.md"
    for name in ("pixels-small", "adding-small", "copy-small", "chars-small"):
        grid = preset(name)
        if small:  # a dry run: the smallest width, a few steps
            grid = replace(grid, hidden=grid.hidden[:1], steps=(5,), lr=grid.lr[:2])
        task_data = {"pixels": data, "adding": None, "copy": None, "chars": None}[grid.task[0]]
        if task_data is None:
            task_data = load_text(text) if grid.task[0] == "chars" else generated_data()
        request = sweep_request(grid, db, data=task_data, device=str(device), engine="auto")
        plan = plan_sweep(request)
        if plan.cost.seconds > rec.left():
            out[name] = {"skipped": f"planned {plan.cost.seconds:.0f} s, {rec.left():.0f} s left"}
            continue
        t0 = time.perf_counter()
        summary = execute(plan)
        wall = time.perf_counter() - t0
        tables = build_tables([r for r in load_results(db) if r.config.task == grid.task[0]])
        out[name] = {
            "planned_s": round(plan.cost.seconds, 1),
            "wall_s": round(wall, 1),
            "statuses": summary.statuses,
            "table": render_tables(tables),
        }
        say(f"{name}: {wall:.1f} s (planned {plan.cost.seconds:.1f} s); {summary.statuses}")
        say(out[name]["table"])
        rec.put("tasks", out)
    return out


# --------------------------------------------------------------------------- main


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--hidden", default=",".join(map(str, HW2_HIDDEN)))
    ap.add_argument("--steps", type=int, default=999)
    ap.add_argument("--precisions", default="fp32,tf32,bf16")
    ap.add_argument(
        "--grids",
        default="",
        help="grids to run, in order: precision[:w/w/...] (default: --precisions, all of --hidden)",
    )
    ap.add_argument(
        "--sections", default="env,workflow,coord2,grid,tasks,graphs,steps,checkpoint,coord,cells,transfer"
    )
    ap.add_argument("--wf-seeds", default="0", help="seeds of the workflow section, e.g. 0,1")
    ap.add_argument("--budget", type=float, default=480.0, help="seconds for the whole script")
    ap.add_argument("--small", action="store_true", help="tiny sizes (a dry run on a CPU)")
    ap.add_argument("--out", default=os.environ.get("OUT", "gpu-out"))
    args = ap.parse_args()
    device = resolve_device(args.device)
    out = Path(args.out)
    rec = Record(out, args.budget)
    hidden = [int(h) for h in args.hidden.split(",")]
    widest = max(hidden)
    small = args.small
    data = load_mnist()
    sections = args.sections.split(",")
    precisions = [p for p in args.precisions.split(",") if not unsupported(device, p)]
    # (name, minimum seconds it needs, the call)
    plan = [
        ("env", 5, lambda: section_env(rec, device, small)),
        (
            "graphs",
            10,
            lambda: section_graphs(rec, device, (16, 64) if small else (64, 1024), 5 if small else 20),
        ),
        (
            "steps",
            15,
            lambda: section_steps(
                rec, device, (16, 64) if small else (64, 256, 1024, 2048, 4096), precisions
            ),
        ),
        ("checkpoint", 15, lambda: section_checkpoint(rec, device, data, widest, 20 if small else 100)),
        ("coord", 15, lambda: section_coord(rec, device, data, (16, 64) if small else (256, 1024, 4096))),
        (
            "cells",
            20,
            lambda: section_cells(rec, device, data, (16, 64) if small else (64, 1024), 20 if small else 50),
        ),
    ]
    db = out / "gpu.db"
    grids = [
        (g.split(":")[0], [int(w) for w in g.split(":")[1].split("/")] if ":" in g else hidden)
        for g in args.grids.split(",")
        if g
    ] or [(p, hidden) for p in precisions]
    for prec, widths in grids:
        if prec not in precisions:
            continue
        plan.append(
            (
                f"grid-{prec}",
                30,
                lambda prec=prec, widths=widths: section_grid(
                    rec, device, data, db, widths, args.steps, prec
                ),
            )
        )
    plan.append(
        (
            "transfer",
            30,
            lambda: section_transfer(
                rec,
                device,
                data,
                (16, 64) if small else (64, widest),
                20 if small else 300,
                "tf32" if "tf32" in precisions else "fp32",
            ),
        )
    )
    plan += [
        (
            "workflow",
            60,
            lambda: section_workflow(
                rec,
                device,
                data,
                out / "transfer.db",
                (16, 32) if small else (16, 32, 64, 128),
                (64,) if small else (1024, 2048, 4096),
                20 if small else args.steps,
                [int(x) for x in args.wf_seeds.split(",")],
                "fp32",
            ),
        ),
        ("coord2", 15, lambda: section_coord2(rec, device, data, (16, 64) if small else (256, 1024, 4096))),
        ("tasks", 30, lambda: section_tasks(rec, device, data, out / "tasks.db", small)),
    ]
    order = {name: i for i, name in enumerate(sections)}
    plan.sort(key=lambda item: order.get(item[0].split("-")[0], len(order)))
    for name, need, call in plan:
        if name.split("-")[0] not in sections:
            continue
        if rec.left() < need:
            say(f"{name}: skipped, {rec.left():.0f} s of the budget left")
            rec.put(name, {"skipped": f"{rec.left():.0f} s left"})
            continue
        say(f"--- {name} ({rec.left():.0f} s of the budget left)")
        try:
            rec.put(name, call())
        except Exception as e:  # noqa: BLE001 - record it, go on to the next section
            say(f"{name} FAILED: {type(e).__name__}: {e}")
            rec.put(name, {"error": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc()[-3000:]})
        if device.type == "cuda":
            torch.cuda.empty_cache()
    say("done")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
