"""A sweep, one path from request to results: a :class:`SweepRequest` (every input checked once)
is planned once into a :class:`Plan` (pending trials, work units, costs), and the plan is
executed: units go to the executor, each result is committed to the store as it arrives.

    request -> plan -> executor -> engine -> store -> reports

The driver (this process) is the only writer of the store; each result is committed as soon as
its trial ends, so a sweep killed at any point resumes with exactly the unfinished trials.

Several drivers may run on one store at once (two ``lstm-sweep run`` of one grid, say): each
claims a work unit's trials in the store just before training them (:meth:`Store.claim`), skips
trials another live driver holds, and when it has nothing left to claim waits for the others'
trials, taking over the claims of a driver that died. Each trial is then trained once, and every
driver ends with the whole grid stored.
"""

from __future__ import annotations

import decimal
import itertools
import logging
import math
import os
import platform
import shutil
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..data import GENERATED, Dataset, check_dataset_name, is_text
from ..errors import ConfigError, LstmSweepError, StoreError
from ..store import (
    Driver,
    Heartbeat,
    Store,
    check_regular,
    claim_timeout,
    dataset_mismatch,
    heartbeat_interval,
    result_problem,
)
from ..study import (
    MAX_WORKERS,
    PRECISIONS,
    TASKS,
    Grid,
    Status,
    TrialConfig,
    TrialResult,
    checkpoint_dir,
    data_kind_of,
    is_user_task,
    show,
)
from ..training import (
    DEFAULT_EVERY_S,
    ENGINE_CHOICES,
    CheckpointDir,
    Checkpointing,
    capabilities,
    check_precision,
    check_val_every,
    choose_engine,
    device_name,
    flushed,
    resolve_device,
    unsupported,
)
from .calibration import calibrations_for
from .cost import (
    MAX_ETA_S,
    SweepPlan,
    checkpoint_need,
    dataset_bytes,
    human_bytes,
    human_seconds,
    plan_units,
    render_plan,
)
from .executors import Executor, UnitEvents, make_executor, refuse_in_worker_start
from .units import WorkUnit, make_units

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

    def __post_init__(self) -> None:  # a hook that is not a function fails here, not mid-sweep
        for name in ("on_start", "on_unit_start", "on_step", "on_trial_end", "on_wait"):
            hook = getattr(self, name)
            if hook is not None and not callable(hook):
                raise ConfigError(f"SweepCallbacks.{name} must be a function or None, got {show(hook)}")


@dataclass(frozen=True)
class SweepSummary:
    total: int  # trials in the grid
    skipped: int  # already finished in the store
    ran: int
    statuses: dict[str, int] = field(default_factory=dict)  # of the trials run now
    wall_s: float = 0.0
    by_others: int = 0  # pending trials that another driver trained meanwhile


def parse_retry(statuses: Iterable[str]) -> frozenset[Status]:
    """Statuses whose stored trials run again (``failed``, ``oom``, ``diverged``): a list of
    them, or one comma-separated string.

    Raises:
        ConfigError: not a list of statuses, or a status that cannot be retried.
    """
    out = set()
    if isinstance(statuses, str):
        statuses = [x.strip() for x in statuses.split(",")]
    if isinstance(statuses, (bytes, dict)) or not isinstance(statuses, Iterable):
        raise ConfigError(
            f"retry must be a list of statuses (failed, oom, diverged, pruned); got {statuses!r:.60}"
        )
    for s in statuses:
        if not isinstance(s, (str, Status)):
            raise ConfigError(f"retry= takes failed, oom, diverged or pruned; got {s!r:.60}")
        try:
            status = Status(s)
        except ValueError:
            status = None
        if status is None or status is Status.DONE:
            raise ConfigError(f"retry= takes failed, oom, diverged or pruned; got {s!r}")
        out.add(status)
    return frozenset(out)


def pending_trials(
    trials: list[TrialConfig], store: Store, retry: frozenset[Status] = frozenset()
) -> list[TrialConfig]:
    """The trials not yet finished in ``store`` (plus stored ones whose status is in ``retry``).

    Reads every stored row through :meth:`Store.results`, so a damaged store is refused here,
    before any work (StoreError naming the row).
    """
    stored = {r.key: r.status for r in store.results()}
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
        "denormals": denormal_mode(device),
    }


