"""Fixtures shared by the tests (helpers they import live in ``tests/helpers``), the test tiers,
and the Hypothesis profiles.

Tiers (the ``slow`` marker):

- fast: ``pytest -m "not slow"`` (``bash scripts/test.sh --fast`` adds ``-n 2``, two
  pytest-xdist workers: about 90 s on two cores); every area keeps tests here, so that a broken
  feature fails it. Run it on every change.
- full: ``pytest`` (``bash scripts/test.sh``), what CI runs: adds the tests marked ``slow``, those
  that train for real or start drivers, Ray clusters or browsers for more than a few seconds.

Each test has a time limit (``timeout`` in pyproject.toml, a hang guard, not a speed test); the
few that need more say so with ``@pytest.mark.timeout(N)``.

Hypothesis profiles, chosen by ``$HYPOTHESIS_PROFILE``:

- ``ci``: derandomized (the same examples on every run); ``scripts/test.sh`` and CI use it;
- ``dev`` (plain ``pytest``, and ``scripts/test.sh --fast``): random examples, a tenth as many;
- ``thorough``: random examples, ten times as many.

A property test states its example count as ``examples(n)`` (:mod:`helpers.examples`): ``n``
under ``ci``, scaled by the other profiles. Every profile has no deadline and lets an example be
slow (machines differ by 3x and are shared: speed is a benchmark's business, not a test's) and
share a function-scoped fixture (our ``@given`` tests read such fixtures or make a fresh file
below ``tmp_path`` for each example).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from helpers import RAY, free_port
from lstm_sweep.data import load_dir, resolve_data_dir

_ANY_MACHINE = {
    "deadline": None,
    "suppress_health_check": [
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
        HealthCheck.function_scoped_fixture,
    ],
}
settings.register_profile("ci", derandomize=True, print_blob=True, **_ANY_MACHINE)
settings.register_profile("dev", max_examples=10, **_ANY_MACHINE)
settings.register_profile("thorough", max_examples=1000, **_ANY_MACHINE)
# Unset: "ci" where $CI is set (and scripts/test.sh, which CI runs, asks for it), else "dev".
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev"))


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """The folder with the four real MNIST files (downloaded into the cache if not given)."""
    return resolve_data_dir(os.environ.get("LSTM_SWEEP_DATA_DIR") or None)


@pytest.fixture(scope="session")
def mnist(mnist_dir):
    return load_dir(mnist_dir)


@pytest.fixture
def isolated_env(monkeypatch, tmp_path):
    """No data dir from the environment and an empty cache: nothing leaks in from the machine."""
    monkeypatch.delenv("LSTM_SWEEP_DATA_DIR", raising=False)
    monkeypatch.setenv("LSTM_SWEEP_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path


@pytest.fixture(scope="session", autouse=True)
def calibration_file(tmp_path_factory):
    """Probe results of the tests go to a temporary file, not the user's cache."""
    path = tmp_path_factory.mktemp("calibration") / "calibration.json"
    old = os.environ.get("LSTM_SWEEP_CALIBRATION")
    os.environ["LSTM_SWEEP_CALIBRATION"] = str(path)
    yield path
    if old is None:
        os.environ.pop("LSTM_SWEEP_CALIBRATION", None)
    else:
        os.environ["LSTM_SWEEP_CALIBRATION"] = old


@pytest.fixture(scope="session")
def head(tmp_path_factory):
    """A real local Ray cluster: `ray start --head --block` in its own process group, killed
    as a group afterwards. Yields (address, environment for its clients)."""
    pytest.importorskip("ray")
    port = free_port()
    tmp = tmp_path_factory.mktemp("ray")
    env = {**os.environ, "RAY_AUTH_MODE": "disabled"}
    proc = subprocess.Popen(
        [
            RAY,
            "start",
            "--head",
            "--block",
            f"--port={port}",
            "--node-ip-address=127.0.0.1",
            "--num-cpus=2",
            "--include-dashboard=false",
            f"--temp-dir={tmp}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        start_new_session=True,
    )
    address = f"127.0.0.1:{port}"
    deadline = time.time() + 300  # a hang guard: the head listens (an event)
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.5)
    else:
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail("the Ray head did not start")
    yield address, env
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


@pytest.fixture
def chromium() -> str:
    """The path of Debian's chromium (the report and the live page are tested in it): a skip
    where it is not installed, a failure in CI (``.ci/run`` installs it)."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("CI must test in Chromium; .ci/run installs Debian's chromium")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return path
