"""A sweep: :class:`Grid`, the product of its axes, and the presets (:data:`PRESETS`).

Grid's axis fields are made from the one declaration of the axes
(:data:`~lstm_sweep.study.axes.TRIAL_AXES`): a field per axis that has a ``nesting``, named after
the :class:`~lstm_sweep.study.trial.TrialConfig` field it sets, with the axis's default and its
old name (:data:`GRID_ALIASES`). Its other fields (``data_seed``, ``display_step``, ``name``,
``opt``, ``base_width``, and the tasks' ``length`` and ``task_seed``) hold one value for every
trial.
"""

from __future__ import annotations

import difflib
import inspect
import itertools
import math
import operator
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING

from ..errors import ConfigError
from .axes import (
    AXIS,
    CELLS,
    DEFAULT_BASE_WIDTH,
    PARAMS,
    REQUIRED,
    SEED_DISPLAY_STEP,
    TRIAL_AXES,
    TrialAxis,
)
from .limits import MAX_TRIALS, check_name, check_positive_int, check_seed, show
from .optimizers import OPTIMIZERS, optimizer_settings, setting_pairs
from .ranges import lr_range
from .tasks import GENERATED, TASKS
from .trial import TrialConfig

GRID_AXES: tuple[TrialAxis, ...] = tuple(a for a in TRIAL_AXES if a.in_grid)
# the Grid keywords and attributes of earlier releases -> today's field
GRID_ALIASES: dict[str, str] = {a.alias: a.name for a in GRID_AXES if a.alias}
# The outermost axis first: a grid's trials come cell by cell, ..., then width by width.
NESTING: tuple[str, ...] = tuple(a.name for a in sorted(GRID_AXES, key=lambda a: a.nesting or 0))

# Grid's parameters, in the order earlier releases took them by position; an axis declared
# since comes after them. The fields that are no axis, with their defaults:
_ORDER_V1 = (
    "hidden",
    "lr",
    "seed",
    "data_seed",
    "steps",
    "batch_size",
    "display_step",
    "init",
    "precision",
    "name",
    "cell",
    "optimizer",
    "opt",
    "param",
    "readout",
    "base_width",
)
_OWN_DEFAULTS: dict[str, object] = {
    "data_seed": None,
    "display_step": SEED_DISPLAY_STEP,
    "name": "custom",
    "opt": (),
    "base_width": DEFAULT_BASE_WIDTH,
    "length": 0,
    "task_seed": 0,
}
# fields added since, after the axes (a Grid given by position keeps its meaning)
_OWN_SINCE = ("length", "task_seed")
_PARAMETERS = (*_ORDER_V1, *(a.name for a in GRID_AXES if a.name not in _ORDER_V1), *_OWN_SINCE)


def _axis_values(name: str, value: object) -> tuple:
    """A Grid axis's value as a tuple of distinct, hashable values (a scalar is a tuple of one);
    ``name``: the keyword it was given by, as errors call it.

    Raises:
        ConfigError: a mapping, bytes or a non-iterable; no value; more than MAX_TRIALS values;
            unhashable or repeated values (each value is checked later, by the axis).
    """
    if isinstance(value, (int, float, str)):
        return (value,)
    if isinstance(value, (Mapping, bytes, bytearray)) or not isinstance(value, Iterable):
        raise ConfigError(f"{name} must be a value or a list of values, got {show(value)}")
    try:  # a bound: an endless or huge iterable is refused, not read to the end
        values = tuple(itertools.islice(value, MAX_TRIALS + 1))
    except TypeError:
        raise ConfigError(f"{name} must be a value or a list of values, got {show(value)}") from None
    if not values:
        raise ConfigError(f"the grid needs at least one value for {name}")
    if len(values) > MAX_TRIALS:
        raise ConfigError(f"{name} has more than {MAX_TRIALS:,} values")
    try:
        repeated = len(set(values)) != len(values)
    except TypeError:  # unhashable values
        raise ConfigError(f"{name} must hold plain values, got {show(values)}") from None
    if repeated:
        raise ConfigError(f"{name} has repeated values: {show(list(values))}")
    return values