def denormal_mode(device: torch.device) -> str:
    """How a trial on ``device`` treats denormal floats: ``flushed`` to zero on every thread of
    a CPU (as TF 1.x), ``kept`` where the CPU cannot flush them, ``gpu`` (CUDA's own kernels)."""
    if device.type != "cpu":
        return "gpu"
    with flushed(device) as ok:
        return "flushed" if ok else "kept"


def checked_grid(grid: Grid, device: torch.device, fallback_fp32: bool = False) -> Grid:
    """``grid`` if ``device`` can run its precisions; with ``fallback_fp32``, the grid with fp32
    in place of those it cannot run (a warning says so); else ConfigError naming what is
    missing and the way out."""
    kept = []
    for precision in grid.precision:
        why = unsupported(device, precision)
        if why is None:
            kept.append(precision)
        elif fallback_fp32:
            log.warning("%s; running fp32 instead, as fallback_fp32=True asks", why)
            kept.append("fp32")
        else:
            check_precision(device, precision)
    precisions = tuple(dict.fromkeys(kept))
    if precisions == grid.precision:
        return grid
    changes: dict[str, Any] = {"precision": precisions}  # an axis field, from the declaration
    return replace(grid, **changes)


# The kinds of data a sweep reads, by its tasks' source (a task of the user's own makes its data,
# as the generated tasks do): one kind per sweep.
def data_kind(grid: Grid) -> str:
    """The kind of data ``grid``'s tasks read (the study's ``data_kind_of``).

    Raises:
        ConfigError: its tasks read different kinds of data (one dataset serves a sweep).
    """
    kinds: dict[str, list[str]] = {}
    for task in grid.task:
        kinds.setdefault(data_kind_of(task), []).append(task)
    if len(kinds) > 1:
        mixed = ", ".join(f"{' and '.join(tasks)} ({kind})" for kind, tasks in kinds.items())
        raise ConfigError(
            f"Grid(task=...) mixes tasks that read different data: {mixed}; run one sweep per "
            "kind of data, each into the same store="
        )
    return next(iter(kinds))


def user_task_fields(grid: Grid) -> dict[str, dict]:
    """{spec: the trial fields of that task} for each task of the user's own in ``grid``
    (``task_id``, ``task_metric``, ``task_chance``, ``length``), each loaded once by the data
    layer's ``load_user_task``.

    Raises:
        ConfigError, DataError: the task cannot be imported or is not one (from the loader).
    """
    specs = [t for t in grid.task if t not in TASKS and is_user_task(t)]
    if not specs:
        return {}
    from ..data import load_user_task

    out = {}
    for spec in specs:
        task = load_user_task(spec)
        out[spec] = {
            "task_id": task.task_id,
            "task_metric": task.metric,
            "task_chance": task.chance,
            "length": task.length,
        }
    return out


def check_fits(grid: Grid, data: Dataset) -> None:
    """Refuse a batch larger than the training set before anything trains (images: a
    generated task's sets and a text's sequences are the data layer's to check)."""
    if data.name == GENERATED or is_text(data):
        return
    batch = max(grid.batch_size)
    if batch > len(data.train):
        raise ConfigError(
            f"Grid(batch_size=...) {batch:,} is larger than the training set of "
            f"{data.name} ({len(data.train):,} images); use at most "
            f"{len(data.train):,}"
        )


class _Claims:
    """Claims each unit's trials in the store right before it runs, cut down to the trials that
    still need training (another driver may have done some, or hold them)."""

    def __init__(self, store: Store, driver: Driver, retry: frozenset[Status]):
        self.store, self.driver, self.retry = store, driver, retry

    def __call__(self, unit: WorkUnit) -> WorkUnit | None:
        got = set(self.store.claim([c.key() for c in unit.configs], self.driver, self.retry))
        if not got:
            return None
        return replace(unit, configs=tuple(c for c in unit.configs if c.key() in got))

    def unfinished(self, trials: Sequence[TrialConfig]) -> list[TrialConfig]:
        """Trials of ``trials`` not stored yet (retry statuses: not stored since we started)."""
        rows = dict(self.store.finished([t.key() for t in trials]))
        return [
            t
            for t in trials
            if t.key() not in rows
            or (rows[t.key()][0] in self.retry and rows[t.key()][1] < self.driver.started_at)
        ]


