"""A sweep: expand a grid into trials, drop the finished ones, run the rest, store each result.

The driver (this process) is the only writer of the store; each result is committed as soon as
its trial ends, so a sweep killed at any point resumes with exactly the unfinished trials.

Several drivers may run on one store at once (two ``lstm-sweep run`` of one grid, say): each
claims a work unit's trials in the store just before training them (:meth:`Store.claim`), skips
trials another live driver holds, and when it has nothing left to claim waits for the others'
trials, taking over the claims of a driver that died. Each trial is then trained once, and every
driver ends with the whole grid stored.
"""

from __future__ import annotations

import logging
import platform
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import numpy as np
import torch

from .config import MAX_WORKERS, Grid, TrialConfig
from .data import Dataset
from .device import capabilities, check_precision, device_name, resolve_device, unsupported
from .errors import ConfigError, StoreError
from .executors.local import UnitEvents, run_local
from .plan import WorkUnit, make_units, phases
from .results import Status, TrialResult
from .store import Driver, Store, claim_timeout

log = logging.getLogger(__name__)


@dataclass
class SweepCallbacks:
    """Hooks for progress display; every one is optional."""

    on_start: Callable[[list[TrialConfig], int, list[WorkUnit]], None] | None = None
    # (pending trials, skipped trials, the work units they form)
    on_unit_start: Callable[[WorkUnit], None] | None = None
    on_step: Callable[[WorkUnit, int, int], None] | None = None  # (unit, steps done, total)
    on_trial_end: Callable[[TrialResult, int, int], None] | None = None  # (result, i, n)
    # other drivers hold trials this sweep needs: {trial key: "host:pid"}; called as it waits
    on_wait: Callable[[dict[str, str]], None] | None = None


@dataclass(frozen=True)
class SweepSummary:
    total: int  # trials in the grid
    skipped: int  # already finished in the store
    ran: int
    statuses: dict[str, int] = field(default_factory=dict)  # of the trials run now
    wall_s: float = 0.0
    by_others: int = 0  # pending trials that another driver trained meanwhile


def parse_retry(statuses: Iterable[str]) -> frozenset[Status]:
    """Statuses whose stored trials run again (``failed``, ``oom``, ``diverged``)."""
    out = set()
    if isinstance(statuses, str):
        statuses = [x.strip() for x in statuses.split(",")]
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
        "precisions": ",".join(p for p, ok in capabilities(device).items() if ok),
    }


def checked_grid(grid: Grid, device: torch.device, fallback_fp32: bool = False) -> Grid:
    """``grid`` if ``device`` can run its precision; with ``fallback_fp32``, the grid in fp32
    (a warning says so); else ConfigError naming what is missing and the way out."""
    if fallback_fp32 and unsupported(device, grid.precision) is not None:
        log.warning("%s; running fp32 instead (--fallback-fp32)",
                    unsupported(device, grid.precision))
        from dataclasses import replace

        return replace(grid, precision="fp32")
    check_precision(device, grid.precision)
    return grid


def check_fits(grid: Grid, data: Dataset) -> None:
    """Refuse a batch larger than the training set before anything trains."""
    if grid.batch_size > len(data.train):
        raise ConfigError(f"--batch-size {grid.batch_size:,} is larger than the training set of "
                          f"{data.name} ({len(data.train):,} images); use at most "
                          f"{len(data.train):,}")


class _Heartbeat:
    """Keeps this driver's claims alive from a thread of its own (its own connection)."""

    def __init__(self, path: Path, driver: Driver, interval: float):
        self.path, self.driver, self.interval = path, driver, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="lstm-sweep-heartbeat",
                                        daemon=True)

    def _beat(self) -> None:
        try:
            store = Store(self.path)
        except Exception as e:  # noqa: BLE001 - the sweep goes on; its claims may be taken over
            log.warning("heartbeat: cannot open %s (%s)", self.path, e)
            return
        with store:
            while not self._stop.wait(self.interval):
                try:
                    store.heartbeat(self.driver)
                except Exception as e:  # noqa: BLE001 - a missed beat is not fatal
                    log.warning("heartbeat: %s", e)

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=30)


