"""The data of each task a trial can learn (the tasks themselves are declared in
:mod:`lstm_sweep.study.tasks`): :func:`task_data` makes a task's :class:`~.batches.Dataset`,
whose ``shape`` (:class:`~.batches.TaskShape`) tells training how to read it.

- ``rows``, ``pixels``, ``permuted``: an images dataset (MNIST, ...) read as 28 rows of 28
  pixels, as 784 pixels one at a time, or as 784 pixels in one fixed order drawn from the seed;
- ``adding``, ``copy``: generated from a seed (no files), in the forms of Bai, Kolter & Koltun
  2018 (arXiv 1803.01271), after Hochreiter & Schmidhuber 1997;
- ``chars``: a text (:func:`~.text.load_text`) cut into sequences and their next characters;
- a task of the user's own, ``module:Class`` or ``path/to/file.py:Class``: a class with the
  attributes and the ``splits`` method of :class:`Task` (:func:`load_user_task`).

Generated tasks and the user's own are the dataset ``generated``: their data is made by code,
not read from files, and each trial's key holds what makes it (the task, its length, its seed,
a user task's identity), so the dataset's fingerprint names only the generators' version
(:data:`GENERATED_FINGERPRINT`). Imports nothing of lstm-sweep but its errors.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import math
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..errors import ConfigError, DataError
from .batches import ROWS, Dataset, Split, TaskShape
from .text import is_text

GENERATED = "generated"  # the dataset name of generated tasks and the user's own
GENERATOR_VERSION = "lstm-sweep generated tasks 1"  # bump when a generator's output changes
GENERATED_FINGERPRINT = hashlib.sha256(GENERATOR_VERSION.encode()).hexdigest()

IMAGE_TASKS = ("rows", "pixels", "permuted")
GENERATED_TASKS = ("adding", "copy")
TEXT_TASKS = ("chars",)
BUILTIN_TASKS = IMAGE_TASKS + GENERATED_TASKS + TEXT_TASKS
METRIC_NAMES = ("accuracy", "xent", "bpc", "mse")  # study.tasks.METRICS' keys (a test keeps them equal)
SPLITS = ("train", "validation", "test")  # a generated split's number is its index here

N_PIXELS = 28 * 28
ADDING_SIZES = (50_000, 1_000, 1_000)  # train, validation, test sequences (the TCN paper's 50K)
COPY_SIZES = (10_000, 1_000, 1_000)  # the TCN paper's 10K training sequences
COPY_RECALL = 10  # symbols to remember
COPY_SYMBOLS = 8  # they are 1..8; 0 is the blank, 9 the marker
COPY_MARKER = 9
MAX_SEED = 2**63 - 1  # what the results store holds
MAX_GENERATED_BYTES = 8 * 2**30  # a generated task's sequences, all splits: past this, refused
MAX_STEPS = 1_000_000  # a user task's length
MAX_UNITS = 1_000_000  # a user task's n_input, n_output

ADDING_SHAPE = TaskShape(2, 1, "last", "mse")
COPY_SHAPE = TaskShape(COPY_MARKER + 1, COPY_MARKER + 1, "every", "xent", tokens=True)
PIXELS_SHAPE = TaskShape(1, 10, "last", "xent")


def generated_data() -> Dataset:
    """A placeholder Dataset named ``generated`` (one empty-valued sequence per split) with the
    generators' fingerprint: the data of a sweep whose tasks are all generated (or the user's
    own), so that it needs no MNIST. :func:`task_data` ignores it for those tasks.

    Returns:
        A :class:`~.batches.Dataset` named :data:`GENERATED`, fingerprint
        :data:`GENERATED_FINGERPRINT`.
    """
    one = Split(np.zeros((1, 1, 1), np.float32), np.zeros(1, np.int64))
    return Dataset(
        name=GENERATED,
        source="generated (no files: each trial generates its task's sequences from its seed)",
        train=one,
        validation=one,
        test=one,
        fingerprint=GENERATED_FINGERPRINT,
        shape=TaskShape(1, 1, "last", "mse"),
    )


def _check_seed(task_seed: object) -> int:
    if isinstance(task_seed, bool) or not isinstance(task_seed, int) or not 0 <= task_seed <= MAX_SEED:
        raise ConfigError(f"task_seed must be an integer from 0 to 2^63 - 1; got {task_seed!r:.60}")
    return task_seed


def _check_length(task: str, length: object, minimum: int) -> int:
    if isinstance(length, bool) or not isinstance(length, int) or length < minimum:
        raise ConfigError(
            f"task {task}: length= must be an integer of at least {minimum} (time steps); got {length!r:.60}"
        )
    return length


# --------------------------------------------------------------------------- images


def permutation(task_seed: int) -> np.ndarray:
    """The permuted task's order of the 784 pixels: exactly
    ``np.random.default_rng(task_seed).permutation(784)`` (step t reads the row-major pixel
    ``permutation(task_seed)[t]``). This is the permutation's identity: ``task_seed`` is in the
    trial's key, and this expression must never change."""
    return np.random.default_rng(task_seed).permutation(N_PIXELS)


