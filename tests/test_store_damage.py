"""Damaged, hand-edited, truncated and special stores, opened by every command that reads one:
a clear error (exit 2, one line naming the store) or correct output, never a traceback, and
never a changed file. ``check`` finds every damage without writing."""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
from dataclasses import replace

import pytest

from helpers import cli, snapshot, trial
from lstm_sweep.store import Store, load_results
from lstm_sweep.study.results import Status


@pytest.fixture(scope="module")
def good_store(tmp_path_factory):
    path = tmp_path_factory.mktemp("store") / "good.db"
    with Store(path) as s:
        for h in (16, 32):
            for lr, acc in ((1e-3, 0.85), (1e-2, 0.95), (1.0, 0.1)):
                s.save(
                    trial(h, lr, acc, status=Status.DIVERGED if lr == 1.0 else Status.DONE), {"torch": "test"}
                )
    return path


def _sql(*statements):
    def damage(path):
        conn = sqlite3.connect(path)
        conn.execute("PRAGMA ignore_check_constraints = ON")
        for s in statements:
            conn.execute(s)
        conn.commit()
        conn.close()

    return damage


def _set_deep(table, column, text):
    def damage(path):
        conn = sqlite3.connect(path)
        conn.execute(
            f"UPDATE {table} SET {column} = ? WHERE rowid = (SELECT min(rowid) FROM {table})", (text,)
        )
        conn.commit()
        conn.close()

    return damage


def _truncate(at):
    def damage(path):
        size = path.stat().st_size
        with open(path, "r+b") as f:
            f.truncate(at if at >= 0 else size + at)

    return damage


def _scribble(path):
    blob = bytearray(path.read_bytes())
    for i in range(4096, min(len(blob), 4096 * 4), 7):  # garbage over pages 2-4
        blob[i] = 0xA5
    path.write_bytes(bytes(blob))


