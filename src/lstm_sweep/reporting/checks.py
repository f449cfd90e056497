"""The checks at the boundary of every public reporting function: a wrong argument is one
ConfigError that names it (``rows must be an axis name ...``), never a TypeError or KeyError
from deep inside.

Results are checked as a store holds them (the store refuses the same rows on reading): a
:class:`TrialResult` whose config is a :class:`TrialConfig`, whose status is a :class:`Status`,
whose accuracies are fractions (a task scored by a loss: finite and not negative) and whose
times are finite and not negative.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TypeGuard

from ..errors import ConfigError
from ..study import TrialResult, metric_of


def kind_of(value: object) -> str:
    """How a refusal names what it got: ``str 'abc'``, ``int 5``, ``NoneType``."""
    if value is None or isinstance(value, (list, tuple, dict, set)):
        return type(value).__name__
    return f"{type(value).__name__} {value!r:.40}"


def is_number(value: object) -> TypeGuard[int | float]:
    """A real number, not a bool (``True`` is an int to Python, not to a user)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def sequence(name: str, value: object) -> list:
    """``value`` as a list: a list, tuple or other iterable of items, never a string, bytes
    or a mapping (iterating those gives characters or keys, not items)."""
    if isinstance(value, (str, bytes, dict)) or not isinstance(value, Iterable):
        raise ConfigError(f"{name} must be a list, got {kind_of(value)}")
    try:
        return list(value)
    except Exception as e:  # an iterable that fails while iterating (a generator that raises)
        raise ConfigError(f"{name} could not be read as a list ({type(e).__name__})") from None


_FRACTIONS = ("test_accuracy", "val_accuracy")
_TIMES = ("wall_s", "cpu_s", "started_at")


def _result_problem(r: object) -> str | None:
    """What is wrong with one item of a results list (None: it is a sound TrialResult). A
    TrialResult checks the kinds of its fields when it is made; what it takes and a store
    refuses (an accuracy of 5, a negative time, a group of none) is refused here."""
    if not isinstance(r, TrialResult):
        return f"is {kind_of(r)}, not a TrialResult"
    loss = metric_of(r.config).name != "accuracy"  # a loss: bpc, MSE, nats (TrialResult's)
    for name in _FRACTIONS:
        v = getattr(r, name)
        if v is None:
            continue
        if loss and not (is_number(v) and math.isfinite(v) and v >= 0):
            return f"has {name} {kind_of(v)}, not a finite loss >= 0 or None"
        if not loss and not (is_number(v) and 0 <= v <= 1):
            return f"has {name} {kind_of(v)}, not a fraction from 0 to 1 or None"
    for name in _TIMES:
        v = getattr(r, name)
        if not (is_number(v) and math.isfinite(v) and v >= 0):
            return f"has {name} {kind_of(v)}, not a finite number of seconds >= 0"
    if r.group_size < 1:
        return f"has group_size {kind_of(r.group_size)}, not a whole number >= 1"
    return None


def results(value: object, name: str = "results") -> list[TrialResult]:
    """``value`` as a list of sound :class:`TrialResult` (see the module's docstring).

    Raises:
        ConfigError: naming ``name`` and the first bad item.
    """
    items = sequence(name, value)
    for i, r in enumerate(items):
        problem = _result_problem(r)
        if problem:
            raise ConfigError(f"{name}[{i}] {problem}")
    return items


def items_of(name: str, value: object, kind: type, what: str) -> list:
    """``value`` as a list whose every item is a ``kind`` (``what`` names it in the refusal)."""
    items = sequence(name, value)
    for i, item in enumerate(items):
        if not isinstance(item, kind):
            raise ConfigError(f"{name}[{i}] is {kind_of(item)}, not {what}")
    return items


def choice(name: str, value: object, choices: Iterable[str], role: str = "") -> str:
    """``value`` if it is one of ``choices`` (text), else a ConfigError naming ``name`` (and
    its ``role``: ``unknown axis 'width' for the best over``)."""
    choices = tuple(choices)
    if not isinstance(value, str) or value not in choices:
        raise ConfigError(f"unknown {name} {value!r:.40}{role}; choose one of: {', '.join(choices)}")
    return value


def text(name: str, value: object) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"{name} must be text, got {kind_of(value)}")
    return value


def flag(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{name} must be True or False, got {kind_of(value)}")
    return value


def optional_width(name: str, value: object) -> int | None:
    """None, or a positive whole number (a hidden size)."""
    if value is not None and not (isinstance(value, int) and not isinstance(value, bool) and value > 0):
        raise ConfigError(f"{name} must be a positive whole number or None, got {kind_of(value)}")
    return value


def optional_rate(name: str, value: object) -> float | None:
    """None, or a positive finite number (a learning rate)."""
    if value is None or (is_number(value) and math.isfinite(value) and value > 0):
        return value
    raise ConfigError(f"{name} must be a positive number or None, got {kind_of(value)}")


def path(name: str, value: object) -> Path:
    """``value`` (text or a path object) as a Path."""
    if not isinstance(value, (str, os.PathLike)) or isinstance(value, bytes):
        raise ConfigError(f"{name} must be a file path (text or a Path), got {kind_of(value)}")
    try:
        p = Path(value)
    except TypeError:  # a PathLike whose __fspath__ returns bytes
        raise ConfigError(f"{name} must be a file path of text, got {kind_of(value)}") from None
    if "\x00" in str(p):  # no file system takes one (os.stat raises ValueError)
        raise ConfigError(f"{name} {str(p)!r:.80} holds a NUL character: not a file path")
    return p


def paths(name: str, value: object) -> list[Path]:
    return [path(f"{name}[{i}]", p) for i, p in enumerate(sequence(name, value))]


def pairs(name: str, value: object) -> list[tuple[str, str]]:
    """``value`` as a list of (text, text) pairs (``--where`` conditions)."""
    out = []
    for i, p in enumerate(sequence(name, value)):
        if not (
            isinstance(p, Sequence)
            and not isinstance(p, (str, bytes))
            and len(p) == 2
            and all(isinstance(x, str) for x in p)
        ):
            raise ConfigError(f"{name}[{i}] must be an (axis, value) pair of text, got {kind_of(p)}")
        out.append((p[0], p[1]))
    return out
