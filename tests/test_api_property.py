"""Property: the Python API's boundary. Whatever a caller passes to a public function or class,
it returns something sound or raises an LstmSweepError subclass naming what is wrong (never a raw
TypeError, ValueError or AttributeError), and it accepts no nonsense silently (a bool where an
int is wanted, NaN, a string where a list is wanted, a setting given twice).

Hypothesis generates the hostile values: every kind of scalar (huge, negative, NaN, -0.0, bools),
text with control characters, bytes, nested lists, mappings, sets, Ellipsis, objects, lists
nested 200 deep; each is put, one at a time, into one parameter of an otherwise valid call.
Valid configurations are generated too, to prove that they still work and keep their keys.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import inspect
import json
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lstm_sweep
import lstm_sweep.reporting
import lstm_sweep.running
from helpers import cli, examples
from lstm_sweep.errors import ConfigError, LstmSweepError
from lstm_sweep.running.executors import EXECUTORS, OPTIONS, make_executor
from lstm_sweep.study import (
    CELLS,
    GRID_ALIASES,
    GRID_AXES,
    INITS,
    MAX_NAME,
    OPTIMIZERS,
    PRECISIONS,
    PRESETS,
    TRIAL_AXES,
    Grid,
    TrialConfig,
    optimizer_settings,
    preset,
    steps_for_training_iters,
)
from lstm_sweep.study.results import CurvePoint, Status, TrialResult
from lstm_sweep.training.engines import ENGINE_CHOICES, ENGINES, choose_engine, make_engine

SOME = settings(max_examples=examples(150))

# ------------------------------------------------------------------------------ hostile values

HOSTILE_TEXT = [
    "",
    " ",
    "\x00",
    "a\nb",
    "\t",
    "\x1b[31m",
    "momentum=0.9",
    "16",
    "0.1",
    "-1",
    "nan",
    "inf",
    "HW2",
    " hw2",
    "hw2 ",
    "adam",
    "lstm",
    "tf",
    "fp32",
    "auto",
    "cuda",
    "hidden",
    "lr",
    "lrs",
    "😀",
    "x" * (MAX_NAME + 1),
    "[bold]",
]
TEXT = st.sampled_from(HOSTILE_TEXT) | st.text(max_size=8)
ATOMS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(-(2**70), 2**70),
    st.sampled_from(
        [
            0,
            -1,
            2**63,
            2**64,
            10**400,
            -0.0,
            0.0,
            1.5,
            -1.5,
            math.nan,
            math.inf,
            -math.inf,
            1e-320,
            1e308,
            ...,
            NotImplemented,
            1j,
        ]
    ),
    st.floats(),
    TEXT,
    st.binary(max_size=4),
    st.builds(object),
)
JUNK = st.recursive(
    ATOMS,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.tuples(inner, inner)
        | st.dictionaries(TEXT, inner, max_size=2)
        | st.frozensets(st.integers(), max_size=3)
    ),
    max_leaves=6,
)


def _deep(n: int) -> list:
    out: list = [1]
    for _ in range(n):
        out = [out]
    return out


JUNK = JUNK | st.integers(1, 200).map(_deep) | st.builds(iter, st.lists(st.integers(), max_size=3))


def _is_int(x: object) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


# ------------------------------------------------------------------------- what sound means


def assert_sound_config(c: TrialConfig) -> None:
    """A TrialConfig holds only what a trial can be: exact kinds, finite numbers, known names."""
    for name in ("hidden", "seed", "data_seed", "steps", "batch_size", "display_step"):
        assert _is_int(getattr(c, name)), (name, c)
    assert min(c.hidden, c.steps, c.batch_size, c.display_step) >= 1 and min(c.seed, c.data_seed) >= 0
    assert type(c.lr) is float and math.isfinite(c.lr) and c.lr > 0
    assert c.init in INITS and c.precision in PRECISIONS and c.cell in CELLS
    assert c.optimizer in OPTIMIZERS and isinstance(c.dataset, str)
    assert c.dataset.splitlines() == [c.dataset] and "\t" not in c.dataset  # one line, shown as is
    assert isinstance(c.opt, tuple) and all(
        isinstance(k, str) and k in OPTIMIZERS[c.optimizer] and type(v) is float and math.isfinite(v)
        for k, v in c.opt
    )
    again = TrialConfig.from_dict(json.loads(json.dumps(c.to_dict())))
    assert again == c and again.key() == c.key()


def assert_sound_grid(g: Grid) -> None:
    for axis in GRID_AXES:
        values = getattr(g, axis.name)
        assert isinstance(values, tuple) and values and len(set(values)) == len(values)
        assert getattr(g, axis.alias) is values if axis.alias else True
    assert g.data_seed is None or _is_int(g.data_seed)
    assert _is_int(g.display_step) and isinstance(g.name, str)
    assert g.name.splitlines() == [g.name] and "\t" not in g.name
    assert all(isinstance(k, str) and type(v) is float for k, v in g.opt)
    if len(g) <= 64:
        for t in g.trials():
            assert_sound_config(t)


def assert_names(error: BaseException, *names: str) -> None:
    """The error is a ConfigError on one line that names one of ``names``."""
    assert isinstance(error, ConfigError), repr(error)
    message = str(error)
    assert "\n" not in message and len(message) < 400, message
    assert any(n in message for n in names), (names, message)


@contextlib.contextmanager
def refused_or_sound(*names: str):
    """The block either finishes (the caller then checks the result) or raises a ConfigError
    that names one of ``names``; any other exception fails the test."""
    try:
        yield
    except LstmSweepError as e:
        assert_names(e, *names)


# ------------------------------------------------------------------------------------ Grid

_AXIS = {a.name: a for a in TRIAL_AXES}
# Grid keyword -> words that its errors may name it by
GRID_WORDS = {a.name: (a.name, a.value_noun) for a in GRID_AXES}
GRID_WORDS.update({old: (old, *GRID_WORDS[new]) for old, new in GRID_ALIASES.items()})
GRID_WORDS.update(
    {
        "data_seed": ("data seed",),
        "display_step": ("display step",),
        "name": ("name",),
        "opt": ("setting", "opt"),
        "base_width": ("base width",),
    }
)
BASE_GRID = {"hidden": (16,), "lr": (0.1,)}


@SOME
@given(keyword=st.sampled_from([*GRID_WORDS, "foo", "hiddens", "learning_rate"]), value=JUNK)
def test_grid_refuses_any_hostile_field_by_name(keyword, value):
    kwargs = dict(BASE_GRID)
    if keyword in GRID_ALIASES:  # Grid(lrs=...) in place of Grid(lr=...)
        kwargs.pop(GRID_ALIASES[keyword], None)
    kwargs[keyword] = value
    with refused_or_sound(*GRID_WORDS.get(keyword, ("no field",))):
        assert_sound_grid(Grid(**kwargs))


@SOME
@given(
    values=st.fixed_dictionaries({}, optional={k: JUNK for k in GRID_WORDS}),
    positional=st.lists(JUNK, max_size=3),
)
def test_grid_refuses_junk_everywhere_at_once(values, positional):
    with refused_or_sound(
        *{w for words in GRID_WORDS.values() for w in words},
        "no field",
        "not both",
        "the grid needs",
        "trials",
    ):
        taken = [f.name for f in dataclasses.fields(Grid)][: len(positional)]
        kwargs = {k: v for k, v in values.items() if k not in taken}
        assert_sound_grid(Grid(*positional, **kwargs))


def test_grid_examples_from_the_issue():
    for bad, word in [
        ({"opt": "momentum=0.9"}, "opt"),
        ({"hidden": "16"}, "hidden size"),
        ({"lrs": None}, "lrs"),
        ({"seeds": [[1]]}, "seeds"),
        ({"cells": 5}, "cell"),
        ({"optimizers": {"adam": 1}}, "optimizers"),
        ({"name": None}, "name"),
        ({"name": 5}, "name"),
        ({"name": ""}, "name"),
        ({"name": "a\x1bb"}, "name"),
        ({"steps": True}, "steps"),
        ({"batch_size": 1.5}, "batch size"),
        ({"init": ["tf", 3]}, "init"),
        ({"precision": ...}, "precision"),
        ({"data_seed": -1}, "data seed"),
        ({"display_step": 0}, "display step"),
        ({"lr": -0.0}, "learning rate"),
        ({"lr": math.nan}, "learning rate"),
        ({"data_seed": True}, "data seed"),
        ({"hidden": 10**5000}, "hidden size"),
        ({"lr": 10**5000}, "learning rate"),
        ({"opt": {"beta1": 10**5000}}, "beta1"),
    ]:
        kwargs = {**BASE_GRID, **bad}
        if "lrs" in bad:
            del kwargs["lr"]
        with pytest.raises(ConfigError) as e:
            Grid(**kwargs)
        assert_names(e.value, word)
    with pytest.raises(ConfigError, match="the grid needs hidden"):
        Grid(lr=0.1)
    with pytest.raises(ConfigError, match="the grid needs lr"):
        Grid(hidden=16)
    with pytest.raises(ConfigError, match="give lr or its old name lrs, not both"):
        Grid(hidden=16, lr=0.1, lrs=0.2)
    with pytest.raises(ConfigError, match="no field 'hiden'"):
        Grid(hidden=16, lr=0.1, hiden=32)


# ---------------------------------------------------------------------- settings given twice


SETTING = st.sampled_from(sorted({(o, s) for o, settings_ in OPTIMIZERS.items() for s in settings_}))


@SOME
@given(
    setting=SETTING,
    first=st.floats(0.0, 0.5),
    second=st.floats(0.5, 0.9),
    form=st.sampled_from([list, tuple]),
)
def test_a_setting_given_twice_is_refused_by_name(setting, first, second, form):
    optimizer, name = setting
    pairs = form([form((name, first)), form((name, second))])
    with pytest.raises(ConfigError, match=f"'{name}' is given twice"):
        optimizer_settings(optimizer, pairs)
    with pytest.raises(ConfigError, match=f"'{name}' is given twice"):
        Grid(hidden=16, lr=0.1, optimizer=optimizer, opt=pairs)


def test_the_cli_refuses_an_opt_given_twice(tmp_path):
    o = cli(
        "plan",
        "--optimizer",
        "momentum",
        "--opt",
        "momentum=0.99",
        "--opt",
        "momentum=0.5",
        "--device",
        "cpu",
        "--db",
        tmp_path / "x.db",
    )
    line = o.error_line()  # refused when the options are read, or by the grid
    assert "momentum" in line and "given" in line and "(0.99 and 0.5)" in line
    assert not (tmp_path / "x.db").exists()


@SOME
@given(
    optimizer=st.sampled_from(list(OPTIMIZERS)) | JUNK,
    opt=JUNK
    | st.dictionaries(st.sampled_from(["momentum", "beta1", "nesterov", "epsilon"]) | TEXT, JUNK, max_size=3)
    | st.lists(st.tuples(st.sampled_from(["momentum", "decay"]), JUNK), max_size=3),
)
def test_optimizer_settings_refuses_junk(optimizer, opt):
    with refused_or_sound("optimizer", "setting"):
        out = optimizer_settings(optimizer, opt)
        assert isinstance(out, tuple) and list(out) == sorted(out)
        assert all(
            k in OPTIMIZERS[optimizer] and type(v) is float and v != OPTIMIZERS[optimizer][k] for k, v in out
        )


def test_optimizer_setting_values_must_be_numbers_in_range():
    for value in ["0.9", True, None, math.nan, math.inf, -0.1, 1.0, 10**400, [0.5]]:
        with pytest.raises(ConfigError, match="momentum setting momentum"):
            optimizer_settings("momentum", {"momentum": value})
    assert optimizer_settings("momentum", {"nesterov": True}) == (("nesterov", 1.0),)  # a flag
    assert optimizer_settings("momentum", [["momentum", 0.5]]) == (("momentum", 0.5),)  # JSON


# ----------------------------------------------------------------------------- TrialConfig

TRIAL_WORDS = {
    "hidden": ("hidden",),
    "lr": ("learning rate",),
    "seed": ("seed",),
    "data_seed": ("data seed",),
    "steps": ("steps",),
    "batch_size": ("batch size",),
    "display_step": ("display step",),
    "init": ("init",),
    "precision": ("precision",),
    "dataset": ("dataset",),
    "cell": ("cell",),
    "optimizer": ("optimizer",),
    "opt": ("setting",),
    "param": ("parametrization",),
    "base_width": ("base width",),
    "readout": ("readout init",),
    "task": ("task",),
    "length": ("task length",),
    "task_seed": ("task seed",),
    "task_id": ("task_id",),
    "task_metric": ("task_metric",),
    "task_chance": ("task_chance",),
}


def test_every_field_has_its_words():
    assert set(TRIAL_WORDS) == {f.name for f in dataclasses.fields(TrialConfig)}


@SOME
@given(field=st.sampled_from(list(TRIAL_WORDS)), value=JUNK)
def test_trial_config_refuses_any_hostile_field_by_name(field, value):
    with refused_or_sound(*TRIAL_WORDS[field]):
        assert_sound_config(TrialConfig(**{"hidden": 16, "lr": 0.1, field: value}))


VALID = st.builds(
    TrialConfig,
    hidden=st.integers(1, 2**20),
    lr=st.floats(1e-9, 1e3),
    seed=st.integers(0, 2**63 - 1),
    data_seed=st.none() | st.integers(0, 2**63 - 1),
    steps=st.integers(1, 10**9),
    batch_size=st.integers(1, 2**31 - 1),
    display_step=st.integers(1, 10**9),
    init=st.sampled_from(INITS),
    precision=st.sampled_from(PRECISIONS),
    dataset=st.sampled_from(["mnist", "fashion-mnist", "my data 7f3a"]),
    cell=st.sampled_from(CELLS),
    optimizer=st.just("momentum"),
    opt=st.dictionaries(
        st.sampled_from(["momentum", "nesterov"]), st.sampled_from([0.0, 1.0, 0.5, 0.9, 0.99])
    ).filter(lambda d: d.get("momentum", 0) < 1 and d.get("nesterov", 0) in (0, 1)),
) | st.builds(
    TrialConfig,
    hidden=st.integers(1, 4096),
    lr=st.floats(1e-6, 10),
    optimizer=st.sampled_from(list(OPTIMIZERS)),
)


@SOME
@given(config=VALID)
def test_valid_configs_round_trip_with_their_keys(config):
    assert TrialConfig.from_dict(config.to_dict()) == config
    assert TrialConfig.from_dict(config.to_dict()).key() == config.key()
    assert_sound_config(config)  # also through JSON, as the store reads it


@SOME
@given(
    config=VALID,
    change=st.sampled_from(["drop", "replace", "add"]),
    field=st.sampled_from(list(TRIAL_WORDS)),
    extra=TEXT,
    value=JUNK,
)
def test_from_dict_refuses_junk(config, change, field, extra, value):
    d = config.to_dict()
    words = TRIAL_WORDS[field]
    if change == "drop":
        del d[field]
        words = ("needs", "setting")  # hidden or lr; or opt's settings that adam lacks
    elif change == "replace":
        d[field] = value
    else:
        d[extra] = value
        words = (*TRIAL_WORDS.get(extra, ("no field",)),)
    with refused_or_sound(*words):
        assert_sound_config(TrialConfig.from_dict(d))


@SOME
@given(d=JUNK)
def test_from_dict_refuses_anything_but_a_mapping_of_fields(d):
    with refused_or_sound("mapping", "no field", "needs"):
        assert_sound_config(TrialConfig.from_dict(d))


def test_from_dict_examples():
    for d, message in [
        ({}, "needs hidden and lr"),
        ({"hidden": 16}, "needs lr"),
        ({"lr": 0.1}, "needs hidden"),
        ([("hidden", 16)], "must be a mapping"),
        ({"hidden": 16, "lr": 0.1, "width": 3}, "no field 'width'"),
        ({"hidden": _deep(5000), "lr": 0.1}, "hidden size must be"),
    ]:
        with pytest.raises(ConfigError, match=message):
            TrialConfig.from_dict(d)


# ------------------------------------------------------------------------- names and aliases


def test_the_axes_are_declared_once_and_name_trial_fields():
    trial_fields = {f.name for f in dataclasses.fields(TrialConfig)}
    grid_fields = [f.name for f in dataclasses.fields(Grid)]
    assert {a.name for a in TRIAL_AXES} <= trial_fields
    assert {a.name for a in GRID_AXES} == {n for n in grid_fields if n in _AXIS}
    assert GRID_ALIASES == {"lrs": "lr", "seeds": "seed", "cells": "cell", "optimizers": "optimizer"}
    assert [a.name for a in TRIAL_AXES if a.in_grid and not a.replicates] == [
        "hidden",
        "lr",
        "cell",
        "optimizer",
        "batch_size",
        "steps",
        "init",
        "param",
        "readout",
        "precision",
        "task",
    ]


AXIS_VALUES = {
    "hidden": st.sampled_from([8, 16, 32]),
    "lr": st.sampled_from([1e-3, 0.1, 1]),
    "seed": st.sampled_from([0, 1, 7]),
    "cell": st.sampled_from(CELLS),
    "optimizer": st.sampled_from(list(OPTIMIZERS)),
    "init": st.sampled_from(INITS),
    "precision": st.sampled_from(PRECISIONS),
    "batch_size": st.sampled_from([50, 100]),
    "steps": st.sampled_from([5, 999]),
}


@SOME
@given(
    values=st.fixed_dictionaries(
        {a: st.lists(s, min_size=1, max_size=2, unique=True) for a, s in AXIS_VALUES.items()}
    ),
    old=st.sets(st.sampled_from(sorted(GRID_ALIASES))),
)
def test_old_names_make_the_same_grid_with_the_same_keys(values, old):
    old_of = {name: alias for alias, name in GRID_ALIASES.items()}
    new = Grid(**values)
    by_old = Grid(**{old_of[k] if old_of.get(k) in old else k: v for k, v in values.items()})
    assert by_old == new and [t.key() for t in by_old.trials()] == [t.key() for t in new.trials()]
    for alias, name in GRID_ALIASES.items():
        assert getattr(new, alias) == getattr(new, name)
    assert dataclasses.replace(new, precision=("fp32",)).precision == ("fp32",)
    assert set(new.varied_axes) == {k for k, v in values.items() if len(v) > 1}
    assert set(new.varied) == {old_of.get(a, a) for a in new.varied_axes}
    assert len(new) == len(new.trials()) == math.prod(len(v) for v in values.values())
    for t in new.trials():
        assert_sound_config(t)


def test_keys_and_order_of_a_grid_are_unchanged():
    grid = Grid(hidden=16, lrs=1e-3, steps=30)
    assert grid.trials()[0].key() == "445f36ee6d6f1d077a4dbc1e65a7d836"  # as stored by 0.1.0
    two = Grid((16, 32), (1e-3, 1e-2), (0, 1), cells=("lstm", "gru"))  # positionally, as before
    assert [(t.cell, t.hidden, t.lr, t.seed) for t in two.trials()][:5] == [
        ("lstm", 16, 1e-3, 0),
        ("lstm", 16, 1e-3, 1),
        ("lstm", 16, 1e-2, 0),
        ("lstm", 16, 1e-2, 1),
        ("lstm", 32, 1e-3, 0),
    ]
    assert PRESETS["hw2"].lrs == PRESETS["hw2"].lr and len(PRESETS["hw2"]) == 54


# ------------------------------------------------------------------------------ the presets


@SOME
@given(name=JUNK | st.sampled_from([*PRESETS, "HW2", " hw2", "Quick", "cells "]))
def test_preset_refuses_anything_but_a_presets_name(name):
    if isinstance(name, str) and name.strip().lower() in PRESETS:  # in any case, as datasets
        assert preset(name) is PRESETS[name.strip().lower()]
        return
    with pytest.raises(ConfigError, match="unknown preset") as e:
        preset(name)
    assert_names(e.value, "preset")


# ------------------------------------------------------------------------ results, statuses


RESULT_FIELDS = [f.name for f in dataclasses.fields(TrialResult)]


@SOME
@given(field=st.sampled_from(RESULT_FIELDS), value=JUNK)
def test_trial_result_refuses_junk_by_name(field, value):
    kwargs = {"config": TrialConfig(hidden=8, lr=0.1), "status": Status.DONE, field: value}
    with refused_or_sound(field, "status"):
        r = TrialResult(**kwargs)
        assert isinstance(r.status, Status) and isinstance(r.curve, tuple)


@SOME
@given(value=JUNK | st.sampled_from([s.value for s in Status]))
def test_status_and_curve_points_refuse_junk(value):
    with refused_or_sound("status"):
        assert isinstance(Status(value), Status)
    for args in [(value, 1.0, 0.5), (1, value, 0.5), (1, 1.0, value)]:
        with refused_or_sound("step", "loss", "accuracy"):
            CurvePoint(*args)


@SOME
@given(iters=JUNK | st.integers(1, 10**6), batch=JUNK | st.integers(1, 1000))
def test_steps_for_training_iters(iters, batch):
    with refused_or_sound("training iters", "batch size"):
        assert steps_for_training_iters(iters, batch) >= 0


# ------------------------------------------------------------------- engines and executors

CONFIG = TrialConfig(hidden=8, lr=0.1)


@SOME
@given(
    config=JUNK | st.just(CONFIG) | st.just(TrialConfig(hidden=8, lr=0.1, init="pytorch")),
    engine=JUNK | st.sampled_from(ENGINE_CHOICES),
    device_type=JUNK | st.sampled_from(["cpu", "cuda", "mps"]),
)
def test_choose_engine_refuses_junk(config, engine, device_type):
    with refused_or_sound("engine", "TrialConfig", "device type", "init=tf"):
        assert choose_engine(config, engine, device_type) in ENGINES


@SOME
@given(
    name=JUNK | st.sampled_from(list(ENGINES)),
    configs=JUNK | st.lists(st.just(CONFIG) | JUNK, max_size=3),
    device=JUNK,
)
def test_make_engine_refuses_junk(name, configs, device):
    # never a torch.device: nothing is built, and every call must be refused
    with pytest.raises(ConfigError) as e:
        make_engine(name, configs, device)
    assert_names(e.value, "engine", "trials", "TrialConfig", "torch.device", "init=")


@SOME
@given(
    name=JUNK | st.sampled_from(list(EXECUTORS)),
    options=st.dictionaries(
        st.sampled_from([*OPTIONS, "threads", "address"]) | TEXT,
        JUNK | st.none() | st.integers(1, 8),
        max_size=3,
    ),
)
def test_make_executor_refuses_junk(name, options):
    with refused_or_sound("executor", "option", "workers", "ray address", "Ray"):
        assert callable(make_executor(name, **options).run)


# ------------------------------------ the broad net over lstm_sweep.__all__ and its moved names

# Those that train, read or write files or folders, or start a sweep are left out.
NOT_CALLED = {
    "check_folder",
    "check_store",
    "check_target",
    "load_dataset",
    "load_mnist",
    "load_results",
    "output_folder",
    "run_sweep",
    "run_trial",
    "save_figure",
    "write_output",
    "Store",
    "plot_figures",
    "execute",
    "sweep_request",
}
# Functions of other layers that still let a raw exception out (see the report); each is
# expected to fail this test until it is fixed there, not strictly, so that the suite stays green.
KNOWN_RAW: dict[str, str] = {}  # name -> why it is expected to fail (none left)
STUDY = {"Grid", "TrialConfig", "Status", "TrialResult", "preset"}


def _public(name: str):
    """A name of the public API, or one that lstm-sweep 0.x exported and that now lives in a
    layer's package (the net keeps casting over those too)."""
    import importlib

    home = lstm_sweep._MOVED.get(name)
    return getattr(importlib.import_module(home) if home else lstm_sweep, name)


