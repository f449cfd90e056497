"""The LSTM classifier of the seed: read a digit row by row, classify from the last step.

The canonical parameters are TF's (docs/DESIGN.md, "Fidelity"): ``BasicLSTMCell`` keeps one kernel
``K [28 + H, 4H]`` with gate columns ``i, j, f, o`` (j = candidate) and a bias ``b [4H]``; the
step is

    z = [x_t, h_{t-1}] @ K + b;  i, j, f, o = split(z, 4)
    c_t = c_{t-1} * sigmoid(f + forget_bias) + sigmoid(i) * tanh(j);  h_t = tanh(c_t) * sigmoid(o)

PyTorch's ``nn.LSTM`` (oneDNN / cuDNN kernels) computes the same with gate rows ``i, f, g, o``,
``weight_ih [4H, 28]``, ``weight_hh [4H, H]`` and two biases. :func:`load_tf_params` maps one onto
the other: the constant ``forget_bias`` goes into ``bias_ih``'s forget slice (its gradient is the
same as b's), and ``bias_hh`` is zeroed and frozen (two trainable biases would move the effective
bias twice as fast under Adam).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .data import IMAGE_SHAPE, N_CLASSES

N_STEPS, N_INPUT = IMAGE_SHAPE  # rows per image (time steps), pixels per row (inputs)
FORGET_BIAS = 1.0

# TF column blocks (i, j, f, o) -> PyTorch row blocks (i, f, g, o): torch block t takes TF block
# TF_TO_TORCH[t].
TF_TO_TORCH = (0, 2, 1, 3)


class LSTMClassifier(nn.Module):
    """x (B, 28, 28) -> logits (B, 10) from the LSTM's last output."""

    def __init__(self, hidden: int):
        super().__init__()
        self.hidden = hidden
        self.lstm = nn.LSTM(N_INPUT, hidden, batch_first=True)
        self.out = nn.Linear(hidden, N_CLASSES)  # weight (10, H) = W_out^T; bias = b_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outputs, _ = self.lstm(x)  # (B, T, H)
        return self.out(outputs[:, -1])  # (B, 10)


def glorot_limit(hidden: int) -> float:
    """TF glorot_uniform bound for the kernel [28 + H, 4H]: sqrt(6 / (fan_in + fan_out))."""
    return math.sqrt(6.0 / (N_INPUT + hidden + 4 * hidden))


def tf_init_params(hidden: int, generator: torch.Generator) -> dict[str, torch.Tensor]:
    """Draw TF-shaped initial parameters as the seed's graph does.

    Returns ``K [28 + H, 4H]`` ~ U(-limit, limit) (glorot), ``b [4H]`` = 0, ``W_out [H, 10]`` and
    ``b_out [10]`` ~ N(0, 1) (``tf.random_normal``: std 1, which makes wide nets fragile at high
    learning rates, as in Table 1).
    """
    limit = glorot_limit(hidden)
    kernel = (torch.rand(N_INPUT + hidden, 4 * hidden, generator=generator) * 2 - 1) * limit
    return {
        "K": kernel,
        "b": torch.zeros(4 * hidden),
        "W_out": torch.randn(hidden, N_CLASSES, generator=generator),
        "b_out": torch.randn(N_CLASSES, generator=generator),
    }


def _tf_to_torch_rows(m: torch.Tensor, hidden: int) -> torch.Tensor:
    """TF (..., 4H) columns in order i, j, f, o -> PyTorch (4H, ...) rows in order i, f, g, o."""
    blocks = m.split(hidden, dim=-1)
    out = torch.cat([blocks[t] for t in TF_TO_TORCH], dim=-1)
    return out.T if out.dim() == 2 else out


def _torch_to_tf_cols(m: torch.Tensor, hidden: int) -> torch.Tensor:
    """Inverse of :func:`_tf_to_torch_rows` (PyTorch rows i, f, g, o -> TF columns i, j, f, o)."""
    blocks = (m.T if m.dim() == 2 else m).split(hidden, dim=-1)
    inverse = [TF_TO_TORCH.index(t) for t in range(4)]
    return torch.cat([blocks[t] for t in inverse], dim=-1)


