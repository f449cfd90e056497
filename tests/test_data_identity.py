"""A dataset's name is a claim about its data, and every public entry point checks its arguments.

- A known name (mnist, fashion-mnist, kmnist) is given only to files that match that dataset's
  checksums: a subset of MNIST called ``mnist``, MNIST's folder asked for as ``kmnist``, are
  refused (one Error line, exit 2, the store byte-identical).
- A store binds each dataset name to one fingerprint: ``foo`` from folder A, then ``foo`` from
  folder B (other data) is refused; A again (or a copy of A) is "already stored".
- Names of data are printable, trimmed and at most 100 characters (Hypothesis generates the
  hostile ones: control characters, ANSI escapes, line breaks, invisible formatting, spaces).
- A folder whose test set is empty, or whose training set is no larger than the validation
  split, is refused when loaded (not a ``failed`` trial later, dividing by zero).
- The public functions of data, running.sweep and training.train refuse arguments of the wrong
  kind with the documented LstmSweepError kind, naming the argument (Hypothesis, no training).

Real parts throughout: the real MNIST at ``$LSTM_SWEEP_DATA_DIR``, IDX files written to
``tmp_path``, real SQLite stores, the real CLI (in-process). Two tiny trainings in all.
"""

from __future__ import annotations

import gzip
import hashlib
import shutil
import unicodedata
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import cli, examples, snapshot
from lstm_sweep import Grid, SweepCallbacks, execute, plan_sweep, run_sweep, sweep_request
from lstm_sweep.data import (
    DATASETS,
    FILES,
    MNIST_SHA256,
    Dataset,
    Split,
    check_dataset_name,
    load_dataset,
    load_dir,
    load_mnist,
    parse_idx,
    resolve_data_dir,
)
from lstm_sweep.data.sources import MAX_NAME_LENGTH
from lstm_sweep.errors import ConfigError, DataError, LstmSweepError, StoreError
from lstm_sweep.store import Store
from lstm_sweep.study.config import TrialConfig
from lstm_sweep.training.train import run_trial, train_group
from test_data import idx_bytes, write_tiny_dataset

RUN = (
    "run",
    "--steps",
    "5",
    "--hidden",
    "8",
    "--lr",
    "0.01",
    "--device",
    "cpu",
    "--workers",
    "1",
    "--no-progress",
)
FAST = settings(max_examples=examples(150))


def _raw(folder: Path) -> dict[str, np.ndarray]:
    """The four uint8 arrays of a folder of IDX .gz files."""
    return {
        key: parse_idx(gzip.decompress((folder / f"{name}.gz").read_bytes()), kind=key.split("_")[1])
        for key, name in FILES.items()
    }


