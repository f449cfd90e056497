"""What every engine is: the protocol the training loop relies on, and the precision each step
runs in (shared by all engines, so that single and fused trials compute alike)."""

from __future__ import annotations

import contextlib
from typing import Protocol

import torch

from ..optim import TFOptimizer


class Engine(Protocol):
    """The model(s) of one work unit, as the training loop (:mod:`lstm_sweep.training.train`) uses them.

    ``configs`` share everything but learning rate and seed; model ``j`` is ``configs[j]``.
    """

    name: str
    k: int  # models trained together
    # what a checkpoint saves (:mod:`lstm_sweep.training.checkpoint`): the parameter tensors,
    # the optimizer (``slots()``, ``t``); ``stacked``: row j of each tensor is model j
    params: list[torch.Tensor]
    optimizer: TFOptimizer
    stacked: bool

    def train_step(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """One update of every model on batch x (B, T, I), y (B,); returns the (K,) losses
        before the update."""

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """(K, B, classes) logits of every model, no gradients."""

    def freeze(self, k: int) -> None:
        """Model k diverged: keep its current parameters for evaluation."""

    def finish(self) -> None:
        """Training is over: restore frozen models, switch to evaluation."""


@contextlib.contextmanager
def precision_context(precision: str):
    """For the whole trial: TF32 matmuls and cuDNN on NVIDIA GPUs only when ``tf32`` is asked
    (explicitly off otherwise); restored afterwards."""
    saved = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    tf32 = precision == "tf32"
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = tf32
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


def autocast(precision: str, device: torch.device):
    """bfloat16 autocast for ONE forward pass (``bf16``), else a no-op. Entered per step: within
    one autocast region PyTorch caches the bf16 copies of the weights, which would then go stale
    after the first update."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16")
