"""The data of each task (data/tasks.py, data/text.py), on real data: the real MNIST at
``$LSTM_SWEEP_DATA_DIR``, a real play of Shakespeare's (``helpers.shakespeare_text``), real
files under ``tmp_path`` (a FIFO, a folder, invalid UTF-8), real modules and files of user
tasks imported for real. No training.

- adding and copy: their layout and statistics (the TCN paper's forms), deterministic by seed,
  each split its own stream;
- pixels and permuted: every pixel kept (a reshape, or ``default_rng(seed).permutation(784)``);
- chars: a text cut into sequences and their next characters; load_text's split, vocabulary,
  name and fingerprint, and what it refuses;
- a user's task: loaded as module:Class and file.py:Class, its identity (version, or the
  checksum of its file), each wrong attribute or split refused in one line;
- the data layer agrees with the tasks' declaration (study/tasks.py).
"""

from __future__ import annotations

import hashlib
import os
import pickle
import re
import textwrap
import uuid
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import examples, shakespeare_text
from lstm_sweep.data import (
    GENERATED,
    GENERATED_FINGERPRINT,
    ROWS,
    Dataset,
    TaskShape,
    generated_data,
    is_text,
    load_text,
    load_user_task,
    permutation,
    task_data,
    text_vocabulary,
)
from lstm_sweep.data import tasks as data_tasks
from lstm_sweep.data import text as data_text
from lstm_sweep.data.batches import arrays_fingerprint
from lstm_sweep.errors import ConfigError, DataError
from lstm_sweep.study import tasks as study_tasks

ROOT = Path(__file__).resolve().parents[1]
SPIKES = ROOT / "examples" / "tasks" / "spikes.py"
FLAG = re.compile(r"(?<![\w-])--[a-z]")
SPLITS = ("train", "validation", "test")


def one_line(error: BaseException) -> str:
    """The error's message, checked to be one line that names no CLI flag."""
    message = str(error)
    assert "\n" not in message, message
    assert not FLAG.search(message), message
    return message


def same(a: Dataset, b: Dataset) -> bool:
    return arrays_fingerprint(a.train, a.validation, a.test) == arrays_fingerprint(
        b.train, b.validation, b.test
    )


# --------------------------------------------------------------------------- generated tasks


@pytest.fixture(scope="module")
def adding30() -> Dataset:
    return task_data(None, "adding", 30, 0)


def test_adding_layout_and_statistics(adding30):
    """Channel 0 uniform in [0, 1), channel 1 exactly two markers at distinct steps drawn
    uniformly, the target their numbers' sum: mean 1, variance 1/6 over 50,000 sequences."""
    d = adding30
    assert (d.name, d.fingerprint) == (GENERATED, GENERATED_FINGERPRINT)
    assert d.shape == TaskShape(2, 1, "last", "mse")
    assert [len(getattr(d, p)) for p in SPLITS] == [50_000, 1_000, 1_000]
    for part in SPLITS:
        x, y = getattr(d, part).images, getattr(d, part).labels
        assert x.dtype == np.float32 and y.dtype == np.float32
        assert x.shape == (len(y), 30, 2) and y.shape == (len(y),)
        assert x[:, :, 0].min() >= 0 and x[:, :, 0].max() < 1
        assert set(np.unique(x[:, :, 1])) == {0.0, 1.0}
        assert (x[:, :, 1].sum(axis=1) == 2).all()
        marked = x[:, :, 0][x[:, :, 1] == 1].reshape(len(y), 2)  # row-major: each row's two
        np.testing.assert_array_equal(y, marked[:, 0] + marked[:, 1])
    y = d.train.labels.astype(np.float64)
    assert abs(y.mean() - 1) < 0.01  # its standard error: sqrt(1/6 / 50,000) = 0.0018
    assert abs(y.var() - 1 / 6) < 0.005
    # each step is marked equally often: 100,000 markers over 30 steps, 3,333 +- 58 each
    per_step = d.train.images[:, :, 1].sum(axis=0)
    assert np.abs(per_step - 100_000 / 30).max() < 5 * 58
    assert abs(d.train.images[:, :, 0].mean() - 0.5) < 0.005


