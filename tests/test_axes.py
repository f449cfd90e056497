"""Any two axes: grids whose every axis takes a list, tables of any rows x columns with one table
per facet, findings that compare the tables, and one captioned figure per facet."""

from __future__ import annotations

import itertools
import random
import re

import pytest

from helpers import trial
from lstm_sweep.errors import ConfigError
from lstm_sweep.reporting.axes import AXES, check_axes, facet
from lstm_sweep.reporting.findings import findings
from lstm_sweep.reporting.plots import plan_figures, shades
from lstm_sweep.reporting.tables import build_tables, render_tables
from lstm_sweep.study import Grid, TrialConfig
from lstm_sweep.study.results import Status


def r(acc, status=Status.DONE, **fields):
    """A trial of ``TrialConfig(**fields)`` (the seed's 999 steps unless given)."""
    return trial(acc=acc, status=status, **{"steps": 999, **fields})


def test_every_axis_takes_a_list_and_the_grid_is_the_product():
    grid = Grid(
        hidden=(16, 32),
        lrs=(0.01,),
        steps=(30, 60),
        batch_size=(50, 100),
        init=("tf", "pytorch"),
        precision=("fp32", "bf16"),
        cells=("lstm", "gru"),
    )
    trials = grid.trials()
    assert len(grid) == len(trials) == 2 * 2 * 2 * 2 * 2 * 2
    assert len({t.key() for t in trials}) == len(trials)
    assert {(t.steps, t.batch_size, t.init, t.precision) for t in trials} == set(
        itertools.product((30, 60), (50, 100), ("tf", "pytorch"), ("fp32", "bf16"))
    )
    assert set(grid.varied) == {"hidden", "steps", "batch_size", "init", "precision", "cells"}
    # a scalar is a list of one, and the seed's LSTM/Adam/MNIST keys do not change
    one = Grid(hidden=16, lrs=0.01, steps=30)
    assert one.steps == (30,) and one.init == ("tf",)
    assert one.trials()[0].key() == TrialConfig(hidden=16, lr=0.01, steps=30).key()


@pytest.mark.parametrize(
    "bad, message",
    [
        ({"steps": ()}, "at least one value for steps"),
        ({"steps": (30, 30)}, "steps has repeated values"),
        ({"steps": (30, 0)}, "steps must be a positive integer"),
        ({"batch_size": (100, 2**40)}, "batch size must be at most"),
        ({"init": ("tf", "xavier")}, "init must be one of tf, pytorch"),
        ({"precision": ("fp16",)}, "precision must be one of fp32, tf32, bf16"),
        ({"steps": ([1],)}, "steps must hold plain values"),
        ({"steps": 3.5}, "steps must be a positive integer"),
        ({"batch_size": object()}, "batch_size must be a value or a list of values"),
    ],
)
def test_bad_axis_values_are_refused_by_name(bad, message):
    with pytest.raises(ConfigError, match=message):
        Grid(hidden=(16,), lrs=(0.1,), **bad)


def test_check_axes():
    assert [a.name for a in check_axes("cell", "optimizer")] == ["cell", "optimizer"]
    with pytest.raises(ConfigError, match="unknown axis 'width'; choose one of: hidden, lr"):
        check_axes("width", "lr")
    with pytest.raises(ConfigError, match="both lr"):
        check_axes("lr", "lr")


CELLS = [  # two cells x two optimizers x two widths x three rates
    r(acc, hidden=h, lr=lr, cell=cell, optimizer=opt, steps=30, wall=h / 16)
    for cell, opt, h, lr, acc in [
        ("lstm", "adam", 16, 1e-3, 0.80),
        ("lstm", "adam", 16, 1e-2, 0.90),
        ("lstm", "adam", 16, 1e-1, 0.50),
        ("lstm", "adam", 32, 1e-3, 0.85),
        ("lstm", "adam", 32, 1e-2, 0.93),
        ("lstm", "adam", 32, 1e-1, 0.10),
        ("gru", "adam", 16, 1e-3, 0.82),
        ("gru", "adam", 16, 1e-2, 0.95),
        ("gru", "adam", 16, 1e-1, 0.60),
        ("gru", "adam", 32, 1e-3, 0.96),
        ("gru", "adam", 32, 1e-2, 0.92),
        ("gru", "adam", 32, 1e-1, 0.11),
        ("lstm", "sgd", 16, 1e-3, 0.20),
        ("lstm", "sgd", 16, 1e-2, 0.40),
        ("lstm", "sgd", 16, 1e-1, 0.70),
        ("lstm", "sgd", 32, 1e-3, 0.21),
        ("lstm", "sgd", 32, 1e-2, 0.45),
        ("lstm", "sgd", 32, 1e-1, 0.75),
        ("gru", "sgd", 16, 1e-3, 0.22),
        ("gru", "sgd", 16, 1e-2, 0.41),
        ("gru", "sgd", 16, 1e-1, 0.72),
        ("gru", "sgd", 32, 1e-3, 0.25),
        ("gru", "sgd", 32, 1e-2, 0.50),
        ("gru", "sgd", 32, 1e-1, 0.80),
    ]
]


