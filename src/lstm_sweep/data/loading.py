"""A dataset from a folder, or found (or downloaded) by name: the files read (:mod:`.idx`),
identified by their checksums (:mod:`.sources`), split the TF way (:mod:`.batches`)."""

from __future__ import annotations

import hashlib
import logging
import os
import re
from pathlib import Path

import numpy as np

from ..errors import DataError
from .batches import VALIDATION_SIZE, Dataset, Split, scale
from .idx import FILES, find_file, missing_files, parse_idx, read_bytes
from .sources import DATASETS, identify, resolve_data_dir

log = logging.getLogger(__name__)


def load_dir(directory: str | os.PathLike, validation_size: int = VALIDATION_SIZE,
             name: str | None = None) -> Dataset:
    """Read the four IDX files in ``directory`` and split them the TF way.

    The dataset is named after the known dataset whose checksums its files match; else ``name``
    if given (``--dataset-name``), else ``<folder>-<fingerprint>`` (the folder's name, and 8
    hex digits of the files' checksums, so that two folders of one name never mix in a store).

    Raises:
        DataError: a file is missing, unreadable or malformed (the message names it).
    """
    directory = Path(directory)
    missing = missing_files(directory)
    if missing:
        raise DataError(
            f"{directory}: missing {', '.join(missing)} (.gz or raw); point --data-dir at a folder "
            "holding the four MNIST-layout IDX files"
        )
    arrays, digests = {}, {}
    for key, file in FILES.items():
        path = find_file(directory, file)
        assert path is not None
        blob = read_bytes(path)
        digests[file] = hashlib.sha256(blob).hexdigest()
        arrays[key] = parse_idx(blob, kind=key.split("_")[1], source=str(path))
    for part in ("train", "test"):
        n_img, n_lab = len(arrays[f"{part}_images"]), len(arrays[f"{part}_labels"])
        if n_img != n_lab:
            raise DataError(
                f"{directory}: {part} has {n_img} images but {n_lab} labels; the files do not match"
            )
    if len(arrays["train_images"]) <= validation_size:
        raise DataError(
            f"{directory}: {len(arrays['train_images'])} training images, need more than "
            f"{validation_size} (the validation split)"
        )
    known = identify(directory, digests)
    if known is not None:
        if name is not None and name != known:
            log.warning("%s holds %s (its checksums match); --dataset-name %s is ignored",
                        directory, known, name)
        name = known
    elif name is None:
        fingerprint = hashlib.sha256(
            "".join(digests[n] for n in sorted(digests)).encode()
        ).hexdigest()[:8]
        folder = re.sub(r"[^A-Za-z0-9._-]+", "_", directory.resolve().name)[:60] or "data"
        name = f"{folder}-{fingerprint}"
        log.warning("%s: the files' checksums are not those of a known dataset (%s); using them "
                    "as dataset %s", directory, ", ".join(DATASETS), name)
    train_x, train_y = scale(arrays["train_images"]), arrays["train_labels"].astype(np.int64)
    return Dataset(
        name=name,
        source=str(directory),
        validation=Split(train_x[:validation_size], train_y[:validation_size]),
        train=Split(train_x[validation_size:], train_y[validation_size:]),
        test=Split(scale(arrays["test_images"]), arrays["test_labels"].astype(np.int64)),
    )



def load_dataset(data_dir: str | os.PathLike | None = None, *, dataset: str = "mnist",
                 dataset_name: str | None = None, **kwargs) -> Dataset:
    """Find (or download) and load a dataset (MNIST unless ``dataset`` names another known one):
    :func:`resolve_data_dir` then :func:`load_dir`. (``load_mnist`` is its first name.)

    Raises:
        DataError: a folder asked for as one dataset holds another known one.
    """
    data = load_dir(resolve_data_dir(data_dir, dataset=dataset, **kwargs), name=dataset_name)
    if data.name in DATASETS and data.name != dataset and data_dir is None:
        raise DataError(f"{data.source} holds {data.name}, not {dataset}; check "
                        "$LSTM_SWEEP_DATA_DIR / the cache")
    return data


load_mnist = load_dataset  # the name of 0.1.0, when MNIST was the only dataset
