"""TF 1.x's split and batches, exactly.

Fidelity (docs/DESIGN.md): TF 1.x ``input_data.read_data_sets(validation_size=5000)`` makes
validation = the FIRST 5,000 training images (not shuffled), train = the other 55,000,
test = the 10,000 t10k images, pixels ``float32(uint8) * (1 / 255)``. ``DataSet.next_batch``
permutes at its first call and, when a batch crosses the end of an epoch, takes the rest,
reshuffles, and fills from the new epoch; :class:`BatchStream` does exactly that, seeded.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from ..errors import DataError
from .sources import check_dataset_name, known_name_like

VALIDATION_SIZE = 5000


@dataclass(frozen=True)
class TaskShape:
    """What a task's sequences look like to a model (:mod:`lstm_sweep.data.tasks`).

    Attributes:
        n_input: features one step reads (for tokens: the vocabulary, read one-hot).
        n_output: the readout's units: classes, or 1 for a regression.
        readout: ``"last"`` (one target per sequence, read from the last state) or
            ``"every"`` (a target at every step).
        loss: ``"xent"`` (softmax cross-entropy, integer targets) or ``"mse"`` (squared
            error, float targets; ``n_output`` 1).
        tokens: inputs are integer ids (N, T), one-hot encoded to ``n_input`` per batch;
            else float features (N, T, n_input).
    """

    n_input: int = 28
    n_output: int = 10
    readout: str = "last"
    loss: str = "xent"
    tokens: bool = False


ROWS = TaskShape()  # the homework's: 28 rows of 28 pixels, ten classes at the last step


@dataclass(frozen=True)
class Split:
    """One part of the dataset: inputs and targets. For images read by rows, images (N, 28, 28)
    float32 in [0, 1] and labels (N,) int64; for other tasks, as their :class:`TaskShape` says:
    inputs (N, T, I) float32 or (N, T) integer ids, targets (N,) or (N, T)."""

    images: np.ndarray
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)


@dataclass(frozen=True)
class Dataset:
    """The TF split of an MNIST-layout dataset, plus its identity.

    ``name`` is the known dataset whose checksums all four files match (``"mnist"``, ...),
    else ``--dataset-name`` or ``<folder>-<8 hex digits of the fingerprint>``. ``fingerprint``
    is what the data is: SHA-256 over the four files' SHA-256 digests (decompressed, in file
    name order) as :func:`~lstm_sweep.data.load_dir` computes it; a store binds each dataset
    name to one fingerprint, so results of different data never mix under one name. A Dataset
    built by hand without one gets the SHA-256 of its arrays. ``shape`` says how a model reads
    its splits (:class:`TaskShape`; images by rows unless a task says otherwise), and ``vocab``
    holds a text's characters in id order (:func:`~lstm_sweep.data.load_text`; empty for
    anything but a text).

    Raises:
        ConfigError: ``name`` breaks the rules of names (:func:`.sources.check_dataset_name`).
        DataError: a split is empty or its images and labels differ in number (accuracy would
            divide by zero), or a hand-built Dataset takes a known dataset's name, as written
            or only looking like it ("MNIST"): that name is a claim only its files can back (use
            load_dataset).
    """

    name: str
    source: str
    train: Split
    validation: Split
    test: Split
    fingerprint: str = ""
    shape: TaskShape = ROWS
    vocab: tuple[str, ...] = ()
    # what :func:`~lstm_sweep.data.tasks.task_data` made it for: (task, length, task seed);
    # () for data as loaded (images, a text, the generated placeholder)
    made_for: tuple = ()

    def __post_init__(self) -> None:
        check_dataset_name(self.name, "dataset name")
        if not isinstance(self.fingerprint, str):
            raise DataError(
                f"dataset {self.name!r:.60}: fingerprint must be a hex string, got "
                f"{type(self.fingerprint).__name__}"
            )
        for part in ("train", "validation", "test"):
            split = getattr(self, part)
            if not isinstance(split, Split):
                raise DataError(
                    f"dataset {self.name!r:.60}: {part} must be a Split, got {type(split).__name__}"
                )
            if len(split.images) != len(split.labels):
                raise DataError(
                    f"dataset {self.name!r:.60}: {part} has {len(split.images)} images "
                    f"but {len(split.labels)} labels"
                )
            if len(split) == 0:
                raise DataError(
                    f"dataset {self.name!r:.60} ({self.source}): its {part} split is "
                    "empty; it needs at least one image"
                )
        if not self.fingerprint:
            known = known_name_like(self.name)
            if known is not None:
                raise DataError(
                    f"a Dataset named {self.name!r} must be loaded from its files "
                    f"(load_dataset(dataset={known!r})), so that its checksums "
                    "back the name; give data of your own another name"
                )
            # frozen: set once, here, from the arrays themselves
            object.__setattr__(
                self, "fingerprint", arrays_fingerprint(self.train, self.validation, self.test)
            )


def arrays_fingerprint(*splits: Split) -> str:
    """SHA-256 of the splits' images and labels (shapes, types and bytes): the identity of data
    that was not read from files."""
    h = hashlib.sha256()
    for split in splits:
        for array in (np.ascontiguousarray(split.images), np.ascontiguousarray(split.labels)):
            h.update(f"{array.dtype.str}{array.shape}".encode())
            h.update(array.tobytes())
    return h.hexdigest()


def scale(images_u8: np.ndarray) -> np.ndarray:
    # TF: images.astype(float32); numpy.multiply(images, 1.0 / 255.0) -> float32 result.
    return images_u8.astype(np.float32) * np.float32(1.0 / 255.0)


# --------------------------------------------------------------------------- batching


class BatchStream:
    """TF 1.x ``DataSet.next_batch(batch_size)`` with ``shuffle=True``, as index arrays.

    Reproduces the order exactly as TF forms it from its permutations: a permutation at the
    first call; when ``start + batch > N`` the rest of the epoch ``[start:N]``, a reshuffle, then
    the first ``batch - rest`` of the new order. A batch ending exactly at ``N`` does not
    reshuffle until the next call (then the "rest" is empty), as in TF.
    """

    def __init__(self, n: int, batch_size: int, seed: int):
        if batch_size > n:
            raise DataError(f"batch size {batch_size} exceeds the {n} training examples")
        self.n, self.batch_size = n, batch_size
        self.rng = np.random.default_rng(seed)
        self.order: np.ndarray | None = None
        self.index_in_epoch = 0
        self.epochs_completed = 0

    def _reshuffle(self) -> None:
        perm = np.arange(self.n)
        self.rng.shuffle(perm)
        # TF permutes its current (already shuffled) arrays: compose, do not replace.
        self.order = perm if self.order is None else self.order[perm]

    def next_indices(self) -> np.ndarray:
        start = self.index_in_epoch
        if self.epochs_completed == 0 and start == 0 and self.order is None:
            self._reshuffle()
        assert self.order is not None
        if start + self.batch_size > self.n:
            self.epochs_completed += 1
            rest = self.order[start : self.n]
            self._reshuffle()
            self.index_in_epoch = self.batch_size - len(rest)
            return np.concatenate([rest, self.order[: self.index_in_epoch]])
        self.index_in_epoch = start + self.batch_size
        return self.order[start : self.index_in_epoch]
