"""Planning: work units (which trials train together, with which engine, on how many workers)
and the cost model (FLOPs, memory, time) against real trials."""

from __future__ import annotations

import os
import signal
from dataclasses import replace

import pytest
import torch

from lstm_sweep.errors import ConfigError
from lstm_sweep.running.sweep import SweepCallbacks, run_sweep
from lstm_sweep.running.units import make_units, workers_for
from lstm_sweep.store import load_results
from lstm_sweep.study.config import Grid

CPU, GPU = torch.device("cpu"), torch.device("cuda")


def test_single_engine_gives_one_unit_per_trial_in_grid_order():
    trials = Grid(hidden=(16, 32), lrs=(1e-3, 1e-2)).trials()
    units = make_units(trials, "single", CPU)
    assert [u.configs for u in units] == [(t,) for t in trials]
    assert {u.engine for u in units} == {"single"}


def test_fused_groups_share_everything_but_lr_and_seed():
    trials = Grid(hidden=(16, 32), lrs=(1e-3, 1e-2, 1e-1), seeds=(0, 1)).trials()
    units = make_units(trials, "fused", CPU)
    # data_seed follows seed, so each (width, seed) is one batch sequence -> one group of 3 rates
    assert [(u.hidden, len(u.configs)) for u in units] == [(16, 3), (16, 3), (32, 3), (32, 3)]
    shared = Grid(hidden=(16,), lrs=(1e-3, 1e-2), seeds=(0, 1, 2), data_seed=7).trials()
    assert {(t.seed, t.data_seed) for t in shared} == {(0, 7), (1, 7), (2, 7)}
    (unit,) = make_units(shared, "fused", CPU)
    assert unit.configs == tuple(shared) and unit.describe() == "hidden 16 x6 (fused)"
    assert [len(u.configs) for u in make_units(shared, "fused", CPU, max_group=4)] == [4, 2]


def test_auto_engine_per_device():
    trials = Grid(hidden=(64, 2048), lrs=(1e-3, 1e-2)).trials()
    assert {u.engine for u in make_units(trials, "auto", CPU)} == {"single"}
    on_gpu = make_units(trials, "auto", GPU)
    assert [(u.hidden, u.engine, len(u.configs)) for u in on_gpu] == [
        (64, "fused", 2),
        (2048, "single", 1),
        (2048, "single", 1),
    ]
    pytorch_init = Grid(hidden=(64,), lrs=(1e-3,), init="pytorch").trials()
    assert make_units(pytorch_init, "auto", GPU)[0].engine == "single"
    with pytest.raises(ConfigError, match="init=tf only"):
        make_units(pytorch_init, "fused", CPU)
    with pytest.raises(ConfigError, match="unknown engine"):
        make_units(trials, "turbo", CPU)


def test_workers_per_width(monkeypatch):
    monkeypatch.setattr("lstm_sweep.running.units.cpu_cores", lambda: 2)
    small, wide = (make_units(Grid(hidden=(h,), lrs=(0.1,)).trials(), "single", CPU)[0] for h in (128, 512))
    assert (workers_for(small, CPU, None), workers_for(wide, CPU, None)) == (2, 1)
    assert workers_for(small, GPU, None) == 1
    assert workers_for(wide, CPU, 3) == 3


@pytest.mark.slow
def test_worker_processes_store_the_same_results_as_one_process(mnist, tmp_path):
    grid = Grid(hidden=(8, 16), lrs=(1e-3, 1e-2), steps=30)
    serial = run_sweep(grid, mnist, tmp_path / "a.db", device="cpu", workers=1)
    parallel = run_sweep(grid, mnist, tmp_path / "b.db", device="cpu", workers=2)
    assert serial.ran == parallel.ran == 4
    a = {r.key: r for r in load_results(tmp_path / "a.db", with_curves=True)}
    b = {r.key: r for r in load_results(tmp_path / "b.db", with_curves=True)}
    assert a.keys() == b.keys()
    for key in a:  # one vs two threads per trial: float sums in another order, same training
        assert abs(a[key].test_accuracy - b[key].test_accuracy) <= 0.003
        assert [p.step for p in a[key].curve] == [p.step for p in b[key].curve]


