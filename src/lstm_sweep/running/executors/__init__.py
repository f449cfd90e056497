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
from .base import Executor, UnitEvents, refuse_options, unit_failed

EXECUTORS = {
    "local": ".local:LocalExecutor",
    "inprocess": ".inprocess:InProcessExecutor",
    "ray": ".ray:RayExecutor",
}


def make_executor(name: str, **options) -> Executor:
    """The executor ``name``, built from the options it takes (``workers``, ``ray_address``);
    an option it does not take, given a value, is refused.

    Raises:
        ConfigError: unknown executor, an option it does not take, or it cannot run here.
    """
    if name not in EXECUTORS:
        raise ConfigError(f"unknown executor {name!r}; choose one of: {', '.join(EXECUTORS)}")
    module, cls = EXECUTORS[name].split(":")
    return getattr(importlib.import_module(module, __name__), cls).from_options(**options)


__all__ = ["EXECUTORS", "Executor", "UnitEvents", "make_executor", "refuse_options",
           "unit_failed"]