def _check_images(data: object, task: str) -> Dataset:
    """``data`` if it is a dataset of 28x28 images read by rows."""
    if data is None:
        raise ConfigError(f"task {task} reads images: pass a dataset of them (load_dataset, data_dir=)")
    if not isinstance(data, Dataset):
        raise ConfigError(f"task {task} reads images: data must be a Dataset, got {type(data).__name__}")
    if is_text(data):
        raise DataError(
            f"task {task} reads images, but dataset {data.name!r:.60} is a text; a text is read "
            "by task chars (or pass dataset= or data_dir= for images)"
        )
    images = data.train.images
    if data.shape != ROWS or images.ndim != 3 or images.shape[1:] != (28, 28):
        raise DataError(
            f"task {task} reads 28x28 images, but dataset {data.name!r:.60} holds "
            f"{'x'.join(map(str, images.shape[1:])) or 'scalar'} sequences of task shape "
            f"{data.shape}; pass dataset= or data_dir= for images"
        )
    return data


def _image_task(data: object, task: str, length: object, task_seed: int) -> Dataset:
    """rows (``data`` itself), pixels (each image a sequence of 784 pixels: a reshape, no copy)
    or permuted (those 784 pixels in :func:`permutation`'s order)."""
    images = _check_images(data, task)
    steps = 28 if task == "rows" else N_PIXELS
    if length not in (0, steps) or isinstance(length, bool):
        raise ConfigError(f"task {task} has {steps} steps of its own: pass length=0, not {length!r:.60}")
    if task == "rows":
        return images
    order = permutation(task_seed) if task == "permuted" else None
    parts = {}
    for part in SPLITS:
        split = getattr(images, part)
        x = split.images.reshape(len(split.images), N_PIXELS)  # (N, 784), row-major pixels
        if order is not None:
            x = x[:, order]  # (N, 784), pixel order[t] at step t (a copy)
        parts[part] = Split(x.reshape(len(x), N_PIXELS, 1), split.labels)  # (N, 784, 1)
    return Dataset(
        name=images.name,
        source=images.source,
        fingerprint=images.fingerprint,
        shape=PIXELS_SHAPE,
        train=parts["train"],
        validation=parts["validation"],
        test=parts["test"],
    )


# --------------------------------------------------------------------------- generated


