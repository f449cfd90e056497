"""The records a trial produces: its status, its learning curve, its result (no torch needed)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from .config import TrialConfig


class Status(str, Enum):
    """How a trial ended. Every status is a result; only ``done`` and ``diverged`` carry accuracy
    that reflects training (``diverged`` = the loss became NaN/inf; ``oom`` = the seed's DNF)."""

    DONE = "done"
    DIVERGED = "diverged"
    FAILED = "failed"
    OOM = "oom"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class CurvePoint:
    step: int
    loss: float
    accuracy: float


@dataclass(frozen=True)
class TrialResult:
    """The immutable record of one finished trial."""

    config: TrialConfig
    status: Status
    test_accuracy: float | None = None
    val_accuracy: float | None = None
    train_loss: float | None = None  # loss on the last training batch (before its update)
    steps_done: int = 0
    wall_s: float = 0.0
    cpu_s: float = 0.0
    peak_mem_bytes: int | None = None
    device: str = "cpu"
    error: str | None = None
    curve: tuple[CurvePoint, ...] = field(default=(), repr=False)
    started_at: float = 0.0
    engine: str = "single"  # how it was trained: single (nn.LSTM) or fused (K models as one)
    group_size: int = 1  # trials trained together; wall_s and cpu_s are the group's / group_size

    @property
    def key(self) -> str:
        return self.config.key()
