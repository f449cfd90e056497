"""A sweep: expand a grid into trials, drop the finished ones, run the rest, store each result.

The driver (this process) is the only writer of the store; each result is committed as soon as
its trial ends, so a sweep killed at any point resumes with exactly the unfinished trials.
"""

from __future__ import annotations

import logging
import platform
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import numpy as np
import torch

from .config import Grid, TrialConfig
from .data import Dataset
from .errors import ConfigError
from .executors.local import UnitEvents, run_local
from .plan import WorkUnit, make_units, phases
from .results import Status, TrialResult
from .store import Store
from .train import device_name, resolve_device

log = logging.getLogger(__name__)


@dataclass
class SweepCallbacks:
    """Hooks for progress display; every one is optional."""

    on_start: Callable[[list[TrialConfig], int, list[WorkUnit]], None] | None = None
    # (pending trials, skipped trials, the work units they form)
    on_unit_start: Callable[[WorkUnit], None] | None = None
    on_step: Callable[[WorkUnit, int, int], None] | None = None  # (unit, steps done, total)
    on_trial_end: Callable[[TrialResult, int, int], None] | None = None  # (result, i, n)


@dataclass(frozen=True)
class SweepSummary:
    total: int  # trials in the grid
    skipped: int  # already finished in the store
    ran: int
    statuses: dict[str, int] = field(default_factory=dict)  # of the trials run now
    wall_s: float = 0.0


def parse_retry(statuses: Iterable[str]) -> frozenset[Status]:
    """Statuses whose stored trials run again (``failed``, ``oom``, ``diverged``)."""
    out = set()
    for s in statuses:
        try:
            status = Status(s)
        except ValueError:
            status = None
        if status is None or status is Status.DONE:
            raise ConfigError(f"--retry takes failed, oom or diverged; got {s!r}")
        out.add(status)
    return frozenset(out)


def pending_trials(
    trials: list[TrialConfig], store: Store, retry: frozenset[Status] = frozenset()
) -> list[TrialConfig]:
    """The trials not yet finished in ``store`` (plus stored ones whose status is in ``retry``)."""
    stored = store.statuses()
    return [t for t in trials if t.key() not in stored or stored[t.key()] in retry]


def environment_info(device: torch.device) -> dict:
    """What the results were computed with: versions, platform, device, threads."""
    try:
        version = metadata.version("lstm-sweep")
    except metadata.PackageNotFoundError:  # running from a source tree
        version = "unknown"
    return {
        "lstm_sweep": version,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "device": device_name(device),
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.version.cuda,
    }


def run_sweep(
    grid: Grid,
    data: Dataset,
    store: Store | str | Path,
    *,
    device: str | torch.device = "auto",
    retry: Iterable[str | Status] = (),
    engine: str = "auto",
    workers: int | None = None,
    executor: str = "local",
    ray_address: str | None = None,
    callbacks: SweepCallbacks | None = None,
) -> SweepSummary:
    """Run every unfinished trial of ``grid`` on ``data``, committing each result to ``store``.

    Args:
        grid: the sweep (hidden sizes x learning rates x seeds and the protocol).
        data: the loaded dataset; its name is part of every trial's key.
        store: an open :class:`Store` or a path to one (created if missing).
        device: ``auto``, ``cpu`` or ``cuda``.
        retry: stored statuses to run again (``failed``, ``oom``, ``diverged``).
        engine: ``auto`` (fastest measured per width and device), ``single`` or ``fused``.
        workers: units run side by side (worker processes); default: per width, see
            :func:`~lstm_sweep.plan.workers_for`.
        executor: ``local`` (this machine) or ``ray`` (a Ray cluster; ``ray_address`` or a
            local Ray instance).
        callbacks: progress hooks.

    Returns:
        A :class:`SweepSummary`. KeyboardInterrupt propagates; finished trials stay stored.

    Raises:
        ConfigError: bad device, engine, workers or retry value (checked before anything runs).
    """
    callbacks = callbacks or SweepCallbacks()
    torch_device = device if isinstance(device, torch.device) else resolve_device(device)
    retry_set = parse_retry(retry)
    if workers is not None and (isinstance(workers, bool) or workers < 1):
        raise ConfigError(f"workers must be a positive integer, got {workers!r}")
    make_units(grid.trials(dataset=data.name)[:1], engine, torch_device)  # engine is valid
    if executor not in EXECUTORS:
        raise ConfigError(f"unknown executor {executor!r}; choose one of: {', '.join(EXECUTORS)}")
    if executor == "ray":
        from .executors.ray import check_available

        check_available()
    own_store = not isinstance(store, Store)
    store = Store(store) if own_store else store
    try:
        trials = grid.trials(dataset=data.name)
        pending = pending_trials(trials, store, retry_set)
        skipped = len(trials) - len(pending)
        units = make_units(pending, engine, torch_device)
        if callbacks.on_start:
            callbacks.on_start(pending, skipped, units)
        env = environment_info(torch_device)
        counts: Counter[str] = Counter()
        events = UnitEvents(callbacks.on_unit_start, callbacks.on_step)
        t0 = time.perf_counter()
        finished = 0
        for _, results in _execute(units, data, torch_device, workers, executor, ray_address,
                                   events):
            for result in results:
                store.save(result, env)  # committed now: a kill later loses nothing
                counts[str(result.status)] += 1
                c = result.config
                log.info("hidden=%d lr=%g seed=%d: %s", c.hidden, c.lr, c.seed, result.status)
                if callbacks.on_trial_end:
                    callbacks.on_trial_end(result, finished, len(pending))
                finished += 1
        return SweepSummary(
            total=len(trials), skipped=skipped, ran=len(pending), statuses=dict(counts),
            wall_s=time.perf_counter() - t0,
        )
    finally:
        if own_store:
            store.close()


EXECUTORS = ("local", "ray")


def _execute(units, data, device, workers, executor, ray_address, events):
    """(unit, results) from the chosen executor, as units finish."""
    if executor == "ray":
        from .executors.ray import run_ray

        yield from run_ray(units, data, device, ray_address, events)
        return
    for phase, n_workers in phases(units, device, workers):
        yield from run_local(phase, data, device, n_workers, events)
