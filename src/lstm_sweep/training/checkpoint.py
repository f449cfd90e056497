"""Checkpoints inside a trial: its whole state, saved every so often, so that a killed trial
resumes where it was and ends exactly as if it had never stopped.

A checkpoint of one trial holds: its parameters and its optimizer's state (its slots and step
count), the frozen copy of a model that diverged, the batch stream's position, permutation and
random generator, its learning curve so far, its status, the time it has used, and the step it
was taken after. Training needs nothing else (the models draw no random numbers after their
init), so on the same machine and number of threads a resumed trial is bit for bit the one that
never stopped (tested with kill -9 at random steps).

The members of a fused group are saved together (one file per trial, all at the same step), so
that any subset of a group resumes together: a search continues only the rates it keeps.

A file is ``MAGIC`` + SHA-256 of the payload + the payload (``torch.save`` of plain data and
tensors, read back with ``weights_only``). It is written to a temporary name, flushed to disk and
renamed over the last one, which is kept as ``.prev`` first: a cut or damaged file fails its
checksum, and the trial falls back to the previous checkpoint, or to its start, with a warning;
it never stops a sweep. A checkpoint that cannot be written (a full disk) is a warning too: the
trial goes on, and a kill then costs more.

Beside its checkpoints, a trial in training publishes its learning curve so far (at most every
``live_every_s`` seconds, :mod:`lstm_sweep.study.live`), for the live page; it goes with them.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import torch

from ..study.live import checkpoint_dir as checkpoint_dir  # its home is the study layer
from ..study.live import live_path

log = logging.getLogger(__name__)

MAGIC = b"LSTM-SWEEP-CKPT1"
FORMAT = 1
DEFAULT_EVERY_S = 300.0  # --checkpoint-every 5m
SUFFIX = ".ckpt"
_KEY = re.compile(r"[0-9a-f]{8,64}")


class Keeper(Protocol):
    """Where checkpoints live: a folder (:class:`CheckpointDir`), or, on Ray, the driver's
    folder reached through an actor."""

    def save(self, key: str, blob: bytes) -> None: ...

    def load(self, key: str) -> list[bytes]:
        """The trial's checkpoints, newest first (empty: none)."""


@dataclass(frozen=True)
class Checkpointing:
    """How a trial checkpoints: into ``keeper`` every ``every_s`` seconds of training (0: at
    every curve point), and always when it stops at a search's rung."""

    keeper: Keeper
    every_s: float = DEFAULT_EVERY_S
    live_every_s: float = 1.0  # the curve so far, for the live page (where the keeper takes it)


def encode(state: dict) -> bytes:
    buf = io.BytesIO()
    torch.save(state, buf)
    payload = buf.getvalue()
    return MAGIC + hashlib.sha256(payload).digest() + payload


def decode(blob: bytes) -> dict:
    """The state in ``blob``; ValueError if it is not a whole, undamaged checkpoint."""
    head = len(MAGIC) + 32
    if len(blob) < head or blob[:len(MAGIC)] != MAGIC:
        raise ValueError("not a checkpoint (no header)")
    payload = blob[head:]
    if hashlib.sha256(payload).digest() != blob[len(MAGIC):head]:
        raise ValueError("checksum mismatch (cut short or damaged)")
    try:
        state = torch.load(io.BytesIO(payload), map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - a checksum-valid file that still does not load
        raise ValueError(f"unreadable ({type(e).__name__})") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ValueError("a checkpoint of another format")
    return state


class CheckpointDir:
    """Checkpoints as files ``<folder>/<trial key>.ckpt`` (and ``.ckpt.prev``, the one before).

    The folder sits beside the store (:func:`checkpoint_dir`) and is made when the first
    checkpoint is written."""

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)

    def path(self, key: str) -> Path:
        if not isinstance(key, str) or not _KEY.fullmatch(key):
            raise ValueError(f"not a trial key: {key!r:.40}")
        return self.folder / (key + SUFFIX)

    def save(self, key: str, blob: bytes) -> None:
        current = self.path(key)
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.folder / f".{key}.{os.getpid()}.tmp"
        try:
            with open(tmp, "wb") as f:
                f.write(blob)
                f.flush()
                os.fsync(f.fileno())
            if current.exists():
                os.replace(current, _prev(current))
            os.replace(tmp, current)
        finally:
            tmp.unlink(missing_ok=True)
        _fsync_dir(self.folder)

    def save_live(self, key: str, blob: bytes) -> None:
        """Publish a running trial's curve (:mod:`lstm_sweep.study.live`): renamed into place,
        not synced (it is replaced a second later, and nothing is lost with it)."""
        path = live_path(self.folder, key)
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.folder / f".{key}.{os.getpid()}.live.tmp"
        try:
            tmp.write_bytes(blob)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)

    def load(self, key: str) -> list[bytes]:
        out = []
        for path in (self.path(key), _prev(self.path(key))):
            try:
                out.append(path.read_bytes())
            except FileNotFoundError:
                continue
            except OSError as e:
                log.warning("checkpoint %s cannot be read (%s); skipped", path, e)
        return out

    def has(self, key: str) -> bool:
        p = self.path(key)
        return p.exists() or _prev(p).exists()

    def delete(self, keys) -> None:
        """Remove the checkpoints of ``keys`` (those of finished trials)."""
        for key in keys:
            for path in (self.path(key), _prev(self.path(key)), live_path(self.folder, key)):
                try:
                    path.unlink(missing_ok=True)
                except OSError as e:
                    log.warning("cannot delete checkpoint %s (%s)", path, e)

    def keys(self) -> list[str]:
        """Keys of the trials that hold a checkpoint here."""
        if not self.folder.is_dir():
            return []
        out = set()
        for p in self.folder.iterdir():
            name = p.name.removesuffix(".prev")
            if name.endswith(SUFFIX) and _KEY.fullmatch(name[:-len(SUFFIX)]):
                out.add(name[:-len(SUFFIX)])
        return sorted(out)

    def __reduce__(self):  # picklable for worker processes
        return (CheckpointDir, (str(self.folder),))


