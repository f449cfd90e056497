"""One behaviour suite over every executor (in-process, local processes, a real local Ray
cluster): the same sweep gives the same stored results, and a unit that fails is recorded."""

from __future__ import annotations

import os
import subprocess

import pytest

from helpers import LSTM_SWEEP
from lstm_sweep.running.executors import EXECUTORS
from lstm_sweep.store import load_results

# each executor's sweep is a driver process (and a Ray cluster): the full suite only
pytestmark = pytest.mark.slow

# hidden 2^20 cannot be allocated: recorded as oom (DNF), the sweep goes on
GRID = [
    "--hidden",
    "8,1048576",
    "--lr",
    "1e-3,1e-2",
    "--steps",
    "30",
    "--device",
    "cpu",
    "--no-progress",
    "--force",
]


def _sweep(name, db, env, address=None):
    args = [LSTM_SWEEP, "run", *GRID, "--executor", name, "--db", str(db)]
    if name == "ray":
        args += ["--ray-address", address]
    proc = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return {r.key: r for r in load_results(db, with_curves=True)}, proc


@pytest.mark.parametrize("name", sorted(EXECUTORS))
def test_every_executor_stores_the_same_results_and_records_failures(name, request, tmp_path, mnist_dir):
    # one thread everywhere: the same float summation order in every executor
    env = {**os.environ, "LSTM_SWEEP_DATA_DIR": str(mnist_dir), "OMP_NUM_THREADS": "1"}
    address = None
    if name == "ray":
        address, ray_env = request.getfixturevalue("head")
        env = {**ray_env, **env}
    reference, _ = _sweep("inprocess", tmp_path / "reference.db", env)
    got, proc = _sweep(name, tmp_path / f"{name}.db", env, address)
    assert got.keys() == reference.keys() and len(got) == 4
    for key, r in got.items():
        ref = reference[key]
        assert r.status is ref.status
        assert r.test_accuracy == ref.test_accuracy
        assert [p.loss for p in r.curve] == [p.loss for p in ref.curve]
    oom = [r for r in got.values() if r.config.hidden == 2**20]
    assert {str(r.status) for r in oom} == {"oom"} and all("allocate" in r.error for r in oom)
    trained = [r for r in got.values() if r.config.hidden == 8]
    assert {str(r.status) for r in trained} == {"done"}
    assert "DNF" in proc.stdout
