"""The names ``lstm_sweep.study.config`` held before it was split by idea; import them from
:mod:`lstm_sweep.study` (or its modules: :mod:`.limits`, :mod:`.axes`, :mod:`.optimizers`,
:mod:`.trial`, :mod:`.grid`, :mod:`.ranges`). Kept so that code written against it runs on."""

from .axes import (
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
    steps_for_training_iters,
)
from .grid import GRID_ALIASES, GRID_AXES, HW2_HIDDEN, HW2_LRS, PRESETS, TRANSFER_LRS, Grid, preset
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
from .optimizers import OPTIMIZERS, optimizer_settings
from .ranges import MAX_RANGE_POINTS, lr_range
from .trial import KEY_FIELDS_V1, PROTOCOL_VERSION, TrialConfig

__all__ = [
    "CELLS", "DEFAULT_BASE_WIDTH", "GATES", "GRID_ALIASES", "GRID_AXES", "HW2_HIDDEN", "HW2_LRS",
    "INITS", "KEY_FIELDS_V1", "LIMITS", "MAX_BATCH_SIZE", "MAX_HIDDEN", "MAX_INT64", "MAX_NAME",
    "MAX_RANGE_POINTS", "MAX_REPEATS", "MAX_SEED", "MAX_STEPS", "MAX_TRIALS", "MAX_WORKERS",
    "OPTIMIZERS", "PARAMS", "PRECISIONS", "PRESETS", "PROTOCOL_VERSION", "READOUTS",
    "SEED_BATCH_SIZE", "SEED_DISPLAY_STEP", "SEED_STEPS", "SEED_TRAINING_ITERS", "TRANSFER_LRS",
    "TRIAL_AXES", "Grid", "TrialAxis", "TrialConfig", "check_count", "lr_range",
    "optimizer_settings", "preset", "show", "steps_for_training_iters",
]
