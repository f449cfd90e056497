"""The library's errors name its arguments (``store=``, ``force=True``, ``Grid(hidden=...)``),
never the CLI's flags; the CLI shows the flags (cli/flags.py translates)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import lstm_sweep
from helpers import cli
from lstm_sweep import ConfigError, Grid, LstmSweepError, StoreError, TrialConfig, load_results
from lstm_sweep.cli.flags import for_cli
from lstm_sweep.reporting.outputs import check_folder, check_target
from lstm_sweep.store import Store

SRC = Path(lstm_sweep.__file__).parent
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]+")

# Text outside errors that names a flag on purpose, each with its reason.
ALLOWED = {
    ("study/axes.py", "--seeds"): "the axes declare the CLI's options (their flags and help)",
    ("study/axes.py", "--base-width"): "the axes declare the CLI's options (their help)",
    ("reporting/coords.py", "--lr"): "a verdict's text: output, kept as it was",
    ("reporting/findings.py", "--repeats"): "a finding's text: output, kept as it was",
    ("running/sweep.py", "--precision"): "the plan's rendered table: output, kept as it was",
    ("serve/server.py", "--allow-host"): "the page's 421 answer: read in a browser, never an error",
}


def _docstrings(tree: ast.AST) -> set[int]:
    return {
        id(n.body[0].value)
        for n in ast.walk(tree)
        if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and n.body
        and isinstance(n.body[0], ast.Expr)
        and isinstance(n.body[0].value, ast.Constant)
    }


def test_no_library_text_names_a_cli_flag():
    """Every string constant of the library (not cli/, not a docstring) is free of ``--flags``,
    but those listed in ALLOWED with their reason."""
    found, used = [], set()
    for path in sorted(SRC.rglob("*.py")):
        where = str(path.relative_to(SRC))
        if where.startswith("cli/"):
            continue
        tree = ast.parse(path.read_text())
        docs = _docstrings(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
                for flag in FLAG.findall(node.value):
                    if (where, flag) in ALLOWED:
                        used.add((where, flag))
                    else:
                        found.append(f"{where}:{node.lineno}: {flag}")
    assert found == [], "name the argument (store=, force=True), not the flag: " + "; ".join(found)
    assert used == set(ALLOWED), f"allowances that allow nothing: {set(ALLOWED) - used}"


def test_every_switch_the_library_names_reaches_the_cli_as_its_flag():
    """Wherever a library string says ``name=True`` (advice to pass a switch) of an argument the
    CLI has a flag for, the CLI's rendering of that string shows the flag: no argument survives
    by its place in the text (in parentheses, say, where a trial's own fields are left alone)."""
    from lstm_sweep.cli.flags import FLAGS

    switch = re.compile(r"\b(" + "|".join(FLAGS) + r")=True\b")
    missed = []
    for path in sorted(SRC.rglob("*.py")):
        where = str(path.relative_to(SRC))
        if where.startswith("cli/"):
            continue
        tree = ast.parse(path.read_text())
        docs = _docstrings(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
                if switch.search(node.value) and switch.search(for_cli(node.value)):
                    missed.append(f"{where}:{node.lineno}: {node.value[:80]!r}")
    assert missed == [], "the CLI would show these arguments, not their flags: " + "; ".join(missed)


GRID = Grid(hidden=(8,), lr=(0.1,), steps=5)


@pytest.mark.parametrize(
    "call",
    [
        lambda tmp: Store(tmp),  # a folder
        lambda tmp: load_results(tmp / "missing.db"),  # no store there
        lambda tmp: check_target("", "html"),  # no output path
        lambda tmp: check_folder(tmp / "f.txt") if (tmp / "f.txt").write_text("x") else None,
        lambda tmp: lstm_sweep.sweep_request(GRID, tmp / "s.db", checkpoint_every="soon"),
        lambda tmp: lstm_sweep.sweep_request(GRID, tmp / "s.db", retry=["done"]),
        lambda tmp: lstm_sweep.sweep_request(GRID, tmp / "s.db", executor="local", ray_address="x"),
        lambda tmp: lstm_sweep.serve_store(tmp / "s.db", port=70000),
        lambda tmp: lstm_sweep.load_dataset(tmp / "nothing"),
    ],
    ids=[
        "store-folder",
        "store-missing",
        "out-empty",
        "out-file",
        "checkpoint-every",
        "retry",
        "executor-option",
        "port",
        "data-dir",
    ],
)
def test_a_refusal_through_the_api_names_the_argument(call, tmp_path):
    with pytest.raises(LstmSweepError) as e:
        call(tmp_path)
    message = str(e.value)
    assert not FLAG.search(message), message
    assert "=" in message, f"names no argument: {message}"


@pytest.mark.parametrize(
    ("library", "shown"),
    [
        ("x.db is a folder; store= needs a file path", "x.db is a folder; --db needs a file path"),
        ("dataset_name='f': d is not mnist", "--dataset-name 'f': d is not mnist"),
        (
            "workers=, ray_address= is not an option of executor=local",
            "--workers, --ray-address is not an option of --executor local",
        ),
        (
            "check Grid(steps=...), Grid(hidden=...) and the grid, or pass force=True to run it",
            "check --steps, --hidden and the grid, or pass --force to run it",
        ),
        (
            "give smaller widths=, fewer seeds= or a smaller batch_size=",
            "give smaller --hidden widths, fewer --seeds or a smaller --batch-size",
        ),
        (
            "precision=bf16 cannot run on cpu; use precision=fp32 (or add fallback_fp32=True)",
            "--precision bf16 cannot run on cpu; use --precision fp32 (or add --fallback-fp32)",
        ),
        (
            "a.db: damaged; `check_store(a.db)` lists every problem",
            "a.db: damaged; `lstm-sweep check --db a.db` lists every problem",
        ),
        ("pass checkpoint_every=off", "pass --checkpoint-every off"),
        # a trial's values, paths and quoted text are not arguments
        ("hidden=16 lr=0.1 seed=0: failed", "hidden=16 lr=0.1 seed=0: failed"),
        ("/tmp/store=1/a.db and 'force=True'", "/tmp/store=1/a.db and 'force=True'"),
    ],
)
def test_the_cli_shows_the_flag_of_each_argument(library, shown):
    assert for_cli(library) == shown


def test_the_cli_still_names_its_flags(tmp_path):
    o = cli("table", "--db", tmp_path)
    assert o.code == 2
    assert "is a folder; --db needs a file path" in o.text, o.text
    with pytest.raises(StoreError, match="is a folder; store= needs a file path"):
        load_results(tmp_path)
    with pytest.raises(ConfigError, match="100"):
        TrialConfig(hidden=8, lr=0.1, dataset="x" * 101)
