"""Tasks beyond rows of MNIST, as a sweep plans, searches, serves and refuses them: the plan's
steps and FLOPs from the task (pixels: 28 x rows' steps), the search ranking by the task's metric
in its direction (the lowest loss), the live page's tables by the metric, the CLI's task options
refused in one line with the store untouched, and a preset per task."""

from __future__ import annotations

import math

import pytest

from helpers import cli, snapshot
from lstm_sweep import Grid
from lstm_sweep.study import METRICS, PRESETS, TASKS, TrialConfig
from lstm_sweep.study.grid import PRESET_NOTES

# --------------------------------------------------------------------------- the plan


def test_pixels_plan_has_28_times_the_steps_and_flops_of_rows():
    from lstm_sweep.running.cost import config_step_flops, flops_between, step_flops, task_shape

    rows = TrialConfig(hidden=64, lr=1e-2, steps=100, batch_size=50)
    pixels = TrialConfig(hidden=64, lr=1e-2, steps=100, batch_size=50, task="pixels")
    assert task_shape(rows) == (28, 28, 10, False)
    assert task_shape(pixels) == (784, 1, 10, False)
    assert task_shape(pixels)[0] == 28 * task_shape(rows)[0]
    # rows' numbers as ever; a pixel step reads 1 input instead of 28: per sequence, 28 x the
    # steps of (1 + H) instead of (28 + H) inputs to each gate
    assert config_step_flops(rows) == step_flops(64, 50) == 3 * 50 * 28 * 2 * (28 + 64) * 4 * 64
    assert config_step_flops(pixels) == 3 * 50 * 784 * 2 * (1 + 64) * 4 * 64
    assert config_step_flops(pixels) / config_step_flops(rows) == pytest.approx(28 * 65 / 92)
    assert flops_between(pixels, 0, 100, True) > 19 * flops_between(rows, 0, 100, True)
    # a readout at every step (copy) adds the head's matmul at every one of its T + 20 steps
    copy = TrialConfig(hidden=32, lr=1e-2, batch_size=10, task="copy", length=20)
    assert task_shape(copy) == (40, 10, 10, True)
    assert config_step_flops(copy) == 3 * 10 * 40 * (2 * (10 + 32) * 4 * 32 + 2 * 32 * 10)


def test_the_plan_names_the_task_and_counts_its_memory():
    from lstm_sweep.running.cost import (
        DATASET_BYTES,
        Calibration,
        dataset_bytes,
        plan_units,
        render_plan,
        task_label,
        unit_memory,
    )
    from lstm_sweep.running.units import make_units
    from lstm_sweep.training import resolve_device

    cpu = resolve_device("cpu")
    cal = Calibration(overhead_s=1e-3, flops_per_s=1e11, device="cpu")
    grid = Grid(hidden=(16, 32), lr=(1e-2, 1e-1), steps=50, task="pixels")
    units = make_units(grid.trials(), "single", cpu)
    plan = plan_units(units, cpu, {("single", "fp32", "lstm"): cal}, workers=1)
    text = render_plan(plan)
    assert "pixels" in text.splitlines()[2] and "pixels" in text.splitlines()[3]
    quick = Grid(hidden=16, lr=1e-2, steps=50)
    quick_units = make_units(quick.trials(), "single", cpu)
    rows_text = render_plan(plan_units(quick_units, cpu, {("single", "fp32", "lstm"): cal}, workers=1))
    assert "pixels" not in rows_text and "rows" not in rows_text
    adding = TrialConfig(hidden=16, lr=0.1, task="adding", length=100)
    assert task_label(adding) == "adding T=100" and task_label(quick.trials()[0]) == ""
    assert dataset_bytes(quick.trials()[0]) == DATASET_BYTES
    assert dataset_bytes(adding) == 60_000 * 100 * 2 * 4
    chars = TrialConfig(hidden=16, lr=0.1, task="chars", length=50)
    assert dataset_bytes(chars, text_chars=1000) == 8000
    # the logits of every step are kept: a text's unit holds more than its recurrence alone
    (unit,) = make_units([chars], "single", cpu)
    assert unit_memory(unit)["activations"] > 50 * 100 * 12 * 16 * 4


