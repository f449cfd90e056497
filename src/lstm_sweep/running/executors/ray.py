"""The Ray executor: work units as Ray tasks on an existing cluster (or a local Ray instance).

Only the driver writes the store: results stream back with ``ray.wait`` and are committed one by
one. The dataset goes into Ray's object store once (``ray.put``): workers on any node get the same
arrays without a shared file system or a second download, and workers on one node share one
read-only copy. Resource requests come from the planner: ``num_gpus`` for GPU units (a fraction for
small fused groups whose memory fits several to a GPU), ``num_cpus`` = the threads a CPU unit uses.
Faults: a worker process or node that dies mid-task is retried by Ray (``max_retries``); when the
retries are spent, the unit's trials are recorded ``failed``; Ctrl-C cancels what is outstanding.

Checkpoints: workers need no shared file system. A small actor (:class:`_Keeper`, no CPU of its
own) runs on the driver's node and writes the checkpoints its tasks send it into the driver's
checkpoint folder, beside the store; a task that Ray retries on another worker or node (its
first worker killed) asks the actor for the trial's last checkpoint and resumes from it. Their
bytes travel through Ray's object transport, once per checkpoint.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path

from ...data import Dataset
from ...errors import ConfigError
from ...study import TrialResult
from ...training import CheckpointDir, Checkpointing
from ..cost import unit_memory
from ..units import WorkUnit, cpu_cores, workers_for
from .base import Claim, UnitEvents, feed, refuse_options, unit_failed

log = logging.getLogger(__name__)

MAX_RETRIES = 3  # re-runs of a task whose worker process or node died


def _import_ray():
    try:
        import ray
    except ImportError:
        raise ConfigError("executor=ray needs Ray: pip install 'lstm-sweep[ray]'") from None
    return ray


class RayExecutor:
    """A Ray cluster (see :class:`~lstm_sweep.running.executors.base.Executor`).

    Args:
        address: ``HOST:PORT`` of the head node or ``auto``; None starts a local Ray instance.

    Raises:
        ConfigError: Ray is not installed (with how to install it).
    """

    name = "ray"

    def __init__(self, address: str | None = None):
        _import_ray()
        self.address = address

    @classmethod
    def from_options(cls, ray_address: str | None = None, **options) -> RayExecutor:
        refuse_options(cls.name, options, ())
        return cls(ray_address)

    def run(
        self,
        units: Sequence[WorkUnit],
        data: Dataset,
        device,
        *,
        claim: Claim | None = None,
        events: UnitEvents | None = None,
        checkpointing: Checkpointing | None = None,
    ) -> Iterator[tuple[WorkUnit, list[TrialResult]]]:
        yield from run_ray(feed(units, claim), data, device, self.address, events, checkpointing)


def _train_unit(
    configs,
    engine: str,
    data: Dataset,
    device,
    threads: int,
    checkpointing: Checkpointing | None = None,
    until: int | None = None,
    val_every: int | None = None,
):
    import torch

    from ...training import train_group

    torch.set_num_threads(threads)
    return train_group(
        configs,
        data,
        device=device,
        engine=engine,
        checkpointing=checkpointing,
        until=until,
        val_every=val_every,
    )


class _Keeper:
    """The Ray actor that keeps checkpoints in the driver's folder (see the module docstring)."""

    def __init__(self, folder: str):
        self.folder = CheckpointDir(folder)

    def save(self, key: str, blob: bytes) -> None:
        self.folder.save(key, blob)

    def load(self, key: str, limit: int | None = None) -> list[bytes]:
        return self.folder.load(key, limit)


class RayKeeper:
    """Checkpoints through the :class:`_Keeper` actor (a :class:`~lstm_sweep.training.checkpoint.Keeper`)."""

    def __init__(self, actor):
        self.actor = actor

    def save(self, key: str, blob: bytes) -> None:
        ray = _import_ray()
        ray.get(self.actor.save.remote(key, blob))

    def load(self, key: str, limit: int | None = None) -> list[bytes]:
        ray = _import_ray()
        return ray.get(self.actor.load.remote(key, limit))


