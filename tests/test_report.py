"""Table 1 from hand-made result sets: aggregation first, then each renderer."""

from __future__ import annotations

import csv
import functools
import io
from importlib import resources

import pytest

from helpers import trial
from lstm_sweep.errors import ConfigError
from lstm_sweep.reporting.tables import build_tables, render_tables
from lstm_sweep.training.train import Status

REFERENCE = resources.files("lstm_sweep") / "reference" / "hw2_table1.csv"  # the seed's Table 1


# the seed's protocol (999 steps); a cell's time is its trials' wall time
r = functools.partial(trial, steps=999, wall=2.0)


def test_single_seed_cells_and_markers():
    (t,) = build_tables(
        [
            r(16, 0.01, 0.9487),
            r(16, 1.0, 0.3734),
            r(32, 0.01, 0.098, status=Status.DIVERGED),
            r(32, 1.0, None, status=Status.OOM),
        ]
    )
    assert t.rows == (16, 32) and t.cols == (0.01, 1.0) and t.seeds == 1
    assert t.cell(16, 0.01).mean == 0.9487 and t.cell(16, 0.01).std is None
    assert t.cell(32, 0.01).diverged and t.cell(32, 0.01).mean == 0.098
    assert t.cell(32, 1.0).label == "DNF" and t.cell(32, 1.0).mean is None
    text = render_tables([t], "text")
    assert "0.9487" in text and "0.0980*" in text and "DNF" in text
    assert "diverged" in text and "DNF: out of memory" in text


def test_several_seeds_give_mean_and_sample_std():
    (t,) = build_tables(
        [r(64, 0.1, a, seed=s) for s, a in enumerate((0.4, 0.5, 0.6))]
        + [r(64, 1.0, 0.1, seed=0), r(64, 1.0, None, seed=1, status=Status.FAILED), r(64, 1.0, 0.3, seed=2)]
    )
    c = t.cell(64, 0.1)
    assert c.n == 3 and c.mean == pytest.approx(0.5) and c.std == pytest.approx(0.1)
    assert t.seeds == 3
    assert t.cell(64, 1.0).n == 2  # the failed seed has no value
    md = render_tables([t], "markdown")
    assert "| 64 | 0.5000 ± 0.1000 | 0.2000 ± 0.1414 (n=2) |" in md


def test_different_protocols_are_different_tables():
    tables = build_tables([r(16, 0.1, 0.5, steps=999), r(16, 0.1, 0.4, steps=50)])
    assert sorted(t.protocol["steps"] for t in tables) == [50, 999]
    assert all(t.seeds == 1 for t in tables)


def test_time_metric_and_missing_cells():
    (t,) = build_tables([r(16, 0.1, 0.5, wall=3.25), r(32, 0.01, 0.6, wall=7.0)], "time")
    text = render_tables([t], "text")
    assert "3.2" in text and "7.0" in text
    assert t.cell(16, 0.01).label == ""  # a cell never run is blank, not zero


def test_csv_has_the_reference_layout():
    rows = list(csv.reader(io.StringIO(REFERENCE.read_text())))
    lrs = (1e-05, 0.0001, 0.001, 0.01, 0.1, 1.0)
    ours = [r(16, lr, float(v)) for lr, v in zip(lrs, rows[1][1:])] + [
        r(4096, lr, None, status=Status.OOM) for lr in lrs
    ]
    out = list(csv.reader(io.StringIO(render_tables(build_tables(ours), "csv"))))
    assert out[0] == rows[0]
    assert [float(v) for v in out[1][1:]] == [float(v) for v in rows[1][1:]]
    assert out[2] == rows[-1]  # 4096,DNF,DNF,...


def test_latex_is_a_booktabs_table():
    text = render_tables(build_tables([r(16, 0.1, 0.5, seed=0), r(16, 0.1, 0.7, seed=1)]), "latex")
    assert r"\begin{tabular}{rr}" in text and r"\toprule" in text
    assert r"0.6000 $\pm$ 0.1414" in text


def test_unknown_metric_or_format_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown metric"):
        build_tables([], "perplexity")
    with pytest.raises(ConfigError, match="unknown format"):
        render_tables([], "xml")


def test_stat_choices():
    (t,) = build_tables([r(64, 0.1, a, seed=s) for s, a in enumerate((0.4, 0.9, 0.5))])
    assert "| 64 | 0.6000 ± 0.2646 |" in render_tables([t], "markdown", "mean")
    assert "| 64 | 0.5000 |" in render_tables([t], "markdown", "median")
    assert "| 64 | 0.9000 |" in render_tables([t], "markdown", "best")
    assert "| 64 | 0.4000 / 0.9000 / 0.5000 |" in render_tables([t], "markdown", "all")
    (times,) = build_tables([r(64, 0.1, 0.5, seed=s, wall=w) for s, w in enumerate((3.0, 2.0))], "time")
    assert "| 64 | 2.0 |" in render_tables([times], "markdown", "best")  # best time = shortest
    with pytest.raises(ConfigError, match="unknown statistic"):
        render_tables([t], "text", "mode")