def _net_targets() -> list:
    out = []
    for name in [*lstm_sweep.__all__, *sorted(lstm_sweep._MOVED)]:
        obj = _public(name)
        if (
            not callable(obj)
            or name in NOT_CALLED
            or (isinstance(obj, type) and issubclass(obj, BaseException))
        ):
            continue
        marks = (
            [pytest.mark.xfail(strict=False, reason=f"{name}: {KNOWN_RAW[name]}")]
            if name in KNOWN_RAW
            else []
        )
        out.append(pytest.param(name, marks=marks, id=name))
    return out


@st.composite
def junk_call(draw, func):
    """Junk for every parameter ``func`` must have, and for some it may have."""
    if isinstance(func, type) and issubclass(func, enum.Enum):  # Status(value); not Enum's API
        return [draw(JUNK)], {}  # for making new enums
    args, kwargs = [], {}
    positional = True  # while every parameter so far was given by position
    for p in inspect.signature(func).parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        if p.default is not p.empty and draw(st.booleans()):
            positional = False  # left at its default
            continue
        positional = positional and p.kind is not p.KEYWORD_ONLY and draw(st.booleans())
        if positional:
            args.append(draw(JUNK))
        else:
            kwargs[p.name] = draw(JUNK)
    return args, kwargs


@pytest.mark.parametrize("name", _net_targets())
def test_every_public_callable_returns_or_raises_its_errors(name, tmp_path):
    func = _public(name)

    @settings(max_examples=examples(60 if name in STUDY else 30), suppress_health_check=list(HealthCheck))
    @given(call=junk_call(func))
    def check(call):
        args, kwargs = call
        try:
            func(*args, **kwargs)
        except LstmSweepError:
            pass

    with contextlib.chdir(tmp_path):  # a junk path names nothing outside the test's folder
        check()


