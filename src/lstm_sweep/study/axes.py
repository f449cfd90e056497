"""The axes trials vary along, declared once: :data:`TRIAL_AXES`.

Each :class:`TrialAxis` is a :class:`~lstm_sweep.study.trial.TrialConfig` field (made by
:func:`axis_field`) and says everything the rest of the package needs to know about it: the type
of its values and how one is checked and read from text, its default, where it nests in a grid,
how reports and errors call it, and the CLI option that sets it. What reads it:

- ``TrialConfig`` checks each axis field by its axis, and takes its default from it;
- :class:`~lstm_sweep.study.grid.Grid` has a field per grid axis (its keyword, its default, the
  order its trials nest in, the old names of earlier releases);
- the reports' axes (:mod:`lstm_sweep.reporting.axes`): rows, columns, facets and labels;
- the CLI builds an option per axis from :func:`axis_options` (flag, parser, help).

So a new axis is one entry here and one ``TrialConfig`` field.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigError
from .limits import (
    MAX_BATCH_SIZE,
    MAX_HIDDEN,
    MAX_NAME,
    MAX_SEED,
    MAX_STEPS,
    check_choice,
    check_count,
    check_name,
    check_positive_int,
    check_rate,
    check_seed,
)
from .optimizers import OPTIMIZERS
from .ranges import lr_range
from .tasks import DEFAULT_TASK, TASKS, check_task, read_task

INITS = ("tf", "pytorch")
PRECISIONS = ("fp32", "tf32", "bf16")
CELLS = ("lstm", "gru", "rnn")  # TF 1.x BasicLSTMCell, GRUCell, BasicRNNCell
GATES = {"lstm": 4, "gru": 3, "rnn": 1}  # blocks of H columns in the cell's kernel(s)
# Parametrizations (lstm_sweep.training.param): sp = the seed's (TF's init, one rate for every
# tensor); mup = the maximal update parametrization relative to a base width (docs/DESIGN.md);
# mup-opt = mup with each optimizer constant that meets a gradient (Adam's and RMSProp's epsilon,
# RMSProp's initial mean square, Adagrad's initial accumulator) scaled with that tensor's gradient.
PARAMS = ("sp", "mup", "mup-opt")
# The width at which mup equals sp: the middle of Table 1's widths that train well at the seed's
# rates (16 and 32 are too narrow for width scaling to say much, and a base far above the widths
# swept would make every model a "narrow" one); 64 is also the narrowest width of the transfer
# preset, so its sweep is the sp sweep it is compared with.
DEFAULT_BASE_WIDTH = 64
READOUTS = ("normal", "zero")  # the head's initial weights: the seed's N(0, 1), or zeros

# The seed: training_iters = 100000, batch_size = 100, `step = 1; while step * batch < iters`
# -> steps 1..999 -> 999 updates (docs/DESIGN.md, "Fidelity").
SEED_TRAINING_ITERS = 100_000
SEED_BATCH_SIZE = 100
SEED_STEPS = math.ceil(SEED_TRAINING_ITERS / SEED_BATCH_SIZE) - 1  # 999
SEED_DISPLAY_STEP = 10


def steps_for_training_iters(training_iters: int, batch_size: int) -> int:
    """Number of updates the seed's loop makes: ``step = 1; while step * batch < iters: step += 1``.

    Raises:
        ConfigError: either argument is not a positive integer.
    """
    check_positive_int("training iters", training_iters)
    check_positive_int("batch size", batch_size)
    return max(0, math.ceil(training_iters / batch_size) - 1)


# ------------------------------------------------------------------------- kinds of values


class Refused(ValueError):
    """A text refused with its own reason ("too large: at most 1,048,576"); a plain ValueError
    is refused as "not <one value>"."""


@dataclass(frozen=True)
class Values:
    """What values an axis takes: their type, how one is checked, how one is read from text.

    Attributes:
        type: ``int``, ``float`` or ``str`` (a number is ordered, and log-spaced in plots).
        check: ``check(noun, value)`` raises ConfigError, naming ``noun``, for a value a trial
            cannot have.
        read: one item of a comma-separated list as text -> a value, or a tuple of values (a
            range); raises ValueError (or ``Refused``, with its reason) for text it refuses.
        one, many: how a refused text is called ("a positive integer", "positive integers");
            empty: after the axis ("a cell", "cells").
        choices: the values there are (of a categorical axis), the seed's first.
    """

    type: type
    check: Callable[[str, object], object] = field(repr=False, compare=False)
    read: Callable[[str], object] = field(repr=False, compare=False)
    one: str = ""
    many: str = ""
    choices: tuple[str, ...] = ()


def int_in(low: int, high: int) -> Callable[[str], int]:
    def read(text: str) -> int:
        value = int(text)  # "1e3", "1.5", 5,000 digits: ValueError
        if value < low:
            raise ValueError(text)
        if value > high:
            raise Refused(f"too large: at most {high:,}")
        return value

    return read


def _rates(text: str) -> float | tuple[float, ...]:
    """One learning rate, or a range of them (``1e-4:1e-1:10``, ``2^-12:2^-4``; lr_range)."""
    if ":" not in text and "^" not in text:
        value = float(text)
        if not (value > 0 and value != math.inf):
            raise ValueError(text)
        return value
    try:
        return lr_range(text)
    except ConfigError as e:
        raise Refused(f"not a learning rate or range ({e})") from None


def one_of(choices: tuple[str, ...]) -> Callable[[str], str]:
    """A reader of one of ``choices``, in any case (``Adam`` is ``adam``), refusing another
    with the choices and the nearest one (``lsmt``: did you mean lstm?)."""
    folded = {c.lower(): c for c in choices}

    def read(text: str) -> str:
        if text.lower() in folded:
            return folded[text.lower()]
        close = difflib.get_close_matches(text.lower(), list(folded), n=1, cutoff=0.6)
        hint = f"; did you mean {folded[close[0]]}?" if close else ""
        raise Refused(f"not one of {', '.join(choices)}{hint}")

    return read


def a_name(text: str) -> str:
    if len(text) > MAX_NAME:
        raise Refused(f"too long: at most {MAX_NAME} characters")
    return text


def counts(limit: int) -> Values:
    """Integers from 1 to ``limit``."""
    return Values(
        int,
        lambda noun, v: check_count(noun, v, limit),
        int_in(1, limit),
        "a positive integer",
        "positive integers",
    )


def choice(choices: tuple[str, ...]) -> Values:
    """One of ``choices`` (text), the seed's first."""
    return Values(str, lambda noun, v: check_choice(noun, v, choices), one_of(choices), choices=choices)