def _write(folder: Path, arrays: dict[str, np.ndarray]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for key, name in FILES.items():
        (folder / f"{name}.gz").write_bytes(gzip.compress(idx_bytes(arrays[key]), 1))
    return folder


@pytest.fixture(scope="module")
def mnist_raw(mnist_dir):
    return _raw(mnist_dir)


@pytest.fixture(scope="module")
def folders(tmp_path_factory, mnist_raw):
    """Real MNIST images in other folders: a 6,000-image subset, and two small sets A and B
    (5,100 training images each, other slices) with a copy of A."""
    root = tmp_path_factory.mktemp("identity")
    r = mnist_raw

    def part(train: slice, test: slice) -> dict[str, np.ndarray]:
        return {
            "train_images": r["train_images"][train],
            "train_labels": r["train_labels"][train],
            "test_images": r["test_images"][test],
            "test_labels": r["test_labels"][test],
        }

    out = {
        "subset": _write(root / "subset", part(slice(0, 6000), slice(0, 1000))),
        "a": _write(root / "a", part(slice(0, 5100), slice(0, 200))),
        "b": _write(root / "b", part(slice(10_000, 15_100), slice(200, 400))),
    }
    shutil.copytree(out["a"], root / "copy-of-a")
    out["copy-of-a"] = root / "copy-of-a"
    return out


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("tiny") / "tiny"
    write_tiny_dataset(folder)
    return folder


# --------------------------------------------------------------------------- known names


def test_the_fingerprint_is_the_sha256_of_the_four_digests(mnist, folders):
    expected = hashlib.sha256("".join(MNIST_SHA256[n] for n in sorted(MNIST_SHA256)).encode())
    assert mnist.fingerprint == expected.hexdigest()
    a, copy, b = (load_dir(folders[k]) for k in ("a", "copy-of-a", "b"))
    assert a.fingerprint == copy.fingerprint != b.fingerprint
    assert a.name.endswith("-" + a.fingerprint[:8])  # the name of other data, as before


def test_a_subset_of_mnist_named_mnist_is_refused_and_the_store_is_untouched(mnist_dir, folders, tmp_path):
    db = tmp_path / "m.db"
    o = cli(*RUN, "--data-dir", mnist_dir, "--db", db)  # training 1 of 2: the real MNIST
    assert o.code == 0, o.text
    before = snapshot(tmp_path)
    for name in ("mnist", "MNIST", "Mnist", "ｍｎｉｓｔ"):  # as written, or only looking like it
        line = cli(*RUN, "--data-dir", folders["subset"], "--dataset-name", name, "--db", db).error_line()
        assert "is not mnist: its files' checksums are not mnist's" in line, line
        assert "--dataset-name with a name of its own" in line
        assert snapshot(tmp_path) == before
    # another known name on it, and a known name on another known dataset's files
    line = cli(*RUN, "--data-dir", folders["subset"], "--dataset-name", "kmnist", "--db", db).error_line()
    assert "is not kmnist" in line and "does not match any known dataset" in line
    line = cli(*RUN, "--data-dir", mnist_dir, "--dataset-name", "fashion-mnist", "--db", db).error_line()
    assert "is not fashion-mnist" in line and "(it holds mnist)" in line
    assert snapshot(tmp_path) == before
    # MNIST's own folder with its own name is fine: the trial is the one already stored
    o = cli(*RUN, "--data-dir", mnist_dir, "--dataset-name", "mnist", "--db", db)
    assert o.code == 0, o.text
    assert f"0 trials run (nothing new), 1 already in {db}" in o.err
    # the subset under its own (folder) name is other data: its own trial, never MNIST's
    with pytest.raises(DataError, match="is not mnist"):
        load_dir(folders["subset"], name="mnist")
    assert load_dir(folders["subset"]).name.startswith("subset-")


def test_a_folder_asked_for_as_another_dataset_is_refused(mnist_dir, folders, tmp_path):
    db = tmp_path / "k.db"
    cases = [
        (mnist_dir, "kmnist", "holds mnist, not kmnist"),
        (mnist_dir, "fashion-mnist", "holds mnist, not fashion-mnist"),
        (folders["subset"], "kmnist", "holds data of no known dataset, not kmnist"),
    ]
    for folder, dataset, message in cases:
        line = cli(*RUN, "--data-dir", folder, "--dataset", dataset, "--db", db).error_line()
        assert message in line and f"--data-dir with {dataset}'s folder" in line, line
        with pytest.raises(DataError, match=message):
            load_dataset(folder, dataset=dataset)
    # a name of its own does not make other data kmnist either
    line = cli(
        *RUN, "--data-dir", folders["subset"], "--dataset", "kmnist", "--dataset-name", "letters", "--db", db
    ).error_line()
    assert "not kmnist" in line
    assert not db.exists()
    assert load_mnist(mnist_dir, dataset="mnist").name == "mnist"


def test_one_name_one_dataset_per_store(folders, tmp_path):
    db = tmp_path / "s.db"
    o = cli(*RUN, "--data-dir", folders["a"], "--dataset-name", "foo", "--db", db)  # training 2
    assert o.code == 0, o.text
    with Store(db, readonly=True) as store:
        assert store.dataset_fingerprint("foo") == load_dir(folders["a"]).fingerprint
    before = snapshot(tmp_path)
    line = cli(*RUN, "--data-dir", folders["b"], "--dataset-name", "foo", "--db", db).error_line()
    assert "holds trials of dataset 'foo' trained on other data" in line, line
    assert "pass --dataset-name with another name, or --db with another store" in line
    assert snapshot(tmp_path) == before
    for same in ("a", "copy-of-a"):  # the same data, from its folder or a copy: already stored
        o = cli(*RUN, "--data-dir", folders[same], "--dataset-name", "foo", "--db", db)
        assert o.code == 0, o.text
        assert f"0 trials run (nothing new), 1 already in {db}" in o.err
    # B under a name of its own is welcome in the same store (no training needed to show it:
    # the plan accepts it)
    data_b = load_dir(folders["b"], name="bar")
    assert len(_plan(db, data_b).pending) == 1


def _plan(db, data, grid=None):
    return plan_sweep(sweep_request(grid or GRID, db, data=data, device="cpu", workers=1))


def test_the_library_refuses_a_store_that_knows_the_name_as_other_data(tmp_path, folders):
    """plan_sweep, run_sweep and execute (of a plan made before the store knew the name) all
    refuse; the store's files stay as they were, and nothing trains."""
    db = tmp_path / "bound.db"
    a, b = load_dir(folders["a"], name="foo"), load_dir(folders["b"], name="foo")
    stale = _plan(db, b)  # planned while the store did not exist
    with Store(db) as store:
        store.bind_dataset("foo", a.fingerprint)
    before = snapshot(tmp_path)
    with pytest.raises(StoreError, match="trained on other data"):
        _plan(db, b)
    with pytest.raises(StoreError, match="trained on other data"):
        run_sweep(GRID, b, db, device="cpu", workers=1)
    with pytest.raises(StoreError, match="trained on other data"):
        execute(stale)
    assert snapshot(tmp_path) == before
    with Store(db, readonly=True) as store:
        assert store.results() == [] and store.dataset_fingerprint("foo") == a.fingerprint


# --------------------------------------------------------------------------- names


HOSTILE_PIECES = st.sampled_from(
    [
        "\x1b[31m",
        "\x1b[2J",
        "\x1b]0;title\x07",
        "\n",
        "\r",
        "\t",
        "\x00",
        "\x7f",
        "\u200b",
        "\u202e",
        "\u2028",
        "\ufeff",
        "\u00a0",
        "\x85",
    ]
)
GOOD_TEXT = st.text(st.characters(categories=["L", "N", "P", "S"]), min_size=1, max_size=30)


@st.composite
def hostile_names(draw):
    kind = draw(st.sampled_from(["control", "blank", "long", "padded", "not-a-string"]))
    if kind == "control":
        # some visible text (a name of only such characters is blank: another rule), and at
        # least one control or invisible character anywhere in it
        parts = [draw(GOOD_TEXT), *draw(st.lists(st.one_of(GOOD_TEXT, HOSTILE_PIECES), max_size=2))]
        parts.insert(draw(st.integers(0, len(parts))), draw(HOSTILE_PIECES))
        return "".join(parts), "control or invisible"
    if kind == "blank":
        return draw(st.text(st.sampled_from(" "), max_size=5)), "empty or only spaces"
    if kind == "long":
        return draw(GOOD_TEXT) * 101 + "x" * MAX_NAME_LENGTH, "too long"
    if kind == "padded":
        text = draw(GOOD_TEXT)
        return draw(st.sampled_from([f" {text}", f"{text} ", f"  {text}  "])), "space"
    return draw(
        st.one_of(st.integers(), st.binary(), st.lists(st.text()), st.booleans(), st.floats())
    ), "must be a string"


def _expected_refusal(name: str) -> str | None:
    """The rule a name breaks (None: a good name), computed independently of the code."""
    if not name.strip():
        return "empty or only spaces"
    if len(name) > MAX_NAME_LENGTH:
        return "too long"
    if any(unicodedata.category(c)[0] in "CZ" and c != " " for c in name):
        return "control or invisible"
    if name != name.strip():
        return "space"
    return None


@FAST
@given(case=hostile_names())
def test_hostile_names_are_refused_naming_the_rule(case, tiny):
    name, rule = case
    with pytest.raises(ConfigError, match=rule):
        check_dataset_name(name)
    with pytest.raises(ConfigError, match=rule):  # before any file is read
        load_dir(tiny, name=name)
    with pytest.raises(ConfigError, match=rule):
        load_dataset(tiny, dataset_name=name)
    with pytest.raises(ConfigError, match=rule):  # the name trials are planned under
        sweep_request(Grid(hidden=(8,), lrs=(0.01,)), "/nonexistent-folder/x.db", dataset=name, device="cpu")


@FAST
@given(name=st.text(max_size=120))
def test_any_text_is_a_name_exactly_when_the_rules_say(name):
    rule = _expected_refusal(name)
    if rule is None:
        assert check_dataset_name(name) == name
    else:
        with pytest.raises(ConfigError, match=rule):
            check_dataset_name(name)


@FAST
@given(known=st.sampled_from(sorted(DATASETS)), form=st.sampled_from(["same", "upper", "title", "fullwidth"]))
def test_names_written_as_a_known_dataset_are_refused_for_other_data(known, form, tiny):
    name = {
        "same": known,
        "upper": known.upper(),
        "title": known.title(),
        "fullwidth": "".join(chr(ord(c) + 0xFEE0) if c.isalnum() else c for c in known),
    }[form]
    with pytest.raises(DataError, match=f"is not {known}: its files' checksums are not"):
        load_dir(tiny, name=name)


@settings(max_examples=examples(30))
@given(case=hostile_names())
def test_hostile_names_on_the_command_line_are_one_error_line(case, mnist_dir, tmp_path_factory):
    name, rule = case
    if not isinstance(name, str) or "\x00" in name:  # argv holds text without NUL only
        return
    root = tmp_path_factory.mktemp("names")
    db = root / "s.db"
    with Store(db):
        pass
    before = snapshot(root)
    line = cli(*RUN, "--data-dir", mnist_dir, "--dataset-name", name, "--db", db).error_line()
    assert rule in line and "--dataset-name" in line, line
    assert "\x1b" not in line and "\n" not in line  # the message shows the name escaped
    assert snapshot(root) == before


# --------------------------------------------------------------------------- sizes


@settings(max_examples=examples(25))
@given(n_train=st.sampled_from([0, 1, 100, 4999, 5000, 5001, 5010]), n_test=st.integers(0, 3))
def test_folders_too_small_to_split_or_test_are_refused_when_loaded(n_train, n_test, tmp_path_factory):
    folder = tmp_path_factory.mktemp("sizes")
    write_tiny_dataset(folder, n_train=n_train, n_test=n_test)
    if n_test == 0:
        with pytest.raises(
            DataError,
            match=r"t10k-images-idx3-ubyte: 0 test images .*"
            r"t10k-labels-idx1-ubyte: 0 labels",
        ):
            load_dir(folder)
    elif n_train <= 5000:
        with pytest.raises(
            DataError,
            match=rf"train-images-idx3-ubyte: {n_train:,} training "
            r"images, need more than 5,000",
        ):
            load_dir(folder)
    else:
        data = load_dir(folder)
        assert len(data.test) == n_test and len(data.train) == n_train - 5000


def test_an_empty_test_set_is_one_error_line_not_a_failed_trial(tmp_path):
    write_tiny_dataset(tmp_path / "d", n_test=0)
    for args in (
        ("data", "--data-dir", tmp_path / "d"),
        (*RUN, "--data-dir", tmp_path / "d", "--db", tmp_path / "s.db"),
    ):
        line = cli(*args).error_line()
        assert "0 test images" in line and "t10k-images-idx3-ubyte" in line
    assert not (tmp_path / "s.db").exists()


def test_datasets_built_by_hand_are_checked_and_fingerprinted():
    images, labels = np.zeros((3, 28, 28), np.float32), np.zeros(3, np.int64)
    full, empty = Split(images, labels), Split(images[:0], labels[:0])
    for part in ("train", "validation", "test"):
        splits = {"train": full, "validation": full, "test": full, part: empty}
        with pytest.raises(DataError, match=f"its {part} split is empty"):
            Dataset("mine", "memory", **splits)
    with pytest.raises(DataError, match="3 images but 2 labels"):
        Dataset("mine", "memory", Split(images, labels[:2]), full, full)
    mine = Dataset("mine", "memory", full, full, full)
    other = Dataset("mine", "memory", full, full, Split(images + 1, labels))
    assert len(mine.fingerprint) == 64 and mine.fingerprint != other.fingerprint
    for known in (*DATASETS, "MNIST", "Fashion-MNIST"):  # a claim only its files can back
        with pytest.raises(DataError, match="must be loaded from its files"):
            Dataset(known, "memory", full, full, full)


@FAST
@given(case=hostile_names())
def test_a_dataset_built_by_hand_with_a_hostile_name_is_refused(case):
    name, rule = case
    split = Split(np.zeros((1, 28, 28), np.float32), np.zeros(1, np.int64))
    with pytest.raises(ConfigError, match=rule):
        Dataset(name, "memory", split, split, split)


def test_another_validation_split_is_not_the_known_dataset(mnist_dir, mnist):
    data = load_dir(mnist_dir, validation_size=1000)
    assert data.name != "mnist" and data.fingerprint != mnist.fingerprint
    with pytest.raises(DataError, match="is not mnist"):
        load_dir(mnist_dir, validation_size=1000, name="mnist")


# --------------------------------------------------------------------------- API arguments


JUNK = st.one_of(
    st.none(),
    st.integers(),
    st.floats(allow_nan=True),
    st.booleans(),
    st.binary(max_size=8),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=1),
    st.builds(object),
)
NOT_NONE_JUNK = JUNK.filter(lambda v: v is not None)