def test_tables_of_any_two_axes_one_per_facet():
    default = build_tables(CELLS)
    assert len(default) == 4  # a table per (cell, optimizer), the seed's model first
    assert [(t.protocol["cell"], t.protocol["optimizer"]) for t in default] == [
        ("lstm", "adam"),
        ("lstm", "sgd"),
        ("gru", "adam"),
        ("gru", "sgd"),
    ]
    tables = build_tables(CELLS, rows="cell", cols="optimizer")
    assert len(tables) == 6  # a table per (hidden, lr)
    t = tables[0]
    assert (t.row_axis, t.col_axis, t.rows) == ("cell", "optimizer", ("lstm", "gru"))
    assert t.cols == (("adam", ()), ("sgd", ())) and t.protocol["hidden"] == 16
    assert t.cell("gru", ("adam", ())).values == (0.82,)
    text = render_tables(tables[:1])
    assert text.splitlines()[0] == (
        "Test accuracy: mnist · 16 units · lr 0.001 · 30 steps · batch 100 · init tf · fp32 · 1 seed"
    )
    assert " ".join(text.splitlines()[1].split()) == "cell \\ optimizer adam sgd"
    assert render_tables(tables[:1], "csv").splitlines() == [
        "cell,optimizer_adam,optimizer_sgd",
        "LSTM,0.8000,0.2000",
        "GRU,0.8200,0.2200",
    ]
    latex = render_tables(tables[:1], "latex")
    assert r"cell \textbackslash{} optimizer & adam & sgd \\" in latex  # as every format
    # every trial is in exactly one table, whichever two axes are chosen
    for rows, cols in itertools.permutations(("hidden", "lr", "cell", "optimizer", "steps"), 2):
        tables = build_tables(CELLS, rows=rows, cols=cols)
        assert sum(len(c.statuses) for t in tables for c in t.cells.values()) == len(CELLS)


def test_captions_name_what_tells_tables_apart_even_at_the_seeds_value():
    text = render_tables(build_tables(CELLS))
    titles = [line for line in text.splitlines() if line.startswith("Test accuracy")]
    assert titles[0].startswith("Test accuracy: LSTM · adam · mnist · 30 steps")
    assert titles[3].startswith("Test accuracy: GRU · sgd · mnist")
    seeds_only = render_tables(build_tables(CELLS[:6]))  # one table of the seed's model
    assert seeds_only.startswith("Test accuracy: mnist · 30 steps")


def test_findings_compare_the_tables():
    out = findings(CELLS)
    heads = [f.text for f in out if f.kind == "facet"]
    assert heads == [
        "LSTM · adam",
        "LSTM · sgd",
        "GRU · adam",
        "GRU · sgd",
        "Across the tables (LSTM · adam, LSTM · sgd, GRU · adam, GRU · sgd)",
    ]
    across = out[out.index(next(f for f in out if f.text.startswith("Across"))) + 1 :]
    best = {f.data.get("to"): f for f in across if f.kind == "across_best"}
    assert best["LSTM · sgd"].text == (
        "LSTM · adam → LSTM · sgd: the best rate per width is up at 16 (0.01 → 0.1), 32 (0.01 → 0.1)."
    )
    assert best["GRU · adam"].text == (
        "LSTM · adam → GRU · adam: the best rate per width is unchanged at 16; down at 32 (0.01 → 0.001)."
    )
    winner = next(f for f in across if f.kind == "across_winner")
    assert winner.text == (
        "Best table per width (each at its best rate): 16 → GRU · adam "
        "(0.9500, next 0.9000), 32 → GRU · adam (0.9600, next 0.9300). "
        "GRU · adam is best at every width."
    )
    fronts = {f.data.get("to"): f for f in across if f.kind == "across_frontier"}
    # LSTM/Adam fails from 0.1 at 32 units; SGD fails nowhere
    assert fronts["LSTM · sgd"].text == (
        "Divergence frontier, LSTM · adam → LSTM · sgd: 32: 0.1 → none (none: no tested rate fails)."
    )
    same = next(f for f in across if f.kind == "across_frontier" and "same" in f.data)
    assert same.data["same"] == ["GRU · adam"]


