"""The axes are declared once (lstm_sweep.study.axes.TRIAL_AXES): TrialConfig, Grid, the reports'
axes and the CLI's options are made from that one declaration, so that a new axis is one entry
there and one TrialConfig field, and nothing else."""

from __future__ import annotations

import dataclasses
import inspect
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import lstm_sweep
from lstm_sweep.errors import ConfigError
from lstm_sweep.reporting.axes import AXES
from lstm_sweep.study import (
    AXIS,
    GRID_ALIASES,
    GRID_AXES,
    NESTING,
    TRIAL_AXES,
    Grid,
    TrialConfig,
    axis_options,
)

SRC = Path(lstm_sweep.__file__).parent


def test_every_axis_field_is_declared_once_and_found_everywhere():
    trial = {f.name: f for f in dataclasses.fields(TrialConfig)}
    marked = [name for name, f in trial.items() if "axis" in f.metadata]
    assert marked == [n for n in trial if n in AXIS]  # every axis field made by axis_field
    assert sorted(marked) == sorted(AXIS) and len(AXIS) == len(TRIAL_AXES)
    grid = {f.name: f for f in dataclasses.fields(Grid)}
    for axis in TRIAL_AXES:
        f = trial[axis.name]
        assert f.metadata["axis"] is axis
        assert f.type == axis.type.__name__  # `hidden: int`, `lr: float`, `cell: str`
        assert f.default == (dataclasses.MISSING if axis.name in ("hidden", "lr") else axis.default)
        if axis.in_grid:
            assert grid[axis.name].type == f"tuple[{axis.type.__name__}, ...]"
            assert grid[axis.name].metadata["axis"] is axis
        else:
            assert axis.name not in grid
        if axis.replicates:  # the seed: the statistic inside a cell, never a report's axis
            assert axis.name not in AXES
        else:
            shown = AXES[axis.name]
            assert (shown.title, shown.noun, shown.numeric, shown.order) == (
                axis.title,
                axis.noun,
                axis.numeric,
                axis.order,
            )
    assert set(NESTING) == {a.name for a in GRID_AXES} == {a.name for a in axis_options()}
    assert {a.name for a in axis_options(grid_only=False)} == set(AXIS)


def test_what_the_declaration_makes_is_what_earlier_releases_had():
    assert NESTING == (
        "task",
        "cell",
        "optimizer",
        "param",
        "readout",
        "init",
        "precision",
        "batch_size",
        "steps",
        "hidden",
        "lr",
        "seed",
    )
    assert [f.name for f in dataclasses.fields(Grid)] == [
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
        "task",
        "length",
        "task_seed",
    ]
    assert GRID_ALIASES == {
        "lrs": "lr",
        "seeds": "seed",
        "cells": "cell",
        "optimizers": "optimizer",
    }
    assert list(inspect.signature(Grid).parameters)[:3] == ["hidden", "lr", "seed"]
    defaults = Grid(hidden=16, lr=0.1)
    assert (defaults.seed, defaults.steps, defaults.batch_size, defaults.cell, defaults.param) == (
        (0,),
        (999,),
        (100,),
        ("lstm",),
        ("sp",),
    )
    assert TrialConfig(hidden=16, lr=1e-3, steps=30).key() == "445f36ee6d6f1d077a4dbc1e65a7d836"
    assert [a.flag for a in axis_options()] == [
        "--hidden",
        "--lr",
        "--seeds",
        "--cell",
        "--optimizer",
        "--batch-size",
        "--steps",
        "--init",
        "--param",
        "--readout",
        "--precision",
        "--task",
    ]
    assert AXIS["steps"].help_text == "Updates per trial, e.g. 300,999  [default: 999]"
    assert AXIS["optimizer"].help_text.endswith("rmsprop,adagrad  [default: adam]")
    assert "[default" not in AXIS["hidden"].help_text


