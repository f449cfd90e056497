"""What a value of a configuration may be: the bounds every number is checked against, and the
checks that name what they refuse.

Every check raises :class:`~lstm_sweep.errors.ConfigError` naming the value (``hidden size must
be a positive integer, got '16'``), never a raw TypeError or ValueError; :func:`show` quotes the
refused value on one short line, however long, deep or odd it is.
"""

from __future__ import annotations

import math
import reprlib
import unicodedata

from ..errors import ConfigError

# Bounds every number is checked against when a configuration is made, so that nothing can be
# trained and then fail to be stored: SQLite stores integers as signed 64-bit values, and the
# other bounds are far beyond anything that can run (a 2^20-unit LSTM holds 2^46 weights).
MAX_INT64 = 2**63 - 1
MAX_HIDDEN = 2**20
MAX_STEPS = 10**9
MAX_BATCH_SIZE = 2**31 - 1
MAX_SEED = MAX_INT64
MAX_TRIALS = 100_000  # trials in one grid (hw2 with 1,000 seeds is 54,000)
MAX_REPEATS = 10_000
MAX_WORKERS = 256  # worker processes side by side on one machine
MAX_NAME = 100  # characters of a grid's or a dataset's name (data.sources.MAX_NAME_LENGTH too)
# A count's bound by the name its errors give it.
_LIMIT_OF = {
    "hidden size": MAX_HIDDEN,
    "steps": MAX_STEPS,
    "batch size": MAX_BATCH_SIZE,
    "display step": MAX_STEPS,
    "base width": MAX_HIDDEN,
}
# The bounds by option (public: the CLI checks its options against them when it parses).
LIMITS = {
    "hidden": MAX_HIDDEN,
    "seed": MAX_SEED,
    "steps": MAX_STEPS,
    "batch_size": MAX_BATCH_SIZE,
    "repeats": MAX_REPEATS,
    "workers": MAX_WORKERS,
    "trials": MAX_TRIALS,
}

# How an error quotes a value it refuses: one short line, however long, deep or odd the value.
_QUOTE = reprlib.Repr()
_QUOTE.maxstring = _QUOTE.maxother = 40
_QUOTE.maxlevel = 3
_QUOTE.maxlist = _QUOTE.maxtuple = _QUOTE.maxdict = _QUOTE.maxset = 4


def show(value: object) -> str:
    """``value`` as an error message quotes it: a short ``repr`` on one line."""
    if isinstance(value, int) and value.bit_length() > 128:  # repr refuses > 4,300 digits
        return f"an integer of {value.bit_length():,} bits"
    try:
        return _QUOTE.repr(value)
    except Exception:  # noqa: BLE001 - a value whose repr fails (or is too big) is named by type
        return f"a {type(value).__name__}"


def check_count(name: str, value: object, limit: int = MAX_INT64) -> int:
    """``value`` if it is an integer from 1 to ``limit`` (not a bool).

    Raises:
        ConfigError: naming ``name`` and the bound.
    """
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(f"{name} must be a positive integer, got {show(value)}")
    if value > limit:
        raise ConfigError(f"{name} must be at most {limit:,}, got {show(value)}")
    return value


def check_positive_int(name: str, value: object) -> None:
    """:func:`check_count` with the bound of ``name`` (``"hidden size"``: :data:`MAX_HIDDEN`)."""
    check_count(name, value, _LIMIT_OF.get(name, MAX_INT64))


def check_rate(name: str, value: object) -> None:
    """A positive finite number (not a bool), such as a learning rate."""
    try:
        ok = (
            not isinstance(value, bool)
            and isinstance(value, (int, float))
            and math.isfinite(float(value))
            and float(value) > 0
        )
    except OverflowError:  # an int beyond float's range
        ok = False
    if not ok:
        raise ConfigError(f"{name} must be a positive finite number, got {show(value)}")


def check_seed(name: str, value: object) -> None:
    """An integer from 0 to :data:`MAX_SEED` (what the results store holds)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"{name} must be a non-negative integer, got {show(value)}")
    if value > MAX_SEED:
        raise ConfigError(
            f"{name} must be at most 2^63 - 1 = {MAX_SEED} (what the results store holds), got {show(value)}"
        )


def check_choice(name: str, value: object, choices: tuple[str, ...]) -> None:
    """One of ``choices`` (text)."""
    if not isinstance(value, str) or value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}; got {show(value)}")


def check_name(name: str, value: object) -> None:
    """A name shown in tables and progress lines: text on one line (no control characters, no
    line or paragraph separators), of 1 to :data:`MAX_NAME` characters."""
    if (
        not isinstance(value, str)
        or not 1 <= len(value) <= MAX_NAME
        or any(unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in value)
    ):
        raise ConfigError(
            f"{name} must be text of 1 to {MAX_NAME} characters without control characters, got {show(value)}"
        )


def plural(n: int, one: str, many: str | None = None) -> str:
    """``n`` and its noun, singular for one: ``1 trial``, ``3 trials``, ``1,200 cells``."""
    return f"{n:,} {one if n == 1 else many or one + 's'}"
