"""Shared fixtures: the real MNIST files (``$LSTM_SWEEP_DATA_DIR``, else found/downloaded)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lstm_sweep.data import load_dir, resolve_data_dir

# The installed console script of the environment running the tests (not whatever is on PATH).
LSTM_SWEEP = str(Path(sys.executable).with_name("lstm-sweep"))


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


# For child processes that a test interrupts with SIGINT (as Ctrl-C): a shell that started the
# tests in the background hands its children SIGINT *ignored*, and Python keeps it ignored.
CTRL_C_ABLE = {"preexec_fn": _default_sigint}


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


RAY = str(Path(sys.executable).with_name("ray"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def head(tmp_path_factory):
    """A real local Ray cluster: `ray start --head --block` in its own process group, killed
    as a group afterwards. Yields (address, environment for its clients)."""
    pytest.importorskip("ray")
    port = _free_port()
    tmp = tmp_path_factory.mktemp("ray")
    env = {**os.environ, "RAY_AUTH_MODE": "disabled"}
    proc = subprocess.Popen(
        [RAY, "start", "--head", "--block", f"--port={port}", "--node-ip-address=127.0.0.1",
         "--num-cpus=2", "--include-dashboard=false", f"--temp-dir={tmp}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, start_new_session=True)
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
