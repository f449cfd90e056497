"""``export --format optuna``: a store as an Optuna study, written and read back by the real
Optuna (the storage optuna-dashboard opens): parameters with their distributions, values,
states, learning curves as intermediate values; refused in one line where it may not write."""

from __future__ import annotations

import os
import shutil

import pytest

from helpers import cli, snapshot, trial
from lstm_sweep import Store
from lstm_sweep.study.results import CurvePoint, Status

optuna = pytest.importorskip("optuna")


def _store(db):
    with Store(db) as s:
        for cell in ("lstm", "gru"):
            for hidden in (16, 64):
                for lr in (0.001, 0.01, 0.1):
                    acc = 0.5 + hidden / 400 + (lr == 0.01) * 0.2 + (cell == "lstm") * 0.05
                    s.save(trial(hidden, lr, acc, cell=cell, seed=0, curve=4))
        s.save(trial(16, 1.0, None, cell="lstm", status=Status.OOM))
        s.save(trial(64, 1.0, None, cell="gru", status=Status.FAILED))
        s.save(trial(16, 0.5, 0.3, cell="gru", status=Status.PRUNED))
        s.save(trial(64, 0.5, 0.1, cell="lstm", status=Status.DIVERGED, train_loss=None))


def _load(path, name):
    return optuna.load_study(study_name=name, storage=f"sqlite:///{path}")


def test_a_store_becomes_an_optuna_study(tmp_path):
    db, out = tmp_path / "cells.db", tmp_path / "optuna.db"
    _store(db)
    o = cli("export", "--db", db, "--format", "optuna", "--out", out)
    assert o.code == 0, o.text
    assert o.out == "" and "study 'cells', 16 trials" in o.err and "optuna-dashboard sqlite:///" in o.err
    study = _load(out, "cells")
    assert study.direction == optuna.study.StudyDirection.MAXIMIZE
    states = sorted(str(t.state).split(".")[-1] for t in study.trials)
    assert states == ["COMPLETE"] * 13 + ["FAIL"] * 2 + ["PRUNED"]
    best = study.best_trial
    assert best.params == {"cell": "lstm", "hidden": 64, "lr": 0.01} and best.value == pytest.approx(0.91)
    dist = best.distributions
    assert dist["hidden"] == optuna.distributions.IntDistribution(16, 64, log=True)
    assert dist["lr"] == optuna.distributions.FloatDistribution(0.001, 1.0, log=True)
    assert dist["cell"] == optuna.distributions.CategoricalDistribution(["gru", "lstm"])
    assert best.intermediate_values == {10: 0.5, 20: 0.5, 30: 0.5, 40: 0.5}  # its learning curve
    assert best.user_attrs["status"] == "done" and len(best.user_attrs["key"]) == 32
    assert study.user_attrs["optimizer"] == "adam" and study.user_attrs["steps"] == 30
    pruned = next(t for t in study.trials if str(t.state).endswith("PRUNED"))
    assert pruned.params["lr"] == 0.5 and pruned.user_attrs["val_accuracy"] == 0.3
    assert pruned.user_attrs["steps_done"] == 15 and list(pruned.intermediate_values) == [10]
    importance = optuna.importance.get_param_importances(study)  # what the dashboard shows
    assert set(importance) == {"cell", "hidden", "lr"}


def test_a_study_is_added_beside_others_and_replaced_only_when_asked(tmp_path):
    db, out = tmp_path / "cells.db", tmp_path / "optuna.db"
    _store(db)
    assert cli("export", "--db", db, "--format", "optuna", "--out", out).code == 0
    again = cli("export", "--db", db, "--format", "optuna", "--out", out)
    assert "holds a study named 'cells' already; pass --overwrite" in again.error_line()
    o = cli("export", "--db", db, "--format", "optuna", "--out", out, "--study", "second")
    assert o.code == 0, o.text
    o = cli("export", "--db", db, "--format", "optuna", "--out", out, "--overwrite")
    assert o.code == 0, o.text
    names = sorted(s.study_name for s in optuna.study.get_all_study_summaries(f"sqlite:///{out}"))
    assert names == ["cells", "second"] and len(_load(out, "cells").trials) == 16  # replaced, not doubled


def test_tasks_that_measure_differently_give_a_study_each(tmp_path):
    db, out = tmp_path / "mixed.db", tmp_path / "optuna.db"
    with Store(db) as s:
        for lr in (0.01, 0.1):
            s.save(trial(16, lr, 0.9 - lr))
            s.save(trial(16, lr, 0.5 + lr, task="adding", length=20, curve=(CurvePoint(10, 0.6, 0.55),)))
    o = cli("export", "--db", db, "--format", "optuna", "--out", out)
    assert o.code == 0, o.text
    studies = {s.study_name: s for s in optuna.study.get_all_study_summaries(f"sqlite:///{out}")}
    assert set(studies) == {"mixed-accuracy", "mixed-mse"}
    assert studies["mixed-mse"].direction == optuna.study.StudyDirection.MINIMIZE
    assert _load(out, "mixed-mse").best_trial.params == {"lr": 0.01}  # the lowest MSE


@pytest.mark.parametrize(
    "target",
    ["store", "folder", "fifo", "text", "another store", "missing folder", "s.db?x", "a%41.db", "run{1}.db"],
)
def test_a_target_that_may_not_be_written_is_refused_and_nothing_changes(tmp_path, target):
    db = tmp_path / "s.db"
    _store(db)
    other = tmp_path / "other.db"
    shutil.copy(db, other)
    out = {
        "store": db,
        "folder": tmp_path,
        "fifo": tmp_path / "fifo",
        "text": tmp_path / "notes.txt",
        "another store": other,
        "missing folder": tmp_path / "nope" / "o.db",
    }.get(target, tmp_path / target)
    if target == "fifo":
        os.mkfifo(out)
    if target == "text":
        out.write_text("my notes\n")
    before = snapshot(tmp_path)
    o = cli("export", "--db", db, "--format", "optuna", "--out", out)
    line = o.error_line()
    assert any(
        w in line
        for w in ("store being read", "folder", "FIFO", "no SQLite", "lstm-sweep store", "may not hold ? # %")
    ), line
    assert snapshot(tmp_path) == before


def test_optuna_options_are_given_together(tmp_path):
    db = tmp_path / "s.db"
    _store(db)
    assert "give its file with --out" in cli("export", "--db", db, "--format", "optuna").error_line()
    assert "give it with --format optuna" in cli("export", "--db", db, "--study", "x").error_line()
