"""Parametrizations (sp, mup): mup is sp at the base width, its per-tensor rates are microsoft/mup's,
both engines train it alike, and sp trials keep their keys."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from lstm_sweep.errors import ConfigError
from lstm_sweep.study.config import CELLS, OPTIMIZERS, Grid, TrialConfig
from lstm_sweep.training.engines import make_engine
from lstm_sweep.training.model import build_trial_model
from lstm_sweep.training.param import (
    ADAM_LIKE,
    rate_multipliers,
    rate_scale,
    readout_multiplier,
)
from lstm_sweep.training.train import train_group

mup = pytest.importorskip("mup")

BASE = 8
SMALL = {"steps": 20, "batch_size": 20, "display_step": 5, "data_seed": 0}


def _losses(result):
    return [p.loss for p in result.curve]


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("engine", ["single", "fused"])
def test_mup_is_sp_at_the_base_width(mnist, cell, engine):
    """At hidden == base_width every factor is 1: the same trial under both has equal curves."""
    for optimizer in OPTIMIZERS:
        sp = TrialConfig(hidden=BASE, lr=0.05, cell=cell, optimizer=optimizer, **SMALL)
        mu = TrialConfig(
            hidden=BASE, lr=0.05, cell=cell, optimizer=optimizer, param="mup", base_width=BASE, **SMALL
        )
        assert sp.key() != mu.key()
        (a,), (b,) = (train_group([c], mnist, engine=engine) for c in (sp, mu))
        assert a.status is b.status
        np.testing.assert_allclose(_losses(a), _losses(b), rtol=0, atol=1e-6)
        assert a.test_accuracy == b.test_accuracy


@pytest.mark.slow
@pytest.mark.parametrize("cell", CELLS)
def test_mup_off_the_base_width_trains_alike_in_both_engines(mnist, cell):
    for optimizer in ("adam", "sgd", "rmsprop"):
        configs = [
            TrialConfig(
                hidden=4 * BASE, lr=lr, cell=cell, optimizer=optimizer, param="mup", base_width=BASE, **SMALL
            )
            for lr in (0.01, 0.05)
        ]
        fused = train_group(configs, mnist, engine="fused")
        sp = train_group(
            [TrialConfig(hidden=4 * BASE, lr=0.01, cell=cell, optimizer=optimizer, **SMALL)],
            mnist,
            engine="fused",
        )[0]
        assert not np.allclose(_losses(sp), _losses(fused[0]), rtol=1e-3)  # mup is another model
        for c, f in zip(configs, fused):
            (single,) = train_group([c], mnist, engine="single")
            np.testing.assert_allclose(_losses(f), _losses(single), rtol=2e-4, atol=1e-6)


# ------------------------------------------------------------- the rates, against microsoft/mup


class _MupShapes(nn.Module):
    """One tensor of each of our roles, in PyTorch's (fan_out, fan_in) layout, for mup to scale:
    W_x (G·H, 28), W_h (G·H, H), a gate bias (G·H), the readout (10, H) and its bias (10)."""

    def __init__(self, hidden: int, gates: int):
        super().__init__()
        self.w_x = nn.Parameter(torch.zeros(gates * hidden, 28))
        self.w_h = nn.Parameter(torch.zeros(gates * hidden, hidden))
        self.bias = nn.Parameter(torch.zeros(gates * hidden))
        self.readout = mup.MuReadout(hidden, 10)


def _mups_rates(hidden: int, base: int, gates: int, optimizer: str, lr: float) -> dict:
    model = _MupShapes(hidden, gates)
    mup.set_base_shapes(model, _MupShapes(base, gates), delta=_MupShapes(2 * base, gates))
    maker = mup.MuAdam if optimizer in ADAM_LIKE else mup.MuSGD
    opt = maker(model.parameters(), lr=lr)
    rate = {id(p): g["lr"] for g in opt.param_groups for p in g["params"]}
    return {
        "input": rate[id(model.w_x)],
        "hidden": rate[id(model.w_h)],
        "vector": rate[id(model.bias)],
        "readout": rate[id(model.readout.weight)],
        "scalar": rate[id(model.readout.bias)],
        "mult": 1 / model.readout.width_mult(),
    }


@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
@pytest.mark.parametrize("hidden,base", [(64, 64), (256, 64), (512, 32), (96, 128), (2048, 64)])
def test_per_tensor_rates_equal_microsoft_mups(optimizer, hidden, base):
    lr = 0.01
    config = TrialConfig(hidden=hidden, lr=lr, optimizer=optimizer, param="mup", base_width=base)
    ours = {role: lr * m for role, m in rate_multipliers(config).items()}
    for gates in (4, 3, 1):  # LSTM, GRU, basic RNN
        theirs = _mups_rates(hidden, base, gates, optimizer, lr)
        for role, rate in ours.items():
            assert rate == pytest.approx(theirs[role], rel=1e-12), (role, gates)
        assert readout_multiplier(config) == pytest.approx(theirs["mult"], rel=1e-12)


EXPECTED_SCALES = {  # Adam under mup, hidden 32, base 8: W_h's rate / 4, every other tensor's as is
    "lstm": {
        "lstm.weight_ih_l0": 1.0,
        "lstm.weight_hh_l0": 0.25,
        "lstm.bias_ih_l0": 1.0,
        "out.weight": 1.0,
        "out.bias": 1.0,
    },
    "rnn": {
        "rnn.weight_ih_l0": 1.0,
        "rnn.weight_hh_l0": 0.25,
        "rnn.bias_ih_l0": 1.0,
        "out.weight": 1.0,
        "out.bias": 1.0,
    },
    "gru": {
        "rnn.gate_kernel": "rows",
        "rnn.gate_bias": 1.0,
        "rnn.candidate_kernel": "rows",
        "rnn.candidate_bias": 1.0,
        "out.weight": 1.0,
        "out.bias": 1.0,
    },
}


@pytest.mark.parametrize("cell", CELLS)
def test_every_trainable_tensor_has_its_rate_and_a_kernel_one_per_row_block(cell):
    config = TrialConfig(hidden=32, lr=0.01, cell=cell, param="mup", base_width=8)
    got = {}
    for name, p in build_trial_model(config).named_parameters():
        if p.requires_grad:
            scale = rate_scale(config, name, tuple(p.shape))
            if isinstance(scale, torch.Tensor):  # TF's kernel over [x, h]: W_x rows, W_h rows
                assert scale.shape == (28 + 32, 1)
                assert torch.equal(scale[:28], torch.ones(28, 1))
                assert torch.equal(scale[28:], torch.full((32, 1), 0.25))
                scale = "rows"
            got[name] = scale
    assert got == EXPECTED_SCALES[cell]


def test_mup_init_keeps_the_base_widths_scale_for_w_x_and_shrinks_w_h():
    def std(cfg, part):
        w = build_trial_model(cfg).lstm
        return (w.weight_ih_l0 if part == "x" else w.weight_hh_l0).std().item()

    base = TrialConfig(hidden=64, lr=0.01)
    wide = TrialConfig(hidden=1024, lr=0.01, param="mup", base_width=64)
    sp_wide = TrialConfig(hidden=1024, lr=0.01)
    assert std(wide, "x") == pytest.approx(std(base, "x"), rel=0.05)  # Θ(1): as at H0
    assert std(sp_wide, "x") < 0.3 * std(base, "x")  # sp shrinks it with width
    m = 1024 / 64
    assert std(wide, "h") == pytest.approx(std(base, "h") / math.sqrt(m), rel=0.05)
    zero = TrialConfig(hidden=1024, lr=0.01, param="mup", readout="zero")
    model = build_trial_model(zero)
    assert torch.count_nonzero(model.out.weight) == 0 and model.readout_mult == 1 / m
    assert torch.count_nonzero(model.out.bias) == 10


# ---------------------------------------------------------------- identity and refused input


def test_sp_trials_keep_their_keys_and_base_width_is_mups_alone():
    seed = TrialConfig(hidden=256, lr=0.01)
    assert seed.key() == TrialConfig(hidden=256, lr=0.01, param="sp", base_width=512).key()
    assert TrialConfig(hidden=256, lr=0.01, base_width=512).base_width == 64
    mu = TrialConfig(hidden=256, lr=0.01, param="mup")
    assert (
        len(
            {
                seed.key(),
                mu.key(),
                TrialConfig(hidden=256, lr=0.01, param="mup", base_width=128).key(),
                TrialConfig(hidden=256, lr=0.01, readout="zero").key(),
            }
        )
        == 4
    )
    assert (
        TrialConfig.from_dict(
            {k: v for k, v in seed.to_dict().items() if k not in ("param", "base_width", "readout")}
        )
        == seed
    )
    assert mu.describe() == "mup/64 hidden 256 lr 0.01 seed 0"
    grid = Grid(hidden=(64, 128), lr=(0.01,), param=("sp", "mup"), base_width=32)
    assert [(t.param, t.base_width) for t in grid.trials()] == [
        ("sp", 64),
        ("sp", 64),
        ("mup", 32),
        ("mup", 32),
    ]
    assert grid.varied_axes == ("param", "hidden") or set(grid.varied_axes) == {"hidden", "param"}


@pytest.mark.parametrize(
    "fields,match",
    [
        ({"param": "ntk2"}, "parametrization must be one of sp, mup"),
        ({"param": "MUP"}, "parametrization"),
        ({"param": 1}, "parametrization"),
        ({"param": "mup", "base_width": 0}, "base width must be a positive integer"),
        ({"param": "mup", "base_width": 2.5}, "base width"),
        ({"param": "mup", "base_width": True}, "base width"),
        ({"param": "mup", "base_width": 2**40}, "base width must be at most"),
        ({"readout": "ones"}, "readout init must be one of normal, zero"),
        ({"param": "mup", "init": "pytorch"}, "needs init tf"),
        ({"readout": "zero", "init": "pytorch"}, "needs init tf"),
    ],
)
def test_bad_parametrizations_are_refused_by_name(fields, match):
    with pytest.raises(ConfigError, match=match):
        TrialConfig(hidden=64, lr=0.01, **fields)


def test_a_fused_group_is_one_parametrization():
    configs = [TrialConfig(hidden=16, lr=0.01), TrialConfig(hidden=16, lr=0.01, param="mup")]
    with pytest.raises(ConfigError, match="differ"):
        make_engine("fused", configs, torch.device("cpu"))