# --------------------------------------------------------------------------- the search


def test_the_search_ranks_a_loss_lowest_first_and_a_missing_value_last():
    from lstm_sweep.running.search import mean_metric, metric_words, promoted, ranked, worst

    loss, acc = METRICS["bpc"], METRICS["accuracy"]
    scores = {1e-3: 1.9, 1e-2: 1.4, 1e-1: 2.5, 1.0: math.inf}
    assert ranked(scores, loss) == [1e-2, 1e-3, 1e-1, 1.0]
    assert promoted(scores, 3, loss) == [1e-3, 1e-2]
    assert promoted(scores, 4, loss) == [1e-2]
    # accuracy as it always ranked: the highest first, the smaller rate of equals
    assert ranked({1e-3: 0.9, 1e-2: 0.95, 1e-1: 0.95}, acc) == [1e-2, 1e-1, 1e-3]
    # a missing value (None, NaN) is the worst: 0 accuracy, an infinite loss
    assert worst(acc) == 0.0 and worst(loss) == math.inf
    assert mean_metric([0.8, None], acc) == 0.4
    assert mean_metric([1.2, None], loss) == math.inf
    assert mean_metric([1.2, float("nan")], loss) == math.inf
    assert mean_metric([1.2, 1.4], loss) == pytest.approx(1.3)
    assert ranked({1e-3: mean_metric([None], loss), 1e-2: 3.0}, loss) == [1e-2, 1e-3]
    assert metric_words(acc) == "validation accuracy"
    assert metric_words(loss) == "validation bits per character (lower is better)"


def test_a_search_row_of_a_loss_task_is_labelled_and_ranked_by_it(tmp_path):
    from lstm_sweep.running.search import _State, search_rows

    grid = Grid(hidden=16, lr=(1e-3, 1e-2, 1e-1), steps=30, task="adding", length=10)
    (row,) = search_rows(grid.trials())
    assert row.label() == "adding hidden 16"
    state = _State.__new__(_State)  # as the store would hold it, without one
    state.metric, state.rungs = METRICS["mse"], {}
    state.results = {}
    assert state.score(row.trials[1e-3]) == math.inf  # nothing stored: ranked last


# --------------------------------------------------------------------------- the live page


def test_the_live_page_marks_the_lowest_loss_best_and_names_the_metric():
    from helpers import trial
    from lstm_sweep.reporting import build_tables
    from lstm_sweep.serve.state import table_view

    losses = {1e-3: 0.12, 1e-2: 0.05, 1e-1: 0.3}
    results = [trial(16, lr, v, task="adding", length=10) for lr, v in losses.items()]
    tables = build_tables(results, "accuracy")
    view = table_view(tables[0], tables)
    assert view["metric"]["name"] == "mse" and view["metric"]["higher"] is False
    assert "mean squared error (lower is better)" in view["name"]
    assert view["best"] == [0, view["cols"].index("0.01")]
    rows = [trial(16, lr, v) for lr, v in {1e-3: 0.9, 1e-2: 0.95, 1e-1: 0.2}.items()]
    rtables = build_tables(rows, "accuracy")
    rview = table_view(rtables[0], rtables)
    assert rview["metric"]["name"] == "accuracy" and rview["best"] == [0, rview["cols"].index("0.01")]
    assert "accuracy" not in rview["name"]  # rows' titles as they were


# --------------------------------------------------------------------------- the CLI