@pytest.mark.parametrize("length", [1, 15])
def test_copy_layout_and_symbols(length):
    """Inputs: 10 symbols in 1..8, T - 1 blanks, 11 markers (9); targets: T + 10 blanks, then the
    10 symbols; T + 20 steps, as the study's declaration counts them."""
    d = task_data(None, "copy", length, 3)
    steps = length + 20
    assert steps == study_tasks.TASKS["copy"].steps(length)
    assert d.shape == TaskShape(10, 10, "every", "xent", tokens=True)
    assert (d.name, d.fingerprint) == (GENERATED, GENERATED_FINGERPRINT)
    assert [len(getattr(d, p)) for p in SPLITS] == [10_000, 1_000, 1_000]
    for part in SPLITS:
        x, y = getattr(d, part).images, getattr(d, part).labels
        assert np.issubdtype(x.dtype, np.integer) and y.dtype == np.int64
        assert x.shape == y.shape == (len(y), steps)
        symbols = x[:, :10]
        assert symbols.min() == 1 and symbols.max() == 8
        assert (x[:, 10 : 10 + length - 1] == 0).all()
        assert (x[:, length + 9 :] == 9).all() and x.shape[1] - (length + 9) == 11
        assert (y[:, : length + 10] == 0).all()
        np.testing.assert_array_equal(y[:, length + 10 :], symbols)
    counts = np.bincount(d.train.images[:, :10].ravel(), minlength=9)[1:]  # 100,000 symbols
    assert np.abs(counts - 100_000 / 8).max() < 5 * 105  # binomial sd: sqrt(1e5 * 1/8 * 7/8)


@settings(max_examples=examples(10))
@given(
    task=st.sampled_from(["adding", "copy"]),
    length=st.integers(2, 6),
    seed=st.integers(0, 2**63 - 1),
    other=st.integers(0, 2**63 - 1),
)
def test_generated_tasks_are_deterministic_by_seed(task, length, seed, other):
    """The same seed gives the same bytes; another seed other data; each split its own."""
    a = task_data(None, task, length, seed)
    assert same(a, task_data(generated_data(), task, length, seed))  # data is ignored
    if other != seed:
        assert not same(a, task_data(None, task, length, other))
    heads = [getattr(a, p).images[:1000].tobytes() for p in SPLITS]
    assert len(set(heads)) == 3


def test_generated_data_is_a_placeholder_named_generated():
    d = generated_data()
    assert d.name == GENERATED == study_tasks.GENERATED
    assert d.fingerprint == hashlib.sha256(b"lstm-sweep generated tasks 1").hexdigest()
    assert d.fingerprint == GENERATED_FINGERPRINT


@pytest.mark.parametrize(
    "task, length, seed, needs",
    [
        ("adding", 1, 0, "length= must be an integer of at least 2"),
        ("adding", 0, 0, "at least 2"),
        ("copy", 0, 0, "at least 1"),
        ("copy", True, 0, "length="),
        ("chars", "100", 0, "chars reads a text"),
        ("adding", 10, -1, "task_seed"),
        ("copy", 10, 2**63, "task_seed"),
        ("adding", 10, 1.5, "task_seed"),
        ("adding", 10**6, 0, "GiB"),
        ("lines", 10, 0, "task must be one of rows, pixels"),
        (None, 10, 0, "task must be one of"),
        ("pixels", 0, 0, "reads images: pass a dataset"),
    ],
)
def test_what_does_not_fit_is_refused_in_one_line(task, length, seed, needs):
    with pytest.raises((ConfigError, DataError)) as e:
        task_data(None, task, length, seed)
    assert needs in one_line(e.value)


# --------------------------------------------------------------------------- images


