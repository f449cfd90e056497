"""A script that starts a sweep without ``if __name__ == "__main__":`` (or a program piped on
stdin) never hangs: the driver sees that worker processes cannot start from it, trains in its
own process, says why and how to get the workers back, and stores every trial; a sweep started
while a worker process starts is refused before it touches its store."""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
import subprocess
import sys
import textwrap

import pytest

from lstm_sweep import ConfigError, Grid, load_dataset, run_sweep
from lstm_sweep.running.executors import spawning

SWEEP = """\
from lstm_sweep import Grid, load_dataset, run_sweep, load_results, build_tables, render_tables
{indent}data = load_dataset()
{indent}run_sweep(Grid(hidden=(8, 16), lr=(1e-3, 1e-2), steps=5), data, "my.db", device="cpu", workers=2)
{indent}print(render_tables(build_tables(load_results("my.db")), "csv"))
"""
GUARDED = SWEEP.replace("{indent}data", 'if __name__ == "__main__":\n{indent}data').replace(
    "{indent}", "    "
)
UNGUARDED = SWEEP.replace("{indent}", "")
HANG_GUARD_S = 600  # a hang, not a speed


def _stored(db) -> tuple[list[str], int]:
    conn = sqlite3.connect(db)
    try:
        statuses = [s for (s,) in conn.execute("SELECT status FROM trials")]
        claims = conn.execute("SELECT COUNT(*) FROM claims").fetchone()[0]
    finally:
        conn.close()
    return statuses, claims


def _run(tmp_path, mnist_dir, script: str, how: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "LSTM_SWEEP_DATA_DIR": str(mnist_dir)}
    (tmp_path / "s.py").write_text(script)
    if how == "file":
        args: list[str] = [sys.executable, "s.py"]
        stdin = None
    else:
        args, stdin = [sys.executable, "-"], script
    return subprocess.run(
        args, cwd=tmp_path, env=env, input=stdin, capture_output=True, text=True, timeout=HANG_GUARD_S
    )


@pytest.mark.parametrize(
    ("script", "how", "why"),
    [
        (UNGUARDED, "file", 'starts the sweep at line 3 outside `if __name__ == "__main__":`'),
        (UNGUARDED, "stdin", "the program came from <stdin>"),
        (GUARDED, "stdin", "the program came from <stdin>"),
    ],
)
def test_a_program_workers_cannot_start_from_trains_in_its_own_process(tmp_path, mnist_dir, script, how, why):
    p = _run(tmp_path, mnist_dir, script, how)
    assert p.returncode == 0, p.stderr
    assert why in p.stderr and "training in this process, one work unit at a time" in p.stderr, p.stderr
    assert "Traceback" not in p.stderr and "worker process died" not in p.stderr, p.stderr
    statuses, claims = _stored(tmp_path / "my.db")
    assert sorted(statuses) == ["done"] * 4 and claims == 0
    assert p.stdout.splitlines()[0] == "hidden,lr_0.001,lr_0.01"


def test_a_guarded_script_gets_its_worker_processes(tmp_path, mnist_dir):
    p = _run(tmp_path, mnist_dir, GUARDED, "file")
    assert p.returncode == 0, p.stderr
    assert "in this process" not in p.stderr and "Traceback" not in p.stderr, p.stderr
    assert sorted(_stored(tmp_path / "my.db")[0]) == ["done"] * 4


@pytest.mark.parametrize(
    ("source", "line", "guarded"),
    [
        ("import x\nif __name__ == '__main__':\n    x.go()\n", 3, True),
        ("import x\nif '__main__' == __name__:\n    x.go()\n", 3, True),
        ("try:\n    if __name__ == '__main__':\n        go()\nexcept KeyError:\n    pass\n", 3, True),
        ("def main():\n    go()\n\nmain()\n", 4, False),
        ("go()\nif __name__ == '__main__':\n    pass\n", 1, False),
        ("if __name__ != '__main__':\n    go()\n", 2, False),
        ("if __name__ == '__main__' or True:\n    go()\n", 2, False),
        ("if __name__ == '__main__':\n    pass\nelse:\n    go()\n", 4, False),
        ("if x:\n    if __name__ == '__main__':\n        go()\n", 3, True),
        ("try:\n    pass\nexcept E:\n    if __name__ == '__main__':\n        go()\n", 5, True),
        ("if __name__ == '__main__' and ok:\n    go()\n", 2, True),
        ("def f():\n    if __name__ == '__main__':\n        go()\n", 3, False),
    ],
)
def test_the_guard_is_read_from_the_script(tmp_path, source, line, guarded):
    path = tmp_path / f"script_{abs(hash(source))}.py"
    path.write_text(textwrap.dedent(source))
    assert spawning._guarded(str(path), line) is guarded


def test_an_unreadable_script_is_assumed_guarded(tmp_path):
    assert spawning._guarded(str(tmp_path / "gone.py"), 1)  # multiprocessing says it itself
    (tmp_path / "bad.py").write_text("def (:\n")
    assert spawning._guarded(str(tmp_path / "bad.py"), 1)


def test_a_sweep_started_while_a_worker_starts_is_refused_before_its_store(tmp_path, monkeypatch, mnist_dir):
    monkeypatch.setattr(multiprocessing.current_process(), "_inheriting", True, raising=False)
    data = load_dataset(mnist_dir)
    with pytest.raises(ConfigError, match="while a worker process was starting"):
        run_sweep(Grid(hidden=(8,), lr=(0.1,), steps=2), data, tmp_path / "s.db", device="cpu")
    assert list(tmp_path.iterdir()) == []