@pytest.mark.parametrize(
    "args, words",
    [
        (["--task", "chars"], "--task chars reads a text: pass --text FILE"),
        (["--task", "rows,adding"], "rows (images), adding (generated)"),
        (["--task", "pixels,chars", "--text", "t"], "one sweep per kind of data, each into the same --db"),
        (["--task", "bogus"], "choose one of rows, pixels, permuted, adding, copy, chars"),
        (["--task", "adding", "--length", "0"], "Invalid value for '--length'"),
        (["--task", "adding", "--task-seed", "-1"], "Invalid value for '--task-seed'"),
        (["--task", "adding", "--text", "t.txt"], "--text is the text of --task chars"),
        (["--task", "copy", "--data-dir", "."], "--data-dir is for the image tasks"),
    ],
)
@pytest.mark.parametrize("command", ["run", "search", "plan"])
def test_bad_task_options_are_one_error_line_and_the_store_untouched(tmp_path, command, args, words):
    if command == "plan" and "--data-dir" in args:
        args = ["--task", "copy", "--text", "t.txt"]
        words = "--text is the text of --task chars"
    db = tmp_path / "s.db"
    before = snapshot(tmp_path)
    grid = ["--hidden", "8", "--lr", "0.1,0.01", "--steps", "20", "--device", "cpu"]
    out = cli(command, *grid, "--db", db, *args)
    line = out.error_line()
    assert words in line, line
    assert snapshot(tmp_path) == before and not db.exists()


def test_task_options_reach_the_grid():
    from lstm_sweep.cli.sweeps import grid_of, run

    opts = run.make_context(
        "run", ["--hidden", "8", "--lr", "0.1", "--task", "adding,copy", "--length", "30", "--task-seed", "4"]
    ).params
    grid = grid_of(opts)
    assert (grid.task, grid.length, grid.task_seed) == (("adding", "copy"), 30, 4)
    assert {(t.task, t.length, t.task_seed, t.dataset) for t in grid.trials()} == {
        ("adding", 30, 4, "generated"),
        ("copy", 30, 4, "generated"),
    }
    preset_opts = run.make_context("run", ["--preset", "adding-small"]).params
    assert grid_of(preset_opts).length == 50
    plain = grid_of(run.make_context("run", ["--hidden", "8", "--lr", "0.1"]).params)
    assert (plain.length, plain.task_seed) == (0, 0)
    # rows' trials keep their keys (length and task_seed are not part of them)
    assert plain.trials()[0].key() == TrialConfig(hidden=8, lr=0.1).key()


def test_a_generated_task_plans_without_mnist(tmp_path, monkeypatch):
    monkeypatch.setenv("LSTM_SWEEP_DATA_DIR", str(tmp_path / "none"))
    out = cli(
        "plan", "--task", "adding", "--length", "20", "--hidden", "8", "--lr", "0.1,0.01", "--steps", "10",
        "--device", "cpu", "--db", tmp_path / "p.db",
    )  # fmt: skip
    assert out.code == 0, out.text
    assert "adding T=20" in out.out


def test_help_states_the_task_options_and_their_defaults():
    out = cli("run", "--help")
    flat = " ".join(out.out.split())
    assert "--length" in flat and "adding 600, copy 1000, chars 100" in flat
    assert "--task-seed" in flat and "--text" in flat


# --------------------------------------------------------------------------- presets


@pytest.mark.parametrize(
    "name, task",
    [
        ("pixels-small", "pixels"),
        ("adding-small", "adding"),
        ("copy-small", "copy"),
        ("chars-small", "chars"),
        ("chars-transfer", "chars"),
    ],
)
def test_each_task_has_a_preset_asking_the_seeds_question(name, task):
    grid = PRESETS[name]
    trials = grid.trials()
    assert {t.task for t in trials} == {task}
    assert len(grid.hidden) >= 3 and len(grid.lr) >= 3  # width x learning rate
    assert len(trials) <= 48 and max(grid.steps) <= 2000
    if TASKS[task].default_length:
        assert 0 < trials[0].length <= 100 < TASKS[task].default_length * 10
    note = PRESET_NOTES[name]
    assert "paper" in note and "afford" in note
    if name == "chars-transfer":
        assert set(grid.param) == {"sp", "mup"}
        assert all(b / a == 2 for a, b in zip(grid.lr, grid.lr[1:]))