@FAST
@given(
    data_dir=st.one_of(
        NOT_NONE_JUNK.filter(lambda v: not isinstance(v, (str, bytes))),
        st.sampled_from(["", "  ", "a\x00b", b"/tmp"]),
    )
)
def test_a_data_dir_that_is_not_a_folder_path_is_refused(data_dir):
    for call in (
        lambda: resolve_data_dir(data_dir),
        lambda: load_dataset(data_dir),
        lambda: load_dir(data_dir),
    ):
        with pytest.raises(ConfigError, match="data_dir|directory"):
            call()


@FAST
@given(
    dataset=st.one_of(
        NOT_NONE_JUNK,
        st.none(),
        st.text(max_size=12).filter(lambda t: t not in DATASETS),
        st.sampled_from(["MNIST", "mnist ", " kmnist", "Fashion-MNIST"]),
    )
)
def test_an_unknown_dataset_is_refused_naming_the_known_ones(dataset, isolated_env):
    with pytest.raises((ConfigError, DataError), match="mnist, fashion-mnist, kmnist"):
        resolve_data_dir(dataset=dataset)
    with pytest.raises((ConfigError, DataError), match="mnist, fashion-mnist, kmnist"):
        load_dataset(dataset=dataset)


@FAST
@given(size=st.one_of(st.integers(max_value=0), st.booleans(), st.floats(), st.text(max_size=3), st.none()))
def test_validation_size_must_be_a_positive_integer(size, tiny):
    with pytest.raises(ConfigError, match="validation_size"):
        load_dir(tiny, validation_size=size)