def test_findings_on_other_axes_speak_of_those_axes():
    out = findings(CELLS, rows="cell", cols="lr")
    texts = [f.text for f in out]
    assert "Best learning rate per cell: LSTM → 0.01 (0.9000), GRU → 0.01 (0.9500)." in texts
    assert not [f for f in out if f.kind in ("doubling", "enough_width")]  # rows are not widths
    out = findings(CELLS, rows="hidden", cols="optimizer")
    assert "Best optimizer per width: 16 → adam (0.9000), 32 → adam (0.9300)." in [f.text for f in out]
    assert not [f for f in out if f.kind == "frontier"]  # columns are not learning rates


def test_facet_and_axis_values():
    c = TrialConfig(hidden=16, lr=0.1, optimizer="momentum", opt={"momentum": 0.5})
    assert AXES["optimizer"].value(c) == ("momentum", (("momentum", 0.5),))
    assert AXES["optimizer"].label(AXES["optimizer"].value(c)) == "momentum (momentum=0.5)"
    assert "opt" not in facet(c, "optimizer", "lr") and "hidden" in facet(c, "optimizer", "lr")
    assert set(facet(c)) == {
        "steps",
        "batch_size",
        "display_step",
        "init",
        "precision",
        "dataset",
        "cell",
        "optimizer",
        "opt",
        "param",
        "base_width",
        "readout",
        "task",
        "length",
        "task_seed",
        "task_id",
        "task_metric",
        "task_chance",
    }


def test_one_captioned_figure_per_kind_and_facet():
    specs, missing = plan_figures(CELLS, ("heatmap", "time", "best-lr"))
    assert [s.name for s in specs] == [
        f"{k}-{n}"
        for n in ("lstm-adam", "lstm-sgd", "gru-adam", "gru-sgd")
        for k in ("heatmap", "time", "best-lr")
    ]
    assert not missing
    heat = specs[0]
    assert heat.caption.startswith(
        "Test accuracy (LSTM · adam) by hidden units (rows) and learning rate (columns)"
    )
    specs, missing = plan_figures(CELLS, ("heatmap", "best-lr"), rows="cell", cols="optimizer")
    assert len(specs) == 6 and len(missing) == 6  # best-lr needs rates as columns
    assert all("needs learning rates as columns" in why for why in missing.values())


def test_curves_shade_the_seeds_of_each_series():
    assert shades((0.2, 0.4, 0.6, 1.0), 1) == [(0.2, 0.4, 0.6)]
    three = shades((0.2, 0.4, 0.6), 3)
    assert three[0] == (0.2, 0.4, 0.6) and all(a < b for a, b in zip(three[0], three[2]))
    assert all(0 <= x <= 1 for s in three for x in s)


def test_time_plot_ticks_are_plain_numbers_that_do_not_overlap():
    from lstm_sweep.reporting.plots import plot_time

    rng = random.Random(0)
    for lo, hi in [(0.3, 0.9), (1.2, 7.0), (0.05, 400.0), (2.0, 2.5)]:
        results = [
            r(
                0.5 + rng.random() / 3,
                hidden=16 * 2 ** (i % 3),
                lr=0.1,
                seed=i,
                wall=lo * (hi / lo) ** (i / 9),
            )
            for i in range(10)
        ]
        fig = plot_time(results)
        fig.canvas.draw()
        ax = fig.axes[0]
        labels = [t for t in ax.get_xticklabels() if t.get_text()]
        lo_x, hi_x = ax.get_xlim()
        labels = [t for t in labels if lo_x <= t.get_position()[0] <= hi_x]
        assert labels, (lo, hi)
        assert all("times" not in t.get_text() and "^" not in t.get_text() for t in labels)
        assert not [t for t in ax.xaxis.get_minorticklabels() if t.get_text()]
        boxes = sorted((t.get_window_extent() for t in labels), key=lambda b: b.x0)
        assert all(a.x1 <= b.x0 for a, b in zip(boxes, boxes[1:])), (lo, hi)
        import matplotlib.pyplot as plt

        plt.close(fig)


