"""A text as a dataset: any UTF-8 file is a corpus for the ``chars`` task (character-level
language modelling), read strictly, its characters numbered, split contiguously.

The split (version :data:`TEXT_SPLIT`): the first 90 % of the characters train, the next 5 %
validate, the last 5 % test (each part a contiguous run, so that no held-out sentence was seen
in training). Each :class:`~.batches.Split` holds the part's character ids (1-D, ``uint8`` for a
vocabulary of at most 256 characters, else ``uint16``) as both its images and its labels;
:func:`lstm_sweep.data.task_data` cuts them into sequences and their next characters.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import sys
from pathlib import Path

import numpy as np

from ..errors import ConfigError, DataError
from .batches import Dataset, Split, TaskShape
from .sources import check_dataset_name, known_name_like

MAX_TEXT_BYTES = 200 * 2**20  # 200 MiB: text8 is 100 MB; past this a corpus belongs elsewhere
MAX_VOCAB = 65_535  # characters a text may use (ids are uint16)
TEXT_SPLIT = "text split 1: contiguous 90/5/5"  # the split rule's version, in the fingerprint
TRAIN_PERCENT, VALIDATION_PERCENT = 90, 5  # the test split is the rest (5 %)
MIN_SPLIT_CHARS = 3  # one sequence of 2 characters and the character after it
_CHUNK = 2**24  # characters numbered at a time


def _read_text_bytes(path: Path) -> bytes:
    """The bytes of a regular file, at most :data:`MAX_TEXT_BYTES` of them.

    Opened without blocking (a FIFO never waits for a writer) and checked as opened (no race
    between a check and the open)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise DataError(f"text {path}: no such file; pass text= with the path of a UTF-8 file") from None
    except OSError as e:
        raise DataError(f"text {path}: cannot open it ({e.strerror or e}); pass a readable file") from e
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = "a folder" if stat.S_ISDIR(mode) else "not a regular file (a FIFO, socket or device)"
            raise DataError(f"text {path} is {kind}; pass text= with the path of a UTF-8 file")
        with os.fdopen(fd, "rb", closefd=False) as f:
            blob = f.read(MAX_TEXT_BYTES + 1)
    except OSError as e:
        raise DataError(f"text {path}: cannot read it ({e.strerror or e})") from e
    finally:
        os.close(fd)
    if len(blob) > MAX_TEXT_BYTES:
        raise DataError(
            f"text {path} is larger than {MAX_TEXT_BYTES // 2**20} MiB, the most a text may be; "
            "pass a smaller file (a part of it)"
        )
    return blob


def _decode(path: Path, blob: bytes) -> str:
    """``blob`` as UTF-8, strictly (no replacement characters, no guessing)."""
    if not blob:
        raise DataError(f"text {path} is empty; a corpus needs characters")
    try:
        return blob.decode("utf-8")
    except UnicodeDecodeError as e:
        raise DataError(
            f"text {path} is not UTF-8: byte offset {e.start:,} ({blob[e.start : e.start + 1]!r}) "
            f"starts no valid character ({e.reason}); convert it to UTF-8"
        ) from None


def _number(path: Path, text: str) -> tuple[np.ndarray, tuple[str, ...]]:
    """The text's character ids and its vocabulary (the sorted set of its characters: id i is
    the i-th smallest code point). In chunks, so that a 200 MiB text needs no 8 bytes per
    character at once."""

    def chunks():
        for start in range(0, len(text), _CHUNK):
            yield start, np.frombuffer(text[start : start + _CHUNK].encode("utf-32-le"), dtype="<u4")

    counts = np.zeros(sys.maxunicode + 1, np.int64)
    for _, codes in chunks():
        counts += np.bincount(codes, minlength=len(counts))
    used = np.flatnonzero(counts)  # sorted code points: O(n), no sort of the text
    if len(used) > MAX_VOCAB:
        raise DataError(
            f"text {path} uses {len(used):,} distinct characters; at most {MAX_VOCAB:,} (ids are 16-bit)"
        )
    dtype = np.uint8 if len(used) <= 256 else np.uint16
    table = np.zeros(int(used[-1]) + 1, dtype=dtype)
    table[used] = np.arange(len(used), dtype=dtype)
    ids = np.empty(len(text), dtype)
    for start, codes in chunks():
        ids[start : start + len(codes)] = table[codes]
    return ids, tuple(chr(int(c)) for c in used)


