"""Property: ``check`` is never weaker than the readers. Every column of every table (a done and
a pruned trial, their curves, the rungs, a driver's plan, a dataset's fingerprint, a claim) is
set, one at a time, to values Hypothesis generates (numbers out of range, text, blobs, NULL, JSON
that is not a plan, NaN and infinities); then every reader reads the store (the results with
curves, the rungs a search replays, the plans and claims the live page shows, the live page's
whole snapshot, the tables) and ``check`` looks at it. Whatever any reader refuses (an error, or a
row left out), ``check`` reports; and the store readers raise nothing but StoreError."""

from __future__ import annotations

import json
import math
import shutil
import sqlite3
import time

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from helpers import examples, trial
from lstm_sweep import build_tables, render_tables
from lstm_sweep.errors import LstmSweepError, StoreError
from lstm_sweep.store import Store
from lstm_sweep.store.claims import Driver
from lstm_sweep.store.schema import CLAIM_COLUMNS, TRIAL_COLUMNS
from lstm_sweep.study.results import Status

SOME = settings(max_examples=examples(200))

DONE = trial(16, 1e-3, 0.9)
PRUNED = trial(16, 1e-2, 0.5, status=Status.PRUNED)
CLAIMED = trial(32, 1e-2, 0.5)
FINGERPRINT = "ab12" * 16
PLAN_FIELDS = ("host", "pid", "started_at", "keys", "pending", "eta_s")


@pytest.fixture(scope="module")
def sound(tmp_path_factory):
    """A store with one row in every table (and a live claim, by this process)."""
    path = tmp_path_factory.mktemp("agree") / "sound.db"
    driver = Driver()
    with Store(path) as s:
        s.save(DONE, {"torch": "test"})
        s.save(PRUNED, {"torch": "test"})
        s.record_plan(driver, [DONE.key, PRUNED.key, CLAIMED.key], 1, 60.0)
        s.bind_dataset("mnist", FINGERPRINT)
        assert s.claim([CLAIMED.key], driver, timeout=3600) == [CLAIMED.key]
        assert s.check() == [] and len(s.rungs()) == 1 and len(s.plans()) == 1
    return path


# what a column may be set to: anything SQLite stores (NaN is stored as NULL)
SQL_VALUES = st.one_of(
    st.none(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False),
    st.sampled_from(
        [
            5.0,
            -1,
            0,
            1,
            1.5,
            -0.0,
            1e308,
            math.inf,
            -math.inf,
            2**63 - 1,
            10**9,
            "x",
            "",
            "5.0",
            "-1",
            "nan",
            "Infinity",
            "pruned",
            "done",
            "[]",
            "{}",
            "null",
            DONE.key,
            PRUNED.key,
            CLAIMED.key,
            b"\x00\x01",
        ]
    ),
    st.text(max_size=6),
    st.binary(max_size=4),
)
# (table, column, which row) for every column a reader reads
TARGETS = (
    [("trials", c, f"key = '{DONE.key}'") for c in TRIAL_COLUMNS]
    + [("trials", c, f"key = '{PRUNED.key}'") for c in TRIAL_COLUMNS]
    + [("curves", c, f"key = '{DONE.key}' AND step = 10") for c in ("key", "step", "loss", "accuracy")]
    + [("rungs", c, "1") for c in ("key", "step", "val_accuracy")]
    + [("meta", c, "name LIKE 'plan:%'") for c in ("name", "value")]
    + [("meta", "value", "name LIKE 'dataset:%'")]
    + [("claims", c, "1") for c in CLAIM_COLUMNS]
)
JSON_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(),
    st.sampled_from(
        [math.nan, math.inf, -math.inf, -1, 0, 1e308, 10**400, "x", [], {}, [1], ["ok", 5], [None], {"a": 1}]
    ),
    st.text(max_size=4),
    st.lists(st.integers() | st.text(max_size=3), max_size=3),
)


def _damaged(sound, tmp_path, statement: str, params=()) -> object:
    path = tmp_path / "damaged.db"
    shutil.copy(sound, path)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA ignore_check_constraints = ON")
    try:
        conn.execute(statement, params)
        conn.commit()
    except sqlite3.IntegrityError:  # NOT NULL, a key given twice: not a store SQLite keeps
        return None
    finally:
        conn.close()
    return path


def _refusals(path) -> list[str]:
    """What the readers refuse in the store at ``path`` (empty: they read all of it)."""
    from lstm_sweep.serve.state import build_snapshot, running_trials

    refused = []

    def read(what, f):
        try:
            return f()
        except StoreError as e:
            refused.append(f"{what}: {e}")
        except Exception as e:  # noqa: BLE001 - a raw error is a refusal too (and a bug)
            refused.append(f"{what} raised {type(e).__name__}: {e}")
            if what.startswith("store."):
                raise AssertionError(f"{what} raised {type(e).__name__}, not StoreError") from e
        return None

    with Store(path, readonly=True) as store:
        results = read("store.results", lambda: store.results(with_curves=True))
        read("store.rungs", store.rungs)
        plans = read("store.plans", store.plans)
        if plans is not None:
            rows = store.query("SELECT count(*) FROM meta WHERE name LIKE 'plan:%'")[0][0]
            if len(plans) < rows:
                refused.append("store.plans left a plan out")
        read("store.dataset_fingerprint", lambda: store.dataset_fingerprint("mnist"))
        claims = read("store.claims", store.claims) or []
        for c in claims:
            why = c.stale_because(time.time(), 3600)
            if why is not None and not why.startswith(("no heartbeat", "process ", "pid ")):
                refused.append(f"claim: {why}")
        read("live page", lambda: json.dumps(build_snapshot(store).__dict__, default=str, allow_nan=False))
        read("live page's running trials", lambda: json.dumps(running_trials(store), allow_nan=False))
        if results is not None:
            read("table", lambda: render_tables(build_tables(results)))
    return refused