def _bind(args: tuple, kwargs: dict) -> tuple[dict[str, object], dict[str, str]]:
    """Grid's arguments by field, and the keyword each came by (an old name, or the field's).

    Raises:
        ConfigError: more values by position than there are fields, an unknown keyword, or a
            field given twice (by position and keyword, or by both its names).
    """
    if len(args) > len(_PARAMETERS):
        raise ConfigError(
            f"a grid takes at most {len(_PARAMETERS)} values by position "
            f"({', '.join(_PARAMETERS)}), got {len(args)}"
        )
    given: dict[str, object] = dict(zip(_PARAMETERS, args))
    spelled = {name: name for name in given}
    for keyword, value in kwargs.items():
        name = GRID_ALIASES.get(keyword, keyword)
        if name not in _PARAMETERS:
            raise ConfigError(
                f"a grid has no field {show(keyword)}; its fields: {', '.join(f.name for f in fields(Grid))}"
            )
        if name in given:
            old = keyword if keyword != name else spelled[name]
            raise ConfigError(
                f"give {name} or its old name {old}, not both"
                if old != name
                else f"{name} is given twice (by position and by keyword)"
            )
        given[name], spelled[name] = value, keyword
    return given, spelled


def _with_axis_fields(cls: type) -> type:
    """``cls`` with a field per grid axis (a tuple of its values), in :data:`_PARAMETERS`'
    order among the fields ``cls`` declares: what ``dataclass`` then makes a Grid of."""
    own = cls.__dict__.get("__annotations__", {})
    axes = {a.name: a for a in GRID_AXES}
    cls.__annotations__ = {
        name: own.get(name) or f"tuple[{axes[name].type.__name__}, ...]" for name in _PARAMETERS
    }
    for name, axis in axes.items():
        setattr(cls, name, field(metadata={"axis": axis}))
    return cls