def split_sizes(n: int) -> tuple[int, int, int]:
    """Characters of the train, validation and test splits of a text of ``n`` characters:
    ``90 n // 100``, ``5 n // 100`` and the rest."""
    n_train = n * TRAIN_PERCENT // 100
    n_validation = n * VALIDATION_PERCENT // 100
    return n_train, n_validation, n - n_train - n_validation


def _text_name(path: Path, name: str | None, fingerprint: str) -> str:
    """``name`` when given (never a known dataset's: a text is not MNIST), else
    ``<file stem>-<8 hex digits of the fingerprint>``."""
    if name is None:
        stem = re.sub(r"[^A-Za-z0-9._-]+", "_", path.stem).strip("._-")[:60] or "text"
        return f"{stem}-{fingerprint[:8]}"
    check_dataset_name(name)
    known = known_name_like(name)
    if known is not None:
        raise DataError(
            f"dataset_name={name!r}: a text cannot be called {known} (a dataset of images); "
            "give it a name of its own"
        )
    return name


def load_text(path: str | os.PathLike, name: str | None = None) -> Dataset:
    """A UTF-8 text file as a corpus for the ``chars`` task.

    Its characters are numbered by the sorted set of characters it uses (its vocabulary, kept
    as the Dataset's ``vocab``) and split contiguously: 90 % train, 5 % validation, 5 % test.

    Args:
        path: a regular file of UTF-8 text, at most :data:`MAX_TEXT_BYTES` bytes.
        name: the dataset's name (checked as a dataset's name is); by default
            ``<file stem>-<8 hex digits of the fingerprint>``.

    Returns:
        A :class:`~.batches.Dataset` whose splits hold the character ids (1-D) as images and
        labels, with ``shape`` ``TaskShape(V, V, "every", "xent", tokens=True)`` for a
        vocabulary of V characters, ``vocab`` the characters, ``source`` the path, and
        ``fingerprint`` the SHA-256 of the file's bytes and :data:`TEXT_SPLIT`.

    Raises:
        ConfigError: ``path`` is not a path, or ``name`` breaks the rules of names.
        DataError: the path is missing, a folder, a FIFO or a device, or unreadable; the file is
            larger than 200 MiB, empty, not UTF-8 (naming the byte offset), uses more than
            65,535 characters, or is too short to give each split a sequence of 2 characters;
            ``name`` is a known dataset's ("mnist").
    """
    if isinstance(path, bool) or not isinstance(path, (str, os.PathLike)) or not str(path):
        raise ConfigError(f"text= must be the path of a UTF-8 file; got {path!r:.60}")
    if name is not None:
        check_dataset_name(name)
    path = Path(path)
    blob = _read_text_bytes(path)
    text = _decode(path, blob)
    ids, vocab = _number(path, text)
    sizes = split_sizes(len(ids))
    if min(sizes) < MIN_SPLIT_CHARS:
        need = -(-MIN_SPLIT_CHARS * 100 // VALIDATION_PERCENT)
        raise DataError(
            f"text {path} holds {len(ids):,} characters, too few: its 5 % validation and test "
            f"splits need {MIN_SPLIT_CHARS} characters each (one sequence of 2 and the next), so "
            f"the text needs at least {need}"
        )
    h = hashlib.sha256(blob)
    h.update(TEXT_SPLIT.encode())
    fingerprint = h.hexdigest()
    a, b = sizes[0], sizes[0] + sizes[1]
    parts = [ids[:a], ids[a:b], ids[b:]]
    return Dataset(
        name=_text_name(path, name, fingerprint),
        source=str(path),
        train=Split(parts[0], parts[0]),
        validation=Split(parts[1], parts[1]),
        test=Split(parts[2], parts[2]),
        fingerprint=fingerprint,
        shape=TaskShape(len(vocab), len(vocab), "every", "xent", tokens=True),
        vocab=vocab,
    )


def text_vocabulary(data: Dataset) -> tuple[str, ...]:
    """The characters of a text's ids, in id order (``vocab[i]`` is the character of id i); empty
    for a dataset that is not a text."""
    return data.vocab if isinstance(data, Dataset) else ()


def is_text(data: object) -> bool:
    """Whether ``data`` is a text read by :func:`load_text` (a Dataset with a vocabulary)."""
    return isinstance(data, Dataset) and bool(data.vocab)