# ---------------------------------------------------- the new features, one argument at a time
#
# The net above passes junk for every parameter at once, so a call is refused by its first
# argument and the others are never reached (plan_search(junk, rungs=5) is refused for its
# request). Here each public function and record of search, the coordinate check and lr_range
# gets a valid call with ONE argument replaced by junk: it returns something its users can use
# (rendered, judged, drawn) or raises an LstmSweepError; never a raw TypeError, ValueError,
# AttributeError or OverflowError, and never after the work has started.

EDGE_NUMBERS = st.sampled_from(
    [10**400, -(10**400), 2**63, 1e308, 1e-320, math.inf, -math.inf, math.nan, 0, -1, 0.5, 1, 2, True, 1.5, 5]
)
ONE_JUNK = JUNK | EDGE_NUMBERS


def _one_junk_each(func, valid: dict, use=lambda result: None, names=None):
    """A Hypothesis test: ``func(**valid)`` with one argument (of ``names``, all by default)
    replaced by junk; whatever it returns is passed to ``use``."""

    @settings(max_examples=examples(40), suppress_health_check=list(HealthCheck))
    @given(name=st.sampled_from(sorted(names or valid)), value=ONE_JUNK)
    def check(name, value):
        try:
            result = func(**{**valid, name: value})
        except LstmSweepError as e:
            assert "\n" not in str(e) and len(str(e)) < 500, str(e)
            return
        try:
            use(result)
        except LstmSweepError:
            pass

    return check