@dataclass(frozen=True, init=False)
@_with_axis_fields
class Grid:
    """A sweep: the product of its axes (hidden sizes x learning rates x seeds x cells x
    optimizers x parametrizations x readout inits x inits x precisions x batch sizes x steps;
    :data:`GRID_AXES`).

    Each axis field is named after the :class:`TrialConfig` field it sets (``lr``, ``seed``,
    ``cell``, ...) and holds the values the sweep takes; given one value or a list, it is stored
    as a tuple; not given, it holds the axis's default (``hidden`` and ``lr`` have none). The
    other fields are one value for every trial: ``data_seed`` (one batch order for all seeds;
    None: each seed its own), ``display_step``, ``name`` (how plans call the grid; not part of
    equality), ``base_width`` (the width at which ``mup`` equals ``sp``), ``opt``: optimizer
    settings that differ from TF's defaults, e.g. ``{"momentum": 0.99}``; each applies to the
    optimizers of the grid that have it (at least one must); ``length``: the sequence length T
    of the tasks that have one (adding, copy, a text's sequences; 0: each task's default, see
    :data:`~lstm_sweep.study.tasks.TASKS`) and ``task_seed``: the permutation's or the
    generator's seed (read by the tasks that are seeded; the others ignore both).

    The axes' names of earlier releases, ``lrs``, ``seeds``, ``cells`` and ``optimizers``
    (:data:`GRID_ALIASES`), still work as keywords and as attributes (``grid.lrs is grid.lr``).

    Raises:
        ConfigError: a missing axis (``hidden``, ``lr``), an unknown keyword, a field given
            twice (or by both its names), or any value of the wrong kind or out of range, named.
    """

    # (and a field per grid axis, made from the declaration by _with_axis_fields)
    data_seed: int | None
    display_step: int
    name: str = field(compare=False)
    opt: tuple[tuple[str, float], ...]
    base_width: int
    length: int
    task_seed: int

    if TYPE_CHECKING:  # the axes' fields, for type checkers

        def __getattr__(self, name: str) -> tuple: ...

    def __init__(self, *args: object, **kwargs: object) -> None:
        given, spelled = _bind(args, kwargs)
        for axis in GRID_AXES:
            value = given.get(axis.name, REQUIRED)
            if value is REQUIRED:
                if axis.default is REQUIRED:
                    raise ConfigError(f"the grid needs {axis.name} (its {axis.value_noun}s)")
                value = (axis.default,)
            object.__setattr__(self, axis.name, _axis_values(spelled.get(axis.name, axis.name), value))
        size = len(self)
        if size > MAX_TRIALS:
            raise ConfigError(
                f"the grid has {size:,} trials; at most {MAX_TRIALS:,} are allowed "
                "in one grid: split it into several sweeps on the same store"
            )
        for axis in GRID_AXES:  # every value of every axis
            for v in getattr(self, axis.name):
                axis.check(v)
            if axis.type is float:  # lr=1 is lr=1.0
                object.__setattr__(self, axis.name, tuple(float(v) for v in getattr(self, axis.name)))
        own = {**_OWN_DEFAULTS, **{k: v for k, v in given.items() if k in _OWN_DEFAULTS}}
        if own["data_seed"] is not None:
            check_seed("data seed", own["data_seed"])
        check_positive_int("display step", own["display_step"])
        check_positive_int("base width", own["base_width"])
        check_name("name", own["name"])
        if own["length"] != 0 or isinstance(own["length"], bool):  # 0: each task's default
            check_positive_int("length", own["length"])
        check_seed("task seed", own["task_seed"])
        for name in ("data_seed", "display_step", "name", "base_width", "length", "task_seed"):
            object.__setattr__(self, name, own[name])
        object.__setattr__(self, "opt", self._checked_opt(own["opt"]))

    def _checked_opt(self, opt: object) -> tuple[tuple[str, float], ...]:
        pairs = dict(setting_pairs(opt))
        for name in pairs:
            if not any(name in OPTIMIZERS[o] for o in self.optimizer):
                raise ConfigError(
                    f"no optimizer of the grid ({', '.join(self.optimizer)}) has the setting {show(name)}"
                )
        for o in self.optimizer:  # each value checked by the optimizers that have it
            optimizer_settings(o, self._opt_for(o, pairs))
        return tuple(sorted((k, float(v)) for k, v in pairs.items()))  # type: ignore[arg-type]

    @staticmethod
    def _opt_for(optimizer: str, opt: dict) -> tuple[tuple[str, float], ...]:
        return tuple((k, v) for k, v in opt.items() if k in OPTIMIZERS[optimizer])

    @property
    def varied_axes(self) -> tuple[str, ...]:
        """The axes with more than one value, by field name (``"hidden"``, ``"lr"``, ...)."""
        return tuple(a.name for a in GRID_AXES if len(getattr(self, a.name)) > 1)

    @property
    def varied(self) -> tuple[str, ...]:
        """:attr:`varied_axes` by the names of earlier releases (``"lrs"``, ``"cells"``, ...):
        kept for the code that compares them."""
        old = {new: old for old, new in GRID_ALIASES.items()}
        return tuple(old.get(a, a) for a in self.varied_axes)

    def trials(
        self, dataset: str = "mnist", user_tasks: Mapping[str, Mapping[str, object]] | None = None
    ) -> list[TrialConfig]:
        """All trials of the grid, nested by :data:`NESTING`: task, cell, optimizer,
        parametrization, readout, init, precision, batch size, steps, then row by row (hidden),
        learning rate, seed.

        ``user_tasks``: for each task of the user's own in the grid (``module:Class``), the trial
        fields its loader gives (``task_id``, ``task_metric``, ``task_chance``, ``length``; its
        trials' dataset is ``generated``); a sweep request
        (:func:`~lstm_sweep.running.sweep_request`) loads them.

        Raises:
            ConfigError: ``dataset`` is not a name, or a task of the user's own has no fields.
        """
        AXIS["dataset"].check(dataset)
        user_tasks = user_tasks or {}
        for task in self.task:
            if task not in TASKS and task not in user_tasks:
                raise ConfigError(
                    f"Grid(task=...) {show(task)} is a task of your own: its trials take the "
                    "fields its loader gives (sweep_request loads it), user_tasks={spec: fields}"
                )
        opt = dict(self.opt)
        shared = {
            "data_seed": self.data_seed,
            "display_step": self.display_step,
            "dataset": dataset,
            "base_width": self.base_width,
            "length": self.length,
            "task_seed": self.task_seed,
        }
        trials = []
        for values in itertools.product(*(getattr(self, a) for a in NESTING)):
            fixed = dict(zip(NESTING, values))
            own: Mapping[str, object] = {}
            if fixed["task"] not in TASKS:  # a user's task makes its data: dataset "generated"
                own = {**user_tasks[fixed["task"]], "dataset": GENERATED}
            trials.append(
                TrialConfig(
                    **fixed,
                    **{**shared, **own},  # type: ignore[arg-type]
                    opt=self._opt_for(fixed["optimizer"], opt),
                )
            )
        return trials

    def __len__(self) -> int:
        return math.prod(len(getattr(self, a.name)) for a in GRID_AXES)