@dataclass(frozen=True)
class SweepRequest:
    """A sweep as asked for, every part checked (build it with :func:`sweep_request`)."""

    grid: Grid
    store: Path
    device: torch.device
    engine: str
    executor: Executor
    retry: frozenset[Status]
    workers: int | None
    dataset: str = "mnist"  # the name trials are keyed by
    data: Dataset | None = None  # needed to execute, not to plan
    checkpoint_every: float | None = DEFAULT_EVERY_S  # seconds; 0: every curve point; None: off
    keep_checkpoints: bool = False  # keep a finished trial's checkpoints
    val_every: int | None = None  # the validation metric every this many steps; None: at the end
    # the fields of each task of the user's own in the grid (spec -> task_id, task_metric,
    # task_chance, length), loaded once by sweep_request
    user_tasks: dict[str, dict] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        """The kind of data its tasks read: ``images``, ``generated`` or ``text``."""
        return data_kind(self.grid)

    @property
    def checkpoints(self) -> CheckpointDir:
        """The folder of the store's checkpoints (``<store>.checkpoints``)."""
        return CheckpointDir(checkpoint_dir(self.store))

    def checkpointing(self) -> Checkpointing | None:
        if self.checkpoint_every is None:
            return None
        return Checkpointing(self.checkpoints, self.checkpoint_every)

    def with_data(self, data: Dataset) -> SweepRequest:
        """The request with its loaded dataset (checked against the grid); its trials take the
        dataset's name.

        Raises:
            ConfigError: ``data`` is not a Dataset, or the grid's batch does not fit it.
        """
        if not isinstance(data, Dataset):
            raise ConfigError(f"data must be a Dataset (load_dataset(...)); got {type(data).__name__}")
        check_fits(self.grid, data)
        return replace(self, data=data, dataset=data.name)

    def trials(self) -> list[TrialConfig]:
        return self.grid.trials(dataset=self.dataset, user_tasks=self.user_tasks)


def sweep_request(
    grid: Grid,
    store: Store | str | Path,
    *,
    data: Dataset | None = None,
    dataset: str = "mnist",
    device: str | torch.device = "auto",
    engine: str = "auto",
    executor: str | Executor = "local",
    workers: int | None = None,
    ray_address: str | None = None,
    retry: Iterable[str | Status] = (),
    fallback_fp32: bool = False,
    checkpoint_every: float | str | None = DEFAULT_EVERY_S,
    keep_checkpoints: bool = False,
    val_every: int | None = None,
) -> SweepRequest:
    """Check every input of a sweep once, before anything is loaded, opened or trained.

    Args:
        grid: the sweep (hidden sizes x learning rates x seeds and the protocol).
        store: the results store (path, or an open :class:`Store`).
        data: the loaded dataset (or later, :meth:`SweepRequest.with_data`); without it,
            ``dataset`` names the trials (planning only).
        device: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``.
        engine: ``auto`` (fastest measured per width and device), ``single`` or ``fused``.
        executor: ``local``, ``inprocess`` or ``ray`` (or an executor object); ``workers`` and
            ``ray_address`` are the options of ``local`` and ``ray``.
        retry: stored statuses to run again (``failed``, ``oom``, ``diverged``).
        fallback_fp32: where ``device`` cannot run ``grid.precision``, run fp32 (else refuse).
        checkpoint_every: save each running trial's whole state this often (seconds, or text:
            ``30s``, ``5m``, ``1h``; 0: at every curve point; None or ``off``: never) into
            ``<store>.checkpoints``; a trial killed resumes from its last checkpoint.
        keep_checkpoints: keep a trial's checkpoints after its result is stored.
        val_every: measure each trial's validation metric every this many steps (a multiple of
            the grid's display step), kept in its curve; None: at the end only. Not part of a
            trial's identity (it changes nothing of the training): a trial already stored is
            not trained again for it.

    Raises:
        ConfigError: naming the bad input (an argument of the wrong kind included: ``grid`` not
            a Grid, ``store`` not a path or Store, ``data`` not a Dataset, ``dataset`` not a
            name of 1 to 100 printable characters, ...) and the way out.
        StoreError: the store path is a folder, a FIFO, or in a missing folder.
    """
    _check_request_arguments(grid, store, data, dataset, engine, executor, ray_address, fallback_fp32)
    data_kind(grid)  # one kind of data
    claim_timeout()  # $LSTM_SWEEP_CLAIM_TIMEOUT is checked before anything runs
    torch_device = resolve_device(device)
    grid = checked_grid(grid, torch_device, fallback_fp32)
    retry_set = parse_retry(retry)
    if workers is not None and (
        isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= MAX_WORKERS
    ):
        raise ConfigError(f"workers must be a positive integer, at most {MAX_WORKERS}; got {workers!r}")
    first = TrialConfig(hidden=grid.hidden[0], lr=grid.lr[0])
    for cell, init, precision in itertools.product(grid.cell, grid.init, grid.precision):
        # it can train every kind of trial (without building all of them: up to 100,000)
        choose_engine(replace(first, cell=cell, init=init, precision=precision), engine, torch_device.type)
    if isinstance(executor, str):
        executor = make_executor(executor, workers=workers, ray_address=ray_address)
    every = parse_every(checkpoint_every)
    if not isinstance(keep_checkpoints, bool):
        raise ConfigError(f"keep_checkpoints must be True or False; got {keep_checkpoints!r:.60}")
    check_val_every(val_every, grid.display_step)
    path = store.path if isinstance(store, Store) else Path(store)
    check_regular(path, must_exist=False)
    if every is not None:
        check_checkpoint_dir(checkpoint_dir(path))
    request = SweepRequest(
        grid,
        path,
        torch_device,
        engine,
        executor,
        retry_set,
        workers,
        dataset,
        checkpoint_every=every,
        keep_checkpoints=keep_checkpoints,
        val_every=val_every,
        user_tasks=user_task_fields(grid),
    )
    return request.with_data(data) if data is not None else request


