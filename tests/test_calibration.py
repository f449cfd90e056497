"""The probe's cache is a file a user (or a crash) can damage: whatever it holds, planning
probes again instead of trusting it or failing."""

from __future__ import annotations

import json

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import examples
from lstm_sweep.running.calibration import calibration_for, calibrations_for, fit, probe_widths
from lstm_sweep.running.cost import Calibration
from lstm_sweep.running.units import cpu_cores, make_units
from lstm_sweep.study.config import TrialConfig
from lstm_sweep.training.device import device_name

CPU = torch.device("cpu")
KEY = "|".join([device_name(CPU), str(torch.get_num_threads()), torch.__version__, "fp32", "single"])
junk = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=examples(10))
# each example probes this machine (a second or two): a few, of every shape
@pytest.mark.slow
@given(entry=junk | st.fixed_dictionaries({"overhead_s": junk, "flops_per_s": junk, "device": junk}))
def test_a_damaged_cache_entry_is_probed_again(entry, tmp_path, monkeypatch):
    path = tmp_path / "calibration.json"
    monkeypatch.setenv("LSTM_SWEEP_CALIBRATION", str(path))
    path.write_text(json.dumps({KEY: entry}))
    cal = calibration_for(CPU)
    assert isinstance(cal, Calibration) and cal.flops_per_s > 0 and cal.overhead_s >= 0
    ok = json.loads(path.read_text())[KEY]  # the new probe replaced the damaged entry
    assert ok["flops_per_s"] == cal.flops_per_s


@pytest.mark.slow
@pytest.mark.parametrize("text", ["[" * 100_000 + "]" * 100_000, "not json", "[1, 2]", "", "\0\0\0"])
def test_a_damaged_cache_file_is_probed_again(text, tmp_path, monkeypatch):
    path = tmp_path / "calibration.json"
    monkeypatch.setenv("LSTM_SWEEP_CALIBRATION", str(path))
    path.write_text(text)
    assert calibration_for(CPU).flops_per_s > 0
    assert KEY in json.loads(path.read_text())


def test_a_sound_entry_is_reused(tmp_path, monkeypatch):
    path = tmp_path / "calibration.json"
    monkeypatch.setenv("LSTM_SWEEP_CALIBRATION", str(path))
    path.write_text(json.dumps({KEY: {"overhead_s": 0.002, "flops_per_s": 3e10, "device": "x"}}))
    assert calibration_for(CPU) == Calibration(0.002, 3e10, "x")


def test_a_gpu_is_probed_up_to_the_widest_width_it_trains():
    """A GPU's throughput grows with the width up to thousands of units: its probe takes its
    wide point at the plan's widest width (within bounds); a CPU's probe widths never change."""
    cuda = torch.device("cuda")  # a device name: nothing runs on it here
    assert probe_widths(cuda) == (64, 1024)
    assert probe_widths(cuda, 4096) == (64, 4096)
    assert probe_widths(cuda, 2048) == (64, 2048)
    assert probe_widths(cuda, 16) == (64, 1024)  # never narrower than where launches stop ruling
    assert probe_widths(cuda, 65536) == (64, 4096)  # nor a probe that costs minutes
    for widest in (None, 16, 4096, 65536):
        assert probe_widths(CPU, widest) == (32, 128)


def test_calibrations_cover_every_engine_precision_and_cell_of_the_units(tmp_path, monkeypatch):
    monkeypatch.setenv("LSTM_SWEEP_CALIBRATION", str(tmp_path / "cal.json"))
    trials = [TrialConfig(hidden=h, lr=0.1, cell=c) for h in (8, 16) for c in ("lstm", "rnn")]
    units = make_units(trials, "auto", CPU)
    threads = torch.get_num_threads()
    cals = calibrations_for(units, CPU, workers=1)
    assert sorted(cals) == [("single", "fp32", "lstm"), ("single", "fp32", "rnn")]
    assert all(c.flops_per_s > 0 and c.overhead_s >= 0 for c in cals.values())
    # units run by two one-thread workers get the probe of one such worker too, cached apart
    both = calibrations_for(units, CPU, workers=2)
    one = max(1, cpu_cores() // 2)  # a worker's threads
    assert sorted(both) == [
        ("single", "fp32", "lstm"),
        ("single", "fp32", "lstm", one),
        ("single", "fp32", "rnn"),
        ("single", "fp32", "rnn", one),
    ]
    assert torch.get_num_threads() == threads  # the process's threads restored
    keys = json.loads((tmp_path / "cal.json").read_text())
    assert sum(k.split("|")[1] == str(one) for k in keys) >= 2


def test_a_plan_of_workers_reads_the_one_worker_probe(tmp_path, monkeypatch):
    from lstm_sweep.running.cost import Calibration, plan_units, trial_flops

    trials = [TrialConfig(hidden=16, lr=lr, steps=100) for lr in (0.1, 0.01)]
    units = make_units(trials, "single", CPU)
    alone, worker = Calibration(0.001, 1e11, "cpu"), Calibration(0.003, 2e10, "cpu")
    one = max(1, cpu_cores() // 2)
    cals = {("single", "fp32", "lstm"): alone, ("single", "fp32", "lstm", one): worker}
    plan = plan_units(units, CPU, cals, workers=2)
    for u in plan.units:  # the worker's own overhead and throughput
        assert u.seconds == pytest.approx(0.003 * 100 + trial_flops(trials[0]) / 2e10)
    # a plan given only the all-core probe: its overhead, 1 / (1.05 n) of its throughput
    plan = plan_units(units, CPU, {("single", "fp32", "lstm"): alone}, workers=2)
    for u in plan.units:
        assert u.seconds == pytest.approx(0.001 * 100 + trial_flops(trials[0]) / 1e11 * 2.1)


def test_a_probe_that_cannot_see_the_arithmetic_is_never_absurdly_fast():
    """Two probe points that hardly differ (noise on a busy machine) once fitted 10 ms of
    overhead and 1.2e18 FLOP/s, and a plan 4 x too long was cached: such a fit now takes the
    narrow step as overhead and the wide step's own rate, so the plan errs towards slow."""
    good = fit((0.002, 1e8), (0.010, 1e9), "cpu")
    assert good.overhead_s == pytest.approx(0.002 - 1e8 / good.flops_per_s)
    assert good.flops_per_s == pytest.approx(9e8 / 0.008)
    for narrow, wide in [
        ((0.0100, 5e7), (0.0100001, 1.3e9)),
        ((0.010, 5e7), (0.009, 1.3e9)),
        ((0.010, 5e7), (0.010, 1.3e9)),
    ]:
        cal = fit(narrow, wide, "cpu")
        assert cal.flops_per_s == pytest.approx(wide[1] / wide[0])
        assert cal.overhead_s == pytest.approx(narrow[0])
        # the plan of a step at either width is between its measured time and twice it
        for t, f in (narrow, wide):
            assert t * 0.99 <= cal.overhead_s + f / cal.flops_per_s <= 2.01 * max(narrow[0], wide[0])