@pytest.mark.slow
def test_fused_sweep_through_run_sweep(mnist, tmp_path):
    grid = Grid(hidden=(16,), lrs=(1e-3, 1e-2, 1e-1), steps=30)
    summary = run_sweep(grid, mnist, tmp_path / "f.db", device="cpu", engine="fused")
    results = load_results(tmp_path / "f.db")
    assert summary.ran == 3 and len(results) == 3
    assert {(r.engine, r.group_size) for r in results} == {("fused", 3)}
    with pytest.raises(ConfigError, match="workers must be a positive integer"):
        run_sweep(grid, mnist, tmp_path / "g.db", device="cpu", workers=0)
    assert not (tmp_path / "g.db").exists()


def _worker_pids() -> list[int]:
    """This process's pool workers (children started by multiprocessing's spawn)."""
    pids = []
    for task in os.listdir("/proc/self/task"):
        with open(f"/proc/self/task/{task}/children") as f:
            pids += [int(p) for p in f.read().split()]
    out = []
    for pid in pids:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if b"spawn_main" in f.read():
                    out.append(pid)
        except OSError:
            pass
    return out


@pytest.mark.slow
@pytest.mark.skipif(
    not os.path.exists(f"/proc/self/task/{os.getpid()}/children"),
    reason="needs Linux /proc/<pid>/task/<tid>/children",
)
def test_a_killed_worker_loses_no_trial(mnist, tmp_path):
    killed = []

    def kill_one_worker(unit):
        if not killed:
            pids = _worker_pids()
            if pids:
                os.kill(pids[0], signal.SIGKILL)
                killed.append(pids[0])

    grid = Grid(hidden=(8,), lrs=(1e-3, 1e-2, 1e-1, 1.0), steps=60)
    summary = run_sweep(
        grid,
        mnist,
        tmp_path / "k.db",
        device="cpu",
        workers=2,
        callbacks=SweepCallbacks(on_unit_start=kill_one_worker),
    )
    assert killed, "no worker was found to kill"
    results = load_results(tmp_path / "k.db")
    assert summary.ran == 4 and len(results) == 4
    assert {str(r.status) for r in results} <= {"done", "diverged"}  # rerun, not failed


def test_plan_predicts_memory_of_real_trials_and_time_from_its_probe(mnist, tmp_path, calibration_file):
    """Memory: the plan against the trials' measured peaks (no clock involved). Time: the plan
    is its probe's model (overhead per step + FLOPs at the probed rate); how close that model
    comes to a real trial's seconds is a speed, measured by ``benchmarks/bench_plan.py``."""
    import json

    from lstm_sweep.running.cost import trial_flops
    from lstm_sweep.running.sweep import plan_sweep, sweep_request

    grid = Grid(hidden=(16, 64), lrs=(1e-2,), steps=200)
    plan = plan_sweep(
        sweep_request(grid, tmp_path / "p.db", data=mnist, device="cpu", engine="single", workers=1)
    ).cost
    from lstm_sweep.training.device import device_name

    key = "|".join([device_name(CPU), str(torch.get_num_threads()), torch.__version__, "fp32", "single"])
    probe = json.loads(calibration_file.read_text())[key]  # what the plan probed (or reused)
    for u in plan.units:
        c = u.unit.configs[0]
        model = probe["overhead_s"] * c.steps + trial_flops(c) / probe["flops_per_s"]
        assert u.seconds == pytest.approx(model, rel=1e-12)
        assert u.seconds > 0
    run_sweep(grid, mnist, tmp_path / "p.db", device="cpu", workers=1)
    measured = {r.config: r for r in load_results(tmp_path / "p.db")}
    for u in plan.units:
        r = measured[u.unit.configs[0]]
        predicted = u.memory_total + plan.base_memory
        assert 0.5 < predicted / r.peak_mem_bytes < 2, (predicted, r.peak_mem_bytes)