def _check_request_arguments(
    grid, store, data, dataset, engine, executor, ray_address, fallback_fp32
) -> None:
    """The kinds of :func:`sweep_request`'s arguments (their values are checked where they are
    used); ConfigError naming the first one of the wrong kind."""
    if not isinstance(grid, Grid):
        raise ConfigError(f"grid must be a Grid (e.g. preset('quick')); got {type(grid).__name__}")
    if not isinstance(store, Store):
        if isinstance(store, bool) or not isinstance(store, (str, os.PathLike)):
            raise ConfigError(
                f"store must be a results store's path or a Store; got {type(store).__name__} {store!r:.60}"
            )
        text = os.fspath(store)
        if not isinstance(text, str) or not text.strip() or "\0" in text:
            raise ConfigError(f"store must be a file path (not empty, no NUL); got {store!r:.60}")
    if data is not None and not isinstance(data, Dataset):
        raise ConfigError(f"data must be a Dataset (load_dataset(...)) or None; got {type(data).__name__}")
    check_dataset_name(dataset, "dataset")
    if not isinstance(engine, str):
        raise ConfigError(f"engine must be one of {', '.join(ENGINE_CHOICES)}; got {engine!r:.60}")
    if not isinstance(executor, str) and not callable(getattr(executor, "run", None)):
        raise ConfigError(
            f"executor must be local, inprocess, ray or an executor object; got "
            f"{type(executor).__name__} {executor!r:.60}"
        )
    if ray_address is not None and not isinstance(ray_address, str):
        raise ConfigError(f"ray_address must be HOST:PORT, auto or None; got {ray_address!r:.60}")
    if not isinstance(fallback_fp32, bool):
        raise ConfigError(f"fallback_fp32 must be True or False; got {fallback_fp32!r:.60}")


