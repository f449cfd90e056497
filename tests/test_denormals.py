"""Denormal floats are flushed to zero wherever a trial trains on a CPU, as TF 1.x does: on every
intra-op thread, in every executor, in the probe and the coordinate check; and the mode a
program had is given back after.

The proof that a worker flushed is in what it trained: a 16-unit LSTM at rate 1 saturates within
40 steps, and its Adam moments and gradients then hold subnormal numbers unless they are
flushed (38 of them measured here without flushing, 0 with). The kept checkpoint of such a trial
is read back and searched for them; the same trial trained with flushing switched off is the
control that shows the search can fail."""

from __future__ import annotations

import contextlib
import subprocess

import pytest
import torch

from helpers import LSTM_SWEEP, cli, last_wins
from lstm_sweep import TrialConfig
from lstm_sweep.store import Store
from lstm_sweep.training import denormals
from lstm_sweep.training import train as train_module
from lstm_sweep.training.checkpoint import CheckpointDir, Checkpointing, checkpoint_dir, decode
from lstm_sweep.training.train import train_group

TINY = torch.finfo(torch.float32).tiny
SATURATES = [
    "--hidden",
    "16",
    "--lr",
    "1",
    "--steps",
    "40",
    "--device",
    "cpu",
    "--no-progress",
    "--checkpoint-every",
    "0",
    "--keep-checkpoints",
]


def _subnormals(folder: CheckpointDir) -> int:
    """Subnormal numbers in the newest checkpoint of every trial in ``folder``."""
    count = 0
    keys = folder.keys()
    assert keys, "no checkpoint was kept"
    for key in keys:
        state = decode(folder.load(key)[0])
        for t in state["tensors"] + list(state.get("frozen") or []):
            if isinstance(t, torch.Tensor) and t.is_floating_point():
                count += int(((t != 0) & (t.abs() < TINY)).sum())
    return count


def _flushed_here() -> bool:
    return (torch.tensor([1e-30]) * 1e-10).item() == 0


@pytest.fixture
def two_threads():
    saved = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(saved)


def test_flushed_sets_every_intra_op_thread_and_gives_the_mode_back(two_threads):
    assert not _flushed_here()
    big = torch.full((1 << 20,), 1e-30)
    assert bool((big * 1e-10).any())  # subnormal products are kept, on every thread
    torch.set_flush_denormal(True)  # what PyTorch offers sets the calling thread alone
    try:
        assert _flushed_here()
        assert not denormals.denormals_flushed()  # the pool's threads still keep them
    finally:
        torch.set_flush_denormal(False)
    with denormals.flushed("cpu") as ok:
        assert ok and denormals.denormals_flushed()
        assert not bool((big * 1e-10).any())
        with denormals.flushed("cpu") as inner:  # nested: the outer mode holds after
            assert inner
        assert denormals.denormals_flushed()
    assert not _flushed_here() and bool((big * 1e-10).any())


def test_a_program_that_flushes_keeps_its_mode(two_threads):
    assert denormals.flush_denormals(True)
    try:
        with denormals.flushed("cpu"):
            pass
        assert denormals.denormals_flushed()
    finally:
        assert denormals.flush_denormals(False)
    assert not denormals.denormals_flushed()


def test_a_trial_trained_in_process_holds_no_subnormal_and_the_control_does(mnist, tmp_path, monkeypatch):
    config = TrialConfig(hidden=16, lr=1.0, steps=40, display_step=10)
    kept = CheckpointDir(tmp_path / "flushed")
    [r] = train_group([config], mnist, engine="single", until=39, checkpointing=Checkpointing(kept, 0.0))
    assert r.status == "pruned" and _subnormals(kept) == 0
    assert not _flushed_here()  # the caller's mode is back
    monkeypatch.setattr(train_module, "flushed", lambda device: contextlib.nullcontext(False))
    control = CheckpointDir(tmp_path / "kept")
    train_group([config], mnist, engine="single", until=39, checkpointing=Checkpointing(control, 0.0))
    assert _subnormals(control) > 0  # the search finds them where they are


@pytest.mark.slow
@pytest.mark.parametrize("executor", [["--executor", "inprocess"], ["--workers", "2"]])
def test_every_local_executor_flushes_and_records_it(mnist_dir, tmp_path, executor):
    db = tmp_path / "s.db"
    o = cli(*last_wins("run", *SATURATES, "--lr", "1,0.5", "--data-dir", mnist_dir, "--db", db, *executor))
    assert o.code == 0, o.err
    assert _subnormals(CheckpointDir(checkpoint_dir(db))) == 0
    with Store(db, readonly=True) as store:
        envs = list(store.environments().values())
    assert envs and all(e["denormals"] == "flushed" for e in envs)


@pytest.mark.slow
def test_the_ray_executor_flushes(head, mnist_dir, tmp_path):
    address, env = head
    db = tmp_path / "ray.db"
    o = subprocess.run(
        [
            LSTM_SWEEP,
            "run",
            *SATURATES,
            "--data-dir",
            str(mnist_dir),
            "--db",
            str(db),
            "--executor",
            "ray",
            "--ray-address",
            address,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert o.returncode == 0, o.stderr
    assert _subnormals(CheckpointDir(checkpoint_dir(db))) == 0


@pytest.mark.slow
def test_the_probe_and_the_coordinate_check_measure_flushed(mnist, monkeypatch):
    from lstm_sweep.running import calibration, coordcheck
    from lstm_sweep.training import engines

    seen = []
    real = engines.make_engine

    def spy(*args, **kwargs):  # the real engine, built where the mode is looked at
        seen.append(denormals.denormals_flushed())
        return real(*args, **kwargs)

    monkeypatch.setattr(engines, "make_engine", spy)
    monkeypatch.setattr(coordcheck, "make_engine", spy)
    calibration.probe(torch.device("cpu"), steps=1, widths=(8, 16))
    coordcheck.coord_check(mnist, widths=(8, 16), params=("sp",), seeds=(0,), steps=1, batch_size=8)
    assert seen and all(seen) and len(seen) == 4
    assert not _flushed_here()
