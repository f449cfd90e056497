"""Cells and optimizers beyond the seed's LSTM/Adam, each checked against NumPy transcriptions of
TF 1.x's formulas.

Cells — ``tensorflow/python/ops/rnn_cell_impl.py``:

- ``GRUCell.call``::

      gate_inputs = math_ops.matmul(array_ops.concat([inputs, state], 1), self._gate_kernel)
      gate_inputs = nn_ops.bias_add(gate_inputs, self._gate_bias)
      value = math_ops.sigmoid(gate_inputs)
      r, u = array_ops.split(value=value, num_or_size_splits=2, axis=1)
      r_state = r * state
      candidate = math_ops.matmul(array_ops.concat([inputs, r_state], 1), self._candidate_kernel)
      candidate = nn_ops.bias_add(candidate, self._candidate_bias)
      c = self._activation(candidate)
      new_h = u * state + (1 - u) * c

  with ``_gate_bias`` initialised to 1.0 and ``_candidate_bias`` to 0 (``GRUCell.build``; in TF
  1.0-1.4 the same through ``_linear(..., bias_start=1.0)`` and ``_linear(..., True)``); kernels
  take the default initializer, glorot_uniform.
- ``BasicRNNCell.call``: ``output = self._activation(_linear([inputs, state], self._num_units,
  True))`` — tanh, bias 0.

Optimizers — ``tensorflow/core/kernels/training_ops.cc`` (``ApplyGradientDescent``,
``ApplyMomentum``, ``ApplyRMSProp``, ``ApplyAdagrad``) with the Python classes' defaults
(``momentum.py``: use_nesterov False; ``rmsprop.py``: decay 0.9, momentum 0.0, epsilon 1e-10, the
"rms" slot initialised with ones; ``adagrad.py``: initial_accumulator_value 0.1)::

      var -= lr * grad                                            # GradientDescent
      accum = accum * momentum + grad; var -= lr * accum          # Momentum
      var -= lr * grad + lr * momentum * accum                    # Momentum, use_nesterov
      ms = ms + (grad^2 - ms) * (1 - rho); mom = mom * momentum + lr * grad / sqrt(ms + epsilon)
      var -= mom                                                  # RMSProp
      accum += grad^2; var -= lr * grad / sqrt(accum)             # Adagrad
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from helpers import cli
from lstm_sweep.errors import ConfigError
from lstm_sweep.running.cost import trial_flops
from lstm_sweep.store import load_results
from lstm_sweep.study.config import Grid, TrialConfig
from lstm_sweep.training.model import N_INPUT, TFGRU, build_model
from lstm_sweep.training.optim import TFOptimizer
from lstm_sweep.training.train import train_group


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def _np_gru(x, p):
    """TF GRUCell over a sequence, then the head: x (B, T, I) -> logits (B, 10)."""
    h = np.zeros((x.shape[0], p["candidate_kernel"].shape[1]))
    for t in range(x.shape[1]):
        value = _sigmoid(np.concatenate([x[:, t], h], 1) @ p["gate_kernel"] + p["gate_bias"])
        r, u = np.split(value, 2, axis=1)
        c = np.tanh(np.concatenate([x[:, t], r * h], 1) @ p["candidate_kernel"] + p["candidate_bias"])
        h = u * h + (1 - u) * c
    return h @ p["W_out"] + p["b_out"]


def _np_rnn(x, p):
    h = np.zeros((x.shape[0], p["K"].shape[1]))
    for t in range(x.shape[1]):
        h = np.tanh(np.concatenate([x[:, t], h], 1) @ p["K"] + p["b"])
    return h @ p["W_out"] + p["b_out"]


def _tf_params_of(model):
    """The model's parameters in TF form, float64 NumPy."""
    if model.cell == "gru":
        p = {
            n: getattr(model.rnn, n).detach().double().numpy()
            for n in ("gate_kernel", "gate_bias", "candidate_kernel", "candidate_bias")
        }
    else:
        rnn = model.rnn
        p = {
            "K": torch.cat([rnn.weight_ih_l0.T, rnn.weight_hh_l0.T]).detach().double().numpy(),
            "b": (rnn.bias_ih_l0 + rnn.bias_hh_l0).detach().double().numpy(),
        }
    p["W_out"] = model.out.weight.T.detach().double().numpy()
    p["b_out"] = model.out.bias.detach().double().numpy()
    return p


