"""The Ray executor on a real Ray cluster on 127.0.0.1: same results as the local executor,
a worker killed mid-task, the driver killed mid-sweep. Every test cleans up the processes it
started, by process group."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers import LSTM_SWEEP
from lstm_sweep.store import load_results

ray = pytest.importorskip("ray")

# every test starts a Ray cluster and drivers: the full suite only
pytestmark = pytest.mark.slow

GRID = ["--hidden", "8,16", "--lr", "1e-3,1e-2,1e-1", "--steps", "40", "--device", "cpu", "--no-progress"]
RAY = str(Path(sys.executable).with_name("ray"))


def _run(args, env, timeout=240):
    return subprocess.run(
        [LSTM_SWEEP, "run", *GRID, *args], env=env, capture_output=True, text=True, timeout=timeout
    )


def test_ray_results_equal_the_local_executor(head, mnist_dir, tmp_path):
    address, env = head
    env = {**env, "LSTM_SWEEP_DATA_DIR": str(mnist_dir)}
    t0 = time.perf_counter()
    local = _run(["--db", str(tmp_path / "local.db"), "--workers", "2"], env)
    t_local = time.perf_counter() - t0
    t0 = time.perf_counter()
    on_ray = _run(["--db", str(tmp_path / "ray.db"), "--executor", "ray", "--ray-address", address], env)
    t_ray = time.perf_counter() - t0
    assert local.returncode == 0, local.stderr
    assert on_ray.returncode == 0, on_ray.stderr
    a = {r.key: r for r in load_results(tmp_path / "local.db", with_curves=True)}
    b = {r.key: r for r in load_results(tmp_path / "ray.db", with_curves=True)}
    assert len(a) == 6 and a.keys() == b.keys()
    for key in a:  # one thread per trial in both: the same arithmetic, the same numbers
        assert a[key].test_accuracy == b[key].test_accuracy
        assert [p.loss for p in a[key].curve] == [p.loss for p in b[key].curve]
    print(f"\nwall time, same 6-trial sweep: local {t_local:.1f} s, ray {t_ray:.1f} s")


def _ray_worker_pids() -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    if b"ray::_train_unit" in f.read():
                        pids.append(int(entry))
            except OSError:
                pass
    return pids


def _rows(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        conn = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)
        (n,) = conn.execute("SELECT count(*) FROM trials").fetchone()
        conn.close()
        return n
    except sqlite3.Error:
        return 0


def test_killed_worker_is_retried_and_nothing_is_lost(head, mnist_dir, tmp_path):
    address, env = head
    env = {**env, "LSTM_SWEEP_DATA_DIR": str(mnist_dir)}
    db = tmp_path / "k.db"
    proc = subprocess.Popen(
        [
            LSTM_SWEEP,
            "run",
            *GRID[:4],
            "--steps",
            "400",
            *GRID[6:],
            "--db",
            str(db),
            "--executor",
            "ray",
            "--ray-address",
            address,
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    killed = []
    deadline = time.time() + 120
    while not killed and time.time() < deadline and proc.poll() is None:
        pids = _ray_worker_pids()
        if pids:
            time.sleep(0.5)  # let it get into training
            os.kill(pids[0], signal.SIGKILL)
            killed.append(pids[0])
        time.sleep(0.1)
    out, err = proc.communicate(timeout=300)
    assert killed, "no Ray worker running a unit was found"
    assert proc.returncode == 0, err
    conn = sqlite3.connect(db)
    keys = [k for (k,) in conn.execute("SELECT key FROM trials")]
    conn.close()
    assert len(keys) == len(set(keys)) == 6  # every trial stored exactly once
    assert {str(r.status) for r in load_results(db)} <= {"done", "diverged"}  # retried, not lost


def _driver_with_one_trial_stored(head, mnist_dir, db):
    """A Ray sweep of 6 trials through the CLI, returned once its first trial is committed."""
    address, env = head
    env = {**env, "LSTM_SWEEP_DATA_DIR": str(mnist_dir)}
    args = [
        LSTM_SWEEP,
        "run",
        *GRID[:4],
        "--steps",
        "300",
        *GRID[6:],
        "--db",
        str(db),
        "--executor",
        "ray",
        "--ray-address",
        address,
    ]
    proc = subprocess.Popen(
        args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    deadline = time.time() + 180
    while _rows(db) < 1 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.1)
    assert proc.poll() is None, "the sweep ended before it could be interrupted"
    return proc, args, env


def test_killed_driver_reruns_only_the_missing_trials(head, mnist_dir, tmp_path):
    db = tmp_path / "d.db"
    proc, args, env = _driver_with_one_trial_stored(head, mnist_dir, db)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)
    kept = _rows(db)
    assert 1 <= kept < 6
    before = {r.key: r for r in load_results(db)}
    rerun = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{kept} already stored, {6 - kept} to run" in rerun.stderr
    after = {r.key: r for r in load_results(db)}
    assert len(after) == 6 and all(after[k] == r for k, r in before.items())


def test_ctrl_c_cancels_outstanding_tasks_and_keeps_the_store_consistent(head, mnist_dir, tmp_path):
    db = tmp_path / "c.db"
    proc, args, env = _driver_with_one_trial_stored(head, mnist_dir, db)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130 and "finished trials are saved" in err, err[:3000]
    deadline = time.time() + 180  # a hang guard: cancelled tasks stop (event: no worker left)
    while _ray_worker_pids() and time.time() < deadline:
        time.sleep(0.5)
    assert not _ray_worker_pids()
    kept = _rows(db)
    rerun = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{kept} already stored, {6 - kept} to run" in rerun.stderr
    assert _rows(db) == 6


def test_a_worker_killed_mid_trial_resumes_from_its_checkpoint(head, mnist_dir, tmp_path):
    """Checkpoints reach the driver's disk through the keeper actor; the task Ray retries on
    another worker resumes from the last one (its clock is the first attempt's) and ends with
    the numbers of a run that was never killed."""
    from lstm_sweep.training.checkpoint import CheckpointDir, checkpoint_dir, decode

    address, env = head
    env = {**env, "LSTM_SWEEP_DATA_DIR": str(mnist_dir)}
    args = [
        LSTM_SWEEP,
        "run",
        "--hidden",
        "16",
        "--lr",
        "1e-2",
        "--steps",
        "800",
        "--device",
        "cpu",
        "--no-progress",
        "--checkpoint-every",
        "0",
        "--executor",
        "ray",
        "--ray-address",
        address,
    ]
    ref = subprocess.run(
        [*args, "--db", str(tmp_path / "ref.db")], env=env, capture_output=True, text=True, timeout=300
    )
    assert ref.returncode == 0, ref.stderr
    db = tmp_path / "c.db"
    proc = subprocess.Popen(
        [*args, "--db", str(db)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    folder = CheckpointDir(checkpoint_dir(db))
    state = None
    deadline = time.time() + 180
    while time.time() < deadline and proc.poll() is None:
        keys = folder.keys()
        blobs = folder.load(keys[0]) if keys else []
        if blobs:
            try:
                state = decode(blobs[0])
            except ValueError:
                state = None
            if state is not None and state["step"] >= 200:
                break
        time.sleep(0.05)
    assert state is not None and state["step"] >= 200, "no checkpoint reached the driver's disk"
    pids = _ray_worker_pids()
    assert pids, "no Ray worker running the trial"
    os.kill(pids[0], signal.SIGKILL)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    (got,) = load_results(db, with_curves=True)
    (want,) = load_results(tmp_path / "ref.db", with_curves=True)
    assert got.started_at == state["started_at"]  # resumed, not started again
    assert (got.test_accuracy, got.val_accuracy, got.curve) == (
        want.test_accuracy,
        want.val_accuracy,
        want.curve,
    )
    assert folder.keys() == []


@pytest.mark.parametrize("task", ["adding", "chars"])
def test_a_task_on_ray_equals_the_local_executor(head, tmp_path, task):
    """A generated task and a text task on Ray: the driver's task data goes through Ray's object
    store, the local workers load theirs again (data.recipe); the numbers are the same."""
    from helpers import shakespeare_text

    address, env = head
    args = ["--task", task, "--length", "20"] + (["--text", shakespeare_text()] if task == "chars" else [])
    local = _run([*args, "--db", str(tmp_path / "local.db"), "--workers", "2"], env)
    on_ray = _run(
        [*args, "--db", str(tmp_path / "ray.db"), "--executor", "ray", "--ray-address", address], env
    )
    assert local.returncode == 0, local.stderr
    assert on_ray.returncode == 0, on_ray.stderr
    a = {r.key: r for r in load_results(tmp_path / "local.db", with_curves=True)}
    b = {r.key: r for r in load_results(tmp_path / "ray.db", with_curves=True)}
    assert len(a) == 6 and a.keys() == b.keys()
    assert {r.config.task for r in a.values()} == {task}
    for key in a:
        assert a[key].status.value == "done" and a[key].test_accuracy == b[key].test_accuracy
        assert [p.loss for p in a[key].curve] == [p.loss for p in b[key].curve]
