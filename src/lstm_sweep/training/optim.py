"""TF 1.x optimizers, in TF's forms and with TF's defaults, for both engines.

Each update is the TF kernel's formula (``tensorflow/core/kernels/training_ops.cc``, and the
Python optimizers in ``tensorflow/python/training/``), applied in place to a list of parameters.
``lr`` is a float, or a tensor broadcast against each parameter (the fused engine's ``(K, 1)``
per-model learning rates), so one implementation serves one model and K models alike; ``scales``
(optional, one per parameter: a float or a tensor broadcast against it) multiply it per tensor,
which is how a parametrization (:mod:`lstm_sweep.training.param`) gives each tensor its own rate.
``grad_scales`` (optional, one per parameter, the same kinds) are each tensor's gradient scale
(``mup-opt``'s ``1/m``): every constant the optimizer compares with a gradient is multiplied by it
(Adam's ε, which meets √v ~ |g|) or by its square (RMSProp's ε and its initial mean square, Adagrad's
initial accumulator, which meet g²), so the normalised update of a tensor whose gradients shrink
by ``s`` is the one it had before they shrank. Without them every constant is TF's, bit for bit.

- ``adam`` (``AdamOptimizer``): m = β1 m + (1−β1) g; v = β2 v + (1−β2) g²;
  θ −= lr·√(1−β2ᵗ)/(1−β1ᵗ) · m / (√v + ε)  (ε outside the correction);
- ``sgd`` (``GradientDescentOptimizer``): θ −= lr g;
- ``momentum`` (``MomentumOptimizer``, momentum 0.9): a = μ a + g; θ −= lr a
  (``nesterov=1``: θ −= lr (g + μ a));
- ``rmsprop`` (``RMSPropOptimizer``, decay 0.9, momentum 0, ε 1e-10): ms = ρ ms + (1−ρ) g²;
  mom = μ mom + lr g / √(ms + ε); θ −= mom — ms starts at 1 (TF 1.x's "rms" slot is ones);
- ``adagrad`` (``AdagradOptimizer``, initial accumulator 0.1): a = a + g²; θ −= lr g / √a.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from ..study import OPTIMIZERS


def settings(name: str, opt: Sequence[tuple[str, float]] = ()) -> dict[str, float]:
    """The optimizer's settings: TF's defaults, overridden by ``opt``."""
    return {**OPTIMIZERS[name], **dict(opt)}


def tf_adam_step(
    params: list[torch.Tensor],
    grads: list[torch.Tensor],
    ms: list[torch.Tensor],
    vs: list[torch.Tensor],
    t: int,
    lr: float | torch.Tensor | list,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float | list = 1e-8,
    neg_correction: torch.Tensor | None = None,
) -> None:
    """One TF 1.x Adam update, in place.

    ``lr_t = lr * sqrt(1 - beta2^t) / (1 - beta1^t)``; ``theta -= lr_t * m / (sqrt(v) + eps)``.
    ``lr``: one rate (a float or a tensor broadcast against every parameter) or a list of them,
    one per parameter. ``neg_correction``: a 0-dim tensor holding ``-sqrt(1 - beta2^t) / (1 -
    beta1^t)`` (then ``t`` is not used), for tensor rates only: a CUDA graph's replays read the
    step's correction from it (the same float32 value the Python number becomes, so the update
    is bit for bit the same). ``eps``: one ε, or a list of them, one per parameter (a float or a
    tensor broadcast against it: ``mup-opt``'s ε scaled by each tensor's gradient scale).
    """
    beta1, beta2 = betas
    with torch.no_grad():
        torch._foreach_lerp_(ms, grads, 1 - beta1)  # m = b1 m + (1 - b1) g
        torch._foreach_mul_(vs, beta2)
        torch._foreach_addcmul_(vs, grads, grads, value=1 - beta2)  # v = b2 v + (1 - b2) g^2
        denom = torch._foreach_sqrt(vs)
        if isinstance(eps, list):
            for d, e in zip(denom, eps):
                d.add_(e)
        else:
            torch._foreach_add_(denom, eps)
        if neg_correction is not None:
            for p, m, d, r in zip(params, ms, denom, lr if isinstance(lr, list) else [lr] * len(params)):
                p.addcdiv_(m * (r * neg_correction), d)
            return
        correction = adam_correction(t, betas)
        if isinstance(lr, list):
            if all(isinstance(r, float) for r in lr):
                torch._foreach_addcdiv_(params, ms, denom, [-r * correction for r in lr])
            else:
                for p, m, d, r in zip(params, ms, denom, lr):
                    p.addcdiv_(m * (r * -correction), d)
        elif isinstance(lr, torch.Tensor):
            scale = lr * -correction
            for p, m, d in zip(params, ms, denom):
                p.addcdiv_(m * scale, d)
        else:
            torch._foreach_addcdiv_(params, ms, denom, value=-lr * correction)


def adam_correction(t: int, betas: tuple[float, float]) -> float:
    """Adam's bias correction at step ``t``: ``sqrt(1 - beta2^t) / (1 - beta1^t)``."""
    return math.sqrt(1 - betas[1] ** t) / (1 - betas[0] ** t)


