"""Reports of tasks scored by a loss (bits per character, MSE, nats per step): stores of
hand-made results, checked for the metric's name, its direction, "failed" by its chance level,
the store's range checks by the metric, the export's metric column and the comparison with the
TCN paper's numbers. (A rows store's reports are the existing tests'.)"""

from __future__ import annotations

import functools
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import trial
from lstm_sweep.errors import StoreError
from lstm_sweep.reporting import build_tables, render_tables
from lstm_sweep.reporting.export import render_export
from lstm_sweep.reporting.findings import (
    best_per_row,
    compare,
    findings,
    frontier_per_row,
    load_reference,
    render_comparison,
)
from lstm_sweep.reporting.html import render_html
from lstm_sweep.reporting.plots import heatmap_data, pareto_front, plan_figures
from lstm_sweep.store import Store
from lstm_sweep.store.schema import result_problem
from lstm_sweep.study import METRICS
from lstm_sweep.study.results import CurvePoint, Status

adding = functools.partial(trial, task="adding", steps=100)
chars = functools.partial(trial, task="chars", steps=100)

# The adding problem, MSE (chance 1/6, failed above 0.15): the best rate per width is the
# lowest loss; the widest width fails at the largest rate.
ADDING = [
    adding(16, 1e-3, 0.12),
    adding(16, 1e-2, 0.05),
    adding(16, 1e-1, 0.09),
    adding(32, 1e-3, 0.02),
    adding(32, 1e-2, 0.04),
    adding(32, 1e-1, 0.16),  # above 0.9 x 1/6 = 0.15: no better than chance
]
CHARS = [
    chars(16, 1e-3, 2.1),
    chars(16, 1e-2, 1.6),
    chars(32, 1e-3, 1.5),
    chars(32, 1e-2, 1.9),
]


def stored(tmp_path, results, name="tasks.db"):
    """``results`` saved in a real store and read back (every row checked on the way)."""
    with Store(tmp_path / name) as store:
        for r in results:
            store.save(r)
    with Store(tmp_path / name, readonly=True) as store:
        return store.results(with_curves=True)


def by_kind(items):
    return {f.kind: f for f in items}


def test_the_best_rate_per_width_is_the_lowest_loss(tmp_path):
    results = stored(tmp_path, ADDING)
    (table,) = build_tables(results)
    assert table.measure.name == "mse"
    assert best_per_row(table) == {16: (0.01, 0.05), 32: (0.001, 0.02)}
    f = by_kind(findings(results))
    assert f["best_lr"].data["best"] == {16: {"lr": 0.01, "mse": 0.05}, 32: {"lr": 0.001, "mse": 0.02}}
    assert "lowest mean squared error" in f["best_lr"].text
    assert f["best_lr_trend"].text.endswith("moves down, from 0.01 to 0.001.")


def test_a_loss_above_nine_tenths_of_chance_failed(tmp_path):
    (table,) = build_tables(stored(tmp_path, ADDING))
    assert table.chance == pytest.approx(1 / 6)
    assert table.failed(0.16) and not table.failed(0.14) and table.failed(math.nan)
    assert frontier_per_row(table) == {32: 0.1}
    f = by_kind(findings(stored(tmp_path, ADDING, "again.db")))
    assert "mean squared error > 0.15 (0.9 × chance)" in f["frontier"].text
    assert "32 units ≥ 0.1" in f["frontier"].text


def test_where_chance_is_unknown_only_divergence_fails(tmp_path):
    worst = chars(32, 1e-1, 7.5)  # far worse than any other, but chars has no chance level
    diverged = chars(16, 1e-1, 4.0, status=Status.DIVERGED)
    (table,) = build_tables(stored(tmp_path, [*CHARS, worst, diverged]))
    assert table.chance is None and not table.failed(7.5) and table.failed(math.nan)
    assert frontier_per_row(table) == {16: 0.1}
    f = by_kind(findings([*CHARS, worst]))
    assert "only divergence counts" in f["frontier"].text


