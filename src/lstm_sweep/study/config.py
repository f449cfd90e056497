"""Configuration as data: frozen dataclasses for one trial and for a grid, and the presets.

A :class:`TrialConfig` is everything that decides a trial's result; its :meth:`TrialConfig.key`
(a hash of all fields) is the trial's identity in the store. Where a trial runs (device) is not part
of it: the same trial on CPU or GPU is the same trial.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, field, fields

from ..errors import ConfigError

# Bump when a change alters what a trial computes (then old results are not reused by mistake).
PROTOCOL_VERSION = 1

INITS = ("tf", "pytorch")
PRECISIONS = ("fp32", "tf32", "bf16")
CELLS = ("lstm", "gru", "rnn")  # TF 1.x BasicLSTMCell, GRUCell, BasicRNNCell
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
    """Number of updates the seed's loop makes: ``step = 1; while step * batch < iters: step += 1``."""
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
_LIMIT_OF = {"hidden size": MAX_HIDDEN, "steps": MAX_STEPS, "batch size": MAX_BATCH_SIZE,
             "display step": MAX_STEPS}
# The bounds by option (public: the CLI checks its options against them when it parses).
LIMITS = {"hidden": MAX_HIDDEN, "seed": MAX_SEED, "steps": MAX_STEPS,
          "batch_size": MAX_BATCH_SIZE, "repeats": MAX_REPEATS, "workers": MAX_WORKERS,
          "trials": MAX_TRIALS}


def _check_positive_int(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(f"{name} must be a positive integer, got {value!r}")
    limit = _LIMIT_OF.get(name, MAX_INT64)
    if value > limit:
        raise ConfigError(f"{name} must be at most {limit:,}, got {value:,}")


def _check_lr(value: object) -> None:
    try:
        ok = not isinstance(value, bool) and isinstance(value, (int, float)) and \
            math.isfinite(float(value)) and float(value) > 0
    except OverflowError:  # an int beyond float's range
        ok = False
    if not ok:
        raise ConfigError(f"learning rate must be a positive finite number, got {value!r:.40}")


def _check_seed(value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"seed must be a non-negative integer, got {value!r}")
    if value > MAX_SEED:
        raise ConfigError(f"seed must be at most 2^63 - 1 = {MAX_SEED} (what the results store "
                          f"holds), got {value}")


def _check_choice(name: str, value: object, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}; got {value!r}")


def optimizer_settings(optimizer: str, opt: object) -> tuple[tuple[str, float], ...]:
    """``opt`` (pairs or a mapping) checked against ``optimizer``'s settings, as sorted
    ``(name, value)`` pairs without those at TF's default (so they do not change trial keys).

    Raises:
        ConfigError: an unknown setting, or a value that is not a finite number in range.
    """
    known = OPTIMIZERS[optimizer]
    try:
        pairs = list(opt.items()) if isinstance(opt, dict) else [tuple(p) for p in opt]
        pairs = [(str(k), v) for k, v in pairs]
    except (TypeError, ValueError):
        raise ConfigError(f"optimizer settings must be name=value pairs, got {opt!r:.60}") \
            from None
    out = {}
    for name, value in pairs:
        if name not in known:
            have = ", ".join(known) or "none"
            raise ConfigError(f"{optimizer} has no setting {name!r:.40} (its settings: {have})")
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{optimizer} setting {name} must be a number, got {value!r:.40}") \
                from None
        if not math.isfinite(value) or value < 0 or (name == "nesterov" and value not in (0, 1)) \
                or (name in ("beta1", "beta2", "decay", "momentum") and value >= 1) \
                or (name in ("epsilon", "initial_accumulator_value") and value <= 0):
            raise ConfigError(f"{optimizer} setting {name}={value:g} is out of range")
        out[name] = value
    return tuple(sorted((k, v) for k, v in out.items() if v != known[k]))


# The fields that every trial key has hashed since the first release (see TrialConfig.key).
KEY_FIELDS_V1 = ("hidden", "lr", "seed", "data_seed", "steps", "batch_size", "display_step",
                 "init", "precision", "dataset")


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

    def __post_init__(self) -> None:
        _check_positive_int("hidden size", self.hidden)
        _check_lr(self.lr)
        _check_seed(self.seed)
        if self.data_seed is None:
            object.__setattr__(self, "data_seed", self.seed)
        _check_seed(self.data_seed)
        _check_positive_int("steps", self.steps)
        _check_positive_int("batch size", self.batch_size)
        _check_positive_int("display step", self.display_step)
        _check_choice("init", self.init, INITS)
        _check_choice("precision", self.precision, PRECISIONS)
        if not isinstance(self.dataset, str) or not self.dataset or len(self.dataset) > 200:
            raise ConfigError(f"dataset must be a name of 1 to 200 characters, got "
                              f"{self.dataset!r:.220}")
        _check_choice("cell", self.cell, CELLS)
        _check_choice("optimizer", self.optimizer, tuple(OPTIMIZERS))
        object.__setattr__(self, "opt", optimizer_settings(self.optimizer, self.opt))
        object.__setattr__(self, "lr", float(self.lr))

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> TrialConfig:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})

    def key(self) -> str:
        """Stable identity of this trial: SHA-256 of its canonical JSON and the protocol version.

        The fields of the first release always enter the key; a field added later enters it
        only when it differs from its default, so adding a field (a cell type, an optimizer)
        keeps the key, and so the stored results, of every existing trial."""
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
        """``"gru momentum "`` where the cell or optimizer is not the seed's, else ``""``."""
        return "" if (self.cell, self.optimizer) == ("lstm", "adam") else \
            f"{self.cell} {self.optimizer} "

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


