"""One trial: :class:`TrialConfig`, everything that decides a trial's result.

Its :meth:`TrialConfig.key` (a hash of its fields) is the trial's identity in the store. Where a
trial runs (device) is not part of it: the same trial on CPU or GPU is the same trial. The fields
that are axes (:data:`~lstm_sweep.study.axes.TRIAL_AXES`) are made by
:func:`~lstm_sweep.study.axes.axis_field`: their default and their check come from there.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields

from ..errors import ConfigError
from .axes import AXIS, DEFAULT_BASE_WIDTH, SEED_DISPLAY_STEP, axis_field
from .limits import MAX_STEPS, check_count, check_positive_int, check_seed, show
from .optimizers import optimizer_settings
from .tasks import GENERATED, METRICS, TASKS

# Bump when a change alters what a trial computes (then old results are not reused by mistake).
PROTOCOL_VERSION = 1

# The fields that every trial key has hashed since the first release (see TrialConfig.key).
KEY_FIELDS_V1 = (
    "hidden",
    "lr",
    "seed",
    "data_seed",
    "steps",
    "batch_size",
    "display_step",
    "init",
    "precision",
    "dataset",
)


def _check_length(value: object) -> None:
    """A task's length: 0 (the task's default) or a count of steps up to MAX_STEPS."""
    if value != 0 or isinstance(value, bool):
        check_count("task length", value, MAX_STEPS)


# How the fields that are no axis are checked (``opt``: by its optimizer, in __post_init__).
_OWN_CHECKS: dict[str, Callable[[object], None]] = {
    "data_seed": lambda v: check_seed("data seed", v),
    "display_step": lambda v: check_positive_int("display step", v),
    "base_width": lambda v: check_positive_int("base width", v),
    "length": lambda v: _check_length(v),
    "task_seed": lambda v: check_seed("task seed", v),
}


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
        param: ``"sp"`` (the seed's standard parametrization), ``"mup"`` (the maximal update
            parametrization: per-tensor init scales and learning rates, and a ``1/m`` readout
            multiplier, with ``m = hidden / base_width``; :mod:`lstm_sweep.training.param`) or
            ``"mup-opt"`` (``mup`` with the optimizer's constants, Adam's and RMSProp's ε and
            RMSProp's and Adagrad's initial accumulators, scaled per tensor as its gradients).
        base_width: the width at which ``mup`` and ``mup-opt`` equal ``sp`` (only they read it:
            an ``sp`` trial holds :data:`DEFAULT_BASE_WIDTH`, so the same ``sp`` trial has one
            key).
        readout: the head's initial weights: ``"normal"`` (the seed's N(0, 1)) or ``"zero"``
            (μP's zero-readout option; its bias stays the seed's N(0, 1)).

    Raises:
        ConfigError: a field of the wrong kind or out of range, named (``hidden size must be a
            positive integer, got '16'``).
    """

    hidden: int = axis_field("hidden")
    lr: float = axis_field("lr")
    seed: int = axis_field("seed")
    data_seed: int | None = None
    steps: int = axis_field("steps")
    batch_size: int = axis_field("batch_size")
    display_step: int = SEED_DISPLAY_STEP
    init: str = axis_field("init")
    precision: str = axis_field("precision")
    dataset: str = axis_field("dataset")
    cell: str = axis_field("cell")
    optimizer: str = axis_field("optimizer")
    opt: tuple[tuple[str, float], ...] = ()
    param: str = axis_field("param")
    base_width: int = DEFAULT_BASE_WIDTH
    readout: str = axis_field("readout")
    task: str = axis_field("task")
    length: int = 0
    task_seed: int = 0
    task_id: str = ""
    task_metric: str = ""
    task_chance: float | None = None

    def __post_init__(self) -> None:
        if self.data_seed is None:
            object.__setattr__(self, "data_seed", self.seed)
        for f in fields(self):  # in order: of several bad fields, the first is named
            value = getattr(self, f.name)
            if f.name in AXIS:
                AXIS[f.name].check(value)
                if AXIS[f.name].type is float:  # lr=1 is lr=1.0 (one trial, one key)
                    object.__setattr__(self, f.name, float(value))
            elif f.name == "opt":  # settings of the optimizer (checked above), TF's defaults left out
                object.__setattr__(self, "opt", optimizer_settings(self.optimizer, value))
            elif f.name in _OWN_CHECKS:  # (a subclass's own fields are its own to check)
                _OWN_CHECKS[f.name](value)
        self._settle_task()
        if self.param == "sp":  # sp does not read it: one sp trial, one key
            object.__setattr__(self, "base_width", DEFAULT_BASE_WIDTH)
        if self.init != "tf" and (self.param, self.readout) != ("sp", "normal"):
            raise ConfigError(
                f"param {self.param} with readout {self.readout} rescales TF's "
                f"initialisation: it needs init tf, not {self.init}"
            )

    def _settle_task(self) -> None:
        """The task's fields as one trial of it holds them: a built-in task's length (its
        default where none is given; 0 where the task fixes it), its seed (0 where it reads
        none), no user-task identity; a generated task's dataset is ``generated``. A task of
        the user's own keeps what its loader (:func:`lstm_sweep.data.load_user_task`) found
        (``task_id``, ``task_metric``, ``task_chance``, ``length``); its data is generated too."""
        info = TASKS.get(self.task)
        if info is None:  # a user's task: its loader fills these
            if self.task_metric not in METRICS:
                raise ConfigError(
                    f"task {self.task}: task_metric must be one of {', '.join(METRICS)} "
                    f"(the task's metric), got {show(self.task_metric)}"
                )
            if self.task_chance is not None and (
                isinstance(self.task_chance, bool)
                or not isinstance(self.task_chance, (int, float))
                or not math.isfinite(self.task_chance)
            ):
                raise ConfigError(
                    f"task_chance must be a finite number or None, got {show(self.task_chance)}"
                )
            if not isinstance(self.task_id, str) or len(self.task_id) > 200:
                raise ConfigError(f"task_id must be text of at most 200 characters, got {show(self.task_id)}")
            if self.task_chance is not None:
                object.__setattr__(self, "task_chance", float(self.task_chance))
            object.__setattr__(self, "dataset", GENERATED)
            return
        length = info.default_length and (self.length or info.default_length)
        object.__setattr__(self, "length", length)
        object.__setattr__(self, "task_seed", self.task_seed if info.seeded else 0)
        for name, empty in (("task_id", ""), ("task_metric", ""), ("task_chance", None)):
            object.__setattr__(self, name, empty)
        if info.source == "generated":
            object.__setattr__(self, "dataset", GENERATED)

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
            raise ConfigError(f"a trial configuration must be a mapping of its fields, got {show(d)}")
        names = [f.name for f in fields(cls)]
        unknown = [k for k in d if k not in names]
        if unknown:
            raise ConfigError(
                f"a trial configuration has no field {show(unknown[0])}; its fields: {', '.join(names)}"
            )
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
        prefix = "" if self.task == "rows" else f"{self.task} "
        if (self.cell, self.optimizer) != ("lstm", "adam"):
            prefix += f"{self.cell} {self.optimizer} "
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


_TRIAL_FIELDS = tuple(f.name for f in fields(TrialConfig))
assert set(AXIS) <= set(_TRIAL_FIELDS), (
    f"declared axes without a TrialConfig field: {sorted(set(AXIS) - set(_TRIAL_FIELDS))}"
)