def test_rows_is_the_data_itself_and_pixels_a_reshape(mnist):
    assert task_data(mnist, "rows", 0, 5) is mnist
    d = task_data(mnist, "pixels", 0, 5)
    assert (d.name, d.source, d.fingerprint) == (mnist.name, mnist.source, mnist.fingerprint)
    assert d.shape == TaskShape(1, 10, "last", "xent")
    for part in SPLITS:
        x, images = getattr(d, part).images, getattr(mnist, part).images
        assert x.shape == (len(images), 784, 1) and x.dtype == np.float32
        assert np.shares_memory(x, images)  # no copy
        np.testing.assert_array_equal(x[:, :, 0], images.reshape(len(images), 784))
        assert getattr(d, part).labels is getattr(mnist, part).labels


@settings(max_examples=examples(20))
@given(seed=st.integers(0, 2**63 - 1), other=st.integers(0, 2**63 - 1))
def test_the_permutation_is_default_rng_of_the_seed(seed, other):
    order = permutation(seed)
    np.testing.assert_array_equal(order, np.random.default_rng(seed).permutation(784))
    np.testing.assert_array_equal(np.sort(order), np.arange(784))
    if other != seed:
        assert not np.array_equal(order, permutation(other))


def test_permuted_reads_every_pixel_in_the_seeds_order(mnist):
    d = task_data(mnist, "permuted", 0, 7)
    order = np.random.default_rng(7).permutation(784)
    assert (d.name, d.fingerprint) == (mnist.name, mnist.fingerprint)
    assert d.shape == TaskShape(1, 10, "last", "xent")
    for part in SPLITS:
        x, images = getattr(d, part).images, getattr(mnist, part).images
        flat = images.reshape(len(images), 784)
        assert x.shape == (len(images), 784, 1)
        np.testing.assert_array_equal(x[:, :, 0], flat[:, order])  # step t reads pixel order[t]
        np.testing.assert_array_equal(np.sort(x[:100, :, 0], axis=1), np.sort(flat[:100], axis=1))
    other = task_data(mnist, "permuted", 0, 8)
    assert not np.array_equal(other.test.images, d.test.images)


def test_an_images_task_refuses_what_is_not_images(mnist, tmp_path):
    text = load_text(shakespeare_text())
    for data, needs in [
        (text, "is a text; a text is read by task chars"),
        (generated_data(), "reads 28x28 images"),
        (task_data(mnist, "pixels", 0, 0), "reads 28x28 images"),
    ]:
        with pytest.raises(DataError) as e:
            task_data(data, "permuted", 0, 0)
        assert needs in one_line(e.value)
    with pytest.raises(ConfigError) as e:
        task_data(mnist, "pixels", 100, 0)
    assert "784 steps of its own" in one_line(e.value)


# --------------------------------------------------------------------------- texts


@pytest.fixture(scope="module")
def tempest() -> Dataset:
    return load_text(shakespeare_text())


