"""Real driver processes on one real store: kill -9 at random moments, two drivers at once, a
driver frozen mid-unit. Counted: rows lost, trials trained twice, claims left behind."""

from __future__ import annotations

import os
import random
import re
import signal
import sqlite3
import subprocess
import time

import pytest

from helpers import LSTM_SWEEP, ClaimBeater, Lines
from lstm_sweep.store import load_results

TRIAL_LINE = re.compile(r"^\[\d+/\d+\] (hidden \d+ lr \S+ seed \d+): ", re.M)


def _cmd(db, lrs, steps=150, *extra):
    return [
        LSTM_SWEEP,
        "run",
        "--hidden",
        "16",
        "--lr",
        lrs,
        "--steps",
        str(steps),
        "--device",
        "cpu",
        "--workers",
        "1",
        "--db",
        str(db),
        "--no-progress",
        *extra,
    ]


def _env(mnist_dir, **more):
    return {**os.environ, "LSTM_SWEEP_DATA_DIR": str(mnist_dir), **more}


def _rows(db):
    if not db.exists():
        return 0
    try:
        conn = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)
        try:
            return conn.execute("SELECT count(*) FROM trials").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.OperationalError:
        return 0


def _claims(db):
    conn = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT key, pid FROM claims").fetchall()
    except sqlite3.OperationalError:  # no claims table yet
        return []
    finally:
        conn.close()


def _trained(stderr: str) -> list[str]:
    """The trials a driver trained and stored (one line each, printed after the commit)."""
    return TRIAL_LINE.findall(stderr)


LRS = ",".join(f"{k}e-3" for k in range(1, 13))  # 12 trials


@pytest.mark.slow
def test_kill_9_at_random_moments_loses_nothing_and_reruns_nothing(mnist_dir, tmp_path):
    db = tmp_path / "k.db"
    rng = random.Random(9)
    trained: list[str] = []
    kills = 0
    stored_at: dict[str, float] = {}
    rounds = int(os.environ.get("LSTM_SWEEP_KILLS", "5"))
    for _ in range(rounds):
        proc = subprocess.Popen(
            _cmd(db, LRS, 600), env=_env(mnist_dir), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        time.sleep(rng.uniform(0.5, 4.0))  # start-up, planning, mid-trial (~1.5 s a trial)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        _, err = proc.communicate(timeout=120)
        trained += _trained(err)
        for r in load_results(db) if db.exists() and _rows(db) else []:
            # a finished trial is never written again: its row stays as it was
            assert stored_at.setdefault(r.key, r.started_at) == r.started_at
    rows_before_final = load_results(db) if db.exists() and _rows(db) else []
    final = subprocess.run(
        _cmd(db, LRS, 600), env=_env(mnist_dir), capture_output=True, text=True, timeout=300
    )
    assert final.returncode == 0, final.stderr
    trained += _trained(final.stderr)
    assert kills >= min(3, rounds)
    print(
        f"\nkill loop: {kills} kills survived, {len(rows_before_final)} rows before the final "
        f"run, {len(trained)} trials trained"
    )
    rows = load_results(db, with_curves=True)
    assert len(rows) == 12 and all(len(r.curve) == 60 for r in rows)  # 0 lost, each whole
    assert len(trained) == len(set(trained)) == 12  # 0 trained twice
    assert _claims(db) == []  # the killed drivers' claims were taken over and ended
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    conn.close()


def _wait_until(condition, what: str, limit: float = 600, proc=None):
    """Poll ``condition`` (a read of the store: an event, not a duration) until it holds."""
    give_up = time.monotonic() + limit
    while not condition():
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"the driver ended before {what}")
        if time.monotonic() > give_up:
            pytest.fail(f"no {what} in {limit} s")
        time.sleep(0.05)


