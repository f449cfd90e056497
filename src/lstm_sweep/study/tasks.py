"""The tasks a trial can learn, declared once: what each reads, how long its sequences are, what
it is scored by (its metric, which way is better, its chance level), and the published numbers
beside which a sweep's are shown.

A trial's task is its ``task`` field (an axis, like the cell): a built-in name from
:data:`TASKS`, or a task of the user's own, ``module:Class`` or ``path/to/file.py:Class``
(:mod:`lstm_sweep.data.tasks` loads it; its identity, metric and chance level are trial fields,
so reports read them without importing the user's code). Torch-free: reports and the live page
read it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import ConfigError
from .limits import MAX_NAME, show


@dataclass(frozen=True)
class Metric:
    """How a task's results are scored.

    Attributes:
        name: ``"accuracy"``, ``"bpc"``, ``"mse"`` or ``"xent"`` (a trial field holds it).
        title: how a table or a plot names it (``"test accuracy"``, ``"bits per character"``).
        short: a column's name (``"acc"``, ``"bpc"``).
        higher_is_better: accuracy; the others are losses (lower is better).
        percent: shown as a percentage (accuracy).
    """

    name: str
    title: str
    short: str
    higher_is_better: bool
    percent: bool = False

    @property
    def direction(self) -> str:
        """``"higher is better"`` or ``"lower is better"``."""
        return "higher is better" if self.higher_is_better else "lower is better"

    def better(self, a: float, b: float) -> bool:
        """Whether ``a`` is strictly better than ``b``."""
        return a > b if self.higher_is_better else a < b

    def best(self, values):
        """The best of ``values`` (numbers): the largest accuracy, the smallest loss."""
        return max(values) if self.higher_is_better else min(values)

    def key(self, value: float) -> float:
        """A sort key: larger is better, whichever way the metric points."""
        return value if self.higher_is_better else -value

    def format(self, value: float | None, digits: int = 4) -> str:
        """``97.4%`` (accuracy), ``1.523`` (a loss), ``—`` (none)."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "—"
        if self.percent:
            return f"{100 * value:.{max(digits - 3, 1)}f}%"
        return f"{value:.{digits}g}"


METRICS: dict[str, Metric] = {
    "accuracy": Metric("accuracy", "test accuracy", "acc", True, percent=True),
    "bpc": Metric("bpc", "bits per character", "bpc", False),
    "mse": Metric("mse", "mean squared error", "MSE", False),
    "xent": Metric("xent", "cross-entropy per step (nats)", "loss", False),
}


@dataclass(frozen=True)
class Reference:
    """A published number for a task: ``value`` in the task's metric, with where it comes from
    and how it was obtained (so that a user sees what differs from their sweep); ``length`` the
    sequence length T it was measured at, ``corpus`` the text (where the task has them)."""

    cell: str
    value: float
    source: str
    setup: str
    length: int = 0  # the task's T there (adding, copy); 0: the task has none
    corpus: str = ""  # the text there (chars): another text's bits per character are another task's


_TCN = (
    'Bai, Kolter & Koltun 2018, "An Empirical Evaluation of Generic Convolutional and Recurrent '
    'Networks for Sequence Modeling" (arXiv 1803.01271), Table 1'
)


@dataclass(frozen=True)
class TaskInfo:
    """One task: what it reads, its sequences, its metric and its chance level.

    Attributes:
        name: the task's name (the ``task`` field).
        title: a line that says what it is.
        metric: a key of :data:`METRICS`.
        source: where its data comes from: ``"images"`` (an IDX dataset: MNIST, Fashion-MNIST,
            ...), ``"generated"`` (from a seed, no download), ``"text"`` (a UTF-8 file), or
            ``"user"`` (a task of the user's own).
        fixed_steps: its sequences' length when the task fixes it (rows 28, pixels 784), else 0.
        default_length: the ``length`` a trial gets when it gives none (0: the task has none).
        seeded: reads ``task_seed`` (the permutation; the generator's seed).
        n_input, n_output: the features a step reads and the readout's units (for a text, a
            typical vocabulary: the real one is the file's; the plan's estimate uses this).
        every_step: the loss is taken at every step (else at the last).
        references: published numbers (:class:`Reference`).
        chance: ``chance(length)``: the metric of a model that learned nothing useful, or None.
    """

    name: str
    title: str
    metric: str
    source: str
    fixed_steps: int = 0
    default_length: int = 0
    seeded: bool = False
    n_input: int = 28
    n_output: int = 10
    every_step: bool = False
    references: tuple[Reference, ...] = ()
    chance: Callable[[int], float | None] = lambda length: None

    def steps(self, length: int) -> int:
        """Time steps of one sequence for a trial of this ``length``."""
        if self.fixed_steps:
            return self.fixed_steps
        return length + 20 if self.name == "copy" else length


