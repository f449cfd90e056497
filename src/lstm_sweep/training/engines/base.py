"""What every engine is: the protocol the training loop relies on, the precision each step runs
in, and how a task's targets meet the logits (shared by all engines, so that single and fused
trials compute alike).

A task's :class:`~lstm_sweep.data.TaskShape` says what the logits are: with ``readout="last"``
(K, B, O) from the last state; with ``"every"`` (K, T * B, O) from every step's state, rows in
time-major order (t, b), against the targets (B, T) flattened as ``y.t().reshape(-1)``
(:func:`flat_targets`). Loss ``"xent"`` is the mean softmax cross-entropy over all targets,
``"mse"`` the mean of ``(out - y)^2`` with O = 1 (:func:`task_losses`)."""

from __future__ import annotations

import contextlib
from typing import Protocol

import torch
import torch.nn.functional as F

from ...data import TaskShape
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
    shape: TaskShape  # the task's inputs, head, readout and loss

    def train_step(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """One update of every model on batch x (B, T, I) float (tokens already one-hot), y its
        targets ((B,) or (B, T) for an every-step readout); returns the (K,) losses before the
        update."""

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """(K, B, O) logits of every model, or (K, T * B, O) time-major for an every-step
        readout; no gradients."""

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


def flat_targets(y: torch.Tensor, shape: TaskShape) -> torch.Tensor:
    """The targets in the logits' row order: ``y`` (B,) as it is; (B, T) for an every-step
    readout as (T * B,), time-major."""
    return y.t().reshape(-1) if shape.readout == "every" else y


def task_losses(logits: torch.Tensor, y: torch.Tensor, loss: str) -> torch.Tensor:
    """Each model's mean loss (K,) of ``logits`` (K, N, O) against flat targets ``y`` (N,):
    softmax cross-entropy (``"xent"``, integer classes) or squared error (``"mse"``, floats
    against the one output)."""
    k, n, o = logits.shape
    if loss == "mse":
        return (logits[..., 0] - y).square().mean(-1)
    return F.cross_entropy(logits.reshape(k * n, o), y.repeat(k), reduction="none").view(k, n).mean(-1)