def _agree(path) -> None:
    if path is None:
        return
    refused = _refusals(path)
    with Store(path, readonly=True) as store:
        problems = store.check()
    assert problems or not refused, f"check says ok, but {refused}"


@SOME
@given(target=st.sampled_from(TARGETS), value=SQL_VALUES)
def test_check_reports_whatever_a_reader_refuses(sound, tmp_path, target, value):
    table, column, where = target
    _agree(_damaged(sound, tmp_path, f"UPDATE {table} SET {column} = ? WHERE {where}", (value,)))


@SOME
@given(field=st.sampled_from([*PLAN_FIELDS, "drop:keys", "drop:started_at", "extra"]), value=JSON_VALUES)
def test_check_reports_any_plan_row_the_live_page_leaves_out(sound, tmp_path, field, value):
    with Store(sound, readonly=True) as store:
        ((name, text),) = store.query("SELECT name, value FROM meta WHERE name LIKE 'plan:%'")
    plan = json.loads(text)
    if field.startswith("drop:"):
        del plan[field[5:]]
    else:
        plan[field] = value
    try:
        text = json.dumps(plan)  # NaN and Infinity as Python writes them
    except (ValueError, OverflowError):
        assume(False)
    _agree(_damaged(sound, tmp_path, "UPDATE meta SET value = ? WHERE name = ?", (text, name)))


@pytest.mark.parametrize(
    "statement,words",
    [
        ("UPDATE rungs SET val_accuracy = 5.0", "not a fraction"),
        ("UPDATE rungs SET step = -1", "rung step -1"),
        ("UPDATE rungs SET step = 'x'", "rung step 'x'"),
        ("UPDATE rungs SET val_accuracy = NULL", "not a fraction"),
        (f"UPDATE trials SET test_accuracy = 0.5 WHERE key = '{PRUNED.key}'", "test accuracy"),
        (f"UPDATE trials SET val_accuracy = NULL WHERE key = '{PRUNED.key}'", "no validation"),
        (f"UPDATE trials SET steps_done = 30 WHERE key = '{PRUNED.key}'", "stopped after 30 of"),
        (
            "UPDATE meta SET value = replace(value, '\"eta_s\": 60.0', '\"eta_s\": NaN') "
            "WHERE name LIKE 'plan:%'",
            "eta_s holds 'nan'",
        ),
        (
            "UPDATE meta SET value = replace(value, '\"pending\": 1', '\"pending\": 1e999') "
            "WHERE name LIKE 'plan:%'",
            "pending holds 'inf'",
        ),
        ("UPDATE meta SET value = '{}' WHERE name LIKE 'plan:%'", "lacks host"),
        ("UPDATE meta SET value = 'zz' WHERE name LIKE 'dataset:%'", "fingerprint"),
        ("UPDATE claims SET claimed_at = 'soon'", "claimed_at 'soon' is not a time"),
        ("UPDATE claims SET pid = 'p'", "pid 'p' is not a number"),
        ("UPDATE claims SET driver = x'00'", "driver b'\\x00' is not text"),
    ],
)
def test_the_issues_examples_are_reported(sound, tmp_path, statement, words):
    path = _damaged(sound, tmp_path, statement)
    with Store(path, readonly=True) as store:
        problems = store.check()
    assert any(words in p for p in problems), problems
    _agree(path)


def test_a_search_replay_refuses_what_check_reports(sound, tmp_path):
    """The issue's own reader: a search started again reads the rungs (damaged: refused, and
    ``check`` agrees), and a store check calls sound is replayed."""
    path = _damaged(sound, tmp_path, "UPDATE rungs SET val_accuracy = 5.0")
    with Store(path, readonly=True) as store, pytest.raises(StoreError, match="check"):
        store.rungs()
    with Store(sound, readonly=True) as store:
        assert store.rungs() == {(PRUNED.key, PRUNED.steps_done): 0.5}


def test_save_refuses_a_row_its_readers_would_refuse(tmp_path):
    from dataclasses import replace

    with Store(tmp_path / "s.db") as s:
        with pytest.raises(StoreError, match="test accuracy"):
            s.save(replace(PRUNED, test_accuracy=0.5))
        with pytest.raises(StoreError, match="stopped after 30 of"):
            s.save(replace(PRUNED, steps_done=30))
        assert s.results() == [] and s.rungs() == {}


def test_readers_raise_only_store_errors_on_a_hand_made_plan(sound, tmp_path):
    path = _damaged(sound, tmp_path, "INSERT INTO meta VALUES ('plan:x', '[[[[1]]]]')")
    with Store(path, readonly=True) as store:
        assert len(store.plans()) == 1  # the bad one left out ...
        assert any("plan plan:x" in p for p in store.check())  # ... and reported
    try:
        _agree(path)
    except LstmSweepError as e:  # pragma: no cover - a reader refused with our own error
        raise AssertionError(e) from e