@FAST
@given(
    mirrors=st.one_of(
        st.text(max_size=5), st.integers(), st.lists(st.integers(), min_size=1), st.just([""]), st.just([" "])
    ),
    progress=NOT_NONE_JUNK,
)
def test_mirrors_and_progress_of_the_wrong_kind_are_refused(mirrors, progress, isolated_env):
    """Refused before any download is tried (the cache is empty)."""
    with pytest.raises(ConfigError, match="mirrors must be a list of base URLs"):
        resolve_data_dir(dataset="kmnist", mirrors=mirrors)
    with pytest.raises(ConfigError, match="progress must be a function"):
        load_dataset(dataset="kmnist", progress=progress)
    assert not (isolated_env / "cache").exists()


GRID = Grid(hidden=(8,), lrs=(0.01,), steps=5)
SWEEP_ARGS = {
    "grid": (JUNK, "grid must be a Grid"),
    "store": (st.one_of(JUNK, st.sampled_from(["", " ", "x\x00.db"])), "store must be"),
    "data": (NOT_NONE_JUNK, "data must be a Dataset"),
    "dataset": (JUNK, "dataset"),
    "device": (st.one_of(NOT_NONE_JUNK, st.sampled_from(["", "gpu", "cuda:x", "CPU"])), "device"),
    "engine": (st.one_of(JUNK, st.sampled_from(["", "fast"])), "engine"),
    "executor": (st.one_of(NOT_NONE_JUNK, st.sampled_from(["", "pool"])), "executor"),
    "workers": (
        st.one_of(
            st.integers(max_value=0),
            st.booleans(),
            st.floats(),
            st.text(max_size=2),
            st.integers(min_value=10**6),
        ),
        "workers",
    ),
    "ray_address": (st.one_of(st.integers(), st.binary(), st.lists(st.text(), max_size=1)), "ray_address"),
    "retry": (
        st.one_of(st.integers(), st.sampled_from(["done", "x", ["done"], [1], {"a": 1}, b"x"])),
        "retry|--retry",
    ),
    "fallback_fp32": (st.one_of(st.integers(), st.text(max_size=2), st.none()), "fallback_fp32"),
}