def _coord_points(widths=(16, 32), steps=2, params=("sp", "mup")):
    from lstm_sweep.study.coords import QUANTITY_NAMES, CoordPoint

    return [
        CoordPoint(p, w, s, q, 1.0 + w / 100, s * 0.1)
        for p in params
        for w in widths
        for s in range(steps + 1)
        for q in QUANTITY_NAMES
    ]


def test_lr_range_takes_junk_and_edges():
    texts = (
        st.builds("{}:{}:{}".format, EDGE_NUMBERS, EDGE_NUMBERS, EDGE_NUMBERS)
        | st.builds("{}:{}".format, EDGE_NUMBERS, EDGE_NUMBERS)
        | TEXT
    )

    def use(values):
        assert isinstance(values, tuple) and 1 <= len(values) <= 1000
        assert all(type(v) is float and math.isfinite(v) and v > 0 for v in values)

    _one_junk_each(lstm_sweep.lr_range, {"text": "1e-3"}, use)()

    @settings(max_examples=examples(200))
    @given(text=texts)
    def edges(text):
        with contextlib.suppress(ConfigError):
            use(lstm_sweep.lr_range(text))

    edges()


def test_coord_point_and_verdict_records_check_their_fields():
    from lstm_sweep.study.coords import CoordPoint

    valid = {"param": "mup", "width": 16, "step": 1, "quantity": "h", "value": 1.0, "change": 0.1}

    def use_point(p):
        assert isinstance(p.width, int) and isinstance(p.value, float) and p.quantity
        lstm_sweep.verdicts([p, *_coord_points()])

    _one_junk_each(CoordPoint, valid, use_point)()
    (verdict,) = lstm_sweep.verdicts(_coord_points(params=("mup",)))
    _one_junk_each(lstm_sweep.Verdict, dataclasses.asdict(verdict), lambda v: v.text)()


