"""The learning curve of a trial still being trained, as its training publishes it: a small JSON
file ``<key>.live.json`` in the store's checkpoint folder (``<store>.checkpoints``), rewritten
at most every second while the trial trains and deleted with its checkpoints once its result is
stored. Readers (the live page) need no torch to read it, and never trust it: a file that is not
what this module writes (not a regular file, too big, not JSON, deeply nested, another trial's,
junk values) reads as no curve, at once: a FIFO or a device in its place never blocks a reader.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
from collections.abc import Sequence
from pathlib import Path

from ..errors import LstmSweepError
from .results import is_finite_number
from .trial import TrialConfig

LIVE_SUFFIX = ".live.json"
MAX_LIVE_BYTES = 1 << 20
MAX_LIVE_POINTS = 200  # a longer curve keeps every n-th point, and its last
_KEY = re.compile(r"[0-9a-f]{8,64}")


def checkpoint_dir(store: str | os.PathLike) -> Path:
    """The folder of a store's checkpoints: ``<store>.checkpoints`` beside it."""
    store = Path(store)
    return store.with_name(store.name + ".checkpoints")


def live_path(folder: str | os.PathLike, key: str) -> Path:
    if not isinstance(key, str) or not _KEY.fullmatch(key):
        raise ValueError(f"not a trial key: {key!r:.40}")
    return Path(folder) / (key + LIVE_SUFFIX)


def thin(points: Sequence, limit: int = MAX_LIVE_POINTS) -> list:
    """At most ``limit`` of ``points``, evenly spaced, the last one always kept."""
    points = list(points)
    if len(points) <= limit:
        return points
    every = math.ceil(len(points) / (limit - 1))
    return points[::every][: limit - 1] + [points[-1]]


def encode_live(config: TrialConfig, step: int, curve: Sequence[Sequence]) -> bytes:
    """The file's bytes: the trial's configuration, the step it reached, its curve so far as
    ``[step, loss, accuracy, val]`` (``val``: the validation metric where it was measured;
    non-finite numbers and missing values as null). A long curve is thinned
    (:func:`thin`), its points with a validation metric apart, so that none of those goes."""

    def number(x):
        return float(x) if isinstance(x, (int, float)) and math.isfinite(x) else None

    full = [(int(p[0]), p[1], p[2], p[3] if len(p) > 3 else None) for p in curve]
    kept = {p[0]: p for p in thin(full)}
    kept.update((p[0], p) for p in thin([p for p in full if number(p[3]) is not None]))

    return json.dumps(
        {
            "key": config.key(),
            "config": config.to_dict(),
            "step": int(step),
            "curve": [[s, number(a), number(b), number(v)] for s, a, b, v in sorted(kept.values())],
        },
        separators=(",", ":"),
    ).encode()


def read_live(folder: str | os.PathLike, key: str) -> dict | None:
    """The published curve of trial ``key``: ``{"config": TrialConfig, "step": int, "curve":
    [[step, loss, accuracy, val], ...], "written_at": the file's time}``, or None where there
    is none (or none that reads right)."""
    try:
        got = _read_regular(live_path(folder, key))
    except ValueError:  # not a trial key
        return None
    if got is None:
        return None
    blob, written_at = got
    try:
        d = json.loads(blob)
        config = TrialConfig.from_dict(d["config"])
        step, curve = d["step"], d["curve"]
    except (ValueError, TypeError, KeyError, RecursionError, LstmSweepError):
        return None
    if (
        config.key() != key
        or isinstance(step, bool)
        or not isinstance(step, int)
        or not 0 <= step <= config.steps
        or not isinstance(curve, list)
        or len(curve) > 2 * MAX_LIVE_POINTS  # thinned, and its validation points apart
    ):
        return None
    points = []
    for p in curve:
        if not (
            isinstance(p, list)
            and len(p) in (3, 4)
            and isinstance(p[0], int)
            and not isinstance(p[0], bool)
            and 0 <= p[0] <= config.steps
            and all(v is None or is_finite_number(v) for v in p[1:])
        ):
            return None
        points.append(p + [None] * (4 - len(p)))
    return {"config": config, "step": step, "curve": points, "written_at": written_at}


def _read_regular(path: Path) -> tuple[bytes, float] | None:
    """The bytes of ``path`` (at most :data:`MAX_LIVE_BYTES`) and its time, where it is a
    regular file: opened without blocking and without following a link, so that a FIFO, a
    device or a link in its place reads as nothing and never holds the reader up (nor is a
    device opened: ``lstat`` first, ``fstat`` of what was opened to be sure)."""
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):
            return None
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_NOCTTY)
    except (OSError, ValueError):
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_LIVE_BYTES:
            return None
        chunks, size = [], 0
        while size <= MAX_LIVE_BYTES:
            chunk = os.read(fd, MAX_LIVE_BYTES + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError:
        return None
    finally:
        os.close(fd)
    return None if size > MAX_LIVE_BYTES else (b"".join(chunks), st.st_mtime)
