"""Data: MNIST-layout datasets read, identified, found or downloaded, and split and batched
exactly as TF 1.x does. Imports nothing of lstm-sweep but its errors.

- :mod:`.idx`: reading IDX files;
- :mod:`.sources`: the known datasets (checksums, mirrors, cache), downloads, where data comes from;
- :mod:`.batches`: TF's split (:class:`Dataset`) and ``next_batch`` order (:class:`BatchStream`);
- :mod:`.loading`: a :class:`Dataset` from a folder or by name (:func:`load_dataset`).
"""

from .batches import ROWS, VALIDATION_SIZE, BatchStream, Dataset, Split, TaskShape
from .idx import FILES, IMAGE_SHAPE, N_CLASSES, parse_idx
from .loading import load_dataset, load_dir, load_mnist
from .sources import (
    DATASETS,
    MNIST_MIRRORS,
    MNIST_SHA256,
    DatasetSpec,
    cache_dir,
    check_dataset_name,
    dataset_spec,
    default_mirrors,
    download_dataset,
    download_mnist,
    resolve_data_dir,
)

__all__ = [
    "DATASETS",
    "FILES",
    "IMAGE_SHAPE",
    "MNIST_MIRRORS",
    "MNIST_SHA256",
    "N_CLASSES",
    "ROWS",
    "VALIDATION_SIZE",
    "BatchStream",
    "Dataset",
    "DatasetSpec",
    "Split",
    "TaskShape",
    "cache_dir",
    "check_dataset_name",
    "dataset_spec",
    "default_mirrors",
    "download_dataset",
    "download_mnist",
    "load_dataset",
    "load_dir",
    "load_mnist",
    "parse_idx",
    "resolve_data_dir",
]
