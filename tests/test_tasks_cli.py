"""The task options through the real CLI, as a hostile user gives them: ``--text`` at a folder, a
FIFO, a missing, empty, non-UTF-8, binary or too short file; ``--length`` and ``--task-seed`` out
of range or not numbers; ``--task`` as markup, odd paths, unicode, a list with an empty item,
mixed kinds of data; user tasks that raise on import, miss attributes or return the wrong
shapes. Each is one ``Error: `` line naming what is wrong and how to fix it, exit code 2, and
the store as it was (a store that was there: its bytes; none: none made). And one user task,
``examples/tasks/spikes.py``, end to end: run, stored, tabled."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from helpers import LSTM_SWEEP, cli, examples, last_wins, snapshot
from lstm_sweep.store import load_results
from lstm_sweep.study import TASKS, is_user_task

ROOT = Path(__file__).resolve().parents[1]
SPIKES = ROOT / "examples" / "tasks" / "spikes.py"
GRID = ["--hidden", "8", "--lr", "0.01", "--steps", "20", "--batch-size", "20", "--device", "cpu"]
ENV = {**os.environ, "LSTM_SWEEP_DATA_DIR": os.environ.get("LSTM_SWEEP_DATA_DIR", "/nonexistent")}


@pytest.fixture(scope="module")
def spikes_store(tmp_path_factory):
    """The user's worked example run once through the CLI's entry point: (db, stdout, stderr)."""
    db = tmp_path_factory.mktemp("spikes") / "spikes.db"
    proc = subprocess.run(
        [LSTM_SWEEP, "run", "--task", f"{SPIKES}:Spikes", "--hidden", "8", "--lr", "0.01", "--steps", "20",
         "--batch-size", "20", "--device", "cpu", "--workers", "1", "--no-progress", "--db", str(db)],
        env=ENV, capture_output=True, text=True, timeout=300, cwd=ROOT,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return db, proc.stdout, proc.stderr


def test_a_user_task_runs_end_to_end_and_is_tabled(spikes_store):
    db, out, err = spikes_store
    (result,) = load_results(db)
    assert str(result.status) == "done"
    c = result.config
    assert c.task == f"{SPIKES}:Spikes" and c.task_id == "version:1"
    assert c.task_metric == "accuracy" and c.task_chance == 0.2 and c.length == 50
    assert 0 <= result.test_accuracy <= 1
    assert "1 trial run (1 done)" in err
    table = cli("table", "--db", db)
    assert table.code == 0, table.text
    assert f"{SPIKES}:Spikes · length 50 · task version:1" in table.out
    assert f"{result.test_accuracy:.4f}" in table.out


# --------------------------------------------------------------------------- hostile inputs

USER_TASKS = {
    "raises.py": 'raise RuntimeError("boom at import")\n',
    "missing.py": (
        "from lstm_sweep.data import Task\n\n"
        "class NoOutput(Task):\n"
        "    n_input, length, version = 1, 5, '1'\n\n"
        "    def splits(self, seed):\n"
        "        return {}\n\n"
        "class NoSplits:\n"
        "    n_input, n_output, length = 1, 2, 5\n\n"
        "NotAClass = 3\n"
    ),
    "shapes.py": (
        "import numpy as np\n"
        "from lstm_sweep.data import Task\n\n"
        "class Short(Task):  # says 50 steps, gives 49\n"
        "    n_input, n_output, length = 1, 5, 50\n"
        "    readout, loss, metric, chance, version = 'last', 'xent', 'accuracy', 0.2, '1'\n\n"
        "    def splits(self, seed):\n"
        "        x, y = np.zeros((10, 49, 1), np.float32), np.zeros(10, np.int64)\n"
        "        return {'train': (x, y), 'validation': (x, y), 'test': (x, y)}\n"
    ),
}


@pytest.fixture
def hostile(tmp_path):
    """A folder of hostile inputs: texts, user tasks, a FIFO and a folder."""
    (tmp_path / "folder.txt").mkdir()
    os.mkfifo(tmp_path / "fifo.txt")
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "latin1.txt").write_bytes("café au lait, crème brûlée. ".encode("latin-1") * 10)
    (tmp_path / "binary.txt").write_bytes(bytes(range(256)) * 8)
    (tmp_path / "two.txt").write_bytes(b"ab")
    for name, source in USER_TASKS.items():
        (tmp_path / name).write_text(source)
    return tmp_path


# (arguments with {d} for the hostile folder, words the one Error line holds)
CASES = {
    "text a folder": (["--task", "chars", "--text", "{d}/folder.txt"], ["--text", "is a directory"]),
    "text missing": (["--task", "chars", "--text", "{d}/nope.txt"], ["no such file", "pass --text with"]),
    "text empty": (["--task", "chars", "--text", "{d}/empty.txt"], ["is empty", "needs characters"]),
    "text not UTF-8": (
        ["--task", "chars", "--text", "{d}/latin1.txt"],
        ["is not UTF-8: byte offset 3", "convert it to UTF-8"],
    ),
    "text binary": (["--task", "chars", "--text", "{d}/binary.txt"], ["is not UTF-8: byte offset 128"]),
    "text 2 bytes": (
        ["--task", "chars", "--text", "{d}/two.txt"],
        ["holds 2 characters, too few", "needs at least 60"],
    ),
    "chars without a text": (["--task", "chars"], ["--task chars reads a text: pass --text FILE"]),
    "length 0": (["--task", "adding", "--length", "0"], ["Invalid value for '--length'", "1<=x<=1000000"]),
    "length -1": (["--task", "adding", "--length", "-1"], ["Invalid value for '--length'", "1<=x<=1000000"]),
    "length 10**30": (
        ["--task", "adding", "--length", str(10**30)],
        ["Invalid value for '--length'", "1<=x<=1000000"],
    ),
    "length abc": (["--task", "adding", "--length", "abc"], ["Invalid value for '--length'", "'abc'"]),
    "length of a fixed task": (
        ["--task", "pixels", "--length", "100"],
        ["--task pixels sets its own", "drop --length"],
    ),
    "length of a user task": (
        ["--task", f"{SPIKES}:Spikes", "--length", "100"],
        ["--length is the sequence length of adding, copy and chars", "drop --length"],
    ),
    "task seed -1": (
        ["--task", "adding", "--task-seed", "-1"],
        ["Invalid value for '--task-seed'", "0<=x<="],
    ),
    "task seed 2**70": (
        ["--task", "adding", "--task-seed", str(2**70)],
        ["Invalid value for '--task-seed'", "0<=x<=9223372036854775807"],
    ),
    "task seed x": (["--task", "adding", "--task-seed", "x"], ["Invalid value for '--task-seed'", "'x'"]),
    "task seed unread": (
        ["--task", "rows,pixels", "--task-seed", "3"],
        ["reads no seed", "drop --task-seed"],
    ),
    "task markup": (
        ["--task", "<script>alert(1)</script>"],
        ["is not a task", "module:Class or file.py:Class"],
    ),
    "task a:b:c": (["--task", "a:b:c"], ["'a:b:c' is not a task", "choose one of rows, pixels"]),
    "task ../../x.py:Y": (["--task", "../../x.py:Y"], ["no file", "x.py", "name a .py file"]),
    "task unicode": (["--task", "tâche:Ünï"], ["is not a task", "module:Class or file.py:Class"]),
    "task unicode module": (["--task", "módulo:Clase"], ["cannot import módulo", "ModuleNotFoundError"]),
    "task list with an empty item": (["--task", "rows,,adding"], ["is not a comma-separated list of tasks"]),
    "task list ending in a comma": (["--task", "adding,"], ["is not a comma-separated list of tasks"]),
    "user task raises on import": (
        ["--task", "{d}/raises.py:X"],
        ["cannot import", "raises.py", "RuntimeError: boom at import"],
    ),
    "user task missing an attribute": (
        ["--task", "{d}/missing.py:NoOutput"],
        ["NoOutput declares no n_output", "an integer from 1 to"],
    ),
    "user task without splits": (
        ["--task", "{d}/missing.py:NoSplits"],
        ["NoSplits has no method splits(self, seed)"],
    ),
    "user task not a class": (["--task", "{d}/missing.py:NotAClass"], ["NotAClass", "is a int, not a class"]),
    "user task not defined": (["--task", "{d}/missing.py:Nowhere"], ["missing.py defines no Nowhere"]),
    "mixed kinds of data": (
        ["--task", "rows,adding"],
        ["mixes tasks that read different data: rows (images), adding (generated)", "one sweep per kind"],
    ),
}


def _refused(command: str, folder: Path, db: Path, args: list[str], words: list[str]) -> str:
    given = [a.replace("{d}", str(folder)) for a in args]
    extra = ["--no-progress"] if command == "run" else []
    if command == "search":  # a search needs two rates to choose from (else that is the error)
        extra = ["--lr", "0.01,0.1"]
    line = cli(*last_wins(command, *GRID, *extra, "--db", db, *given)).error_line()
    for w in words:
        assert w.replace("{d}", str(folder)) in line, line
    return line


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("command", ["run", "search", "plan"])
def test_hostile_task_options_are_one_error_line_and_no_store(hostile, tmp_path_factory, command, case):
    args, words = CASES[case]
    where = tmp_path_factory.mktemp("store")
    db = where / "s.db"
    _refused(command, hostile, db, args, words)
    assert snapshot(where) == {} and not db.exists()


@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_task_options_leave_a_store_as_it_was(hostile, spikes_store, tmp_path_factory, case):
    args, words = CASES[case]
    where = tmp_path_factory.mktemp("store")
    db = where / "s.db"
    shutil.copy(spikes_store[0], db)
    before = snapshot(where)
    _refused("run", hostile, db, args, words)
    assert snapshot(where) == before


@pytest.mark.parametrize("command", ["run", "plan"])
def test_a_fifo_as_the_text_is_refused_at_once(hostile, tmp_path, command):
    """A FIFO with no writer: opened without blocking, refused (through the entry point, with a
    timeout: a hang fails the test rather than the suite)."""
    proc = subprocess.run(
        [LSTM_SWEEP, command, *GRID, "--task", "chars", "--text", str(hostile / "fifo.txt"),
         "--db", str(tmp_path / "s.db")],
        env=ENV, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, proc.stderr
    assert lines[-1].startswith("Error: ") and sum(x.startswith("Error") for x in lines) == 1, proc.stderr
    assert "fifo.txt is not a regular file (a FIFO, socket or device)" in lines[-1]
    assert "pass --text with the path of a UTF-8 file" in lines[-1]
    assert "Traceback" not in proc.stderr and not (tmp_path / "s.db").exists()


# A task's data is made before the store is opened (running/sweep.py execute): data a task
# refuses leaves no store behind, and an existing store's bytes as they were.


def test_a_user_task_of_the_wrong_shapes_leaves_no_store(hostile, tmp_path):
    db = tmp_path / "store" / "s.db"
    db.parent.mkdir()
    line = _refused(
        "run",
        hostile,
        db,
        ["--task", "{d}/shapes.py:Short"],
        ["inputs are float32 (10, 49, 1)", "shape (N, 50, 1): N sequences of its length and n_input"],
    )
    assert "Short" in line
    assert not db.exists()


def test_a_length_longer_than_the_texts_splits_leaves_no_store(tmp_path):
    text = tmp_path / "short.txt"
    text.write_text("to be or not to be, that is the question. " * 30)  # ~1,300 characters
    db = tmp_path / "store" / "s.db"
    db.parent.mkdir()
    _refused("run", tmp_path, db, ["--task", "chars", "--text", str(text), "--length", "500"], ["too few"])
    assert not db.exists()


def test_a_user_task_of_the_wrong_shapes_leaves_a_store_as_it_was(hostile, spikes_store, tmp_path):
    where = tmp_path / "store"
    where.mkdir()
    shutil.copy(spikes_store[0], where / "s.db")
    before = snapshot(where)
    _refused("run", hostile, where / "s.db", ["--task", "{d}/shapes.py:Short"], ["inputs are float32"])
    assert snapshot(where) == before


def test_a_user_task_of_the_wrong_shapes_is_one_error_line(hostile, tmp_path):
    """What does hold today: the refusal itself, naming the split, the shapes and the length."""
    _refused(
        "run",
        hostile,
        tmp_path / "s.db",
        ["--task", "{d}/shapes.py:Short"],
        ["task {d}/shapes.py:Short: splits()['train'] inputs are float32 (10, 49, 1)", "(N, 50, 1)"],
    )


# --------------------------------------------------------------------------- generated inputs

FIXTURE = [HealthCheck.function_scoped_fixture]  # tmp_path: each example writes its own names


def _no_task(value: str) -> bool:
    """No item of a ``--task`` list names a task (so nothing is imported or trained)."""
    return not any(item.strip() in TASKS or is_user_task(item.strip()) for item in value.split(","))


@settings(max_examples=examples(40), deadline=None, suppress_health_check=FIXTURE)
@given(value=st.text(st.characters(blacklist_categories=("Cs",)), max_size=40))
def test_any_string_that_names_no_task_is_one_error_line(tmp_path, value):
    assume(_no_task(value))
    db = tmp_path / "h.db"
    line = cli("plan", *GRID, "--db", db, f"--task={value}").error_line()
    assert "--task" in line and "module:Class or file.py:Class" in line
    assert not db.exists()


@settings(max_examples=examples(30), deadline=None, suppress_health_check=FIXTURE)
@given(
    flag=st.sampled_from(["--length", "--task-seed"]),
    value=st.one_of(
        st.integers(max_value=-1),
        st.integers(min_value=2**63),
        st.text(st.characters(blacklist_categories=("Cs", "Nd")), min_size=1, max_size=20),
    ),
)
def test_any_length_or_task_seed_out_of_range_is_one_error_line(tmp_path, flag, value):
    db = tmp_path / "h.db"
    out = cli("plan", *GRID, "--db", db, "--task", "adding", f"{flag}={value}")
    assert f"Invalid value for '{flag}'" in out.error_line()
    assert not db.exists()


@settings(max_examples=examples(30), deadline=None, suppress_health_check=FIXTURE)
@given(blob=st.binary(max_size=59))
def test_any_file_too_short_or_not_utf8_is_one_error_line(tmp_path, blob):
    """Under 60 bytes a text is too short for its 5 % splits (or empty, or not UTF-8): refused
    before anything trains, whatever the bytes."""
    text = tmp_path / "t.txt"
    text.write_bytes(blob)
    db = tmp_path / "store" / "h.db"
    db.parent.mkdir(exist_ok=True)
    line = cli("run", *GRID, "--no-progress", "--db", db, "--task", "chars", "--text", text).error_line()
    assert f"text {text}" in line
    assert any(w in line for w in ("is empty", "is not UTF-8", "too few")), line
    assert not db.exists()
