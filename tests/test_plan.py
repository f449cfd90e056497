"""Work units: which trials train together, with which engine, on how many workers."""

from __future__ import annotations

import pytest
import torch

from lstm_sweep.config import Grid, TrialConfig
from lstm_sweep.errors import ConfigError
from lstm_sweep.plan import make_units, workers_for
from lstm_sweep.store import load_results
from lstm_sweep.sweep import run_sweep

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
    shared = [TrialConfig(hidden=16, lr=lr, seed=s, data_seed=7) for s in (0, 1, 2)
              for lr in (1e-3, 1e-2)]
    (unit,) = make_units(shared, "fused", CPU)
    assert unit.configs == tuple(shared) and unit.describe() == "hidden 16 x6 (fused)"
    assert [len(u.configs) for u in make_units(shared, "fused", CPU, max_group=4)] == [4, 2]


def test_auto_engine_per_device():
    trials = Grid(hidden=(64, 2048), lrs=(1e-3, 1e-2)).trials()
    assert {u.engine for u in make_units(trials, "auto", CPU)} == {"single"}
    on_gpu = make_units(trials, "auto", GPU)
    assert [(u.hidden, u.engine, len(u.configs)) for u in on_gpu] == [
        (64, "fused", 2), (2048, "single", 1), (2048, "single", 1)]
    pytorch_init = Grid(hidden=(64,), lrs=(1e-3,), init="pytorch").trials()
    assert make_units(pytorch_init, "auto", GPU)[0].engine == "single"
    with pytest.raises(ConfigError, match="--init tf only"):
        make_units(pytorch_init, "fused", CPU)
    with pytest.raises(ConfigError, match="unknown engine"):
        make_units(trials, "turbo", CPU)


def test_workers_per_width(monkeypatch):
    monkeypatch.setattr("lstm_sweep.plan.cpu_cores", lambda: 2)
    small, wide = (make_units(Grid(hidden=(h,), lrs=(0.1,)).trials(), "single", CPU)[0]
                   for h in (128, 512))
    assert (workers_for(small, CPU, None), workers_for(wide, CPU, None)) == (2, 1)
    assert workers_for(small, GPU, None) == 1
    assert workers_for(wide, CPU, 3) == 3


def test_worker_processes_store_the_same_results_as_one_process(mnist, tmp_path):
    grid = Grid(hidden=(8, 16), lrs=(1e-2, 1e-1), steps=30)
    serial = run_sweep(grid, mnist, tmp_path / "a.db", device="cpu", workers=1)
    parallel = run_sweep(grid, mnist, tmp_path / "b.db", device="cpu", workers=2)
    assert serial.ran == parallel.ran == 4
    a = {r.key: r for r in load_results(tmp_path / "a.db", with_curves=True)}
    b = {r.key: r for r in load_results(tmp_path / "b.db", with_curves=True)}
    assert a.keys() == b.keys()
    for key in a:  # one vs two threads per trial: float sums in another order, same training
        assert abs(a[key].test_accuracy - b[key].test_accuracy) <= 0.003
        assert [p.step for p in a[key].curve] == [p.step for p in b[key].curve]


def test_fused_sweep_through_run_sweep(mnist, tmp_path):
    grid = Grid(hidden=(16,), lrs=(1e-3, 1e-2, 1e-1), steps=30)
    summary = run_sweep(grid, mnist, tmp_path / "f.db", device="cpu", engine="fused")
    results = load_results(tmp_path / "f.db")
    assert summary.ran == 3 and len(results) == 3
    assert {(r.engine, r.group_size) for r in results} == {("fused", 3)}
    with pytest.raises(ConfigError, match="workers must be a positive integer"):
        run_sweep(grid, mnist, tmp_path / "g.db", device="cpu", workers=0)
    assert not (tmp_path / "g.db").exists()
