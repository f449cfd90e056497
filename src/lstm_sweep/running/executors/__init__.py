"""Executors run work units and hand back their results; only the driver writes the store.

- ``local`` (:mod:`.local`): this machine; small CPU units side by side in worker processes;
- ``inprocess`` (:mod:`.inprocess`): this process, one unit after another (debugging, notebooks);
- ``ray`` (:mod:`.ray`): a Ray cluster (or a local Ray instance).

Adding an executor = one module with a class that follows :class:`.base.Executor` (and a
``from_options`` constructor), and one line in :data:`EXECUTORS`.
"""

from __future__ import annotations

import importlib

from ...errors import ConfigError
from ...study import MAX_WORKERS, show
from .base import Executor, UnitEvents, refuse_options, unit_failed
from .spawning import refuse_in_worker_start

EXECUTORS = {
    "local": ".local:LocalExecutor",
    "inprocess": ".inprocess:InProcessExecutor",
    "ray": ".ray:RayExecutor",
}


# The options an executor may be built with (each executor takes some of them, see from_options)
OPTIONS = ("workers", "ray_address")


def _check_options(options: dict) -> None:
    for key in options:
        if key not in OPTIONS:
            raise ConfigError(f"executors take no option {show(key)}; their options: {', '.join(OPTIONS)}")
    workers = options.get("workers")
    if workers is not None and (
        isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= MAX_WORKERS
    ):
        raise ConfigError(f"workers must be a positive integer, at most {MAX_WORKERS}; got {show(workers)}")
    address = options.get("ray_address")
    if address is not None and (
        not isinstance(address, str) or not address.strip() or not address.isprintable()
    ):
        raise ConfigError(f"ray address must be HOST:PORT or auto, got {show(address)}")


def make_executor(name: str, **options) -> Executor:
    """The executor ``name``, built from the options it takes (``workers``, ``ray_address``);
    an option it does not take, given a value, is refused.

    Raises:
        ConfigError: unknown executor, an unknown option, a bad value (``workers`` not an integer
            from 1 to MAX_WORKERS, ``ray_address`` not text), an option this executor does not
            take, or it cannot run here.
    """
    if not isinstance(name, str) or name not in EXECUTORS:
        raise ConfigError(f"unknown executor {show(name)}; choose one of: {', '.join(EXECUTORS)}")
    _check_options(options)
    module, cls = EXECUTORS[name].split(":")
    return getattr(importlib.import_module(module, __name__), cls).from_options(**options)


__all__ = [
    "EXECUTORS",
    "OPTIONS",
    "Executor",
    "UnitEvents",
    "make_executor",
    "refuse_in_worker_start",
    "refuse_options",
    "unit_failed",
]