@torch.no_grad()
def load_tf_params(model: LSTMClassifier, params: dict[str, torch.Tensor]) -> None:
    """Copy TF-form parameters into ``model`` (see the module docstring for the mapping)."""
    h = model.hidden
    kernel = params["K"]
    model.lstm.weight_ih_l0.copy_(_tf_to_torch_rows(kernel[:N_INPUT], h))
    model.lstm.weight_hh_l0.copy_(_tf_to_torch_rows(kernel[N_INPUT:], h))
    bias = _tf_to_torch_rows(params["b"], h).clone()  # (4H,) in i, f, g, o
    bias[h : 2 * h] += FORGET_BIAS
    model.lstm.bias_ih_l0.copy_(bias)
    model.lstm.bias_hh_l0.zero_()
    model.lstm.bias_hh_l0.requires_grad_(False)
    model.out.weight.copy_(params["W_out"].T)
    model.out.bias.copy_(params["b_out"])


@torch.no_grad()
def tf_params(model: LSTMClassifier) -> dict[str, torch.Tensor]:
    """The model's parameters in TF form (inverse of :func:`load_tf_params`)."""
    h = model.hidden
    lstm = model.lstm
    kernel = torch.cat(
        [_torch_to_tf_cols(lstm.weight_ih_l0, h), _torch_to_tf_cols(lstm.weight_hh_l0, h)], dim=0
    )
    bias = lstm.bias_ih_l0 + lstm.bias_hh_l0
    bias = bias.clone()
    bias[h : 2 * h] -= FORGET_BIAS
    return {
        "K": kernel.clone(),
        "b": _torch_to_tf_cols(bias, h).clone(),
        "W_out": model.out.weight.T.clone(),
        "b_out": model.out.bias.clone(),
    }


def build_model(hidden: int, init: str, seed: int) -> LSTMClassifier:
    """A fresh classifier with ``init`` = ``"tf"`` (seed-faithful) or ``"pytorch"`` (its defaults).

    The weights depend only on ``(hidden, init, seed)``, drawn on the CPU so that every device
    starts from the same numbers.
    """
    generator = torch.Generator().manual_seed(seed)
    if init == "tf":
        model = LSTMClassifier(hidden)
        load_tf_params(model, tf_init_params(hidden, generator))
        return model
    if init == "pytorch":
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return LSTMClassifier(hidden)
    raise ValueError(f"unknown init {init!r}")


def tf_adam_step(
    params: list[torch.Tensor],
    grads: list[torch.Tensor],
    ms: list[torch.Tensor],
    vs: list[torch.Tensor],
    t: int,
    lr: float | torch.Tensor,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
) -> None:
    """One TF 1.x Adam update, in place, shared by the single-trial and the fused engine.

    ``lr_t = lr * sqrt(1 - beta2^t) / (1 - beta1^t)``; ``theta -= lr_t * m / (sqrt(v) + eps)``.
    ``lr`` is a float, or a tensor broadcast against each parameter (the fused engine's (K, 1)
    per-model learning rates).
    """
    beta1, beta2 = betas
    with torch.no_grad():
        torch._foreach_lerp_(ms, grads, 1 - beta1)  # m = b1 m + (1 - b1) g
        torch._foreach_mul_(vs, beta2)
        torch._foreach_addcmul_(vs, grads, grads, value=1 - beta2)  # v = b2 v + (1 - b2) g^2
        denom = torch._foreach_sqrt(vs)
        torch._foreach_add_(denom, eps)
        correction = math.sqrt(1 - beta2**t) / (1 - beta1**t)
        if isinstance(lr, torch.Tensor):
            scale = lr * -correction
            for p, m, d in zip(params, ms, denom):
                p.addcdiv_(m * scale, d)
        else:
            torch._foreach_addcdiv_(params, ms, denom, value=-lr * correction)
