"""Tables travel as data: ``--format csv`` is one block of numbers (with seeds: ``_std`` and
``_n`` columns beside each value, never ``"0.80 ± 0.01"`` text; tables of two datasets: rows of
one block, the dataset a column), and ``--format json`` holds every cell's statistics and every
seed's value, as strict JSON."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
import os

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import cli, trial
from helpers.examples import examples
from lstm_sweep import Store, build_tables, render_tables
from lstm_sweep.study.results import Status


def _strict(text: str):
    def refuse(name):
        raise AssertionError(f"not strict JSON: {name}")

    return json.loads(text, parse_constant=refuse)


def _seeded():
    out = []
    for dataset in ("mnist", "fashion-mnist"):
        for hidden in (16, 32):
            for lr in (0.01, 0.1):
                for seed in range(3):
                    acc = 0.3 + hidden / 200 + lr + seed / 100 + (dataset == "mnist") / 10
                    out.append(trial(hidden, lr, acc, seed=seed, dataset=dataset))
    return out


def test_a_csv_with_seeds_and_two_datasets_is_one_block_of_numbers(tmp_path):
    db = tmp_path / "s.db"
    with Store(db) as s:
        for r in _seeded():
            s.save(r)
    o = cli("table", "--db", db, "--format", "csv")
    assert o.code == 0, o.text
    rows = list(csv.reader(io.StringIO(o.out)))
    assert rows[0] == [
        "dataset",
        "hidden",
        *(f"lr_{lr}{end}" for lr in ("0.01", "0.1") for end in ("", "_std", "_n")),
    ]
    assert len(rows) == 5 and all(len(r) == len(rows[0]) for r in rows)  # one header, 4 rows
    frame = pd.read_csv(io.StringIO(o.out))
    assert list(frame["dataset"]) == ["mnist", "mnist", "fashion-mnist", "fashion-mnist"]
    for column in frame.columns[1:]:
        assert frame[column].dtype.kind in "if", column  # numbers, every one
    first = frame.iloc[0]
    assert math.isclose(first["lr_0.01"], 0.3 + 0.08 + 0.01 + 0.01 + 0.1, abs_tol=1e-4)  # mean of 3 seeds
    assert math.isclose(first["lr_0.01_std"], 0.01, abs_tol=1e-4) and first["lr_0.01_n"] == 3
    median = pd.read_csv(io.StringIO(cli("table", "--db", db, "--format", "csv", "--stat", "median").out))
    assert "lr_0.01_std" not in median.columns and list(median["lr_0.01_n"]) == [3] * 4


def test_json_holds_every_cell_and_seed(tmp_path):
    results = [*_seeded(), trial(64, 0.1, None, status=Status.OOM, dataset="mnist")]
    data = _strict(render_tables(build_tables(results), "json"))
    tables = data["tables"]
    assert [t["facet"] for t in tables] == [{"dataset": "mnist"}, {"dataset": "fashion-mnist"}]
    mnist = tables[0]
    assert (mnist["rows_axis"], mnist["cols_axis"], mnist["rows"], mnist["cols"]) == (
        "hidden",
        "lr",
        [16, 32, 64],
        [0.01, 0.1],
    )
    cell = next(c for c in mnist["cells"] if (c["hidden"], c["lr"]) == (16, 0.01))
    assert cell["n"] == 3 and len(cell["values"]) == 3 and cell["statuses"] == ["done"] * 3
    assert math.isclose(cell["mean"], sum(cell["values"]) / 3) and cell["label"] is None
    dnf = next(c for c in mnist["cells"] if (c["hidden"], c["lr"]) == (64, 0.1))
    assert dnf["label"] == "DNF" and dnf["mean"] is None and dnf["values"] == []
    assert "DNF: out of memory" in mnist["notes"]


@settings(max_examples=examples(60), deadline=None)
@given(
    cells=st.lists(
        st.tuples(
            st.sampled_from([8, 16, 32]),
            st.sampled_from([1e-3, 0.1, 1.0]),
            st.integers(0, 2),
            st.sampled_from([Status.DONE, Status.DIVERGED, Status.OOM, Status.FAILED]),
            st.floats(0, 1) | st.none(),
            st.sampled_from(["mnist", "x,y", '=cmd"', "a b"]),
        ),
        min_size=1,
        max_size=30,
    ),
    stat=st.sampled_from(["mean", "median", "best", "all"]),
)
def test_any_store_gives_one_rectangular_csv_and_strict_json(cells, stat):
    results = {}
    for hidden, lr, seed, status, acc, dataset in cells:
        value = None if status in (Status.OOM, Status.FAILED) else acc
        value = 0.5 if value is None and status is Status.DONE else value
        r = trial(hidden, lr, value, seed=seed, status=status, dataset=dataset)
        results[r.key] = r
    tables = build_tables(list(results.values()))
    rows = list(csv.reader(io.StringIO(render_tables(tables, "csv", stat))))
    assert len({len(r) for r in rows}) == 1  # one header, every row as wide
    assert sum(r[0] == rows[0][0] for r in rows) == 1  # one header, not one per table
    data = _strict(render_tables(tables, "json", stat))
    assert sum(len(t["cells"]) for t in data["tables"]) == sum(len(t.rows) * len(t.cols) for t in tables)


# ----------------------------------------------------------------------------- a reference of one's own


def _grid_store(db, shift: float = 0.0):
    with Store(db) as s:
        for hidden in (16, 32, 64):
            for lr in (0.001, 0.01, 0.1):
                for seed in range(2):
                    acc = min(1.0, 0.5 + hidden / 200 - abs(math.log10(lr) + 2) / 10 + seed / 100 + shift)
                    s.save(trial(hidden, lr, acc, seed=seed))


def test_compare_takes_a_table_of_ones_own_as_reference(tmp_path):
    """A user's published table as CSV (here: another store's ``table --format csv``, seeds'
    _std and _n columns included) is a reference: every cell compared, no protocol assumed."""
    _grid_store(tmp_path / "theirs.db")
    _grid_store(tmp_path / "ours.db", shift=0.02)
    ref = tmp_path / "theirs.csv"
    ref.write_text(cli("table", "--db", tmp_path / "theirs.db", "--format", "csv").out)
    o = cli("compare", "--db", tmp_path / "ours.db", "--reference", ref)
    assert o.code == 0, o.text
    assert "The best rate agrees in 3 of 3 rows." in o.out
    assert "Mean |ours − reference| over 9 cells: 2.0 points." in o.out
    assert "another protocol" not in o.out  # a user's table: its protocol is not known
    hand = tmp_path / "hand.csv"  # written by hand: text around numbers, DNF, an empty cell
    hand.write_text("hidden \\ lr,lr_0.001,lr_0.01,lr_0.1\n16,0.52 ± 0.01,0.6*,DNF\n32,,pruned@111,0.1\n")
    o = cli("compare", "--db", tmp_path / "ours.db", "--reference", hand)
    assert o.code == 0, o.text
    assert "Reference DNF cells we completed: 1 of 1: 16/0.1" in o.out
    o = cli("report", "--db", tmp_path / "ours.db", "--reference", hand, "--out", tmp_path / "r.html")
    assert o.code == 0 and "hand.csv" in (tmp_path / "r.html").read_text()


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("", "its first column must be hidden"),
        ("width,lr_0.1\n16,0.5\n", "its first column must be hidden"),
        ("hidden [loss],lr_0.1\n16,0.5\n", "holds loss, not test accuracy"),
        ("hidden [bpc],lr_0.1\n16,1.5\n", "holds bpc, not test accuracy"),
        ("hidden,rate\n16,0.5\n", "no lr_<rate> column"),
        ("hidden,lr_0.1\nsixteen,0.5\n", "line 2: 'sixteen' is no width"),
        ("hidden,lr_0.1\n-16,0.5\n", "line 2: width -16 is not positive"),
        ("hidden,lr_0.1\n16,high\n", "line 2: 'high' at lr 0.1 is no accuracy"),
        ("hidden,lr_0.1\n16,97.5\n", "accuracy 97.5 at lr 0.1 is not from 0 to 1"),
        ("hidden,lr_-1\n16,0.5\n", "is no positive rate"),
        ("hidden,lr_0.1\n16,\n", "no cell holds a number or DNF"),
        (b"\xff\xfe\x00h", "is not UTF-8 text"),
        ("hidden,lr_0.1\n" + "16,0.5\n" * 200_000, "larger than 1 MiB"),
    ],
)
def test_a_bad_reference_file_is_one_error_and_the_store_untouched(tmp_path, content, says):
    db = tmp_path / "s.db"
    _grid_store(db)
    before = db.read_bytes()
    ref = tmp_path / "ref.csv"
    ref.write_bytes(content if isinstance(content, bytes) else content.encode())
    for command in ("compare", "report"):
        o = cli(
            command,
            "--db",
            db,
            "--reference",
            ref,
            *(["--out", tmp_path / "r.html"] if command == "report" else []),
        )
        assert says in o.error_line(), o.err
    assert db.read_bytes() == before and not (tmp_path / "r.html").exists()


def test_a_reference_that_is_no_file_is_refused_without_waiting(tmp_path):
    db = tmp_path / "s.db"
    _grid_store(db)
    fifo = tmp_path / "fifo.csv"
    os.mkfifo(fifo)  # nothing ever writes it: opening it must not wait
    for path, says in (
        (fifo, "not a regular file"),
        (tmp_path, "is a folder"),
        (tmp_path / "gone.csv", "cannot open it"),
    ):
        assert says in cli("compare", "--db", db, "--reference", path).error_line()
    assert (
        "choose hw2, tcn, or the path of a CSV"
        in cli("compare", "--db", db, "--reference", "hw3").error_line()
    )


@settings(max_examples=examples(100), deadline=None)
@given(text=st.text(alphabet=st.sampled_from(list("hidenlr_0123456789.,±*DNF \n-e")), max_size=200))
def test_any_reference_text_is_compared_or_refused_in_one_line(tmp_path_factory, text):
    folder = tmp_path_factory.mktemp("ref")
    db = folder / "s.db"
    with Store(db) as s:
        s.save(trial(16, 0.01, 0.9))
    ref = folder / "ref.csv"
    ref.write_text("hidden,lr_0.01\n" + text if text[:1] != "h" else text)
    o = cli("compare", "--db", db, "--reference", ref)
    assert o.code in (0, 2), o.text
    if o.code == 2:
        o.error_line()
    assert "Traceback" not in o.text


def test_a_table_of_validation_accuracy_or_training_loss(tmp_path):
    db = tmp_path / "s.db"
    with Store(db) as s:
        for seed, (acc, loss) in enumerate([(0.8, 0.5), (0.9, 0.25)]):
            r = trial(16, 0.01, acc, seed=seed, train_loss=loss)
            s.save(dataclasses.replace(r, test_accuracy=acc - 0.1))
    o = cli("table", "--db", db, "--metric", "validation", "--format", "csv", "--stat", "best")
    assert o.out.splitlines() == ["hidden [validation],lr_0.01,lr_0.01_n", "16,0.9000,2"]  # the highest
    o = cli("table", "--db", db, "--metric", "loss", "--format", "csv", "--stat", "best")
    assert o.out.splitlines() == ["hidden [loss],lr_0.01,lr_0.01_n", "16,0.25,2"]  # a loss's best: the lowest
    o = cli("table", "--db", db, "--metric", "loss")
    assert o.out.startswith("Final training loss (lower is better): ") and "0.375 ± 0.1768" in o.out
    assert cli("table", "--db", db).out.count("0.7500 ± 0.0707") == 1  # test accuracy stays the default
    assert cli("table", "--db", db, "--metric", "validation").out.startswith("Validation accuracy: ")


def test_a_reference_of_ones_own_compares_any_task_scored_by_accuracy(tmp_path):
    db = tmp_path / "pixels.db"
    with Store(db) as s:
        for lr, acc in ((0.001, 0.6), (0.01, 0.8)):
            s.save(trial(16, lr, acc, task="pixels"))
    ref = tmp_path / "paper.csv"
    ref.write_text("hidden,lr_0.001,lr_0.01\n16,0.55,0.85\n")
    o = cli("compare", "--db", db, "--reference", ref)
    assert o.code == 0, o.text
    assert "The best rate agrees in 1 of 1 row." in o.out and "over 2 cells: 5.0 points" in o.out
    assert "No results to compare" in cli("compare", "--db", db).out  # hw2: the homework's task only