@dataclass(frozen=True)
class Plan:
    """What a request will do: its pending trials, their work units (built once), their cost."""

    request: SweepRequest
    trials: list[TrialConfig]  # the whole grid
    pending: list[TrialConfig]  # not finished in the store (or to retry)
    units: list[WorkUnit]
    cost: SweepPlan
    checkpoint_need: int = 0  # bytes on disk at most at once (0: checkpoints off)
    checkpoint_free: int | None = None  # bytes free on their disk (None: unknown)
    # the ETA of the same pending trials in each other precision this device runs (plan_sweep
    # with alternatives=True), e.g. {"bf16": 5400.0}: a user chooses; nothing is switched
    alternatives: dict[str, float] = field(default_factory=dict)
    label: str = ""  # what it is where it is not a sweep (a search's rung), for the live page

    @property
    def skipped(self) -> int:
        return len(self.trials) - len(self.pending)

    def render(self) -> str:
        text = render_plan(self.cost, f"{self.request.grid.name}: {len(self.units)} work units to run")
        line = checkpoint_line(self.request, self.checkpoint_need, self.checkpoint_free)
        text += "\n" + line if line and self.units else ""
        if self.alternatives and self.units:
            asked = ", ".join(
                f"{p} {human_seconds(self.cost_of(p))}" for p in sorted({c.precision for c in self.pending})
            )
            other = "; ".join(
                f"{p} {human_seconds(s)} (--precision {p})" for p, s in self.alternatives.items()
            )
            text += (
                f"\nETA by precision: {asked} (as asked); {other}. A precision is part of "
                "each trial, never switched for you; fp32 is the homework's"
            )
        return text

    def cost_of(self, precision: str) -> float:
        """The ETA of this plan's units of one precision."""
        return sum(u.seconds / u.workers for u in self.cost.units if u.unit.configs[0].precision == precision)

    def check(self, force: bool = False) -> None:
        """Refuse (LstmSweepError) a plan that cannot fit in memory or whose ETA is absurd
        (beyond :data:`~lstm_sweep.running.cost.MAX_ETA_S`), unless ``force``."""
        if force:
            return
        cost = self.cost
        if cost.too_big:
            worst = max(cost.too_big, key=lambda u: u.memory_total)
            raise LstmSweepError(
                f"{len(cost.too_big)} work units need more memory than {self.request.device} has "
                f"available (largest: {worst.unit.describe()} needs "
                f"{human_bytes(worst.memory_total + cost.base_memory)}, available "
                f"{human_bytes(cost.device_memory or 0)}); drop those widths, or pass force=True to run "
                "them anyway (they are stored as oom = DNF if they fail)"
            )
        check_disk(self.request, self.checkpoint_need, self.checkpoint_free)
        if cost.seconds > MAX_ETA_S:
            raise LstmSweepError(
                f"the plan's ETA is {human_seconds(cost.seconds)} (more than "
                f"{MAX_ETA_S // 86400} days); check Grid(steps=...), Grid(hidden=...) and the grid, or "
                "pass force=True to run it anyway"
            )


def plan_sweep(request: SweepRequest, refresh: bool = False, alternatives: bool = False) -> Plan:
    """Plan ``request``: the trials not yet in its store (read without writing; every stored row
    checked, so a damaged store is refused before any work), their work units and costs
    (probing this device once if it is new; ``refresh`` probes again). With ``alternatives``,
    also the ETA of the same trials in every other precision the device runs (bf16 on a CPU
    with AMX or AVX-512 bf16, tf32 and bf16 on a recent GPU; each probed once).

    Raises:
        ConfigError: ``request`` is not a SweepRequest, or ``refresh`` not a bool.
        StoreError: the store is damaged or not a store, or it holds trials of
            ``request.dataset`` trained on other data than ``request.data`` (one name, one
            dataset: :meth:`Store.bind_dataset`).
    """
    if not isinstance(request, SweepRequest):
        raise ConfigError(
            f"request must be a SweepRequest (sweep_request(...)); got {type(request).__name__}"
        )
    if not isinstance(refresh, bool):
        raise ConfigError(f"refresh must be True or False; got {refresh!r:.60}")
    if not isinstance(alternatives, bool):
        raise ConfigError(f"alternatives must be True or False; got {alternatives!r:.60}")
    trials = request.trials()
    pending = trials
    path = request.store
    if path.exists() and not (path.is_file() and path.stat().st_size == 0):
        with Store(path, readonly=True) as store:
            _check_dataset_identity(store, request)
            pending = pending_trials(trials, store, request.retry)  # every row checked
    units = make_units(pending, request.engine, request.device, val_every=request.val_every)
    calibrations = calibrations_for(units, request.device, refresh, request.workers)
    cost = plan_units(units, request.device, calibrations, request.workers)
    if request.data is None and trials:  # the dataset is not in this process yet
        cost = replace(cost, base_memory=cost.base_memory + max(dataset_bytes(c) for c in trials))
    # checkpoints are written only by units that run longer than the interval
    every = request.checkpoint_every
    long = [u.unit for u in cost.units if every is not None and (every == 0 or u.seconds > every)]
    need, free = checkpoint_disk(request, long)
    other = _alternatives(pending, request, refresh) if alternatives else {}
    return Plan(request, trials, pending, units, cost, need, free, other)


