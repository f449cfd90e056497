"""Claims that must not hold a trial for ever, and a claim timeout that must make sense: a
heartbeat in the future, a live process that is not a driver, absurd timeouts."""

from __future__ import annotations

import math
import os
import socket
import sqlite3
import subprocess
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import LSTM_SWEEP
from faults import cli, snapshot
from lstm_sweep.errors import ConfigError
from lstm_sweep.store import Claim, Store, claim_timeout, load_results
from lstm_sweep.study.config import TrialConfig

TRIAL = TrialConfig(hidden=8, lr=0.01, steps=5)
RUN = ("run", "--hidden", "8", "--lr", "0.01", "--steps", "5", "--device", "cpu", "--workers",
       "1", "--no-progress")


def _valid_timeout(text: str) -> bool:
    try:
        value = float(text)
    except ValueError:
        return False
    return math.isfinite(value) and 5 <= value <= 86_400


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.one_of(
    st.sampled_from(["abc", "-1", "nan", "inf", "-inf", "1e-9", "0", "4.9", "86401", "1e9",
                     "1e400", "0x10", "60s", "5 min", "½"]),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"),
            min_size=1, max_size=12),
).filter(lambda t: t.strip() and not _valid_timeout(t)))
def test_a_bad_claim_timeout_is_one_error_line_and_changes_nothing(text, monkeypatch, tmp_path,
                                                                    mnist_dir):
    monkeypatch.setenv("LSTM_SWEEP_CLAIM_TIMEOUT", text)
    with pytest.raises(ConfigError, match="LSTM_SWEEP_CLAIM_TIMEOUT"):
        claim_timeout()
    db = tmp_path / "s.db"
    if not db.exists():
        Store(db).close()
    before = snapshot(tmp_path)
    for command in ((*RUN, "--data-dir", mnist_dir),
                    ("plan", "--hidden", "8", "--lr", "0.01", "--device", "cpu")):
        o = cli(*command, "--db", db)
        assert "$LSTM_SWEEP_CLAIM_TIMEOUT=" in o.error_line() and "from 5 to 86,400" in o.err
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("text, value", [("", 60.0), ("  ", 60.0), ("5", 5.0), ("90.5", 90.5),
                                         ("86400", 86400.0)])
def test_sane_claim_timeouts_are_taken(text, value, monkeypatch):
    monkeypatch.setenv("LSTM_SWEEP_CLAIM_TIMEOUT", text)
    assert claim_timeout() == value


def _claim(db, *, pid, heartbeat, host=None, start=None):
    with Store(db):
        pass
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("INSERT INTO claims VALUES (?, 'someone', ?, ?, ?, ?, ?)",
                     (TRIAL.key(), host or socket.gethostname(), pid, start, time.time(),
                      heartbeat))
    conn.close()


def _run(db, mnist_dir, timeout="5"):
    """A real driver on ``db``; ``timeout`` here is a hang guard (a claim held for ever would
    stop it for ever), not a speed."""
    env = {**os.environ, "LSTM_SWEEP_DATA_DIR": str(mnist_dir),
           "LSTM_SWEEP_CLAIM_TIMEOUT": timeout}
    return subprocess.run([LSTM_SWEEP, *RUN, "--db", str(db)], env=env, capture_output=True,
                          text=True, timeout=600)


@pytest.mark.parametrize("ahead", [10**6, 1e12, 3.0])
def test_a_heartbeat_in_the_future_does_not_hold_a_trial_for_ever(ahead, tmp_path, mnist_dir):
    """Far ahead: stale at once (no clock is that wrong). A little ahead (within the timeout):
    live, until the heartbeat is a timeout old like any other."""
    db = tmp_path / "f.db"
    _claim(db, pid=os.getpid(), heartbeat=time.time() + ahead, host="another-host")
    t0 = time.time()
    proc = _run(db, mnist_dir)
    assert proc.returncode == 0, proc.stderr
    assert [r.config for r in load_results(db)] == [TRIAL]
    if ahead < 5:
        assert "waiting for 1 trials being trained by another driver (another-host:" \
            in proc.stderr
        assert time.time() - t0 > ahead + 5 - 1  # not before the beat was a timeout old
    assert Store(db, readonly=True).claims() == []


def test_a_live_process_that_is_no_driver_holds_a_trial_only_until_the_timeout(tmp_path,
                                                                                mnist_dir):
    """The claim names this test's own process (alive, on this host, but it never beats)."""
    db = tmp_path / "p.db"
    _claim(db, pid=os.getpid(), heartbeat=time.time())
    proc = _run(db, mnist_dir)
    assert proc.returncode == 0, proc.stderr
    assert "waiting for 1 trials" in proc.stderr
    assert [r.config for r in load_results(db)] == [TRIAL]


def test_a_claim_says_why_it_is_stale():
    now = 1_000_000.0
    alive = Claim("k", "d", "elsewhere", 1, None, now, now - 1)
    assert alive.live(now, 60)
    assert "no heartbeat for 61 s" in Claim("k", "d", "h", 1, None, 0, now - 61).stale_because(
        now, 60)
    assert "in the future" in Claim("k", "d", "h", 1, None, 0, now + 61).stale_because(now, 60)
    assert "not a time" in Claim("k", "d", "h", 1, None, 0, "soon").stale_because(now, 60)
    assert "not a time" in Claim("k", "d", "h", 1, None, 0, math.nan).stale_because(now, 60)
    assert "not a number" in Claim("k", "d", "h", "1", None, 0, now).stale_because(now, 60)
    here = socket.gethostname()
    gone = Claim("k", "d", here, 2**22 + 12345, None, 0, now)  # beyond any pid_max
    assert "no longer runs" in gone.stale_because(now, 60)
    reused = Claim("k", "d", here, os.getpid(), "0", 0, now)
    assert "another process" in reused.stale_because(now, 60)
