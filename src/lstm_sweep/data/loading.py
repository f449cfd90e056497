"""A dataset from a folder, or found (or downloaded) by name: the files read (:mod:`.idx`),
identified by their checksums (:mod:`.sources`), split the TF way (:mod:`.batches`).

A dataset's name is a claim about its data: a known name (``mnist``, ``fashion-mnist``,
``kmnist``) is given only to files that match that dataset's checksums, and every Dataset
carries the fingerprint of its files, which a store binds to its name."""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import ConfigError, DataError
from .batches import VALIDATION_SIZE, Dataset, Split, scale
from .idx import FILES, find_file, missing_files, parse_idx, read_bytes
from .sources import (
    DATASETS,
    ProgressFn,
    check_dataset_name,
    check_folder_argument,
    identify,
    known_name_like,
    resolve_data_dir,
)

log = logging.getLogger(__name__)


def files_fingerprint(digests: dict[str, str], validation_size: int = VALIDATION_SIZE) -> str:
    """SHA-256 over the four files' SHA-256 digests (``digests``: file name -> hex digest of the
    decompressed file), in file name order; another validation split is other data, so its size
    enters the fingerprint when it is not TF's 5,000."""
    text = "".join(digests[n] for n in sorted(digests))
    if validation_size != VALIDATION_SIZE:
        text += f"validation={validation_size}"
    return hashlib.sha256(text.encode()).hexdigest()


def _check_counts(directory: Path, arrays: dict[str, np.ndarray], validation_size: int) -> None:
    """Refuse files whose counts cannot make a TF split that trains and measures accuracy."""
    for part in ("train", "test"):
        n_img, n_lab = len(arrays[f"{part}_images"]), len(arrays[f"{part}_labels"])
        if n_img != n_lab:
            raise DataError(
                f"{directory}: {part} has {n_img} images but {n_lab} labels; the files do not match"
            )
    n_test = len(arrays["test_labels"])
    if n_test == 0:  # test accuracy divides by it
        raise DataError(
            f"{directory / FILES['test_images']}: 0 test images (and "
            f"{FILES['test_labels']}: 0 labels); the test set needs at least one"
        )
    n_train = len(arrays["train_labels"])
    if n_train <= validation_size:
        raise DataError(
            f"{directory / FILES['train_images']}: {n_train:,} training images, need more than "
            f"{validation_size:,} (the first {validation_size:,} are the validation split)"
        )


def _name_of(directory: Path, given: str | None, known: str | None, fingerprint: str) -> str:
    """The name the data goes by: the known dataset its checksums match; else ``given``; else
    ``<folder>-<8 hex digits of the fingerprint>``. A name written as a known dataset's
    ("mnist", "MNIST") is refused for any other data: it would claim to be that dataset."""
    if given is not None:
        claimed = known_name_like(given)
        if claimed is not None and claimed != known:
            holds = f"holds {known}" if known else "does not match any known dataset"
            raise DataError(
                f"dataset_name={given!r}: {directory} is not {claimed}: its files' checksums "
                f"are not {claimed}'s (it {holds}); pass dataset_name= with a name of its own"
            )
    if known is not None:
        if given is not None and given != known:
            log.warning(
                "%s holds %s (its checksums match); dataset_name=%s is ignored", directory, known, given
            )
        return known
    if given is not None:
        return given
    folder = re.sub(r"[^A-Za-z0-9._-]+", "_", directory.resolve().name)[:60] or "data"
    name = f"{folder}-{fingerprint[:8]}"
    log.warning(
        "%s: the files' checksums are not those of a known dataset (%s); using them as dataset %s",
        directory,
        ", ".join(DATASETS),
        name,
    )
    return name


