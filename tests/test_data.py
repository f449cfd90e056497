"""IDX reading, the TF split, dataset identity, and TF next_batch order."""

from __future__ import annotations

import gzip
import logging
import re
import shutil
import struct

import numpy as np
import pytest

from lstm_sweep.data import (
    FILES,
    BatchStream,
    load_dir,
    parse_idx,
    resolve_data_dir,
)
from lstm_sweep.errors import DataError


def idx_bytes(arr: np.ndarray, magic: int | None = None) -> bytes:
    magic = magic if magic is not None else (0x803 if arr.ndim == 3 else 0x801)
    return struct.pack(f">I{arr.ndim}I", magic, *arr.shape) + arr.astype(np.uint8).tobytes()


def write_tiny_dataset(folder, n_train=5010, n_test=7, gz=True, labels=None):
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {
        "train_images": rng.integers(0, 256, (n_train, 28, 28)),
        "train_labels": labels if labels is not None else rng.integers(0, 10, n_train),
        "test_images": rng.integers(0, 256, (n_test, 28, 28)),
        "test_labels": rng.integers(0, 10, n_test),
    }
    for key, name in FILES.items():
        blob = idx_bytes(np.asarray(arrays[key]))
        if gz:
            (folder / f"{name}.gz").write_bytes(gzip.compress(blob))
        else:
            (folder / name).write_bytes(blob)
    return arrays


# ------------------------------------------------------------------ the IDX reader


def test_parse_idx_reads_images_and_labels():
    images = np.arange(2 * 28 * 28, dtype=np.uint64).reshape(2, 28, 28) % 256
    out = parse_idx(idx_bytes(images), kind="images")
    assert out.dtype == np.uint8 and out.shape == (2, 28, 28)
    np.testing.assert_array_equal(out, images)
    labels = parse_idx(idx_bytes(np.array([0, 9, 3])), kind="labels")
    np.testing.assert_array_equal(labels, [0, 9, 3])


@pytest.mark.parametrize(
    "blob, kind, message",
    [
        (idx_bytes(np.zeros((3, 28, 28)))[:-5], "images", "truncated"),
        (idx_bytes(np.zeros((3, 28, 28)))[:10], "images", "truncated IDX header"),
        (idx_bytes(np.zeros((3, 28, 28))) + b"xx", "images", "trailing bytes"),
        (idx_bytes(np.zeros((3, 28, 28)), magic=0x801), "images", "wrong magic number"),
        (idx_bytes(np.zeros(3), magic=0x803), "labels", "wrong magic number"),
        (idx_bytes(np.zeros((3, 28, 27))), "images", "expected 28x28"),
        (idx_bytes(np.array([1, 10, 2])), "labels", "label 10 out of range"),
    ],
)
def test_parse_idx_rejects_bad_files_naming_them(blob, kind, message):
    with pytest.raises(DataError, match=message) as e:
        parse_idx(blob, kind=kind, source="/data/some-file")
    assert "/data/some-file" in str(e.value)


def test_load_dir_reads_raw_and_gzip_and_splits_first_5000_as_validation(tmp_path):
    raw = write_tiny_dataset(tmp_path / "raw", gz=False)
    write_tiny_dataset(tmp_path / "gz", gz=True)
    for folder in ("raw", "gz"):
        ds = load_dir(tmp_path / folder)
        assert (len(ds.train), len(ds.validation), len(ds.test)) == (10, 5000, 7)
        np.testing.assert_array_equal(ds.validation.labels, raw["train_labels"][:5000])
        np.testing.assert_array_equal(ds.train.labels, raw["train_labels"][5000:])
        np.testing.assert_allclose(ds.train.images, raw["train_images"][5000:] / 255, atol=1e-7)


def test_broken_gzip_is_an_error_naming_the_file(tmp_path):
    write_tiny_dataset(tmp_path)
    target = tmp_path / "train-labels-idx1-ubyte.gz"
    target.write_bytes(target.read_bytes()[:-20])  # cut the gzip stream
    with pytest.raises(DataError, match="train-labels-idx1-ubyte.gz"):
        load_dir(tmp_path)


def test_image_and_label_counts_must_match(tmp_path):
    write_tiny_dataset(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(np.array([1, 2, 3]))))
    with pytest.raises(DataError, match="test has 7 images but 3 labels"):
        load_dir(tmp_path)


def test_label_out_of_range_in_a_real_layout_folder(tmp_path):
    labels = np.zeros(5010, dtype=np.int64)
    labels[17] = 11
    write_tiny_dataset(tmp_path, labels=labels)
    with pytest.raises(DataError, match="train-labels-idx1-ubyte.gz: label 11"):
        load_dir(tmp_path)


def test_an_empty_test_set_is_refused_naming_the_file_and_the_count(tmp_path):
    write_tiny_dataset(tmp_path, n_test=0)
    with pytest.raises(DataError, match=r"t10k-images-idx3-ubyte: 0 test images"):
        load_dir(tmp_path)


def test_missing_files_are_listed(tmp_path):
    write_tiny_dataset(tmp_path)
    (tmp_path / "t10k-images-idx3-ubyte.gz").unlink()
    with pytest.raises(DataError, match="missing t10k-images-idx3-ubyte"):
        load_dir(tmp_path)


# ------------------------------------------------------------------ the real files