def test_tables_format_and_caption_the_metric(tmp_path):
    results = stored(tmp_path, CHARS)
    text = render_tables(build_tables(results))
    assert text.startswith("Bits per character (lower is better): chars · length 100")
    assert "1.6" in text and "%" not in text
    assert "**Bits per character (lower is better)**" in render_tables(build_tables(results), "markdown")
    assert r"\caption{Bits per character (lower is better)" in render_tables(build_tables(results), "latex")
    assert render_tables(build_tables(results), "csv").startswith("hidden [bpc],lr_0.001,lr_0.01")
    best = render_tables(build_tables([*CHARS, chars(16, 1e-2, 1.2, seed=1)]), stat="best")
    assert "1.2" in best  # the best seed is the lowest loss


def test_a_tasks_tables_never_mix_with_another_tasks(tmp_path):
    results = stored(tmp_path, [*ADDING, *CHARS, trial(16, 1e-3, 0.9, steps=100)])
    tables = build_tables(results)
    assert sorted(t.measure.name for t in tables) == ["accuracy", "bpc", "mse"]
    # with the task an axis, still one table per metric
    by_task = build_tables(results, rows="task", cols="hidden", best_over="lr")
    assert sorted(t.measure.name for t in by_task) == ["accuracy", "bpc", "mse"]
    assert all(len(t.rows) == 1 for t in by_task)
    items = findings(results)
    across = [f for f in items if f.kind.startswith("across")]
    assert across == []  # three tasks, scored apart: nothing to compare across them
    names = [f.text for f in items if f.kind == "facet"]
    assert names == ["rows · mnist", "chars · length 100 · mnist", "adding · length 600 · generated"]


def test_a_rows_store_is_unchanged_by_the_metric(tmp_path):
    rows = [trial(16, 1e-3, 0.9, steps=100), trial(16, 1e-2, 0.15, steps=100)]
    (table,) = build_tables(stored(tmp_path, rows))
    assert table.measure.name == "accuracy" and table.chance == 0.1
    assert render_tables([table]).startswith("Test accuracy: ")
    assert by_kind(findings(rows))["frontier"].text == (
        "Training fails (accuracy < 0.2 or NaN loss) from rate: 16 units ≥ 0.01."
    )


def test_the_store_checks_the_range_by_the_metric(tmp_path):
    assert "out of range (0 to 1)" in result_problem(trial(acc=1.5))
    assert result_problem(chars(acc=1.5)) is None
    assert "out of range" in result_problem(adding(acc=-0.5))
    assert result_problem(chars(acc=math.inf)) == "test_accuracy is inf"
    bpc_curve = tuple(CurvePoint(10 * (i + 1), 2.0, 3.5 - i) for i in range(3))
    assert result_problem(chars(acc=1.5, curve=bpc_curve)) is None
    assert "not a fraction" in result_problem(trial(acc=0.9, curve=bpc_curve))
    with Store(tmp_path / "s.db") as store:
        store.save(chars(acc=1.5, curve=bpc_curve))
        with pytest.raises(StoreError, match="out of range"):
            store.save(trial(acc=1.5))
    with Store(tmp_path / "s.db", readonly=True) as store:
        (r,) = store.results(with_curves=True)
        assert r.test_accuracy == 1.5 and [p.accuracy for p in r.curve] == [3.5, 2.5, 1.5]
        assert [p.accuracy for p in store.curves([r.key])[r.key]] == [3.5, 2.5, 1.5]
        assert store.check() == []


def test_a_csv_export_names_the_metric(tmp_path):
    text = render_export(stored(tmp_path, [*CHARS[:1], trial(steps=100)]))
    header, *lines = text.splitlines()
    assert header.split(",")[-1] == "metric"
    assert sorted(line.rsplit(",", 1)[1] for line in lines) == ["accuracy", "bpc"]


