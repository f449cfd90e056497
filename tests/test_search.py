"""Search: each width's best rate for a fraction of the grid, by successive halving over rates
(validation accuracy at each rung, survivors continued from their checkpoints), winners finished
with the full protocol. What it stores is the grid's own trials: the winners exactly as `run`
stores them, the others as pruned (finished by `run --retry pruned` into the full grid, bit for
bit); a search killed with kill -9 and started again ends as if it never stopped."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time

import pytest

from helpers import LSTM_SWEEP, cli, last_wins
from lstm_sweep import Grid, build_tables, findings, render_export, render_tables
from lstm_sweep.running.search import (
    default_rungs,
    in_window,
    planned_counts,
    search_rows,
)
from lstm_sweep.store import load_results
from lstm_sweep.study.results import Status
from lstm_sweep.training.checkpoint import CheckpointDir, checkpoint_dir

GRID = [
    "--hidden",
    "8,16",
    "--lr",
    "1e-3,1e-2,1e-1,1",
    "--seeds",
    "0,1",
    "--steps",
    "60",
    "--batch-size",
    "50",
    "--device",
    "cpu",
    "--workers",
    "1",
]


def same(a, b) -> bool:
    fields = ("status", "test_accuracy", "val_accuracy", "train_loss", "steps_done", "curve")
    return all(getattr(a, f) == getattr(b, f) for f in fields)


def _env(mnist_dir):
    return {**os.environ, "LSTM_SWEEP_DATA_DIR": str(mnist_dir), "OMP_NUM_THREADS": "1"}


def _cmd(*args, env, timeout=600):
    return subprocess.run(
        [LSTM_SWEEP, *map(str, args)], env=env, capture_output=True, text=True, timeout=timeout
    )


def _by_key(db):
    return {r.key: r for r in load_results(db, with_curves=True)}


@pytest.fixture(scope="module")
def searched(tmp_path_factory, mnist_dir):
    """The small grid searched, and the same grid run in full (each in its own store)."""
    tmp = tmp_path_factory.mktemp("search")
    env = _env(mnist_dir)
    search = _cmd("search", *GRID, "--db", tmp / "s.db", env=env)
    assert search.returncode == 0, search.stderr
    full = _cmd("run", *GRID, "--no-progress", "--db", tmp / "full.db", env=env)
    assert full.returncode == 0, full.stderr
    return tmp, search, env


@pytest.mark.slow
def test_search_stores_winners_in_full_and_the_rest_as_pruned(searched):
    tmp, search, _ = searched
    results = load_results(tmp / "s.db")
    assert len(results) <= 16
    rows = {}
    for r in results:
        rows.setdefault(r.config.hidden, []).append(r)
    assert sorted(rows) == [8, 16]
    for rs in rows.values():
        done = [r for r in rs if r.status is Status.DONE]
        assert done and all(r.steps_done == 60 and r.test_accuracy is not None for r in done)
        for r in rs:
            if r.status is Status.PRUNED:
                assert r.steps_done in (6, 20) and r.val_accuracy is not None
                assert r.test_accuracy is None
    assert "pruned@" in search.stdout  # the table shows them as such, not as failures
    assert "pruned@N: a search stopped it after N steps" in search.stdout
    assert "of the full grid's" in search.stderr and "best rate" in search.stderr


@pytest.mark.slow
def test_the_winners_are_the_trials_run_stores_and_run_does_not_train_them_again(searched):
    tmp, _, env = searched
    full, got = _by_key(tmp / "full.db"), _by_key(tmp / "s.db")
    finished = [k for k, r in got.items() if r.status is not Status.PRUNED]
    assert finished
    assert all(same(got[k], full[k]) for k in finished)  # same key, same numbers
    # a later run of the grid trains none of them: only the rates the window never tried
    copy = tmp / "again.db"
    copy.write_bytes((tmp / "s.db").read_bytes())
    again = _cmd("run", *GRID, "--no-progress", "--db", copy, env=env)
    assert again.returncode == 0, again.stderr
    assert f"{16 - len(got)} trials run" in again.stderr and f"{len(got)} already in" in again.stderr, (
        again.stderr
    )
    after = _by_key(copy)
    assert all(same(after[k], got[k]) for k in got)


@pytest.mark.slow
def test_the_search_picks_each_width_best_rate_by_validation(searched):
    """Where the full grid's best (by mean validation accuracy over the two seeds) is clearly
    ahead at the end, the search found it; the row's result says which rates it tried."""
    tmp, search, _ = searched
    full = load_results(tmp / "full.db")
    for hidden in (8, 16):
        by_rate: dict[float, list[float]] = {}
        for r in full:
            if r.config.hidden == hidden:
                by_rate.setdefault(r.config.lr, []).append(r.val_accuracy or 0.0)
        means = sorted(((sum(v) / len(v), lr) for lr, v in by_rate.items()), reverse=True)
        best = means[0][1]
        line = next(x for x in search.stderr.splitlines() if x.startswith(f"hidden {hidden}: best rate"))
        found = float(line.split("best rate ")[1].split()[0])
        assert found == best or means[0][0] - dict((lr, m) for m, lr in means)[found] < 0.02, (line, means)


