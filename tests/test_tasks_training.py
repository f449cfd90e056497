"""The training layer on tasks beyond rows of MNIST (issue 30): any :class:`TaskShape` (inputs,
head, a target at the last step or at every step, cross-entropy or squared error), on handmade
datasets (no task_data): the written-out LSTM gradients against autograd, fused == single for
every cell, mup == sp at the base width, the metrics by hand, and a 784-step trial stopped at a
rung resuming bit for bit."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from lstm_sweep.data import ROWS, Dataset, Split, TaskShape
from lstm_sweep.errors import ConfigError
from lstm_sweep.study.config import TrialConfig
from lstm_sweep.study.results import Status
from lstm_sweep.training.checkpoint import CheckpointDir, Checkpointing
from lstm_sweep.training.engines import make_engine
from lstm_sweep.training.engines.fused import (
    FusedEngine,
    backward,
    forward,
    losses_and_dlogits,
    pack_tf_params,
    param_count,
    views,
)
from lstm_sweep.training.model import build_trial_model, tf_cell_params, tf_init_params
from lstm_sweep.training.tasks import (
    accuracy_sum,
    metric_value,
    model_inputs,
    mse_sum,
    xent_sum,
)
from lstm_sweep.training.train import evaluate, train_group

TOKENS = TaskShape(n_input=5, n_output=5, readout="every", loss="xent", tokens=True)  # chars-like
MSE = TaskShape(n_input=2, n_output=1, readout="last", loss="mse")  # adding-like
PIXELS = TaskShape(n_input=1, n_output=10, readout="last", loss="xent")
TASK_OF = {TOKENS: "chars", MSE: "adding", PIXELS: "pixels"}


def toy_data(
    shape: TaskShape, steps: int = 12, n: int = (60, 20, 20), seed: int = 0, task: str | None = None
) -> Dataset:
    """A Dataset in ``shape``'s layout from random numbers, made for ``task`` (by default the
    task ``shape`` stands for; its default length, task seed 0) as task_data would have made it."""
    fallback = "chars" if shape.tokens else "adding" if shape.loss == "mse" else "pixels"
    task = task or TASK_OF.get(shape, fallback)
    made_for = (task, TrialConfig(hidden=1, lr=0.1, task=task).length, 0)
    rng = np.random.default_rng(seed)

    def split(m: int) -> Split:
        if shape.tokens:
            x = rng.integers(0, shape.n_input, (m, steps)).astype(np.int64)
        else:
            x = rng.random((m, steps, shape.n_input), dtype=np.float32)
        if shape.loss == "mse":
            y = rng.random(m, dtype=np.float32)
        elif shape.readout == "every":
            y = rng.integers(0, shape.n_output, (m, steps)).astype(np.int64)
        else:
            y = rng.integers(0, shape.n_output, m).astype(np.int64)
        return Split(x, y)

    name = {TOKENS: "toy-chars", MSE: "toy-adding", PIXELS: "toy-pixels"}.get(shape, "toy-task")
    return Dataset(name, "handmade", split(n[0]), split(n[1]), split(n[2]), shape=shape, made_for=made_for)


def random_tf_params(hidden, seed, n_input, n_output):
    g = torch.Generator().manual_seed(seed)
    return {
        "K": (torch.randn(n_input + hidden, 4 * hidden, generator=g) * 0.3).double(),
        "b": (torch.randn(4 * hidden, generator=g) * 0.3).double(),
        "W_out": torch.randn(hidden, n_output, generator=g).double(),
        "b_out": torch.randn(n_output, generator=g).double(),
    }


# --------------------------------------------------------------------------- the fused LSTM's gradients


@pytest.mark.parametrize("mult", [1.0, 0.25])
@pytest.mark.parametrize("case", ["every-xent", "last-mse"])
def test_written_out_backward_matches_autograd(case, mult):
    every = case == "every-xent"
    hidden, n_in, n_out, batch, steps = 5, 4, (6 if every else 1), 3, 7
    dims = (n_in, n_out)
    theta = pack_tf_params([random_tf_params(hidden, s, *dims) for s in range(3)], hidden)
    assert theta.shape == (3, param_count(hidden, *dims))
    x = torch.rand(batch, steps, n_in, dtype=torch.float64)
    if every:
        y = torch.randint(0, n_out, (batch, steps)).t().reshape(-1)  # time-major, as the engine
    else:
        y = torch.rand(batch, dtype=torch.float64)
    loss = "xent" if every else "mse"
    p = views(theta, hidden, *dims)
    logits, cache = forward(p, x, keep=True, readout_mult=mult, every=every)
    assert logits.shape == (3, steps * batch if every else batch, n_out)
    losses, dlogits = losses_and_dlogits(logits, y, loss)
    ours = backward(p, cache, dlogits, mult, every)

    leaf = theta.clone().requires_grad_()
    ref = forward(views(leaf, hidden, *dims), x, readout_mult=mult, every=every)
    if every:
        ref_losses = (
            torch.nn.functional.cross_entropy(ref.reshape(-1, n_out), y.repeat(3), reduction="none")
            .view(3, -1)
            .mean(1)
        )
    else:
        ref_losses = ((ref[..., 0] - y) ** 2).mean(1)
    torch.testing.assert_close(losses, ref_losses.detach(), rtol=1e-12, atol=1e-12)
    (grad,) = torch.autograd.grad(ref_losses.sum(), leaf)
    expected = views(grad, hidden, *dims)
    for name, g in zip(("Wx", "Wh", "b", "Wo", "bo"), ours):
        torch.testing.assert_close(g, expected[name], rtol=1e-10, atol=1e-12, msg=name)


def test_every_step_logits_are_each_steps_head_in_time_major_order():
    hidden, dims = 4, (3, 5)
    p = views(pack_tf_params([random_tf_params(hidden, 0, *dims)], hidden), hidden, *dims)
    x = torch.rand(2, 6, 3, dtype=torch.float64)
    every = forward(p, x, every=True)  # (1, T * B, O)
    for t in range(6):  # the state after step t is the last state of the first t + 1 steps
        torch.testing.assert_close(every[:, t * 2 : (t + 1) * 2], forward(p, x[:, : t + 1]))


# --------------------------------------------------------------------------- engines and init


def test_rows_initial_weights_are_todays_and_other_shapes_use_their_sizes():
    g = torch.Generator
    assert all(
        torch.equal(a, b)
        for a, b in zip(
            tf_init_params(8, g().manual_seed(3)).values(),
            tf_init_params(8, g().manual_seed(3), 28, 10).values(),
        )
    )
    params = tf_init_params(8, g().manual_seed(3), n_input=1, n_output=1)
    assert params["K"].shape == (9, 32) and params["W_out"].shape == (8, 1)
    assert params["K"].abs().max() <= math.sqrt(6 / (1 + 8 + 32))  # glorot over the real fan-in
    gru = tf_cell_params("gru", 8, g().manual_seed(3), n_input=5, n_output=5)
    assert gru["gate_kernel"].shape == (13, 16) and gru["b_out"].shape == (5,)


@pytest.mark.parametrize("shape", [TOKENS, MSE, PIXELS], ids=["tokens-every", "mse", "pixels"])
@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_fused_equals_single_for_every_shape(shape, cell):
    torch.set_num_threads(1)
    data = toy_data(shape)
    configs = [
        TrialConfig(
            hidden=8,
            lr=lr,
            seed=s,
            data_seed=0,
            steps=12,
            batch_size=10,
            display_step=4,
            cell=cell,
            task=TASK_OF[shape],
        )
        for lr, s in ((1e-2, 0), (3e-2, 1))
    ]
    fused = train_group(configs, data, engine="fused")
    for c, f in zip(configs, fused):
        (single,) = train_group([c], data, engine="single")
        assert f.status is single.status is Status.DONE, (f.error, single.error)
        assert [p.step for p in f.curve] == [p.step for p in single.curve] == [4, 8, 12]
        np.testing.assert_allclose([p.loss for p in f.curve], [p.loss for p in single.curve], rtol=1e-4)
        np.testing.assert_allclose(
            [p.accuracy for p in f.curve], [p.accuracy for p in single.curve], rtol=1e-4, atol=1e-6
        )
        if shape.loss == "xent" and shape.readout == "last":  # accuracy: a few of the 20 at most
            assert abs(f.test_accuracy - single.test_accuracy) <= 0.1
        else:
            assert f.test_accuracy == pytest.approx(single.test_accuracy, rel=1e-4)
            assert f.val_accuracy == pytest.approx(single.val_accuracy, rel=1e-4)


@pytest.mark.parametrize("shape", [TOKENS, MSE], ids=["tokens-every", "mse"])
@pytest.mark.parametrize("engine", ["single", "fused"])
def test_mup_is_sp_at_the_base_width_for_the_new_heads(shape, engine):
    torch.set_num_threads(1)
    data = toy_data(shape)
    common = {"hidden": 8, "lr": 0.05, "steps": 8, "batch_size": 10, "display_step": 4, "data_seed": 0}
    for cell in ("lstm", "gru"):
        sp = TrialConfig(cell=cell, task=TASK_OF[shape], **common)
        mu = TrialConfig(cell=cell, task=TASK_OF[shape], param="mup", base_width=8, **common)
        (a,), (b,) = (train_group([c], data, engine=engine) for c in (sp, mu))
        assert a.status is b.status is Status.DONE
        np.testing.assert_allclose([p.loss for p in a.curve], [p.loss for p in b.curve], rtol=0, atol=1e-6)
        assert a.test_accuracy == pytest.approx(b.test_accuracy, rel=1e-6)


def test_mup_kernel_rates_take_the_real_input_rows():
    from lstm_sweep.training.param import rate_scale

    config = TrialConfig(hidden=16, lr=0.01, param="mup", base_width=4, task="chars")
    scale = rate_scale(config, "gate_kernel", (5 + 16, 32))
    assert isinstance(scale, torch.Tensor)
    assert torch.all(scale[:5] == 1.0) and torch.all(scale[5:] == 0.25)  # Adam: W_h at lr / m


def test_bad_shapes_are_refused_by_name():
    config = TrialConfig(hidden=4, lr=0.01)
    for shape, match in [
        ("rows", "shape must be a TaskShape"),
        (TaskShape(n_input=0), "n_input"),
        (TaskShape(readout="first"), "readout"),
        (TaskShape(n_output=3, loss="mse"), "one output"),
    ]:
        with pytest.raises(ConfigError, match=match):
            make_engine("single", [config], torch.device("cpu"), shape=shape)
    bad = toy_data(PIXELS)
    object.__setattr__(bad, "shape", TaskShape(loss="hinge"))
    with pytest.raises(ConfigError, match="data.shape: its loss"):
        train_group([config], bad)


# --------------------------------------------------------------------------- the metrics


def test_token_inputs_are_one_hot_per_batch():
    ids = torch.tensor([[0, 2], [1, 1]])
    x = model_inputs(ids, TaskShape(n_input=3, tokens=True))
    assert x.dtype == torch.float32 and x.shape == (2, 2, 3)
    assert torch.equal(x.argmax(-1), ids) and torch.equal(x.sum(-1), torch.ones(2, 2))
    floats = torch.rand(2, 2, 3)
    assert model_inputs(floats, ROWS) is floats


def test_each_metric_sums_its_targets():
    logits = torch.tensor([[[2.0, 0.0], [0.0, 1.0], [3.0, 0.0]]])  # (1, 3, 2)
    y = torch.tensor([0, 0, 0])
    assert accuracy_sum(logits, y).tolist() == [2]
    expected = sum(math.log1p(math.exp(-d)) for d in (2.0, -1.0, 3.0))  # -log softmax[0]
    assert xent_sum(logits, y).item() == pytest.approx(expected, rel=1e-6)
    out = torch.tensor([[[0.5], [2.0]]])
    assert mse_sum(out, torch.tensor([1.0, 0.0])).item() == pytest.approx(0.25 + 4.0)
    assert metric_value("bpc", expected, 3) == pytest.approx(expected / 3 / math.log(2))
    assert metric_value("accuracy", 2, 3) == 2 / 3
    assert metric_value("mse", math.inf, 3) is None and metric_value("xent", math.nan, 2) is None


def _head_only_engine(shape: TaskShape, bo: list[float]) -> FusedEngine:
    """A fused model whose logits are ``bo`` at every step, whatever it reads."""
    engine = make_engine("fused", [TrialConfig(hidden=3, lr=0.01, task="chars")], torch.device("cpu"), shape)
    assert isinstance(engine, FusedEngine)
    with torch.no_grad():
        engine.theta.zero_()
        views(engine.theta, 3, shape.n_input, shape.n_output)["bo"][0, 0] = torch.tensor(bo)
    return engine


def test_bits_per_character_by_hand():
    shape = TaskShape(n_input=3, n_output=3, readout="every", tokens=True)
    engine = _head_only_engine(shape, [math.log(1.0), math.log(2.0), math.log(5.0)])  # p = 1/8, 2/8, 5/8
    ids = torch.tensor([[0, 1, 2, 0], [2, 2, 1, 0]])
    targets = torch.tensor([[1, 2, 0, 2], [2, 2, 2, 1]])
    p = {0: 1 / 8, 1: 2 / 8, 2: 5 / 8}
    by_hand = sum(-math.log2(p[int(c)]) for c in targets.reshape(-1)) / targets.numel()
    for chunk in (1, 2):  # exact whatever the chunk
        (bpc,) = evaluate(engine, ids, targets, chunk, "bpc")
        assert bpc == pytest.approx(by_hand, rel=1e-6)
    (xent,) = evaluate(engine, ids, targets, 2, "xent")
    assert xent == pytest.approx(by_hand * math.log(2), rel=1e-6)
    (acc,) = evaluate(engine, ids, targets, 1, "accuracy")  # argmax is always 2
    assert acc == (targets == 2).sum().item() / 8


def test_a_chars_like_trial_is_scored_in_bits_per_character():
    shape = TaskShape(n_input=3, n_output=3, readout="every", tokens=True)
    data = toy_data(shape, steps=6)
    (r,) = train_group(
        [TrialConfig(hidden=4, lr=0.01, task="chars", steps=4, batch_size=10, display_step=2)], data
    )
    assert r.status is Status.DONE
    # bits per character of an untrained model on 3 symbols: about log2(3) ~ 1.58, not a fraction
    assert 0.8 < r.test_accuracy < 4 and 0.8 < r.val_accuracy < 4
    for point in r.curve:
        assert point.accuracy == pytest.approx(point.loss / math.log(2))


def test_a_diverged_regression_has_no_metric_and_the_others_go_on():
    data = toy_data(MSE)
    configs = [
        TrialConfig(hidden=4, lr=lr, task="adding", steps=8, batch_size=10, display_step=2)
        for lr in (1e30, 1e-2)
    ]
    bad, good = train_group(configs, data, engine="fused")
    assert bad.status is Status.DIVERGED and bad.test_accuracy is None and bad.val_accuracy is None
    assert bad.curve[-1].accuracy is None  # its squared error is not finite: none
    (alone,) = train_group(configs[1:], data, engine="single")
    assert good.status is alone.status is Status.DONE
    assert good.test_accuracy == pytest.approx(alone.test_accuracy, rel=1e-4)


# --------------------------------------------------------------------------- checkpoints


def same(a, b) -> bool:
    fields = ("status", "test_accuracy", "val_accuracy", "train_loss", "steps_done", "curve")
    return all(getattr(a, f) == getattr(b, f) for f in fields)


@pytest.mark.parametrize("engine", ["fused", "single"])
def test_a_784_step_trial_stopped_at_a_rung_resumes_bit_for_bit(tmp_path, engine):
    torch.set_num_threads(1)
    data = toy_data(PIXELS, steps=784, n=(40, 10, 10))
    configs = [
        TrialConfig(
            hidden=8, lr=lr, seed=0, data_seed=0, steps=20, batch_size=10, display_step=5, task="pixels"
        )
        for lr in (1e-2, 0.5)
    ][: 2 if engine == "fused" else 1]
    reference = train_group(configs, data, engine=engine)
    policy = Checkpointing(CheckpointDir(tmp_path), 3600)  # only the rung's checkpoint
    at_rung = train_group(configs, data, engine=engine, checkpointing=policy, until=10)
    assert {r.status for r in at_rung} == {Status.PRUNED}
    assert all(r.steps_done == 10 and r.test_accuracy is None for r in at_rung)
    calls: list[int] = []
    resumed = train_group(
        configs, data, engine=engine, checkpointing=policy, on_step=lambda done, total: calls.append(done)
    )
    assert calls[0] == 10  # it went on from the rung's checkpoint
    assert all(r.status is Status.DONE for r in resumed)
    assert all(same(a, b) for a, b in zip(reference, resumed))


def test_single_engine_model_reads_every_step():
    config = TrialConfig(hidden=4, lr=0.01, task="chars")
    model = build_trial_model(config, TOKENS)
    x = model_inputs(torch.randint(0, 5, (3, 7)), TOKENS)
    assert model(x).shape == (7 * 3, 5)
