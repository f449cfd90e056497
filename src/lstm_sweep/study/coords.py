"""What a coordinate check measures (``lstm-sweep coord-check``): plain records, so that the
training side that measures them and the reporting side that judges and draws them share them.

A coordinate check trains a few steps on one fixed batch at a large rate and records, per
parametrization, width and step, the mean absolute value of each quantity of the last time step
and of its change since initialisation (microsoft/mup's ``coord_check`` does the same for other
networks). Under a correct μP every quantity's size stays put as the width grows; under SP the
updates, and so the logits' change, grow with width.
"""

from __future__ import annotations

from dataclasses import dataclass

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