def test_every_preset_has_a_note():
    assert set(PRESET_NOTES) == set(PRESETS)


@pytest.mark.parametrize(
    "task_args",
    [
        ("--task", "adding", "--length", "20"),
        ("--task", "chars", "--length", "20", "--text", "TEXT"),
        ("--task", "examples/tasks/spikes.py:Spikes"),
    ],
    ids=["generated", "text", "user"],
)
def test_local_workers_load_each_kind_of_data_and_train_its_task(tmp_path, task_args):
    """Worker processes load the data as the driver did (generated, a text, a user's task by
    its file) and make the task's own: every trial done, none 'worker process died'."""
    from helpers import shakespeare_text
    from lstm_sweep import load_results

    args = [shakespeare_text() if a == "TEXT" else a for a in task_args]
    out = cli(
        "run", *args, "--hidden", "8", "--lr", "0.01,0.1", "--steps", "12", "--batch-size", "10",
        "--executor", "local", "--workers", "2", "--device", "cpu", "--db", tmp_path / "s.db",
    )  # fmt: skip
    assert out.code == 0, out.text
    results = load_results(tmp_path / "s.db")
    assert len(results) == 2 and all(r.status.value == "done" for r in results), [r.error for r in results]
    assert all(r.engine == "single" and r.config.task == args[1] for r in results)
    short = {"adding": "MSE", "chars": "bpc"}.get(args[1], "acc")  # each progress line's metric
    assert sum(f": done {short} " in line for line in out.text.splitlines()) == 2, out.text


def test_presets_lists_every_preset_with_its_task_size_and_note():
    out = cli("presets")
    assert out.code == 0, out.text
    flat = " ".join(out.out.split())
    for name, grid in PRESETS.items():
        assert f"{name}: {len(grid.trials()):,} trials; task {grid.trials()[0].task};" in flat
        assert " ".join(PRESET_NOTES[name].split()[:6]) in flat
    assert "text=" not in out.out  # the CLI names its flag


def test_a_task_is_planned_from_a_probe_of_its_own_shape():
    """rows keeps its probe (and its key); a 784-step task gets a probe of 784 steps of one
    input, which the plan uses as measured (not rows' overhead scaled by 28)."""
    import torch

    from lstm_sweep.running.calibration import probe
    from lstm_sweep.running.cost import Calibration, calibration_key, plan_units, probe_shape
    from lstm_sweep.running.units import WorkUnit

    rows, pixels = (
        TrialConfig(hidden=8, lr=0.1, steps=10),
        TrialConfig(hidden=8, lr=0.1, steps=10, task="pixels"),
    )
    chars = TrialConfig(hidden=8, lr=0.1, task="chars", length=40)
    assert probe_shape(rows) is None and calibration_key(rows, "single") == ("single", "fp32", "lstm")
    assert probe_shape(pixels) == (784, 1, 10, False, "xent")
    assert probe_shape(chars)[:2] == (40, 100) and probe_shape(chars)[3] is True
    assert probe_shape(TrialConfig(hidden=8, lr=0.1, task="adding", length=30))[-1] == "mse"
    cpu = torch.device("cpu")
    measured = probe(cpu, widths=(4, 8), steps=3, shape=(30, 2, 1, False, "mse"))
    assert measured.overhead_s >= 0 and measured.flops_per_s > 0
    rows_probe, own = Calibration(1e-3, 1e9, "cpu"), Calibration(5e-2, 1e9, "cpu")
    unit = [WorkUnit((pixels,), "single")]
    alone = plan_units(unit, cpu, {("single", "fp32", "lstm"): rows_probe}, workers=1)
    both = plan_units(
        unit, cpu, {("single", "fp32", "lstm"): rows_probe, calibration_key(pixels, "single"): own}, workers=1
    )
    compute = alone.units[0].seconds - 1e-3 * 10 * 28  # rows' overhead, 28 times per update
    assert both.units[0].seconds == pytest.approx(5e-2 * 10 + compute)
