"""A validation curve every N steps (``--val-every``): measured on the whole validation split
while training, it changes nothing of the training, each point is the validation accuracy a
trial stopped there would have, it survives a kill and a resume, is stored, checked, plotted,
published to the live page and exported; a bad interval is one ``Error:`` line."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from dataclasses import replace

import pytest
import torch

from helpers import cli, trial
from lstm_sweep import Store, TrialConfig
from lstm_sweep.errors import ConfigError
from lstm_sweep.reporting.plots import curve_series, plot_curves
from lstm_sweep.running.cost import VALIDATION_IMAGES, config_step_flops, trial_flops
from lstm_sweep.store import load_results
from lstm_sweep.study.live import MAX_LIVE_POINTS, encode_live, live_path, read_live
from lstm_sweep.study.results import CurvePoint
from lstm_sweep.training.checkpoint import CheckpointDir, Checkpointing
from lstm_sweep.training.train import train_group


class Stop(BaseException):
    """Stands for a kill: raised from inside the training loop."""


def _configs(steps: int = 40) -> list[TrialConfig]:
    return [
        TrialConfig(hidden=16, lr=lr, seed=s, data_seed=0, steps=steps, batch_size=50)
        for lr in (1e-2, 5e-2)
        for s in (0, 1)
    ]


def _batch(result) -> list[tuple]:
    return [(p.step, p.loss, p.accuracy) for p in result.curve]


@pytest.mark.parametrize("engine", ["single", "fused"])
def test_a_validation_curve_changes_nothing_and_is_what_a_shorter_trial_scores(mnist, engine):
    torch.set_num_threads(1)
    configs = _configs()[: 1 if engine == "single" else 4]
    plain = train_group(configs, mnist, engine=engine)
    measured = train_group(configs, mnist, engine=engine, val_every=20)
    shorter = train_group([replace(c, steps=20) for c in configs], mnist, engine=engine)
    for p, m, s in zip(plain, measured, shorter):
        # the training is untouched: the same numbers, bit for bit
        for field in ("test_accuracy", "val_accuracy", "train_loss"):
            assert getattr(m, field) == getattr(p, field)
        assert _batch(m) == _batch(p)
        assert all(q.val is None for q in p.curve)  # asked for nothing, measured nothing extra
        vals = {q.step: q.val for q in m.curve}
        assert vals[10] is None and vals[30] is None
        assert vals[20] == s.val_accuracy  # the validation accuracy of a trial stopped at step 20
        assert vals[40] == m.val_accuracy  # the last one is the trial's own (measured once)


def test_a_validation_curve_survives_a_kill_and_resumes_bit_for_bit(mnist, tmp_path):
    torch.set_num_threads(1)
    configs = _configs()
    reference = train_group(configs, mnist, engine="fused", val_every=20)
    policy = Checkpointing(CheckpointDir(tmp_path), 0)  # a checkpoint at every curve point

    def stop_at_30(done, total):
        if done == 30:
            raise Stop

    with pytest.raises(Stop):
        train_group(configs, mnist, engine="fused", checkpointing=policy, on_step=stop_at_30, val_every=20)
    resumed = train_group(configs, mnist, engine="fused", checkpointing=policy, val_every=20)
    for a, b in zip(reference, resumed):
        assert a.curve == b.curve and a.val_accuracy == b.val_accuracy  # step 20's point kept


@pytest.mark.parametrize("bad", [0, -10, 15, 25, 1.5, True, "20"])
def test_a_validation_interval_off_the_curve_steps_is_refused(mnist, bad):
    with pytest.raises(ConfigError, match="val_every="):
        train_group(_configs()[:1], mnist, engine="single", val_every=bad)


def test_the_store_keeps_checks_and_migrates_the_validation_curve(tmp_path):
    curve = (CurvePoint(10, 1.0, 0.5), CurvePoint(20, 0.5, 0.7, 0.81), CurvePoint(30, 0.4, 0.75, 0.84))
    t = trial(16, 0.01, 0.85, curve=curve)
    db = tmp_path / "s.db"
    with Store(db) as s:
        s.save(t)
    (back,) = load_results(db, with_curves=True)
    assert back.curve == curve
    assert cli("check", "--db", db).out.startswith(f"{db}: ok — 1 trial")
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE curves SET val = 1.5 WHERE step = 20")
    o = cli("check", "--db", db)
    assert o.code != 0 and "curve val at step 20 is 1.5, not a fraction" in o.out + o.err


def test_a_store_of_schema_3_reads_as_it_is_and_gains_the_column_when_written(tmp_path):
    db = tmp_path / "s.db"
    with Store(db) as s:
        s.save(trial(16, 0.01, 0.85))
    with sqlite3.connect(db) as conn:  # as lstm-sweep 3's stores are: no val column
        conn.execute("ALTER TABLE curves DROP COLUMN val")
        conn.execute("UPDATE meta SET value = '3' WHERE name = 'schema_version'")
    before = db.read_bytes()
    (old,) = load_results(db, with_curves=True)
    assert len(old.curve) == 3 and all(p.val is None for p in old.curve)
    assert db.read_bytes() == before  # read as it is
    with Store(db) as s:
        assert s.schema_version == 4
        s.save(trial(32, 0.01, 0.9, curve=(CurvePoint(10, 1.0, 0.5, 0.6),)))
    last = {r.config.hidden: r.curve[-1].val for r in load_results(db, with_curves=True)}
    assert last == {16: None, 32: 0.6}


def test_the_live_file_keeps_every_validation_point_of_a_long_curve(tmp_path):
    config = TrialConfig(hidden=16, lr=0.01, steps=100_000)
    curve = [(s, 1.0 / s, 0.5, 0.6 if s % 5_000 == 0 else None) for s in range(10, 100_001, 10)]
    path = live_path(tmp_path, config.key())
    path.write_bytes(encode_live(config, 100_000, curve))
    got = read_live(tmp_path, config.key())
    assert got is not None
    assert [p[0] for p in got["curve"] if p[3] is not None] == list(range(5_000, 100_001, 5_000))
    assert MAX_LIVE_POINTS <= len(got["curve"]) <= MAX_LIVE_POINTS + 20
    # a file of an older lstm-sweep (three numbers a point) reads with no validation value
    old = json.loads(path.read_bytes())
    old["curve"] = [p[:3] for p in old["curve"]][:5]
    path.write_text(json.dumps(old))
    assert [p[3] for p in read_live(tmp_path, config.key())["curve"]] == [None] * 5


def test_the_plan_counts_the_validation_passes():
    c = TrialConfig(hidden=64, lr=0.01, steps=999)
    forward = config_step_flops(c) / 3
    # at 100, 200, ..., 900: nine passes over the validation split (the last step's is the trial's)
    extra = trial_flops(c, 100) - trial_flops(c)
    assert extra == pytest.approx(9 * forward * VALIDATION_IMAGES / c.batch_size)
    assert trial_flops(c, 1000) == trial_flops(c)


def test_run_val_every_stores_plots_and_exports_a_validation_curve(mnist_dir, tmp_path):
    db = tmp_path / "v.db"
    base = ("--hidden", "16", "--lr", "0.01,0.1", "--steps", "40", "--data-dir", mnist_dir, "--db", db)
    o = cli("run", *base, "--val-every", "20", "--no-progress")
    assert o.code == 0, o.err
    results = load_results(db, with_curves=True)
    assert len(results) == 2
    for r in results:
        assert [p.step for p in r.curve if p.val is not None] == [20, 40]
        assert r.curve[-1].val == r.val_accuracy
    o = cli("plot", "--db", db, "--kind", "curves", "--out", tmp_path / "fig")
    assert o.code == 0 and (tmp_path / "fig" / "curves.png").stat().st_size > 0
    # the figure: each trial's validation points dashed, with dots, in the metric's panel
    fig = plot_curves(curve_series(results, hidden=16))
    dashed = [line for line in fig.axes[1].get_lines() if line.get_linestyle() == "--"]
    assert sorted(tuple(line.get_ydata()) for line in dashed) == sorted(
        tuple(p.val for p in r.curve if p.val is not None) for r in results
    )
    assert [t.get_text() for t in fig.axes[1].get_legend().get_texts()][-2:] == ["batch", "validation"]
    rows = list(csv.DictReader(io.StringIO(cli("export", "--db", db, "--curves").out)))
    assert {(int(row["step"]), row["val_metric"] != "") for row in rows} == {
        (10, False),
        (20, True),
        (30, False),
        (40, True),
    }
    o = cli("export", "--db", db, "--format", "tensorboard", "--out", tmp_path / "tb")
    assert o.code == 0, o.err
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run = next(p for p in (tmp_path / "tb").iterdir() if p.is_dir())
    acc = EventAccumulator(str(run))
    acc.Reload()
    assert [e.step for e in acc.Scalars("validation/accuracy")] == [20, 40]


@pytest.mark.parametrize("value", ["15", "0", "-20", "x", "1e2"])
def test_a_bad_val_every_is_one_error_line_and_creates_nothing(tmp_path, value):
    db = tmp_path / "v.db"
    o = cli("run", "--hidden", "16", "--lr", "0.01", "--steps", "40", "--val-every", value, "--db", db)
    assert o.code == 2 and o.error_line().startswith("Error:") and "--val-every" in o.error_line()
    assert not db.exists()