def _copy_chance(length: int) -> float:
    """The copy task's loss of guessing: blanks everywhere but the 10 recalled symbols, each a
    uniform guess among 8 (ln 8 nats): 10 ln 8 / (T + 20) per step (the TCN paper's baseline)."""
    return 10 * math.log(8) / (length + 20)


TASKS: dict[str, TaskInfo] = {
    t.name: t
    for t in (
        TaskInfo(
            "rows",
            "rows of an image: 28 steps of 28 pixels, the label at the last step (the homework's)",
            "accuracy",
            "images",
            fixed_steps=28,
            chance=lambda length: 0.1,
        ),
        TaskInfo(
            "pixels",
            "sequential MNIST: 784 steps of one pixel, the label at the last step",
            "accuracy",
            "images",
            fixed_steps=784,
            n_input=1,
            references=(
                Reference("lstm", 0.872, _TCN, "~70K parameters, RMSprop 1e-3, gradient clipping"),
                Reference("gru", 0.962, _TCN, "~70K parameters"),
                Reference("rnn", 0.215, _TCN, "~70K parameters"),
            ),
            chance=lambda length: 0.1,
        ),
        TaskInfo(
            "permuted",
            "permuted MNIST: the 784 pixels in one fixed order drawn from task_seed",
            "accuracy",
            "images",
            fixed_steps=784,
            seeded=True,
            n_input=1,
            references=(
                Reference("lstm", 0.857, _TCN, "~70K parameters, one fixed permutation"),
                Reference("gru", 0.873, _TCN, "~70K parameters, one fixed permutation"),
                Reference("rnn", 0.253, _TCN, "~70K parameters, one fixed permutation"),
            ),
            chance=lambda length: 0.1,
        ),
        TaskInfo(
            "adding",
            "the adding problem: two channels (a number in [0, 1), a 0/1 marker at two steps), "
            "predict the sum of the two marked numbers at the last step",
            "mse",
            "generated",
            default_length=600,
            seeded=True,
            n_input=2,
            n_output=1,
            references=(
                Reference(
                    "lstm", 0.164, _TCN, "T = 600, ~70K parameters, 50,000 training sequences", length=600
                ),
                Reference(
                    "gru", 5.3e-5, _TCN, "T = 600, ~70K parameters, 50,000 training sequences", length=600
                ),
            ),
            chance=lambda length: 1 / 6,  # always predicting 1: Var(U + U') = 2/12
        ),
        TaskInfo(
            "copy",
            "copy memory: 10 symbols of 8, T blanks, a marker; recall the 10 symbols at the end "
            "(cross-entropy per step over all T + 20 steps, as the TCN paper scores it)",
            "xent",
            "generated",
            default_length=1000,
            seeded=True,
            n_input=10,
            n_output=10,
            every_step=True,
            references=(
                Reference(
                    "lstm", 0.0204, _TCN, "T = 1000, ~70K parameters, 10,000 training sequences", length=1000
                ),
            ),
            chance=_copy_chance,
        ),
        TaskInfo(
            "chars",
            "character-level language modelling: read a text one character at a time, predict "
            "the next at every step (bits per character on held-out text)",
            "bpc",
            "text",
            default_length=100,
            n_input=100,
            n_output=100,
            every_step=True,
            references=(
                Reference(
                    "lstm",
                    1.36,
                    _TCN,
                    "Penn Treebank characters (not this text), ~3M parameters, seq. 400",
                    corpus="Penn Treebank's characters",
                ),
                Reference(
                    "gru",
                    1.37,
                    _TCN,
                    "Penn Treebank characters (not this text), ~3M parameters",
                    corpus="Penn Treebank's characters",
                ),
            ),
        ),
    )
}
DEFAULT_TASK = "rows"
GENERATED = "generated"  # the dataset name of a generated task's trials