def test_a_text_is_split_90_5_5_and_numbered_by_its_sorted_characters(tempest):
    path = shakespeare_text()
    blob = path.read_bytes()
    text = blob.decode("utf-8")
    assert is_text(tempest) and tempest.source == str(path)
    vocab = text_vocabulary(tempest)
    assert list(vocab) == sorted(set(text)) and len(vocab) == 70
    assert tempest.shape == TaskShape(70, 70, "every", "xent", tokens=True)
    n = len(text)
    sizes = [len(getattr(tempest, p).images) for p in SPLITS]
    assert sizes == [n * 90 // 100, n * 5 // 100, n - n * 90 // 100 - n * 5 // 100]
    ids = np.concatenate([getattr(tempest, p).images for p in SPLITS])
    assert ids.dtype == np.uint8
    assert "".join(vocab[i] for i in ids) == text  # contiguous, in order, nothing lost
    digest = hashlib.sha256(blob + data_text.TEXT_SPLIT.encode()).hexdigest()
    assert tempest.fingerprint == digest and tempest.name == f"tempest_gut-{digest[:8]}"
    assert load_text(path, name="the tempest").name == "the tempest"


def test_chars_cuts_each_split_into_sequences_and_their_next_characters(tempest):
    d = task_data(tempest, "chars", 100, 9)
    assert (d.name, d.fingerprint, d.shape, d.vocab) == (
        tempest.name,
        tempest.fingerprint,
        tempest.shape,
        tempest.vocab,
    )
    for part in SPLITS:
        ids = getattr(tempest, part).images
        x, y = getattr(d, part).images, getattr(d, part).labels
        n = (len(ids) - 1) // 100
        assert x.shape == y.shape == (n, 100) and y.dtype == np.int64
        np.testing.assert_array_equal(x.ravel(), ids[: n * 100])
        np.testing.assert_array_equal(y.ravel(), ids[1 : n * 100 + 1])
    assert len(d.validation) == (4921 - 1) // 100


@settings(max_examples=examples(30))
@given(
    text=st.text(st.characters(codec="utf-8"), min_size=60, max_size=400),
    length=st.integers(1, 30),
)
def test_chars_targets_are_the_inputs_shifted_by_one(tmp_path, text, length):
    path = tmp_path / f"{uuid.uuid4().hex}.txt"
    path.write_bytes(text.encode("utf-8"))
    corpus = load_text(path)
    vocab = text_vocabulary(corpus)
    assert "".join(vocab[i] for p in SPLITS for i in getattr(corpus, p).images) == text
    shortest = min(len(getattr(corpus, p).images) for p in SPLITS)
    if shortest < length + 1:
        with pytest.raises(DataError) as e:
            task_data(corpus, "chars", length, 0)
        assert f"length={length}" in one_line(e.value)
        return
    d = task_data(corpus, "chars", length, 0)
    for part in SPLITS:
        x, y = getattr(d, part).images, getattr(d, part).labels
        assert (x[:, 1:] == y[:, :-1]).all()
        assert (x[1:, 0] == y[:-1, -1]).all()  # non-overlapping, back to back


def test_chars_refuses_images_and_a_split_too_short(mnist, tempest):
    for data in (mnist, None, generated_data()):
        with pytest.raises(DataError) as e:
            task_data(data, "chars", 100, 0)
        assert "task chars reads a text: pass text=" in one_line(e.value)
    with pytest.raises(DataError) as e:
        task_data(tempest, "chars", 5000, 0)
    message = one_line(e.value)
    assert "validation split holds 4,921 characters" in message and "length=5000" in message


def test_unicode_beyond_256_characters_is_read_as_uint16(tmp_path):
    chars = "".join(chr(c) for c in range(0x400, 0x400 + 300))  # 300 Cyrillic and beyond
    path = tmp_path / "wide.txt"
    path.write_text(chars * 2, encoding="utf-8")
    d = load_text(path)
    assert len(d.vocab) == 300 and d.train.images.dtype == np.uint16
    assert d.shape.n_input == 300


def test_load_text_refuses_hostile_files_in_one_line(tmp_path, monkeypatch):
    folder = tmp_path / "folder"
    folder.mkdir()
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)  # no writer: an open that waited would hang this test
    bad = tmp_path / "latin1.txt"
    bad.write_bytes(b"x" * 100 + "café".encode("latin-1") + b"y" * 100)
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    tiny = tmp_path / "tiny.txt"
    tiny.write_text("a" * 59)
    big = tmp_path / "big.txt"
    big.write_text("b" * 2000)
    cases = [
        (folder, "is a folder"),
        (fifo, "not a regular file"),
        (tmp_path / "missing.txt", "no such file"),
        (bad, "not UTF-8: byte offset 103"),
        (empty, "is empty"),
        (tiny, "holds 59 characters, too few"),
    ]
    monkeypatch.setattr(data_text, "MAX_TEXT_BYTES", 1000)
    cases.append((big, "larger than"))
    for path, needs in cases:
        with pytest.raises(DataError) as e:
            load_text(path)
        message = one_line(e.value)
        assert needs in message and str(path) in message, message
    (tmp_path / "sixty.txt").write_text("a" * 60)
    assert [len(getattr(load_text(tmp_path / "sixty.txt"), p)) for p in SPLITS] == [54, 3, 3]