@pytest.mark.slow
def test_retry_pruned_finishes_them_from_their_checkpoints_into_the_full_grid(searched):
    tmp, _, env = searched
    db = tmp / "s.db"
    stored = _by_key(db)
    pruned = [k for k, r in stored.items() if r.status is Status.PRUNED]
    missing = 16 - len(stored)  # rates the window never tried: trained now, from the beginning
    folder = CheckpointDir(checkpoint_dir(db))
    assert pruned and set(pruned) <= set(folder.keys())  # kept for this
    o = _cmd("run", *GRID, "--no-progress", "--retry", "pruned", "--db", db, env=env)
    assert o.returncode == 0, o.stderr
    got, full = _by_key(db), _by_key(tmp / "full.db")
    assert f"{len(pruned) + missing} trials run" in o.stderr
    assert got.keys() == full.keys() and all(same(got[k], full[k]) for k in full)
    assert folder.keys() == []


def _rows(db) -> list[tuple]:
    if not db.exists():
        return []
    try:
        conn = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)
        rows = conn.execute("SELECT key, status FROM trials").fetchall()
        conn.close()
        return rows
    except sqlite3.Error:
        return []


@pytest.mark.slow
def test_a_search_killed_with_kill_9_resumes_to_the_same_store(searched, tmp_path):
    ref_tmp, _, env = searched
    db = tmp_path / "k.db"
    args = [LSTM_SWEEP, "search", *GRID, "--db", str(db)]
    kills = 0
    for want in (1, 6, 9):  # after the first, the sixth, the ninth stored trial
        proc = subprocess.Popen(
            args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        deadline = time.time() + 300
        while len(_rows(db)) < want and proc.poll() is None and time.time() < deadline:
            time.sleep(0.02)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            kills += 1
        proc.wait(timeout=60)
    o = _cmd("search", *GRID, "--db", db, env=env)
    assert o.returncode == 0, o.stderr
    assert kills >= 2
    ref = {k: v for k, v in _by_key(ref_tmp / "full.db").items()}
    got = _by_key(db)
    for key, r in got.items():  # every finished trial is the full grid's; pruned ones agree
        if r.status is not Status.PRUNED:
            assert same(r, ref[key])
    searched_once = subprocess.run(
        [LSTM_SWEEP, "search", *GRID, "--db", str(tmp_path / "o.db")],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert searched_once.returncode == 0
    once = _by_key(tmp_path / "o.db")
    assert once.keys() == got.keys()
    assert all(same(once[k], got[k]) for k in once)


# --------------------------------------------------------------------------- refusals


@pytest.mark.parametrize("command", ["search", "transfer"])
def test_one_rate_is_refused_before_any_data_is_looked_for(tmp_path, command):
    """One rate is a usage error, named by its option, before the (here empty) data folder is read."""
    empty = tmp_path / "no-data"
    empty.mkdir()
    o = cli(command, "--hidden", "8,16,32,64", "--lr", "0.01", "--data-dir", empty, "--db", tmp_path / "s.db")
    assert o.code == 2 and f"Error: {command} chooses among learning rates: give --lr" in o.error_line()
    assert not (tmp_path / "s.db").exists() and list(empty.iterdir()) == []


@pytest.mark.parametrize(
    "args,words",
    [
        (["--eta", "1"], "--eta"),
        (["--rungs", "0"], "--rungs"),
        (["--rungs", "61"], "--rungs are steps from 1"),
        (["--window", "1"], "not a factor above 1"),
        (["--window", "x<b>"], "not a factor above 1"),
        (["--lr", "1e-2"], "give --lr two or more"),
        (["--checkpoint-every", "off"], "continues its trials from their checkpoints"),
        (["--steps", "60,90"], "one --steps value"),
    ],
)
def test_bad_search_input_is_refused_and_the_store_untouched(tmp_path, mnist_dir, args, words):
    db = tmp_path / "s.db"
    base = [
        "--hidden",
        "8",
        "--lr",
        "1e-3,1e-2",
        "--steps",
        "60",
        "--device",
        "cpu",
        "--data-dir",
        mnist_dir,
        "--db",
        db,
    ]
    o = cli(*last_wins("search", *base, *args))
    assert words in o.error_line()
    assert not db.exists() and not checkpoint_dir(db).exists()


# --------------------------------------------------------------------------- its parts


def test_rungs_windows_and_counts():
    assert default_rungs(999) == (111, 333, 999)
    assert default_rungs(60) == (6, 20, 60)
    assert default_rungs(5, 3) == (1, 5)
    assert planned_counts(6, (111, 333, 999), 3) == [6, 2, 1]
    assert planned_counts(17, (1, 2, 3), 2) == [17, 9, 5]
    rates = (1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0)
    assert in_window(rates, 1e-2, 10) == [1e-3, 1e-2, 1e-1]
    assert in_window(rates, None, 10) == list(rates)
    assert in_window(rates, 1e-2, None) == list(rates)
    grid = Grid(hidden=(32, 16), lr=(1e-2, 1e-3), seeds=(0, 1), cell=("lstm", "gru"))
    rows = search_rows(grid.trials())
    assert [(r.proto.cell, r.hidden) for r in rows] == [("lstm", 16), ("lstm", 32), ("gru", 16), ("gru", 32)]
    assert all(r.rates == (1e-3, 1e-2) and len(r.trials[1e-3]) == 2 for r in rows)


def test_pruned_trials_in_tables_export_and_findings():
    from helpers import trial

    stored = [
        trial(16, lr, 0.9 if lr == 1e-2 else None, status=Status.DONE if lr == 1e-2 else Status.PRUNED)
        for lr in (1e-3, 1e-2, 1e-1)
    ]
    stored = [
        r if r.status is Status.DONE else r.__class__(**{**r.__dict__, "steps_done": 6, "val_accuracy": 0.5})
        for r in stored
    ]
    text = render_tables(build_tables(stored))
    assert text.count("pruned@6") == 2 and "failed" not in text
    csv = render_export(stored, "csv")
    assert csv.count(",pruned,") == 2
    said = " ".join(f.text for f in findings(stored))
    assert "fail" not in said.lower() or "No tested rate made training fail" in said
    assert "A search pruned 2 of 3 cells" in said


def test_the_log_says_a_rung_s_trials_continue_and_names_no_winner_pruned(tmp_path, mnist_dir):
    """A trial at a rung is "at step N" (ranked next: it continues or stops), never "pruned@N"
    before it goes on to win; the rungs after the first say how many continue."""
    o = cli(
        "search", "--hidden", "8", "--lr", "0.001,0.01,0.1,1", "--steps", "9", "--data-dir", mnist_dir,
        "--db", tmp_path / "s.db",
    )  # fmt: skip
    assert o.code == 0, o.text
    log = [line for line in o.err.splitlines() if line.startswith(("hidden 8:", "  hidden 8"))]
    assert log[0] == "hidden 8: 4 trials to step 1"
    assert "hidden 8: 2 trials continue to step 3" in log and "hidden 8: 1 trial continues to step 9" in log
    assert sum(" at step 1 validation " in line for line in log) == 4
    assert sum("done@9" in line for line in log) == 1 and not any("pruned@" in line for line in log)