def test_compare_with_the_tcn_reference(tmp_path):
    results = stored(tmp_path, [*ADDING, trial(16, 1e-3, 0.9, steps=100)])
    assert load_reference("tcn")[("adding", "lstm")] == 0.164
    comp = compare(results, "tcn")
    (lstm, gru) = comp.cells
    assert (lstm.task, lstm.cell, lstm.value) == ("adding", "lstm", 0.164)
    assert lstm.ours is not None and lstm.ours.mean == 0.02 and lstm.at["hidden"] == 32
    assert gru.ours is None
    text = render_comparison(comp)
    assert "adding (mean squared error, lower is better)" in text
    assert "0.164" in text and "50,000 training sequences" in text and "Bai, Kolter & Koltun 2018" in text
    assert "ours: 32 units (~5K parameters), 100 steps of adam at lr 0.001" in text
    assert "rows: not in the TCN paper's Table 1 (compare it with the reference hw2)." in text
    assert (
        "adding lstm: ours 0.02 vs published 0.164 (mean squared error, lower is better): ours is better."
    ) in text
    # hw2 compares the homework's task only
    assert all(c.ours.values == (0.9,) for c in compare(results).cells)


def test_the_html_report_and_the_figures_name_the_metric(tmp_path):
    results = stored(tmp_path, ADDING)
    page = render_html(results, {}, "tcn")
    assert "Mean squared error (lower is better)" in page and "0.164" in page
    specs, _ = plan_figures(results, ["heatmap", "time", "best-lr"])
    assert all("mean squared error" in s.caption.lower() for s in specs)
    (table,) = build_tables(results)
    assert heatmap_data(table)[1][0] == ["0.12", "0.05", "0.09"]


@settings(max_examples=50, deadline=None)
@given(
    st.sampled_from(sorted(METRICS)),
    st.lists(st.floats(0.0, 1.0, allow_nan=False), min_size=1, max_size=6, unique=True),
)
def test_the_best_follows_the_metrics_direction(name, values):
    """For random values along a row of rates, the chosen best is the largest accuracy and the
    smallest loss; the Pareto front of equal times keeps only that best."""
    task = {"accuracy": "rows", "bpc": "chars", "mse": "adding", "xent": "copy"}[name]
    results = [trial(16, 10.0 ** -(i + 1), v, task=task, steps=100) for i, v in enumerate(values)]
    (table,) = build_tables(results)
    want = max(values) if name == "accuracy" else min(values)
    assert best_per_row(table)[16][1] == want
    assert pareto_front([(1.0, v) for v in values], METRICS[name]) == [(1.0, want)]


def test_the_tcn_comparison_never_ranks_another_task_as_better_or_worse(tmp_path):
    """At another length T (adding, copy) the sentence sets each number against its own chance
    level instead of ranking them; on another text (chars) it says they are not comparable."""
    results = stored(
        tmp_path,
        [
            trial(16, 1e-2, 0.0005, task="adding", steps=100, length=50),
            trial(16, 1e-2, 0.026, task="copy", steps=100, length=10),
            *CHARS,
        ],
    )
    text = " ".join(f.text for f in compare(results, "tcn").summary)
    assert (
        "adding lstm: ours 0.0005 vs published 0.164 (mean squared error, lower is better): not the "
        "same task: T = 50 here, 600 there. Against each one's chance (0.1667 here, 0.1667 there): "
        "ours 0.3% of chance, theirs 98.4%."
    ) in text
    assert "copy lstm: ours 0.026 vs published 0.0204" in text
    assert "T = 10 here, 1000 there" in text and "theirs 100.1%" in text  # 0.0204 is chance at T = 1000
    assert "chars lstm: ours 1.5 vs published 1.36" in text
    assert "not comparable: theirs is Penn Treebank's characters, another text than ours." in text
    assert "ours is better" not in text and "theirs is better" not in text