@st.composite
def bad_sweep_arguments(draw):
    name = draw(st.sampled_from(sorted(SWEEP_ARGS)))
    strategy, message = SWEEP_ARGS[name]
    return name, draw(strategy), message


@FAST
@given(case=bad_sweep_arguments())
def test_sweep_request_refuses_arguments_of_the_wrong_kind_naming_them(case, tmp_path_factory):
    name, value, message = case
    folder = tmp_path_factory.getbasetemp()
    args = {"grid": GRID, "store": folder / "never.db", "device": "cpu", **{name: value}}
    grid, store = args.pop("grid"), args.pop("store")
    with pytest.raises(LstmSweepError, match=message) as e:
        sweep_request(grid, store, **args)
    assert isinstance(e.value, (ConfigError, StoreError)), e.value
    assert not (folder / "never.db").exists()


@FAST
@given(value=JUNK)
def test_plan_execute_and_run_sweep_refuse_what_is_not_theirs(value, tmp_path_factory):
    folder = tmp_path_factory.getbasetemp()
    with pytest.raises(ConfigError, match="request must be a SweepRequest"):
        plan_sweep(value)
    if value is not None:  # None is "no callbacks"
        with pytest.raises(ConfigError, match="plan must be a Plan"):
            execute(value)
        with pytest.raises(ConfigError, match="data must be a Dataset"):
            run_sweep(GRID, value, folder / "never.db", device="cpu")
    with pytest.raises(ConfigError, match="data must be a Dataset"):
        sweep_request(GRID, folder / "never.db", device="cpu").with_data(value)
    assert not (folder / "never.db").exists()