TASK_VALUES = Values(str, check_task, read_task, "a task", "tasks", choices=tuple(TASKS))
RATES = Values(float, check_rate, _rates, "a positive number", "positive numbers or ranges")
SEEDS = Values(int, check_seed, int_in(0, MAX_SEED), "a non-negative integer", "non-negative integers")
NAMES = Values(str, check_name, a_name)


# ----------------------------------------------------------------------------- an axis


class _Required:
    """The default of an axis that has none (``hidden``, ``lr``): a trial and a grid need it."""

    def __repr__(self) -> str:
        return "<required>"


REQUIRED = _Required()


@dataclass(frozen=True)
class TrialAxis:
    """One axis trials vary along: a :class:`~lstm_sweep.study.trial.TrialConfig` field, and
    (where ``nesting`` is set) the :class:`~lstm_sweep.study.grid.Grid` field of the same name
    that holds the values a sweep takes.

    Attributes:
        name: the field (``"lr"``); also the Grid keyword and the axis's name in
            ``--rows``/``--cols``/``--where``.
        values: the values it takes (:class:`Values`: type, check, reading from text).
        value_noun: how errors call one value (``"learning rate"``).
        title: how a plot labels the axis (``"learning rate"``).
        noun: how sentences call it (``"rate"``: "the best rate per width").
        default: the field's default (:data:`REQUIRED`: none, a trial and a grid need it).
        nesting: a grid's trials run through the axes by this rank, the lowest outermost (the
            values of the highest change first); None: not a Grid field (the dataset: a grid
            runs on each dataset).
        replicates: its values repeat one trial (seeds): the statistic inside a table's cell,
            never a table's row, column or facet.
        alias: the Grid field's name in earlier releases (still a keyword and an attribute).
        label: how a report writes a value (``0.01``, ``GRU``); ``str`` unless given.
        help: the CLI option's help (its default is added: :attr:`help_text`).
        flag: the CLI option (``"--seeds"``); empty: ``--`` and the name, ``_`` as ``-``.
        order: the known values in their order, the seed's first (a categorical axis);
            empty: its values' choices.
    """

    name: str
    values: Values
    value_noun: str
    title: str
    noun: str
    default: object = REQUIRED
    nesting: int | None = None
    replicates: bool = False
    alias: str | None = None
    label: Callable[[object], str] = field(default=str, repr=False, compare=False)
    help: str = ""
    flag: str = ""
    order: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.flag:
            object.__setattr__(self, "flag", "--" + self.name.replace("_", "-"))
        if not self.order:
            object.__setattr__(self, "order", self.values.choices)

    @property
    def type(self) -> type:
        """The type of one value: ``int``, ``float`` or ``str``."""
        return self.values.type

    @property
    def numeric(self) -> bool:
        """Values are numbers (ordered ascending, log-spaced in plots)."""
        return self.values.type is not str

    @property
    def in_grid(self) -> bool:
        """A :class:`~lstm_sweep.study.grid.Grid` field (every axis but the dataset)."""
        return self.nesting is not None

    @property
    def one(self) -> str:
        """How a refused text calls one value: ``"a positive integer"``, ``"an optimizer"``."""
        return self.values.one or f"{'an' if self.value_noun[0] in 'aeiou' else 'a'} {self.value_noun}"

    @property
    def many(self) -> str:
        """How a refused list calls its values: ``"positive integers"``, ``"optimizers"``."""
        return self.values.many or f"{self.value_noun}s"

    @property
    def help_text(self) -> str:
        """:attr:`help`, with the default where the axis has one (``[default: 999]``)."""
        if self.default is REQUIRED:
            return self.help
        return f"{self.help}  [default: {self.default}]"

    def check(self, value: object) -> None:
        """Raises ConfigError, naming :attr:`value_noun`, for a value a trial cannot have."""
        self.values.check(self.value_noun, value)

    def parse(self, text: str) -> tuple:
        """The values a comma-separated text names: ``"16,32"`` -> ``(16, 32)`` (a learning
        rate range gives each of its rates). Each value read is also one a trial can have.

        Raises:
            ConfigError: an empty item, or an item that is not a value, saying why (``'x' is
                not a positive integer``, ``'5000000' is too large: at most 1,048,576``).
        """
        if not isinstance(text, str):
            raise ConfigError(f"{self.name} must be text, e.g. a list like 1,2: got {text!r:.60}")
        return read_list(text, self.values.read, self.one, self.many)