@pytest.mark.parametrize("cell, reference", [("gru", _np_gru), ("rnn", _np_rnn)])
def test_cells_compute_tfs_formulas(cell, reference):
    torch.manual_seed(0)
    model = build_model(24, "tf", seed=3, cell=cell).double()
    with torch.no_grad():  # non-zero biases, so that their placement is tested too
        for p in model.parameters():
            if p.dim() == 1:
                p.add_(torch.randn_like(p) * 0.3)
    if cell == "rnn":
        model.rnn.bias_hh_l0.zero_()
    x = torch.rand(5, 28, N_INPUT, dtype=torch.float64)
    ours = model(x).detach().numpy()
    np.testing.assert_allclose(ours, reference(x.numpy(), _tf_params_of(model)), rtol=1e-10, atol=1e-12)


def test_tf_initialisation_of_gru_and_rnn():
    h = 64
    gru = build_model(h, "tf", seed=1, cell="gru")
    assert torch.all(gru.rnn.gate_bias == 1.0) and torch.all(gru.rnn.candidate_bias == 0)
    for kernel, cols in ((gru.rnn.gate_kernel, 2 * h), (gru.rnn.candidate_kernel, h)):
        limit = math.sqrt(6 / (N_INPUT + h + cols))
        assert kernel.abs().max() <= limit and kernel.abs().max() > 0.95 * limit
    assert abs(gru.out.weight.std().item() - 1) < 0.1  # the seed's N(0, 1) head
    rnn = build_model(h, "tf", seed=1, cell="rnn")
    assert not rnn.rnn.bias_hh_l0.requires_grad and torch.all(rnn.rnn.bias_ih_l0 == 0)
    assert rnn.rnn.weight_ih_l0.abs().max() <= math.sqrt(6 / (N_INPUT + 2 * h))
    # the same seed draws the same weights; another seed others
    assert torch.equal(build_model(h, "tf", 1, "gru").rnn.gate_kernel, gru.rnn.gate_kernel)
    assert not torch.equal(build_model(h, "tf", 2, "gru").rnn.gate_kernel, gru.rnn.gate_kernel)


def test_gru_gradients_match_finite_differences():
    torch.manual_seed(0)
    gru = TFGRU(3).double()
    with torch.no_grad():
        for p in gru.parameters():
            p.uniform_(-0.5, 0.5)
    x = torch.rand(2, 4, N_INPUT, dtype=torch.float64)
    params = tuple(gru.parameters())

    def f(*ps):
        return torch.func.functional_call(
            gru, dict(zip(["gate_kernel", "gate_bias", "candidate_kernel", "candidate_bias"], ps)), (x,)
        )

    assert torch.autograd.gradcheck(f, params, eps=1e-6, atol=1e-8)


def _np_optimizer(name, settings, lr, theta, grads):
    """NumPy transcription of TF's kernels (module docstring), over a sequence of gradients."""
    theta = theta.copy()
    a = np.zeros_like(theta)
    ms = np.ones_like(theta)
    mom = np.zeros_like(theta)
    m, v = np.zeros_like(theta), np.zeros_like(theta)
    if name == "adagrad":
        a = np.full_like(theta, settings.get("initial_accumulator_value", 0.1))
    for t, g in enumerate(grads, start=1):
        if name == "sgd":
            theta -= lr * g
        elif name == "momentum":
            mu = settings.get("momentum", 0.9)
            a = a * mu + g
            theta -= lr * g + lr * mu * a if settings.get("nesterov") else lr * a
        elif name == "rmsprop":
            rho, mu, eps = (
                settings.get("decay", 0.9),
                settings.get("momentum", 0.0),
                settings.get("epsilon", 1e-10),
            )
            ms = ms + (g * g - ms) * (1 - rho)
            mom = mom * mu + lr * g / np.sqrt(ms + eps)
            theta -= mom
        elif name == "adagrad":
            a += g * g
            theta -= lr * g / np.sqrt(a)
        else:  # adam, TF's form
            m = 0.9 * m + 0.1 * g
            v = 0.999 * v + 0.001 * g * g
            theta -= lr * math.sqrt(1 - 0.999**t) / (1 - 0.9**t) * m / (np.sqrt(v) + 1e-8)
    return theta