def test_execute_refuses_callbacks_of_the_wrong_kind(folders, tmp_path):
    plan = _plan(tmp_path / "s.db", load_dir(folders["a"], name="a"))
    for callbacks, message in [
        (5, "callbacks must be a SweepCallbacks"),
        ({"on_start": print}, "callbacks must be a SweepCallbacks"),
    ]:
        with pytest.raises(ConfigError, match=message):
            execute(plan, callbacks)
    # a hook that is not a function is refused where the callbacks are made, before any work
    for hook in ("on_start", "on_trial_end"):
        with pytest.raises(ConfigError, match=f"SweepCallbacks.{hook} must be a function"):
            SweepCallbacks(**{hook: 5})
    assert not (tmp_path / "s.db").exists()


@FAST
@given(
    value=JUNK,
    which=st.sampled_from(["config", "data", "eval_chunk", "device", "on_step", "configs", "engine"]),
)
def test_run_trial_and_train_group_refuse_bad_arguments_before_training(value, which, tiny_data):
    config = TrialConfig(hidden=8, lr=0.01, steps=5, dataset="tiny")
    if which == "config":
        with pytest.raises(ConfigError, match="config must be a TrialConfig"):
            run_trial(value, tiny_data)
    elif which == "data":
        with pytest.raises(ConfigError, match="data must be a Dataset"):
            run_trial(config, value)
    elif which == "configs":
        with pytest.raises(ConfigError, match="configs must be a non-empty list"):
            train_group(value if value is not None else [], tiny_data)
    elif which == "engine":
        with pytest.raises(ConfigError, match="engine must be one of"):
            train_group([config], tiny_data, engine=value)
    elif which == "on_step":
        if value is not None and not callable(value):
            with pytest.raises(ConfigError, match="on_step"):
                run_trial(config, tiny_data, on_step=value)
    else:
        if which == "eval_chunk" and isinstance(value, int) and not isinstance(value, bool) and value >= 1:
            return
        with pytest.raises(ConfigError, match=which):
            run_trial(config, tiny_data, **{which: value})


