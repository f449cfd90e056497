"""A task's inputs and scores as the training loop sees them: token ids made one-hot on the
device (per batch, per evaluation chunk: the one-hot dataset is never made), and each metric of
:data:`~lstm_sweep.study.tasks.METRICS` computed from the logits, exactly over chunks.

Every metric is a sum over the targets, divided by their number at the end
(:func:`metric_value`): ``accuracy`` counts argmax == target; ``xent`` sums the softmax
cross-entropy in nats; ``bpc`` is that in bits (divided by ln 2); ``mse`` sums the squared error
of the one output. Logits are (K, N, O) with the targets (N,) flat in the same row order
(:func:`~lstm_sweep.training.engines.base.flat_targets`).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

from ..data import TaskShape
from .engines.base import task_losses

LN2 = math.log(2.0)


def model_inputs(x: torch.Tensor, shape: TaskShape) -> torch.Tensor:
    """``x`` as a model reads it: token ids (N, T) one-hot over ``shape.n_input`` as floats
    (N, T, n_input), on ``x``'s device; float features as they are."""
    return F.one_hot(x.long(), shape.n_input).float() if shape.tokens else x


def accuracy_sum(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Targets (N,) each model's argmax gets right: (K,) integers."""
    return (logits.argmax(-1) == y).sum(-1)


def xent_sum(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Each model's softmax cross-entropy summed over the targets (N,), in nats: (K,) float64."""
    k, n, o = logits.shape
    losses = F.cross_entropy(logits.float().reshape(k * n, o), y.repeat(k), reduction="none")
    return losses.view(k, n).double().sum(-1)


def mse_sum(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Each model's squared error of its one output (K, N, 1) summed over the float targets
    (N,): (K,) float64."""
    return (logits[..., 0].double() - y.double()).square().sum(-1)


# each metric's sum over a chunk; bpc is xent's sum, in bits once divided (metric_value)
METRIC_SUMS: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "accuracy": accuracy_sum,
    "xent": xent_sum,
    "bpc": xent_sum,
    "mse": mse_sum,
}


def metric_value(metric: str, total: float, count: int) -> float | None:
    """The metric from its sum over ``count`` targets: the mean (for ``bpc`` in bits); None
    where it is not finite (a diverged model's squared error)."""
    value = total / count
    if metric == "bpc":
        value /= LN2
    return value if math.isfinite(value) else None


def batch_metrics(
    logits: torch.Tensor, y: torch.Tensor, shape: TaskShape, metric: str
) -> tuple[list[float], list[float | None]]:
    """Each model's loss and metric on one training batch (a curve point).

    Args:
        logits: (K, N, O) of the batch, in the targets' row order.
        y: the flat targets (N,).
        shape: the task's shape (its ``loss``).
        metric: the metric's name (``metric_of(config).name``).

    Returns:
        The mean losses (as the engines train on them) and the metric per model: accuracy as
        the batch's fraction right, a loss metric from the mean loss (bpc in bits); None for
        one that is not finite.
    """
    logits = logits.float()
    losses = task_losses(logits, y, shape.loss).tolist()
    if metric == "accuracy":
        return losses, (logits.argmax(-1) == y).float().mean(-1).tolist()
    scale = 1 / LN2 if metric == "bpc" else 1.0
    return losses, [v * scale if math.isfinite(v) else None for v in losses]
