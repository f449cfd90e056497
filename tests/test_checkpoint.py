"""Checkpoints inside a trial: a trial stopped anywhere (an exception at a random step, kill -9
of the driver, a rung) resumes from its last checkpoint and ends bit for bit as one that never
stopped; damaged checkpoints are detected and skipped; the plan counts their disk and refuses
when it is too small; finished trials' checkpoints are deleted."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest
import torch

from helpers import LSTM_SWEEP, can_unshare, cli, in_namespace
from lstm_sweep import TrialConfig
from lstm_sweep.errors import ConfigError
from lstm_sweep.running.sweep import parse_every
from lstm_sweep.store import load_results
from lstm_sweep.study.results import Status
from lstm_sweep.training import checkpoint as ckpt
from lstm_sweep.training.checkpoint import CheckpointDir, Checkpointing, checkpoint_dir
from lstm_sweep.training.train import train_group

needs_unshare = pytest.mark.skipif(not can_unshare(), reason="no private mount namespaces here")


class Stop(BaseException):
    """Stands for a kill: raised from inside the training loop, nothing after it runs."""


def same(a, b) -> bool:
    """Two results of one trial are the same computation (times aside)."""
    fields = ("status", "test_accuracy", "val_accuracy", "train_loss", "steps_done", "curve")
    return all(getattr(a, f) == getattr(b, f) for f in fields)


def _group(engine, cell="lstm", optimizer="adam", steps=40):
    lrs = (1e-2, 0.5) if engine == "fused" else (1e-2,)
    return [
        TrialConfig(
            hidden=16, lr=lr, seed=s, data_seed=0, steps=steps, batch_size=50, cell=cell, optimizer=optimizer
        )
        for lr in lrs
        for s in (0, 1)
    ][: 4 if engine == "fused" else 1]


CASES = [
    (e, "lstm", o) for e in ("single", "fused") for o in ("adam", "sgd", "momentum", "rmsprop", "adagrad")
] + [(e, c, "adam") for e in ("single", "fused") for c in ("gru", "rnn")]


@pytest.mark.slow
@pytest.mark.parametrize("engine,cell,optimizer", CASES)
def test_a_trial_stopped_at_a_random_step_resumes_bit_for_bit(mnist, tmp_path, engine, cell, optimizer):
    torch.set_num_threads(1)
    configs = _group(engine, cell, optimizer)
    reference = train_group(configs, mnist, engine=engine)
    policy = Checkpointing(CheckpointDir(tmp_path), 0)  # at every curve point
    rng = random.Random(f"{engine}{cell}{optimizer}")
    # stopped twice, at random curve points (before that point's checkpoint is written): each
    # time it resumes from the one before
    for stop in sorted(rng.sample([10, 20, 30], 2)):
        with pytest.raises(Stop):
            train_group(configs, mnist, engine=engine, checkpointing=policy, on_step=_stop_at(stop))
    before = time.time()
    resumed = train_group(configs, mnist, engine=engine, checkpointing=policy)
    assert all(same(a, b) for a, b in zip(reference, resumed))
    assert resumed[0].started_at < before  # it resumed: its clock started with the first run


def _stop_at(n):
    def on_step(done, total):
        if done == n:
            raise Stop

    return on_step


def test_a_rung_stops_pruned_and_continues_from_its_checkpoint(mnist, tmp_path):
    torch.set_num_threads(1)
    configs = _group("fused")
    reference = train_group(configs, mnist, engine="fused")
    policy = Checkpointing(CheckpointDir(tmp_path), 3600)  # only the rung's checkpoint
    at_rung = train_group(configs, mnist, engine="fused", checkpointing=policy, until=17)
    assert {r.status for r in at_rung} == {Status.PRUNED}
    assert all(r.steps_done == 17 and r.val_accuracy is not None and r.test_accuracy is None for r in at_rung)
    assert sorted(CheckpointDir(tmp_path).keys()) == sorted(c.key() for c in configs)
    # the survivors only (a search keeps some rates): the same numbers as the whole group's
    survivors = train_group(configs[:2], mnist, engine="fused", checkpointing=policy)
    assert all(same(a, b) for a, b in zip(reference[:2], survivors))


def test_damaged_checkpoints_fall_back_to_the_previous_one_or_the_start(mnist, tmp_path, caplog):
    torch.set_num_threads(1)
    (config,) = _group("single")
    reference = train_group([config], mnist, engine="single")
    folder = CheckpointDir(tmp_path)
    policy = Checkpointing(folder, 0)

    for damage, expect in [("flip", "checksum"), ("cut", "checksum"), ("both", "beginning")]:
        for p in tmp_path.iterdir():
            p.unlink()
        with pytest.raises(Stop):
            train_group([config], mnist, engine="single", checkpointing=policy, on_step=_stop_at(30))
        path = folder.path(config.key())
        blob = bytearray(path.read_bytes())
        if damage == "flip":
            blob[len(blob) // 2] ^= 0xFF
            path.write_bytes(bytes(blob))
        elif damage == "cut":
            path.write_bytes(bytes(blob[: len(blob) // 3]))
        else:
            path.write_bytes(b"junk")
            path.with_name(path.name + ".prev").write_bytes(b"")
        caplog.clear()
        resumed = train_group([config], mnist, engine="single", checkpointing=policy)
        assert same(reference[0], resumed[0]), damage
        assert expect in caplog.text, caplog.text


def test_a_checkpoint_of_another_trial_or_engine_is_not_used(mnist, tmp_path, caplog):
    torch.set_num_threads(1)
    (config,) = _group("single")
    folder = CheckpointDir(tmp_path)
    with pytest.raises(Stop):
        train_group(
            [config], mnist, engine="single", checkpointing=Checkpointing(folder, 0), on_step=_stop_at(30)
        )
    state = ckpt.decode(folder.load(config.key())[0])
    assert state["step"] == 20 and state["key"] == config.key()  # the one before the stop
    reference = train_group([config], mnist, engine="fused")
    caplog.clear()
    other = train_group([config], mnist, engine="fused", checkpointing=Checkpointing(folder, 0))
    assert "another engine" in caplog.text
    assert same(reference[0], other[0])
    with pytest.raises(ValueError, match="checksum"):
        ckpt.decode(ckpt.encode({"format": 1})[:-1])
    with pytest.raises(ValueError):
        folder.path("../../etc/passwd")


# --------------------------------------------------------------------------- through the CLI

GRID = [
    "--hidden",
    "16",
    "--lr",
    "1e-2,2e-2",
    "--steps",
    "400",
    "--batch-size",
    "50",
    "--device",
    "cpu",
    "--workers",
    "1",
    "--no-progress",
]


def _store(db: Path) -> dict:
    return {r.key: r for r in load_results(db, with_curves=True)} if db.exists() else {}


def _wait_for_checkpoint_change(folder: Path, seen: dict, proc, deadline: float) -> bool:
    """Until some checkpoint in ``folder`` is new or rewritten (an event), or the run ends."""
    while time.time() < deadline and proc.poll() is None:
        now = {}
        for p in folder.glob("*.ckpt"):
            try:
                now[p.name] = p.stat().st_mtime_ns
            except FileNotFoundError:
                continue
        if any(seen.get(k) != v for k, v in now.items()):
            seen.clear()
            seen.update(now)
            return True
        time.sleep(0.02)
    return False


@pytest.mark.slow
def test_kill_9_at_random_moments_loses_nothing_and_changes_nothing(mnist_dir, tmp_path):
    """kill -9 of the driver at random moments of a sweep: every kill resumes from the last
    checkpoint, the finished store equals an uninterrupted run's, trial by trial."""
    env = {**os.environ, "LSTM_SWEEP_DATA_DIR": str(mnist_dir), "OMP_NUM_THREADS": "1"}
    ref_db, db = tmp_path / "ref.db", tmp_path / "k.db"
    args = [LSTM_SWEEP, "run", *GRID, "--checkpoint-every", "0"]
    done = subprocess.run([*args, "--db", str(ref_db)], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    folder = checkpoint_dir(db)
    rng = random.Random(7)
    kills = 0
    for _ in range(40):
        proc = subprocess.Popen(
            [*args, "--db", str(db)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        seen: dict = {}
        for _ in range(rng.randint(1, 4)):  # a random number of checkpoints, then kill
            if not _wait_for_checkpoint_change(folder, seen, proc, time.time() + 120):
                break
        if proc.poll() is None:
            time.sleep(rng.random() * 0.05)  # anywhere in the interval after that checkpoint
            os.killpg(proc.pid, signal.SIGKILL)
            kills += 1
        proc.wait(timeout=60)
        if len(_store(db)) == 2 and proc.returncode == 0:
            break
        if kills >= 8:
            break
    final = subprocess.run([*args, "--db", str(db)], env=env, capture_output=True, text=True, timeout=600)
    assert final.returncode == 0, final.stderr
    assert kills >= 3
    ref, got = _store(ref_db), _store(db)
    assert ref.keys() == got.keys() and len(got) == 2
    assert all(same(ref[k], got[k]) for k in ref)
    assert list(folder.glob("*.ckpt*")) == []  # stored: their checkpoints are gone


@pytest.mark.slow
def test_keep_checkpoints_keeps_them_and_the_plan_shows_their_disk(mnist_dir, tmp_path):
    db = tmp_path / "s.db"
    o = cli(
        "run",
        "--hidden",
        "8",
        "--lr",
        "1e-2",
        "--steps",
        "20",
        "--device",
        "cpu",
        "--no-progress",
        "--data-dir",
        mnist_dir,
        "--db",
        db,
        "--checkpoint-every",
        "0",
        "--keep-checkpoints",
    )
    assert o.code == 0, o.err
    assert "checkpoints: at every curve point, up to" in o.err and "s.db.checkpoints" in o.err
    assert len(CheckpointDir(checkpoint_dir(db)).keys()) == 1
    o = cli("plan", "--hidden", "8", "--lr", "1e-2", "--db", tmp_path / "p.db", "--checkpoint-every", "off")
    assert o.code == 0 and "checkpoints: off" in o.out


@pytest.mark.parametrize(
    "value",
    [
        "5x",
        "-1",
        "nan",
        "inf",
        "1e9",
        "m",
        "",
        "5 m m",
        "0x10",
        "1e-400",
        "1e-400s",
        "0.5",
        "0.001m",
        "-0.5",
        "1e999999999999",
        "1e400",
        "1" + "0" * 400,
        "8d",
        "169h",
    ],
)
def test_bad_checkpoint_intervals_are_refused(tmp_path, value):
    o = cli("plan", "--hidden", "8", "--lr", "1e-2", "--db", tmp_path / "p.db", "--checkpoint-every", value)
    assert "--checkpoint-every takes 0 (at every curve point), off (never), or seconds" in o.error_line()
    assert o.code == 2 and not (tmp_path / "p.db").exists()


@pytest.mark.parametrize(
    "value, seconds",
    [
        ("0", 0.0),
        ("0s", 0.0),
        ("0.0m", 0.0),
        (" 1 ", 1.0),
        ("1s", 1.0),
        ("0.5m", 30.0),
        ("1.5h", 5400.0),
        ("168h", 604800.0),
        ("off", None),
        (90, 90.0),
        (0, 0.0),
        (2.5, 2.5),
        (None, None),
    ],
)
def test_checkpoint_intervals_parse_to_their_seconds(value, seconds):
    assert parse_every(value) == seconds


@pytest.mark.parametrize("value", [0.5, 1e-300, -1.0, float("nan"), float("inf"), True, 7 * 86400 + 1])
def test_checkpoint_intervals_as_numbers_are_refused_too(value):
    with pytest.raises(ConfigError, match="from 1 s to 7 days"):
        parse_every(value)


def test_a_checkpoint_folder_that_is_a_file_is_refused_and_nothing_is_touched(tmp_path):
    db = tmp_path / "s.db"
    checkpoint_dir(db).write_text("mine")
    o = cli("run", "--hidden", "8", "--lr", "1e-2", "--steps", "20", "--db", db)
    assert "is not a folder" in o.error_line() and "--checkpoint-every off" in o.error_line()
    assert not db.exists() and checkpoint_dir(db).read_text() == "mine"


@pytest.mark.slow
@needs_unshare
def test_the_plan_refuses_checkpoints_its_disk_cannot_hold(mnist_dir, tmp_path):
    disk = tmp_path / "disk"
    disk.mkdir()
    script = f"""
mount -t tmpfs -o size=2m tmpfs {disk}
{LSTM_SWEEP} run --hidden 256 --lr 1e-2 --seeds 0,1 --steps 20 --device cpu --no-progress \
  --data-dir {mnist_dir} --db {disk}/s.db --checkpoint-every 0; echo "rc=$?"
ls -A {disk}; echo end
"""
    proc = in_namespace(script)
    out = proc.stdout + proc.stderr
    assert "Traceback" not in out
    assert "the checkpoints need up to" in out and "--checkpoint-every off" in out, out
    assert "rc=2" in proc.stdout
    assert proc.stdout.split("rc=2", 1)[1].split() == ["end"]  # nothing was created


@pytest.mark.slow
@needs_unshare
def test_a_full_disk_while_checkpointing_is_a_warning_and_the_trial_finishes(mnist_dir, tmp_path):
    disk = tmp_path / "disk"
    disk.mkdir()
    # room for the store, not for a second generation of a 128-unit trial's checkpoints
    script = f"""
mount -t tmpfs -o size=1800k tmpfs {disk}
{LSTM_SWEEP} run --hidden 128 --lr 1e-2 --steps 30 --device cpu --no-progress --force \
  --data-dir {mnist_dir} --db {disk}/s.db --checkpoint-every 0 2>&1 | grep -c "not written"
{LSTM_SWEEP} table --db {disk}/s.db; echo "rc=$?"
"""
    proc = in_namespace(script, timeout=600)
    out = proc.stdout
    assert "Traceback" not in out + proc.stderr, proc.stderr
    assert int(out.split()[0]) >= 1, out  # warned, went on
    assert "rc=0" in out and "hidden" in out