def test_select_keeps_the_trials_of_a_value_and_names_the_values_there_are():
    from lstm_sweep.reporting.axes import select

    assert len(select(CELLS, [("cell", "gru")])) == 12
    assert len(select(CELLS, [("cell", "GRU"), ("lr", "1e-2"), ("optimizer", "sgd")])) == 2
    assert {r.config.hidden for r in select(CELLS, [("hidden", "32.0")])} == {32}
    momentum = [r(0.5, hidden=16, lr=0.1, optimizer="momentum", opt={"momentum": 0.5})]
    assert select(momentum, [("optimizer", "momentum")]) == momentum  # any settings
    assert select(momentum, [("optimizer", "momentum (momentum=0.5)")]) == momentum
    assert select(CELLS, []) == CELLS
    for where, message in [
        ([("cell", "lstn")], "no trial has cell='lstn'; its values in the store: LSTM, GRU"),
        ([("lr", "5")], "its values in the store: 0.001, 0.01, 0.1"),
        ([("lr", "nan")], "no trial has lr='nan'"),
        ([("lr", "1e999")], "no trial has lr='1e999'"),
        (
            [("cell", "gru"), ("optimizer", "rmsprop")],
            "no trial has optimizer='rmsprop'; its values in the store: adam, sgd",
        ),
        ([("seed", "0")], "unknown axis 'seed' in where="),
    ]:
        with pytest.raises(ConfigError, match=re.escape(message)):
            select(CELLS, where)


@pytest.mark.slow
@pytest.mark.parametrize(
    "name", ["<b>x</b>/../y", "../../etc", "a\\b c", "日本語", "[red]x[/]", "-", "x" * 100]
)
def test_hostile_dataset_names_make_safe_file_names_and_escaped_html(name):
    from lstm_sweep.reporting.html import render_html

    results = [
        r(0.5 + 0.1 * i, hidden=16, lr=lr, dataset=d, steps=30)
        for i, (d, lr) in enumerate(itertools.product(("mnist", name), (0.01, 0.1)))
    ]
    specs, _ = plan_figures(results, ("heatmap",))
    names = [s.name for s in specs]
    assert len(set(names)) == 2 and all(re.fullmatch(r"[a-z0-9.=-]+", n) for n in names)
    page = render_html(results, {})
    if "<b>" in name:
        assert "<b>x" not in page and "&lt;b&gt;x&lt;/b&gt;" in page
    text = render_tables(build_tables(results))
    assert text.count("Test accuracy:") == 2


def test_best_over_an_axis_takes_each_cells_best_value():
    tables = build_tables(CELLS, rows="hidden", cols="cell", best_over="lr")
    assert [t.protocol["optimizer"] for t in tables] == ["adam", "sgd"]  # lr is no facet
    adam = tables[0]
    assert adam.chosen == {(16, "lstm"): 0.01, (32, "lstm"): 0.01, (16, "gru"): 0.01, (32, "gru"): 0.001}
    assert adam.text(32, "gru") == "0.9600 @ 0.001"
    assert render_tables(tables[:1], "csv").splitlines() == [
        "hidden,cell_LSTM,cell_LSTM_best_lr,cell_GRU,cell_GRU_best_lr",  # numbers, the rate beside
        "16,0.9000,0.01,0.9500,0.01",
        "32,0.9300,0.01,0.9600,0.001",
    ]
    assert "each cell at its best learning rate (by mean accuracy), shown after @" in render_tables(
        tables[:1]
    )
    # another metric shows the value at the rate chosen by accuracy
    (times, _) = build_tables(CELLS, "time", rows="hidden", cols="cell", best_over="lr")
    assert times.chosen == adam.chosen and times.text(32, "gru") == "2.0 @ 0.001"
    # a tie goes to the first value in the axis's order; a cell with no accuracy takes none
    tie = [r(0.9, hidden=16, lr=lr) for lr in (0.1, 0.01)] + [
        r(None, Status.OOM, hidden=32, lr=lr) for lr in (0.1, 0.01)
    ]
    (t,) = build_tables(tie, rows="hidden", cols="steps", best_over="lr")
    assert t.chosen == {(16, 999): 0.01} and t.text(32, 999) == "DNF"
    for bad, message in [("lr", "already the table's rows or columns"), ("width", "unknown axis 'width'")]:
        with pytest.raises(ConfigError, match=message):
            build_tables(CELLS, rows="hidden", cols="lr", best_over=bad)
