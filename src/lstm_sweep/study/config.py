"""Configuration as data: frozen dataclasses for one trial and for a grid, and the presets.

A :class:`TrialConfig` is everything that decides a trial's result; its :meth:`TrialConfig.key`
(a hash of all fields) is the trial's identity in the store. Where a trial runs (device) is not part
of it: the same trial on CPU or GPU is the same trial.

:data:`TRIAL_AXES` declares, once, the axes trials vary along: each is a :class:`TrialConfig`
field, and (but for the dataset) a :class:`Grid` field of the same name holding its values. The
grid, the CLI and the reports (``lstm_sweep.reporting.axes``) all read this one declaration.

Every public function and class here checks its arguments and raises :class:`ConfigError`, naming
the field, for anything it cannot take: never a raw TypeError or ValueError.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import math
import numbers
import operator
import reprlib
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields

from ..errors import ConfigError

# Bump when a change alters what a trial computes (then old results are not reused by mistake).
PROTOCOL_VERSION = 1

INITS = ("tf", "pytorch")
PRECISIONS = ("fp32", "tf32", "bf16")
CELLS = ("lstm", "gru", "rnn")  # TF 1.x BasicLSTMCell, GRUCell, BasicRNNCell
# Parametrizations (lstm_sweep.training.param): sp = the seed's (TF's init, one rate for every
# tensor); mup = the maximal update parametrization relative to a base width (docs/DESIGN.md).
PARAMS = ("sp", "mup")
# The width at which mup equals sp: the middle of Table 1's widths that train well at the seed's
# rates (16 and 32 are too narrow for width scaling to say much, and a base far above the widths
# swept would make every model a "narrow" one); 64 is also the narrowest width of the transfer
# preset, so its sweep is the sp sweep it is compared with.
DEFAULT_BASE_WIDTH = 64
READOUTS = ("normal", "zero")  # the head's initial weights: the seed's N(0, 1), or zeros
GATES = {"lstm": 4, "gru": 3, "rnn": 1}  # blocks of H columns in the cell's kernel(s)
# TF 1.x optimizers: name -> its settings with TF's defaults (lstm_sweep.training.optim implements them).
# A setting at its default is not part of a trial's identity; one that differs is.
OPTIMIZERS: dict[str, dict[str, float]] = {
    "adam": {"beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8},
    "sgd": {},
    "momentum": {"momentum": 0.9, "nesterov": 0.0},
    "rmsprop": {"decay": 0.9, "momentum": 0.0, "epsilon": 1e-10},
    "adagrad": {"initial_accumulator_value": 0.1},
}

# The seed: training_iters = 100000, batch_size = 100, `step = 1; while step * batch < iters`
# -> steps 1..999 -> 999 updates (docs/DESIGN.md, "Fidelity").
SEED_TRAINING_ITERS = 100_000
SEED_BATCH_SIZE = 100
SEED_STEPS = math.ceil(SEED_TRAINING_ITERS / SEED_BATCH_SIZE) - 1  # 999
SEED_DISPLAY_STEP = 10

HW2_HIDDEN = (16, 32, 64, 128, 256, 512, 1024, 2048, 4096)
HW2_LRS = (1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0)


def steps_for_training_iters(training_iters: int, batch_size: int) -> int:
    """Number of updates the seed's loop makes: ``step = 1; while step * batch < iters: step += 1``.

    Raises:
        ConfigError: either argument is not a positive integer.
    """
    _check_positive_int("training iters", training_iters)
    _check_positive_int("batch size", batch_size)
    return max(0, math.ceil(training_iters / batch_size) - 1)


# Bounds every number is checked against when a configuration is made, so that nothing can be
# trained and then fail to be stored: SQLite stores integers as signed 64-bit values, and the
# other bounds are far beyond anything that can run (a 2^20-unit LSTM holds 2^46 weights).
MAX_INT64 = 2**63 - 1
MAX_HIDDEN = 2**20
MAX_STEPS = 10**9
MAX_BATCH_SIZE = 2**31 - 1
MAX_SEED = MAX_INT64
MAX_TRIALS = 100_000  # trials in one grid (hw2 with 1,000 seeds is 54,000)
MAX_REPEATS = 10_000
MAX_WORKERS = 256  # worker processes side by side on one machine
MAX_NAME = 200  # characters of a grid's or a dataset's name
_LIMIT_OF = {"hidden size": MAX_HIDDEN, "steps": MAX_STEPS, "batch size": MAX_BATCH_SIZE,
             "display step": MAX_STEPS, "base width": MAX_HIDDEN}
# The bounds by option (public: the CLI checks its options against them when it parses).
LIMITS = {"hidden": MAX_HIDDEN, "seed": MAX_SEED, "steps": MAX_STEPS,
          "batch_size": MAX_BATCH_SIZE, "repeats": MAX_REPEATS, "workers": MAX_WORKERS,
          "trials": MAX_TRIALS}

# How an error quotes a value it refuses: one short line, however long, deep or odd the value.
_QUOTE = reprlib.Repr()
_QUOTE.maxstring = _QUOTE.maxother = 40
_QUOTE.maxlevel = 3
_QUOTE.maxlist = _QUOTE.maxtuple = _QUOTE.maxdict = _QUOTE.maxset = 4


def show(value: object) -> str:
    """``value`` as an error message quotes it: a short ``repr`` on one line."""
    if isinstance(value, int) and value.bit_length() > 128:  # repr refuses > 4,300 digits
        return f"an integer of {value.bit_length():,} bits"
    try:
        return _QUOTE.repr(value)
    except Exception:  # noqa: BLE001 - a value whose repr fails (or is too big) is named by type
        return f"a {type(value).__name__}"


def check_count(name: str, value: object, limit: int = MAX_INT64) -> int:
    """``value`` if it is an integer from 1 to ``limit`` (not a bool).

    Raises:
        ConfigError: naming ``name`` and the bound.
    """
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(f"{name} must be a positive integer, got {show(value)}")
    if value > limit:
        raise ConfigError(f"{name} must be at most {limit:,}, got {show(value)}")
    return value


def _check_positive_int(name: str, value: object) -> None:
    check_count(name, value, _LIMIT_OF.get(name, MAX_INT64))


def _check_lr(value: object) -> None:
    try:
        ok = not isinstance(value, bool) and isinstance(value, (int, float)) and \
            math.isfinite(float(value)) and float(value) > 0
    except OverflowError:  # an int beyond float's range
        ok = False
    if not ok:
        raise ConfigError(f"learning rate must be a positive finite number, got {show(value)}")


def _check_seed(value: object, name: str = "seed") -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"{name} must be a non-negative integer, got {show(value)}")
    if value > MAX_SEED:
        raise ConfigError(f"{name} must be at most 2^63 - 1 = {MAX_SEED} (what the results store "
                          f"holds), got {show(value)}")


def _check_choice(name: str, value: object, choices: tuple[str, ...]) -> None:
    if not isinstance(value, str) or value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}; got {show(value)}")


def _check_name(name: str, value: object) -> None:
    """A name shown in tables and progress lines: text on one line (no control characters, no
    line or paragraph separators)."""
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_NAME or \
            any(unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in value):
        raise ConfigError(f"{name} must be text of 1 to {MAX_NAME} characters without control "
                          f"characters, got {show(value)}")


# ----------------------------------------------------------------------------------- the axes


@dataclass(frozen=True)
class TrialAxis:
    """One axis trials vary along: a :class:`TrialConfig` field, and (``in_grid``) the
    :class:`Grid` field of the same name that holds the values a sweep takes.

    Attributes:
        name: the field (``"lr"``); also the axis's name in ``--rows``/``--cols``/``--where``.
        value_noun: how errors call one value (``"learning rate"``).
        title: how a plot labels the axis (``"learning rate"``).
        noun: how sentences call it (``"rate"``: "the best rate per width").
        check: raises ConfigError, naming ``value_noun``, for a value a trial cannot have.
        numeric: values are numbers (ordered ascending, log-spaced in plots).
        order: the known values in their order, the seed's first (a categorical axis).
        in_grid: a :class:`Grid` field (the dataset is not: a grid runs on each dataset).
        replicates: its values repeat one trial (seeds): the statistic inside a table's cell,
            never a table's row, column or facet.
        alias: the Grid field's name in earlier releases (still a keyword and an attribute).
    """

    name: str
    value_noun: str
    title: str
    noun: str
    check: Callable[[object], None] = field(repr=False, compare=False)
    numeric: bool = False
    order: tuple[str, ...] = ()
    in_grid: bool = True
    replicates: bool = False
    alias: str | None = None


def _choice_of(name: str, choices: tuple[str, ...]) -> Callable[[object], None]:
    return lambda v: _check_choice(name, v, choices)


def _check_dataset(value: object) -> None:
    _check_name("dataset", value)


TRIAL_AXES: tuple[TrialAxis, ...] = (
    TrialAxis("hidden", "hidden size", "hidden units", "width",
              lambda v: _check_positive_int("hidden size", v), numeric=True),
    TrialAxis("lr", "learning rate", "learning rate", "rate", _check_lr, numeric=True,
              alias="lrs"),
    TrialAxis("seed", "seed", "seed", "seed", _check_seed, numeric=True, replicates=True,
              alias="seeds"),
    TrialAxis("cell", "cell", "cell", "cell", _choice_of("cell", CELLS), order=CELLS,
              alias="cells"),
    TrialAxis("optimizer", "optimizer", "optimizer", "optimizer",
              _choice_of("optimizer", tuple(OPTIMIZERS)), order=tuple(OPTIMIZERS),
              alias="optimizers"),
    TrialAxis("dataset", "dataset", "dataset", "dataset", _check_dataset, order=("mnist",),
              in_grid=False),
    TrialAxis("batch_size", "batch size", "batch size", "batch size",
              lambda v: _check_positive_int("batch size", v), numeric=True),
    TrialAxis("steps", "steps", "steps", "step count", lambda v: _check_positive_int("steps", v),
              numeric=True),
    TrialAxis("init", "init", "init", "init", _choice_of("init", INITS), order=INITS),
    TrialAxis("param", "parametrization", "parametrization", "parametrization",
              _choice_of("parametrization", PARAMS), order=PARAMS),
    TrialAxis("readout", "readout init", "readout init", "readout init",
              _choice_of("readout init", READOUTS), order=READOUTS),
    TrialAxis("precision", "precision", "precision", "precision",
              _choice_of("precision", PRECISIONS), order=PRECISIONS),
)
GRID_AXES: tuple[TrialAxis, ...] = tuple(a for a in TRIAL_AXES if a.in_grid)
# the Grid keywords and attributes of earlier releases -> today's field
GRID_ALIASES: dict[str, str] = {a.alias: a.name for a in GRID_AXES if a.alias}


# ------------------------------------------------------------------------- optimizer settings

# setting -> (the values it takes, in words; whether a value is one of them), for OPTIMIZERS
_FRACTION = ("at least 0 and below 1", lambda x: 0 <= x < 1)
_ABOVE_ZERO = ("above 0", lambda x: x > 0)
_SETTING_RANGE: dict[str, tuple[str, Callable[[float], bool]]] = {
    "beta1": _FRACTION, "beta2": _FRACTION, "decay": _FRACTION, "momentum": _FRACTION,
    "epsilon": _ABOVE_ZERO, "initial_accumulator_value": _ABOVE_ZERO,
    "nesterov": ("0 or 1", lambda x: x in (0, 1)),
}
_MAX_SETTINGS = 64  # far more than any grid's optimizers have (a bound for generated junk)


def _setting_pairs(opt: object) -> list[tuple[str, object]]:
    """``opt`` (a mapping or ``(name, value)`` pairs) as a list of pairs, each name once.

    Raises:
        ConfigError: not pairs, a name that is not text, or a setting given twice.
    """
    how = "optimizer settings (opt) must be a mapping or (name, value) pairs, e.g. " \
          "{'momentum': 0.99}"
    if isinstance(opt, Mapping):
        items = list(itertools.islice(opt.items(), _MAX_SETTINGS + 1))
    elif isinstance(opt, (str, bytes, bytearray)) or not isinstance(opt, Iterable):
        raise ConfigError(f"{how}; got {show(opt)}")
    else:
        items = list(itertools.islice(opt, _MAX_SETTINGS + 1))
    if len(items) > _MAX_SETTINGS:
        raise ConfigError(f"optimizer settings (opt): at most {_MAX_SETTINGS} are allowed")
    pairs: dict[str, object] = {}
    for item in items:
        if not isinstance(item, (tuple, list)) or len(item) != 2:
            raise ConfigError(f"{how}; got {show(item)} in {show(opt)}")
        name, value = item
        if not isinstance(name, str):
            raise ConfigError(f"an optimizer setting's name must be text, got {show(name)}")
        if name in pairs:
            raise ConfigError(f"optimizer setting {show(name)} is given twice ({show(pairs[name])} "
                              f"and {show(value)}): give it once")
        pairs[name] = value
    return list(pairs.items())


def _setting_value(optimizer: str, name: str, value: object) -> float:
    """The value of setting ``name`` as a float. Raises ConfigError: not a number, or out of range."""
    flag = name == "nesterov" and isinstance(value, bool)  # a flag: True/False read as 1/0
    if (isinstance(value, bool) and not flag) or not isinstance(value, numbers.Real):
        raise ConfigError(f"{optimizer} setting {name} must be a number, got {show(value)}")
    try:
        number = float(value)
    except (OverflowError, ValueError):  # a huge int or fraction
        number = math.inf
    allowed, ok = _SETTING_RANGE[name]
    if not math.isfinite(number) or not ok(number):
        raise ConfigError(f"{optimizer} setting {name}={show(value)} is out of range ({name} "
                          f"must be {allowed})")
    return number


def optimizer_settings(optimizer: str, opt: object) -> tuple[tuple[str, float], ...]:
    """``opt`` (pairs or a mapping) checked against ``optimizer``'s settings, as sorted
    ``(name, value)`` pairs without those at TF's default (so they do not change trial keys).

    Raises:
        ConfigError: an unknown optimizer, ``opt`` not a mapping or pairs, an unknown setting,
            one given twice, or a value that is not a finite number in its range.
    """
    _check_choice("optimizer", optimizer, tuple(OPTIMIZERS))
    known = OPTIMIZERS[optimizer]
    out = {}
    for name, value in _setting_pairs(opt):
        if name not in known:
            have = ", ".join(known) or "none"
            raise ConfigError(f"{optimizer} has no setting {show(name)} (its settings: {have})")
        out[name] = _setting_value(optimizer, name, value)
    return tuple(sorted((k, v) for k, v in out.items() if v != known[k]))


# --------------------------------------------------------------------------------- one trial

# The fields that every trial key has hashed since the first release (see TrialConfig.key).
KEY_FIELDS_V1 = ("hidden", "lr", "seed", "data_seed", "steps", "batch_size", "display_step",
                 "init", "precision", "dataset")
_AXIS_OF = {a.name: a for a in TRIAL_AXES}


@dataclass(frozen=True)
class TrialConfig:
    """One cell of the grid for one seed: everything that decides its result.

    Attributes:
        hidden: LSTM width H (units).
        lr: Adam learning rate.
        seed: seeds the initial weights (and, unless ``data_seed`` is given, the batch order).
        data_seed: seeds the batch order (TF ``next_batch`` shuffles); defaults to ``seed``.
        steps: number of Adam updates (the seed's 999).
        batch_size: images per update (the seed's 100).
        display_step: a learning-curve point every this many steps (the seed's 10).
        init: ``"tf"`` (seed-faithful: glorot kernel, N(0, 1) head) or ``"pytorch"`` (its defaults).
        precision: arithmetic of training and evaluation: ``"fp32"`` (faithful), ``"tf32"``
            (TF32 matmuls on NVIDIA GPUs; refused elsewhere unless ``--fallback-fp32``),
            ``"bf16"`` (bfloat16 autocast; parameters and Adam stay fp32).
        dataset: identity of the data (``"mnist"``, ``"fashion-mnist"``, ...; other IDX data is
            named after its folder and its checksums, or by ``--dataset-name``).
        cell: ``"lstm"`` (the seed's ``BasicLSTMCell``), ``"gru"`` or ``"rnn"`` (TF 1.x's).
        optimizer: ``"adam"`` (the seed's), ``"sgd"``, ``"momentum"``, ``"rmsprop"``,
            ``"adagrad"``, in TF 1.x's forms; ``opt``: its settings that differ from TF's
            defaults, as sorted ``(name, value)`` pairs.
        param: ``"sp"`` (the seed's standard parametrization) or ``"mup"`` (the maximal update
            parametrization: per-tensor init scales and learning rates, and a ``1/m`` readout
            multiplier, with ``m = hidden / base_width``; :mod:`lstm_sweep.training.param`).
        base_width: the width at which ``mup`` equals ``sp`` (only ``mup`` reads it: an ``sp``
            trial holds :data:`DEFAULT_BASE_WIDTH`, so the same ``sp`` trial has one key).
        readout: the head's initial weights: ``"normal"`` (the seed's N(0, 1)) or ``"zero"``
            (μP's zero-readout option; its bias stays the seed's N(0, 1)).

    Raises:
        ConfigError: a field of the wrong kind or out of range, named (``hidden size must be a
            positive integer, got '16'``).
    """

    hidden: int
    lr: float
    seed: int = 0
    data_seed: int | None = None
    steps: int = SEED_STEPS
    batch_size: int = SEED_BATCH_SIZE
    display_step: int = SEED_DISPLAY_STEP
    init: str = "tf"
    precision: str = "fp32"
    dataset: str = "mnist"
    cell: str = "lstm"
    optimizer: str = "adam"
    opt: tuple[tuple[str, float], ...] = ()
    param: str = "sp"
    base_width: int = DEFAULT_BASE_WIDTH
    readout: str = "normal"

    def __post_init__(self) -> None:
        for name in ("hidden", "lr", "seed"):
            _AXIS_OF[name].check(getattr(self, name))
        if self.data_seed is None:
            object.__setattr__(self, "data_seed", self.seed)
        _check_seed(self.data_seed, "data seed")
        for name in ("steps", "batch_size"):
            _AXIS_OF[name].check(getattr(self, name))
        _check_positive_int("display step", self.display_step)
        for name in ("init", "precision", "dataset", "cell", "optimizer"):
            _AXIS_OF[name].check(getattr(self, name))
        object.__setattr__(self, "opt", optimizer_settings(self.optimizer, self.opt))
        object.__setattr__(self, "lr", float(self.lr))
        for name in ("param", "readout"):
            _AXIS_OF[name].check(getattr(self, name))
        _check_positive_int("base width", self.base_width)
        if self.param == "sp":  # sp does not read it: one sp trial, one key
            object.__setattr__(self, "base_width", DEFAULT_BASE_WIDTH)
        if self.init != "tf" and (self.param, self.readout) != ("sp", "normal"):
            raise ConfigError(f"param {self.param} with readout {self.readout} rescales TF's "
                              f"initialisation: it needs init tf, not {self.init}")

    def to_dict(self) -> dict:
        """The fields by name (every value is immutable: numbers, text, ``opt``'s tuples).
        Not ``dataclasses.asdict``, which deep-copies each value: to_dict runs for every trial
        of every table, and asdict was most of the time of a page of 10,000 trials."""
        return {name: getattr(self, name) for name in _TRIAL_FIELDS}

    @classmethod
    def from_dict(cls, d: Mapping) -> TrialConfig:
        """The configuration a :meth:`to_dict` (or its JSON) describes.

        Raises:
            ConfigError: ``d`` is not a mapping, lacks ``hidden`` or ``lr``, has a key that is
                no field (a newer release's field, a typo), or a field's value is refused.
        """
        if not isinstance(d, Mapping):
            raise ConfigError(f"a trial configuration must be a mapping of its fields, got "
                              f"{show(d)}")
        names = [f.name for f in fields(cls)]
        unknown = [k for k in d if k not in names]
        if unknown:
            raise ConfigError(f"a trial configuration has no field {show(unknown[0])}; its fields: "
                              f"{', '.join(names)}")
        missing = [n for n in ("hidden", "lr") if n not in d]
        if missing:
            raise ConfigError(f"a trial configuration needs {' and '.join(missing)}")
        return cls(**d)

    def key(self) -> str:
        """Stable identity of this trial: SHA-256 of its canonical JSON and the protocol version.

        The fields of the first release always enter the key; a field added later enters it
        only when it differs from its default, so adding a field (a cell type, an optimizer)
        keeps the key, and so the stored results, of every existing trial. Computed once per
        (frozen) configuration."""
        return self._key

    @functools.cached_property
    def _key(self) -> str:
        d = self.to_dict()
        payload = {"protocol": PROTOCOL_VERSION, **{k: d[k] for k in KEY_FIELDS_V1}}
        for f in fields(self):
            if f.name not in KEY_FIELDS_V1 and d[f.name] != f.default:
                payload[f.name] = d[f.name]
        blob = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=repr)
        return hashlib.sha256(blob.encode()).hexdigest()[:32]

    def group_key(self) -> tuple:
        """Trials with equal group keys can train together (one batch sequence, one fused
        model): everything but learning rate and seed agrees."""
        d = self.to_dict()
        d.pop("lr"), d.pop("seed")
        return tuple(sorted(d.items()))

    @property
    def fusable(self) -> bool:
        """Whether the fused engine implements this trial (TF's init: one trainable bias; any
        cell, any optimizer)."""
        return self.init == "tf"

    @property
    def model_prefix(self) -> str:
        """``"gru momentum "`` where the cell or optimizer is not the seed's, else ``""``; then
        ``"mup/64 "`` (and ``"zero-readout "``) where the parametrization is not the seed's."""
        prefix = "" if (self.cell, self.optimizer) == ("lstm", "adam") else \
            f"{self.cell} {self.optimizer} "
        if self.param != "sp":
            prefix += f"{self.param}/{self.base_width} "
        if self.readout != "normal":
            prefix += f"{self.readout}-readout "
        return prefix

    def describe(self) -> str:
        """``hidden 32 lr 0.01 seed 0`` (after :attr:`model_prefix`): how progress lines name
        a trial."""
        return f"{self.model_prefix}hidden {self.hidden} lr {self.lr:g} seed {self.seed}"

    def protocol(self) -> dict:
        """The fields shared by all cells of one table (everything but hidden, lr and seeds)."""
        d = self.to_dict()
        for k in ("hidden", "lr", "seed", "data_seed"):
            d.pop(k)
        return d


# ---------------------------------------------------------------------------------- the grid


class _Default:
    """The default of a Grid keyword that has an old name: tells "not given" from a value."""

    def __init__(self, value: tuple) -> None:
        self.value = value

    def __repr__(self) -> str:
        return repr(self.value)


class _Required:
    """The default of ``hidden`` and ``lr``, which a grid needs: its error names them."""

    def __repr__(self) -> str:
        return "<required>"


_REQUIRED = _Required()
# The outermost axis first: a grid's trials come cell by cell, ..., then width by width.
_NESTING = ("cell", "optimizer", "param", "readout", "init", "precision", "batch_size", "steps",
            "hidden", "lr", "seed")


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
        raise ConfigError(f"{name} must be a value or a list of values, got "
                          f"{show(value)}") from None
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


_TRIAL_FIELDS = tuple(f.name for f in fields(TrialConfig))


@dataclass(frozen=True, init=False)
class Grid:
    """A sweep: the product of its axes (hidden sizes x learning rates x seeds x cells x
    optimizers x parametrizations x readout inits x inits x precisions x batch sizes x steps;
    :data:`GRID_AXES`).

    Each axis field is named after the :class:`TrialConfig` field it sets (``lr``, ``seed``,
    ``cell``, ...) and holds the values the sweep takes; given one value or a list, it is stored
    as a tuple. The other fields are one value for every trial: ``data_seed`` (one batch order
    for all seeds; None: each seed its own), ``display_step``, ``name`` (how plans call the
    grid; not part of equality), ``base_width`` (the width at which ``mup`` equals ``sp``) and
    ``opt``: optimizer settings that differ from TF's defaults, e.g. ``{"momentum": 0.99}``;
    each applies to the optimizers of the grid that have it (at least one must).

    The axes' names of earlier releases, ``lrs``, ``seeds``, ``cells`` and ``optimizers``
    (:data:`GRID_ALIASES`), still work as keywords and as attributes (``grid.lrs is grid.lr``).

    Raises:
        ConfigError: a missing axis (``hidden``, ``lr``), an unknown keyword, a field given by
            both its names, or any value of the wrong kind or out of range, named.
    """

    hidden: tuple[int, ...]
    lr: tuple[float, ...]
    seed: tuple[int, ...]
    data_seed: int | None
    steps: tuple[int, ...]
    batch_size: tuple[int, ...]
    display_step: int
    init: tuple[str, ...]
    precision: tuple[str, ...]
    name: str = field(compare=False)
    cell: tuple[str, ...]
    optimizer: tuple[str, ...]
    opt: tuple[tuple[str, float], ...]
    param: tuple[str, ...]
    readout: tuple[str, ...]
    base_width: int

    def __init__(self, hidden: object = _REQUIRED, lr: object = _REQUIRED,
                 seed: object = _Default((0,)), data_seed: int | None = None,
                 steps: object = (SEED_STEPS,), batch_size: object = (SEED_BATCH_SIZE,),
                 display_step: int = SEED_DISPLAY_STEP, init: object = ("tf",),
                 precision: object = ("fp32",), name: str = "custom",
                 cell: object = _Default(("lstm",)), optimizer: object = _Default(("adam",)),
                 opt: object = (), param: object = ("sp",), readout: object = ("normal",),
                 base_width: int = DEFAULT_BASE_WIDTH, **old_names: object) -> None:
        given = {"hidden": hidden, "lr": lr, "seed": seed, "steps": steps,
                 "batch_size": batch_size, "init": init, "precision": precision, "cell": cell,
                 "optimizer": optimizer, "param": param, "readout": readout}
        spelled = {a.name: a.name for a in GRID_AXES}  # the keyword each axis came by
        for old, value in old_names.items():
            new = GRID_ALIASES.get(old)
            if new is None:
                raise ConfigError(f"a grid has no field {show(old)}; its fields: "
                                  f"{', '.join(f.name for f in fields(Grid))}")
            if not isinstance(given[new], (_Default, _Required)):
                raise ConfigError(f"give {new} or its old name {old}, not both")
            given[new], spelled[new] = value, old
        for axis in GRID_AXES:
            value = given[axis.name]
            if value is _REQUIRED:
                raise ConfigError(f"the grid needs {axis.name} (its {axis.value_noun}s)")
            value = value.value if isinstance(value, _Default) else value
            object.__setattr__(self, axis.name, _axis_values(spelled[axis.name], value))
        size = len(self)
        if size > MAX_TRIALS:
            raise ConfigError(f"the grid has {size:,} trials; at most {MAX_TRIALS:,} are allowed "
                              "in one sweep: split it into several runs on the same --db")
        for axis in GRID_AXES:  # every value of every axis
            for v in getattr(self, axis.name):
                axis.check(v)
        if data_seed is not None:
            _check_seed(data_seed, "data seed")
        _check_positive_int("display step", display_step)
        _check_positive_int("base width", base_width)
        _check_name("name", name)
        object.__setattr__(self, "base_width", base_width)
        object.__setattr__(self, "data_seed", data_seed)
        object.__setattr__(self, "display_step", display_step)
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "opt", self._checked_opt(opt))
        object.__setattr__(self, "lr", tuple(float(x) for x in self.lr))

    def _checked_opt(self, opt: object) -> tuple[tuple[str, float], ...]:
        pairs = dict(_setting_pairs(opt))
        for name in pairs:
            if not any(name in OPTIMIZERS[o] for o in self.optimizer):
                raise ConfigError(f"no optimizer of the grid ({', '.join(self.optimizer)}) has "
                                  f"the setting {show(name)}")
        for o in self.optimizer:  # each value checked by the optimizers that have it
            optimizer_settings(o, self._opt_for(o, pairs))
        return tuple(sorted((k, float(v)) for k, v in pairs.items()))

    @staticmethod
    def _opt_for(optimizer: str, opt: dict) -> dict:
        return {k: v for k, v in opt.items() if k in OPTIMIZERS[optimizer]}

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

    def trials(self, dataset: str = "mnist") -> list[TrialConfig]:
        """All trials of the grid: cell, optimizer, init, precision, batch size, steps, then row
        by row (hidden), learning rate, seed.

        Raises:
            ConfigError: ``dataset`` is not a name.
        """
        _check_dataset(dataset)
        opt = dict(self.opt)
        shared = {"data_seed": self.data_seed, "display_step": self.display_step,
                  "dataset": dataset, "base_width": self.base_width}
        trials = []
        for values in itertools.product(*(getattr(self, a) for a in _NESTING)):
            fixed = dict(zip(_NESTING, values))
            trials.append(TrialConfig(**fixed, **shared,
                                      opt=self._opt_for(fixed["optimizer"], opt)))
        return trials

    def __len__(self) -> int:
        return math.prod(len(getattr(self, a.name)) for a in GRID_AXES)


for _axis in GRID_AXES:  # the old names read on: grid.lrs is grid.lr
    if _axis.alias:
        setattr(Grid, _axis.alias, property(operator.attrgetter(_axis.name),
                                            doc=f"The old name of :attr:`{_axis.name}`."))


MAX_RANGE_POINTS = 1000  # values one learning-rate range may make


def _range_number(text: str) -> float:
    """``1e-3``, ``0.5`` or a power of two ``2^-10``, as a positive finite float."""
    text = text.strip()
    base, caret, power = text.partition("^")
    try:
        if caret:
            if base.strip() != "2":
                raise ValueError
            value = 2.0 ** int(power)
        else:
            value = float(text)
    except (ValueError, OverflowError):
        raise ConfigError(f"{text[:40]!r} is not a number (e.g. 1e-3) or a power of two "
                          f"(e.g. 2^-10)") from None
    if not (math.isfinite(value) and value > 0):
        raise ConfigError(f"a learning rate must be a positive finite number, got {text[:40]!r}")
    return value


def lr_range(text: str) -> tuple[float, ...]:
    """The learning rates ``text`` names: one value (``1e-3``, ``2^-10``), or a log-spaced range
    ``START:STOP:N`` (N values from START to STOP, both included: ``1e-4:1e-1:4`` is 1e-4,
    1e-3, 1e-2, 1e-1) or ``START:STOP`` (START, 2·START, 4·START, ... up to STOP: factors of two,
    e.g. ``2^-12:2^-4`` or ``0.0002:0.0512``).

    The values of an N-point range are rounded to 12 significant digits, so that they are the
    same numbers on every machine and equal to the same values listed by hand (``1e-4:1e-1:4``
    makes the trials, and keys, of ``1e-4,1e-3,1e-2,1e-1``); doubling is exact in binary.

    Raises:
        ConfigError: not a number or range, STOP below START, N not a whole number from 2 to
            :data:`MAX_RANGE_POINTS`, a range of more values than that, or ends too close
            together for N distinct values (all rounded to 12 digits).
    """
    if not isinstance(text, str):
        raise ConfigError(f"a learning rate range must be text, got {show(text)}")
    parts = text.split(":")
    if len(parts) == 1:
        return (_range_number(parts[0]),)
    if len(parts) > 3:
        raise ConfigError(f"{text[:60]!r} is not a range: START:STOP (factors of two) or "
                          "START:STOP:N (N log-spaced values)")
    start, stop = _range_number(parts[0]), _range_number(parts[1])
    if stop < start:
        raise ConfigError(f"range {text[:60]!r} runs downwards: give START:STOP with START <= STOP")
    if len(parts) == 3:
        try:
            n = int(parts[2])
        except ValueError:
            n = 0
        if not 2 <= n <= MAX_RANGE_POINTS:
            raise ConfigError(f"range {text[:60]!r}: N must be a whole number from 2 to "
                              f"{MAX_RANGE_POINTS}, got {parts[2][:20]!r}")
        if stop == start:
            raise ConfigError(f"range {text[:60]!r} has {n} points between equal ends")
        lo, hi = math.log(start), math.log(stop)  # stop / start, or exp(hi - lo), may overflow
        try:
            middle = [float(f"{math.exp(lo + (hi - lo) * k / (n - 1)):.12g}")
                      for k in range(1, n - 1)]
        except OverflowError:  # rounding at the very top of float's range
            middle = [math.inf]
        values = (start, *middle, stop)
        if not all(math.isfinite(v) and v > 0 for v in values) or \
                any(b <= a for a, b in zip(values, values[1:])):
            raise ConfigError(f"range {text[:60]!r}: its ends are too close together (or too near "
                              f"float's limits) for {n} distinct values; give fewer points or "
                              "wider ends")
        return values
    count = math.floor(math.log2(stop) - math.log2(start) + 1e-9) + 1
    if count > MAX_RANGE_POINTS:
        raise ConfigError(f"range {text[:60]!r} makes {count:,} values; at most "
                          f"{MAX_RANGE_POINTS} are allowed")
    # (the 1e-9 above keeps a STOP that is START·2^k up to rounding; beyond float's top it is
    # no value)
    return tuple(v for v in (start * 2.0**k for k in range(count)) if math.isfinite(v))


# The transfer question: does the best rate stay put across widths under mup (and move under
# sp)? Nine rates two-fold apart around both parametrizations' optima, four widths from the base
# width up, enough steps to rank the rates (docs/DESIGN.md, "Parametrizations").
TRANSFER_LRS = lr_range("0.0002:0.0512")


PRESETS: dict[str, Grid] = {
    "hw2": Grid(hidden=HW2_HIDDEN, lr=HW2_LRS, name="hw2"),
    "quick": Grid(hidden=HW2_HIDDEN[:4], lr=HW2_LRS, name="quick"),
    # the next questions: does the picture hold for TF's GRU and basic RNN? for other optimizers?
    "cells": Grid(hidden=HW2_HIDDEN[:4], lr=HW2_LRS, cell=CELLS, name="cells"),
    "optimizers": Grid(hidden=HW2_HIDDEN[:4], lr=HW2_LRS, optimizer=tuple(OPTIMIZERS),
                       name="optimizers"),
    "transfer": Grid(hidden=(64, 128, 256, 512), lr=TRANSFER_LRS, param=PARAMS, steps=(300,),
                     base_width=DEFAULT_BASE_WIDTH, name="transfer"),
}


def preset(name: str) -> Grid:
    """The named preset grid.

    Raises:
        ConfigError: ``name`` is not the name of a preset (naming the known presets).
    """
    if isinstance(name, str) and name in PRESETS:
        return PRESETS[name]
    hint = ""
    if isinstance(name, str) and name.strip().lower() in PRESETS:
        hint = f" (did you mean {name.strip().lower()!r}?)"
    raise ConfigError(f"unknown preset {show(name)}{hint}; choose one of: "
                      f"{', '.join(sorted(PRESETS))}")