def load_dir(
    directory: str | os.PathLike, validation_size: int = VALIDATION_SIZE, name: str | None = None
) -> Dataset:
    """Read the four IDX files in ``directory`` and split them the TF way.

    The dataset is named after the known dataset whose checksums its files match; else ``name``
    if given (``--dataset-name``), else ``<folder>-<fingerprint>`` (the folder's name, and 8
    hex digits of the files' checksums, so that two folders of one name never mix in a store).
    A known dataset loaded with another ``validation_size`` is not that dataset (its training
    set differs): it is named as other data is.

    Raises:
        ConfigError: ``directory`` is not a path, ``validation_size`` not a positive integer, or
            ``name`` breaks the rules of names (:func:`~lstm_sweep.data.sources.check_dataset_name`).
        DataError: a file is missing, unreadable or malformed, the test set is empty or the
            training set no larger than the validation split (the message names the file and
            the count), or ``name`` is a known dataset's and the files are not that dataset.
    """
    if directory is None:
        raise ConfigError("directory must be the folder of the four IDX files; got None")
    check_folder_argument(directory, "directory")
    if isinstance(validation_size, bool) or not isinstance(validation_size, int) or validation_size < 1:
        raise ConfigError(
            f"validation_size must be a positive integer (validation accuracy "
            f"divides by it); got {validation_size!r:.60}"
        )
    if name is not None:
        check_dataset_name(name)
    directory = Path(directory)
    missing = missing_files(directory)
    if missing:
        raise DataError(
            f"{directory}: missing {', '.join(missing)} (.gz or raw); point data_dir= at a folder "
            "holding the four MNIST-layout IDX files"
        )
    arrays, digests = {}, {}
    for key, file in FILES.items():
        path = find_file(directory, file)
        assert path is not None
        blob = read_bytes(path)
        digests[file] = hashlib.sha256(blob).hexdigest()
        arrays[key] = parse_idx(blob, kind=key.split("_")[1], source=str(path))
    _check_counts(directory, arrays, validation_size)
    fingerprint = files_fingerprint(digests, validation_size)
    known = identify(directory, digests) if validation_size == VALIDATION_SIZE else None
    train_x, train_y = scale(arrays["train_images"]), arrays["train_labels"].astype(np.int64)
    return Dataset(
        name=_name_of(directory, name, known, fingerprint),
        source=str(directory),
        validation=Split(train_x[:validation_size], train_y[:validation_size]),
        train=Split(train_x[validation_size:], train_y[validation_size:]),
        test=Split(scale(arrays["test_images"]), arrays["test_labels"].astype(np.int64)),
        fingerprint=fingerprint,
    )


def load_dataset(
    data_dir: str | os.PathLike | None = None,
    *,
    dataset: str = "mnist",
    dataset_name: str | None = None,
    mirrors: Sequence[str] | None = None,
    progress: ProgressFn | None = None,
) -> Dataset:
    """Find (or download) and load a dataset (MNIST unless ``dataset`` names another known one):
    :func:`resolve_data_dir` then :func:`load_dir`. (``load_mnist`` is its first name.)

    With ``data_dir``, the folder's checksums say what it holds; a ``dataset`` other than
    MNIST (the default, which with a folder means "whatever it holds": other data is named by
    its folder and checksums, never as MNIST) must be what the folder holds. ``dataset_name``
    names a folder's data of its own (a known dataset's files keep their name).

    Raises:
        ConfigError: an argument of the wrong kind, or a ``dataset_name`` that breaks the
            rules of names.
        DataError: unknown ``dataset``; a folder asked for as one dataset holds another (or
            data of no known dataset); ``dataset_name`` is a known dataset's and the data is not
            it; or any error of :func:`resolve_data_dir` and :func:`load_dir`.
    """
    if dataset_name is not None:
        check_dataset_name(dataset_name)  # before any download
    data = load_dir(
        resolve_data_dir(data_dir, dataset=dataset, mirrors=mirrors, progress=progress), name=dataset_name
    )
    if data.name in DATASETS and data.name != dataset and data_dir is None:
        raise DataError(
            f"{data.source} holds {data.name}, not {dataset}; check $LSTM_SWEEP_DATA_DIR / the cache"
        )
    if data_dir is not None and dataset != "mnist" and data.name != dataset:
        holds = data.name if data.name in DATASETS else "data of no known dataset"
        raise DataError(
            f"dataset={dataset}: {data.source} holds {holds}, not {dataset} (its "
            f"files' checksums are not {dataset}'s); pass data_dir= with {dataset}'s "
            f"folder, or drop dataset={dataset}"
        )
    return data


load_mnist = load_dataset  # the name of 0.1.0, when MNIST was the only dataset
