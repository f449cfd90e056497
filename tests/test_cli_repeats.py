"""An option given twice is refused, for every option of every command (click would keep the
last value and drop the others silently: ``run --lr 0.01 --lr 0.1`` trained only 0.1), before
anything is read or written; options meant to repeat (``--opt``, ``--where``) still repeat; a
list written with spaces is told to use commas."""

from __future__ import annotations

import click
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import cli, snapshot
from helpers.examples import examples
from lstm_sweep.cli.app import COMMANDS


def _once_options():
    """(command, option) for every option that takes one value (or is one flag)."""
    out = []
    for command in COMMANDS:
        for param in command.params:
            if isinstance(param, click.Option) and not (param.multiple or param.count or param.is_eager):
                out.append((command.name, param))
    return out


ONCE = _once_options()
REPEATABLE = [
    (c.name, p.opts[0]) for c in COMMANDS for p in c.params if isinstance(p, click.Option) and p.multiple
]


def test_every_command_has_options_to_check():
    assert {name for name, _ in ONCE} == {c.name for c in COMMANDS if c.params}
    assert ("run", "--opt") in REPEATABLE and ("table", "--where") in REPEATABLE


def _written(param: click.Option, value: str, spelling: int) -> list[str]:
    name = [*param.opts, *param.secondary_opts][spelling % (len(param.opts) + len(param.secondary_opts))]
    if param.is_flag:
        return [name]
    return [f"{name}={value}"] if spelling % 2 else [name, value]


@settings(max_examples=examples(200), deadline=None)
@given(
    case=st.sampled_from(ONCE),
    values=st.lists(st.sampled_from(["1", "16", "0.01", "x", "a.db", "-1", "[b]x"]), min_size=2, max_size=4),
    spellings=st.lists(st.integers(0, 3), min_size=4, max_size=4),
    before=st.booleans(),
)
def test_an_option_given_twice_is_refused_with_nothing_written(
    tmp_path_factory, case, values, spellings, before
):
    name, param = case
    folder = tmp_path_factory.mktemp("repeat")
    db = folder / "s.db"
    has_db = any("--db" in p.opts for c in COMMANDS if c.name == name for p in c.params)
    args = [name, "--db", str(db)] if before and has_db and param.opts[0] != "--db" else [name]
    for i, value in enumerate(values):
        args += _written(param, value, spellings[i])
    o = cli(*args)
    line = o.error_line()
    assert f"{param.opts[0]} is given {len(values)} times" in line, (args, line)
    assert "give" in line and "once" in line, line
    assert snapshot(folder) == {}, args  # nothing created


def test_a_repeated_list_option_says_how_to_give_it_once(tmp_path):
    o = cli("run", "--hidden", "16", "--lr", "0.01", "--lr=0.1", "--steps", "10", "--db", tmp_path / "s.db")
    assert o.error_line() == (
        "Error: --lr is given 2 times (--lr 0.01, --lr=0.1), and only one would count; "
        "give its values once, comma-separated, e.g. --lr 0.01,0.1"
    )
    assert not (tmp_path / "s.db").exists()


@pytest.mark.parametrize(
    ("args", "hint"),
    [
        (["run", "--hidden", "16", "32", "--lr", "0.1"], "--hidden 16,32"),
        (["plan", "--lr", "0.1", "1", "10", "--hidden", "16"], "--lr 0.1,1,10"),
        (["coord-check", "--hidden", "64", "128"], "--hidden 64,128"),
    ],
)
def test_a_list_with_spaces_is_told_to_use_commas(tmp_path, args, hint):
    o = cli(*args, "--db", tmp_path / "s.db") if args[0] != "coord-check" else cli(*args)
    line = o.error_line()
    assert "unexpected extra argument" in line and f"e.g. {hint}" in line, line
    assert not (tmp_path / "s.db").exists()


def test_options_meant_to_repeat_still_repeat():
    run = next(c for c in COMMANDS if c.name == "run")
    ctx = run.make_context("run", ["--hidden", "16", "--opt", "beta1=0.8", "--opt", "beta2=0.99"])
    assert dict(ctx.params["opt"]) == {"beta1": 0.8, "beta2": 0.99}
    table = next(c for c in COMMANDS if c.name == "table")
    ctx = table.make_context("table", ["--where", "cell=lstm", "--where", "optimizer=adam"])
    assert len(ctx.params["where"]) == 2


def test_help_wins_over_a_repeat():
    o = cli("run", "--lr", "1", "--lr", "2", "--help")
    assert o.code == 0 and "Usage: lstm-sweep run" in o.out
