"""The store contract, resume, and what a killed sweep leaves behind (real SQLite, real processes)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from helpers import CTRL_C_ABLE, trial
from lstm_sweep.errors import StoreError
from lstm_sweep.running.sweep import SweepCallbacks, pending_trials, run_sweep
from lstm_sweep.store import Store, load_results
from lstm_sweep.study.config import Grid, TrialConfig
from lstm_sweep.training.train import Status


@pytest.fixture(params=["sqlite"])
def store(request, tmp_path):
    """Every backend of the contract (SQLite so far)."""
    with Store(tmp_path / "results.db") as s:
        yield s


def test_save_and_read_back(store):
    r = trial(curve=4, steps=40)
    store.save(r, {"torch": "x"})
    (back,) = store.results(with_curves=True)
    assert back == r
    assert store.statuses() == {r.key: Status.DONE}
    assert list(store.environments().values()) == [{"torch": "x"}]


def test_same_trial_saved_twice_is_one_row(store):
    store.save(trial(acc=0.5, curve=5, steps=50))
    store.save(trial(acc=0.7, curve=2, steps=50))
    (back,) = store.results(with_curves=True)
    assert back.test_accuracy == 0.7 and len(back.curve) == 2


def test_every_status_round_trips(store):
    for i, status in enumerate(Status):
        store.save(trial(hidden=8 + i, status=status, acc=None if status is Status.OOM else 0.1))
    assert {r.status for r in store.results()} == set(Status)
    failed = next(r for r in store.results() if r.status is Status.FAILED)
    assert failed.error == "boom"


def test_pending_skips_finished_and_retries_on_request(store):
    trials = [TrialConfig(hidden=16, lr=lr, steps=30) for lr in (1e-3, 1e-2, 1e-1)]
    store.save(trial(lr=1e-3))
    store.save(trial(lr=1e-2, status=Status.FAILED))
    assert pending_trials(trials, store) == [trials[2]]
    assert pending_trials(trials, store, frozenset({Status.FAILED})) == trials[1:]


def test_not_a_database_is_refused_and_untouched(tmp_path):
    path = tmp_path / "notes.db"
    path.write_text("my precious notes\n")
    with pytest.raises(StoreError, match="not an SQLite database"):
        Store(path)
    assert path.read_text() == "my precious notes\n"


def test_another_programs_sqlite_is_refused_and_untouched(tmp_path):
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with pytest.raises(StoreError, match="another program"):
        Store(path)
    assert path.read_bytes() == before


def test_reading_never_creates_a_store(tmp_path):
    with pytest.raises(StoreError, match="no results store"):
        load_results(tmp_path / "missing.db")
    assert not (tmp_path / "missing.db").exists()


@pytest.mark.slow
def test_resume_runs_only_the_missing_trials(mnist, tmp_path):
    db = tmp_path / "r.db"
    small = Grid(hidden=(8,), lrs=(1e-2,), steps=20)
    run_sweep(small, mnist, db, device="cpu")
    before = load_results(db)
    ran = []
    grid = Grid(hidden=(8,), lrs=(1e-2, 1e-1), steps=20)
    summary = run_sweep(
        grid, mnist, db, device="cpu", callbacks=SweepCallbacks(on_unit_start=lambda u: ran.extend(u.configs))
    )
    assert (summary.total, summary.skipped, summary.ran) == (2, 1, 1)
    assert [c.lr for c in ran] == [1e-1]
    after = load_results(db)
    assert len(after) == 2 and before[0] in after
    assert run_sweep(grid, mnist, db, device="cpu").ran == 0


def _sweep_cmd(db, lrs):
    return [
        sys.executable,
        "-m",
        "lstm_sweep.cli",
        "run",
        "--hidden",
        "16",
        "--lr",
        lrs,
        "--steps",
        "150",
        "--device",
        "cpu",
        "--db",
        str(db),
        "--no-progress",
    ]


def _wait_for_rows(db, n, proc, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        assert proc.poll() is None, "the sweep ended before it could be interrupted"
        if db.exists():
            try:
                conn = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)
                (count,) = conn.execute("SELECT count(*) FROM trials").fetchone()
                conn.close()
                if count >= n:
                    return
            except sqlite3.OperationalError:
                pass
        time.sleep(0.05)
    pytest.fail("no trial finished in time")


def _check_consistent(db):
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    rows = conn.execute(
        "SELECT t.key, t.steps_done, count(c.step) FROM trials t LEFT JOIN curves c "
        "ON c.key = t.key GROUP BY t.key"
    ).fetchall()
    conn.close()
    for key, steps_done, points in rows:
        assert points == steps_done // 10, f"trial {key} stored without its whole curve"
    return len(rows)


LRS = ",".join(f"{k}e-3" for k in range(1, 9))  # 8 trials


@pytest.mark.slow
@pytest.mark.parametrize("sig, code", [(signal.SIGKILL, -9), (signal.SIGINT, 130)])
def test_killed_sweep_loses_nothing_and_rerun_completes(mnist_dir, tmp_path, sig, code):
    db = tmp_path / "k.db"
    env = {**os.environ, "LSTM_SWEEP_DATA_DIR": str(mnist_dir)}
    proc = subprocess.Popen(
        _sweep_cmd(db, LRS), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **CTRL_C_ABLE
    )
    try:
        _wait_for_rows(db, 2, proc)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == code
    if sig == signal.SIGINT:
        assert "finished trials are saved" in err
    kept = _check_consistent(db)
    assert 2 <= kept < 8
    before = {r.key: r for r in load_results(db)}
    rerun = subprocess.run(_sweep_cmd(db, LRS), env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{kept} already stored, {8 - kept} to run" in rerun.stderr
    assert _check_consistent(db) == 8
    after = {r.key: r for r in load_results(db)}
    assert all(after[k] == r for k, r in before.items())  # finished trials were not redone


def test_a_driver_sees_other_processes_writes_while_it_opens_more_connections(tmp_path):
    """A driver holds two connections to its store (the sweep's and its heartbeat's) and reads
    the store again and again. Another process's commits must stay visible to it: this process
    never opens and closes the store's file itself, which would drop SQLite's POSIX locks and
    let the other process delete the WAL under it (its reads then froze at an old snapshot, so
    live claims looked dead and were taken over)."""
    import subprocess

    from lstm_sweep.store import Driver

    db = tmp_path / "s.db"
    main = Store(db)
    main.claim(["k"], Driver())
    heartbeat = Store(db)  # a second connection in this process, as a driver's heartbeat has
    seen = []
    for _ in range(4):
        main.results()  # reads (and checks that the file is whole) as a waiting driver does
        subprocess.run(
            [
                sys.executable,
                "-c",
                f"""
import sqlite3, time
c = sqlite3.connect({str(db)!r}, timeout=60)
with c:
    c.execute("UPDATE claims SET heartbeat = heartbeat + 1")
c.close()""",
            ],
            check=True,
            timeout=120,
        )
        seen.append(main.claims()[0].heartbeat)
    assert [b - seen[0] for b in seen] == [0, 1, 2, 3]  # every commit seen, none frozen
    heartbeat.close()
    main.close()
