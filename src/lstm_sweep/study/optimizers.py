"""The optimizers a trial can use, in TF 1.x's forms, and their settings: :data:`OPTIMIZERS`
(each with TF's defaults) and :func:`optimizer_settings`, which checks settings and keeps those
that differ from TF's defaults (only they enter a trial's identity).
:mod:`lstm_sweep.training.optim` implements them."""

from __future__ import annotations

import itertools
import math
import numbers
from collections.abc import Callable, Iterable, Mapping

from ..errors import ConfigError
from .limits import check_choice, show

# TF 1.x optimizers: name -> its settings with TF's defaults.
# A setting at its default is not part of a trial's identity; one that differs is.
OPTIMIZERS: dict[str, dict[str, float]] = {
    "adam": {"beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8},
    "sgd": {},
    "momentum": {"momentum": 0.9, "nesterov": 0.0},
    "rmsprop": {"decay": 0.9, "momentum": 0.0, "epsilon": 1e-10},
    "adagrad": {"initial_accumulator_value": 0.1},
}

# setting -> (the values it takes, in words; whether a value is one of them), for OPTIMIZERS
_FRACTION = ("at least 0 and below 1", lambda x: 0 <= x < 1)
_ABOVE_ZERO = ("above 0", lambda x: x > 0)
_SETTING_RANGE: dict[str, tuple[str, Callable[[float], bool]]] = {
    "beta1": _FRACTION,
    "beta2": _FRACTION,
    "decay": _FRACTION,
    "momentum": _FRACTION,
    "epsilon": _ABOVE_ZERO,
    "initial_accumulator_value": _ABOVE_ZERO,
    "nesterov": ("0 or 1", lambda x: x in (0, 1)),
}
_MAX_SETTINGS = 64  # far more than any grid's optimizers have (a bound for generated junk)


def setting_pairs(opt: object) -> list[tuple[str, object]]:
    """``opt`` (a mapping or ``(name, value)`` pairs) as a list of pairs, each name once.

    Raises:
        ConfigError: not pairs, a name that is not text, or a setting given twice.
    """
    how = "optimizer settings (opt) must be a mapping or (name, value) pairs, e.g. {'momentum': 0.99}"
    if isinstance(opt, Mapping):
        items = list(itertools.islice(opt.items(), _MAX_SETTINGS + 1))
    elif isinstance(opt, (str, bytes, bytearray)) or not isinstance(opt, Iterable):
        raise ConfigError(f"{how}; got {show(opt)}")
    else:
        items = list(itertools.islice(opt, _MAX_SETTINGS + 1))
    if len(items) > _MAX_SETTINGS:
        raise ConfigError(f"optimizer settings (opt): at most {_MAX_SETTINGS} are allowed")
    pairs: dict[str, object] = {}
    for item in items:
        if not isinstance(item, (tuple, list)) or len(item) != 2:
            raise ConfigError(f"{how}; got {show(item)} in {show(opt)}")
        name, value = item
        if not isinstance(name, str):
            raise ConfigError(f"an optimizer setting's name must be text, got {show(name)}")
        if name in pairs:
            raise ConfigError(
                f"optimizer setting {show(name)} is given twice ({show(pairs[name])} "
                f"and {show(value)}): give it once"
            )
        pairs[name] = value
    return list(pairs.items())


def _setting_value(optimizer: str, name: str, value: object) -> float:
    """The value of setting ``name`` as a float. Raises ConfigError: not a number, or out of range."""
    flag = name == "nesterov" and isinstance(value, bool)  # a flag: True/False read as 1/0
    if (isinstance(value, bool) and not flag) or not isinstance(value, numbers.Real):
        raise ConfigError(f"{optimizer} setting {name} must be a number, got {show(value)}")
    try:
        number = float(value)
    except (OverflowError, ValueError):  # a huge int or fraction
        number = math.inf
    allowed, ok = _SETTING_RANGE[name]
    if not math.isfinite(number) or not ok(number):
        raise ConfigError(
            f"{optimizer} setting {name}={show(value)} is out of range ({name} must be {allowed})"
        )
    return number


def optimizer_settings(optimizer: str, opt: object) -> tuple[tuple[str, float], ...]:
    """``opt`` (pairs or a mapping) checked against ``optimizer``'s settings, as sorted
    ``(name, value)`` pairs without those at TF's default (so they do not change trial keys).

    Raises:
        ConfigError: an unknown optimizer, ``opt`` not a mapping or pairs, an unknown setting,
            one given twice, or a value that is not a finite number in its range.
    """
    check_choice("optimizer", optimizer, tuple(OPTIMIZERS))
    known = OPTIMIZERS[optimizer]
    out = {}
    for name, value in setting_pairs(opt):
        if name not in known:
            have = ", ".join(known) or "none"
            raise ConfigError(f"{optimizer} has no setting {show(name)} (its settings: {have})")
        out[name] = _setting_value(optimizer, name, value)
    return tuple(sorted((k, v) for k, v in out.items() if v != known[k]))