def _driver_stopped_at_its_first_claim(db, lrs, steps, env) -> subprocess.Popen:
    """Driver A, started and stopped (SIGSTOP) as soon as it holds a claim (an event)."""
    a = subprocess.Popen(
        _cmd(db, lrs, steps), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        _wait_until(lambda: db.exists() and _claims(db), "claim by driver A", proc=a)
    except BaseException:
        a.kill()
        raise
    a.send_signal(signal.SIGSTOP)
    return a


@pytest.mark.slow
def test_two_drivers_split_one_grid_and_each_trial_is_trained_once(mnist_dir, tmp_path):
    """Driver A is stopped (SIGSTOP) right after its first claim and goes on only once driver B
    holds a claim too: each trains some of the grid however the two start up. The claim
    timeout is an hour, so that A's stop, however long B's start takes, is no reason to take
    its claim over."""
    db = tmp_path / "two.db"
    # one core each: two drivers that each spin all cores' OpenMP threads slow down many-fold
    env = _env(mnist_dir, OMP_NUM_THREADS="1", LSTM_SWEEP_CLAIM_TIMEOUT="3600")
    a, b = _driver_stopped_at_its_first_claim(db, LRS, 600, env), None
    try:
        b = subprocess.Popen(
            _cmd(db, LRS, 600), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        _wait_until(lambda: any(pid == b.pid for _, pid in _claims(db)), "claim by driver B", proc=b)
        a.send_signal(signal.SIGCONT)
        outs = [p.communicate(timeout=600) for p in (a, b)]
    finally:
        for p in (a, b):
            if p is not None:
                p.kill()
                p.wait(timeout=30)
    assert [p.returncode for p in (a, b)] == [0, 0], [e for _, e in outs]
    trained = [_trained(err) for _, err in outs]
    everything = trained[0] + trained[1]
    assert len(everything) == len(set(everything)) == 12  # each trial trained once
    assert all(trained), f"one driver trained everything: {[len(t) for t in trained]}"
    for (out, err), mine in zip(outs, trained):
        assert f"{12 - len(mine)} by another driver" in err
        assert out.count("0.0") >= 1 and len(out.strip().splitlines()) == 4  # the whole row
    assert len(load_results(db)) == 12
    assert _claims(db) == []


@pytest.mark.slow
def test_a_frozen_drivers_claim_is_taken_over_after_the_timeout(mnist_dir, tmp_path):
    """Driver A is stopped (SIGSTOP) while it trains: alive, but its heartbeat stops. Driver B
    trains the rest of the grid, waits for A's trial, takes A's claim over once its heartbeat is
    older than the timeout, trains it and completes the grid.

    Until B says it waits, the test beats for A (as A's own thread would before it froze): B
    meets a live claim however long its start and its own trials take; A's heartbeat stops
    only then, so the takeover comes a whole timeout after the last beat on any machine."""
    db = tmp_path / "frozen.db"
    lrs = "1e-3,2e-3,3e-3"
    timeout = 20
    env = _env(mnist_dir, LSTM_SWEEP_CLAIM_TIMEOUT=str(timeout))  # beats every 5 s
    a, b = _driver_stopped_at_its_first_claim(db, lrs, 300, env), None
    try:
        ((key, pid),) = _claims(db)
        assert pid == a.pid
        b = subprocess.Popen(
            _cmd(db, lrs, 300), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        lines = Lines(b)
        with ClaimBeater(db, a.pid) as beater:  # beats for A until B says it waits
            line = lines.wait_for("waiting for")
        assert "waiting for 1 trial being trained by another driver" in line
        assert b.wait(timeout=600) == 0, lines.text()
        err = lines.text()
        # taken over only once the last heartbeat written was a timeout old
        assert time.time() - beater.last >= timeout
        assert len(_trained(err)) == 3 and len(load_results(db)) == 3
        assert _claims(db) == []
    finally:
        for p in (a, b):
            if p is not None:
                p.send_signal(signal.SIGKILL)
                p.wait(timeout=30)


def test_ctrl_c_and_errors_end_the_drivers_claims(mnist_dir, tmp_path):
    db = tmp_path / "int.db"
    proc = subprocess.Popen(
        _cmd(db, "1e-3,2e-3", 3000),
        env=_env(mnist_dir),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 120
    while not (db.exists() and _claims(db)) and time.time() < deadline:
        time.sleep(0.05)
    assert _claims(db)
    proc.send_signal(signal.SIGTERM)  # as Ctrl-C: claims released, exit 130
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "finished trials are saved" in err
    assert _claims(db) == []


@pytest.mark.parametrize("extra", [["--ray-address", "127.0.0.1:1", "--executor", "local"]])
def test_claims_need_no_ray_for_refusals(extra, tmp_path, mnist_dir):
    proc = subprocess.run(
        _cmd(tmp_path / "x.db", "1e-3", 5, *extra),
        env=_env(mnist_dir),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2 and not (tmp_path / "x.db").exists()


def _open_store(path, barrier, results):
    from lstm_sweep.store import Store

    barrier.wait()
    try:
        with Store(path):
            results.put("ok")
    except Exception as e:  # noqa: BLE001 - reported to the test
        results.put(f"{type(e).__name__}: {e}")


@pytest.mark.slow
def test_drivers_creating_one_new_store_at_the_same_moment_all_succeed(tmp_path):
    """Four processes open one new store at once, 10 times: each sees it empty or whole (it was
    'another program's file' or 'database is locked' for some before this was fixed)."""
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    outcomes = []
    for i in range(10):
        barrier, results = ctx.Barrier(4), ctx.Queue()
        procs = [
            ctx.Process(target=_open_store, args=(tmp_path / f"s{i}.db", barrier, results)) for _ in range(4)
        ]
        for p in procs:
            p.start()
        outcomes += [results.get(timeout=120) for _ in procs]
        for p in procs:
            p.join(timeout=60)
    assert outcomes == ["ok"] * 40
