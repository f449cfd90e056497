"""The Ray executor: work units as Ray tasks on an existing cluster (or a local Ray instance).

Only the driver writes the store: results stream back with ``ray.wait`` and are committed one by
one. The dataset goes into Ray's object store once (``ray.put``): workers on any node get the same
arrays without a shared file system or a second download, and workers on one node share one
read-only copy. Resource requests come from the planner: ``num_gpus`` for GPU units (a fraction for
small fused groups whose memory fits several to a GPU), ``num_cpus`` = the threads a CPU unit uses.
Faults: a worker process or node that dies mid-task is retried by Ray (``max_retries``); when the
retries are spent, the unit's trials are recorded ``failed``; Ctrl-C cancels what is outstanding.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator, Sequence

from ..data import Dataset
from ..errors import ConfigError
from ..plan import WorkUnit, cpu_cores, unit_memory, workers_for
from ..results import TrialResult
from . import unit_failed

log = logging.getLogger(__name__)

MAX_RETRIES = 3  # re-runs of a task whose worker process or node died


def _import_ray():
    try:
        import ray
    except ImportError:
        raise ConfigError("--executor ray needs Ray: pip install 'lstm-sweep[ray]'") from None
    return ray


def check_available() -> None:
    """Raise ConfigError (how to install it) when Ray is missing."""
    _import_ray()


def _train_unit(configs, engine: str, data: Dataset, device: str, threads: int):
    import torch

    from ..train import train_group

    torch.set_num_threads(threads)
    return train_group(configs, data, device=device, engine=engine)


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
    units: Sequence[WorkUnit],
    data: Dataset,
    device,
    address: str | None = None,
    events=None,
) -> Iterator[tuple[WorkUnit, list[TrialResult]]]:
    """Run ``units`` as Ray tasks; yield ``(unit, results)`` as each finishes."""
    ray = _import_ray()
    if not ray.is_initialized():
        if address:
            ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False)
        else:
            ray.init(num_cpus=cpu_cores(), include_dashboard=False,
                     logging_level=logging.WARNING, log_to_driver=False)
    device_memory = None
    if device.type == "cuda":
        import torch

        device_memory = torch.cuda.get_device_properties(device).total_memory
    remote = ray.remote(max_retries=MAX_RETRIES, retry_exceptions=False)(_train_unit)
    data_ref = ray.put(data)
    refs = {}
    for unit in units:
        res = resources_for(unit, device, device_memory)
        threads = int(res.get("num_cpus", 1))
        ref = remote.options(**res).remote(unit.configs, unit.engine, data_ref, str(device),
                                           threads)
        refs[ref] = unit
        if events is not None and events.on_start:
            events.on_start(unit)
    pending = list(refs)
    # Ctrl-C: note it and act between ray.wait calls. A KeyboardInterrupt raised at an arbitrary
    # point inside Ray's client code crashed its core worker now and then (seen in the tests).
    interrupted: list[int] = []
    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, lambda *_: interrupted.append(1)) if in_main else None
    try:
        while pending:
            if interrupted:
                raise KeyboardInterrupt
            done, pending = ray.wait(pending, num_returns=1, timeout=0.5)
            for ref in done:
                unit = refs[ref]
                try:
                    results = ray.get(ref)
                except (ray.exceptions.RayError, OSError) as e:  # retries spent: a result too
                    log.warning("work unit %s failed in Ray: %s", unit.describe(), e)
                    results = unit_failed(unit, f"Ray: {type(e).__name__}: {str(e)[:500]}", device)
                yield unit, results
    except BaseException:
        for ref in pending:
            ray.cancel(ref)  # a KeyboardInterrupt inside each task
        raise
    finally:
        if in_main:
            signal.signal(signal.SIGINT, previous)
