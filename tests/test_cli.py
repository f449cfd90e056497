"""The CLI through its real entry point: end to end on real MNIST, and bad input."""

from __future__ import annotations

import csv
import gzip
import io
import os
import re
import shutil
import subprocess
import sys

import pytest

from helpers import LSTM_SWEEP
from lstm_sweep.cli import main
from lstm_sweep.store import load_results


@pytest.fixture(scope="module")
def swept(mnist_dir, tmp_path_factory):
    """A 2 x 2 grid, 300 steps, run once through the CLI; returns (db, stdout, stderr)."""
    db = tmp_path_factory.mktemp("cli") / "sweep.db"
    proc = subprocess.run(
        [
            LSTM_SWEEP,
            "run",
            "--hidden",
            "16,32",
            "--lr",
            "1e-3,1e-2",
            "--steps",
            "300",
            "--device",
            "cpu",
            "--db",
            str(db),
            "--no-progress",
        ],
        env={**os.environ, "LSTM_SWEEP_DATA_DIR": str(mnist_dir)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    return db, proc.stdout, proc.stderr


@pytest.mark.slow
def test_end_to_end_grid_learns_and_prints_table(swept):
    db, out, err = swept
    results = {(r.config.hidden, r.config.lr): r for r in load_results(db)}
    assert len(results) == 4 and all(str(r.status) == "done" for r in results.values())
    assert results[(32, 1e-2)].test_accuracy > 0.8  # chance is 0.1
    assert results[(32, 1e-2)].test_accuracy > results[(32, 1e-3)].test_accuracy
    assert "Test accuracy: mnist · 300 steps · batch 100 · init tf · fp32 · 1 seed" in out
    assert f"{results[(32, 1e-2)].test_accuracy:.4f}" in out
    assert "4 trials run (4 done), 0 already in" in err


@pytest.mark.slow
def test_table_command_prints_the_stored_grid(swept, capsys):
    db, run_out, _ = swept
    assert main(["table", "--db", str(db)]) == 0
    assert capsys.readouterr().out.strip() == run_out.strip()
    assert main(["table", "--db", str(db), "--format", "csv"]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows[0] == ["hidden", "lr_0.001", "lr_0.01"]
    assert [row[0] for row in rows[1:]] == ["16", "32"]
    assert float(rows[2][2]) > 0.8
    assert main(["table", "--db", str(db), "--metric", "time", "--format", "markdown"]) == 0
    assert "**Wall time per trial (s)**" in capsys.readouterr().out


@pytest.mark.slow
def test_rerun_resumes_with_nothing_to_do(swept, mnist_dir, monkeypatch, capsys):
    db, _, _ = swept
    before = load_results(db)
    monkeypatch.setenv("LSTM_SWEEP_DATA_DIR", str(mnist_dir))
    assert (
        main(
            [
                "run",
                "--hidden",
                "16,32",
                "--lr",
                "1e-3,1e-2",
                "--steps",
                "300",
                "--device",
                "cpu",
                "--db",
                str(db),
                "--no-progress",
            ]
        )
        == 0
    )
    err = capsys.readouterr().err
    assert "4 already stored, 0 to run" in err
    assert load_results(db) == before


@pytest.fixture
def corrupt_dir(mnist_dir, tmp_path):
    folder = tmp_path / "corrupt"
    folder.mkdir()
    for f in mnist_dir.glob("*.gz"):
        shutil.copy(f, folder / f.name)
    blob = gzip.decompress((folder / "t10k-labels-idx1-ubyte.gz").read_bytes())
    (folder / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(blob[:-100]))
    return folder


BAD_RUNS = [
    (["--preset", "nope"], "unknown preset 'nope'; choose one of: adding-small, cells, chars-small"),
    (["--hidden", "0"], "'0' is not a positive integer"),
    (["--hidden", "-16"], "'-16' is not a positive integer"),
    (["--hidden", "abc"], "'abc' is not a positive integer"),
    (["--hidden", "16,,32"], "not a comma-separated list"),
    (["--lr", "-1e-3"], "'-1e-3' is not a positive number"),
    (["--lr", "fast"], "'fast' is not a positive number"),
    (["--lr", "nan"], "'nan' is not a positive number"),
    (["--seeds", "x"], "'x' is not a non-negative integer"),
    (["--steps", "0"], "--steps"),
    (["--batch-size", "-5"], "--batch-size"),
    (["--device", "cuda"], "no CUDA GPU"),
    (["--device", "tpu"], "unknown device 'tpu'"),
    (["--retry", "done"], "--retry takes failed, oom, diverged or pruned"),
    (["--data-dir", "/nonexistent/mnist"], "does not exist"),
    (["--bogus"], "No such option '--bogus'"),
    (["--engine", "fused", "--init", "pytorch"], "--engine fused supports --init tf only"),
    (["--engine", "turbo"], "'turbo' is not one of"),
    (["--workers", "0"], "--workers"),
    (["--repeats", "3", "--seeds", "0,1"], "give --seeds or --repeats, not both"),
]


def _assert_one_error_line(code, err, expected):
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("Error: ") and expected in lines[0], lines[0]


@pytest.mark.parametrize("args, expected", BAD_RUNS)
def test_bad_run_input_is_one_error_line_and_leaves_the_store_untouched(
    swept, args, expected, capsys, tmp_path, mnist_dir, monkeypatch
):
    monkeypatch.setenv("LSTM_SWEEP_DATA_DIR", str(mnist_dir))
    db = tmp_path / "copy.db"
    shutil.copy(swept[0], db)
    before = db.read_bytes()
    base = [a for o in (["--steps", "5"], ["--hidden", "8"]) if o[0] not in args for a in o]  # given once
    code = main(["run", *base, "--no-progress", "--db", str(db), *args])
    _assert_one_error_line(code, capsys.readouterr().err, expected)
    assert db.read_bytes() == before
    fresh = tmp_path / "fresh.db"
    code = main(["run", *base, "--no-progress", "--db", str(fresh), *args])
    assert code == 2 and not fresh.exists()


def test_corrupt_data_file_is_an_error_naming_it(corrupt_dir, tmp_path, capsys):
    db = tmp_path / "x.db"
    code = main(["run", "--data-dir", str(corrupt_dir), "--db", str(db), "--no-progress"])
    _assert_one_error_line(code, capsys.readouterr().err, "t10k-labels-idx1-ubyte.gz: truncated")
    assert not db.exists()


def test_db_that_is_not_a_store_is_refused_untouched(tmp_path, capsys, mnist_dir):
    db = tmp_path / "thesis.tex"
    db.write_text("\\documentclass{article}\n")
    code = main(
        [
            "run",
            "--hidden",
            "8",
            "--steps",
            "5",
            "--data-dir",
            str(mnist_dir),
            "--db",
            str(db),
            "--no-progress",
        ]
    )
    _assert_one_error_line(code, capsys.readouterr().err, "is not an SQLite database")
    assert db.read_text() == "\\documentclass{article}\n"


@pytest.mark.slow
def test_table_errors(tmp_path, capsys, swept):
    code = main(["table", "--db", str(tmp_path / "none.db")])
    _assert_one_error_line(code, capsys.readouterr().err, "no results store at")
    assert not (tmp_path / "none.db").exists()
    code = main(["table", "--db", str(swept[0]), "--format", "xml"])
    _assert_one_error_line(code, capsys.readouterr().err, "'xml' is not one of")


def test_debug_shows_the_traceback(capsys):
    from lstm_sweep.errors import ConfigError

    with pytest.raises(ConfigError):
        main(["--debug", "run", "--preset", "nope"])


def test_installed_script_reports_version_and_help():
    out = subprocess.run([LSTM_SWEEP, "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and "0.1.0" in out.stdout
    out = subprocess.run(
        [sys.executable, "-m", "lstm_sweep.cli", "run", "--help"], capture_output=True, text=True
    )
    assert out.returncode == 0 and "--preset" in out.stdout and "--data-dir" in out.stdout


@pytest.mark.slow
def test_fused_engine_through_the_cli(mnist_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LSTM_SWEEP_DATA_DIR", str(mnist_dir))
    db = tmp_path / "f.db"
    assert (
        main(
            [
                "run",
                "--hidden",
                "16",
                "--lr",
                "1e-2,1e-1",
                "--steps",
                "30",
                "--engine",
                "fused",
                "--device",
                "cpu",
                "--db",
                str(db),
                "--no-progress",
            ]
        )
        == 0
    )
    err = capsys.readouterr().err
    assert "1 work units, engine fused" in err and "fused x2" in err
    assert {(r.engine, r.group_size) for r in load_results(db)} == {("fused", 2)}


@pytest.mark.slow
def test_plan_command_prints_a_plan_without_touching_anything(tmp_path, capsys):
    db = tmp_path / "none.db"
    assert main(["plan", "--preset", "hw2", "--device", "cpu", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("hw2: 54 work units to run on cpu")
    assert "4096" in out and "total: 54 trials, 9.86 PFLOP, ETA" in out and " h " in out
    assert not db.exists()


def test_repeats_means_seeds_0_to_n_minus_1(tmp_path, capsys):
    assert (
        main(
            [
                "plan",
                "--hidden",
                "16",
                "--lr",
                "0.1",
                "--repeats",
                "3",
                "--device",
                "cpu",
                "--db",
                str(tmp_path / "x.db"),
            ]
        )
        == 0
    )
    assert "total: 3 trials" in capsys.readouterr().out


@pytest.mark.slow
def test_plan_leaves_out_finished_trials(swept, capsys):
    db = swept[0]
    assert (
        main(
            [
                "plan",
                "--hidden",
                "16,32",
                "--lr",
                "1e-3,1e-2,1e-1",
                "--steps",
                "300",
                "--device",
                "cpu",
                "--db",
                str(db),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "2 work units to run" in out  # the 4 stored trials are done already


def test_run_refuses_what_cannot_fit_in_memory(tmp_path, capsys, mnist_dir):
    db = tmp_path / "x.db"
    code = main(
        [
            "run",
            "--hidden",
            "100000",
            "--lr",
            "0.1",
            "--steps",
            "1",
            "--device",
            "cpu",
            "--data-dir",
            str(mnist_dir),
            "--db",
            str(db),
            "--no-progress",
        ]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and err[-1].startswith("Error: 1 work units need more memory than cpu")
    needs = float(re.search(r"needs ([0-9.]+) GB", err[-1]).group(1))
    assert needs > 596  # at least the weights, gradients and Adam state: 16 x 4e10 bytes
    assert "--force" in err[-1]
    assert not db.exists()


@pytest.mark.slow
def test_findings_and_compare_commands(swept, capsys):
    db = str(swept[0])
    assert main(["findings", "--db", db]) == 0
    out = capsys.readouterr().out
    assert out.startswith("- Best learning rate per width: 16 → ")
    assert "spread between seeds is unknown" in out
    assert main(["compare", "--db", db]) == 0
    out = capsys.readouterr().out
    assert "    32    0.01    0.9703" in out  # the published value next to ours
    assert "best rate agrees in" in out
    code = main(["compare", "--db", db, "--reference", "nope"])
    assert code == 2 and "unknown reference 'nope'" in capsys.readouterr().err


@pytest.mark.slow
def test_plot_and_report_commands(swept, tmp_path, capsys):
    db = str(swept[0])
    assert main(["plot", "--db", db, "--out", str(tmp_path / "p"), "--format", "svg"]) == 0
    written = sorted(p.name for p in (tmp_path / "p").iterdir())
    assert written == ["best-lr.svg", "curves.svg", "heatmap.svg", "time.svg", "transfer.svg"]
    assert main(["plot", "--db", db, "--kind", "curves", "--lr", "0.01", "--out", str(tmp_path / "q")]) == 0
    assert [p.name for p in (tmp_path / "q").iterdir()] == ["curves.png"]
    capsys.readouterr()
    out = tmp_path / "r.html"
    assert main(["report", "--db", db, "--out", str(out)]) == 0
    page = out.read_text()
    assert page.count("<figure") == 5 and "Comparison with the published table" in page
    assert "torch_threads" in page  # the run environment from the store
    assert main(["report", "--db", str(tmp_path / "none.db")]) == 2


def test_ray_executor_without_ray_says_how_to_install(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
    code = main(["run", "--executor", "ray", "--db", str(tmp_path / "x.db"), "--no-progress"])
    _assert_one_error_line(code, capsys.readouterr().err, "pip install 'lstm-sweep[ray]'")
    assert not (tmp_path / "x.db").exists()
