"""The benchmarks cannot report a false win: a timed trial that did not train, or a rate above
the machine's own matmul peak, stops them before any ratio is printed."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch

from helpers import trial
from lstm_sweep.study.results import Status

_spec = importlib.util.spec_from_file_location(
    "bench_engine", Path(__file__).parents[1] / "benchmarks" / "bench_engine.py"
)
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


def _r(status, lr=1e-3):
    return trial(
        16,
        lr,
        steps=5,
        status=status,
        error="RuntimeError: could not create a primitive descriptor" if status is Status.FAILED else None,
    )


def test_failed_trials_invalidate_the_benchmark():
    with pytest.raises(
        SystemExit,
        match=r"benchmark invalid: 1 of 3 trials of strategy auto "
        r"ended \['failed'\].*primitive descriptor.*no ratio",
    ):
        bench.check_finished(
            [_r(Status.DONE), _r(Status.FAILED, 1e-2), _r(Status.DONE, 0.1)], "strategy auto"
        )
    with pytest.raises(SystemExit, match=r"\['oom'\]"):
        bench.check_finished([_r(Status.OOM)], "strategy fused")


def test_diverged_trials_count_as_trained(capsys):
    bench.check_finished([_r(Status.DONE), _r(Status.DIVERGED, 1.0)], "strategy single")
    assert "1 of 2 trials of strategy single diverged" in capsys.readouterr().out


def test_a_rate_above_the_peak_is_an_error_not_a_result():
    bench.check_below_peak(100.0, 120.0, "strategy auto")  # below: fine
    with pytest.raises(SystemExit, match="682 GFLOP/s, above this machine's 120 GFLOP/s"):
        bench.check_below_peak(682.0, 120.0, "strategy auto")


_tasks_spec = importlib.util.spec_from_file_location(
    "bench_tasks", Path(__file__).parents[1] / "benchmarks" / "bench_tasks.py"
)
bench_tasks = importlib.util.module_from_spec(_tasks_spec)
_tasks_spec.loader.exec_module(bench_tasks)


def test_bench_tasks_counts_the_plans_flops_of_each_task():
    # 3 B T 2 (I + H) 4H per model: pixels is 28 (1 + H) / (28 + H) times rows
    for h in (16, 32, 128):
        rows = bench_tasks.update_flops("rows", h, 4, 50)
        assert rows == 4 * 3 * 50 * 28 * 2 * (28 + h) * 4 * h
        assert bench_tasks.update_flops("pixels", h, 4, 50) / rows == pytest.approx(28 * (1 + h) / (28 + h))
    assert len({c.group_key() for c in bench_tasks.configs_for("pixels", 16, 4, 50)}) == 1  # they fuse


@pytest.mark.slow
def test_bench_tasks_quick_prints_its_table(capsys):
    threads = torch.get_num_threads()
    try:
        bench_tasks.main(["--quick", "--threads", "1"])
    finally:  # the benchmark sets the process's threads: later tests key their probes by them
        torch.set_num_threads(threads)
    out = capsys.readouterr().out
    assert "torch " in out and "machine: " in out
    header, row = out.splitlines()[4:6]
    assert header.split()[:2] == ["hidden", "rows"] and "plain/fused" in header
    assert row.split()[0] == "16" and len(row.split()) == 9