ONE_ROW = "(SELECT key FROM trials ORDER BY hidden, lr LIMIT 1)"
DAMAGES = {
    "no schema version": _sql("DELETE FROM meta WHERE name = 'schema_version'"),
    "schema version text": _sql("UPDATE meta SET value = 'two' WHERE name = 'schema_version'"),
    "schema version newer": _sql("UPDATE meta SET value = '99' WHERE name = 'schema_version'"),
    "config not json": _sql(f"UPDATE trials SET config = '{{oops' WHERE key = {ONE_ROW}"),
    "config a list": _sql(f"UPDATE trials SET config = '[1, 2]' WHERE key = {ONE_ROW}"),
    "config lacks hidden": _sql(f"UPDATE trials SET config = '{{\"lr\": 0.1}}' WHERE key = {ONE_ROW}"),
    "config bad value": _sql(
        f'UPDATE trials SET config = \'{{"hidden": -4, "lr": 0.1}}\' WHERE key = {ONE_ROW}'
    ),
    "config edited": _sql(
        f"UPDATE trials SET config = replace(config, '\"seed\": 0', '\"seed\": 7') WHERE key = {ONE_ROW}"
    ),
    "text in accuracy": _sql(f"UPDATE trials SET test_accuracy = 'high' WHERE key = {ONE_ROW}"),
    "text in steps_done": _sql(f"UPDATE trials SET steps_done = 'x' WHERE key = {ONE_ROW}"),
    "text in hidden": _sql(f"UPDATE trials SET hidden = 'wide' WHERE key = {ONE_ROW}"),
    "unknown status": _sql(f"UPDATE trials SET status = 'exploded' WHERE key = {ONE_ROW}"),
    "group size 0": _sql(f"UPDATE trials SET group_size = 0 WHERE key = {ONE_ROW}"),
    "environment not json": _sql("UPDATE environments SET info = 'not json'"),
    "environment a number": _sql("UPDATE environments SET info = '42'"),
    "text in curve": _sql(f"UPDATE curves SET loss = 'low' WHERE key = {ONE_ROW}"),
    "no curves table": _sql("DROP TABLE curves"),
    "no meta table": _sql("DROP TABLE meta"),
    "another program": _sql("PRAGMA application_id = 1234"),
    "truncated 100": _truncate(100),
    "truncated 1024": _truncate(1024),
    "truncated 4096": _truncate(4096),
    "truncated 8192": _truncate(8192),
    "truncated half": lambda p: _truncate(p.stat().st_size // 2)(p),
    "truncated last byte": _truncate(-1),
    "garbage pages": _scribble,
    "header only": lambda p: p.write_bytes(p.read_bytes()[:16]),
    "text file": lambda p: p.write_text("my notes\n"),
    # numbers a trial cannot have (the row is read back, so SQL types alone do not catch them)
    "accuracy 5": _sql(f"UPDATE trials SET test_accuracy = 5.0 WHERE key = {ONE_ROW}"),
    "accuracy -3": _sql(f"UPDATE trials SET val_accuracy = -3 WHERE key = {ONE_ROW}"),
    "negative time": _sql(f"UPDATE trials SET wall_s = -1.5 WHERE key = {ONE_ROW}"),
    "negative memory": _sql(f"UPDATE trials SET peak_mem_bytes = -1 WHERE key = {ONE_ROW}"),
    "more steps than the trial": _sql(f"UPDATE trials SET steps_done = 31 WHERE key = {ONE_ROW}"),
    "inf loss in a done trial": _sql(f"UPDATE trials SET train_loss = 9e999 WHERE key = {ONE_ROW}"),
    "inf in a curve": _sql(f"UPDATE curves SET loss = 9e999 WHERE key = {ONE_ROW} AND step = 10"),
    "curve accuracy 2": _sql(f"UPDATE curves SET accuracy = 2 WHERE key = {ONE_ROW}"),
    "curve val 2": _sql(f"UPDATE curves SET val = 2 WHERE key = {ONE_ROW} AND step = 20"),
    "text in curve val": _sql(f"UPDATE curves SET val = 'good' WHERE key = {ONE_ROW}"),
    "no curve val column": _sql("ALTER TABLE curves DROP COLUMN val"),
    "curve step out of range": _sql(f"UPDATE curves SET step = 100000 WHERE key = {ONE_ROW} AND step = 30"),
    "curve step off the display steps": _sql(
        f"UPDATE curves SET step = 7 WHERE key = {ONE_ROW} AND step = 10"
    ),
    # JSON nested past what any reader can walk (Python's recursion gives out near 1,000)
    "config nested 200,000 deep": _set_deep("trials", "config", "[" * 200_000 + "]" * 200_000),
    "environment nested 200,000 deep": _set_deep(
        "environments", "info", '{"a":' * 200_000 + "1" + "}" * 200_000
    ),
    "config nested 40 deep": _set_deep(
        "trials", "config", '{"hidden": 16, "lr": 0.1, "x": ' + "[" * 40 + "]" * 40 + "}"
    ),
    # claims no driver can have: a heartbeat far in the future, a driver with no pid
    "claim from the future": _sql("INSERT INTO claims VALUES ('k1', 'd', 'elsewhere', 12, NULL, 0, 1e12)"),
    "claim of a stored trial": _sql(
        "INSERT INTO claims SELECT key, 'd', 'elsewhere', 12, NULL, 0, 0 FROM trials LIMIT 1"
    ),
    "no claims table": _sql("DROP TABLE claims"),
    "no claims column": _sql("ALTER TABLE claims DROP COLUMN heartbeat"),
}
# What a sound store gives, for damage that leaves the command's part intact: it must be shown.
READERS = [
    ("table",),
    ("table", "--metric", "time", "--format", "latex"),
    ("findings",),
    ("compare",),
    ("check",),
    ("plan", "--hidden", "16", "--lr", "0.001,0.1", "--steps", "30", "--device", "cpu"),
]


@pytest.mark.parametrize("damage", sorted(DAMAGES))
def test_every_reader_gives_a_clear_answer_and_changes_nothing(damage, good_store, tmp_path):
    db = tmp_path / "s.db"
    shutil.copy(good_store, db)
    DAMAGES[damage](db)
    before = snapshot(tmp_path)
    for args in READERS:
        o = cli(*args, "--db", db)
        assert "Traceback" not in o.text
        if args[0] == "check":
            assert o.code in (1, 2), f"check missed {damage!r}: {o.text}"
            if o.code == 1:
                assert o.out.startswith("problem: ")
        elif o.code == 2:
            assert str(db) in o.error_line() or "--db" in o.error_line(), o.err
        else:
            assert o.code == 0, (args, o.text)
        assert snapshot(tmp_path) == before, f"{args[0]} changed files on {damage!r}"


@pytest.mark.parametrize(
    "damage", ["config not json", "unknown status", "truncated half", "no schema version", "text in accuracy"]
)
def test_run_refuses_a_damaged_store_before_training(damage, good_store, tmp_path, mnist_dir):
    db = tmp_path / "s.db"
    shutil.copy(good_store, db)
    DAMAGES[damage](db)
    before = db.read_bytes()
    o = cli(
        "run",
        "--hidden",
        "16",
        "--lr",
        "0.5",
        "--steps",
        "5",
        "--device",
        "cpu",
        "--workers",
        "1",
        "--data-dir",
        mnist_dir,
        "--db",
        db,
        "--no-progress",
    )
    assert "Traceback" not in o.text
    assert o.error_line().startswith(f"Error: {db}") and "trained" not in o.err
    assert db.read_bytes() == before


def test_check_says_ok_for_a_sound_store_and_reads_old_schemas(good_store, tmp_path):
    o = cli("check", "--db", good_store)
    assert o.code == 0 and o.out.startswith(f"{good_store}: ok — 6 trials, 18 curve points")
    # a version-1 store made by lstm-sweep 0.1.0 (kept as a fixture) reads as it is ...
    v1 = tmp_path / "v1.db"
    shutil.copy(os.path.join(os.path.dirname(__file__), "fixtures", "store-v1.db"), v1)
    before = v1.read_bytes()
    rows = load_results(v1, with_curves=True)
    assert len(rows) == 5 and {r.status for r in rows} == set(Status) - {Status.PRUNED}
    assert cli("check", "--db", v1).out.startswith(f"{v1}: ok — 5 trials, 9 curve points, schema 1")
    assert v1.read_bytes() == before
    # ... and is migrated, every row kept, when opened for writing
    with Store(v1) as s:
        assert s.schema_version == 4 and s.claims() == []
        assert s.results(with_curves=True) == rows  # the trials table rebuilt, curves kept
        # schema 3 lets a search's pruned trials in
        pruned = replace(
            rows[0],
            config=replace(rows[0].config, seed=99),
            status=Status.PRUNED,
            test_accuracy=None,
            val_accuracy=0.5,
            steps_done=rows[0].config.steps // 2,
            curve=(),
        )
        s.save(pruned)
        assert s.statuses()[pruned.key] is Status.PRUNED
    assert cli("check", "--db", v1).out.startswith(f"{v1}: ok — 6 trials")


def test_special_files_are_refused_without_hanging(tmp_path):
    fifo = tmp_path / "fifo.db"
    os.mkfifo(fifo)
    for args in (
        ("table",),
        ("check",),
        ("report", "--out", tmp_path / "r.html"),
        ("plot", "--out", tmp_path / "p"),
    ):
        o = cli(*args, "--db", fifo)  # a hang here would be a FIFO opened for reading
        assert "not a regular file" in o.error_line()
    assert "is a folder" in cli("table", "--db", tmp_path).error_line()
    assert "not a regular file" in cli("table", "--db", "/dev/null").error_line()
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_reading_creates_no_wal_or_shm_files(good_store, tmp_path):
    db = tmp_path / "s.db"
    shutil.copy(good_store, db)
    for args in (("table",), ("findings",), ("check",), ("compare",)):
        assert cli(*args, "--db", db).code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.db"]


def test_a_store_error_says_its_kind_to_code(good_store, tmp_path):
    """StoreError.reason tells failures apart without reading the message (SQLite's own result
    code where SQLite raised it)."""
    from lstm_sweep.errors import StoreError, StoreReason

    def reason(f) -> StoreReason:
        with pytest.raises(StoreError) as e:
            f()
        return e.value.reason

    (tmp_path / "text.db").write_text("not a database, but long enough to be read as one " * 90)
    assert reason(lambda: Store(tmp_path / "text.db")) is StoreReason.NOT_A_STORE
    assert reason(lambda: Store(tmp_path / "none.db", readonly=True)) is StoreReason.MISSING
    assert reason(lambda: Store(tmp_path)) is StoreReason.BAD_PATH
    db = tmp_path / "s.db"
    shutil.copy(good_store, db)
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE meta SET value = '99' WHERE name = 'schema_version'")
    assert reason(lambda: Store(db, readonly=True)) is StoreReason.NEWER
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE meta SET value = '4' WHERE name = 'schema_version'")
        conn.execute("INSERT INTO environments VALUES ('e', '[1]')")
    with Store(db, readonly=True) as s:
        assert reason(s.environments) is StoreReason.DAMAGED
        assert "environment e: not a JSON object" in s.check()
    with Store(db) as s:  # SQLite's own error, by its result code: a write a reader cannot make
        s.connection.execute("PRAGMA query_only = ON")
        assert reason(lambda: s.bind_dataset("x", "f")) is StoreReason.READ_ONLY
    s.close()
    assert reason(s.tables) is StoreReason.CLOSED
