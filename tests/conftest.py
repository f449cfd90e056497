"""Shared fixtures: the real MNIST files (``$LSTM_SWEEP_DATA_DIR``, else found/downloaded)."""

from __future__ import annotations

import os
import signal
import sys
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