@pytest.mark.parametrize(
    "name, text, values",
    [
        ("hidden", "16, 32", (16, 32)),
        ("lr", "1e-3,1e-4:1e-1:4", (1e-3, 1e-4, 1e-3, 1e-2, 1e-1)),
        ("seed", "0,7", (0, 7)),
        ("cell", "gru,rnn", ("gru", "rnn")),
        ("batch_size", "50", (50,)),
        ("precision", "bf16", ("bf16",)),
        ("dataset", "kmnist", ("kmnist",)),
    ],
)
def test_an_axis_reads_its_values_from_text(name, text, values):
    axis = AXIS[name]
    assert axis.parse(text) == values
    for v in values:
        axis.check(v)  # what is read is what a trial takes


@pytest.mark.parametrize(
    "name, text, message",
    [
        ("hidden", "x", "'x' is not a positive integer"),
        ("hidden", "0", "'0' is not a positive integer"),
        ("hidden", "2000000", "'2000000' is too large: at most 1,048,576"),
        ("hidden", "16,,32", "'16,,32' is not a comma-separated list of positive integers"),
        ("seed", "-1", "'-1' is not a non-negative integer"),
        ("lr", "0", "'0' is not a positive number"),
        ("lr", "1e-1:1e-4", "'1e-1:1e-4' is not a learning rate or range (range '1e-1:1e-4' runs downwards"),
        ("optimizer", "adamw", "'adamw' is not one of adam, sgd, momentum, rmsprop, adagrad"),
        ("readout", "", "'' is not a comma-separated list of readout inits"),
        ("dataset", "d" * 101, "is too long: at most 100 characters"),
    ],
)
def test_an_axis_refuses_text_saying_why(name, text, message):
    with pytest.raises(ConfigError) as e:
        AXIS[name].parse(text)
    assert message in str(e.value)


def test_grid_errors_name_the_argument_not_a_flag():
    with pytest.raises(ConfigError, match="hidden is given twice"):
        Grid((16,), hidden=(32,), lr=0.1)
    with pytest.raises(ConfigError, match="give lr or its old name lrs, not both"):
        Grid(16, 0.1, lrs=0.1)
    with pytest.raises(ConfigError, match="give lr or its old name lrs, not both"):
        Grid(hidden=16, lrs=0.1, lr=0.1)
    with pytest.raises(ConfigError, match="at most 19 values by position"):
        Grid(*range(20))
    with pytest.raises(ConfigError, match=r"at most 100,000 are allowed") as e:
        Grid(hidden=range(1, 401), lr=[10.0**-k for k in range(1, 301)])
    assert "--" not in str(e.value)