def _prev(path: Path) -> Path:
    return path.with_name(path.name + ".prev")


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# --------------------------------------------------------------------------- a trial's state


def stream_state(stream) -> dict:
    """A :class:`~lstm_sweep.data.BatchStream`'s position, permutation and generator."""
    return {
        "rng": stream.rng.bit_generator.state,
        "order": None if stream.order is None else torch.from_numpy(
            stream.order.astype(np.int64 if stream.n > 2**31 - 1 else np.int32)),
        "index": int(stream.index_in_epoch),
        "epochs": int(stream.epochs_completed),
    }


def restore_stream(stream, state: dict) -> None:
    stream.rng.bit_generator.state = state["rng"]
    order = state["order"]
    stream.order = None if order is None else order.numpy().astype(np.intp)
    stream.index_in_epoch = state["index"]
    stream.epochs_completed = state["epochs"]


def tensors_of(engine, j: int) -> list[torch.Tensor]:
    """Model ``j``'s parameters and optimizer slots (copies on the CPU)."""
    out = []
    for t in [*engine.params, *(s for slot in engine.optimizer.slots() for s in slot)]:
        out.append((t[j] if engine.stacked else t).detach().to("cpu", copy=True))
    return out


@torch.no_grad()
def load_tensors(engine, j: int, saved: list[torch.Tensor]) -> None:
    live = [*engine.params, *(s for slot in engine.optimizer.slots() for s in slot)]
    if len(live) != len(saved):
        raise ValueError(f"{len(saved)} tensors, the engine has {len(live)}")
    for t, s in zip(live, saved):
        target = t[j] if engine.stacked else t
        if tuple(target.shape) != tuple(s.shape) or target.dtype != s.dtype:
            raise ValueError(f"a tensor of shape {tuple(s.shape)}, the engine's is "
                             f"{tuple(target.shape)}")
    for t, s in zip(live, saved):
        (t[j] if engine.stacked else t).copy_(s)


def layout(engine) -> list:
    """What a checkpoint's tensors must fit: the engine and each tensor's shape per model."""
    live = [*engine.params, *(s for slot in engine.optimizer.slots() for s in slot)]
    return [engine.name, *[list(t.shape[1:] if engine.stacked else t.shape) for t in live]]


def best_checkpoint(keeper: Keeper, key: str, fits) -> dict | None:
    """The newest checkpoint of trial ``key`` that is whole and ``fits(state)`` (a warning for
    each one that is not); None: start from the beginning."""
    try:
        blobs = keeper.load(key)
    except Exception as e:  # noqa: BLE001 - a checkpoint is never worth a failed trial
        log.warning("checkpoints of trial %s cannot be read (%s); it starts from the beginning",
                    key, e)
        return None
    for i, blob in enumerate(blobs):
        try:
            state = decode(blob)
            if state.get("key") != key:
                raise ValueError("it belongs to another trial")
            why = fits(state)
            if why:
                raise ValueError(why)
            if i:
                log.warning("trial %s resumes from its previous checkpoint (step %d)", key,
                            state["step"])
            return state
        except ValueError as e:
            later = "the previous one" if i + 1 < len(blobs) else "its beginning"
            log.warning("checkpoint %d of trial %s is unusable: %s; trying %s", i, key, e, later)
    return None


def checkpoint_bytes(params: int, slots: int, curve_points: int, n_train: int = 55_000) -> int:
    """Bytes of one trial's checkpoint: parameters and optimizer slots (fp32), the frozen copy
    a diverged model may hold, the permutation of the training set, the curve."""
    return 4 * params * (2 + slots) + 4 * n_train + 24 * curve_points + 4096