def test_verdicts_and_renderers_take_one_junk_argument():
    points = _coord_points()

    def use_verdicts(vs):
        for v in vs:
            assert isinstance(v.flat, bool) and "nan" not in v.text
            assert f"steps 1-{v.steps}" not in v.text or v.steps <= 2

    _one_junk_each(
        lstm_sweep.verdicts, {"points": points, "tolerance": 1.2, "span": 8, "steps": None}, use_verdicts
    )()
    _one_junk_each(lstm_sweep.render_coord_table, {"points": points}, str)()
    _one_junk_each(lstm_sweep.reporting.render_coord_csv, {"points": points}, str)()


def test_plot_coord_check_takes_one_junk_argument():
    import matplotlib.pyplot as plt

    _one_junk_each(
        lstm_sweep.plot_coord_check, {"points": _coord_points(), "param": "mup", "title": "t"}, plt.close
    )()


def test_coord_check_checks_every_argument_before_any_work(mnist, monkeypatch):
    from lstm_sweep.running import coordcheck

    measured = []
    real = coordcheck._measure

    def measure(configs, *rest):  # counts the widths measured (the work)
        measured.append(configs[0].hidden)
        return real(configs, *rest)

    monkeypatch.setattr(coordcheck, "_measure", measure)
    valid = {
        "data": mnist,
        "widths": (8, 16),
        "params": ("mup",),
        "seeds": (0,),
        "steps": 1,
        "batch_size": 4,
        "device": "cpu",
        "on_done": None,
        "cell": "lstm",
        "optimizer": "adam",
        "lr": None,
        "base_width": 8,
        "readout": "normal",
    }

    def check(name, value):
        measured.clear()
        try:
            points = coordcheck.coord_check(**{**valid, name: value})
        except LstmSweepError:
            assert measured == [] or name == "lr", (name, value, measured)  # refused up front
            return
        lstm_sweep.render_coord_table(points)

    @settings(max_examples=examples(60), suppress_health_check=list(HealthCheck))
    @given(name=st.sampled_from(sorted(valid)), value=ONE_JUNK)
    def junk(name, value):
        check(name, value)

    junk()
    check("on_done", 5)  # the issue's: refused before the first width, not after it


