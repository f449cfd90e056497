"""What a CUDA graph of a fused step relies on, checked where it runs here (a CPU): a *held*
optimizer (its step counted outside the step, Adam's correction read from a device tensor) gives
the same numbers bit for bit; and graphs are only used where they can be. The graph itself runs
on a GPU only: ``benchmarks/bench_gpu.py`` compares graphed and eager steps there."""

from __future__ import annotations

import pytest
import torch

from lstm_sweep.study.config import TrialConfig
from lstm_sweep.training.engines import choose_engine, make_engine
from lstm_sweep.training.graphs import graphs_enabled, stepper
from lstm_sweep.training.optim import TFOptimizer

CPU = torch.device("cpu")


def batches(n: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    return [(torch.rand(20, 28, 28, generator=g), torch.randint(0, 10, (20,), generator=g)) for _ in range(n)]


@pytest.mark.parametrize(
    "cell,optimizer,param",
    [
        ("lstm", "adam", "sp"),
        ("lstm", "adam", "mup"),
        ("gru", "adam", "sp"),
        ("rnn", "adam", "mup"),
        ("lstm", "momentum", "sp"),
        ("gru", "rmsprop", "sp"),
    ],
)
def test_a_held_optimizer_steps_bit_for_bit_as_a_plain_one(cell, optimizer, param):
    configs = [
        TrialConfig(
            hidden=8,
            lr=lr,
            seed=s,
            data_seed=0,
            cell=cell,
            optimizer=optimizer,
            param=param,
            base_width=4 if param == "mup" else 64,
        )
        for s, lr in enumerate((3e-3, 1e-2, 3e-1))
    ]
    plain, held = make_engine("fused", configs, CPU), make_engine("fused", configs, CPU)
    held.optimizer.hold()
    assert held.optimizer.held and not plain.optimizer.held
    for x, y in batches(7):
        a = plain.train_step(x, y)
        held.optimizer.advance()  # what a graph's replay does before its kernels run
        b = held.train_step(x, y)
        assert torch.equal(a, b)
    assert held.optimizer.t == plain.optimizer.t == 7
    assert torch.equal(plain.theta, held.theta)
    for slot_a, slot_b in zip(plain.optimizer.slots(), held.optimizer.slots()):
        assert all(torch.equal(u, v) for u, v in zip(slot_a, slot_b))


def test_a_held_step_uses_the_correction_written_before_it():
    """Held, the step reads Adam's correction from its tensor, not from t: a step after a
    forgotten advance() repeats the last correction (so the loop must advance first)."""
    theta = torch.zeros(2, 3)
    opt = TFOptimizer("adam", [theta], torch.tensor([[0.1], [0.1]]))
    opt.hold()
    opt.advance()
    assert opt._neg_correction.item() == pytest.approx(-((1 - 0.999) ** 0.5) / (1 - 0.9))
    opt.step([torch.ones(2, 3)])
    assert opt.t == 1
    assert torch.allclose(theta, torch.full((2, 3), -0.1))  # m / sqrt(v) = 1, lr_t = lr at t=1


def test_hold_refuses_float_rates():
    with pytest.raises(ValueError, match="tensor learning rates"):
        TFOptimizer("adam", [torch.zeros(3)], 0.1).hold()


def test_graphs_only_where_they_can_run(monkeypatch):
    fused = make_engine("fused", [TrialConfig(hidden=4, lr=0.1)], CPU)
    single = make_engine("single", [TrialConfig(hidden=4, lr=0.1)], CPU)
    assert not graphs_enabled(fused, CPU)  # a CPU: the plain step
    assert stepper(fused, CPU) == fused.train_step
    cuda = torch.device("cuda")
    assert graphs_enabled(fused, cuda) and not graphs_enabled(single, cuda)
    monkeypatch.setenv("LSTM_SWEEP_CUDA_GRAPHS", "0")
    assert not graphs_enabled(fused, cuda)


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_on_a_gpu_auto_fuses_up_to_1024_units(cell):
    for hidden, engine in ((16, "fused"), (1024, "fused"), (2048, "single"), (4096, "single")):
        assert choose_engine(TrialConfig(hidden=hidden, lr=0.1, cell=cell), "auto", "cuda") == engine
        assert choose_engine(TrialConfig(hidden=hidden, lr=0.1, cell=cell), "auto", "cpu") == "single"
