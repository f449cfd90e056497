"""What a coordinate check measures (``lstm-sweep coord-check``): plain records, so that the
training side that measures them and the reporting side that judges and draws them share them.

A coordinate check trains a few steps on one fixed batch at a large rate and records, per
parametrization, width and step, the mean absolute value of each quantity of the last time step
and of its change since initialisation (microsoft/mup's ``coord_check`` does the same for other
networks). Under a correct μP every quantity's size stays put as the width grows; under SP the
updates, and so the logits' change, grow with width.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

from ..errors import ConfigError
from .limits import MAX_HIDDEN, MAX_STEPS, show

# (name, how tables and plots call it); c exists for the LSTM only
QUANTITIES: tuple[tuple[str, str], ...] = (
    ("input", "input projection x·W_x"),
    ("recurrent", "recurrent projection h·W_h"),
    ("preact", "gate pre-activations"),
    ("c", "cell state c"),
    ("h", "hidden state h"),
    ("logits", "logits"),
)
QUANTITY_NAMES = tuple(q for q, _ in QUANTITIES)
# The defaults of `lstm-sweep coord-check` (here, so that the CLI reads them without torch).
COORD_WIDTHS = (128, 256, 512, 1024, 2048)
COORD_STEPS = 5
COORD_SEEDS = (0, 1, 2)
COORD_BATCH = 32  # one fixed batch: coordinate sizes hardly depend on its size; 32 is quick
QUANTITY_TITLES = dict(QUANTITIES)


@dataclass(frozen=True)
class CoordPoint:
    """One measurement: ``quantity``'s mean absolute value (``value``) and the mean absolute
    value of its change since step 0 (``change``) at ``step`` (0 = at init), for ``width``
    under ``param``, averaged over the seeds."""

    param: str
    width: int
    step: int
    quantity: str
    value: float
    change: float

    def __post_init__(self) -> None:
        """Raises ConfigError for a field of the wrong kind: a parametrization's name that is
        not text, a width or step that is not a count, a quantity not in :data:`QUANTITIES`, a
        size that is not a number or is negative (NaN and infinity are measurements: a model
        that diverged)."""
        if not isinstance(self.param, str) or not 1 <= len(self.param) <= 40:
            raise ConfigError(
                f"a coordinate point's param must be a parametrization's name, got {show(self.param)}"
            )
        for name, low, high in (("width", 1, MAX_HIDDEN), ("step", 0, MAX_STEPS)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or not low <= v <= high:
                raise ConfigError(
                    f"a coordinate point's {name} must be a whole number from "
                    f"{low} to {high:,}, got {show(v)}"
                )
        if not isinstance(self.quantity, str) or self.quantity not in QUANTITY_TITLES:
            raise ConfigError(
                f"a coordinate point's quantity must be one of "
                f"{', '.join(QUANTITY_NAMES)}; got {show(self.quantity)}"
            )
        for name in ("value", "change"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, numbers.Real) or v < 0:
                raise ConfigError(
                    f"a coordinate point's {name} must be a mean absolute value "
                    f"(a number, not negative), got {show(v)}"
                )
            try:
                as_float = float(v)
            except OverflowError:  # an integer beyond float's range
                as_float = float("inf")
            object.__setattr__(self, name, as_float)