# A task of the user's own: ``package.module:Class`` or ``some/file.py:Class``.
USER_TASK = re.compile(r"^(?:[A-Za-z_][\w]*(?:\.[A-Za-z_][\w]*)*|[^\s,:@]+\.py):[A-Za-z_]\w*$")


def is_user_task(name: object) -> bool:
    """Whether ``name`` names a task of the user's own (``module:Class``, ``file.py:Class``)."""
    return isinstance(name, str) and len(name) <= MAX_NAME and bool(USER_TASK.match(name))


def check_task(noun: str, value: object) -> None:
    """A built-in task's name, or a user task's ``module:Class`` / ``file.py:Class``."""
    if isinstance(value, str) and (value in TASKS or is_user_task(value)):
        return
    raise ConfigError(
        f"{noun} must be one of {', '.join(TASKS)}, or a task of your own as module:Class or "
        f"file.py:Class; got {show(value)}"
    )


def read_task(text: str) -> str:
    """One item of a ``--task`` list (ValueError if it names no task)."""
    if text in TASKS or is_user_task(text):
        return text
    raise ValueError(text)


def task_info(config) -> TaskInfo:
    """The :class:`TaskInfo` of a trial configuration (any object with the task fields): a
    built-in task's, or one made from a user task's fields (``task_metric``,
    ``task_chance``, ``length``)."""
    info = TASKS.get(config.task)
    if info is not None:
        return info
    chance = config.task_chance
    return TaskInfo(
        config.task,
        f"a task of your own ({config.task})",
        config.task_metric or "accuracy",
        "user",
        fixed_steps=config.length,
        chance=lambda length: chance,
    )


def data_kind_of(task: str) -> str:
    """The kind of data ``task`` reads: ``"images"`` (an IDX dataset), ``"text"`` (chars) or
    ``"generated"`` (no files: adding, copy, a task of the user's own). One sweep reads one."""
    info = TASKS.get(task)
    return info.source if info is not None and info.source in ("images", "text") else "generated"


def metric_of(config) -> Metric:
    """The :class:`Metric` a trial is scored by."""
    return METRICS[task_info(config).metric]


def chance_of(config) -> float | None:
    """A trial's chance level in its metric (None: not known, e.g. a text's)."""
    return task_info(config).chance(config.length)


def sequence_steps(config) -> int:
    """Time steps of one of a trial's sequences (rows 28, pixels 784, adding T, copy T + 20)."""
    return task_info(config).steps(config.length)


# A result no better than this fraction of the way from chance is "no better than chance":
# accuracy under twice chance (20 % for ten classes); a loss above 90 % of chance's.
FAILED_ACCURACY_FACTOR = 2.0
FAILED_LOSS_FACTOR = 0.9


def failed_threshold(config) -> float | None:
    """The metric value on the wrong side of which a trial "failed" (learned no better than
    chance): accuracy below twice chance, a loss above 0.9 x chance; None where chance is not
    known."""
    chance = chance_of(config)
    if chance is None:
        return None
    if metric_of(config).higher_is_better:
        return FAILED_ACCURACY_FACTOR * chance
    return FAILED_LOSS_FACTOR * chance


def is_failed(config, value: float | None) -> bool:
    """Whether a result's metric ``value`` is no better than chance (None or NaN: failed)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return True
    threshold = failed_threshold(config)
    if threshold is None:
        return False
    return value < threshold if metric_of(config).higher_is_better else value > threshold


def references(task: str, cell: str | None = None) -> tuple[Reference, ...]:
    """The published numbers of a built-in task (of one cell, if given)."""
    info = TASKS.get(task)
    if info is None:
        return ()
    return tuple(r for r in info.references if cell is None or r.cell == cell)
