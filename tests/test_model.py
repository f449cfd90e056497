"""The model against a plain NumPy implementation of TF's BasicLSTMCell, the init, TF Adam."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from lstm_sweep.training.model import (
    FORGET_BIAS,
    LSTMClassifier,
    build_model,
    glorot_limit,
    load_tf_params,
    tf_params,
)
from lstm_sweep.training.optim import tf_adam_step


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def tf_reference_logits(x, K, b, W_out, b_out, forget_bias=1.0):
    """TF 1.x BasicLSTMCell unrolled by dynamic_rnn, then the seed's head, in float64 NumPy."""
    batch, steps, _ = x.shape
    hidden = W_out.shape[0]
    c = np.zeros((batch, hidden))
    h = np.zeros((batch, hidden))
    for t in range(steps):
        z = np.concatenate([x[:, t], h], axis=1) @ K + b
        i, j, f, o = np.split(z, 4, axis=1)
        c = c * sigmoid(f + forget_bias) + sigmoid(i) * np.tanh(j)
        h = np.tanh(c) * sigmoid(o)
    return h @ W_out + b_out


@pytest.mark.parametrize("hidden", [1, 8, 33])
def test_cell_matches_numpy_tf_reference(hidden):
    g = torch.Generator().manual_seed(hidden)
    params = {
        "K": torch.randn(28 + hidden, 4 * hidden, generator=g) * 0.3,
        "b": torch.randn(4 * hidden, generator=g) * 0.5,  # non-zero: checks the bias mapping too
        "W_out": torch.randn(hidden, 10, generator=g),
        "b_out": torch.randn(10, generator=g),
    }
    model = LSTMClassifier(hidden).double()
    load_tf_params(model, {k: v.double() for k, v in params.items()})
    x = torch.rand(5, 28, 28, generator=g, dtype=torch.float64)
    ours = model(x).detach().numpy()
    ref = tf_reference_logits(x.numpy(), *(params[k].double().numpy() for k in ("K", "b", "W_out", "b_out")))
    np.testing.assert_allclose(ours, ref, rtol=1e-10, atol=1e-10)
    # and the mapping is invertible
    back = tf_params(model)
    for k in params:
        np.testing.assert_allclose(back[k].numpy(), params[k].double().numpy(), atol=1e-12)


def test_float32_forward_agrees_with_reference():
    model = build_model(64, "tf", seed=3)
    x = torch.rand(7, 28, 28)
    p = {k: v.double().numpy() for k, v in tf_params(model).items()}
    ref = tf_reference_logits(x.double().numpy(), p["K"], p["b"], p["W_out"], p["b_out"])
    np.testing.assert_allclose(model(x).detach().numpy(), ref, rtol=1e-4, atol=1e-4)


def test_tf_init_statistics():
    hidden = 512
    model = build_model(hidden, "tf", seed=0)
    p = tf_params(model)
    limit = glorot_limit(hidden)
    assert limit == pytest.approx(math.sqrt(6 / (28 + 5 * hidden)))
    K = p["K"]
    assert K.shape == (28 + hidden, 4 * hidden)
    assert K.abs().max() <= limit
    assert K.abs().max() > 0.999 * limit  # uniform fills the whole range
    assert K.var().item() == pytest.approx(limit**2 / 3, rel=0.01)  # variance of U(-a, a)
    assert K.mean().abs().item() < 0.01 * limit
    # TF bias is zero; the constant forget bias sits on PyTorch's forget slice of bias_ih only
    assert torch.count_nonzero(p["b"]) == 0
    bias_ih = model.lstm.bias_ih_l0.detach()
    assert torch.all(bias_ih[hidden : 2 * hidden] == FORGET_BIAS)
    assert torch.count_nonzero(bias_ih) == hidden
    assert torch.count_nonzero(model.lstm.bias_hh_l0) == 0
    assert not model.lstm.bias_hh_l0.requires_grad
    # head: tf.random_normal -> N(0, 1), std 1 (not a small init)
    w = p["W_out"]
    assert w.shape == (hidden, 10)
    assert w.std().item() == pytest.approx(1.0, abs=0.03)
    assert w.mean().abs().item() < 0.05
    assert not torch.all(p["b_out"] == 0)


def test_init_is_seeded_and_pytorch_init_differs():
    a, b, c = build_model(16, "tf", 1), build_model(16, "tf", 1), build_model(16, "tf", 2)
    assert torch.equal(a.lstm.weight_hh_l0, b.lstm.weight_hh_l0)
    assert not torch.equal(a.lstm.weight_hh_l0, c.lstm.weight_hh_l0)
    pt = build_model(16, "pytorch", 1)
    bound = 1 / math.sqrt(16)  # nn.LSTM default: U(-1/sqrt(H), 1/sqrt(H)) everywhere
    assert pt.lstm.weight_hh_l0.abs().max() <= bound
    assert pt.lstm.weight_hh_l0.abs().max() > glorot_limit(16)
    assert pt.lstm.bias_hh_l0.requires_grad
    assert pt.out.weight.std() < 0.5
    assert torch.equal(pt.lstm.weight_ih_l0, build_model(16, "pytorch", 1).lstm.weight_ih_l0)


def test_tf_adam_matches_tf_update_formula():
    rng = np.random.default_rng(0)
    theta0 = rng.normal(size=5)
    grads = [rng.normal(size=5) * 10.0 ** -rng.integers(0, 8) for _ in range(6)]
    p = torch.tensor(theta0)
    state_m, state_v = torch.zeros(5, dtype=torch.float64), torch.zeros(5, dtype=torch.float64)
    theta, m, v = theta0.copy(), np.zeros(5), np.zeros(5)
    for t, g in enumerate(grads, start=1):
        tf_adam_step([p], [torch.tensor(g)], [state_m], [state_v], t, 0.01)
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        lr_t = 0.01 * math.sqrt(1 - 0.999**t) / (1 - 0.9**t)
        theta = theta - lr_t * m / (np.sqrt(v) + 1e-8)
        np.testing.assert_allclose(p.detach().numpy(), theta, rtol=1e-12, atol=1e-15)


def test_frozen_bias_does_not_move_in_training():
    from lstm_sweep.study.config import TrialConfig
    from lstm_sweep.training.engines.single import SingleEngine

    engine = SingleEngine([TrialConfig(hidden=8, lr=0.1)], torch.device("cpu"))
    model = engine.model
    assert len(engine.params) == 5  # weight_ih, weight_hh, bias_ih, W_out, b_out
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    engine.train_step(torch.rand(4, 28, 28), torch.tensor([1, 2, 3, 4]))
    after = dict(model.named_parameters())
    assert torch.equal(after["lstm.bias_hh_l0"], before["lstm.bias_hh_l0"])
    for name in ("lstm.weight_hh_l0", "lstm.bias_ih_l0", "out.weight"):
        assert not torch.equal(after[name], before[name])