OPTIMIZER_CASES = [
    ("sgd", {}),
    ("momentum", {}),
    ("momentum", {"momentum": 0.5}),
    ("momentum", {"nesterov": 1.0}),
    ("rmsprop", {}),
    ("rmsprop", {"momentum": 0.9, "decay": 0.5}),
    ("adagrad", {}),
    ("adagrad", {"initial_accumulator_value": 1.0}),
    ("adam", {}),
]


@pytest.mark.parametrize("name, settings", OPTIMIZER_CASES)
def test_optimizers_follow_tfs_kernels_over_many_steps(name, settings):
    rng = np.random.default_rng(0)
    theta0 = rng.normal(size=(3, 7))
    grads = [rng.normal(size=(3, 7)) * (1 + t % 3) for t in range(60)]
    lrs = np.array([[0.1], [0.01], [0.003]])  # the fused engine: one rate per model (row)
    expected = np.stack(
        [_np_optimizer(name, settings, lrs[k, 0], theta0[k], [g[k] for g in grads]) for k in range(3)]
    )
    theta = torch.tensor(theta0)
    opt = TFOptimizer(name, [theta], torch.tensor(lrs), tuple(settings.items()))
    for g in grads:
        opt.step([torch.tensor(g)])
    np.testing.assert_allclose(theta.numpy(), expected, rtol=1e-10, atol=1e-12)
    single = torch.tensor(theta0[1])  # and with a float rate (the single engine)
    opt = TFOptimizer(name, [single], 0.01, tuple(settings.items()))
    for g in grads:
        opt.step([torch.tensor(g[1])])
    np.testing.assert_allclose(single.numpy(), expected[1], rtol=1e-10, atol=1e-12)


@pytest.mark.slow
def test_fused_engine_trains_other_optimizers_as_the_single_engine_does(mnist):
    configs = [TrialConfig(hidden=16, lr=lr, steps=30, optimizer="momentum") for lr in (0.05, 0.2)]
    fused = train_group(configs, mnist, engine="fused")
    for c, f in zip(configs, fused):
        (single,) = train_group([c], mnist, engine="single")
        np.testing.assert_allclose([p.loss for p in f.curve], [p.loss for p in single.curve], rtol=2e-4)


def test_settings_keys_and_costs():
    base = TrialConfig(hidden=16, lr=1e-3, steps=30)
    assert base.key() == "445f36ee6d6f1d077a4dbc1e65a7d836"  # as stored by 0.1.0
    assert (
        TrialConfig(hidden=16, lr=1e-3, steps=30, cell="lstm", optimizer="adam", opt={"beta1": 0.9}).key()
        == base.key()
    )  # a default setting: same trial
    keys = {
        TrialConfig(hidden=16, lr=1e-3, steps=30, cell=c, optimizer=o).key()
        for c in ("lstm", "gru", "rnn")
        for o in ("adam", "sgd")
    }
    assert len(keys) == 6
    assert TrialConfig(hidden=16, lr=1e-3, optimizer="momentum", opt={"momentum": 0.99}).opt == (
        ("momentum", 0.99),
    )
    for bad, message in [
        ({"optimizer": "adam", "opt": {"momentum": 0.9}}, "no setting"),
        ({"optimizer": "momentum", "opt": {"momentum": 1.5}}, "out of range"),
        ({"optimizer": "momentum", "opt": {"nesterov": 0.5}}, "out of range"),
        ({"cell": "transformer"}, "cell must be one of"),
        ({"optimizer": "lion"}, "optimizer must be one of"),
    ]:
        with pytest.raises(ConfigError, match=message):
            TrialConfig(hidden=16, lr=1e-3, **bad)
    flops = {c: trial_flops(TrialConfig(hidden=256, lr=1e-3, cell=c)) for c in ("lstm", "gru", "rnn")}
    assert flops["gru"] / flops["lstm"] == pytest.approx(0.75)
    assert flops["rnn"] / flops["lstm"] == pytest.approx(0.25)
    grid = Grid(
        hidden=(16,), lrs=(0.1,), cells=("lstm", "gru"), optimizers=("sgd", "momentum"), opt={"momentum": 0.5}
    )
    assert len(grid) == 4
    assert {(t.optimizer, t.opt) for t in grid.trials()} == {("sgd", ()), ("momentum", (("momentum", 0.5),))}


