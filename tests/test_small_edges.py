"""The small edges a new user meets first: a near-miss name gets "did you mean", names in any
case, plan takes run's --data-dir, search and transfer serve their page, no empty checkpoint
folder after a run, a tie is no win, one is singular, times are exported as times."""

from __future__ import annotations

import csv
import io
import os
import subprocess

import pytest

from helpers import LSTM_SWEEP, cli, trial
from lstm_sweep import Store, findings
from lstm_sweep.reporting import plural


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["plan", "--cell", "lsmt"], "'lsmt' is not one of lstm, gru, rnn; did you mean lstm?"),
        (["plan", "--param", "MUPP"], "did you mean mup?"),
        (["table", "--rows", "hiden"], "did you mean 'hidden'?"),
        (["table", "--metric", "validaton"], "did you mean 'validation'?"),
        (["plan", "--preset", "quik"], "unknown preset 'quik' (did you mean 'quick'?)"),
    ],
)
def test_a_near_miss_is_told_the_nearest_name(tmp_path, args, says):
    assert says in cli(*args, "--db", tmp_path / "s.db").error_line()
    assert not (tmp_path / "s.db").exists()


def test_names_in_any_case_and_plan_takes_run_s_data_dir(tmp_path, mnist_dir):
    o = cli(
        "plan", "--preset", "QUICK", "--optimizer", "Adam", "--cell", "GRU", "--data-dir", mnist_dir,
        "--db", tmp_path / "s.db",
    )  # fmt: skip
    assert o.code == 0, o.text
    assert "total: " in o.out
    assert "is a file" in cli("plan", "--data-dir", mnist_dir / "SHA256SUMS").error_line()


def test_a_run_leaves_no_empty_checkpoint_folder_and_counts_in_words(tmp_path, mnist_dir):
    db = tmp_path / "s.db"
    o = cli("run", "--hidden", "8", "--lr", "0.1", "--steps", "20", "--data-dir", mnist_dir, "--db", db)
    assert o.code == 0, o.text
    assert "1 trial run (1 done), 0 already in" in o.err
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("s.db-")) == ["s.db"]


def test_search_serves_its_page_and_keeps_stdout_for_the_table(tmp_path, mnist_dir):
    env = {**os.environ, "LSTM_SWEEP_DATA_DIR": str(mnist_dir)}
    p = subprocess.run(
        [LSTM_SWEEP, "search", "--hidden", "8", "--lr", "0.1,1", "--steps", "9", "--serve", "0",
         "--format", "csv", "--db", str(tmp_path / "s.db")],
        env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert p.returncode == 0, p.stderr
    assert "Watching " in p.stderr and " at http://127.0.0.1:" in p.stderr
    rows = list(csv.reader(io.StringIO(p.stdout)))
    assert rows[0] == ["hidden", "lr_0.1", "lr_1.0"] and len(rows) == 2 and "http" not in p.stdout
    # the page says what the latest plan was: a search's rung, not "1 / 1 trials of a sweep"
    from lstm_sweep.serve.server import serve_store

    server = serve_store(tmp_path / "s.db", port=0)
    try:
        progress = server.watcher.changes(0)["summary"]["progress"]
    finally:
        server.close()
    assert progress["label"] == "search: hidden 8, to step 9" and progress["planned"] == 1


def test_a_tie_between_tables_is_no_win():
    results = [
        trial(16, 0.01, 0.9216, param="sp"),
        trial(16, 0.01, 0.9216, param="mup"),
        trial(32, 0.01, 0.95, param="sp"),
        trial(32, 0.01, 0.93, param="mup"),
    ]
    text = " ".join(f.text for f in findings(results))
    assert "16 → a tie (0.9216, next 0.9216)" in text and "32 → sp" in text
    assert "is best at every" not in text


def test_one_is_singular():
    assert [plural(n, "trial") for n in (0, 1, 2, 1200)] == [
        "0 trials",
        "1 trial",
        "2 trials",
        "1,200 trials",
    ]
    assert plural(1, "child", "children") == "1 child" and plural(3, "child", "children") == "3 children"


def test_export_writes_times_as_times(tmp_path):
    import pandas as pd

    from lstm_sweep import load_results, results_dataframe

    db = tmp_path / "s.db"
    with Store(db) as s:
        s.save(trial(16, 0.01, 0.9))  # started at 1000 s after 1970
    rows = list(csv.DictReader(io.StringIO(cli("export", "--db", db).out)))
    assert rows[0]["started_at"] == "1970-01-01T00:16:40.000Z"
    line = cli("export", "--db", db, "--format", "jsonl").out
    assert '"started_at": "1970-01-01T00:16:40.000Z"' in line
    frame = results_dataframe(load_results(db))
    assert frame["started_at"][0] == pd.Timestamp("1970-01-01T00:16:40Z")