@dataclass(frozen=True)
class Grid:
    """A sweep: the product of its axes (hidden sizes x learning rates x seeds x cells x
    optimizers x inits x precisions x batch sizes x steps).

    Every axis takes one value or a tuple of them (stored as a tuple). ``opt``: optimizer
    settings that differ from TF's defaults, e.g. ``{"momentum": 0.99}``; each applies to the
    optimizers of the grid that have it (at least one must).
    """

    hidden: tuple[int, ...]
    lrs: tuple[float, ...]
    seeds: tuple[int, ...] = (0,)
    data_seed: int | None = None  # one batch order for all seeds (None: each seed its own)
    steps: tuple[int, ...] = (SEED_STEPS,)
    batch_size: tuple[int, ...] = (SEED_BATCH_SIZE,)
    display_step: int = SEED_DISPLAY_STEP
    init: tuple[str, ...] = ("tf",)
    precision: tuple[str, ...] = ("fp32",)
    name: str = field(default="custom", compare=False)
    cells: tuple[str, ...] = ("lstm",)
    optimizers: tuple[str, ...] = ("adam",)
    opt: tuple[tuple[str, float], ...] = ()

    # attribute -> (what a value is called in errors, its check)
    _AXES = {
        "hidden": ("hidden size", lambda v: _check_positive_int("hidden size", v)),
        "lrs": ("learning rate", _check_lr),
        "seeds": ("seed", _check_seed),
        "cells": ("cell", lambda v: _check_choice("cell", v, CELLS)),
        "optimizers": ("optimizer", lambda v: _check_choice("optimizer", v, tuple(OPTIMIZERS))),
        "init": ("init", lambda v: _check_choice("init", v, INITS)),
        "precision": ("precision", lambda v: _check_choice("precision", v, PRECISIONS)),
        "batch_size": ("batch size", lambda v: _check_positive_int("batch size", v)),
        "steps": ("steps", lambda v: _check_positive_int("steps", v)),
    }

    def __post_init__(self) -> None:
        for attr in self._AXES:
            value = getattr(self, attr)
            if isinstance(value, (int, float, str)):
                value = (value,)
            try:
                value = tuple(value)
            except TypeError:
                raise ConfigError(f"{attr} must be a value or a list of values, got "
                                  f"{value!r:.60}") from None
            if not value:
                raise ConfigError(f"the grid needs at least one value for {attr}")
            try:
                repeated = len(set(value)) != len(value)
            except TypeError:  # unhashable values
                raise ConfigError(f"{attr} must hold plain values, got {value!r:.60}") from None
            if repeated:
                raise ConfigError(f"{attr} has repeated values: {list(value)}"[:200])
            object.__setattr__(self, attr, value)
        size = len(self)
        if size > MAX_TRIALS:
            raise ConfigError(f"the grid has {size:,} trials; at most {MAX_TRIALS:,} are allowed "
                              "in one sweep: split it into several runs on the same --db")
        for attr, (_, check) in self._AXES.items():  # every value of every axis
            for v in getattr(self, attr):
                check(v)
        opt = dict(self.opt.items()) if isinstance(self.opt, dict) else dict(
            tuple(p) for p in self.opt)
        for name in opt:
            if not any(name in OPTIMIZERS[o] for o in self.optimizers):
                raise ConfigError(f"no optimizer of the grid ({', '.join(self.optimizers)}) has "
                                  f"the setting {name!r:.40}")
        for o in self.optimizers:
            optimizer_settings(o, self._opt_for(o, opt))
        object.__setattr__(self, "opt", tuple(sorted(opt.items())))
        TrialConfig(  # the protocol fields that are not axes
            hidden=self.hidden[0], lr=self.lrs[0], seed=self.seeds[0], data_seed=self.data_seed,
            display_step=self.display_step,
        )
        object.__setattr__(self, "lrs", tuple(float(x) for x in self.lrs))

    @staticmethod
    def _opt_for(optimizer: str, opt: dict) -> dict:
        return {k: v for k, v in opt.items() if k in OPTIMIZERS[optimizer]}

    @property
    def varied(self) -> tuple[str, ...]:
        """The axes with more than one value (``"hidden"``, ``"lrs"``, ``"steps"``, ...)."""
        return tuple(a for a in self._AXES if len(getattr(self, a)) > 1)

    def trials(self, dataset: str = "mnist") -> list[TrialConfig]:
        """All trials of the grid: cell, optimizer, init, precision, batch size, steps, then row
        by row (hidden), learning rate, seed."""
        opt = dict(self.opt)
        return [
            TrialConfig(
                hidden=h, lr=lr, seed=s, data_seed=self.data_seed, steps=steps,
                batch_size=batch, display_step=self.display_step, init=init,
                precision=precision, dataset=dataset, cell=cell, optimizer=o,
                opt=self._opt_for(o, opt),
            )
            for cell in self.cells
            for o in self.optimizers
            for init in self.init
            for precision in self.precision
            for batch in self.batch_size
            for steps in self.steps
            for h in self.hidden
            for lr in self.lrs
            for s in self.seeds
        ]

    def __len__(self) -> int:
        return math.prod(len(getattr(self, a)) for a in self._AXES)


PRESETS: dict[str, Grid] = {
    "hw2": Grid(hidden=HW2_HIDDEN, lrs=HW2_LRS, name="hw2"),
    "quick": Grid(hidden=HW2_HIDDEN[:4], lrs=HW2_LRS, name="quick"),
    # the next questions: does the picture hold for TF's GRU and basic RNN? for other optimizers?
    "cells": Grid(hidden=HW2_HIDDEN[:4], lrs=HW2_LRS, cells=CELLS, name="cells"),
    "optimizers": Grid(hidden=HW2_HIDDEN[:4], lrs=HW2_LRS, optimizers=tuple(OPTIMIZERS),
                       name="optimizers"),
}


def preset(name: str) -> Grid:
    """The named preset grid. Raises ConfigError naming the known presets."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ConfigError(
            f"unknown preset {name!r}; choose one of: {', '.join(sorted(PRESETS))}"
        ) from None