@pytest.mark.slow
def test_cells_and_optimizers_through_the_cli(mnist_dir, tmp_path):
    db = tmp_path / "s.db"
    o = cli(
        "run",
        "--hidden",
        "16",
        "--lr",
        "0.01,0.1",
        "--cell",
        "lstm,gru",
        "--optimizer",
        "adam,momentum",
        "--opt",
        "momentum=0.5",
        "--steps",
        "30",
        "--device",
        "cpu",
        "--workers",
        "1",
        "--no-progress",
        "--data-dir",
        mnist_dir,
        "--db",
        db,
    )
    assert o.code == 0, o.text
    titles = [line for line in o.out.splitlines() if line.startswith("Test accuracy")]
    assert titles == [
        # what tells the tables apart is named in each, the seed's model too
        "Test accuracy: LSTM · adam · mnist · 30 steps · batch 100 · init tf · fp32 · 1 seed",
        "Test accuracy: LSTM · momentum (momentum=0.5) · mnist · 30 steps · batch 100 · init tf "
        "· fp32 · 1 seed",
        "Test accuracy: GRU · adam · mnist · 30 steps · batch 100 · init tf · fp32 · 1 seed",
        "Test accuracy: GRU · momentum (momentum=0.5) · mnist · 30 steps · batch 100 · init tf "
        "· fp32 · 1 seed",
    ]
    results = load_results(db)
    assert len(results) == 8 and {str(r.status) for r in results} == {"done"}
    assert {(r.config.cell, r.config.optimizer) for r in results} == {
        ("lstm", "adam"),
        ("lstm", "momentum"),
        ("gru", "adam"),
        ("gru", "momentum"),
    }
    assert "gru momentum hidden 16 lr 0.1 seed 0: done" in o.err
    o = cli("compare", "--db", db)
    assert o.code == 0 and "steps 999 there, 30 here" in o.out
    o = cli(
        "plan",
        "--hidden",
        "16",
        "--lr",
        "0.01,0.1",
        "--cell",
        "lstm,gru",
        "--optimizer",
        "adam,momentum",
        "--opt",
        "momentum=0.5",
        "--steps",
        "30",
        "--device",
        "cpu",
        "--dataset",
        "mnist,fashion-mnist",
        "--db",
        db,
    )  # one plan per dataset
    assert o.code == 0, o.text
    mnist_plan, fashion_plan = o.out.split("dataset fashion-mnist:")
    assert (
        mnist_plan.startswith("dataset mnist:\n")
        and "nothing to run (every trial is stored already)" in mnist_plan
    )
    assert "total: 8 trials" in fashion_plan
    o = cli("findings", "--db", db)  # per table (facet), each headed by what it is about
    headings = [line for line in o.out.splitlines() if not line.startswith("- ")]
    names = ["LSTM · adam", "LSTM · momentum (momentum=0.5)", "GRU · adam", "GRU · momentum (momentum=0.5)"]
    assert headings == [f"{n}:" for n in names] + [f"Across the tables ({', '.join(names)}):"]
    assert o.out.count("- Best learning rate per width: 16 → ") == 4
    across = o.out.split("Across the tables")[1].splitlines()[1:]
    moves = [line for line in across if "the best rate per width" in line.lower()]
    for name in names[1:]:  # how the best rate moves from the first table to each other one
        assert sum(name in line for line in moves) == 1, (name, moves)
    assert (
        sum(line.startswith("- Best table per width (each at its best rate): 16 → ") for line in across) == 1
    )
    assert any("frontier" in line or "made training fail in any table" in line for line in across)
    # any two axes: cell x optimizer, one table per learning rate (the facet)
    o = cli("table", "--db", db, "--rows", "cell", "--cols", "optimizer")
    assert o.code == 0, o.text
    assert [line for line in o.out.splitlines() if line.startswith("Test accuracy")] == [
        f"Test accuracy: mnist · 16 units · lr {lr} · 30 steps · batch 100 · init tf · fp32 · 1 seed"
        for lr in ("0.01", "0.1")
    ]
    squeezed = [" ".join(line.split()) for line in o.out.splitlines()]
    assert squeezed.count("cell \\ optimizer adam momentum (momentum=0.5)") == 2
    assert len([line for line in o.out.splitlines() if line.lstrip().startswith(("LSTM", "GRU"))]) == 4
    o = cli("table", "--db", db, "--rows", "cell", "--cols", "optimizer", "--format", "csv")
    lines = o.out.splitlines()  # one block: the facet (the rate) a column of its own
    assert lines[0] == "lr,cell,optimizer_adam,optimizer_momentum (momentum=0.5)"
    assert [line.split(",")[:2] for line in lines[1:]] == [
        ["0.01", "LSTM"],
        ["0.01", "GRU"],
        ["0.1", "LSTM"],
        ["0.1", "GRU"],
    ]
    o = cli("table", "--db", db, "--where", "cell=gru", "--where", "optimizer=momentum")
    assert [line for line in o.out.splitlines() if line.startswith("Test accuracy")] == [
        "Test accuracy: GRU · momentum (momentum=0.5) · mnist · 30 steps · batch 100 · init tf "
        "· fp32 · 1 seed"
    ]
    o = cli("findings", "--db", db, "--where", "cell=cnn")
    assert o.error_line() == ("Error: no trial has cell='cnn'; its values in the store: LSTM, GRU")
    o = cli("export", "--db", db, "--format", "jsonl")
    assert len(o.out.splitlines()) == len(results) == 8  # a row per trial
    o = cli(
        "plot",
        "--db",
        db,
        "--rows",
        "cell",
        "--cols",
        "optimizer",
        "--kind",
        "heatmap",
        "--kind",
        "time",
        "--out",
        tmp_path / "p",
    )
    assert o.code == 0, o.text
    assert sorted(p.name for p in (tmp_path / "p").iterdir()) == [
        f"{kind}-lr-{lr}.png" for kind in ("heatmap", "time") for lr in ("0.01", "0.1")
    ]
    o = cli("report", "--db", db, "--out", tmp_path / "r.html")
    page = (tmp_path / "r.html").read_text()
    assert page.count("<figure") == 4 * 4  # heatmap, time, curves, best rate: per table
    assert page.count("<figcaption>Test accuracy (GRU · adam) by hidden units (rows)") == 1
    results, comparison = page.split("<h2>Comparison with the published table", 1)
    assert results.count("<h3>") == 4  # a heading per table
    assert comparison.count("<h3>GRU · adam</h3>") == 1 and comparison.count("<h3>") == 4  # each compared
    # findings nested under their table's name, then those across the tables
    assert page.count("<li><strong>") == 5 and "<li><strong>GRU · adam</strong><ul><li>" in page
    for args, message in [
        (["--opt", "momentum=0.5"], "no optimizer of the grid (adam) has"),
        (["--opt", "momentum"], "is not NAME=NUMBER"),
        (["--cell", "lstm,cnn"], "'cnn' is not one of lstm, gru, rnn"),
        (["--engine", "fused", "--init", "pytorch"], "supports --init tf only"),
        (["--optimizer", "adam,adam"], "repeated values"),
    ]:
        o = cli(
            "run",
            "--hidden",
            "16",
            "--steps",
            "5",
            "--device",
            "cpu",
            "--no-progress",
            "--data-dir",
            mnist_dir,
            "--db",
            tmp_path / "x.db",
            *args,
        )
        assert message in o.error_line()
    assert not (tmp_path / "x.db").exists()


@pytest.mark.slow
def test_presets_that_ask_the_next_question(tmp_path):
    o = cli("plan", "--preset", "cells", "--device", "cpu", "--db", tmp_path / "x.db")
    assert o.code == 0 and "total: 72 trials" in o.out
    assert "single fp32 gru" in o.out and "single fp32 rnn" in o.out
    o = cli("plan", "--preset", "optimizers", "--device", "cpu", "--db", tmp_path / "x.db")
    assert o.code == 0 and "total: 120 trials" in o.out
