"""The coordinate check tells a correct μP from SP and from a broken μP; its verdicts, table and
figure; learning-rate ranges; the transfer preset."""

from __future__ import annotations

import math
import re

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import cli, examples, last_wins
from lstm_sweep import lr_range, preset
from lstm_sweep.errors import ConfigError
from lstm_sweep.reporting.coords import (
    plot_coord_check,
    render_coord_csv,
    render_coord_table,
    verdicts,
)
from lstm_sweep.running import coordcheck
from lstm_sweep.study.config import CELLS, PARAMS, TrialConfig
from lstm_sweep.study.coords import CoordPoint
from lstm_sweep.training import param as param_rules
from lstm_sweep.training.coord import probe
from lstm_sweep.training.engines import fused as fused_module
from lstm_sweep.training.engines import make_engine
from lstm_sweep.training.param import readout_multiplier

# ----------------------------------------------------------------------------- the probe


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("param", PARAMS)
def test_the_probes_logits_are_the_engines(mnist, cell, param):
    configs = [
        TrialConfig(
            hidden=24,
            lr=0.01,
            seed=s,
            cell=cell,
            param=param,
            base_width=8,
            steps=3,
            batch_size=16,
            data_seed=0,
        )
        for s in (0, 1)
    ]
    engine = make_engine("fused", configs, torch.device("cpu"))
    x = torch.as_tensor(mnist.train.images[:16])
    y = torch.as_tensor(mnist.train.labels[:16])
    engine.train_step(x, y)
    logits = engine.logits(x)
    for k in range(2):
        got = probe(cell, engine.tf_params(k), x, readout_multiplier(configs[0]))
        torch.testing.assert_close(got["logits"], logits[k], rtol=1e-4, atol=1e-5)
        assert set(got) == (
            {"input", "recurrent", "preact", "c", "h", "logits"}
            if cell == "lstm"
            else {"input", "recurrent", "preact", "h", "logits"}
        )


# ------------------------------------------------------------------- what the check tells

# 4x apart, as microsoft/mup's own test compares (1000 vs 4000 there); six seeds: at four, 128 vs
# 512 units was off by 1.3 at step 2 (seed noise: eight seeds gave 1.14, measured)
NARROW, WIDE = 256, 1024


def _ratios(points, param, narrow=NARROW, wide=WIDE):
    """(wide / narrow) of every judged quantity and measure at steps 1-3."""
    at = {(p.param, p.quantity, p.step, p.width): p for p in points}
    out = {}
    for q in ("input", "recurrent", "preact", "c", "h", "logits"):
        for step in (1, 2, 3):
            for measure in ("value", "change"):
                if (q, measure) == ("logits", "value"):
                    continue  # the head's N(0, 1) bias: noise between widths (reporting.coords)
                a = getattr(at[(param, q, step, narrow)], measure)
                b = getattr(at[(param, q, step, wide)], measure)
                out[(q, measure, step)] = b / a
    return out


@pytest.mark.slow
def test_the_check_passes_mup_and_fails_sp(mnist):
    points = coordcheck.coord_check(mnist, widths=(NARROW, WIDE), seeds=tuple(range(6)), steps=3)
    mup = _ratios(points, "mup")
    assert all(1 / 1.2 <= r <= 1.2 for r in mup.values()), {
        k: round(r, 3) for k, r in mup.items() if not 1 / 1.2 <= r <= 1.2
    }
    sp = _ratios(points, "sp")
    assert all(sp[("logits", "change", s)] >= 2 for s in (1, 2, 3)), sp
    by = {v.param: v for v in verdicts(points)}
    assert by["mup"].flat and not by["sp"].flat
    assert by["mup"].text.startswith("mup: flat — every quantity within ×")
    assert by["sp"].text.startswith("sp: not flat — the ") and f"from {NARROW} to {WIDE}" in by["sp"].text


def _broken(monkeypatch, how):
    if how == "W_x by SGD's rule under Adam":
        right = param_rules.rate_multipliers

        def wrong(config):
            rates = right(config)
            return {**rates, "input": param_rules.width_mult(config)}

        monkeypatch.setattr(param_rules, "rate_multipliers", wrong)
    else:  # the readout multiplier forgotten (in the engine and in the probe alike)
        monkeypatch.setattr(fused_module, "readout_multiplier", lambda c: 1.0)
        monkeypatch.setattr(coordcheck, "readout_multiplier", lambda c: 1.0)


