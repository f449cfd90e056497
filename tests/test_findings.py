"""Findings and the comparison with Table 1, on hand-made result sets."""

from __future__ import annotations

import functools

import pytest

from factory import trial
from lstm_sweep.errors import ConfigError
from lstm_sweep.reporting.findings import compare, failing_from, findings, load_reference
from lstm_sweep.study.results import Status

r = functools.partial(trial, steps=999)


def by_kind(items):
    return {f.kind: f for f in items}


GRID = [  # a small Table-1-like world: best rate moves down as width grows; wide nets fail early
    r(16, 1e-3, 0.85, wall=1), r(16, 1e-2, 0.95, wall=1), r(16, 1e-1, 0.84, wall=1),
    r(32, 1e-3, 0.94, wall=2), r(32, 1e-2, 0.97, wall=2), r(32, 1e-1, 0.10, wall=2),
    r(64, 1e-3, 0.972, wall=5), r(64, 1e-2, 0.968, wall=5),
    r(64, 1e-1, 0.098, status=Status.DIVERGED, wall=5),
]


def test_findings_state_what_the_data_shows():
    f = by_kind(findings(GRID))
    assert f["best_lr"].data["best"] == {16: {"lr": 0.01, "accuracy": 0.95},
                                         32: {"lr": 0.01, "accuracy": 0.97},
                                         64: {"lr": 0.001, "accuracy": 0.972}}
    assert f["best_lr_trend"].text == ("As width grows from 16 to 64, the best rate moves down, "
                                       "from 0.01 to 0.001.")
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
    zigzag = [r(16, 1e-2, 0.9), r(16, 1e-3, 0.8), r(32, 1e-3, 0.9), r(32, 1e-2, 0.8),
              r(64, 1e-2, 0.9), r(64, 1e-3, 0.8)]
    assert by_kind(findings(zigzag))["best_lr_trend"].text.startswith(
        "The best rate does not move steadily")
    only_oom = [r(4096, 1e-3, None, status=Status.OOM)]
    assert [x.kind for x in findings(only_oom)] == ["empty"]


def test_seed_spread_is_measured_when_there_are_seeds():
    results = [r(16, 0.1, a, seed=s) for s, a in enumerate((0.84, 0.42, 0.80))] + \
              [r(16, 0.01, a, seed=s) for s, a in enumerate((0.95, 0.951, 0.949))]
    spread = by_kind(findings(results))["spread"]
    assert spread.text == ("Seeds disagree by more than 5 points in 1 cells: "
                           "16/0.1 (0.4200–0.8400).")


def test_failing_from_is_the_high_side_frontier():
    assert failing_from({1e-5: 0.11, 1e-3: 0.9, 1e-1: 0.15, 1.0: 0.1}) == 0.1
    assert failing_from({1e-5: 0.11, 1e-3: 0.9}) is None


def test_reference_table_and_comparison():
    ref = load_reference("hw2")
    assert ref[(256, 0.01)] == 0.9786 and ref[(4096, 1.0)] is None and len(ref) == 54
    ours = [r(256, 0.01, a, seed=s) for s, a in enumerate((0.975, 0.980, 0.981))] + \
           [r(256, 0.1, a, seed=s) for s, a in enumerate((0.30, 0.31, 0.29))] + \
           [r(4096, 1e-3, 0.97), r(4096, 1e-2, None, status=Status.OOM)]
    comp = compare(ours)
    cell = next(c for c in comp.cells if (c.hidden, c.lr) == (256, 0.01))
    assert cell.reference == 0.9786 and cell.within_spread is True
    assert cell.diff == pytest.approx((0.975 + 0.980 + 0.981) / 3 - 0.9786)
    low = next(c for c in comp.cells if (c.hidden, c.lr) == (256, 0.1))
    assert low.within_spread is False  # the reference's 0.098 is far below 0.29..0.31
    s = by_kind(comp.summary)
    assert s["row_best"].data == {"hidden": 256, "reference_lr": 0.01, "our_lr": 0.01}
    assert s["dnf_completed"].data["completed"] == [[4096, 0.001]]
    assert "1 of 2" in s["dnf_completed"].text
    with pytest.raises(ConfigError, match="unknown reference"):
        load_reference("hw3")
