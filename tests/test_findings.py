"""Findings and the comparison with Table 1, on hand-made result sets."""

from __future__ import annotations

import functools

import pytest

from helpers import trial
from lstm_sweep.errors import ConfigError
from lstm_sweep.reporting.findings import (
    compare,
    failing_from,
    findings,
    load_reference,
    t_975,
)
from lstm_sweep.study.results import Status

r = functools.partial(trial, steps=999)


def by_kind(items):
    return {f.kind: f for f in items}


GRID = [  # a small Table-1-like world: best rate moves down as width grows; wide nets fail early
    r(16, 1e-3, 0.85, wall=1),
    r(16, 1e-2, 0.95, wall=1),
    r(16, 1e-1, 0.84, wall=1),
    r(32, 1e-3, 0.94, wall=2),
    r(32, 1e-2, 0.97, wall=2),
    r(32, 1e-1, 0.10, wall=2),
    r(64, 1e-3, 0.972, wall=5),
    r(64, 1e-2, 0.968, wall=5),
    r(64, 1e-1, 0.098, status=Status.DIVERGED, wall=5),
]


def test_findings_state_what_the_data_shows():
    f = by_kind(findings(GRID))
    assert f["best_lr"].data["best"] == {
        16: {"lr": 0.01, "accuracy": 0.95},
        32: {"lr": 0.01, "accuracy": 0.97},
        64: {"lr": 0.001, "accuracy": 0.972},
    }
    assert f["best_lr_trend"].text == (
        "As width grows from 16 to 64, the best rate moves down, from 0.01 to 0.001."
    )
    assert f["band"].data["band"] == {16: [0.01], 32: [0.01], 64: [0.001, 0.01]}
    assert f["frontier"].data["frontier"] == {32: 0.1, 64: 0.1}  # 16 units still learn at 0.1
    assert "frontier moves" not in f["frontier"].text  # 32 and 64 fail at the same rate
    doubling = [x for x in findings(GRID) if x.kind == "doubling"]
    assert [(d.data["from"], d.data["to"]) for d in doubling] == [(16, 32), (32, 64)]
    assert doubling[0].data["gain"] == pytest.approx(0.02)
    assert doubling[1].data["time_ratio"] == pytest.approx(2.5)
    assert f["enough_width"].data == {"width": 32, "best_width": 64, "time": 2.0, "best_time": 5.0}
    assert "spread between seeds is unknown" in f["spread"].text


def test_no_unsupported_sentences():
    flat = [r(16, lr, 0.9) for lr in (1e-3, 1e-2)] + [r(32, lr, 0.9) for lr in (1e-3, 1e-2)]
    f = by_kind(findings(flat))
    assert f["frontier"].text == "No tested rate made training fail at any width."
    assert "enough_width" not in f  # the narrowest net is the best one already
    zigzag = [
        r(16, 1e-2, 0.9),
        r(16, 1e-3, 0.8),
        r(32, 1e-3, 0.9),
        r(32, 1e-2, 0.8),
        r(64, 1e-2, 0.9),
        r(64, 1e-3, 0.8),
    ]
    assert by_kind(findings(zigzag))["best_lr_trend"].text.startswith("The best rate does not move steadily")
    only_oom = [r(4096, 1e-3, None, status=Status.OOM)]
    assert [x.kind for x in findings(only_oom)] == ["empty"]


def test_seed_spread_is_measured_when_there_are_seeds():
    results = [r(16, 0.1, a, seed=s) for s, a in enumerate((0.84, 0.42, 0.80))] + [
        r(16, 0.01, a, seed=s) for s, a in enumerate((0.95, 0.951, 0.949))
    ]
    spread = by_kind(findings(results))["spread"]
    assert spread.text == ("Seeds disagree by more than 5 points in 1 cell: 16/0.1 (0.4200–0.8400).")


def test_failing_from_is_the_high_side_frontier():
    assert failing_from({1e-5: 0.11, 1e-3: 0.9, 1e-1: 0.15, 1.0: 0.1}) == 0.1
    assert failing_from({1e-5: 0.11, 1e-3: 0.9}) is None