def _alternatives(pending: Sequence[TrialConfig], request: SweepRequest, refresh: bool) -> dict[str, float]:
    """{precision: ETA} of ``pending`` in each precision the device runs that none of them
    asks for (a single-precision grid: the one other choice a user has)."""
    asked = {c.precision for c in pending}
    out = {}
    for precision in PRECISIONS:
        if not pending or precision in asked or unsupported(request.device, precision):
            continue
        units = make_units([replace(c, precision=precision) for c in pending], request.engine, request.device)
        calibrations = calibrations_for(units, request.device, refresh, request.workers)
        out[precision] = plan_units(units, request.device, calibrations, request.workers).seconds
    return out


def parse_every(value: float | str | None) -> float | None:
    """``--checkpoint-every``: seconds (a number, or text ``90``, ``30s``, ``5m``, ``1.5h``); 0 =
    at every curve point; None or ``off`` = no checkpoints. Anything else is at least 1 s: a
    smaller number (``0.001``, ``1e-400``, which a float turns into 0) would save at every curve
    point while saying something else.

    Raises:
        ConfigError: anything else (negative, not finite, under 1 s but not 0, beyond a week, an
            unknown unit).
    """
    if value is None:
        return None
    exact: decimal.Decimal | None = None
    if isinstance(value, bool):
        pass
    elif isinstance(value, int):
        exact = decimal.Decimal(value)
    elif isinstance(value, float):
        exact = decimal.Decimal(value) if math.isfinite(value) else None
    elif isinstance(value, str):
        text = value.strip().lower()
        if text in ("off", "never", "none"):
            return None
        scale = {"s": 1, "m": 60, "h": 3600}.get(text[-1:], None)
        number = (text[:-1] if scale else text).strip()
        try:
            exact = decimal.Decimal(number) * (scale or 1)
        except (decimal.DecimalException, ValueError):
            exact = None
    if exact is None or not exact.is_finite() or not (exact == 0 or 1 <= exact <= 7 * 86400):
        raise ConfigError(
            f"checkpoint_every= takes 0 (at every curve point), off (never), or "
            f"seconds or minutes from 1 s to 7 days (30s, 5m, 1h); got {value!r:.40}"
        )
    return float(exact)


def check_checkpoint_dir(folder: Path) -> None:
    """Refuse (StoreError) a checkpoint folder that is not one, or cannot be written."""
    if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
        raise StoreError(
            f"{folder} is where this store keeps its checkpoints, and it is not a "
            "folder; move it away, or pass checkpoint_every=off"
        )
    if folder.exists() and not os.access(folder, os.W_OK | os.X_OK):
        raise StoreError(
            f"{folder} (this store's checkpoints) is read-only; make it writable, "
            "or pass checkpoint_every=off"
        )


def checkpoint_disk(
    request: SweepRequest, units: Sequence[WorkUnit], kept: Sequence[TrialConfig] = ()
) -> tuple[int, int | None]:
    """(bytes the checkpoints need at most at once, bytes free on their disk)."""
    if request.checkpoint_every is None or not (units or kept):
        return 0, None
    need = checkpoint_need(units, request.device, request.workers, kept)
    where = checkpoint_dir(request.store)
    while not where.exists() and where != where.parent:
        where = where.parent
    try:
        free = shutil.disk_usage(where).free
    except OSError:
        free = None
    return need, free


def checkpoint_line(request: SweepRequest, need: int, free: int | None) -> str:
    if request.checkpoint_every is None:
        return "checkpoints: off (a killed trial starts again from its beginning)"
    every = request.checkpoint_every
    how = "at every curve point" if every == 0 else f"every {human_seconds(every)}"
    room = f", {human_bytes(free)} free" if free is not None else ""
    if not need:
        return f"checkpoints: {how} (none expected: every work unit is shorter)"
    return (
        f"checkpoints: {how}, up to {human_bytes(need)} at once in {checkpoint_dir(request.store).name}{room}"
    )


