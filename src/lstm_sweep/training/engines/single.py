"""The single engine: one trial through ``nn.LSTM`` (oneDNN on CPU, cuDNN on GPU) — or the GRU /
basic RNN cell — with TF's parameters (:mod:`lstm_sweep.training.model`) and a TF 1.x optimizer
(:mod:`lstm_sweep.training.optim`)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from ...study.config import TrialConfig
from ..model import build_model
from ..optim import TFOptimizer
from .base import autocast


class SingleEngine:
    """One trial: its cell with TF's parameters and its TF 1.x optimizer (see :class:`Engine`)."""

    name = "single"

    def __init__(self, configs: Sequence[TrialConfig], device: torch.device):
        (config,) = configs
        self.k = 1
        self.amp = lambda: autocast(config.precision, device)
        self.model = build_model(config.hidden, config.init, config.seed, config.cell).to(device)
        # the TF optimizer on the trainable parameters, called directly: torch.optim's step
        # wrapper costs ~10 % of a step at small widths
        self.params = [p for p in self.model.parameters() if p.requires_grad]
        self.optimizer = TFOptimizer(config.optimizer, self.params, config.lr, config.opt)

    def train_step(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        with self.amp():
            loss = F.cross_entropy(self.model(x), y)
        self.optimizer.step(torch.autograd.grad(loss, self.params))
        return loss.detach()[None]  # (1,)

    @torch.no_grad()
    def logits(self, x: torch.Tensor) -> torch.Tensor:
        with self.amp():
            return self.model(x)[None]  # (1, B, 10)

    def freeze(self, k: int) -> None:
        pass  # with one model, training stops when it diverges

    def finish(self) -> None:
        self.model.eval()
