"""Parametrizations: how a trial's width sets its initial scales, its per-tensor learning rates
and its readout multiplier.

``sp`` (the standard parametrization) is the seed's model exactly: TF's glorot kernel, the N(0, 1)
head, one learning rate for every tensor, no multiplier. ``mup`` is the maximal update
parametrization (Yang, Hu et al., "Tensor Programs V", arXiv 2203.03466, Table 8: the form with an
output multiplier that microsoft/mup implements), relative to a base width H0 with
``m = hidden / base_width``:

============  ======================  ==========================  ===========  =========  ========
tensor        role                    init                        Adam-like    SGD-like   forward
============  ======================  ==========================  ===========  =========  ========
``W_x``       input (I -> gates)      its scale at H0             lr           lr * m     1
``W_h``       hidden (H -> gates)     its scale at H0 / sqrt(m)   lr / m       lr         1
biases        vector-like             unchanged (forget bias 1)   lr           lr * m     1
``W_out``     readout (H -> O)        N(0, 1) (or zeros)          lr           lr * m     x / m
``b_out``     scalar-like (O)         N(0, 1)                     lr           lr         1
============  ======================  ==========================  ===========  =========  ========

Adam-like: Adam, RMSProp, Adagrad (they normalise the gradient entrywise); SGD-like: SGD and
Momentum (microsoft/mup's ``MuAdam`` and ``MuSGD``, with which a test compares these rates).
TF keeps one kernel over ``[x, h]``; its first ``I`` rows (the task's ``n_input``: 28 for rows
of pixels, 1 for pixels, a vocabulary for tokens) are ``W_x`` and the other ``H`` are ``W_h``, so
a kernel's rate is one value per row block. The roles do not depend on the task: a one-hot token
read through ``W_x`` is an embedding (input role), a vocabulary's head is the readout, and with a
target at every step the multiplier applies to every step's state. At ``hidden == base_width``
every factor is exactly 1: ``mup`` *is* ``sp`` there (tested to equal curves).

``mup-opt`` is ``mup`` (the same init, rates and multiplier) plus the optimizer's constants
scaled per tensor. Table 8 assumes the optimizer is scale-invariant in the gradient; TF's
optimizers are not quite: each compares the gradient with a constant. Under μP the gradient
entries of a tensor shrink with width by a known factor ``s`` relative to the base width: the
readout's input is ``h / m``, so ``dh = W_out dlogits / m`` (``W_out`` entries Θ(1)) and every
gate's ``δ`` is Θ(1/m); ``W_x``, ``W_h`` and the biases get ``δ x``, ``Σ_t δ hᵀ`` and ``δ``
(entries Θ(1/m)), ``W_out`` gets ``h dlogitsᵀ / m`` (Θ(1/m)), and only the scalar-like ``b_out``
gets ``dlogits`` (Θ(1)). So ``s = 1/m`` for every tensor but ``b_out`` (``s = 1``), and:

========================  ==========================  ===========  ==========================
optimizer                 constant (TF's)             meets        under ``mup-opt``
========================  ==========================  ===========  ==========================
Adam                      ε = 1e-8 (outside the √)    √v ~ |g|     ε · s
RMSProp                   ε = 1e-10 (inside the √)    ms ~ g²      ε · s²
RMSProp                   initial mean square 1       ms ~ g²      s²
Adagrad                   initial accumulator 0.1     a ~ g²       0.1 · s²
SGD, Momentum             none                        (nothing)    (as ``mup``)
========================  ==========================  ===========  ==========================

With every constant scaled as the gradient it meets, each optimizer's normalised update
``g / (√v + ε)`` (``g / √(ms + ε)``, ``g / √a``) at width ``n`` is the one it makes at the base
width: without it, TF's RMSProp starts at ``ms = 1``, so while ``0.1 g² ≪ 0.9`` its first
updates are ``lr g / √0.9`` (SGD-like: they shrink with ``s``, and the coordinate check's input
projection's change shrinks ×6.7 from 128 to 1024 units under ``mup``); Adagrad's 0.1 does the
same while ``g² ≪ 0.1``; and Adam's ε starts to count once ``√v`` nears it (CompleteP, arXiv
2505.01618, scales ε by ``1/m`` the same way; Tensor Programs V, App. B.3, notes it). Under SGD
and Momentum there is no constant and ``mup-opt`` is ``mup`` exactly. At ``hidden ==
base_width`` every ``s`` is 1: ``mup-opt`` is ``sp`` there too. ``sp`` and ``mup`` never pass
gradient scales (TF's constants, bit for bit).
"""

from __future__ import annotations

import math

import torch

from ..study import TrialConfig

ADAM_LIKE = ("adam", "rmsprop", "adagrad")
WIDTH_AWARE = ("mup", "mup-opt")  # the parametrizations that read base_width
SGD_LIKE = ("sgd", "momentum")
ROLES = ("input", "hidden", "vector", "readout", "scalar")

# A parameter's role by its name (the last part of ``named_parameters``' name, or a fused
# engine's view): "kernel" is TF's [I + H, cols] kernel over [x, h], input rows then hidden rows.
_ROLE_OF = {
    "weight_ih_l0": "input",
    "Wx": "input",
    "weight_hh_l0": "hidden",
    "Wh": "hidden",
    "bias_ih_l0": "vector",
    "bias_hh_l0": "vector",
    "b": "vector",
    "gate_bias": "vector",
    "candidate_bias": "vector",
    "out.weight": "readout",
    "Wo": "readout",
    "W_out": "readout",
    "out.bias": "scalar",
    "bo": "scalar",
    "b_out": "scalar",
    "K": "kernel",
    "gate_kernel": "kernel",
    "candidate_kernel": "kernel",
}