class _Claims:
    """Hands units to the executor, each claimed in the store right before it runs, and cut
    down to the trials that still need training (another driver may have done some)."""

    def __init__(self, store: Store, driver: Driver, retry: frozenset[Status]):
        self.store, self.driver, self.retry = store, driver, retry

    def feed(self, units: Sequence[WorkUnit]) -> Callable[[], WorkUnit | None]:
        left = list(units)

        def next_unit() -> WorkUnit | None:
            while left:
                unit = left.pop(0)
                keys = [c.key() for c in unit.configs]
                got = set(self.store.claim(keys, self.driver, self.retry))
                if got:
                    return WorkUnit(tuple(c for c in unit.configs if c.key() in got), unit.engine)
            return None

        return next_unit

    def unfinished(self, trials: Sequence[TrialConfig]) -> list[TrialConfig]:
        """Trials of ``trials`` not stored yet (retry statuses: not stored since we started)."""
        rows = dict(self.store.finished([t.key() for t in trials]))
        return [t for t in trials if t.key() not in rows or (
            rows[t.key()][0] in self.retry and rows[t.key()][1] < self.driver.started_at)]


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
    fallback_fp32: bool = False,
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
        fallback_fp32: where ``device`` cannot run ``grid.precision``, run fp32 (else refuse).

    Returns:
        A :class:`SweepSummary`. KeyboardInterrupt propagates; finished trials stay stored, and
        this driver's claims are released.

    Raises:
        ConfigError: bad device, precision, engine, workers, batch size or retry value (checked
            before anything runs or the store is opened).
    """
    callbacks = callbacks or SweepCallbacks()
    torch_device = resolve_device(device)
    retry_set = parse_retry(retry)
    grid = checked_grid(grid, torch_device, fallback_fp32)
    check_fits(grid, data)
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int)
                                or not 1 <= workers <= MAX_WORKERS):
        raise ConfigError(f"workers must be a positive integer, at most {MAX_WORKERS}; got {workers!r}")
    make_units(grid.trials(dataset=data.name)[:1], engine, torch_device)  # engine is valid
    if executor not in EXECUTORS:
        raise ConfigError(f"unknown executor {executor!r}; choose one of: {', '.join(EXECUTORS)}")
    if executor == "ray":
        from .executors.ray import check_available

        check_available()
    own_store = not isinstance(store, Store)
    store = Store(store) if own_store else store
    driver = Driver()
    claims = _Claims(store, driver, retry_set)
    try:
        store.results()  # every row checked: a damaged store is refused before anything trains
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
        timeout = claim_timeout()
        with _Heartbeat(store.path, driver, min(10.0, timeout / 4)):
            while units:
                before = finished
                for _, results in _execute(units, claims, data, torch_device, workers, executor,
                                           ray_address, events):
                    for result in results:
                        store.save(result, env, driver)  # committed now: a kill loses nothing
                        counts[str(result.status)] += 1
                        c = result.config
                        log.info("hidden=%d lr=%g seed=%d: %s", c.hidden, c.lr, c.seed,
                                 result.status)
                        if callbacks.on_trial_end:
                            callbacks.on_trial_end(result, finished, len(pending))
                        finished += 1
                if finished == before:  # claimed nothing (a race with another driver): breathe
                    time.sleep(min(1.0, timeout / 4))
                units = make_units(_wait_for_others(claims, pending, callbacks, timeout),
                                   engine, torch_device)
        return SweepSummary(
            total=len(trials), skipped=skipped, ran=finished, statuses=dict(counts),
            wall_s=time.perf_counter() - t0, by_others=len(pending) - finished,
        )
    finally:
        try:
            store.release(driver)
        except StoreError as e:  # e.g. the disk is full: the error that stopped us matters more;
            log.warning("%s", e)  # the claims of a gone driver are taken over by the next one
        finally:
            if own_store:
                store.close()


def _wait_for_others(claims: _Claims, pending: list[TrialConfig], callbacks: SweepCallbacks,
                     timeout: float) -> list[TrialConfig]:
    """After a pass: the pending trials that are neither stored nor held by a live driver, once
    there are any (waiting while other drivers train them); empty when all are stored."""
    told: dict[str, str] | None = None
    while True:
        left = claims.unfinished(pending)
        if not left:
            return []
        held = claims.store.held_elsewhere([t.key() for t in left], claims.driver, timeout)
        free = [t for t in left if t.key() not in held]
        if free:
            return free
        if held != told and callbacks.on_wait:
            callbacks.on_wait(held)
        told = held
        time.sleep(min(1.0, timeout / 4))


EXECUTORS = ("local", "ray")


def _execute(units, claims: _Claims, data, device, workers, executor, ray_address, events):
    """(unit, results) from the chosen executor, as units finish; each unit is claimed when
    the executor is about to run it."""
    if executor == "ray":
        from .executors.ray import run_ray

        yield from run_ray(claims.feed(units), data, device, ray_address, events)
        return
    for phase, n_workers in phases(units, device, workers):
        yield from run_local(claims.feed(phase), data, device, n_workers, events)
