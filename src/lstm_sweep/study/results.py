"""The records a trial produces: its status, its learning curve, its result (no torch needed)."""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from enum import Enum

from ..errors import ConfigError
from .limits import show
from .trial import TrialConfig


class Status(str, Enum):
    """How a trial ended. Every status is a result; only ``done`` and ``diverged`` carry accuracy
    that reflects training (``diverged`` = the loss became NaN/inf; ``oom`` = the seed's DNF;
    ``pruned`` = a search stopped it after ``steps_done`` steps: it holds its validation accuracy
    there, no test accuracy, and its checkpoint lets ``run --retry pruned`` finish it)."""

    DONE = "done"
    DIVERGED = "diverged"
    FAILED = "failed"
    OOM = "oom"
    PRUNED = "pruned"

    def __str__(self) -> str:
        return self.value

    @classmethod
    def _missing_(cls, value: object) -> Status:
        """``Status("junk")`` raises ConfigError (a ValueError, as Enum's own would be)."""
        raise ConfigError(f"unknown status {show(value)}; choose one of: {', '.join(s.value for s in cls)}")


def _is_number(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def is_finite_number(value: object) -> bool:
    """A finite int or float, not a bool (a 400-digit integer is not one: it overflows a
    float, and ``math.isfinite`` would raise)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


@dataclass(frozen=True)
class CurvePoint:
    """One point of a learning curve: the training batch's loss and accuracy at ``step``
    (None where the model could not be evaluated), and ``val``, the trial's metric on the
    whole validation split at that step where it was measured (``val_every``; None: not).

    Raises:
        ConfigError: ``step`` not an integer, or a loss or accuracy that is not a number.
    """

    step: int
    loss: float | None
    accuracy: float | None
    val: float | None = None

    def __post_init__(self) -> None:
        if isinstance(self.step, bool) or not isinstance(self.step, int) or self.step < 0:
            raise ConfigError(f"a curve point's step must be a non-negative integer, got {show(self.step)}")
        for name in ("loss", "accuracy", "val"):
            value = getattr(self, name)
            if value is not None and not _is_number(value):
                raise ConfigError(f"a curve point's {name} must be a number, got {show(value)}")


@dataclass(frozen=True)
class TrialResult:
    """The immutable record of one finished trial.

    Raises:
        ConfigError: a field of the wrong kind (``config`` not a TrialConfig, a status that is
            none of :class:`Status`, a number that is not one, a curve that is not CurvePoints).
            A status given as its text (``"done"``) is read as the Status.
    """

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

    def __post_init__(self) -> None:
        if not isinstance(self.config, TrialConfig):
            raise ConfigError(f"a trial result's config must be a TrialConfig, got {show(self.config)}")
        if not isinstance(self.status, Status):
            object.__setattr__(
                self,
                "status",
                Status(self.status) if isinstance(self.status, str) else Status._missing_(self.status),
            )
        for name in _NUMBERS:
            value = getattr(self, name)
            if not (value is None and name in _OPTIONAL) and not _is_number(value):
                raise ConfigError(f"a trial result's {name} must be a number, got {show(value)}")
        for name in _COUNTS:
            value = getattr(self, name)
            if not (value is None and name in _OPTIONAL) and (
                isinstance(value, bool) or not isinstance(value, int) or value < 0
            ):
                raise ConfigError(
                    f"a trial result's {name} must be a non-negative integer, got {show(value)}"
                )
        for name in ("device", "engine", "error"):
            value = getattr(self, name)
            if not (value is None and name in _OPTIONAL) and not isinstance(value, str):
                raise ConfigError(f"a trial result's {name} must be text, got {show(value)}")
        if not isinstance(self.curve, (tuple, list)) or not all(
            isinstance(p, CurvePoint) for p in self.curve
        ):
            raise ConfigError(f"a trial result's curve must be CurvePoints, got {show(self.curve)}")
        object.__setattr__(self, "curve", tuple(self.curve))

    @property
    def key(self) -> str:
        return self.config.key()


# TrialResult's fields by kind (checked when one is made); _OPTIONAL ones may be None
_NUMBERS = ("test_accuracy", "val_accuracy", "train_loss", "wall_s", "cpu_s", "started_at")
_COUNTS = ("steps_done", "peak_mem_bytes", "group_size")
_OPTIONAL = ("test_accuracy", "val_accuracy", "train_loss", "peak_mem_bytes", "error")
