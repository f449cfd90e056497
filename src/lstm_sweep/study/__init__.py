"""The study: what a trial is, what a grid of them is, and what a trial's outcome is. Plain,
frozen records; imports nothing of lstm-sweep but its errors, and no torch.

- :mod:`.limits`: the bounds of every number, and the checks that name what they refuse;
- :mod:`.axes`: the axes trials vary along, declared once (:data:`TRIAL_AXES`);
- :mod:`.optimizers`: TF 1.x's optimizers and their settings;
- :mod:`.trial`: one trial (:class:`TrialConfig`, its key);
- :mod:`.grid`: a sweep (:class:`Grid`, its old names, the presets); :mod:`.ranges`: rate ranges;
- :mod:`.results`: a trial's outcome (:class:`TrialResult`, :class:`Status`); :mod:`.live`: the
  curve a trial still in training publishes; :mod:`.coords`: a coordinate check's records.

Other layers import from here.
"""

from .axes import (
    AXIS,
    CELLS,
    DEFAULT_BASE_WIDTH,
    GATES,
    INITS,
    PARAMS,
    PRECISIONS,
    READOUTS,
    SEED_BATCH_SIZE,
    SEED_DISPLAY_STEP,
    SEED_STEPS,
    SEED_TRAINING_ITERS,
    TRIAL_AXES,
    TrialAxis,
    Values,
    axis_field,
    axis_options,
    steps_for_training_iters,
)
from .coords import (
    COORD_BATCH,
    COORD_SEEDS,
    COORD_STEPS,
    COORD_WIDTHS,
    QUANTITIES,
    QUANTITY_NAMES,
    QUANTITY_TITLES,
    CoordPoint,
)
from .grid import (
    GRID_ALIASES,
    GRID_AXES,
    HW2_HIDDEN,
    HW2_LRS,
    NESTING,
    PRESETS,
    TRANSFER_LRS,
    Grid,
    preset,
)
from .limits import (
    LIMITS,
    MAX_BATCH_SIZE,
    MAX_HIDDEN,
    MAX_INT64,
    MAX_NAME,
    MAX_REPEATS,
    MAX_SEED,
    MAX_STEPS,
    MAX_TRIALS,
    MAX_WORKERS,
    check_count,
    show,
)
from .live import LIVE_SUFFIX, checkpoint_dir, encode_live, live_path, read_live
from .optimizers import OPTIMIZERS, optimizer_settings
from .ranges import MAX_RANGE_POINTS, lr_range
from .results import CurvePoint, Status, TrialResult, is_finite_number
from .trial import KEY_FIELDS_V1, PROTOCOL_VERSION, TrialConfig

__all__ = [
    "AXIS",
    "CELLS",
    "COORD_BATCH",
    "COORD_SEEDS",
    "COORD_STEPS",
    "COORD_WIDTHS",
    "DEFAULT_BASE_WIDTH",
    "GATES",
    "GRID_ALIASES",
    "GRID_AXES",
    "HW2_HIDDEN",
    "HW2_LRS",
    "INITS",
    "KEY_FIELDS_V1",
    "LIMITS",
    "LIVE_SUFFIX",
    "MAX_BATCH_SIZE",
    "MAX_HIDDEN",
    "MAX_INT64",
    "MAX_NAME",
    "MAX_RANGE_POINTS",
    "MAX_REPEATS",
    "MAX_SEED",
    "MAX_STEPS",
    "MAX_TRIALS",
    "MAX_WORKERS",
    "NESTING",
    "OPTIMIZERS",
    "PARAMS",
    "PRECISIONS",
    "PRESETS",
    "PROTOCOL_VERSION",
    "QUANTITIES",
    "QUANTITY_NAMES",
    "QUANTITY_TITLES",
    "READOUTS",
    "SEED_BATCH_SIZE",
    "SEED_DISPLAY_STEP",
    "SEED_STEPS",
    "SEED_TRAINING_ITERS",
    "TRANSFER_LRS",
    "TRIAL_AXES",
    "CoordPoint",
    "CurvePoint",
    "Grid",
    "Status",
    "TrialAxis",
    "TrialConfig",
    "TrialResult",
    "Values",
    "axis_field",
    "axis_options",
    "check_count",
    "checkpoint_dir",
    "encode_live",
    "is_finite_number",
    "live_path",
    "lr_range",
    "optimizer_settings",
    "preset",
    "read_live",
    "show",
    "steps_for_training_iters",
]