def _signature() -> inspect.Signature:
    """Grid's parameters as ``help(Grid)`` and editors show them: each with its default."""
    axes = {a.name: a for a in GRID_AXES}
    return inspect.Signature(
        [
            inspect.Parameter(
                name,
                inspect.Parameter.POSITIONAL_OR_KEYWORD,
                default=_OWN_DEFAULTS[name]
                if name in _OWN_DEFAULTS
                else REQUIRED
                if axes[name].default is REQUIRED
                else (axes[name].default,),
            )
            for name in _PARAMETERS
        ]
        + [inspect.Parameter("old_names", inspect.Parameter.VAR_KEYWORD)]
    )


Grid.__signature__ = _signature()  # type: ignore[attr-defined]

for _axis in GRID_AXES:  # the old names read on: grid.lrs is grid.lr
    if _axis.alias:
        setattr(
            Grid,
            _axis.alias,
            property(operator.attrgetter(_axis.name), doc=f"The old name of :attr:`{_axis.name}`."),
        )


# ------------------------------------------------------------------------------- presets

HW2_HIDDEN = (16, 32, 64, 128, 256, 512, 1024, 2048, 4096)
HW2_LRS = (1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0)
# The transfer question: does the best rate stay put across widths under mup (and move under
# sp)? Nine rates two-fold apart around both parametrizations' optima, four widths from the base
# width up, enough steps to rank the rates (docs/DESIGN.md, "Parametrizations").
TRANSFER_LRS = lr_range("0.0002:0.0512")
# the tasks' presets: a decade apart around Adam's usual optimum (the TCN paper's LSTMs: 1e-3 to
# 2e-3), and for chars-transfer, factors of two around it
SMALL_LRS = (1e-3, 1e-2, 1e-1)
PIXELS_LRS = (1e-4, 1e-3, 1e-2)  # 784 steps with TF's N(0, 1) head: 0.1 fails at every width
CHARS_TRANSFER_LRS = lr_range("0.004:0.128")


PRESETS: dict[str, Grid] = {
    "hw2": Grid(hidden=HW2_HIDDEN, lr=HW2_LRS, name="hw2"),
    "quick": Grid(hidden=HW2_HIDDEN[:4], lr=HW2_LRS, name="quick"),
    # the next questions: does the picture hold for TF's GRU and basic RNN? for other optimizers?
    "cells": Grid(hidden=HW2_HIDDEN[:4], lr=HW2_LRS, cell=CELLS, name="cells"),
    "optimizers": Grid(hidden=HW2_HIDDEN[:4], lr=HW2_LRS, optimizer=tuple(OPTIMIZERS), name="optimizers"),
    "transfer": Grid(
        hidden=(64, 128, 256, 512),
        lr=TRANSFER_LRS,
        param=PARAMS[:2],  # sp and mup: mup-opt changes only Adagrad and RMSProp
        steps=(300,),
        base_width=DEFAULT_BASE_WIDTH,
        name="transfer",
    ),
    # The seed's question (width x learning rate) on the tasks of Bai, Kolter & Koltun 2018
    # (the TCN paper, Table 1), cut to what two CPU cores train in minutes (PRESET_NOTES).
    "pixels-small": Grid(
        task="pixels", hidden=(16, 32, 64), lr=PIXELS_LRS, steps=500, batch_size=50, name="pixels-small"
    ),
    "adding-small": Grid(
        task="adding",
        hidden=(16, 32, 64),
        lr=SMALL_LRS,
        steps=2000,
        batch_size=50,
        length=50,
        name="adding-small",
    ),
    "copy-small": Grid(
        task="copy",
        hidden=(16, 32, 64),
        lr=SMALL_LRS,
        steps=2000,
        batch_size=50,
        length=10,
        name="copy-small",
    ),
    "chars-small": Grid(
        task="chars",
        hidden=(32, 64, 128),
        lr=SMALL_LRS,
        steps=300,
        batch_size=32,
        length=50,
        name="chars-small",
    ),
    "chars-transfer": Grid(
        task="chars",
        hidden=(64, 128, 256, 512),
        lr=CHARS_TRANSFER_LRS,
        param=PARAMS[:2],  # sp and mup: mup-opt changes only Adagrad and RMSProp
        steps=200,
        batch_size=32,
        length=50,
        base_width=DEFAULT_BASE_WIDTH,
        name="chars-transfer",
    ),
}

