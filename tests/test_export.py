"""Results as data: one row per trial with every configuration field, or the curves in long form,
as CSV, JSON lines or a pandas DataFrame; written without ever replacing a store."""

from __future__ import annotations

import csv
import io
import json
import sys

import pytest

from helpers import cli, trial
from lstm_sweep.reporting.export import COLUMNS, export_rows, results_dataframe
from lstm_sweep.store import Store, load_results
from lstm_sweep.study.results import CurvePoint, Status


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    path = tmp_path_factory.mktemp("export") / "s.db"
    with Store(path) as s:
        for i, (cell, opt, status, acc) in enumerate(
            [
                ("lstm", "adam", Status.DONE, 0.9),
                ("gru", "momentum", Status.DIVERGED, 0.1),
                ("rnn", "sgd", Status.OOM, None),
            ]
        ):
            # every trial has a curve (the oom one's stopped early): i + 1 points
            curve = tuple(CurvePoint(10 * (k + 1), 1.0, 0.5) for k in range(i + 1))
            s.save(
                trial(
                    16 * (i + 1),
                    0.01,
                    acc,
                    status=status,
                    wall=1.0,
                    curve=curve,
                    cell=cell,
                    optimizer=opt,
                    opt={"momentum": 0.5} if opt == "momentum" else (),
                )
            )
    return path


def test_one_row_per_trial_with_every_field(db):
    o = cli("export", "--db", db)
    assert o.code == 0
    rows = list(csv.DictReader(io.StringIO(o.out)))
    assert len(rows) == 3 and list(rows[0]) == COLUMNS
    by_cell = {r["cell"]: r for r in rows}
    assert by_cell["gru"]["optimizer"] == "momentum" and by_cell["gru"]["opt"] == "momentum=0.5"
    assert by_cell["gru"]["status"] == "diverged" and by_cell["rnn"]["test_accuracy"] == ""
    stored = {r.key: r for r in load_results(db)}
    assert {r["key"] for r in rows} == set(stored)
    lines = cli("export", "--db", db, "--format", "jsonl").out.splitlines()
    assert [json.loads(line)["key"] for line in lines] == [r["key"] for r in rows]


def test_curves_in_long_form(db):
    rows = list(csv.DictReader(io.StringIO(cli("export", "--db", db, "--curves").out)))
    assert len(rows) == 1 + 2 + 3  # every curve point, its trial's fields repeated
    assert {r["step"] for r in rows if r["cell"] == "rnn"} == {"10", "20", "30"}
    assert rows[0]["batch_loss"] == "1.0" and rows[0]["hidden"] == rows[0]["hidden"]


def test_a_dataframe_from_python(db):
    frame = results_dataframe(load_results(db))
    assert list(frame.columns) == COLUMNS and len(frame) == 3
    assert frame.set_index("cell").loc["gru", "opt"] == "momentum=0.5"
    long = results_dataframe(load_results(db, with_curves=True), curves=True)
    assert len(long) == 6 and long["step"].max() == 30
    rows = export_rows(load_results(db))
    assert frame["key"].tolist() == [r["key"] for r in rows]
    assert frame["test_accuracy"].isna().tolist() == [r["test_accuracy"] is None for r in rows]


def test_without_pandas_the_error_says_how_to_install(db, monkeypatch):
    from lstm_sweep.errors import ConfigError

    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ConfigError, match=r"pip install 'lstm-sweep\[pandas\]'"):
        results_dataframe(load_results(db))


def test_export_files_never_replace_a_store_or_a_foreign_file(db, tmp_path):
    out = tmp_path / "r.csv"
    assert cli("export", "--db", db, "--out", out).code == 0
    assert out.read_text().startswith("key,hidden,")
    assert cli("export", "--db", db, "--out", out).code == 0  # an export: replaced
    assert "results store being read" in cli("export", "--db", db, "--out", db).error_line()
    notes = tmp_path / "notes.csv"
    notes.write_text("mine\n")
    assert "is not an lstm-sweep CSV export" in cli("export", "--db", db, "--out", notes).error_line()
    assert notes.read_text() == "mine\n"
