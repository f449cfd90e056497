"""Reading MNIST-layout IDX files: the four files of a dataset folder (``.gz`` or raw), each
decompressed within a size bound and checked (magic number, dimensions, payload, labels)."""

from __future__ import annotations

import gzip
import os
import stat
import struct
import zlib
from pathlib import Path

import numpy as np

from ..errors import DataError

FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

MAX_IDX_BYTES = 2**31  # any IDX file of a --data-dir (MNIST's largest is 47 MB)
# The MNIST layout: 28 x 28 images (read by the LSTM as 28 rows of 28 pixels), labels 0..9.
IMAGE_SHAPE = (28, 28)
N_CLASSES = 10
_IMAGE_MAGIC = 0x00000803  # unsigned byte, 3 dimensions
_LABEL_MAGIC = 0x00000801  # unsigned byte, 1 dimension


def read_bytes(path: Path, limit: int = MAX_IDX_BYTES, name: str | None = None) -> bytes:
    """The decompressed bytes of ``path`` (gzip, recognised by its magic bytes, or raw), at most
    ``limit`` of them. ``name``: what error messages call the file (default: its path)."""
    name = name or str(path)
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise DataError(f"{name}: not a regular file (a FIFO, socket or device)")
        with open(path, "rb") as f:
            gzipped = f.read(2) == b"\x1f\x8b"
        opener = gzip.open if gzipped else open
        with opener(path, "rb") as f:
            blob = f.read(limit + 1)
    except (OSError, EOFError, zlib.error) as e:
        raise DataError(f"{name}: cannot read ({e}); delete or replace the file") from e
    if len(blob) > limit:
        raise DataError(
            f"{name}: holds more than {limit:,} bytes{' decompressed' if gzipped else ''}"
            ", more than an IDX file of this kind can; delete or replace the file"
        )
    return blob


def parse_idx(blob: bytes, *, kind: str, source: str = "<bytes>") -> np.ndarray:
    """Parse IDX bytes into a uint8 array, validating magic number, dims and payload size.

    Args:
        blob: the decompressed file content.
        kind: ``"images"`` (expects N x 28 x 28) or ``"labels"`` (expects N values in 0..9).
        source: a name for error messages (the file path).

    Raises:
        DataError: naming ``source`` and what is wrong.
    """
    magic_expected, ndim = (_IMAGE_MAGIC, 3) if kind == "images" else (_LABEL_MAGIC, 1)
    header = 4 + 4 * ndim
    if len(blob) < header:
        raise DataError(f"{source}: truncated IDX header ({len(blob)} bytes)")
    (magic,) = struct.unpack(">I", blob[:4])
    if magic != magic_expected:
        raise DataError(
            f"{source}: wrong magic number 0x{magic:08x} for {kind} (expected 0x{magic_expected:08x})"
        )
    dims = struct.unpack(f">{ndim}I", blob[4:header])
    if kind == "images" and dims[1:] != IMAGE_SHAPE:
        raise DataError(
            f"{source}: images are {dims[1]}x{dims[2]}, expected {IMAGE_SHAPE[0]}x{IMAGE_SHAPE[1]}"
        )
    size = int(np.prod(dims))
    payload = len(blob) - header
    if payload != size:
        what = "truncated" if payload < size else "has trailing bytes"
        raise DataError(
            f"{source}: {what}: header says {' x '.join(map(str, dims))} = {size} bytes, file holds {payload}"
        )
    arr = np.frombuffer(blob, dtype=np.uint8, offset=header).reshape(dims)
    if kind == "labels" and arr.size and int(arr.max()) >= N_CLASSES:
        raise DataError(f"{source}: label {int(arr.max())} out of range 0..{N_CLASSES - 1}")
    return arr


def find_file(directory: Path, name: str) -> Path | None:
    for candidate in (directory / name, directory / f"{name}.gz"):
        if candidate.exists() and not candidate.is_dir():  # a FIFO is refused when read
            return candidate
    return None


def missing_files(directory: Path) -> list[str]:
    return [name for name in FILES.values() if find_file(directory, name) is None]
