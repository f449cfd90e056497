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

Nothing in the folder is trusted. A checkpoint is read only when it is a regular file (never a
link, FIFO, device or folder) no bigger than one of its trial can be (:func:`size_limit`); a
whole one is used only when every part of its state is what that trial's training could have
saved (:func:`state_problem`: the step, the curve, the status, the clock, the tensors, the
batch stream replayed from the trial's seed). Files that do not carry :data:`MAGIC` are never
written over or deleted: they are left where they are, with a warning.

Beside its checkpoints, a trial in training publishes its learning curve so far (at most every
``live_every_s`` seconds, :mod:`lstm_sweep.study.live`), for the live page; it goes with them.
"""

from __future__ import annotations

import errno
import hashlib
import io
import logging
import math
import os
import re
import stat
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import torch

from ..data import ROWS, BatchStream, TaskShape
from ..study import GATES, TrialConfig, is_finite_number, live_path, metric_of
from ..study import checkpoint_dir as checkpoint_dir  # its home is the study layer

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

    def load(self, key: str, limit: int | None = None) -> list[bytes]:
        """The trial's checkpoints, newest first (empty: none); none over ``limit`` bytes."""


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
    if len(blob) < head or blob[: len(MAGIC)] != MAGIC:
        raise ValueError("not a checkpoint (no header)")
    payload = blob[head:]
    if hashlib.sha256(payload).digest() != blob[len(MAGIC) : head]:
        raise ValueError("checksum mismatch (cut short or damaged)")
    try:
        state = torch.load(io.BytesIO(payload), map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - a checksum-valid file that still does not load
        raise ValueError(f"unreadable ({type(e).__name__})") from None
    if not isinstance(state, dict) or not _is_int(state.get("format")) or state["format"] != FORMAT:
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
        """Write ``blob`` as the trial's checkpoint (synced, renamed into place), the last one
        kept as ``.prev``. Refused (OSError) where either name holds a file this tool did not
        write: it is never replaced."""
        current = self.path(key)
        self.folder.mkdir(parents=True, exist_ok=True)
        for path in (current, _prev(current)):
            why = _foreign(path, MAGIC)
            if why:
                raise OSError(f"{path} {why}; it is left alone (move it away to checkpoint this trial)")
        fd, tmp = self._temp(key, ".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(blob)
                f.flush()
                os.fsync(f.fileno())
            if os.path.lexists(current):
                os.replace(current, _prev(current))
            os.replace(tmp, current)
        finally:
            Path(tmp).unlink(missing_ok=True)
        _fsync_dir(self.folder)

    def save_live(self, key: str, blob: bytes) -> None:
        """Publish a running trial's curve (:mod:`lstm_sweep.study.live`): renamed into place,
        not synced (it is replaced a second later, and nothing is lost with it). Never over a
        file this tool did not write (OSError)."""
        path = live_path(self.folder, key)
        self.folder.mkdir(parents=True, exist_ok=True)
        why = _foreign(path, _live_head(key))
        if why:
            raise OSError(f"{path} {why}; it is left alone")
        fd, tmp = self._temp(key, ".live.tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(blob)
            os.replace(tmp, path)
        finally:
            Path(tmp).unlink(missing_ok=True)

    def _temp(self, key: str, suffix: str) -> tuple[int, str]:
        """A new temporary file in the folder, made again if another driver has just removed
        it as empty (:meth:`remove_if_empty`)."""
        try:
            return tempfile.mkstemp(prefix=f".{key}.", suffix=suffix, dir=self.folder)
        except FileNotFoundError:
            self.folder.mkdir(parents=True, exist_ok=True)
            return tempfile.mkstemp(prefix=f".{key}.", suffix=suffix, dir=self.folder)

    def remove_if_empty(self) -> None:
        """Remove the folder when nothing is left in it (a sweep's end: no empty folder beside
        the store); a folder with anything in it, or none, is left as it is."""
        try:
            self.folder.rmdir()
        except OSError:
            pass

    def load(self, key: str, limit: int | None = None) -> list[bytes]:
        """The trial's checkpoints that can be read, newest first: regular files only (a link,
        FIFO, device or folder is skipped with a warning, never opened for reading or
        followed), none over ``limit`` bytes."""
        out = []
        for path in (self.path(key), _prev(self.path(key))):
            try:
                blob = read_regular(path, limit)
            except FileNotFoundError:
                continue
            except (OSError, ValueError) as e:
                log.warning("checkpoint %s skipped: %s", path, getattr(e, "strerror", None) or e)
                continue
            out.append(blob)
        return out

    def has(self, key: str) -> bool:
        p = self.path(key)
        return os.path.lexists(p) or os.path.lexists(_prev(p))

    def delete(self, keys) -> None:
        """Remove the checkpoints (and published curves) of ``keys`` (those of finished
        trials): only files this tool wrote; anything else under their names is left, with a
        warning."""
        for key in keys:
            for path, head in (
                (self.path(key), MAGIC),
                (_prev(self.path(key)), MAGIC),
                (live_path(self.folder, key), _live_head(key)),
            ):
                why = _foreign(path, head)
                if why:
                    log.warning("%s %s; it is left alone", path, why)
                    continue
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
            if name.endswith(SUFFIX) and _KEY.fullmatch(name[: -len(SUFFIX)]):
                out.add(name[: -len(SUFFIX)])
        return sorted(out)

    def __reduce__(self):  # picklable for worker processes
        return (CheckpointDir, (str(self.folder),))


def _prev(path: Path) -> Path:
    return path.with_name(path.name + ".prev")


def _live_head(key: str) -> bytes:
    """How a curve file this tool wrote begins (:func:`~lstm_sweep.study.live.encode_live`)."""
    return b'{"key":"' + key.encode() + b'"'


def _open_regular(path: Path) -> int:
    """A descriptor of ``path`` for reading, opened without following a link or waiting on a
    FIFO; OSError where it is not a regular file (FileNotFoundError where there is none)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise OSError(e.errno, "a link (checkpoints are never links)") from None
        raise
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        kind = "a folder" if stat.S_ISDIR(mode) else "a FIFO, socket or device"
        raise OSError(errno.EINVAL, f"{kind}, not a regular file")
    return fd


def read_regular(path: Path, limit: int | None = None) -> bytes:
    """The bytes of the regular file ``path`` (see :func:`_open_regular`); ValueError where it
    holds more than ``limit`` bytes (nothing beyond ``limit + 1`` bytes is read)."""
    fd = _open_regular(path)
    with os.fdopen(fd, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if limit is not None and size > limit:
            raise ValueError(f"{size:,} bytes, more than a checkpoint of this trial can be ({limit:,})")
        blob = f.read(-1 if limit is None else limit + 1)
    if limit is not None and len(blob) > limit:
        raise ValueError(f"more than the {limit:,} bytes a checkpoint of this trial can be")
    return blob


def _foreign(path: Path, head: bytes) -> str | None:
    """Why ``path`` holds something this tool did not write (None: nothing there, or a file
    that begins with ``head``, as the tool's own do)."""
    try:
        fd = _open_regular(path)
    except FileNotFoundError:
        return None
    except OSError as e:
        return f"is {e.strerror}, not written by lstm-sweep"
    with os.fdopen(fd, "rb") as f:
        if f.read(len(head)) != head:
            return "was not written by lstm-sweep"
    return None


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
        "order": None
        if stream.order is None
        else torch.from_numpy(stream.order.astype(np.int64 if stream.n > 2**31 - 1 else np.int32)),
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
            raise ValueError(f"a tensor of shape {tuple(s.shape)}, the engine's is {tuple(target.shape)}")
    for t, s in zip(live, saved):
        (t[j] if engine.stacked else t).copy_(s)


def layout(engine) -> list:
    """What a checkpoint's tensors must fit: the engine and each tensor's shape per model."""
    live = [*engine.params, *(s for slot in engine.optimizer.slots() for s in slot)]
    return [engine.name, *[list(t.shape[1:] if engine.stacked else t.shape) for t in live]]


def best_checkpoint(keeper: Keeper, key: str, fits, limit: int | None = None) -> dict | None:
    """The newest checkpoint of trial ``key`` that is whole and ``fits(state)`` (a warning for
    each one that is not); None: start from the beginning. None over ``limit`` bytes is read."""
    try:
        blobs = keeper.load(key, limit)
    except Exception as e:  # noqa: BLE001 - a checkpoint is never worth a failed trial
        log.warning("checkpoints of trial %s cannot be read (%s); it starts from the beginning", key, e)
        return None
    for i, blob in enumerate(blobs):
        try:
            if limit is not None and len(blob) > limit:
                raise ValueError(f"{len(blob):,} bytes, more than this trial's can be")
            state = decode(blob)
            if not isinstance(state.get("key"), str) or state["key"] != key:
                raise ValueError("it belongs to another trial")
            why = fits(state)
            if why:
                raise ValueError(why)
            if i:
                log.warning("trial %s resumes from its previous checkpoint (step %d)", key, state["step"])
            return state
        except Exception as e:  # noqa: BLE001 - whatever is wrong with it, it is not used
            later = "the previous one" if i + 1 < len(blobs) else "its beginning"
            log.warning("checkpoint %d of trial %s is unusable: %s; trying %s", i, key, e, later)
    return None


def size_limit(config: TrialConfig, n_train: int, n_input: int, n_output: int = 10) -> int:
    """The most bytes a checkpoint of ``config`` can take (twice what its parts need, and a
    MiB): what is read of one before it is trusted. ``n_input`` and ``n_output`` are the task's
    (:class:`~lstm_sweep.data.TaskShape`: 28 and 10 for rows)."""
    g, h = GATES[config.cell], config.hidden
    params = (n_input + h + 2) * g * h + (n_output + 1) * (h + 1)  # kernels, (two) biases, head
    points = config.steps // config.display_step
    return 2 * (4 * params * 5 + 8 * n_train + 64 * points) + (1 << 20)


_STATE_KEYS = (
    "step",
    "stream",
    "opt_t",
    "layout",
    "tensors",
    "frozen",
    "status",
    "steps_done",
    "last_loss",
    "started_at",
    "wall_s",
    "cpu_s",
    "curve",
)


def state_problem(
    state: dict, config: TrialConfig, until: int, n_train: int, shape: TaskShape = ROWS
) -> str | None:
    """Why a whole checkpoint's ``state`` is not one that training ``config`` on ``n_train``
    examples of a task of ``shape`` could have saved, to resume up to step ``until`` (None: it
    is). Checked as strictly as a stored trial, and more: the curve holds exactly the trial's
    display steps up to its step, each point's metric one its batch can have, and the batch
    stream is the one the trial's seed gives at that step."""
    missing = [k for k in _STATE_KEYS if k not in state]
    if missing:
        return f"it lacks {', '.join(missing)}"
    step = state["step"]
    if not _is_int(step) or not 0 < step < config.steps:
        return f"its step {step!r:.20} is not within the trial's {config.steps}"
    if step > until:  # a search's rung before it: continuing from here would overshoot
        return f"it is after step {step}, beyond this run's stop at {until}"
    if not _is_int(state["opt_t"]) or state["opt_t"] != step:
        return f"its optimizer's step count {state['opt_t']!r:.20} is not its step {step}"
    for k in ("started_at", "wall_s", "cpu_s"):
        v = state[k]
        if not is_finite_number(v) or v < 0:
            return f"its {k} is {v!r:.20}"
    if state["started_at"] > time.time() + 86_400:
        return "it was started in the future"
    status, done, loss = state["status"], state["steps_done"], state["last_loss"]
    if not isinstance(status, str) or status not in ("done", "diverged"):
        return f"its status is {status!r:.20}"
    if not _is_int(done) or not (done == step if status == "done" else 0 < done <= step):
        return f"its steps done {done!r:.20} do not fit its step {step} ({status})"
    if status == "done" and not (
        (loss is None and step < config.display_step)  # (a GPU's)
        or (is_finite_number(loss) and loss >= 0)
    ):
        return f"its last loss {loss!r:.20} is not a loss of a trial that is training"
    if status == "diverged" and not (isinstance(loss, float) and not math.isfinite(loss)):
        return f"its last loss {loss!r:.20} is finite, yet it diverged"
    why = _curve_problem(
        state["curve"], config, done if status == "diverged" else step, status == "diverged", shape
    )
    if why:
        return why
    why = _tensors_problem(state)
    if why:
        return why
    return _stream_problem(state["stream"], config, step, n_train)


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _curve_problem(
    curve: object, config: TrialConfig, last: int, diverged: bool, shape: TaskShape = ROWS
) -> str | None:
    """Why ``curve`` is not the points a trial records up to step ``last``: ``[step, loss,
    accuracy]`` or ``[step, loss, accuracy, val]`` at each display step in turn, a loss a
    number (not finite only where the trial ``diverged``), an accuracy a fraction of its batch
    (of its targets, with one at every step), a loss metric (bpc, mse, xent) a non-negative
    number or None; ``val`` (the validation metric, where measured) None or the trial's
    metric's value."""
    every = config.display_step
    want = list(range(every, last + 1, every))
    if not isinstance(curve, list) or len(curve) != len(want):
        return f"its curve is not its {len(want)} points up to step {last}"
    accuracy = metric_of(config).name == "accuracy"
    for p, s in zip(curve, want):
        if not (isinstance(p, list) and len(p) in (3, 4) and _is_int(p[0]) and p[0] == s):
            return f"its curve is not the display steps up to step {last} (at step {s})"
        val = p[3] if len(p) == 4 else None
        if val is not None and not (
            isinstance(val, float) and math.isfinite(val) and val >= 0 and (val <= 1 or not accuracy)
        ):
            return f"its curve's validation metric at step {s} is {val!r:.20}"
        loss, acc = p[1], p[2]
        if (
            not isinstance(loss, float)
            or (math.isfinite(loss) and loss < 0)
            or (not math.isfinite(loss) and not diverged)
        ):
            return f"its curve's loss at step {s} is {loss!r:.20}"
        if not _batch_metric(acc, config, shape):
            return f"its curve's accuracy at step {s} is {acc!r:.20}, not a batch's"
    return None


def _batch_metric(value: object, config: TrialConfig, shape: TaskShape) -> bool:
    """Whether ``value`` can be a curve point's metric of ``config`` on a batch: an accuracy a
    fraction of the batch (with a target at every step, within [0, 1]: the steps are the
    data's), a loss metric a non-negative number or None (not finite)."""
    if metric_of(config).name != "accuracy":
        return value is None or (isinstance(value, float) and math.isfinite(value) and value >= 0)
    if not isinstance(value, float) or not 0.0 <= value <= 1.0:
        return False
    n = config.batch_size
    return shape.readout == "every" or abs(value * n - round(value * n)) <= 1e-3


def _tensors_problem(state: dict) -> str | None:
    """Why the tensors do not fit the state's own layout (the engine's is compared when it is
    made, :func:`tensor_problem`), or are not finite in a model that is still training."""
    layout, tensors, frozen = state["layout"], state["tensors"], state["frozen"]
    if not (
        isinstance(layout, list)
        and layout
        and isinstance(layout[0], str)
        and all(isinstance(x, list) and all(_is_int(n) and n >= 0 for n in x) for x in layout[1:])
    ):
        return "its layout is not an engine's"
    if not isinstance(tensors, list) or len(tensors) != len(layout) - 1:
        return (
            f"it holds {len(tensors) if isinstance(tensors, list) else 'no'} tensors, its "
            f"layout {len(layout) - 1}"
        )
    for t, shape in zip(tensors, layout[1:]):
        if not isinstance(t, torch.Tensor) or list(t.shape) != shape or not t.dtype.is_floating_point:
            return "a tensor does not fit its layout"
    if state["status"] == "done" and not all(bool(torch.isfinite(t).all()) for t in tensors):
        return "a tensor is not finite in a model that had not diverged"
    if state["status"] == "done" and frozen is not None:
        return "a model still training holds a frozen copy"
    if state["status"] == "diverged" and frozen is None:  # (a diverged model of a fused group)
        return "a diverged model holds no frozen copy"
    if frozen is not None and not (
        isinstance(frozen, torch.Tensor)
        and len(layout) > 1
        and list(frozen.shape) == layout[1]
        and frozen.dtype == tensors[0].dtype
    ):
        return "its frozen copy does not fit its parameters"
    return None


def _stream_problem(stream: object, config: TrialConfig, step: int, n_train: int) -> str | None:
    """Why ``stream`` is not the batch stream of ``config``'s seed after ``step`` batches of
    ``n_train`` examples (it is replayed: a few milliseconds per thousand steps)."""
    if not isinstance(stream, dict) or set(stream) != {"rng", "order", "index", "epochs"}:
        return "its batch stream is not one"
    if config.batch_size > n_train:
        return "its batch size exceeds the training set"
    replay = BatchStream(
        n_train, config.batch_size, seed=config.seed if config.data_seed is None else config.data_seed
    )
    for _ in range(step):
        replay.next_indices()
    order = stream["order"]
    if not (
        isinstance(order, torch.Tensor)
        and order.dim() == 1
        and len(order) == n_train
        and not order.dtype.is_floating_point
    ):
        return f"its batch order is not a permutation of the {n_train} training examples"
    index, epochs, rng = stream["index"], stream["epochs"], stream["rng"]
    if not (
        _is_int(index)
        and index == replay.index_in_epoch
        and _is_int(epochs)
        and epochs == replay.epochs_completed
        and isinstance(rng, dict)
        and _same_plain(rng, replay.rng.bit_generator.state)
        and replay.order is not None
        and np.array_equal(order.numpy(), replay.order)
    ):
        return f"its batch stream is not the trial's after step {step}"
    return None


def _same_plain(a: object, b: object) -> bool:
    """``a == b`` for plain data (dicts, text, integers), without asking a tensor or another
    object what equality means."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same_plain(a[k], b[k]) for k in a)
    return isinstance(a, (str, int)) and a == b


def tensor_problem(engine, j: int, state: dict) -> str | None:
    """Why ``state``'s tensors cannot be model ``j`` of ``engine`` (None: they can)."""
    live = [*engine.params, *(s for slot in engine.optimizer.slots() for s in slot)]
    if state["layout"] != layout(engine) or len(live) != len(state["tensors"]):
        return "it was made by another engine or version"
    for t, s in zip(live, state["tensors"]):
        target = t[j] if engine.stacked else t
        if tuple(target.shape) != tuple(s.shape) or target.dtype != s.dtype:
            return f"a tensor of shape {tuple(s.shape)}, the engine's is {tuple(target.shape)}"
    frozen = state["frozen"]
    if frozen is not None and (not engine.stacked or tuple(frozen.shape) != tuple(engine.params[0][j].shape)):
        return "its frozen copy does not fit the engine"
    return None