# What each preset asks, and for the tasks' presets, what they follow from the TCN paper (Bai,
# Kolter & Koltun 2018, Table 1) and what two CPU cores cannot afford of it.
PRESET_NOTES: dict[str, str] = {
    "hw2": "the homework's Table 1: widths 16 to 4096 x six rates, 999 steps of 100 rows of MNIST",
    "quick": "hw2's four narrowest widths (16 to 128) x its six rates: minutes on a CPU",
    "cells": "quick's grid for TF's LSTM, GRU and basic RNN",
    "optimizers": "quick's grid for each optimizer (adam, sgd, momentum, rmsprop, adagrad)",
    "transfer": "does the best rate stay put across widths under mup (and move under sp)? widths "
    "64 to 512 x nine rates two-fold apart x sp, mup; 300 steps",
    "pixels-small": "sequential MNIST (784 steps of one pixel) as the TCN paper reads it; widths "
    "16 to 64 x rates 1e-4, 1e-3, 1e-2 x 500 steps of 50 images (under half an epoch). Cannot "
    "afford the paper's ~70K parameters (width 130) trained for many epochs with gradient "
    "clipping: its accuracies stay far below the paper's 87 %",
    "adding-small": "the adding problem at T = 50 (the paper's is T = 600); widths 16 to 64 x "
    "three rates x 2,000 steps of 50 sequences (two passes over the paper's 50,000). Cannot "
    "afford T = 600 nor ~70K parameters: compare the MSE with chance's 0.167, and the paper's "
    "0.164 (its LSTM failed at T = 600) only as a sign of how much harder T = 600 is",
    "copy-small": "copy memory at T = 10 (T + 20 = 30 steps; the paper's is T = 1000); widths 16 "
    "to 64 x three rates x 2,000 steps of 50 sequences. Cannot afford T = 1000 nor its long "
    "training: compare the loss with chance's 10 ln 8 / (T + 20) = 0.693, not the paper's "
    "0.0204 (its chance at T = 1000, where its LSTM failed)",
    "chars-small": "character-level language modelling of a text file, 50-character "
    "sequences (the paper's PTB runs use 400); widths 32 to 128 x three rates x 300 steps of 32. "
    "Cannot afford the paper's ~3M parameters on Penn Treebank: its 1.36 bpc is not this text's",
    "chars-transfer": "the transfer question on a text file: widths 64 to 512 x six rates "
    "two-fold apart (0.004 to 0.128) x sp, mup; 200 steps of 32 sequences of 50 characters. "
    "Cannot afford the paper's model sizes or training length: it asks where the best rate "
    "sits, not how low the bpc goes",
}


def preset(name: str) -> Grid:
    """The named preset grid.

    Raises:
        ConfigError: ``name`` is not the name of a preset (naming the known presets).
    """
    if isinstance(name, str) and name.strip().lower() in PRESETS:  # in any case, as datasets
        return PRESETS[name.strip().lower()]
    hint = ""
    if isinstance(name, str):
        close = difflib.get_close_matches(name.strip().lower(), list(PRESETS), n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise ConfigError(f"unknown preset {show(name)}{hint}; choose one of: {', '.join(sorted(PRESETS))}")