def _keeper_on_this_node(ray, checkpointing: Checkpointing):
    """The policy with its keeper moved into an actor pinned to this (the driver's) node."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    folder = checkpointing.keeper
    assert isinstance(folder, CheckpointDir)  # the driver's own: a folder on this node
    here = ray.get_runtime_context().get_node_id()
    actor = (
        ray.remote(num_cpus=0, max_restarts=-1)(_Keeper)
        .options(scheduling_strategy=NodeAffinitySchedulingStrategy(node_id=here, soft=False))
        .remote(str(Path(folder.folder).resolve()))
    )  # actors have another cwd
    return actor, replace(checkpointing, keeper=RayKeeper(actor))


def resources_for(unit: WorkUnit, device, device_memory: int | None) -> dict:
    """Ray resource request of one unit (see the module docstring)."""
    if device.type == "cuda":
        if device_memory and unit.engine == "fused":
            share = sum(unit_memory(unit).values()) / device_memory
            for fraction in (0.25, 0.5):  # small groups share a GPU when memory allows
                if share * 1.5 < fraction:
                    return {"num_gpus": fraction, "num_cpus": 1}
        return {"num_gpus": 1, "num_cpus": 1}
    return {"num_cpus": max(1, cpu_cores() // workers_for(unit, device, None))}


def run_ray(
    next_unit,
    data: Dataset,
    device,
    address: str | None = None,
    events=None,
    checkpointing: Checkpointing | None = None,
) -> Iterator[tuple[WorkUnit, list[TrialResult]]]:
    """Run units as Ray tasks; yield ``(unit, results)`` as each finishes.

    ``next_unit`` returns the next unit (None: no more). Units are pulled only as the cluster has
    room for them (its CPUs, and GPUs for GPU work), so that a unit is claimed in the store when
    it is about to run, not long before.
    """
    ray = _import_ray()
    if not ray.is_initialized():
        if address:
            try:
                ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False)
            except (ConnectionError, RuntimeError, ValueError) as e:
                raise ConfigError(
                    f"cannot connect to the Ray cluster at {address!r} "
                    f"({str(e).splitlines()[0][:200]}); check ray_address= "
                    "(HOST:PORT of the head node, or auto)"
                ) from None
        else:
            ray.init(
                num_cpus=cpu_cores(),
                include_dashboard=False,
                logging_level=logging.WARNING,
                log_to_driver=False,
            )
    device_memory = None
    if device.type == "cuda":
        import torch

        device_memory = torch.cuda.get_device_properties(device).total_memory
    cluster = ray.cluster_resources()
    room = max(1, int(cluster.get("CPU", 1)) + 4 * int(cluster.get("GPU", 0)))
    remote = ray.remote(max_retries=MAX_RETRIES, retry_exceptions=False)(_train_unit)
    data_ref = ray.put(data)
    refs: dict = {}
    keeper = None
    if checkpointing is not None and isinstance(checkpointing.keeper, CheckpointDir):
        keeper, checkpointing = _keeper_on_this_node(ray, checkpointing)

    def submit() -> None:
        while len(refs) < room and (unit := next_unit()) is not None:
            res = resources_for(unit, device, device_memory)
            threads = int(res.get("num_cpus", 1))
            args = (unit.configs, unit.engine, data_ref, device, threads, checkpointing)
            ref = remote.options(**res).remote(*args, unit.until, unit.val_every)
            refs[ref] = unit
            if events is not None and events.on_start:
                events.on_start(unit)

    # Ctrl-C: note it and act between ray.wait calls. A KeyboardInterrupt raised at an arbitrary
    # point inside Ray's client code crashed its core worker now and then (seen in the tests).
    interrupted: list[int] = []
    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, lambda *_: interrupted.append(1)) if in_main else None
    try:
        submit()
        while refs:
            if interrupted:
                raise KeyboardInterrupt
            done, _ = ray.wait(list(refs), num_returns=1, timeout=0.5)
            for ref in done:
                unit = refs.pop(ref)
                try:
                    results = ray.get(ref)
                except (ray.exceptions.RayError, OSError) as e:  # retries spent: a result too
                    log.warning("work unit %s failed in Ray: %s", unit.describe(), e)
                    results = unit_failed(unit, f"Ray: {type(e).__name__}: {str(e)[:500]}", device)
                yield unit, results
            submit()
    except BaseException:
        for ref in refs:
            ray.cancel(ref)  # a KeyboardInterrupt inside each task
        raise
    finally:
        if in_main:
            signal.signal(signal.SIGINT, previous)
        if keeper is not None:
            ray.kill(keeper)