def test_load_text_names(tmp_path):
    path = tmp_path / "my text (v2).txt"
    path.write_text("to be or not to be " * 10)
    assert re.fullmatch(r"my_text_v2-[0-9a-f]{8}", load_text(path).name)
    for name, error in [("mnist", DataError), ("MNIST", DataError), ("a\nb", ConfigError), ("", ConfigError)]:
        with pytest.raises(error) as e:
            load_text(path, name=name)
        one_line(e.value)
    with pytest.raises(ConfigError):
        load_text(None)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- a user's own task

GOOD = """
import numpy as np
from lstm_sweep.data import Task

class Parity(Task):
    n_input, n_output, length = 1, 2, 8
    readout, loss, metric, chance = "last", "xent", "accuracy", 0.5
{extra}
    def splits(self, seed):
        rng = np.random.default_rng(seed)
        def make(n):
            bits = rng.integers(0, 2, size=(n, self.length))
            return bits[:, :, None].astype(np.float32), bits.sum(axis=1) % 2
        return {{"train": make(64), "validation": make(16), "test": make(16)}}
"""


def write_task(folder: Path, extra: str = "", name: str = "parity_task.py") -> Path:
    path = folder / name
    path.write_text(GOOD.format(extra=textwrap.indent(extra, "    ")))
    return path


def test_a_module_task_on_sys_path(tmp_path, monkeypatch):
    package = f"usertasks_{uuid.uuid4().hex[:8]}"
    (tmp_path / package).mkdir()
    (tmp_path / package / "__init__.py").write_text("")
    write_task(tmp_path / package, 'version = "2024-1"\n', "parity.py")
    monkeypatch.syspath_prepend(str(tmp_path))
    task = load_user_task(f"{package}.parity:Parity")
    assert (task.task_id, task.metric, task.chance, task.length) == ("version:2024-1", "accuracy", 0.5, 8)
    assert task.shape == TaskShape(1, 2, "last", "xent")
    d = task_data(None, f"{package}.parity:Parity", 0, 4)
    assert (d.name, d.fingerprint, d.shape) == (GENERATED, GENERATED_FINGERPRINT, task.shape)
    assert d.train.images.shape == (64, 8, 1) and d.train.labels.dtype == np.int64
    assert same(d, task_data(None, task, 8, 4)) and not same(d, task_data(None, task, 8, 5))


def test_a_file_task_is_identified_by_its_checksum_or_its_version(tmp_path):
    path = write_task(tmp_path)
    spec = f"{path}:Parity"
    first = load_user_task(spec)
    assert first.task_id == "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    path.write_text(path.read_text() + "\n# an edit\n")
    second = load_user_task(spec)
    assert second.task_id != first.task_id and second.task_id.startswith("sha256:")
    path.write_text(path.read_text().replace("length = 1, 2, 8", "length = 1, 2, 9"))
    assert load_user_task(spec).length == 9  # the file is read afresh
    versioned = write_task(tmp_path, 'version = "1"\n', "versioned.py")
    assert load_user_task(f"{versioned}:Parity").task_id == "version:1"
    copy = pickle.loads(pickle.dumps(first))  # a worker imports it again, from the same file
    assert copy.spec == spec and copy.length == 9


def test_the_worked_example_loads_and_builds():
    task = load_user_task(f"{SPIKES}:Spikes")
    assert (task.task_id, task.metric, task.chance, task.length) == ("version:1", "accuracy", 0.2, 50)
    d = task_data(None, task, 0, 0)
    assert [len(getattr(d, p)) for p in SPLITS] == [20_000, 1_000, 1_000]
    x, y = d.train.images, d.train.labels
    assert x.shape == (20_000, 50, 1) and set(np.unique(y)) == {0, 1, 2, 3, 4}
    seen = (x[:, :, 0] > 0.5).sum(axis=1)  # a spike is 1 over noise of sd 0.1
    assert (seen == y).mean() > 0.999
    assert same(d, task_data(None, task, 50, 0))


