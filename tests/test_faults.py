"""Bad input and faults, class by class: every answer is a designed one (one ``Error:`` line and
exit 2, or correct output), nothing is lost, nothing is left behind."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys

import pytest

from helpers import LSTM_SWEEP, can_unshare, cli, in_namespace, last_wins, snapshot, trial
from lstm_sweep.store import Store, load_results
from lstm_sweep.study.results import Status


def _save(store, hidden, lr, status, acc=None, seed=0):
    store.save(trial(hidden, lr, acc, seed=seed, status=status, wall=2.0), {"torch": "test"})


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    """A sound store, and one where every trial failed or ran out of memory (a 4096 row on a
    small GPU): both legitimate."""
    folder = tmp_path_factory.mktemp("stores")
    good, dnf = folder / "good.db", folder / "dnf.db"
    with Store(good) as s:
        for h in (16, 32):
            for lr, acc in ((1e-3, 0.85), (1e-2, 0.95)):
                _save(s, h, lr, Status.DONE, acc)
    with Store(dnf) as s:
        for lr in (1e-3, 1e-2, 1e-1):
            _save(s, 4096, lr, Status.OOM)
        _save(s, 2048, 1e-2, Status.FAILED)
    return good, dnf


# --------------------------------------------------------------------------- 1, 3: outputs


def test_report_never_writes_over_its_own_store(stores, tmp_path):
    db = tmp_path / "s.db"
    shutil.copy(stores[0], db)
    before = db.read_bytes()
    for extra in ((), ("--overwrite",)):
        o = cli("report", "--db", db, "--out", db, *extra)
        assert "results store being read" in o.error_line()
        assert db.read_bytes() == before
    other = tmp_path / "other.db"  # another store, even with --overwrite
    shutil.copy(stores[0], other)
    o = cli("report", "--db", db, "--out", other, "--overwrite")
    assert "SQLite database" in o.error_line() and other.read_bytes() == before
    link = tmp_path / "link.html"
    link.symlink_to(db)
    assert "results store" in cli("report", "--db", db, "--out", link).error_line()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.html", "other.db", "s.db"]


@pytest.mark.slow
def test_outputs_replace_only_their_own_kind_unless_asked(stores, tmp_path):
    db = stores[0]
    thesis = tmp_path / "thesis.tex"
    thesis.write_text("\\documentclass{article}\n")
    o = cli("report", "--db", db, "--out", thesis)
    assert "is not an HTML page" in o.error_line() and "--overwrite" in o.err
    assert thesis.read_text() == "\\documentclass{article}\n"
    assert cli("report", "--db", db, "--out", thesis, "--overwrite").code == 0
    assert thesis.read_text().startswith("<!DOCTYPE html>")
    page = tmp_path / "r.html"
    assert cli("report", "--db", db, "--out", page).code == 0
    assert cli("report", "--db", db, "--out", page).code == 0  # an HTML page: replaced
    plots = tmp_path / "plots"
    plots.mkdir()
    (plots / "heatmap.png").write_text("not an image")
    o = cli("plot", "--db", db, "--out", plots)
    assert "heatmap.png exists and is not a PNG image" in o.error_line()
    assert sorted(p.name for p in plots.iterdir()) == ["heatmap.png"]  # refused before drawing
    assert cli("plot", "--db", db, "--out", plots, "--overwrite").code == 0
    assert sorted(p.name for p in plots.iterdir()) == [
        "best-lr.png",
        "curves.png",
        "heatmap.png",
        "time.png",
        "transfer.png",
    ]
    assert cli("plot", "--db", db, "--out", plots).code == 0  # images: replaced


@pytest.mark.parametrize("case", ["missing folder", "a folder", "plot into a file", "fifo", "device"])
def test_bad_output_paths_are_one_error_line(stores, tmp_path, case):
    db = stores[0]
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    (tmp_path / "f.txt").write_text("x")
    args = {
        "missing folder": ("report", "--out", tmp_path / "no" / "such" / "r.html"),
        "a folder": ("report", "--out", tmp_path),
        "plot into a file": ("plot", "--out", tmp_path / "f.txt"),
        "fifo": ("report", "--out", fifo),
        "device": ("report", "--out", "/dev/null"),
    }[case]
    before = snapshot(tmp_path)
    o = cli(*args, "--db", db)
    o.error_line()
    assert snapshot(tmp_path) == before


needs_unshare = pytest.mark.skipif(
    not can_unshare() and not os.environ.get("CI"), reason="no private mount namespaces (unshare) here"
)


@pytest.mark.slow
@needs_unshare
def test_full_disk_and_read_only_folder_leave_no_temp_files(stores, tmp_path):
    """A real 64 KB tmpfs for a full disk, and a real read-only bind mount."""
    full, ro = tmp_path / "full", tmp_path / "ro"
    full.mkdir()
    ro.mkdir()
    db = stores[0]
    script = f"""