def adding_split(n: int, length: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` sequences of the adding problem (the TCN paper's form).

    Args:
        n: sequences.
        length: T, time steps (at least 2).
        rng: the split's stream.

    Returns:
        inputs float32 (n, T, 2): channel 0 uniform in [0, 1), channel 1 zero but for a 1 at
        two distinct steps drawn uniformly; targets float32 (n,): the sum of the two marked
        numbers (mean 1, variance 1/6).
    """
    values = rng.random((n, length), dtype=np.float32)  # (n, T)
    first = rng.integers(0, length, size=n)
    second = rng.integers(0, length - 1, size=n)
    second += second >= first  # uniform over the other T - 1 steps
    rows = np.arange(n)
    inputs = np.zeros((n, length, 2), np.float32)
    inputs[:, :, 0] = values
    inputs[rows, first, 1] = 1
    inputs[rows, second, 1] = 1
    return inputs, values[rows, first] + values[rows, second]


def copy_split(n: int, length: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` sequences of the copy-memory task (the TCN paper's form), T + 20 steps each.

    Args:
        n: sequences.
        length: T, the blanks between the symbols and the recall (at least 1).
        rng: the split's stream.

    Returns:
        inputs uint8 ids (n, T + 20): 10 symbols uniform in 1..8, T - 1 blanks (0), then 11
        markers (9); targets int64 (n, T + 20): T + 10 blanks (0), then the 10 symbols.
    """
    steps = length + 2 * COPY_RECALL
    symbols = rng.integers(1, COPY_SYMBOLS + 1, size=(n, COPY_RECALL), dtype=np.uint8)  # (n, 10)
    inputs = np.zeros((n, steps), np.uint8)
    inputs[:, :COPY_RECALL] = symbols
    inputs[:, COPY_RECALL + length - 1 :] = COPY_MARKER  # the last 11 steps
    targets = np.zeros((n, steps), np.int64)
    targets[:, length + COPY_RECALL :] = symbols  # the last 10 steps
    return inputs, targets


def _generated_task(task: str, length: object, task_seed: int) -> Dataset:
    """adding or copy at ``length``: each split from its own stream,
    ``np.random.default_rng([task_seed, split number])`` (train 0, validation 1, test 2)."""
    if task == "adding":
        length = _check_length(task, length, 2)
        make, sizes, shape, per_step = adding_split, ADDING_SIZES, ADDING_SHAPE, 2 * 4 * length + 4
    else:
        length = _check_length(task, length, 1)
        make, sizes, shape, per_step = copy_split, COPY_SIZES, COPY_SHAPE, 9 * (length + 20)
    held = sum(sizes) * per_step
    if held > MAX_GENERATED_BYTES:
        raise ConfigError(
            f"task {task} at length={length} would hold {held / 2**30:.1f} GiB of sequences, more "
            f"than {MAX_GENERATED_BYTES // 2**30} GiB; pass a smaller length="
        )
    parts = {}
    for number, (part, n) in enumerate(zip(SPLITS, sizes)):
        inputs, targets = make(n, length, np.random.default_rng([task_seed, number]))
        parts[part] = Split(inputs, targets)
    return Dataset(
        name=GENERATED,
        source=f"generated: task {task}, length {length}, task_seed {task_seed}",
        fingerprint=GENERATED_FINGERPRINT,
        shape=shape,
        train=parts["train"],
        validation=parts["validation"],
        test=parts["test"],
    )


# --------------------------------------------------------------------------- text


def _chars_task(data: object, length: object) -> Dataset:
    """A text's splits cut into non-overlapping sequences of ``length`` characters: inputs
    ``ids[i L : i L + L]``, targets ``ids[i L + 1 : i L + L + 1]`` (the next characters)."""
    if not is_text(data):
        what = "nothing" if data is None else f"dataset {getattr(data, 'name', data)!r:.60}, not a text"
        raise DataError(f"task chars reads a text: pass text= with a UTF-8 file (got {what})")
    assert isinstance(data, Dataset)
    length = _check_length("chars", length, 1)
    parts = {}
    for part in SPLITS:
        ids = getattr(data, part).images  # (n,) character ids
        n = (len(ids) - 1) // length
        if n < 1:
            raise DataError(
                f"text {data.name}: its {part} split holds {len(ids):,} characters, too few for "
                f"one sequence of length={length} (it needs {length + 1}); pass a smaller length= "
                "or a longer text"
            )
        inputs = ids[: n * length].reshape(n, length)  # (n, L), a view
        targets = ids[1 : n * length + 1].reshape(n, length).astype(np.int64)  # (n, L)
        parts[part] = Split(inputs, targets)
    return Dataset(
        name=data.name,
        source=data.source,
        fingerprint=data.fingerprint,
        shape=data.shape,
        vocab=data.vocab,
        train=parts["train"],
        validation=parts["validation"],
        test=parts["test"],
    )


# --------------------------------------------------------------------------- the user's own


class Task:
    """A task of your own: subclass this (or write any class with these attributes) and name it
    as the task, ``mypackage.module:Class`` (importable) or ``path/to/file.py:Class``.

    Attributes (class attributes, all but ``chance`` and ``version`` required):
        n_input: features one step reads (for ``tokens``: the number of distinct ids).
        n_output: classes (loss ``"xent"``), or 1 (loss ``"mse"``).
        readout: ``"last"`` (one target per sequence) or ``"every"`` (a class at every step).
        loss: ``"xent"`` (cross-entropy, integer targets) or ``"mse"`` (a float per sequence;
            readout ``"last"``, n_output 1).
        metric: how results are scored: ``"accuracy"``, ``"xent"`` or ``"bpc"`` (loss xent),
            or ``"mse"`` (loss mse).
        chance: the metric of a model that learned nothing useful (reports mark trials no better
            than it), or None.
        length: time steps of a sequence.
        tokens: inputs are integer ids (N, length) in 0..n_input-1 (one-hot encoded by
            training), else float features (N, length, n_input).
        version: optional; when given, the task's identity is ``version:<version>`` (change it
            when the data changes), else ``sha256:<16 hex>`` of the file that defines the class
            (any edit of that file makes it another task).

    ``splits(seed)`` returns ``{"train": (inputs, targets), "validation": ..., "test": ...}``
    (numpy arrays, at least one sequence each; targets (N,) integer classes or floats, or
    (N, length) classes for readout "every"), the same for the same seed (the trial's
    ``task_seed``). The class is made with no arguments.

    Example (``spikes.py``; run it as ``task="spikes.py:Spikes"``)::

        import numpy as np
        from lstm_sweep.data import Task

        class Spikes(Task):  # how many spikes (0..4) hide in 50 steps of noise?
            n_input, n_output, length = 1, 5, 50
            readout, loss, metric, chance = "last", "xent", "accuracy", 0.2
            version = "1"

            def splits(self, seed):
                rng = np.random.default_rng(seed)
                def make(n):
                    counts = rng.integers(0, 5, size=n)
                    x = rng.normal(0, 0.1, size=(n, self.length, 1)).astype(np.float32)
                    for i, k in enumerate(counts):
                        x[i, rng.choice(self.length, size=k, replace=False), 0] += 1
                    return x, counts
                return {"train": make(5000), "validation": make(500), "test": make(500)}
    """

    n_input: int
    n_output: int
    readout: str = "last"
    loss: str = "xent"
    metric: str = "accuracy"
    chance: float | None = None
    length: int
    tokens: bool = False
    version: str | None = None

    def splits(self, seed: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """The task's data for ``seed``: ``{"train": (inputs, targets), "validation": ...,
        "test": ...}``."""
        raise NotImplementedError(f"{type(self).__name__} must define splits(self, seed)")


@dataclass(frozen=True)
class UserTask:
    """A user's task, loaded and checked (:func:`load_user_task`).

    Attributes:
        spec: the task's name as given (``module:Class``, ``file.py:Class``).
        cls: the class.
        task_id: its identity: ``version:<version>`` or ``sha256:<16 hex>`` of its source file.
        metric: its metric (``accuracy``, ``xent``, ``bpc``, ``mse``).
        chance: its chance level in that metric, or None.
        length: time steps of a sequence.
        shape: how a model reads it.
        location: where it was loaded from (an absolute path for a file), for another process.
    """

    spec: str
    cls: type
    task_id: str
    metric: str
    chance: float | None
    length: int
    shape: TaskShape
    location: str = ""

    def __reduce__(self):
        # another process (a worker) imports the class again, from the same place
        return (_reload_user_task, (self.spec, self.location or self.spec))


def _reload_user_task(spec: str, location: str) -> UserTask:
    task = load_user_task(location)
    return UserTask(**{**task.__dict__, "spec": spec})


_SPEC = re.compile(r"^(?P<where>.+):(?P<cls>[A-Za-z_]\w*)$")
_MODULE = re.compile(r"^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*$")
_MISSING = object()


def _one_line(e: BaseException) -> str:
    text = " ".join(str(e).split())
    return f"{type(e).__name__}: {text[:200]}" if text else type(e).__name__


def _import_file(spec: str, path: Path) -> object:
    """The module of a ``.py`` file, executed afresh (an edit is read) under a name of its own."""
    if not path.is_file():
        raise DataError(f"task {spec}: no file {path}; name a .py file that defines the class")
    name = "lstm_sweep_user_task_" + hashlib.sha256(str(path).encode()).hexdigest()[:12]
    module_spec = importlib.util.spec_from_file_location(name, path)
    if module_spec is None or module_spec.loader is None:
        raise DataError(f"task {spec}: {path} cannot be imported as Python")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module  # before it runs: dataclasses, pickle and inspect look it up
    try:
        module_spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def _import_class(spec: object) -> tuple[type, str]:
    """The class a spec names, and where it was found (a file's absolute path, or the spec)."""
    match = _SPEC.match(spec) if isinstance(spec, str) else None
    if match is None:
        raise ConfigError(f"task must be module:Class or file.py:Class; got {spec!r:.80}")
    assert isinstance(spec, str)
    where, name = match["where"], match["cls"]
    try:
        if where.endswith(".py"):
            path = Path(where).resolve()
            module = _import_file(spec, path)
            location = f"{path}:{name}"
        elif _MODULE.match(where):
            module, location = importlib.import_module(where), spec
        else:
            raise ConfigError(f"task {spec}: {where!r:.80} is neither a module's dotted name nor a .py file")
    except (ConfigError, DataError):
        raise
    except Exception as e:  # the user's code: anything it raises while importing
        raise DataError(f"task {spec}: cannot import {where} ({_one_line(e)})") from e
    cls = getattr(module, name, None)
    if cls is None:
        raise DataError(f"task {spec}: {where} defines no {name}")
    if not isinstance(cls, type):
        raise DataError(f"task {spec}: {name} in {where} is a {type(cls).__name__}, not a class")
    return cls, location


def _whole(spec: str, cls: type, name: str, top: int) -> int:
    value = getattr(cls, name, _MISSING)
    if value is _MISSING:
        raise ConfigError(f"task {spec}: {cls.__name__} declares no {name} (an integer from 1 to {top:,})")
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 1 <= value <= top:
        raise ConfigError(f"task {spec}: {name} must be an integer from 1 to {top:,}; got {value!r:.60}")
    return int(value)


def _choice(spec: str, cls: type, name: str, choices: tuple[str, ...]) -> str:
    value = getattr(cls, name, _MISSING)
    if value is _MISSING or not isinstance(value, str) or value not in choices:
        got = "nothing" if value is _MISSING else repr(value)[:60]
        raise ConfigError(f"task {spec}: {name} must be one of {', '.join(choices)}; got {got}")
    return value


def _optional(spec: str, cls: type) -> tuple[float | None, str | None, bool]:
    """chance, version and tokens, checked."""
    chance = getattr(cls, "chance", None)
    if chance is not None and (
        isinstance(chance, bool) or not isinstance(chance, (int, float)) or not math.isfinite(chance)
    ):
        raise ConfigError(f"task {spec}: chance must be a finite number or None; got {chance!r:.60}")
    version = getattr(cls, "version", None)
    if version is not None and (
        not isinstance(version, str)
        or not 1 <= len(version) <= 100
        or not version.isprintable()
        or version != version.strip()
    ):
        raise ConfigError(
            f"task {spec}: version must be None or 1 to 100 printable characters without "
            f"leading or trailing space; got {version!r:.60}"
        )
    tokens = getattr(cls, "tokens", False)
    if not isinstance(tokens, (bool, np.bool_)):
        raise ConfigError(f"task {spec}: tokens must be True or False; got {tokens!r:.60}")
    return (None if chance is None else float(chance)), version, bool(tokens)


def _check_attributes(spec: str, cls: type) -> tuple[TaskShape, str, float | None, int, str | None]:
    """The class's shape, metric, chance, length and version, each checked."""
    n_input = _whole(spec, cls, "n_input", MAX_UNITS)
    n_output = _whole(spec, cls, "n_output", MAX_UNITS)
    length = _whole(spec, cls, "length", MAX_STEPS)
    readout = _choice(spec, cls, "readout", ("last", "every"))
    loss = _choice(spec, cls, "loss", ("xent", "mse"))
    metric = _choice(spec, cls, "metric", METRIC_NAMES)
    chance, version, tokens = _optional(spec, cls)
    if loss == "mse" and (n_output != 1 or readout != "last" or metric != "mse"):
        raise ConfigError(
            f"task {spec}: loss mse predicts one number per sequence: it needs n_output 1, "
            f"readout last and metric mse; got n_output {n_output}, readout {readout}, metric {metric}"
        )
    if loss == "xent" and (n_output < 2 or metric == "mse"):
        raise ConfigError(
            f"task {spec}: loss xent classifies: it needs n_output of at least 2 classes and "
            f"metric accuracy, xent or bpc; got n_output {n_output}, metric {metric}"
        )
    shape = TaskShape(n_input, n_output, readout, loss, tokens)
    return shape, metric, chance, length, version


def _identity(spec: str, cls: type, version: str | None) -> str:
    """``version:<version>``, else ``sha256:<16 hex>`` of the file that defines the class."""
    if version is not None:
        return f"version:{version}"
    file = getattr(sys.modules.get(cls.__module__), "__file__", None)
    try:
        blob = Path(file).read_bytes() if file else None
    except OSError:
        blob = None
    if blob is None:
        raise ConfigError(
            f"task {spec}: the file that defines {cls.__name__} cannot be read to identify the "
            "task; declare version = '...' in the class"
        )
    return "sha256:" + hashlib.sha256(blob).hexdigest()[:16]


def load_user_task(spec: str) -> UserTask:
    """Import and check a task of the user's own.

    Args:
        spec: ``package.module:Class`` (imported with importlib, from ``sys.path``) or
            ``path/to/file.py:Class`` (that file, executed afresh on each call). The class has
            :class:`Task`'s attributes and ``splits`` method.

    Returns:
        A :class:`UserTask`: its identity (``version:<v>`` when the class declares ``version``,
        else ``sha256:<16 hex>`` of the source file that defines it), metric, chance, length
        and shape. ``splits`` is not called here (:func:`task_data` does, and checks it).

    Raises:
        ConfigError: ``spec`` is not ``module:Class`` / ``file.py:Class``, or an attribute is
            missing or wrong (naming the task and the attribute).
        DataError: the module or file cannot be imported (naming the spec and the exception, in
            one line), or it defines no such class.
    """
    cls, location = _import_class(spec)
    assert isinstance(spec, str)
    if not callable(getattr(cls, "splits", None)):
        raise ConfigError(f"task {spec}: {cls.__name__} has no method splits(self, seed)")
    shape, metric, chance, length, version = _check_attributes(spec, cls)
    return UserTask(
        spec=spec,
        cls=cls,
        task_id=_identity(spec, cls, version),
        metric=metric,
        chance=chance,
        length=length,
        shape=shape,
        location=location,
    )


def _check_inputs(task: UserTask, where: str, inputs: np.ndarray) -> np.ndarray:
    """A split's inputs as training reads them: int64 ids (N, T) or float32 (N, T, I)."""
    shape, length = task.shape, task.length
    if shape.tokens:
        if inputs.ndim != 2 or inputs.shape[1] != length or not np.issubdtype(inputs.dtype, np.integer):
            raise DataError(
                f"task {task.spec}: {where} inputs are {inputs.dtype} {inputs.shape}; tokens=True "
                f"needs integer ids of shape (N, {length}): N sequences of the task's length"
            )
        if inputs.size and (inputs.min() < 0 or inputs.max() >= shape.n_input):
            raise DataError(
                f"task {task.spec}: {where} inputs hold ids outside 0..{shape.n_input - 1} (n_input)"
            )
        return inputs.astype(np.int64, copy=False)
    want = (length, shape.n_input)
    if inputs.ndim != 3 or inputs.shape[1:] != want or not np.issubdtype(inputs.dtype, np.number):
        raise DataError(
            f"task {task.spec}: {where} inputs are {inputs.dtype} {inputs.shape}; they must be "
            f"numbers of shape (N, {length}, {shape.n_input}): N sequences of its length and n_input"
        )
    if np.issubdtype(inputs.dtype, np.complexfloating):
        raise DataError(f"task {task.spec}: {where} inputs are complex; they must be real numbers")
    floats = inputs.astype(np.float32, copy=False)
    if not np.isfinite(floats).all():
        raise DataError(f"task {task.spec}: {where} inputs hold a NaN or an infinity (as float32)")
    return floats


def _check_targets(task: UserTask, where: str, n: int, targets: np.ndarray) -> np.ndarray:
    """A split's targets as training reads them: int64 classes (N,) or (N, T), float32 (N,)."""
    shape = task.shape
    want = (n, task.length) if shape.readout == "every" else (n,)
    if shape.loss == "mse":
        if targets.shape != want or not np.issubdtype(targets.dtype, np.number):
            raise DataError(
                f"task {task.spec}: {where} targets are {targets.dtype} {targets.shape}; loss mse "
                f"needs numbers of shape {want}"
            )
        floats = targets.astype(np.float32, copy=False)
        if np.issubdtype(targets.dtype, np.complexfloating) or not np.isfinite(floats).all():
            raise DataError(f"task {task.spec}: {where} targets must be finite real numbers")
        return floats
    if targets.shape != want or not np.issubdtype(targets.dtype, np.integer):
        raise DataError(
            f"task {task.spec}: {where} targets are {targets.dtype} {targets.shape}; readout "
            f"{shape.readout} with loss xent needs integer classes of shape {want}"
        )
    if targets.min() < 0 or targets.max() >= shape.n_output:
        raise DataError(
            f"task {task.spec}: {where} targets hold classes outside 0..{shape.n_output - 1} (n_output)"
        )
    return targets.astype(np.int64, copy=False)


def _user_splits(task: UserTask, task_seed: int) -> dict[str, Split]:
    """``task``'s ``splits(task_seed)``, each part checked against its attributes."""
    try:
        got = task.cls().splits(task_seed)
    except Exception as e:  # the user's code
        raise DataError(f"task {task.spec}: splits({task_seed}) failed ({_one_line(e)})") from e
    if not isinstance(got, Mapping) or set(got) != set(SPLITS):
        keys = sorted(map(str, got)) if isinstance(got, Mapping) else type(got).__name__
        raise DataError(
            f"task {task.spec}: splits() must return a dict with keys train, validation and test; got {keys}"
        )
    parts = {}
    for part in SPLITS:
        where = f"splits()[{part!r}]"
        pair = got[part]
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise DataError(f"task {task.spec}: {where} must be a pair (inputs, targets)")
        inputs, targets = np.asarray(pair[0]), np.asarray(pair[1])
        if inputs.ndim == 0 or len(inputs) == 0:
            raise DataError(f"task {task.spec}: {where} is empty; each split needs a sequence")
        inputs = _check_inputs(task, where, inputs)
        parts[part] = Split(inputs, _check_targets(task, where, len(inputs), targets))
    return parts


def user_task_data(task: UserTask, length: object, task_seed: int) -> Dataset:
    """The Dataset of a user's task at ``task_seed`` (named :data:`GENERATED`, with the
    generators' fingerprint: the task's identity is the trial's ``task_id``).

    Raises:
        ConfigError: ``length`` is neither 0 nor the task's own.
        DataError: ``splits`` raises, or returns what its attributes do not describe.
    """
    if isinstance(length, bool) or length not in (0, task.length):
        raise ConfigError(
            f"task {task.spec} has length {task.length} (its class's); pass length=0 or "
            f"{task.length}, not {length!r:.60}"
        )
    parts = _user_splits(task, task_seed)
    return Dataset(
        name=GENERATED,
        source=f"task {task.spec} ({task.task_id}), task_seed {task_seed}",
        fingerprint=GENERATED_FINGERPRINT,
        shape=task.shape,
        train=parts["train"],
        validation=parts["validation"],
        test=parts["test"],
    )


# --------------------------------------------------------------------------- any task


def task_data(data: Dataset | None, task: str | UserTask, length: int, task_seed: int) -> Dataset:
    """The Dataset a trial of ``task`` trains on, its ``shape`` set.

    Args:
        data: the images for rows, pixels and permuted; the text (:func:`~.text.load_text`) for
            chars; ignored (may be None or :func:`generated_data`) for generated tasks and the
            user's own.
        task: a built-in task's name, a user task's ``module:Class`` / ``file.py:Class``, or a
            loaded :class:`UserTask`.
        length: time steps for adding (T), copy (T; its sequences have T + 20) and chars; 0 (or
            the task's own) for the others.
        task_seed: permuted's permutation (:func:`permutation`); the seed of a generated
            task's streams (``np.random.default_rng([task_seed, split number])``) or of a user
            task's ``splits``; ignored by rows, pixels and chars.

    Returns:
        rows: ``data`` itself. pixels / permuted: ``data``'s name, source and fingerprint, inputs
        (N, 784, 1). adding / copy / a user's task: the dataset ``generated``. chars: the text's
        name, source and fingerprint, its splits cut into sequences.

    Raises:
        ConfigError: an unknown task, a bad ``length`` or ``task_seed``, no data for an images
            task, or a user task's wrong attribute.
        DataError: the data does not fit the task (a text for an images task, images for
            chars, a split too short), or a user task cannot be imported or returns bad data.
    """
    task_seed = _check_seed(task_seed)
    made = _task_data(data, task, length, task_seed)
    if made is data:  # rows: the images as they are
        return data
    name = task.spec if isinstance(task, UserTask) else task
    return replace(made, made_for=(name, length, task_seed))


def recipe(data: Dataset) -> tuple[str, str, str]:
    """How another process loads ``data`` as it was loaded (before any task made it its own):
    ``(kind, source, name)``, kind ``"generated"``, ``"text"`` or ``"images"``; what
    :func:`from_recipe` takes. Picklable and small: a worker loads the data itself rather than
    receiving hundreds of megabytes of it."""
    if data.name == GENERATED:
        return ("generated", "", GENERATED)
    if data.vocab:
        return ("text", data.source, data.name)
    return ("images", data.source, data.name)


def from_recipe(kind: str, source: str, name: str) -> Dataset:
    """The data a :func:`recipe` describes, loaded again (its fingerprint is the caller's to
    compare with the one it expects: files can change in between).

    Raises:
        DataError: the files cannot be read (any error of the loaders).
    """
    from .loading import load_dir
    from .text import load_text

    if kind == "generated":
        return generated_data()
    if kind == "text":
        return load_text(source, name=name)
    return load_dir(source)


def data_for_task(data: Dataset, task: str, length: int, task_seed: int) -> Dataset:
    """``data`` as a trial of (``task``, ``length``, ``task_seed``) trains on it: itself where
    :func:`task_data` made it for that trial's task (or it is images and the task is rows),
    else :func:`task_data` of it.

    Raises:
        ConfigError: ``data`` was made for another task (a pixels dataset given to a permuted
            trial would train it unpermuted); any error of :func:`task_data`.
    """
    if data.made_for == (task, length, task_seed) or (task == "rows" and not data.made_for):
        return data
    if data.made_for:
        made = ", ".join(str(v) for v in data.made_for)
        raise ConfigError(
            f"data was made for task ({made}), not ({task}, {length}, {task_seed}); pass the data "
            "as loaded (images, a text or generated_data()) and each trial makes its task's"
        )
    return task_data(data, task, length, task_seed)


def _task_data(data: Dataset | None, task: str | UserTask, length: int, task_seed: int) -> Dataset:
    if isinstance(task, UserTask):
        return user_task_data(task, length, task_seed)
    if task in IMAGE_TASKS:
        return _image_task(data, task, length, task_seed)
    if task in GENERATED_TASKS:
        return _generated_task(task, length, task_seed)
    if task in TEXT_TASKS:
        return _chars_task(data, length)
    if isinstance(task, str) and _SPEC.match(task):
        return user_task_data(load_user_task(task), length, task_seed)
    raise ConfigError(
        f"task must be one of {', '.join(BUILTIN_TASKS)}, or a task of your own as module:Class or "
        f"file.py:Class; got {task!r:.80}"
    )