ATTRIBUTES = [
    ("n_input = 0", "n_input must be an integer from 1"),
    ("n_input = '3'", "n_input must be an integer"),
    ("n_output = True", "n_output must be an integer"),
    ("length = -1", "length must be an integer"),
    ("readout = 'first'", "readout must be one of last, every"),
    ("loss = 'l1'", "loss must be one of xent, mse"),
    ("metric = 'f1'", "metric must be one of accuracy, xent, bpc, mse"),
    ("chance = 'high'", "chance must be a finite number"),
    ("chance = float('nan')", "chance must be a finite number"),
    ("tokens = 'yes'", "tokens must be True or False"),
    ("version = ''", "version must be None or 1 to 100"),
    ("version = 3", "version must be None"),
    ("loss, metric = 'mse', 'mse'", "loss mse predicts one number"),
    ("metric = 'mse'", "loss xent classifies"),
    ("n_output = 1", "loss xent classifies"),
]


@pytest.mark.parametrize("extra, needs", ATTRIBUTES, ids=[a for a, _ in ATTRIBUTES])
def test_each_wrong_attribute_is_refused_naming_it(tmp_path, extra, needs):
    path = write_task(tmp_path, extra + "\n")
    with pytest.raises(ConfigError) as e:
        load_user_task(f"{path}:Parity")
    message = one_line(e.value)
    assert needs in message and f"task {path}:Parity" in message, message


def test_a_missing_attribute_or_method_is_refused(tmp_path):
    path = tmp_path / "bare.py"
    path.write_text("class Bare:\n    n_output = 2\n    def splits(self, seed):\n        return {}\n")
    with pytest.raises(ConfigError) as e:
        load_user_task(f"{path}:Bare")
    assert "Bare declares no n_input" in one_line(e.value)
    path.write_text("class Bare:\n    n_input = n_output = length = 2\n    splits = None\n")
    with pytest.raises(ConfigError) as e:
        load_user_task(f"{path}:Bare")
    assert "Bare has no method splits(self, seed)" in one_line(e.value)


SPLITS_BAD = [
    ("return [1, 2]", "must return a dict with keys train, validation and test"),
    ("return {'train': make(4), 'test': make(4)}", "got ['test', 'train']"),
    ("return {p: make(0) for p in ('train', 'validation', 'test')}", "is empty"),
    ("return {p: (make(4)[0][:, :5], make(4)[1]) for p in ('train', 'validation', 'test')}", "(N, 8, "),
    ("return {p: (make(4)[0], make(4)[1] + 2) for p in ('train', 'validation', 'test')}", "outside 0..1"),
    ("return {p: (make(4)[0], make(4)[1][:3]) for p in ('train', 'validation', 'test')}", "shape (4,)"),
    ("return {p: (make(4)[0] * np.nan, make(4)[1]) for p in ('train', 'validation', 'test')}", "NaN"),
    ("return {p: make(4)[0] for p in ('train', 'validation', 'test')}", "must be a pair"),
    ("raise RuntimeError('no data\\ntoday')", "splits(0) failed (RuntimeError: no data today)"),
]


@pytest.mark.parametrize("body, needs", SPLITS_BAD)
def test_splits_that_do_not_fit_the_attributes_are_refused(tmp_path, body, needs):
    path = write_task(tmp_path)
    source = path.read_text().replace(
        '        return {"train": make(64), "validation": make(16), "test": make(16)}', "        " + body
    )
    path.write_text(source)
    with pytest.raises(DataError) as e:
        task_data(None, f"{path}:Parity", 0, 0)
    message = one_line(e.value)
    assert needs in message and f"task {path}:Parity" in message, message


def test_a_token_task_and_its_ids(tmp_path):
    path = tmp_path / "echo.py"
    path.write_text(
        textwrap.dedent(
            """
            import numpy as np

            class Echo:  # any class with the attributes will do
                n_input, n_output, length, readout, loss, metric = 4, 4, 6, "every", "xent", "xent"
                tokens = True

                def splits(self, seed):
                    ids = np.random.default_rng(seed).integers(0, self.n_input, size=(10, 6))
                    return {p: (ids, ids) for p in ("train", "validation", "test")}
            """
        )
    )
    d = task_data(None, f"{path}:Echo", 6, 1)
    assert d.shape == TaskShape(4, 4, "every", "xent", tokens=True)
    assert d.train.images.dtype == np.int64 and d.train.labels.shape == (10, 6)
    path.write_text(path.read_text().replace("size=(10, 6))", "size=(10, 6)) + 1"))
    with pytest.raises(DataError) as e:
        task_data(None, f"{path}:Echo", 6, 1)
    assert "ids outside 0..3 (n_input)" in one_line(e.value)
    with pytest.raises(ConfigError) as e:
        task_data(None, f"{path}:Echo", 7, 1)
    assert "has length 6" in one_line(e.value)


