"""Data: MNIST-layout datasets read, identified, found or downloaded, and split and batched
exactly as TF 1.x does. Imports nothing of lstm-sweep but its errors.

- :mod:`.idx`: reading IDX files;
- :mod:`.sources`: the known datasets (checksums, mirrors, cache), downloads, where data comes from;
- :mod:`.batches`: TF's split (:class:`Dataset`) and ``next_batch`` order (:class:`BatchStream`);
- :mod:`.loading`: a :class:`Dataset` from a folder or by name (:func:`load_dataset`);
- :mod:`.text`: a UTF-8 text as a corpus (:func:`load_text`);
- :mod:`.tasks`: each task's data (:func:`task_data`), tasks of the user's own (:class:`Task`,
  :func:`load_user_task`).
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
from .tasks import (
    GENERATED,
    GENERATED_FINGERPRINT,
    Task,
    UserTask,
    data_for_task,
    from_recipe,
    generated_data,
    load_user_task,
    permutation,
    recipe,
    task_data,
)
from .text import is_text, load_text, text_vocabulary

__all__ = [
    "DATASETS",
    "FILES",
    "GENERATED",
    "GENERATED_FINGERPRINT",
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
    "Task",
    "TaskShape",
    "UserTask",
    "cache_dir",
    "check_dataset_name",
    "dataset_spec",
    "default_mirrors",
    "download_dataset",
    "download_mnist",
    "generated_data",
    "is_text",
    "load_dataset",
    "load_dir",
    "load_mnist",
    "load_text",
    "load_user_task",
    "parse_idx",
    "permutation",
    "resolve_data_dir",
    "task_data",
    "data_for_task",
    "from_recipe",
    "recipe",
    "text_vocabulary",
]