def test_hw2_plan_counts_flops_and_memory(calibration_file):
    from lstm_sweep.running.cost import Calibration, plan_units, step_flops
    from lstm_sweep.study.config import preset

    units = make_units(preset("hw2").trials(), "single", CPU)
    cal = Calibration(overhead_s=1e-3, flops_per_s=1e11, device="cpu")
    plan = plan_units(units, CPU, {("single", "fp32", "lstm"): cal}, workers=1)
    total = sum(u.flops for u in plan.units)
    assert 9e15 < total < 1.1e16  # docs/DESIGN.md: the hw2 grid is ~9 x 10^15 FLOPs
    wide = [u for u in plan.units if u.unit.hidden == 4096]
    assert sum(u.flops for u in wide) / total > 0.7  # most of it in the 4096 row
    assert step_flops(4096, 100) == 3 * 100 * 28 * 2 * (28 + 4096) * 4 * 4096
    assert wide[0].memory["weights+adam"] == 16 * ((28 + 4096) * 4 * 4096 + 4 * 4096 + 40970)
    assert plan.seconds > 3600 * 10  # many hours at 100 GFLOP/s
    tiny = replace(plan, device_memory=10**9, base_memory=0)
    assert {u.unit.hidden for u in tiny.too_big} == {2048, 4096}


def test_the_plan_names_the_eta_in_each_other_precision_the_device_runs(tmp_path, calibration_file):
    from lstm_sweep.running.calibration import calibrations_for
    from lstm_sweep.running.cost import plan_units
    from lstm_sweep.running.sweep import plan_sweep, sweep_request
    from lstm_sweep.training.device import unsupported

    grid = Grid(hidden=(16, 64), lrs=(1e-2, 1e-1), steps=100)
    request = sweep_request(grid, tmp_path / "p.db", device="cpu", workers=1)
    plain = plan_sweep(request)
    assert plain.alternatives == {} and "ETA by precision" not in plain.render()
    plan = plan_sweep(request, alternatives=True)
    if unsupported(CPU, "bf16") is not None:  # an AVX2-only CPU: nothing else to offer
        assert plan.alternatives == {} and "ETA by precision" not in plan.render()
        return
    assert set(plan.alternatives) == {"bf16"}  # tf32 is no CPU's
    # the same trials in bf16, planned with bf16's own probe
    units = make_units([replace(c, precision="bf16") for c in plan.pending], "auto", CPU)
    expected = plan_units(units, CPU, calibrations_for(units, CPU), 1).seconds
    assert plan.alternatives["bf16"] == pytest.approx(expected, rel=1e-12)
    text = plan.render()
    assert "ETA by precision: fp32 " in text and "(as asked); bf16 " in text
    assert "(--precision bf16)" in text and "never switched" in text
    assert plan.units == plain.units and {c.precision for c in plan.pending} == {"fp32"}
    # a bf16 grid is offered fp32, the faithful one
    bf16 = sweep_request(replace(grid, precision=("bf16",)), tmp_path / "b.db", device="cpu", workers=1)
    assert set(plan_sweep(bf16, alternatives=True).alternatives) == {"fp32"}


def test_the_plan_command_offers_bf16_only_where_the_cpu_runs_it(tmp_path, calibration_file):
    import subprocess

    from helpers import LSTM_SWEEP

    args = [
        LSTM_SWEEP,
        "plan",
        "--hidden",
        "16",
        "--lr",
        "1e-2",
        "--steps",
        "50",
        "--db",
        str(tmp_path / "p.db"),
    ]
    avx2 = subprocess.run(
        args, capture_output=True, text=True, timeout=300, env={**os.environ, "ONEDNN_MAX_CPU_ISA": "AVX2"}
    )
    assert avx2.returncode == 0, avx2.stderr
    assert "bf16" not in avx2.stdout and "ETA by precision" not in avx2.stdout