def test_import_errors_name_the_spec_in_one_line(tmp_path):
    broken = tmp_path / "broken.py"
    broken.write_text("def oops(:\n    pass\n")
    raises = tmp_path / "raises.py"
    raises.write_text("raise ImportError('needs\\nsomething')\n")
    function = tmp_path / "function.py"
    function.write_text("def Cls():\n    pass\n")
    cases = [
        ("no_such_module_xyz:Cls", "cannot import no_such_module_xyz (ModuleNotFoundError"),
        (f"{broken}:Cls", f"cannot import {broken} (SyntaxError"),
        (f"{raises}:Cls", "(ImportError: needs something)"),
        (f"{tmp_path / 'missing.py'}:Cls", "no file"),
        (f"{function}:Missing", "defines no Missing"),
        (f"{function}:Cls", "is a function, not a class"),
    ]
    for spec, needs in cases:
        with pytest.raises(DataError) as e:
            load_user_task(spec)
        message = one_line(e.value)
        assert needs in message and f"task {spec}:" in message, message
    for spec in ("no colon", "mod:not-a-class", 3):
        with pytest.raises(ConfigError) as e:
            load_user_task(spec)  # type: ignore[arg-type]
        one_line(e.value)


# --------------------------------------------------------------------------- the declaration


def test_the_data_layer_agrees_with_the_tasks_declaration(mnist):
    """Built-in tasks, metrics and the dataset name as study/tasks.py declares them, and each
    task's shape as its TaskInfo counts it (the plan's estimates read those)."""
    assert set(data_tasks.BUILTIN_TASKS) == set(study_tasks.TASKS)
    assert set(data_tasks.METRIC_NAMES) == set(study_tasks.METRICS)
    for name, info in study_tasks.TASKS.items():
        source = {"images": data_tasks.IMAGE_TASKS, "generated": data_tasks.GENERATED_TASKS}
        assert name in source.get(info.source, data_tasks.TEXT_TASKS)
    for name in ("pixels", "adding", "copy"):
        info = study_tasks.TASKS[name]
        length = info.default_length and 12
        d = task_data(mnist, name, length, 0)
        assert (d.shape.n_input, d.shape.n_output) == (info.n_input, info.n_output)
        assert (d.shape.readout == "every") == info.every_step
        assert d.train.images.shape[1] == info.steps(length)
    assert ROWS == TaskShape() and task_data(mnist, "rows", 0, 0).shape == ROWS


def test_data_for_task_makes_each_trials_data_once_and_never_mixes_tasks():
    from lstm_sweep.data import data_for_task, load_dataset

    images = load_dataset(os.environ["LSTM_SWEEP_DATA_DIR"])
    assert data_for_task(images, "rows", 0, 0) is images  # the homework's: the images as loaded
    pixels = data_for_task(images, "pixels", 0, 0)
    assert pixels.made_for == ("pixels", 0, 0) and pixels.shape.n_input == 1
    assert data_for_task(pixels, "pixels", 0, 0) is pixels  # made already: used as it is
    for other in (("permuted", 0, 0), ("permuted", 0, 1), ("rows", 0, 0)):
        with pytest.raises(ConfigError, match="data was made for task"):
            data_for_task(pixels, *other)  # would train a permuted trial on unpermuted pixels
    permuted = data_for_task(images, "permuted", 0, 1)
    assert permuted.made_for == ("permuted", 0, 1)
    adding = data_for_task(generated_data(), "adding", 50, 3)
    assert adding.made_for == ("adding", 50, 3) and adding.train.images.shape[1:] == (50, 2)