@pytest.fixture(scope="module")
def search_request(tmp_path_factory):
    from lstm_sweep import sweep_request

    path = tmp_path_factory.mktemp("search") / "s.db"
    return sweep_request(
        Grid(hidden=(8, 16), lr=(1e-3, 1e-2, 1e-1), steps=(30,)), path, device="cpu", workers=1
    )


@pytest.mark.slow
def test_plan_search_takes_one_junk_argument(search_request):
    valid = {"request": search_request, "eta": 3, "rungs": None, "window": 10.0, "refresh": False}

    def use(plan):
        plan.render()
        assert plan.window is None or math.isfinite(plan.window)

    _one_junk_each(lstm_sweep.plan_search, valid, use)()
    for bad in ({"rungs": 5}, {"window": 10**400}, {"rungs": "5"}, {"window": math.inf}):
        with pytest.raises(ConfigError):
            lstm_sweep.plan_search(search_request, **bad)


def test_search_records_and_callbacks_check_their_fields(search_request):
    from lstm_sweep import SearchCallbacks, SearchPlan, SearchSummary, SweepCallbacks

    plan = lstm_sweep.plan_search(search_request)
    summary = SearchSummary([], 0.0, 1.0, 1.0, 1.0, 0, {})
    fields = {f.name: getattr(plan, f.name) for f in dataclasses.fields(SearchPlan)}
    _one_junk_each(
        SearchPlan, fields, lambda p: (p.render(), lstm_sweep.running.render_search_summary(p, summary))
    )()
    fields = {f.name: getattr(summary, f.name) for f in dataclasses.fields(SearchSummary)}
    _one_junk_each(SearchSummary, fields, lambda s: lstm_sweep.running.render_search_summary(plan, s))()
    _one_junk_each(SearchCallbacks, {"sweep": SweepCallbacks(), "on_rung": None, "on_row": None})()
    _one_junk_each(lstm_sweep.running.render_search_summary, {"plan": plan, "summary": summary}, str)()
    # run_search: a plan without data is refused after its arguments are checked (no training)
    _one_junk_each(lstm_sweep.run_search, {"plan": plan, "callbacks": None})()
    for bad in ({"on_rung": 5}, {"on_row": "x"}, {"sweep": 5}):
        with pytest.raises(ConfigError):
            SearchCallbacks(**bad)
    hooks = {f.name: None for f in dataclasses.fields(SweepCallbacks)}
    _one_junk_each(SweepCallbacks, hooks)()
    for name in hooks:
        with pytest.raises(ConfigError, match=f"SweepCallbacks.{name} must be a function"):
            SweepCallbacks(**{name: "print"})


def test_the_search_modules_helpers_take_one_junk_argument():
    from lstm_sweep.running.search import default_rungs, search_rows

    def use_rungs(rungs):
        assert isinstance(rungs, tuple) and rungs and all(_is_int(r) and r >= 1 for r in rungs)

    _one_junk_each(default_rungs, {"steps": 999, "eta": 3, "n": 3}, use_rungs)()
    _one_junk_each(
        search_rows,
        {"trials": Grid(hidden=(8,), lr=(0.1, 0.01)).trials()},
        lambda rows: [r.label() for r in rows],
    )()
