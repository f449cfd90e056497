"""The fused engine: written-out gradients vs autograd, and fused trials == unfused trials."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lstm_sweep.study.config import TrialConfig
from lstm_sweep.study.results import Status
from lstm_sweep.training.device import unsupported
from lstm_sweep.training.engines.fused import (
    FusedEngine,
    backward,
    forward,
    losses_and_dlogits,
    pack_tf_params,
    param_count,
    unpack_tf_params,
    views,
)
from lstm_sweep.training.model import LSTMClassifier, load_tf_params, tf_init_params
from lstm_sweep.training.train import run_trial, train_group


def random_tf_params(hidden, seed, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return {
        "K": (torch.randn(28 + hidden, 4 * hidden, generator=g) * 0.3).to(dtype),
        "b": (torch.randn(4 * hidden, generator=g) * 0.3).to(dtype),
        "W_out": torch.randn(hidden, 10, generator=g).to(dtype),
        "b_out": torch.randn(10, generator=g).to(dtype),
    }


def test_pack_unpack_round_trip_and_size():
    params = [random_tf_params(6, s) for s in range(3)]
    theta = pack_tf_params(params, 6)
    assert theta.shape == (3, param_count(6))
    for k, p in enumerate(params):
        back = unpack_tf_params(theta, 6, k)
        for name in p:
            assert torch.equal(back[name], p[name])


def test_fused_forward_equals_each_models_own_forward():
    hidden = 7
    params = [random_tf_params(hidden, s) for s in range(3)]
    x = torch.rand(5, 28, 28, dtype=torch.float64)
    fused = forward(views(pack_tf_params(params, hidden), hidden), x)  # (3, 5, 10)
    for k, p in enumerate(params):
        model = LSTMClassifier(hidden).double()
        load_tf_params(model, p)
        torch.testing.assert_close(fused[k], model(x), rtol=1e-12, atol=1e-12)


def test_written_out_backward_matches_autograd():
    hidden = 5
    theta = pack_tf_params([random_tf_params(hidden, s) for s in range(3)], hidden)
    x = torch.rand(8, 28, 28, dtype=torch.float64)
    y = torch.randint(0, 10, (8,))
    p = views(theta, hidden)
    logits, cache = forward(p, x, keep=True)
    losses, dlogits = losses_and_dlogits(logits, y)
    ours = backward(p, cache, dlogits)
    leaf = theta.clone().requires_grad_()
    ref_logits = forward(views(leaf, hidden), x)
    ref_losses = (
        torch.nn.functional.cross_entropy(ref_logits.reshape(-1, 10), y.repeat(3), reduction="none")
        .view(3, 8)
        .mean(1)
    )
    torch.testing.assert_close(losses, ref_losses.detach(), rtol=1e-12, atol=1e-12)
    (grad,) = torch.autograd.grad(ref_losses.sum(), leaf)  # models are independent
    expected = views(grad, hidden)
    for name, g in zip(("Wx", "Wh", "b", "Wo", "bo"), ours):
        torch.testing.assert_close(g, expected[name], rtol=1e-10, atol=1e-12, msg=name)


def test_fused_initial_weights_are_each_trials_own():
    from lstm_sweep.training.engines.fused import FusedEngine

    configs = [TrialConfig(hidden=8, lr=lr, seed=s, data_seed=0) for s in (0, 1) for lr in (1e-3, 1.0)]
    engine = FusedEngine(configs, torch.device("cpu"))
    for k, c in enumerate(configs):
        expected = tf_init_params(8, torch.Generator().manual_seed(c.seed))
        got = engine.tf_params(k)
        for name in expected:
            assert torch.equal(got[name], expected[name]), name


def test_fused_group_equals_unfused_trials(mnist):
    configs = [
        TrialConfig(hidden=16, lr=lr, seed=s, data_seed=0, steps=40)
        for lr in (1e-3, 1e-2, 1e-1)
        for s in (0, 1)
    ]
    fused = train_group(configs, mnist, engine="fused")
    for c, f in zip(configs, fused):
        single = run_trial(c, mnist)
        assert f.status is single.status is Status.DONE
        assert (f.engine, f.group_size, single.engine, single.group_size) == ("fused", 6, "single", 1)
        np.testing.assert_allclose([p.loss for p in f.curve], [p.loss for p in single.curve], rtol=2e-4)
        assert [p.step for p in f.curve] == [p.step for p in single.curve]
        assert abs(f.test_accuracy - single.test_accuracy) <= 0.002  # a few of 10,000 images
        assert abs(f.val_accuracy - single.val_accuracy) <= 0.002
        assert f.train_loss == pytest.approx(single.train_loss, rel=2e-4)


def test_a_diverging_model_does_not_touch_the_others(mnist):
    configs = [TrialConfig(hidden=16, lr=lr, steps=30) for lr in (1e38, 1e-2)]
    bad, good = train_group(configs, mnist, engine="fused")
    alone = run_trial(configs[1], mnist)
    assert bad.status is Status.DIVERGED and bad.steps_done < 30
    assert bad.test_accuracy is not None
    solo_bad = run_trial(configs[0], mnist)
    assert (solo_bad.status, solo_bad.steps_done) == (bad.status, bad.steps_done)
    assert good.status is Status.DONE and good.steps_done == 30
    np.testing.assert_allclose([p.loss for p in good.curve], [p.loss for p in alone.curve], rtol=2e-4)
    assert abs(good.test_accuracy - alone.test_accuracy) <= 0.002


def test_group_members_must_agree_on_the_protocol(mnist):
    with pytest.raises(ValueError, match="agree"):
        train_group([TrialConfig(hidden=16, lr=0.1), TrialConfig(hidden=32, lr=0.1)], mnist)


# --------------------------------------------------------------------------- GRU and basic RNN


@pytest.mark.parametrize("cell", ["gru", "rnn"])
def test_fused_cell_forward_equals_each_models_own_forward(cell):
    from lstm_sweep.training.engines.fused_cells import cell_forward, cell_views, pack_cell_params
    from lstm_sweep.training.model import CellClassifier, load_cell_params, tf_cell_params

    params = [
        {k: v.double() for k, v in tf_cell_params(cell, 8, torch.Generator().manual_seed(s)).items()}
        for s in (3, 4, 5)
    ]
    x = torch.rand(6, 28, 28, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    theta = pack_cell_params(params, cell, 8)
    fused = cell_forward(cell_views(theta, cell, 8), x, cell)
    for k, p in enumerate(params):
        model = CellClassifier(cell, 8).double()
        load_cell_params(model, p)
        torch.testing.assert_close(fused[k], model(x), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("cell, optimizer", [("gru", "adam"), ("rnn", "rmsprop")])
def test_fused_gru_and_rnn_groups_equal_their_unfused_trials(mnist, cell, optimizer):
    from lstm_sweep.training.engines.fused_cells import FusedCellEngine
    from lstm_sweep.training.model import tf_cell_params

    configs = [
        TrialConfig(hidden=16, lr=lr, seed=s, data_seed=0, steps=30, cell=cell, optimizer=optimizer)
        for lr in (1e-3, 1e-2)
        for s in (0, 1)
    ]
    engine = FusedCellEngine(configs, torch.device("cpu"))
    for k, c in enumerate(configs):  # each model starts from its own trial's weights
        own = tf_cell_params(cell, 16, torch.Generator().manual_seed(c.seed))
        for name, value in engine.tf_params(k).items():
            torch.testing.assert_close(value, own[name])
    fused = train_group(configs, mnist, engine="fused")
    for c, f in zip(configs, fused):
        (single,) = train_group([c], mnist, engine="single")
        assert f.status is single.status is Status.DONE
        assert (f.engine, f.group_size) == ("fused", 4)
        np.testing.assert_allclose([p.loss for p in f.curve], [p.loss for p in single.curve], rtol=2e-4)
        assert abs(f.test_accuracy - single.test_accuracy) <= 0.002


def test_a_diverging_gru_does_not_touch_the_others(mnist):
    configs = [TrialConfig(hidden=16, lr=lr, steps=30, cell="gru") for lr in (1e38, 1e-2)]
    bad, good = train_group(configs, mnist, engine="fused")
    (alone,) = train_group([configs[1]], mnist, engine="single")
    assert bad.status is Status.DIVERGED and bad.test_accuracy is not None
    assert good.status is Status.DONE and good.steps_done == 30
    np.testing.assert_allclose([p.loss for p in good.curve], [p.loss for p in alone.curve], rtol=2e-4)


@pytest.mark.skipif(
    unsupported(torch.device("cpu"), "bf16") is not None, reason="this CPU has no native bf16"
)
def test_bf16_steps_cast_the_recurrent_kernel_once_with_the_same_numbers():
    """Autocast would cast Wh at each of a step's 56 matmuls; the engine casts it once. The
    losses and gradients must be the very ones of the step with every cast left to autocast."""
    configs = [TrialConfig(hidden=32, lr=lr, seed=s, precision="bf16") for lr, s in ((0.01, 0), (0.1, 1))]
    engine = FusedEngine(configs, torch.device("cpu"))
    seen = []
    real_step = engine.optimizer.step
    engine.optimizer.step = lambda grads: (seen.append([g.clone() for g in grads]), real_step(grads))
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(20, 28, 28, generator=g), torch.randint(0, 10, (20,), generator=g)
    for step in range(3):
        p = views(engine.theta.clone(), 32)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            logits, cache = forward(p, x, keep=True)
            losses, dlogits = losses_and_dlogits(logits.float(), y)
            grads = backward(p, cache, dlogits)
        expected = torch.cat([g.reshape(2, -1).float() for g in grads], dim=1)
        assert torch.equal(engine.train_step(x, y), losses)
        assert torch.equal(seen[step][0], expected)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        assert torch.equal(engine.logits(x), forward(views(engine.theta, 32), x))