def check_disk(request: SweepRequest, need: int, free: int | None) -> None:
    if free is not None and need > free:
        raise LstmSweepError(
            f"the checkpoints need up to {human_bytes(need)} at once in "
            f"{checkpoint_dir(request.store)}, and its disk has {human_bytes(free)} free; free "
            "some space, pass checkpoint_every=off, or force=True"
        )


def _check_dataset_identity(store: Store, request: SweepRequest) -> None:
    """Refuse data whose name the store knows as other data (two folders, one --dataset-name):
    their trials would share keys, and one's results would pass for the other's."""
    if request.data is None:  # planning only: nothing trains
        return
    recorded = store.dataset_fingerprint(request.dataset)
    if recorded is not None and recorded != request.data.fingerprint:
        raise StoreError(dataset_mismatch(store.path, request.dataset, recorded, request.data.fingerprint))


def execute(plan: Plan, callbacks: SweepCallbacks | None = None) -> SweepSummary:
    """Run a plan's units on its executor, committing each result to the store as it arrives.

    Returns:
        A :class:`SweepSummary`. KeyboardInterrupt propagates; finished trials stay stored, and
        this driver's claims are released.

    Raises:
        ConfigError: ``plan`` is not a Plan, ``callbacks`` not a SweepCallbacks, or the request
            has no dataset.
        StoreError: the store cannot be written, or it knows the dataset's name as other data.
    """
    refuse_in_worker_start()
    if not isinstance(plan, Plan):
        raise ConfigError(f"plan must be a Plan (plan_sweep(...)); got {type(plan).__name__}")
    if callbacks is not None and not isinstance(callbacks, SweepCallbacks):
        raise ConfigError(f"callbacks must be a SweepCallbacks or None; got {type(callbacks).__name__}")
    for hook, value in vars(callbacks or SweepCallbacks()).items():
        if value is not None and not callable(value):
            raise ConfigError(f"callbacks.{hook} must be a function or None; got {value!r:.60}")
    request, callbacks = plan.request, callbacks or SweepCallbacks()
    if request.data is None:
        raise ConfigError(
            "the sweep request has no dataset: sweep_request(..., data=...) or request.with_data(data)"
        )
    # each task's data made before the store is touched: data a task refuses (a user task's
    # wrong shapes, a text too short for the length) is an error that leaves the store as it was
    made = _tasks_data(plan.units, request.data)
    with Store(request.store) as store:
        # the name now means this data in the store (refused if it meant other data)
        store.bind_dataset(request.dataset, request.data.fingerprint)
        driver = Driver()
        claims = _Claims(store, driver, request.retry)
        store.record_plan(
            driver, [c.key() for c in plan.trials], len(plan.pending), plan.cost.seconds, plan.label
        )
        try:  # the plan read (and checked) every stored row
            if callbacks.on_start:
                callbacks.on_start(plan.pending, plan.skipped, plan.units)
            return _drive(plan, store, driver, claims, callbacks, made)
        finally:
            try:
                store.release(driver)
            except StoreError as e:  # e.g. the disk is full: the error that stopped us matters
                log.warning("%s", e)  # more; a gone driver's claims are taken over anyway
            request.checkpoints.remove_if_empty()  # no empty folder left beside the store


def _drive(
    plan: Plan,
    store: Store,
    driver: Driver,
    claims: _Claims,
    callbacks: SweepCallbacks,
    made: dict[tuple, Dataset],
) -> SweepSummary:
    request = plan.request
    env = environment_info(request.device)
    counts: Counter[str] = Counter()
    events = UnitEvents(callbacks.on_unit_start, callbacks.on_step)
    t0 = time.perf_counter()
    finished = 0
    timeout = claim_timeout()
    units = plan.units
    policy = request.checkpointing()
    with Heartbeat(lambda: Store(store.path), driver, heartbeat_interval(timeout)):
        while units:
            before = finished
            for _, results in _run_by_task(
                request, units, made, claim=claims, events=events, checkpointing=policy
            ):
                for result in results:
                    result, refused = _storable(result)
                    store.save(result, env, driver)  # committed now: a kill loses nothing
                    if refused or (
                        not request.keep_checkpoints and result.status in (Status.DONE, Status.DIVERGED)
                    ):
                        # its result holds it all (checkpoints off too: those of an earlier
                        # run, a search's pruned trial finished from its beginning, are stale)
                        request.checkpoints.delete([result.key])
                    counts[str(result.status)] += 1
                    c = result.config
                    log.info("hidden=%d lr=%g seed=%d: %s", c.hidden, c.lr, c.seed, result.status)
                    if callbacks.on_trial_end:
                        callbacks.on_trial_end(result, finished, len(plan.pending))
                    finished += 1
            if finished == before:  # claimed nothing (a race with another driver): breathe
                time.sleep(min(1.0, timeout / 4))
            left = {t.key() for t in _wait_for_others(claims, plan.pending, callbacks, timeout)}
            # the same units again: the claim cuts each down to what is left (no new units)
            units = [u for u in plan.units if any(c.key() in left for c in u.configs)]
    return SweepSummary(
        total=len(plan.trials),
        skipped=plan.skipped,
        ran=finished,
        statuses=dict(counts),
        wall_s=time.perf_counter() - t0,
        by_others=len(plan.pending) - finished,
    )


