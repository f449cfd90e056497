"""Tables travel as data: ``--format csv`` is one block of numbers (with seeds: ``_std`` and
``_n`` columns beside each value, never ``"0.80 ± 0.01"`` text; tables of two datasets: rows of
one block, the dataset a column), and ``--format json`` holds every cell's statistics and every
seed's value, as strict JSON."""

from __future__ import annotations

import csv
import io
import json
import math

import pandas as pd
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