# A toy axis, added the way the next issues add theirs: one entry in the declaration, one field.
_ENTRY = """
    TrialAxis("variant", choice(("digits", "parity")), "variant", "variant", "variant",
              default="digits", nesting=3, alias="variants", help="Variants, e.g. digits,parity"),
"""
_FIELD = '    variant: str = axis_field("variant")\n'
_CHECK = """
import dataclasses, inspect
import lstm_sweep
from lstm_sweep import ConfigError
from lstm_sweep.reporting.axes import AXES, facet, select
from lstm_sweep.study import AXIS, Grid, TrialConfig, axis_options
from lstm_sweep.study.results import Status, TrialResult

g = Grid(hidden=16, lr=0.1, variants=("digits", "parity"))
assert g.variant is g.variants == ("digits", "parity") and len(g) == 2 and g.varied_axes == ("variant",)
assert [t.variant for t in Grid(hidden=(16, 32), lr=0.1, variant=("parity", "digits")).trials()] == [
    "parity", "parity", "digits", "digits"]  # the outermost axis (nesting 3)
assert Grid(hidden=16, lr=0.1).variant == ("digits",)
assert "variant" in [f.name for f in dataclasses.fields(Grid)]
assert "variant" in inspect.signature(Grid).parameters
for bad, says in [(dict(variant="chess"), "variant must be one of digits, parity; got 'chess'"),
                  (dict(variant=()), "the grid needs at least one value for variant"),
                  (dict(variant="digits", variants="parity"), "give variant or its old name variants")]:
    try:
        Grid(hidden=16, lr=0.1, **bad)
    except ConfigError as e:
        assert says in str(e), e
    else:
        raise AssertionError(bad)
# a trial stored before the axis keeps its key; another variant is another trial
assert TrialConfig(hidden=16, lr=1e-3, steps=30).key() == "445f36ee6d6f1d077a4dbc1e65a7d836"
assert TrialConfig(hidden=16, lr=1e-3, steps=30, variant="parity").key() != \\
    "445f36ee6d6f1d077a4dbc1e65a7d836"
try:
    TrialConfig(hidden=16, lr=0.1, variant=3)
except ConfigError as e:
    assert "variant must be one of" in str(e)
else:
    raise AssertionError("variant=3 taken")
# the reports know it: an axis, a facet field, a --where condition
assert AXES["variant"].order == ("digits", "parity") and AXES["variant"].title == "variant"
assert "variant" not in facet(TrialConfig(hidden=16, lr=0.1), rows="variant", cols="lr")
results = [TrialResult(config=TrialConfig(hidden=16, lr=0.1, variant=t), status=Status.DONE,
                       test_accuracy=0.9, val_accuracy=0.9, train_loss=0.1, steps_done=999,
                       wall_s=1.0, cpu_s=1.0, peak_mem_bytes=1, device="cpu", error=None,
                       curve=(), started_at=0.0)
           for t in ("digits", "parity")]
assert [r.config.variant for r in select(results, [("variant", "parity")])] == ["parity"]
# the CLI's option, made from the declaration alone: in a sweep's help (after the axes the
# CLI had), read into the grid, refused in the declaration's words
option = {a.flag: a for a in axis_options()}["--variant"]
assert option.parse("digits,parity") == ("digits", "parity")
assert option.help_text == "Variants, e.g. digits,parity  [default: digits]"
import contextlib, io
from click.testing import CliRunner
from lstm_sweep.cli import cli, main
from lstm_sweep.cli.sweeps import grid_of, run
for command in ("run", "plan", "search"):
    shown = CliRunner().invoke(cli, [command, "--help"], terminal_width=200).output
    assert "--variant A VARIANT  " in shown and "Variants, e.g. digits,parity  [default: digits]" in shown
    assert shown.index("--precision") < shown.index("--variant") < shown.index("--fallback-fp32")
opts = run.make_context("run", ["--hidden", "16", "--lr", "0.1", "--variant", "parity,digits"]).params
assert grid_of(opts).variant == ("parity", "digits") and len(grid_of(opts)) == 2
err = io.StringIO()
with contextlib.redirect_stderr(err):
    code = main(["plan", "--hidden", "16", "--lr", "0.1", "--variant", "digits,chess"])
assert code == 2 and err.getvalue() == (
    "Error: Invalid value for '--variant': 'chess' is not one of digits, parity\\n"), err.getvalue()
print(lstm_sweep.__file__)
"""


def test_a_new_axis_is_one_entry_and_one_field(tmp_path):
    copy = tmp_path / "lstm_sweep"
    shutil.copytree(SRC, copy, ignore=shutil.ignore_patterns("__pycache__"))
    axes, trial = copy / "study" / "axes.py", copy / "study" / "trial.py"
    end = "\n)\nAXIS: dict[str, TrialAxis]"
    last = '    readout: str = axis_field("readout")\n'
    assert axes.read_text().count(end) == 1 and trial.read_text().count(last) == 1
    axes.write_text(axes.read_text().replace(end, _ENTRY.rstrip("\n") + end))
    trial.write_text(trial.read_text().replace(last, last + _FIELD))
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_CHECK)],
        cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == str(copy / "__init__.py")  # the copy ran, not the package