mount -t tmpfs -o size=64k tmpfs {full}
mount --bind -o ro {ro} {ro} 2>/dev/null || (mount --bind {ro} {ro} && mount -o remount,bind,ro {ro})
echo old > {full}/r.html
{LSTM_SWEEP} report --db {db} --out {full}/r.html; echo "rc=$?"
ls -a {full}
{LSTM_SWEEP} plot --db {db} --out {full}/plots; echo "rc=$?"
find {full} -name '*.tmp' | wc -l
{LSTM_SWEEP} report --db {db} --out {ro}/r.html; echo "rc=$?"
{LSTM_SWEEP} plot --db {db} --out {ro}/plots; echo "rc=$?"
ls -a {ro}
"""
    proc = in_namespace(script)
    out, err = proc.stdout, proc.stderr
    assert "Traceback" not in out + err, err
    lines = out.splitlines()
    assert lines.count("rc=2") == 4, out + err
    assert "cannot write" in err and "the disk is full" in err
    assert "read-only" in err
    assert "r.html" in out  # the old report is still there ...
    assert [line for line in lines if line.endswith(".tmp")] == []  # ... and no temp file
    assert lines[lines.index("rc=2", lines.index("rc=2") + 1) + 1] == "0"  # find: no *.tmp


@pytest.mark.slow
@needs_unshare
def test_store_on_read_only_media_is_read_and_run_refused_clearly(stores, tmp_path, mnist_dir):
    media = tmp_path / "media"
    media.mkdir()
    shutil.copy(stores[0], media / "s.db")
    script = f"""
mount --bind {media} {media} && mount -o remount,bind,ro {media} || exit 99
{LSTM_SWEEP} table --db {media}/s.db; echo "rc=$?"
{LSTM_SWEEP} check --db {media}/s.db; echo "rc=$?"
{LSTM_SWEEP} run --hidden 16 --lr 0.5 --steps 5 --device cpu --workers 1 --no-progress \
  --data-dir {mnist_dir} --db {media}/s.db; echo "rc=$?"
"""
    proc = in_namespace(script)
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stderr
    assert "0.9500" in proc.stdout and f"{media}/s.db: ok" in proc.stdout
    assert proc.stdout.count("rc=0") == 2 and proc.stdout.rstrip().endswith("rc=2")
    assert "read-only" in proc.stderr.splitlines()[-1]
    assert sorted(p.name for p in media.iterdir()) == ["s.db"]


@pytest.mark.slow
@needs_unshare
def test_full_disk_during_a_sweep_keeps_what_was_stored(tmp_path, mnist_dir):
    """The store on a tmpfs that fills up mid-sweep: a clear error, the stored trials intact."""
    disk = tmp_path / "disk"
    disk.mkdir()
    script = f"""
