"""The single engine: one trial through ``nn.LSTM`` (oneDNN on CPU, cuDNN on GPU) with TF's
parameters (:mod:`lstm_sweep.model`) and TF's Adam."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from ..config import TrialConfig
from ..model import build_model, tf_adam_step
from .base import autocast


class SingleEngine:
    """One trial: ``nn.LSTM`` with TF's parameters and TF Adam (see :class:`Engine`)."""

    name = "single"

    def __init__(self, configs: Sequence[TrialConfig], device: torch.device):
        (config,) = configs
        self.k = 1
        self.amp = lambda: autocast(config.precision, device)
        self.model = build_model(config.hidden, config.init, config.seed).to(device)
        # TF Adam on the trainable parameters, called directly: torch.optim's step wrapper costs
        # ~10 % of a step at small widths
        self.params = [p for p in self.model.parameters() if p.requires_grad]
        self.m = [torch.zeros_like(p) for p in self.params]
        self.v = [torch.zeros_like(p) for p in self.params]
        self.lr, self.t = config.lr, 0

    def train_step(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        with self.amp():
            loss = F.cross_entropy(self.model(x), y)
        grads = torch.autograd.grad(loss, self.params)
        self.t += 1
        tf_adam_step(self.params, list(grads), self.m, self.v, self.t, self.lr)
        return loss.detach()[None]  # (1,)

    @torch.no_grad()
    def logits(self, x: torch.Tensor) -> torch.Tensor:
        with self.amp():
            return self.model(x)[None]  # (1, B, 10)

    def freeze(self, k: int) -> None:
        pass  # with one model, training stops when it diverges

    def finish(self) -> None:
        self.model.eval()