def width_mult(config: TrialConfig) -> float:
    """``m = hidden / base_width`` under ``mup`` and ``mup-opt``; 1 under ``sp``."""
    return config.hidden / config.base_width if config.param in WIDTH_AWARE else 1.0


def readout_multiplier(config: TrialConfig) -> float:
    """What the readout's input is multiplied by: ``1 / m`` under ``mup``, 1 under ``sp``."""
    return 1.0 / width_mult(config)


def rate_multipliers(config: TrialConfig) -> dict[str, float]:
    """Each role's learning rate relative to the trial's ``lr`` (all 1 under ``sp``)."""
    m = width_mult(config)
    if config.param == "sp":
        return dict.fromkeys(ROLES, 1.0)
    if config.optimizer in ADAM_LIKE:
        return {"input": 1.0, "hidden": 1.0 / m, "vector": 1.0, "readout": 1.0, "scalar": 1.0}
    return {"input": m, "hidden": 1.0, "vector": m, "readout": m, "scalar": 1.0}


def role_of(name: str) -> str:
    """The role of parameter ``name`` (``"lstm.weight_hh_l0"``, ``"Wh"``, ``"gate_kernel"``)."""
    key = name if name in ("out.weight", "out.bias") else name.rsplit(".", 1)[-1]
    try:
        return _ROLE_OF[key]
    except KeyError:
        raise ValueError(f"no parametrization role for parameter {name!r}") from None


def rate_scale(config: TrialConfig, name: str, shape: tuple[int, ...]) -> float | torch.Tensor:
    """The learning-rate multiplier of parameter ``name`` of ``shape``: a float, or for a TF
    kernel over ``[x, h]`` a ``(rows, 1)`` tensor (its ``rows - hidden`` input rows, then its
    ``hidden`` rows)."""
    rates = rate_multipliers(config)
    role = role_of(name)
    if role != "kernel":
        return rates[role]
    rows = shape[-2]
    scale = torch.full((rows, 1), rates["hidden"])
    scale[: rows - config.hidden] = rates["input"]
    return scale


def scale_row(config: TrialConfig, shapes: dict[str, tuple[int, int]]) -> torch.Tensor | None:
    """The ``(1, P)`` learning-rate multipliers of a fused engine's flat buffer (its views
    ``shapes`` in order), or None where every one is 1 (``sp``)."""
    if config.param == "sp":
        return None
    parts = []
    for name, (rows, cols) in shapes.items():
        scale = rate_scale(config, name, (rows, cols))
        parts.append(torch.as_tensor(scale, dtype=torch.float32).expand(rows, cols).reshape(-1))
    return torch.cat(parts)[None]


def grad_scale(config: TrialConfig, name: str) -> float:
    """How much smaller the gradient entries of parameter ``name`` are at ``config``'s width than
    at the base width, under μP: ``1 / m`` for every tensor but the scalar-like ``b_out`` (1).
    (Under ``sp`` and ``mup`` no constant reads it.)"""
    return 1.0 if role_of(name) == "scalar" else 1.0 / width_mult(config)


def _scales_constants(config: TrialConfig) -> bool:
    """Whether ``config``'s optimizer constants are scaled: ``mup-opt`` off the base width, for
    an optimizer that has one (not SGD, not Momentum)."""
    return config.param == "mup-opt" and config.optimizer in ADAM_LIKE and width_mult(config) != 1.0


def grad_scales(config: TrialConfig, names: list[str]) -> list[float] | None:
    """Each parameter's :func:`grad_scale` for :class:`~lstm_sweep.training.optim.TFOptimizer`
    (which scales its constants by them), or None where no constant is scaled (TF's own)."""
    return [grad_scale(config, n) for n in names] if _scales_constants(config) else None


def grad_scale_row(config: TrialConfig, shapes: dict[str, tuple[int, int]]) -> torch.Tensor | None:
    """The ``(1, P)`` gradient scales of a fused engine's flat buffer (its views ``shapes`` in
    order, as :func:`scale_row`), or None where no constant is scaled."""
    if not _scales_constants(config):
        return None
    parts = [torch.full((rows * cols,), grad_scale(config, name)) for name, (rows, cols) in shapes.items()]
    return torch.cat(parts)[None]


@torch.no_grad()
def rescale_init(config: TrialConfig, params: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """TF-form initial parameters (drawn as ``sp`` draws them) rescaled for ``config``'s
    parametrization and readout, in place; returned.

    Under ``mup`` (and ``mup-opt``) each TF kernel ``[I + H, cols]`` (glorot over its shape) gets its scale at
    the base width on its ``W_x`` rows and that scale ``/ sqrt(m)`` on its ``W_h`` rows; a zero
    readout zeroes ``W_out``. At ``hidden == base_width`` every factor is exactly 1.
    """
    if config.param in WIDTH_AWARE:
        m, h0 = width_mult(config), config.base_width
        for name, kernel in params.items():
            if role_of(name) != "kernel":
                continue
            cols_per_unit = kernel.shape[1] // config.hidden
            n_in = kernel.shape[0] - config.hidden  # the task's input rows
            limit = math.sqrt(6.0 / (n_in + config.hidden + cols_per_unit * config.hidden))
            base = math.sqrt(6.0 / (n_in + h0 + cols_per_unit * h0))
            kernel[:n_in] *= base / limit
            kernel[n_in:] *= base / limit / math.sqrt(m)
    if config.readout == "zero":
        params["W_out"].zero_()
    return params