class TFOptimizer:
    """One of :data:`OPTIMIZERS` over ``params`` (its state lives here, shaped like them)."""

    def __init__(
        self,
        name: str,
        params: Sequence[torch.Tensor],
        lr: float | torch.Tensor,
        opt: Sequence[tuple[str, float]] = (),
        scales: Sequence[float | torch.Tensor] | None = None,
        grad_scales: Sequence[float | torch.Tensor] | None = None,
    ):
        if name not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {name!r}")
        if scales is not None and len(scales) != len(params):
            raise ValueError(f"{len(scales)} rate scales for {len(params)} parameters")
        if grad_scales is not None and len(grad_scales) != len(params):
            raise ValueError(f"{len(grad_scales)} gradient scales for {len(params)} parameters")
        self.name, self.params, self.t = name, list(params), 0
        self._neg_correction: torch.Tensor | None = None  # held: see hold()
        # one rate, or one per parameter (lr times its scale)
        self.lr: float | torch.Tensor | list[float | torch.Tensor] = (
            lr if scales is None else [_times(lr, s) for s in scales]
        )
        self.s = settings(name, opt)
        # the constants compared with each parameter's gradient: TF's (one float), or per
        # parameter, TF's times its gradient scale s (Adam's ε meets |g|) or s² (RMSProp's ε
        # and initial mean square, Adagrad's initial accumulator meet g²)
        self.eps: float | list[float | torch.Tensor] = self.s.get("epsilon", 0.0)
        start = {"rmsprop": 1.0, "adagrad": self.s.get("initial_accumulator_value", 0.0)}.get(name, 0.0)
        starts: list[float | torch.Tensor] = [start] * len(self.params)
        if grad_scales is not None:
            power = 1 if name == "adam" else 2
            self.eps = [_times(self.s.get("epsilon", 0.0), _power(g, power)) for g in grad_scales]
            starts = [_times(start, _power(g, 2)) for g in grad_scales]
        zeros = [torch.zeros_like(p) for p in params]
        if name == "adam":
            self.m, self.v = zeros, [torch.zeros_like(p) for p in params]
        elif name == "momentum":
            self.accum = zeros
        elif name == "rmsprop":  # TF 1.x: the "rms" slot starts at 1
            self.ms = [_filled(p, a) for p, a in zip(self.params, starts)]
            self.mom = zeros
        elif name == "adagrad":
            self.accum = [_filled(p, a) for p, a in zip(self.params, starts)]

    def slots(self) -> list[list[torch.Tensor]]:
        """The optimizer's state tensors, one list per slot (each shaped like ``params``); with
        ``t``, all a checkpoint needs."""
        return {
            "adam": lambda: [self.m, self.v],
            "momentum": lambda: [self.accum],
            "rmsprop": lambda: [self.ms, self.mom],
            "adagrad": lambda: [self.accum],
            "sgd": lambda: [],
        }[self.name]()

    def hold(self) -> None:
        """From now on the step count advances only through :meth:`advance`, outside
        :meth:`step`, and everything :meth:`step` reads lives on the device: what a CUDA graph
        of a training step needs (it replays ``step``'s kernels, not its Python). Rates must be
        tensors (the fused engines' per-model rates)."""
        rates = self.lr if isinstance(self.lr, list) else [self.lr]
        tensors = [r for r in rates if isinstance(r, torch.Tensor)]
        if len(tensors) != len(rates):
            raise ValueError("hold() needs tensor learning rates")
        self._neg_correction = torch.zeros((), device=tensors[0].device)

    @property
    def held(self) -> bool:
        return self._neg_correction is not None

    def advance(self) -> None:
        """Count the next step (held: before the step's kernels run)."""
        self.t += 1
        if self._neg_correction is not None and self.name == "adam":
            self._neg_correction.fill_(-adam_correction(self.t, (self.s["beta1"], self.s["beta2"])))

    @torch.no_grad()
    def step(self, grads: Sequence[torch.Tensor]) -> None:
        """Apply one update with ``grads`` (one per parameter), in place (held: the step that
        :meth:`advance` counted)."""
        if not self.held:
            self.t += 1
        s = self.s
        if self.name == "adam":
            tf_adam_step(
                self.params,
                list(grads),
                self.m,
                self.v,
                self.t,
                self.lr,
                (s["beta1"], s["beta2"]),
                self.eps,
                self._neg_correction,
            )
            return
        for i, (p, g) in enumerate(zip(self.params, grads)):
            lr = self.lr[i] if isinstance(self.lr, list) else self.lr
            if self.name == "sgd":
                p.sub_(g * lr)
            elif self.name == "momentum":
                a = self.accum[i]
                a.mul_(s["momentum"]).add_(g)
                p.sub_((g + s["momentum"] * a if s["nesterov"] else a) * lr)
            elif self.name == "rmsprop":
                ms, mom = self.ms[i], self.mom[i]
                ms.mul_(s["decay"]).addcmul_(g, g, value=1 - s["decay"])
                eps = self.eps[i] if isinstance(self.eps, list) else self.eps
                mom.mul_(s["momentum"]).add_(g * lr / torch.sqrt(ms + eps))
                p.sub_(mom)
            else:  # adagrad
                a = self.accum[i]
                a.addcmul_(g, g)
                p.sub_(g * lr / torch.sqrt(a))


def _times(lr: float | torch.Tensor, scale: float | torch.Tensor) -> float | torch.Tensor:
    """``lr * scale``, kept a float where both are floats (and ``lr`` itself where the scale is 1,
    so that ``sp`` updates are bit for bit the same as without scales)."""
    if isinstance(scale, float) and scale == 1.0:
        return lr
    if isinstance(lr, torch.Tensor) and isinstance(scale, torch.Tensor):
        return lr * scale.to(lr.device)
    if isinstance(scale, torch.Tensor):
        return scale * lr
    return lr * scale


def _power(scale: float | torch.Tensor, power: int) -> float | torch.Tensor:
    """``scale ** power`` (a gradient scale, or its square for the constants that meet g²)."""
    return scale**power if power != 1 else scale


def _filled(p: torch.Tensor, value: float | torch.Tensor) -> torch.Tensor:
    """A slot shaped like ``p`` holding ``value`` (a float, or a tensor broadcast against ``p``)."""
    if isinstance(value, torch.Tensor):
        return value.to(device=p.device, dtype=p.dtype).expand_as(p).clone()
    return torch.full_like(p, value)
