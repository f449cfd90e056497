"""The local executor: this machine's cores. Units run in phases of consecutive units that take
the same number of side-by-side workers (:func:`~lstm_sweep.running.units.workers_for`): one worker runs
in this process; several run in worker processes.

Worker processes (``spawn``) each load the dataset once from its folder, use ``cores // workers``
torch threads, and return :class:`~lstm_sweep.study.results.TrialResult` records; their progress comes
back through a queue. The driver alone writes the store, as each unit finishes.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import multiprocessing
import os
import queue as queue_mod
import signal
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

import torch

from ...data import Dataset, data_for_task, from_recipe, recipe
from ...errors import DataError
from ...study import TrialResult
from ...training import Checkpointing, train_group
from ..units import WorkUnit, cpu_cores, phases
from .base import Claim, NextUnit, UnitEvents, feed, refuse_options, unit_failed
from .inprocess import run_in_process
from .spawning import GUARD, spawn_problem

log = logging.getLogger(__name__)


class LocalExecutor:
    """This machine (see :class:`~lstm_sweep.running.executors.base.Executor`).

    Args:
        workers: units side by side; default: per width, :func:`~lstm_sweep.running.units.workers_for`.
    """

    name = "local"

    def __init__(self, workers: int | None = None):
        self.workers = workers

    @classmethod
    def from_options(cls, workers: int | None = None, **options) -> LocalExecutor:
        refuse_options(cls.name, options, ())
        return cls(workers)

    def run(
        self,
        units: Sequence[WorkUnit],
        data: Dataset,
        device: torch.device,
        *,
        claim: Claim | None = None,
        events: UnitEvents | None = None,
        checkpointing: Checkpointing | None = None,
    ) -> Iterator[tuple[WorkUnit, list[TrialResult]]]:
        events = events or UnitEvents()
        warned = False
        for phase, n in phases(units, device, self.workers):
            next_unit = feed(phase, claim)
            if n > 1 and (problem := spawn_problem()) is not None:
                if not warned:
                    log.warning(
                        "%s: training in this process, one work unit at a time (%d would train side "
                        "by side in worker processes: put the sweep under `%s` in a script file)",
                        problem,
                        n,
                        GUARD,
                    )
                warned, n = True, 1
            if n <= 1:
                yield from run_in_process(next_unit, data, device, events, checkpointing)
            else:
                yield from _run_pool(next_unit, data, device, n, events, checkpointing)


# --------------------------------------------------------------------------- worker processes

_WORKER: dict = {}


def _die_with_parent() -> None:
    """A worker must not outlive its driver (kill -9 of the driver included): on Linux ask the
    kernel to SIGKILL us when the parent dies; elsewhere, a thread watches the parent pid."""
    parent = os.getppid()
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        if libc.prctl(1, signal.SIGKILL, 0, 0, 0) == 0:  # PR_SET_PDEATHSIG = 1
            if os.getppid() != parent:  # the parent died before prctl took effect
                os._exit(1)
            return
    except (OSError, AttributeError):
        pass

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def _init_worker(how: tuple[str, str, str], fingerprint: str, threads: int, progress) -> None:
    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's to handle
    torch.set_num_threads(threads)
    _WORKER["data"] = from_recipe(*how)  # as loaded: each trial makes its task's (train_group)
    _WORKER["fingerprint"] = fingerprint
    _WORKER["progress"] = progress


def _same_data() -> Dataset:
    """The worker's copy of the data, refused (DataError, which stops the sweep) if its files
    are not those the driver loaded: trials must never train on other data under its name."""
    data = _WORKER["data"]
    if data.fingerprint != _WORKER["fingerprint"]:
        raise DataError(
            f"the files in {data.source} changed after this sweep loaded them "
            f"(fingerprint {_WORKER['fingerprint'][:8]}, now {data.fingerprint[:8]}); "
            "run the same command again"
        )
    return data


def _task_data(config) -> Dataset:
    """The worker's data as ``config``'s task reads it, made once per task (the last one kept:
    a sweep runs the units of one task together)."""
    which = (config.task, config.length, config.task_seed)
    made = _WORKER.get("made")
    if made is None or made[0] != which:
        made = (which, data_for_task(_same_data(), *which))
        _WORKER["made"] = made
    return made[1]


def _work(
    index: int, unit: WorkUnit, device: torch.device, checkpointing: Checkpointing | None
) -> tuple[int, list[TrialResult]]:
    progress = _WORKER["progress"]
    progress.put(("start", index, 0, 0))
    results = train_group(
        unit.configs,
        _task_data(unit.configs[0]),
        device=device,
        engine=unit.engine,
        on_step=lambda d, t: progress.put(("step", index, d, t)),
        checkpointing=checkpointing,
        until=unit.until,
        val_every=unit.val_every,
    )
    return index, results


def _run_pool(
    next_unit: NextUnit,
    data: Dataset,
    device: torch.device,
    workers: int,
    events: UnitEvents,
    checkpointing: Checkpointing | None = None,
    attempts: int = 2,
):
    """Units in worker processes. A worker that dies (killed, out of memory) breaks the pool:
    its unfinished units run again in a fresh pool, up to ``attempts`` times in all; then
    their trials are recorded ``failed``, and the sweep goes on."""
    again: list[WorkUnit] = []  # units lost to a broken pool, to run first
    tries: dict[WorkUnit, int] = {}

    def pull() -> WorkUnit | None:
        return again.pop(0) if again else next_unit()

    while True:
        broken = []
        for unit, results in _pool_once(pull, data, device, workers, events, checkpointing):
            if results is None:
                broken.append(unit)
            else:
                yield unit, results
        if not broken:
            return
        for unit in broken:
            tries[unit] = tries.get(unit, 1) + 1
            if tries[unit] > attempts:
                yield (
                    unit,
                    unit_failed(
                        unit, "worker process died (killed, or out of memory) in every attempt", device
                    ),
                )
            else:
                again.append(unit)
        log.warning("a worker process died; %d work units run again", len(again))


def _pool_once(
    pull: NextUnit,
    data: Dataset,
    device: torch.device,
    workers: int,
    events: UnitEvents,
    checkpointing: Checkpointing | None = None,
):
    """Yield (unit, results), or (unit, None) for units lost to a broken pool. At most
    ``workers`` units are pulled ahead of the free workers."""
    ctx = multiprocessing.get_context("spawn")
    progress = ctx.Queue()
    threads = max(1, cpu_cores() // workers) if device.type == "cpu" else 1
    units: list[WorkUnit] = []
    futures: dict = {}
    pool = None
    try:
        while True:
            while len(futures) < workers and (unit := pull()) is not None:
                if pool is None:
                    pool = ProcessPoolExecutor(
                        max_workers=workers,
                        mp_context=ctx,
                        initializer=_init_worker,
                        initargs=(recipe(data), data.fingerprint, threads, progress),
                    )
                units.append(unit)
                futures[pool.submit(_work, len(units) - 1, unit, device, checkpointing)] = unit
            if not futures:
                break
            done, _ = wait(set(futures), timeout=0.2, return_when=FIRST_COMPLETED)
            _drain(progress, units, events)
            broken = False
            for future in done:
                unit = futures.pop(future)
                try:
                    _, results = future.result()
                except BrokenProcessPool:
                    results, broken = None, True
                yield unit, results
            if broken:  # every unit still in the pool is lost with it
                for future in list(futures):
                    yield futures.pop(future), None
                break
        if pool is not None:
            pool.shutdown(wait=True)
    except BaseException:
        # Ctrl-C or an error in the driver: stop the workers now; unfinished units were never
        # stored, so they run again next time.
        if pool is not None:
            for proc in list((getattr(pool, "_processes", None) or {}).values()):
                proc.terminate()
            pool.shutdown(wait=False, cancel_futures=True)
        raise


def _drain(progress, units, events: UnitEvents) -> None:
    while True:
        try:
            kind, index, done, total = progress.get_nowait()
        except queue_mod.Empty:
            return
        if kind == "start" and events.on_start:
            events.on_start(units[index])
        elif kind == "step" and events.on_step:
            events.on_step(units[index], done, total)