mount -t tmpfs -o size=160k tmpfs {disk}
{LSTM_SWEEP} run --hidden 8 --lr 1e-3,2e-3,3e-3,4e-3,5e-3,6e-3,7e-3,8e-3,9e-3 --seeds 0,1,2,3,4 \
  --steps 400 --device cpu --workers 1 --no-progress --data-dir {mnist_dir} \
  --db {disk}/s.db 2>&1 >/dev/null | tail -1; echo "rc=$?"
{LSTM_SWEEP} check --db {disk}/s.db; echo "rc=$?"
"""
    proc = in_namespace(script, timeout=600)
    out = proc.stdout
    assert "Traceback" not in out + proc.stderr
    assert "disk is full" in out and "the trials stored so far are kept" in out, out
    assert ": ok — " in out and "rc=0" in out.splitlines()[-1]


# --------------------------------------------------------------------------- 4: no accuracies


def test_an_all_dnf_store_renders_tables_and_says_which_plots_are_empty(stores, tmp_path):
    dnf = stores[1]
    o = cli("table", "--db", dnf)
    assert o.code == 0 and "DNF" in o.out and "failed" in o.out
    o = cli("findings", "--db", dnf)
    assert o.code == 0 and "No trial produced an accuracy yet." in o.out
    assert cli("compare", "--db", dnf).code == 0
    o = cli("plot", "--db", dnf, "--out", tmp_path / "p")
    assert o.code == 0
    assert "time: nothing to show (no trial has an accuracy" in o.err
    assert "best-lr: nothing to show" in o.err and "curves: nothing to show" in o.err
    assert sorted(p.name for p in (tmp_path / "p").iterdir()) == ["heatmap.png"]
    o = cli("report", "--db", dnf, "--out", tmp_path / "r.html")
    assert o.code == 0
    page = (tmp_path / "r.html").read_text()
    assert "DNF" in page and "time: nothing to show" in page and page.count("<figure") == 1
    o = cli("plot", "--db", stores[0], "--kind", "curves", "--hidden", "999", "--out", tmp_path / "q")
    assert o.code == 0 and "curves: nothing to show (no trial of 999 units is stored)" in o.err


# --------------------------------------------------------------------------- 5: markup


@pytest.mark.parametrize("name", ["[/]", "[bold]data[/bold]", "[red", "a]b[/x"])
def test_markup_in_paths_is_printed_as_written(name, mnist_dir, tmp_path):
    folder = tmp_path / name  # "[/]" is a folder "[" holding a folder "]"
    folder.mkdir(parents=True)
    for f in mnist_dir.glob("*.gz"):
        os.symlink(f, folder / f.name)
    o = cli(
        "run",
        "--hidden",
        "8",
        "--lr",
        "0.01",
        "--steps",
        "10",
        "--device",
        "cpu",
        "--workers",
        "1",
        "--no-progress",
        "--data-dir",
        folder,
        "--db",
        tmp_path / "s.db",
    )
    assert o.code == 0, o.text
    assert f"on mnist ({folder})" in o.err.replace("\n", "")
    o = cli("table", "--db", tmp_path / name / "none.db")
    assert f"no results store at {tmp_path / name / 'none.db'}" in o.error_line()


# --------------------------------------------------------------------------- 2: numbers


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--seeds", str(2**63)], "at most 9,223,372,036,854,775,807"),
        (["--seeds", "9" * 5000], "is not a non-negative integer"),
        (["--data-seed", str(2**63)], "--data-seed"),
        (["--hidden", str(2**21)], "at most 1,048,576"),
        (["--steps", str(10**10)], "--steps"),
        (["--batch-size", str(2**40)], "--batch-size"),
        (["--batch-size", "55001"], "larger than the training set of mnist (55,000 images)"),
        (["--lr", "1e400"], "'1e400' is not a positive number"),
        (["--lr", "1e-400"], "'1e-400' is not a positive number"),
        (["--repeats", "100000"], "--repeats"),
        (["--workers", "100000"], "--workers"),
        (
            ["--hidden", ",".join(map(str, range(1, 400))), "--seeds", ",".join(map(str, range(300)))],
            "at most 100,000 are allowed in one sweep",
        ),
        (["--steps", "1000000000", "--hidden", "4096"], "ETA is"),
        (["--retry", ""], "is not a comma-separated list of statuses"),
        (["--retry", "done"], "--retry takes failed, oom, diverged or pruned"),
        (["--ray-address", "127.0.0.1:1", "--executor", "local"], "--ray-address is for --executor"),
        (["--precision", "tf32", "--device", "cpu"], "TF32 is a precision of NVIDIA GPUs"),
    ],
)
def test_numbers_are_checked_when_parsed(args, expected, mnist_dir, tmp_path, stores):
    db = tmp_path / "s.db"
    shutil.copy(stores[0], db)
    before = snapshot(tmp_path)
    o = cli(
        *last_wins(
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
            "--data-dir",
            mnist_dir,
            "--db",
            db,
            *args,
        )
    )
    assert expected in o.error_line()
    assert snapshot(tmp_path) == before


def test_huge_seed_is_stored_not_lost(mnist_dir, tmp_path):
    db = tmp_path / "s.db"
    o = cli(
        "run",
        "--hidden",
        "8",
        "--lr",
        "0.01",
        "--steps",
        "5",
        "--seeds",
        str(2**63 - 1),
        "--device",
        "cpu",
        "--workers",
        "1",
        "--no-progress",
        "--data-dir",
        mnist_dir,
        "--db",
        db,
    )
    assert o.code == 0, o.text
    (r,) = load_results(db)
    assert r.config.seed == 2**63 - 1 and r.status is Status.DONE


def test_absurd_eta_runs_with_force_only_as_far_as_asked(tmp_path, stores):
    o = cli("plan", "--hidden", "4096", "--steps", "1000000000", "--device", "cpu", "--db", tmp_path / "x.db")
    assert o.code == 0 and " h " in o.out  # plan shows it; run refuses it (above)


def test_compare_says_when_the_protocol_is_not_the_seeds(stores):
    o = cli("compare", "--db", stores[0])
    assert o.code == 0
    assert "Note: the reference was measured with another protocol (steps 999 there, 30 here)" in o.out


def test_a_store_being_written_is_read_through_its_wal(stores, tmp_path):
    """A reader while a writer holds the store open sees the committed trials."""
    db = tmp_path / "s.db"
    shutil.copy(stores[0], db)
    with Store(db) as writer:
        _save(writer, 64, 1e-2, Status.DONE, 0.97)
        assert (tmp_path / "s.db-wal").exists()
        assert "0.9700" in cli("table", "--db", db).out
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    conn.close()


def test_check_command_through_the_installed_script(stores):
    proc = subprocess.run([LSTM_SWEEP, "check", "--db", str(stores[0])], capture_output=True, text=True)
    assert proc.returncode == 0 and ": ok — 4 trials" in proc.stdout
    proc = subprocess.run(
        [sys.executable, "-m", "lstm_sweep.cli", "table", "--db", str(stores[0])],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0


def test_data_folders_of_special_files_are_refused(tmp_path, mnist_dir):
    fifo_dir = tmp_path / "fifos"
    fifo_dir.mkdir()
    for f in mnist_dir.glob("*.gz"):
        os.mkfifo(fifo_dir / f.name)
    db = tmp_path / "s.db"
    args = (
        "run",
        "--hidden",
        "8",
        "--steps",
        "5",
        "--workers",
        "1",
        "--no-progress",
        "--device",
        "cpu",
        "--db",
        db,
    )
    assert "not a regular file" in cli(*args, "--data-dir", fifo_dir).error_line()
    assert "is not a folder" in cli(*args, "--data-dir", "/dev/null").error_line()
    assert "is a file" in cli(*args, "--data-dir", mnist_dir / "SHA256SUMS").error_line()
    assert not db.exists()
