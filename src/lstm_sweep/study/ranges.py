"""Learning rates as ranges: ``1e-4:1e-1:4`` (log-spaced) or ``2^-12:2^-4`` (factors of two),
the way a sweep names many rates at once (:func:`lr_range`)."""

from __future__ import annotations

import math

from ..errors import ConfigError
from .limits import show

MAX_RANGE_POINTS = 1000  # values one learning-rate range may make


def _range_number(text: str) -> float:
    """``1e-3``, ``0.5`` or a power of two ``2^-10``, as a positive finite float."""
    text = text.strip()
    base, caret, power = text.partition("^")
    try:
        if caret:
            if base.strip() != "2":
                raise ValueError
            value = 2.0 ** int(power)
        else:
            value = float(text)
    except (ValueError, OverflowError):
        raise ConfigError(
            f"{text[:40]!r} is not a number (e.g. 1e-3) or a power of two (e.g. 2^-10)"
        ) from None
    if not (math.isfinite(value) and value > 0):
        raise ConfigError(f"a learning rate must be a positive finite number, got {text[:40]!r}")
    return value


def lr_range(text: str) -> tuple[float, ...]:
    """The learning rates ``text`` names: one value (``1e-3``, ``2^-10``), or a log-spaced range
    ``START:STOP:N`` (N values from START to STOP, both included: ``1e-4:1e-1:4`` is 1e-4,
    1e-3, 1e-2, 1e-1) or ``START:STOP`` (START, 2·START, 4·START, ... up to STOP: factors of two,
    e.g. ``2^-12:2^-4`` or ``0.0002:0.0512``).

    The values of an N-point range are rounded to 12 significant digits, so that they are the
    same numbers on every machine and equal to the same values listed by hand (``1e-4:1e-1:4``
    makes the trials, and keys, of ``1e-4,1e-3,1e-2,1e-1``); doubling is exact in binary.

    Raises:
        ConfigError: not a number or range, STOP below START, N not a whole number from 2 to
            :data:`MAX_RANGE_POINTS`, a range of more values than that, or ends too close
            together for N distinct values (all rounded to 12 digits).
    """
    if not isinstance(text, str):
        raise ConfigError(f"a learning rate range must be text, got {show(text)}")
    parts = text.split(":")
    if len(parts) == 1:
        return (_range_number(parts[0]),)
    if len(parts) > 3:
        raise ConfigError(
            f"{text[:60]!r} is not a range: START:STOP (factors of two) or START:STOP:N (N log-spaced values)"
        )
    start, stop = _range_number(parts[0]), _range_number(parts[1])
    if stop < start:
        raise ConfigError(f"range {text[:60]!r} runs downwards: give START:STOP with START <= STOP")
    if len(parts) == 3:
        try:
            n = int(parts[2])
        except ValueError:
            n = 0
        if not 2 <= n <= MAX_RANGE_POINTS:
            raise ConfigError(
                f"range {text[:60]!r}: N must be a whole number from 2 to "
                f"{MAX_RANGE_POINTS}, got {parts[2][:20]!r}"
            )
        if stop == start:
            raise ConfigError(f"range {text[:60]!r} has {n} points between equal ends")
        lo, hi = math.log(start), math.log(stop)  # stop / start, or exp(hi - lo), may overflow
        try:
            middle = [float(f"{math.exp(lo + (hi - lo) * k / (n - 1)):.12g}") for k in range(1, n - 1)]
        except OverflowError:  # rounding at the very top of float's range
            middle = [math.inf]
        values = (start, *middle, stop)
        if not all(math.isfinite(v) and v > 0 for v in values) or any(
            b <= a for a, b in zip(values, values[1:])
        ):
            raise ConfigError(
                f"range {text[:60]!r}: its ends are too close together (or too near "
                f"float's limits) for {n} distinct values; give fewer points or "
                "wider ends"
            )
        return values
    count = math.floor(math.log2(stop) - math.log2(start) + 1e-9) + 1
    if count > MAX_RANGE_POINTS:
        raise ConfigError(
            f"range {text[:60]!r} makes {count:,} values; at most {MAX_RANGE_POINTS} are allowed"
        )
    # (the 1e-9 above keeps a STOP that is START·2^k up to rounding; beyond float's top it is
    # no value)
    return tuple(v for v in (start * 2.0**k for k in range(count)) if math.isfinite(v))