def _tasks_data(units: Sequence[WorkUnit], data: Dataset) -> dict[tuple, Dataset]:
    """Each task's data (task, length, task seed) among ``units``, made from ``data`` as loaded
    (the data layer's ``data_for_task``: rows' is ``data`` itself, pixels' its images as 784
    steps, a generated task's its sequences).

    Raises:
        ConfigError, DataError: the data does not fit a task (any error of ``task_data``).
    """
    from ..data import data_for_task

    return {which: data_for_task(data, *which) for which in dict.fromkeys(map(_task_of, units))}


def _run_by_task(request: SweepRequest, units: Sequence[WorkUnit], made: dict[tuple, Dataset], **options):
    """The executor's results of ``units``, each run of consecutive units of one task (task,
    length, task seed) on that task's data (``made``: :func:`_tasks_data`)."""
    start = 0
    while start < len(units):
        which = _task_of(units[start])
        end = start + 1
        while end < len(units) and _task_of(units[end]) == which:
            end += 1
        yield from request.executor.run(units[start:end], made[which], request.device, **options)
        start = end


def _task_of(unit: WorkUnit) -> tuple:
    c = unit.configs[0]
    return (c.task, c.length, c.task_seed)


def _storable(result: TrialResult) -> tuple[TrialResult, bool]:
    """``result``, or where the store's readers would refuse it, the trial as ``failed`` with
    the reason (and True): nothing is committed that ``check`` calls damaged. (Training makes
    no such result; one resumed from a checkpoint that lies in a way no check could see
    might, and its checkpoints then go with it.)"""
    why = result_problem(result, time.time())
    if why is None:
        return result, False
    log.warning(
        "%s: its result cannot be stored as it is (%s); stored as failed", result.config.describe(), why
    )
    return replace(
        result,
        status=Status.FAILED,
        test_accuracy=None,
        val_accuracy=None,
        train_loss=None,
        curve=(),
        error=f"its result was refused: {why}"[:500],
    ), True


def run_sweep(
    grid: Grid,
    data: Dataset,
    store: Store | str | Path,
    *,
    callbacks: SweepCallbacks | None = None,
    force: bool = False,
    **options,
) -> SweepSummary:
    """Run every unfinished trial of ``grid`` on ``data``, committing each result to ``store``:
    :func:`sweep_request`, :func:`plan_sweep`, :meth:`Plan.check`, :func:`execute`.

    ``options``: those of :func:`sweep_request` (device, engine, executor, workers, ray_address,
    retry, fallback_fp32). ``force``: run a plan that does not fit in memory or takes more than
    :data:`~lstm_sweep.running.cost.MAX_ETA_S`.

    Raises:
        ConfigError: bad input (checked before anything runs or the store is opened): ``data``
            not a Dataset, ``force`` not a bool, any of :func:`sweep_request`'s.
        StoreError: as for :func:`plan_sweep` and :func:`execute`.
    """
    if not isinstance(data, Dataset):
        raise ConfigError(f"data must be a Dataset (load_dataset(...)); got {type(data).__name__}")
    if not isinstance(force, bool):
        raise ConfigError(f"force must be True or False; got {force!r:.60}")
    plan = plan_sweep(sweep_request(grid, store, data=data, **options))
    plan.check(force)
    return execute(plan, callbacks)


def _wait_for_others(
    claims: _Claims, pending: list[TrialConfig], callbacks: SweepCallbacks, timeout: float
) -> list[TrialConfig]:
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