def test_reference_table_and_comparison():
    ref = load_reference("hw2")
    assert ref[(256, 0.01)] == 0.9786 and ref[(4096, 1.0)] is None and len(ref) == 54
    ours = (
        [r(256, 0.01, a, seed=s) for s, a in enumerate((0.975, 0.980, 0.981))]
        + [r(256, 0.1, a, seed=s) for s, a in enumerate((0.30, 0.31, 0.29))]
        + [r(4096, 1e-3, 0.97), r(4096, 1e-2, None, status=Status.OOM)]
    )
    comp = compare(ours)
    cell = next(c for c in comp.cells if (c.hidden, c.lr) == (256, 0.01))
    assert cell.reference == 0.9786 and cell.within_spread is True
    assert cell.diff == pytest.approx((0.975 + 0.980 + 0.981) / 3 - 0.9786)
    low = next(c for c in comp.cells if (c.hidden, c.lr) == (256, 0.1))
    assert low.within_spread is False  # the reference's 0.098 is far below 0.29..0.31
    assert cell.within_noise is True and low.within_noise is False
    s = by_kind(comp.summary)
    assert s["row_best"].data == {"hidden": 256, "reference_lr": 0.01, "our_lr": 0.01}
    assert s["dnf_completed"].data["completed"] == [[4096, 0.001]]
    assert "1 of 2" in s["dnf_completed"].text
    with pytest.raises(ConfigError, match="unknown reference"):
        load_reference("hw3")


def test_within_noise_is_a_95_percent_prediction_interval_for_one_more_run():
    # 0.975, 0.980, 0.981: mean 0.97867, s 0.003215; t(2) 4.303 * s * sqrt(4/3) = 0.01597
    ours = [r(256, 0.01, a, seed=s) for s, a in enumerate((0.975, 0.980, 0.981))]
    cell = compare(ours).cells[0]
    lo, hi = cell.noise_interval
    assert (lo, hi) == pytest.approx((0.97867 - 0.01597, 0.97867 + 0.01597), abs=1e-5)
    assert cell.within_spread is True and cell.within_noise is True
    # outside the seeds' range (0.975-0.981) but inside the interval: one more run could land there
    near = compare([r(256, 0.1, a, seed=s) for s, a in enumerate((0.101, 0.099, 0.100))])
    assert near.cells[0].within_spread is False and near.cells[0].within_noise is True
    one = compare([r(256, 0.01, 0.97)]).cells[0]
    assert one.noise_interval is None and one.within_noise is None
    summary = by_kind(
        compare(ours + [r(256, 0.1, a, seed=s) for s, a in enumerate((0.30, 0.31, 0.29))]).summary
    )["within_noise"]
    assert summary.data == {"within": 1, "cells": 2, "outside": [[256, 0.1]]}
    assert summary.text.endswith("in 1 of 2 cells: outside at 256/0.1.")


@pytest.mark.parametrize("n", [2, 3, 5, 10, 40])
def test_prediction_interval_covers_a_new_normal_draw_95_percent_of_the_time(n):
    import random
    import statistics

    rng = random.Random(n)
    trials, hits = 4000, 0
    for _ in range(trials):
        seeds = [rng.gauss(0, 1) for _ in range(n)]
        half = t_975(n - 1) * statistics.stdev(seeds) * (1 + 1 / n) ** 0.5
        hits += abs(rng.gauss(0, 1) - statistics.fmean(seeds)) <= half
    assert 0.935 <= hits / trials <= 0.965  # binomial sd 0.0034: a wrong table entry lands outside
    with pytest.raises(ValueError):
        t_975(0)


def test_every_table_of_a_store_is_compared_each_under_its_name():
    """A store of two cells (or sp and mup, ...) is two tables: each is compared with the
    reference under its name, none left out."""
    from lstm_sweep.reporting.findings import render_comparison
    from lstm_sweep.reporting.html import render_html

    ours = [
        r(256, 0.01, 0.98),
        r(256, 0.1, 0.30),
        r(256, 0.01, 0.90, cell="gru"),
        r(512, 1.0, 0.1, cell="gru"),
    ]
    comp = compare(ours)
    assert [c.facet for c in comp.each()] == ["LSTM", "GRU"]
    lstm, gru = comp.each()
    assert {(c.hidden, c.lr): c.ours.mean for c in lstm.cells} == {(256, 0.01): 0.98, (256, 0.1): 0.30}
    assert {(c.hidden, c.lr): c.ours.mean for c in gru.cells} == {(256, 0.01): 0.90, (512, 1.0): 0.1}
    assert "cell lstm there, gru here" in " ".join(f.text for f in gru.summary)
    text = render_comparison(comp)
    assert text.index("LSTM:") < text.index("GRU:") and text.count("reference") >= 2
    page = render_html(ours, {})
    assert "<h3>LSTM</h3>" in page and "<h3>GRU</h3>" in page
    # one table: no name, no others (as before)
    single = compare(ours[:2])
    assert single.facet == "" and single.others == () and "LSTM:" not in render_comparison(single)