def test_real_mnist_split_and_pixels(mnist, mnist_dir):
    assert mnist.name == "mnist"
    assert (len(mnist.train), len(mnist.validation), len(mnist.test)) == (55000, 5000, 10000)
    for split in (mnist.train, mnist.validation, mnist.test):
        assert split.images.dtype == np.float32 and split.images.shape[1:] == (28, 28)
        assert split.images.min() == 0.0 and split.images.max() == 1.0
        assert set(np.unique(split.labels)) == set(range(10))
    # validation = the FIRST 5,000 training images, in file order (TF read_data_sets)
    raw = parse_idx(gzip.decompress((mnist_dir / "train-labels-idx1-ubyte.gz").read_bytes()), kind="labels")
    np.testing.assert_array_equal(mnist.validation.labels, raw[:5000])
    np.testing.assert_array_equal(mnist.train.labels, raw[5000:])
    assert mnist.train.labels[:5].tolist() == raw[5000:5005].tolist()
    # pixels are float32(uint8) * float32(1/255), bit for bit as TF computes them
    raw_images = parse_idx(
        gzip.decompress((mnist_dir / "train-images-idx3-ubyte.gz").read_bytes()), kind="images"
    )
    expected = raw_images[5000:5010].astype(np.float32) * np.float32(1.0 / 255.0)
    assert np.array_equal(mnist.train.images[:10], expected)


def test_other_idx_data_gets_its_own_identity_with_a_notice(mnist_dir, tmp_path, caplog):
    for name in FILES.values():
        shutil.copy(mnist_dir / f"{name}.gz", tmp_path / f"{name}.gz")
    labels = parse_idx(
        gzip.decompress((tmp_path / "t10k-labels-idx1-ubyte.gz").read_bytes()), kind="labels"
    ).copy()
    labels[0] = (labels[0] + 1) % 10  # a different dataset in the same layout
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(labels)))
    with caplog.at_level(logging.WARNING, logger="lstm_sweep.data"):
        ds = load_dir(tmp_path)
    # named by its folder (and 8 hex digits of its checksums: two folders of one name never mix)
    assert re.fullmatch(re.escape(tmp_path.name) + "-[0-9a-f]{8}", ds.name)
    assert "not those of a known dataset" in caplog.text and ds.name in caplog.text
    assert load_dir(tmp_path, name="mnist-flipped").name == "mnist-flipped"  # --dataset-name


def test_explicit_data_dir_without_files_is_an_error_not_a_fallback(isolated_env, monkeypatch):
    empty = isolated_env / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match="missing train-images-idx3-ubyte"):
        resolve_data_dir(empty)
    monkeypatch.setenv("LSTM_SWEEP_DATA_DIR", str(isolated_env / "nowhere"))
    with pytest.raises(DataError, match="does not exist"):
        resolve_data_dir()


def test_env_var_is_used_when_no_flag(isolated_env, monkeypatch, mnist_dir):
    monkeypatch.setenv("LSTM_SWEEP_DATA_DIR", str(mnist_dir))
    assert resolve_data_dir() == mnist_dir


# ------------------------------------------------------------------ TF next_batch


class TFDataSet:
    """TF 1.x mnist DataSet.next_batch (shuffle=True), copied in structure, on real arrays."""

    def __init__(self, images, rng):
        self._images = images
        self._num_examples = len(images)
        self._index_in_epoch = 0
        self._epochs_completed = 0
        self.rng = rng

    def next_batch(self, batch_size):
        start = self._index_in_epoch
        if self._epochs_completed == 0 and start == 0:
            perm0 = np.arange(self._num_examples)
            self.rng.shuffle(perm0)
            self._images = self._images[perm0]
        if start + batch_size > self._num_examples:
            self._epochs_completed += 1
            rest_num_examples = self._num_examples - start
            images_rest_part = self._images[start : self._num_examples]
            perm = np.arange(self._num_examples)
            self.rng.shuffle(perm)
            self._images = self._images[perm]
            start = 0
            self._index_in_epoch = batch_size - rest_num_examples
            end = self._index_in_epoch
            images_new_part = self._images[start:end]
            return np.concatenate((images_rest_part, images_new_part), axis=0)
        self._index_in_epoch += batch_size
        end = self._index_in_epoch
        return self._images[start:end]


@pytest.mark.parametrize("n, batch", [(10, 3), (10, 5), (7, 7), (11, 4)])
def test_batch_stream_matches_tf_next_batch(n, batch):
    tf = TFDataSet(np.arange(n) * 10, np.random.default_rng(123))
    ours = BatchStream(n, batch, seed=123)
    for _ in range(25):
        np.testing.assert_array_equal(tf.next_batch(batch), ours.next_indices() * 10)


def test_batch_stream_epoch_crossing():
    stream = BatchStream(10, 4, seed=0)
    batches = [stream.next_indices() for _ in range(3)]  # 4 + 4 + (2 rest, 2 new)
    first_epoch = np.concatenate(batches[:2] + [batches[2][:2]])
    assert sorted(first_epoch.tolist()) == list(range(10))  # every example once per epoch
    assert stream.epochs_completed == 1 and stream.index_in_epoch == 2
    assert len(batches[2]) == 4
    # the next epoch is a fresh permutation: its first 2 + the following 8 cover all 10 again
    rest = np.concatenate([batches[2][2:], stream.next_indices(), stream.next_indices()])
    assert sorted(rest.tolist()) == list(range(10))
    # the same seed gives the same stream, another seed another
    again = BatchStream(10, 4, seed=0)
    assert [again.next_indices().tolist() for _ in range(3)] == [b.tolist() for b in batches]
    other = BatchStream(10, 4, seed=1)
    assert [other.next_indices().tolist() for _ in range(3)] != [b.tolist() for b in batches]


def test_batch_of_100_covers_55000_in_exactly_550_batches():
    stream = BatchStream(55000, 100, seed=0)
    seen = np.concatenate([stream.next_indices() for _ in range(550)])
    assert len(np.unique(seen)) == 55000 and stream.epochs_completed == 0
    stream.next_indices()
    assert stream.epochs_completed == 1