def read_list(text: str, read: Callable[[str], object], one: str, many: str) -> tuple:
    """A comma-separated text's values, each item read by ``read`` (a tuple it returns gives
    several values): ``"16,32"`` -> ``(16, 32)``. What the axes and the CLI's other lists read.

    Raises:
        ConfigError: an empty item, or one ``read`` refuses: ``'x' is not <one>``, or with the
            reason of a :class:`Refused` (``'5000000' is too large: at most 1,048,576``).
    """
    items = [v.strip() for v in text.split(",")]
    if any(not v for v in items):
        raise ConfigError(f"{text[:60]!r} is not a comma-separated list of {many}")
    out: list = []
    for v in items:
        try:
            value = read(v)
        except Refused as e:
            raise ConfigError(f"{v[:60]!r} is {e}") from None
        except ValueError:
            raise ConfigError(f"{v[:60]!r} is not {one}") from None
        out.extend(value) if isinstance(value, tuple) else out.append(value)
    return tuple(out)


def _rate(value: object) -> str:
    return f"{value:g}"


def _upper(value: object) -> str:
    return str(value).upper()


# ------------------------------------------------------------------------ the declaration

# Declared in the order reports list them (facets, ``--where``); the seed's choices first.
TRIAL_AXES: tuple[TrialAxis, ...] = (
    TrialAxis(
        "hidden",
        counts(MAX_HIDDEN),
        "hidden size",
        "hidden units",
        "width",
        nesting=90,
        help="Hidden sizes, e.g. 16,32 (replaces the preset's).",
    ),
    TrialAxis(
        "lr",
        RATES,
        "learning rate",
        "learning rate",
        "rate",
        nesting=100,
        alias="lrs",
        label=_rate,
        help="Learning rates, e.g. 1e-3,1e-2, or log-spaced ranges: 1e-4:1e-1:10 (10 "
        "values), 2^-12:2^-4 or 0.0002:0.0512 (factors of two); replaces the "
        "preset's.",
    ),
    TrialAxis(
        "seed",
        SEEDS,
        "seed",
        "seed",
        "seed",
        default=0,
        nesting=110,
        replicates=True,
        alias="seeds",
        flag="--seeds",
        help="Seeds, e.g. 0,1,2",
    ),
    TrialAxis(
        "cell",
        choice(CELLS),
        "cell",
        "cell",
        "cell",
        default="lstm",
        nesting=10,
        alias="cells",
        label=_upper,
        help="Cells, e.g. lstm,gru,rnn (TF 1.x's BasicLSTMCell, GRUCell, BasicRNNCell)",
    ),
    TrialAxis(
        "optimizer",
        choice(tuple(OPTIMIZERS)),
        "optimizer",
        "optimizer",
        "optimizer",
        default="adam",
        nesting=20,
        alias="optimizers",
        help="Optimizers in TF 1.x's forms, e.g. adam,sgd,momentum,rmsprop,adagrad",
    ),
    TrialAxis(
        "dataset",
        NAMES,
        "dataset",
        "dataset",
        "dataset",
        default="mnist",
        order=("mnist",),
        help="Datasets, e.g. mnist,fashion-mnist,kmnist (each downloaded and checked against its checksums)",
    ),
    TrialAxis(
        "batch_size",
        counts(MAX_BATCH_SIZE),
        "batch size",
        "batch size",
        "batch size",
        default=SEED_BATCH_SIZE,
        nesting=70,
        help="Images per update, e.g. 50,100",
    ),
    TrialAxis(
        "steps",
        counts(MAX_STEPS),
        "steps",
        "steps",
        "step count",
        default=SEED_STEPS,
        nesting=80,
        help="Updates per trial, e.g. 300,999",
    ),
    TrialAxis(
        "init",
        choice(INITS),
        "init",
        "init",
        "init",
        default="tf",
        nesting=50,
        help="tf = seed-faithful init (glorot kernel, N(0,1) head); pytorch = its "
        "defaults; tf,pytorch = both",
    ),
    TrialAxis(
        "param",
        choice(PARAMS),
        "parametrization",
        "parametrization",
        "parametrization",
        default="sp",
        nesting=30,
        help="Parametrizations: sp = the seed's (one rate for every tensor); mup = the "
        "maximal update parametrization (per-tensor init and rates, a 1/m readout, "
        "m = width / --base-width); mup-opt = mup with the optimizer's constants (epsilon, "
        "RMSProp's and Adagrad's starting accumulators) scaled per tensor as its gradients; "
        "sp,mup = both",
    ),
    TrialAxis(
        "readout",
        choice(READOUTS),
        "readout init",
        "readout init",
        "readout init",
        default="normal",
        nesting=40,
        help="The head's initial weights: normal = the seed's N(0,1); zero = zeros (mup's "
        "option); normal,zero = both",
    ),
    TrialAxis(
        "precision",
        choice(PRECISIONS),
        "precision",
        "precision",
        "precision",
        default="fp32",
        nesting=60,
        help="fp32 = faithful; tf32 = TF32 matmuls on NVIDIA GPUs; bf16 = bfloat16 "
        "autocast; a list runs each. Refused where the device cannot run it",
    ),
    TrialAxis(
        "task",
        TASK_VALUES,
        "task",
        "task",
        "task",
        default=DEFAULT_TASK,
        nesting=5,
        help="Tasks, e.g. rows,pixels,permuted (images), adding,copy (generated), chars (a "
        "text file), or your own as module:Class or file.py:Class",
    ),
)
AXIS: dict[str, TrialAxis] = {a.name: a for a in TRIAL_AXES}


def axis_field(name: str) -> Any:
    """The :class:`~lstm_sweep.study.trial.TrialConfig` field of axis ``name``: its default
    (none for ``hidden`` and ``lr``), and the axis in its metadata (``"axis"``), by which the
    configuration checks it."""
    axis = AXIS[name]
    if axis.default is REQUIRED:
        return field(metadata={"axis": axis})
    default: Any = axis.default
    return field(default=default, metadata={"axis": axis})


def axis_options(grid_only: bool = True) -> tuple[TrialAxis, ...]:
    """The axes a command line sets, each with what its option needs: :attr:`TrialAxis.flag`
    (``--seeds``), :attr:`TrialAxis.name` (the Grid keyword it fills), :meth:`TrialAxis.parse`
    (text -> values; ConfigError with the reason), :attr:`TrialAxis.help_text`,
    :attr:`TrialAxis.one` / :attr:`TrialAxis.many` (how a value, a list, are called).

    Args:
        grid_only: only the Grid's axes (not the dataset, which a run takes beside its grid).
    """
    return tuple(a for a in TRIAL_AXES if a.in_grid or not grid_only)
