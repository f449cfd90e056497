"""``export --format tensorboard``: a store as TensorBoard runs, written with TensorBoard's own
event writer and read back by TensorBoard itself (its event reader, and the real
``tensorboard`` server's HTTP API): a run per trial with its curve, its final values and its
fields as hyperparameters; refused in one line where it may not write."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import pytest

from helpers import cli, free_port, snapshot, trial
from lstm_sweep import Store
from lstm_sweep.study.results import Status

pytest.importorskip("tensorboard")
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402
from tensorboard.plugins.hparams import plugin_data_pb2  # noqa: E402


def _store(db):
    with Store(db) as s:
        for cell in ("lstm", "gru"):
            for hidden in (16, 64):
                for lr in (0.001, 0.1):
                    s.save(trial(hidden, lr, 0.5 + hidden / 400 + (cell == "lstm") / 10, cell=cell, curve=5))
        s.save(trial(16, 1.0, None, cell="lstm", status=Status.OOM))


def _runs(folder):
    return sorted(p.name for p in folder.iterdir() if p.is_dir())


def _hparams(run) -> dict:
    ea = EventAccumulator(str(run))
    ea.Reload()
    content = ea.PluginTagToContent("hparams")["_hparams_/session_start_info"]
    info = plugin_data_pb2.HParamsPluginData.FromString(content).session_start_info.hparams
    return {k: (v.string_value or v.number_value) for k, v in info.items()}


def test_a_store_becomes_tensorboard_runs(tmp_path):
    db, out = tmp_path / "cells.db", tmp_path / "runs"
    _store(db)
    o = cli("export", "--db", db, "--format", "tensorboard", "--out", out)
    assert o.code == 0, o.text
    assert o.out == "" and "9 runs, one per trial" in o.err and "tensorboard --logdir" in o.err
    runs = _runs(out)
    assert len(runs) == 9 and all(r.startswith(("hidden=", "lr=", "cell=")) for r in runs)
    best = next(r for r in runs if r.startswith("hidden=64 lr=0.001 cell=lstm"))
    ea = EventAccumulator(str(out / best))
    ea.Reload()
    assert set(ea.Tags()["scalars"]) == {
        "batch/loss",
        "batch/accuracy",
        "test/accuracy",
        "validation/accuracy",
    }
    assert [(e.step, round(e.value, 4)) for e in ea.Scalars("batch/loss")] == [
        (10, 1.0), (20, 0.5), (30, 0.3333), (40, 0.25), (50, 0.2)
    ]  # fmt: skip
    assert [(e.step, round(e.value, 4)) for e in ea.Scalars("test/accuracy")] == [(30, 0.76)]
    assert _hparams(out / best) == {"hidden": 64, "lr": 0.001, "cell": "lstm", "status": "done"}
    oom = next(r for r in runs if r.startswith("hidden=16 lr=1.0"))
    assert _hparams(out / oom)["status"] == "oom"


def test_runs_are_replaced_only_when_asked(tmp_path):
    db, out = tmp_path / "cells.db", tmp_path / "runs"
    _store(db)
    assert cli("export", "--db", db, "--format", "tensorboard", "--out", out).code == 0
    (out / "mine").mkdir()  # a run of the user's own, beside ours
    (out / "mine" / "notes.txt").write_text("keep")
    again = cli("export", "--db", db, "--format", "tensorboard", "--out", out)
    assert "holds the run" in again.error_line() and "pass --overwrite" in again.error_line()
    assert cli("export", "--db", db, "--format", "tensorboard", "--out", out, "--overwrite").code == 0
    for run in _runs(out):
        if run != "mine":
            assert len(os.listdir(out / run)) == 1, run  # one event file: replaced, not added to
    assert (out / "mine" / "notes.txt").read_text() == "keep"


@pytest.mark.parametrize("target", ["store", "file", "fifo", "missing parent"])
def test_a_target_that_may_not_be_written_is_refused_and_nothing_changes(tmp_path, target):
    db = tmp_path / "s.db"
    _store(db)
    out = {
        "store": db,
        "file": tmp_path / "notes.txt",
        "fifo": tmp_path / "fifo",
        "missing parent": tmp_path / "nope" / "runs",
    }[target]
    if target == "fifo":
        os.mkfifo(out)
    if target == "file":
        out.write_text("my notes\n")
    before = snapshot(tmp_path)
    line = cli("export", "--db", db, "--format", "tensorboard", "--out", out).error_line()
    assert any(w in line for w in ("store being read", "is a file", "not a folder", "does not exist")), line
    assert snapshot(tmp_path) == before
    assert "give it with --out" in cli("export", "--db", db, "--format", "tensorboard").error_line()


@pytest.mark.slow
def test_the_real_tensorboard_serves_the_runs(tmp_path):
    db, out = tmp_path / "cells.db", tmp_path / "runs"
    _store(db)
    assert cli("export", "--db", db, "--format", "tensorboard", "--out", out).code == 0
    binary = shutil.which("tensorboard") or os.path.join(os.path.dirname(sys.executable), "tensorboard")
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--logdir", str(out), "--port", str(port), "--host", "127.0.0.1", "--load_fast", "false"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        give_up = time.monotonic() + 300  # a hang guard: it reads the folder, then answers
        runs: list = []
        while len(runs) < 9:
            assert proc.poll() is None and time.monotonic() < give_up, "tensorboard never served the runs"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/data/runs", timeout=10) as r:
                    runs = json.loads(r.read())
            except OSError:
                pass
            time.sleep(0.5)
        assert sorted(runs) == _runs(out)
        run = next(r for r in runs if r.startswith("hidden=64 lr=0.001 cell=lstm"))
        query = urllib.parse.urlencode({"run": run, "tag": "test/accuracy"})
        with urllib.request.urlopen(
            f"http://127.0.0.1:{port}/data/plugin/scalars/scalars?{query}", timeout=30
        ) as r:
            points = json.loads(r.read())
        assert [(p[1], round(p[2], 4)) for p in points] == [(30, 0.76)]
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
