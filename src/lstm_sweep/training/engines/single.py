"""The single engine: one trial through ``nn.LSTM`` (oneDNN on CPU, cuDNN on GPU) — or the GRU /
basic RNN cell — with TF's parameters (:mod:`lstm_sweep.training.model`) and a TF 1.x optimizer
(:mod:`lstm_sweep.training.optim`)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from ...data import ROWS, TaskShape
from ...study import TrialConfig
from ..model import build_trial_model
from ..optim import TFOptimizer
from ..param import grad_scales, rate_scale
from .base import autocast, flat_targets, task_losses


class SingleEngine:
    """One trial: its cell with TF's parameters and its TF 1.x optimizer (see :class:`Engine`)."""

    name = "single"
    stacked = False  # one model: its tensors have no model dimension

    def __init__(self, configs: Sequence[TrialConfig], device: torch.device, shape: TaskShape = ROWS):
        (config,) = configs
        self.k = 1
        self.shape = shape
        self.amp = lambda: autocast(config.precision, device)
        self.model = build_trial_model(config, shape).to(device)
        # the TF optimizer on the trainable parameters, called directly: torch.optim's step
        # wrapper costs ~10 % of a step at small widths
        named = [(n, p) for n, p in self.model.named_parameters() if p.requires_grad]
        self.params = [p for _, p in named]
        scales = (
            None
            if config.param == "sp"
            else [_on(rate_scale(config, n, tuple(p.shape)), device) for n, p in named]
        )
        # per-tensor optimizer constants (mup-opt)
        consts = grad_scales(config, [n for n, _ in named])
        self.optimizer = TFOptimizer(config.optimizer, self.params, config.lr, config.opt, scales, consts)

    def train_step(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        y = flat_targets(y, self.shape)
        with self.amp():
            out = self.model(x)  # (B, O), or (T * B, O) time-major
            if self.shape.loss == "xent":
                loss = F.cross_entropy(out, y)
            else:
                loss = task_losses(out.float()[None], y, self.shape.loss)[0]
        self.optimizer.step(torch.autograd.grad(loss, self.params))
        return loss.detach()[None]  # (1,)

    @torch.no_grad()
    def logits(self, x: torch.Tensor) -> torch.Tensor:
        with self.amp():
            return self.model(x)[None]  # (1, B, O), or (1, T * B, O)

    def freeze(self, k: int) -> None:
        pass  # with one model, training stops when it diverges

    def finish(self) -> None:
        self.model.eval()


def _on(scale: float | torch.Tensor, device: torch.device) -> float | torch.Tensor:
    return scale.to(device) if isinstance(scale, torch.Tensor) else scale
