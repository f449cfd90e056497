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

from helpers import LSTM_SWEEP, ClaimBeater, Lines, cli, snapshot
from lstm_sweep.errors import ConfigError
from lstm_sweep.store import Claim, StaleKind, Store, claim_timeout, load_results
from lstm_sweep.study.config import TrialConfig

TRIAL = TrialConfig(hidden=8, lr=0.01, steps=5)
RUN = (
    "run",
    "--hidden",
    "8",
    "--lr",
    "0.01",
    "--steps",
    "5",
    "--device",
    "cpu",
    "--workers",
    "1",
    "--no-progress",
)


def _valid_timeout(text: str) -> bool:
    try:
        value = float(text)
    except ValueError:
        return False
    return math.isfinite(value) and 5 <= value <= 86_400


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    text=st.one_of(
        st.sampled_from(
            [
                "abc",
                "-1",
                "nan",
                "inf",
                "-inf",
                "1e-9",
                "0",
                "4.9",
                "86401",
                "1e9",
                "1e400",
                "0x10",
                "60s",
                "5 min",
                "½",
            ]
        ),
        st.floats(allow_nan=True, allow_infinity=True).map(repr),
        st.text(
            alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"),
            min_size=1,
            max_size=12,
        ),
    ).filter(lambda t: t.strip() and not _valid_timeout(t))
)
def test_a_bad_claim_timeout_is_one_error_line_and_changes_nothing(text, monkeypatch, tmp_path, mnist_dir):
    monkeypatch.setenv("LSTM_SWEEP_CLAIM_TIMEOUT", text)
    with pytest.raises(ConfigError, match="LSTM_SWEEP_CLAIM_TIMEOUT"):
        claim_timeout()
    db = tmp_path / "s.db"
    if not db.exists():
        Store(db).close()
    before = snapshot(tmp_path)
    for command in (
        (*RUN, "--data-dir", mnist_dir),
        ("plan", "--hidden", "8", "--lr", "0.01", "--device", "cpu"),
    ):
        o = cli(*command, "--db", db)
        assert "$LSTM_SWEEP_CLAIM_TIMEOUT=" in o.error_line() and "from 5 to 86,400" in o.err
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize(
    "text, value", [("", 60.0), ("  ", 60.0), ("5", 5.0), ("90.5", 90.5), ("86400", 86400.0)]
)
def test_sane_claim_timeouts_are_taken(text, value, monkeypatch):
    monkeypatch.setenv("LSTM_SWEEP_CLAIM_TIMEOUT", text)
    assert claim_timeout() == value


def _claim(db, *, pid, heartbeat, host=None, start=None):
    with Store(db):
        pass
    conn = sqlite3.connect(db)
    with conn:
        conn.execute(
            "INSERT INTO claims VALUES (?, 'someone', ?, ?, ?, ?, ?)",
            (TRIAL.key(), host or socket.gethostname(), pid, start, time.time(), heartbeat),
        )
    conn.close()


def _driver(db, mnist_dir, timeout="5") -> subprocess.Popen:
    env = {**os.environ, "LSTM_SWEEP_DATA_DIR": str(mnist_dir), "LSTM_SWEEP_CLAIM_TIMEOUT": timeout}
    return subprocess.Popen(
        [LSTM_SWEEP, *RUN, "--db", str(db)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow
def test_a_heartbeat_far_in_the_future_is_stale_at_once(tmp_path, mnist_dir):
    """No clock is that wrong: the trial is taken over without a wait (and the driver would
    otherwise wait for ever; 600 s is a hang guard, not a speed)."""
    for ahead in (10**6, 1e12):
        db = tmp_path / f"f{ahead:g}.db"
        _claim(db, pid=os.getpid(), heartbeat=time.time() + ahead, host="another-host")
        proc = _driver(db, mnist_dir)
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
        assert "waiting for" not in err
        assert [r.config for r in load_results(db)] == [TRIAL]
        assert Store(db, readonly=True).claims() == []


@pytest.mark.slow
@pytest.mark.parametrize("ahead, host", [(3.0, "another-host"), (0.0, None)])
def test_a_claim_nobody_beats_holds_its_trial_one_timeout_after_its_last_beat(
    ahead, host, tmp_path, mnist_dir
):
    """A heartbeat a little in the future (within the timeout), on another host; or a live
    process on this host that is no driver (this test's own): live while beaten (the test
    beats it until the driver says it waits, however slow its start), then taken over once
    its last heartbeat is a timeout old, never before."""
    db = tmp_path / "p.db"
    _claim(db, pid=os.getpid(), heartbeat=time.time() + ahead, host=host)
    proc = _driver(db, mnist_dir)
    lines = Lines(proc)
    with ClaimBeater(db, os.getpid(), value=lambda: time.time() + ahead) as beater:
        line = lines.wait_for("waiting for 1 trial being trained by another driver")
    assert (host or socket.gethostname()) in line
    assert proc.wait(timeout=600) == 0, lines.text()
    assert time.time() - beater.last >= 5  # not before the last beat was a timeout old
    assert [r.config for r in load_results(db)] == [TRIAL]
    assert Store(db, readonly=True).claims() == []


def test_a_claim_says_why_it_is_stale():
    now = 1_000_000.0
    alive = Claim("k", "d", "elsewhere", 1, None, now, now - 1)
    assert alive.live(now, 60)
    assert "no heartbeat for 61 s" in Claim("k", "d", "h", 1, None, 0, now - 61).stale_because(now, 60)
    assert "in the future" in Claim("k", "d", "h", 1, None, 0, now + 61).stale_because(now, 60)
    assert "not a time" in Claim("k", "d", "h", 1, None, 0, "soon").stale_because(now, 60)
    assert "not a time" in Claim("k", "d", "h", 1, None, 0, math.nan).stale_because(now, 60)
    assert "not a number" in Claim("k", "d", "h", "1", None, 0, now).stale_because(now, 60)
    here = socket.gethostname()
    gone = Claim("k", "d", here, 2**22 + 12345, None, 0, now)  # beyond any pid_max
    assert "no longer runs" in gone.stale_because(now, 60)
    reused = Claim("k", "d", here, os.getpid(), "0", 0, now)
    assert "another process" in reused.stale_because(now, 60)
    # the kind, for code (check reports a claim from the future, not one merely silent)
    assert alive.staleness(now, 60) is None
    kinds = [
        (Claim("k", "d", "h", 1, None, 0, now - 61), StaleKind.SILENT),
        (Claim("k", "d", "h", 1, None, 0, now + 61), StaleKind.FUTURE),
        (Claim("k", "d", "h", 1, None, 0, "soon"), StaleKind.BAD_ROW),
        (gone, StaleKind.GONE),
        (reused, StaleKind.REUSED),
    ]
    for claim, kind in kinds:
        why = claim.staleness(now, 60)
        assert why is not None and why.kind is kind and why.text == claim.stale_because(now, 60)
