"""The CLI's parameter types: what a typed value may be, refused with one line that says why.

``AxisList`` reads an axis's values (``16,32,64``) as the axis's declaration reads them;
``CommaList`` reads other lists, each item checked; ``Pair`` reads ``NAME=VALUE``. Each refusal
names the value (cut to 60 characters) and what was expected.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable

import click

import lstm_sweep as api
from lstm_sweep import DATASETS, ConfigError
from lstm_sweep.reporting import printable
from lstm_sweep.study import LIMITS, Refused, a_name, axis_options, int_in, one_of, read_list


class Choice(click.Choice):
    """click's choice in any case (``--format CSV``), refusing another value with the nearest
    choice (``--rows hiden``: did you mean 'hidden'?)."""

    def __init__(self, choices):
        super().__init__(choices, case_sensitive=False)

    def convert(self, value, param, ctx):
        try:
            return super().convert(value, param, ctx)
        except click.BadParameter as e:
            names = [str(c) for c in self.choices]
            close = difflib.get_close_matches(str(value).lower(), names, n=1, cutoff=0.6)
            if not close:
                raise
            self.fail(f"{e.message.rstrip('.')}; did you mean {close[0]!r}?", param, ctx)


class AxisList(click.ParamType):
    """An axis's values, ``16,32`` -> ``(16, 32)``, read and refused as its declaration says
    (``axis.parse``); the metavar is how it calls one value (``A POSITIVE INTEGER``)."""

    def __init__(self, axis):
        self.axis, self.name = axis, axis.one

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        try:
            return self.axis.parse(str(value))
        except ConfigError as e:
            self.fail(self._with_choices(str(e)), param, ctx)

    def _with_choices(self, message: str) -> str:
        """A refusal of an axis whose values are also free-form (a task: a built-in one, or
        ``module:Class``) that does not name its choices yet, with them."""
        choices = self.axis.values.choices
        if not choices or ", ".join(choices) in message:
            return message
        return f"{message}: choose one of {', '.join(choices)}, or your own as module:Class or file.py:Class"


class CommaList(click.ParamType):
    """``16,32,64`` -> a tuple of values, each checked by ``convert_one``."""

    def __init__(self, name: str, plural: str, convert_one: Callable[[str], object]):
        self.name, self.plural = name, plural
        self._convert_one = convert_one

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        try:
            return read_list(str(value), self._convert_one, self.name, self.plural)
        except ConfigError as e:
            self.fail(str(e), param, ctx)


class Pair(click.ParamType):
    """``NAME=VALUE`` -> (name, the value as ``convert_value`` reads it)."""

    def __init__(self, name: str, form: str, convert_value: Callable[[str], object]):
        self.name, self.form = name, form
        self._convert_value = convert_value

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        key, sep, text = str(value).partition("=")
        try:
            if not sep or not key.strip():
                raise ValueError
            return key.strip(), self._convert_value(text)
        except ValueError:
            self.fail(f"{str(value)[:60]!r} is not {self.form}", param, ctx)


class WindowType(click.ParamType):
    """A factor above 1 (``10`` = a decade either side), or ``off`` (None)."""

    name = "factor"

    def convert(self, value, param, ctx):
        if value is None or isinstance(value, float):
            return value
        try:
            return _window(str(value))
        except ValueError:
            self.fail(
                f"{printable(str(value))[:40]!r} is not a factor above 1 (10 = a decade either side) or off",
                param,
                ctx,
            )


def _window(text: str) -> float | None:
    if text.strip().lower() == "off":
        return None
    value = float(text)
    if not 1 < value < float("inf"):
        raise ValueError(text)
    return value


def _status(text: str) -> str:
    if text not in {str(s) for s in api.Status} or text == "done":
        raise Refused("not a status to retry: --retry takes failed, oom, diverged or pruned")
    return text


def _text(text: str) -> str:
    if not text.strip():
        raise ValueError(text)
    return text.strip()


# The axes' lists that commands other than a sweep take (coord-check's widths, plot's rate)
_AXES = {a.name: AxisList(a) for a in axis_options()}
HIDDEN, LRS, SEEDS, PARAM_LIST = (_AXES[name] for name in ("hidden", "lr", "seed", "param"))
STATUSES = CommaList("a status to retry", "statuses", _status)
RUNGS = CommaList("a step", "steps", int_in(1, LIMITS["steps"]))
DATASET_LIST = CommaList("a dataset", "datasets", one_of(tuple(DATASETS)))
NAMES = CommaList("a name", "names", a_name)
SETTING = Pair("setting", "NAME=NUMBER (e.g. momentum=0.99)", float)
CONDITION = Pair("condition", "AXIS=VALUE (e.g. cell=gru)", _text)
WINDOW = WindowType()