@pytest.mark.slow
@pytest.mark.parametrize("how", ["W_x by SGD's rule under Adam", "no readout multiplier"])
def test_the_check_catches_a_broken_mup(mnist, monkeypatch, how):
    _broken(monkeypatch, how)
    points = coordcheck.coord_check(
        mnist, widths=(NARROW // 2, WIDE // 2), params=("mup",), seeds=(0, 1), steps=3
    )
    ratios = _ratios(points, "mup", NARROW // 2, WIDE // 2)
    worst = max(ratios.values(), key=lambda r: abs(math.log(r)))
    assert worst >= 1.5, ratios
    (verdict,) = verdicts(points)
    assert not verdict.flat and verdict.text.startswith("mup: not flat")


# --------------------------------------------------------------------------- the verdicts


def _synthetic(growth: dict, widths=(256, 512, 1024, 2048), steps=3, param="mup"):
    """Points whose quantity q grows as (width / widths[0]) ** growth.get(q, 0)."""
    out = []
    for w in widths:
        for step in range(steps + 1):
            for q in ("input", "recurrent", "preact", "c", "h", "logits"):
                size = (w / widths[0]) ** growth.get(q, 0.0)
                out.append(CoordPoint(param, w, step, q, size, size * step / 10))
    return out


def test_verdicts_read_the_growth_across_the_widest_widths():
    (flat,) = verdicts(_synthetic({}))
    assert (
        flat.flat and flat.text == "mup: flat — every quantity within ×1.00 from 256 to 2048 over steps 1-3"
    )
    (grows,) = verdicts(_synthetic({"recurrent": 0.5}, param="sp"))
    assert not grows.flat and grows.quantity == "recurrent"
    assert grows.growth == pytest.approx(math.sqrt(8))
    assert grows.text.startswith("sp: not flat — the size of the recurrent projection h·W_h ")
    assert "×2.8 from 256 to 2048" in grows.text
    (shrinks,) = verdicts(_synthetic({"h": -0.1}))
    assert shrinks.flat == (8**0.1 <= 1.2)  # ×1.23: just outside
    assert "shrinks ×1.2" in shrinks.text
    (logits,) = verdicts(_synthetic({"logits": 1.0}))  # size AND change grow
    assert not logits.flat and logits.measure == "change"  # the size alone is not judged
    both = verdicts(_synthetic({}, param="mup") + _synthetic({"c": 1.0}, param="sp"))
    assert [v.param for v in both] == ["sp", "mup"]
    narrow = verdicts(_synthetic({}, widths=(16, 32, 64, 1024, 2048)))[0]
    assert (narrow.narrow, narrow.widest) == (1024, 2048)  # judged from widest / 8 up


@pytest.mark.parametrize(
    "points,kwargs,match",
    [
        ([], {}, "non-empty list of CoordPoint"),
        ("points", {}, "non-empty list"),
        ([1, 2], {}, "CoordPoint"),
        (None, {}, "CoordPoint"),
        ("synthetic", {"tolerance": 1.0}, "tolerance must be a finite number above 1"),
        ("synthetic", {"tolerance": math.nan}, "tolerance"),
        ("synthetic", {"tolerance": True}, "tolerance"),
        ("synthetic", {"tolerance": 10**400}, "tolerance"),
        ("synthetic", {"tolerance": math.inf}, "tolerance"),
        ("synthetic", {"span": 1}, "span must be a whole number"),
        ("synthetic", {"span": 10**400}, "span must be a whole number"),
        ("synthetic", {"steps": "x"}, "steps must be a whole number"),
        ("synthetic", {"steps": 0}, "steps must be a whole number"),
        ("synthetic", {"steps": 50}, "only steps up to 3 were measured"),
        ("one width", {}, "needs two widths"),
    ],
)
def test_verdicts_refuse_junk(points, kwargs, match):
    if points == "synthetic":
        points = _synthetic({})
    elif points == "one width":
        points = _synthetic({}, widths=(64,))
    with pytest.raises(ConfigError, match=match):
        verdicts(points, **kwargs)


def test_a_measurement_that_is_not_finite_is_named_not_judged_as_a_growth():
    points = _synthetic({})
    points = [
        p
        if (p.width, p.step, p.quantity) != (1024, 2, "h")
        else CoordPoint(p.param, p.width, p.step, p.quantity, math.nan, math.inf)
        for p in points
    ]
    (v,) = verdicts(points)
    assert not v.flat and v.diverged_at == 1024 and (v.quantity, v.step) == ("h", 2)
    assert "not finite at width 1024" in v.text and "nan" not in v.text
    assert "nan" in render_coord_table(points) or "not finite" in render_coord_table(points)


@settings(max_examples=examples(80))
@given(
    keep=st.lists(st.booleans(), min_size=3 * 4 * 6, max_size=3 * 4 * 6),
    nan=st.sampled_from([None, 0, 5, 17]),
)
def test_any_subset_of_the_points_is_judged_shown_or_refused(keep, nan):
    """Points a check may leave out (a width that stopped early, a quantity missing): the
    verdict speaks only for the steps judged at every width; the table shows '-'."""
    full = _synthetic({"h": 0.5}, widths=(64, 128, 256), steps=3)
    points = [p for p, k in zip(full, keep) if k or p.step == 0]
    if nan is not None and nan < len(points):
        p = points[nan]
        points[nan] = CoordPoint(p.param, p.width, p.step, p.quantity, math.nan, p.change)
    try:
        (v,) = verdicts(points)
        table = render_coord_table(points)
    except ConfigError as e:
        assert "verdict needs" in str(e) or "measured at every width" in str(e), e
        return
    assert v.text in table and "nan" not in v.text
    if v.diverged_at is None:
        assert 1 <= v.steps <= 3
        judged = [w for w in (64, 128, 256) if w >= v.narrow]
        assert all(any(p.width == w and p.step == v.steps for p in points) for w in judged)


@pytest.mark.parametrize(
    "fields",
    [
        (5, 8, 0, "h", 1.0, 1.0),
        ("mup", 0, 0, "h", 1.0, 1.0),
        ("mup", True, 0, "h", 1.0, 1.0),
        ("mup", 8, -1, "h", 1.0, 1.0),
        ("mup", 8, 0, "x", 1.0, 1.0),
        ("mup", 8, 0, "h", -1.0, 1.0),
        ("mup", 8, 0, "h", "1", 1.0),
        ("mup", 8, 0, "h", 1.0, None),
        ("mup", 8, 1.5, "h", 1.0, 1.0),
    ],
)
def test_coord_points_refuse_junk(fields):
    with pytest.raises(ConfigError, match="coordinate point"):
        CoordPoint(*fields)


def test_a_long_check_draws_a_few_steps():
    from lstm_sweep.reporting.coords import MAX_PANELS, panel_steps

    assert panel_steps(range(1, 4)) == [1, 2, 3]
    picked = panel_steps(range(1, 301))
    assert len(picked) <= MAX_PANELS and picked[0] == 1 and picked[-1] == 300
    fig = plot_coord_check(_synthetic({}, steps=40), "mup")
    assert len(fig.axes) == 2 * len(panel_steps(range(1, 41)))


def test_table_and_csv_hold_every_width_and_the_verdicts():
    points = _synthetic({"recurrent": 0.5}, param="sp") + _synthetic({})
    table = render_coord_table(points)
    assert "sp: mean |·| at step 3" in table and "×256→2048" in table
    assert table.splitlines()[-2].startswith("sp: not flat")
    assert table.splitlines()[-1].startswith("mup: flat")
    rows = render_coord_csv(points).splitlines()
    assert rows[0] == "param,width,step,quantity,value,change" and len(rows) == len(points) + 1


# ------------------------------------------------------------------------------ the CLI


def test_coord_check_through_the_cli(mnist_dir, tmp_path):
    out = tmp_path / "figs"
    o = cli(
        "coord-check",
        "--hidden",
        "16,32",
        "--steps",
        "2",
        "--seeds",
        "0",
        "--batch-size",
        "8",
        "--data-dir",
        mnist_dir,
        "--out",
        out,
    )
    assert o.code == 0, o.err
    lines = o.out.splitlines()
    assert any(line.startswith("sp: flat") or line.startswith("sp: not flat") for line in lines)
    assert any(line.startswith("mup: flat") or line.startswith("mup: not flat") for line in lines)
    assert sorted(p.name for p in out.iterdir()) == ["coord-check-mup.png", "coord-check-sp.png"]
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in out.iterdir())
    o = cli(
        "coord-check",
        "--hidden",
        "16,32",
        "--steps",
        "1",
        "--seeds",
        "0",
        "--param",
        "mup",
        "--batch-size",
        "8",
        "--data-dir",
        mnist_dir,
        "--out",
        out,
        "--format",
        "csv",
        "--cell",
        "gru",
        "--optimizer",
        "sgd",
    )
    assert o.code == 0, o.err
    assert o.out.splitlines()[0] == "param,width,step,quantity,value,change"
    assert {line.split(",")[0] for line in o.out.splitlines()[1:]} == {"mup"}


@pytest.mark.parametrize(
    "args,words",
    [
        (["--hidden", "16"], ["at least two widths"]),
        (["--hidden", "16,16"], ["repeated"]),
        (["--lr", "1e-3,1e-2"], ["one learning rate"]),
        (["--lr", "0"], ["--lr"]),
        (["--param", "ntk9"], ["--param"]),
        (["--steps", "0"], ["--steps"]),
        (["--batch-size", "100000"], ["batch size", "55,000"]),
        (["--seeds", "-1"], ["--seeds"]),
        (["--base-width", "0"], ["--base-width"]),
        (["--hidden", "16,1048576"], ["width 1048576 with 1 seeds needs about", "TB", "free"]),
        (["--hidden", "16,32", "--seeds", ",".join(map(str, range(65)))], ["1 to 64 values"]),
    ],
)
def test_coord_check_refuses_bad_options_in_one_line(mnist_dir, tmp_path, args, words):
    o = cli(
        *last_wins(
            "coord-check",
            "--hidden",
            "16,32",
            "--steps",
            "1",
            "--seeds",
            "0",
            "--data-dir",
            mnist_dir,
            "--out",
            tmp_path / "figs",
            *args,
        )
    )
    line = o.error_line()
    assert o.code == 2 and all(w in line for w in words), line
    assert not (tmp_path / "figs").exists()


def test_coord_check_refuses_an_output_it_cannot_write_before_training(mnist_dir, tmp_path):
    taken = tmp_path / "figs"
    taken.mkdir()
    (taken / "coord-check-sp.png").write_text("my notes")
    o = cli("coord-check", "--hidden", "16,32", "--data-dir", mnist_dir, "--out", taken)
    assert o.code == 2 and "coord-check-sp.png exists and is not a PNG image" in o.error_line()
    assert (taken / "coord-check-sp.png").read_text() == "my notes"
    plain = tmp_path / "file"
    plain.write_text("x")
    o = cli("coord-check", "--hidden", "16,32", "--data-dir", mnist_dir, "--out", plain)
    assert o.code == 2 and o.error_line().startswith("Error: ")
    # a folder below a file cannot be made: refused before the first width trains
    o = cli("coord-check", "--hidden", "16,32", "--data-dir", mnist_dir, "--out", plain / "y")
    assert o.code == 2 and "is a file, not a folder" in o.error_line() and "[1/" not in o.err


def test_the_memory_a_check_plans_grows_with_width_seeds_and_batch():
    base = coordcheck.coord_memory(64, 2, 32)
    assert coordcheck.coord_memory(1024, 2, 32) > 20 * base  # weights grow as width squared
    assert coordcheck.coord_memory(64, 4, 32) == 2 * base  # seeds side by side
    assert coordcheck.coord_memory(64, 2, 64) > base
    # the plan covers what one width really allocates: the weights, Adam's slots and the probes
    config = TrialConfig(hidden=64, lr=0.01)
    params = sum(
        t.numel() for t in make_engine("fused", [config, config], torch.device("cpu")).tf_params(0).values()
    )
    assert base > 2 * params * 4 * 4


# --------------------------------------------------------------------- rates and the preset


def test_lr_ranges():
    assert lr_range("1e-4:1e-1:4") == (1e-4, 1e-3, 1e-2, 1e-1)  # the keys of the listed values
    assert lr_range("2^-3:2^-1") == (0.125, 0.25, 0.5)
    assert lr_range("0.0002:0.0512") == (
        0.0002,
        0.0004,
        0.0008,
        0.0016,
        0.0032,
        0.0064,
        0.0128,
        0.0256,
        0.0512,
    )
    assert lr_range("0.01") == (0.01,) and lr_range("2^-10") == (2**-10,)
    assert lr_range("0.01:0.01") == (0.01,)
    assert lr_range("1e-3:5e-3") == (1e-3, 2e-3, 4e-3)  # up to STOP, not past it


@settings(max_examples=examples(60))
@given(start=st.floats(1e-8, 1.0), factor=st.floats(1.0001, 1e6), n=st.integers(2, 50))
def test_an_n_point_range_is_ascending_log_spaced_and_ends_where_asked(start, factor, n):
    stop = start * factor
    values = lr_range(f"{start!r}:{stop!r}:{n}")
    assert len(values) == n and values[0] == start and values[-1] == stop
    assert all(a < b for a, b in zip(values, values[1:]))
    steps = [math.log(b / a) for a, b in zip(values, values[1:])]
    assert max(steps) == pytest.approx(min(steps), rel=1e-6, abs=1e-9)


# numbers at float's edges, as text: subnormal, huge, exponents far beyond float's range
EDGE = st.one_of(
    st.builds(
        "{}e{}".format,
        st.sampled_from(["1", "4.9", "1.7976931348623157", "2.2250738585"]),
        st.integers(-400, 400),
    ),
    st.builds("2^{}".format, st.integers(-1200, 1200)),
    st.sampled_from(["5e-324", "1.7976931348623157e308", "2^-1074", "2^1023", "1e-320"]),
)


@settings(max_examples=examples(400))
@given(start=EDGE, stop=EDGE, n=st.none() | st.integers(-2, 1002))
def test_ranges_at_floats_edges_are_values_or_refused(start, stop, n):
    text = f"{start}:{stop}" + ("" if n is None else f":{n}")
    try:
        values = lr_range(text)
    except ConfigError:
        return
    assert 1 <= len(values) <= 1000
    assert all(math.isfinite(v) and v > 0 for v in values)
    assert all(a < b for a, b in zip(values, values[1:]))


def test_the_issues_extreme_ranges():
    values = lr_range("1e-300:1e300:1000")
    assert len(values) == 1000 and values[0] == 1e-300 and values[-1] == 1e300
    assert lr_range("2^25:1.7976931348623157e308")[-1] == 2.0**1023
    with pytest.raises(ConfigError, match="too close together"):
        lr_range("1:1.0000000000001:5")


@pytest.mark.parametrize(
    "text,match",
    [
        ("1e-2:1e-4", "runs downwards"),
        ("a:b", "not a number"),
        ("1:2:1", "N must be"),
        ("1:2:1001", "N must be"),
        ("1:2:x", "N must be"),
        ("0:1", "positive"),
        ("-1:1", "positive"),
        ("1:inf", "positive finite"),
        ("2^x", "power of two"),
        ("3^2", "power of two"),
        ("1:2:3:4", "not a range"),
        ("1e-300:1:", "N must be"),
        ("1e-300:1e300", "at most 1000"),
        ("1:1:5", "equal ends"),
        ("2^99999", "not a number"),
    ],
)
def test_bad_ranges_are_refused_by_name(text, match):
    with pytest.raises(ConfigError, match=match):
        lr_range(text)


def test_ranges_through_the_cli(tmp_path):
    o = cli(
        "plan",
        "--hidden",
        "16",
        "--lr",
        "1e-4:1e-1:4,0.5",
        "--steps",
        "5",
        "--device",
        "cpu",
        "--db",
        tmp_path / "x.db",
    )
    assert o.code == 0, o.err
    assert re.search(r"^\s*16\s+5\s", o.out, re.M), o.out  # 5 trials of width 16
    o = cli("plan", "--hidden", "16", "--lr", "1e-2:1e-4", "--device", "cpu", "--db", tmp_path / "x.db")
    assert o.code == 2 and "'1e-2:1e-4'" in o.error_line() and "downwards" in o.error_line()
    o = cli(
        "plan", "--hidden", "16", "--lr", "1e-3,1e-4:1e-2:3", "--device", "cpu", "--db", tmp_path / "x.db"
    )
    assert o.code == 2 and "repeated" in o.error_line()
    assert not (tmp_path / "x.db").exists()


def test_the_transfer_preset_asks_the_question():
    grid = preset("transfer")
    # every parametrization: sp against each width-aware one (mup, mup-opt)
    assert grid.hidden == (64, 128, 256, 512) and grid.param == ("sp", "mup") == PARAMS[:2]
    assert grid.optimizer == ("adam",) and grid.base_width == 64 == min(grid.hidden)
    assert len(grid.lr) == 9 and all(b == 2 * a for a, b in zip(grid.lr, grid.lr[1:]))
    trials = grid.trials()
    sp_64 = [t for t in trials if t.hidden == 64 and t.param == "sp"]
    mup_64 = [t for t in trials if t.hidden == 64 and t.param == "mup"]
    assert [t.lr for t in sp_64] == [t.lr for t in mup_64]  # mup = sp at the base width