def test_trials_of_different_groups_are_a_config_error(tiny_data):
    a, b = TrialConfig(hidden=8, lr=0.01), TrialConfig(hidden=16, lr=0.01)
    with pytest.raises(ConfigError, match="must agree on everything but lr and seed"):
        train_group([a, b], tiny_data)


@pytest.fixture(scope="module")
def tiny_data(tiny):
    return load_dir(tiny, name="tiny")


def test_worker_processes_refuse_files_changed_after_the_driver_loaded_them(tmp_path):
    """The local executor's workers load the data again from its folder: if its files changed
    in between (here: right as the sweep starts, before the first worker exists), the sweep
    stops with a DataError instead of training other data under the driver's name."""
    folder = tmp_path / "d"
    write_tiny_dataset(folder)
    data = load_dir(folder)
    db = tmp_path / "s.db"

    def change_the_files(pending, skipped, units):
        write_tiny_dataset(folder, n_test=9)  # other data, same folder

    grid = Grid(hidden=(8,), lrs=(0.01, 0.1), steps=5, batch_size=10)
    request = sweep_request(grid, db, data=data, device="cpu", workers=2)
    with pytest.raises(DataError, match="changed after this sweep loaded them"):
        execute(plan_sweep(request), SweepCallbacks(on_start=change_the_files))
    with Store(db, readonly=True) as s:
        assert s.results() == []  # nothing trained on the other data was stored


def test_a_dataset_name_has_one_limit():
    """The data layer's limit on a dataset's name is the study's (a TrialConfig takes no name
    the data layer would refuse, nor the other way round): 100 characters, as docs/guide.md says."""
    from lstm_sweep.study import MAX_NAME

    assert MAX_NAME_LENGTH == MAX_NAME == 100
    TrialConfig(hidden=8, lr=0.1, dataset="d" * 100)
    with pytest.raises(ConfigError, match="100"):
        TrialConfig(hidden=8, lr=0.1, dataset="d" * 101)
    with pytest.raises(ConfigError, match="100"):
        check_dataset_name("d" * 101)
