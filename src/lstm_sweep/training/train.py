"""Training: one trial, or one group of trials trained together, with ONE loop for both.

``run_trial(config, data) -> TrialResult`` and ``train_group(configs, data) -> [TrialResult]``
share :func:`train_group`'s loop; what differs is the *engine* that holds the model(s):

- ``single``: one trial (an LSTM through ``nn.LSTM``'s oneDNN / cuDNN kernels; TF's GRU or
  basic RNN cell) and its TF 1.x optimizer;
- ``fused``: K trials of one width as one batched model, any cell, any optimizer
  (:mod:`lstm_sweep.training.engines.fused`, :mod:`lstm_sweep.training.engines.fused_cells`).

The loop seeds the batch order, trains ``steps`` optimizer updates on TF-order batches, records a
learning curve every ``display_step`` steps (loss and accuracy on the batch just trained on,
after the update, as the seed's loop does), then measures accuracy on the validation and the
10,000 test images in chunks. It never prints or writes the store; progress goes through a
callback. Failure is a result: NaN/inf loss -> ``diverged`` (that model stops; its accuracy is
still measured; the others go on), out of memory -> ``oom``, any other exception -> ``failed``
with its message. Ctrl-C (KeyboardInterrupt) is not caught.

Any task trains through the same loop: the dataset's :class:`~lstm_sweep.data.TaskShape`
(``data.shape``) says what its inputs and targets are (token ids are made one-hot per batch on
the device, :mod:`lstm_sweep.training.tasks`), and the trial's metric (``metric_of(config)``:
accuracy, bits per character, squared error, cross-entropy) is what the results' accuracy
fields and the curve's ``accuracy`` hold (None where it is not finite).
"""

from __future__ import annotations

import gc
import logging
import math
import resource
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import cast

import torch

from ..data import BatchStream, Dataset, data_for_task
from ..errors import ConfigError
from ..study import CurvePoint, Status, TrialConfig, TrialResult, encode_live, metric_of
from . import checkpoint as ckpt
from .checkpoint import Checkpointing
from .denormals import flushed
from .device import device_name
from .engines import ENGINES, check_shape, make_engine
from .engines.base import Engine, flat_targets, precision_context
from .graphs import stepper
from .tasks import METRIC_SUMS, batch_metrics, metric_value, model_inputs

log = logging.getLogger(__name__)

DEFAULT_EVAL_CHUNK = 1000

StepCallback = Callable[[int, int], None]  # (steps done, steps total)


# --------------------------------------------------------------------------- peak memory


class _PeakMemory:
    """Peak memory of a trial: CUDA allocator peak on GPU; peak RSS (VmHWM, reset per trial on
    Linux through /proc/self/clear_refs) on CPU, falling back to the process-lifetime peak."""

    def __init__(self, device: torch.device):
        self.device = device

    def start(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
            return
        try:
            Path("/proc/self/clear_refs").write_text("5")
        except OSError:
            pass

    def peak(self) -> int | None:
        if self.device.type == "cuda":
            return int(torch.cuda.max_memory_allocated(self.device))
        try:
            for line in Path("/proc/self/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
        except OSError:
            pass
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _is_oom(exc: BaseException) -> bool:
    if isinstance(exc, (MemoryError, torch.cuda.OutOfMemoryError)):
        return True
    msg = str(exc).lower()
    return isinstance(exc, RuntimeError) and ("out of memory" in msg or "can't allocate memory" in msg)


@torch.no_grad()
def evaluate(
    engine: Engine, images: torch.Tensor, labels: torch.Tensor, chunk: int, metric: str = "accuracy"
) -> list[float | None]:
    """``metric`` (a name of :data:`~lstm_sweep.study.tasks.METRICS`) of each of the engine's
    models over a whole split, ``chunk`` sequences at a time so memory stays flat: sums over
    every target, divided by their number at the end (exact whatever the chunk).

    Args:
        engine: the models (its ``shape`` says how inputs and targets are laid out).
        images: the inputs (N, T, I), or token ids (N, T), one-hot encoded per chunk.
        labels: the targets (N,) or (N, T).
        chunk: sequences per forward pass.
        metric: ``"accuracy"``, ``"bpc"``, ``"mse"`` or ``"xent"``.

    Returns:
        One value per model; None where it is not finite.
    """
    shape = engine.shape
    add = METRIC_SUMS[metric]
    total: torch.Tensor | None = None
    for start in range(0, len(labels), chunk):
        x = model_inputs(images[start : start + chunk], shape)
        logits = engine.logits(x).float()  # (K, n, O) or (K, T * n, O)
        part = add(logits, flat_targets(labels[start : start + chunk], shape))
        total = part if total is None else total + part
    assert total is not None  # a Dataset's splits are never empty
    count = labels.numel()
    return [metric_value(metric, t, count) for t in total.tolist()]


# --------------------------------------------------------------------------- the trial


def _as_tensors(split, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs (N, T, I) as the LSTM reads them (one row per time step; token ids (N, T)) and
    targets (N,) or (N, T)."""
    return torch.as_tensor(split.images, device=device), torch.as_tensor(split.labels, device=device)


def run_trial(
    config: TrialConfig,
    data: Dataset,
    *,
    device: str | torch.device = "cpu",
    on_step: StepCallback | None = None,
    eval_chunk: int = DEFAULT_EVAL_CHUNK,
) -> TrialResult:
    """Train and evaluate one trial (the ``single`` engine).

    Args:
        config: the trial (its seed decides the initial weights; data_seed the batch order).
        data: the TF split of the dataset (``config.dataset`` should be ``data.name``).
        device: a torch device; ``"cpu"`` or ``"cuda"``.
        on_step: called as ``on_step(done, total)`` every display step and at the end.
        eval_chunk: images per forward pass when measuring accuracy.

    Returns:
        A :class:`TrialResult`; exceptions other than KeyboardInterrupt become ``failed``/``oom``.

    Raises:
        ConfigError: ``config`` is not a TrialConfig, ``data`` not a Dataset, or ``device``,
            ``on_step`` or ``eval_chunk`` of the wrong kind (checked before training).
    """
    if not isinstance(config, TrialConfig):
        raise ConfigError(f"config must be a TrialConfig; got {type(config).__name__}")
    (result,) = train_group(
        [config], data, device=device, engine="single", on_step=on_step, eval_chunk=eval_chunk
    )
    return result


def check_val_every(val_every: object, display_step: int) -> None:
    """``val_every`` is None or a positive multiple of ``display_step`` (ConfigError if not)."""
    if val_every is None:
        return
    if isinstance(val_every, bool) or not isinstance(val_every, int) or val_every < 1:
        raise ConfigError(f"val_every= must be a positive number of steps or None; got {val_every!r:.60}")
    if val_every % display_step:
        raise ConfigError(
            f"val_every= must be a multiple of the learning curve's step ({display_step}), e.g. "
            f"{display_step * max(1, round(val_every / display_step))}; got {val_every}"
        )


def _check_arguments(configs, data, device, engine, on_step, eval_chunk) -> torch.device:
    """:func:`train_group`'s arguments checked (ConfigError naming the bad one); the device."""
    if (
        isinstance(configs, (str, bytes))
        or not isinstance(configs, Sequence)
        or not configs
        or not all(isinstance(c, TrialConfig) for c in configs)
    ):
        raise ConfigError(f"configs must be a non-empty list of TrialConfig; got {configs!r:.80}")
    if len({c.group_key() for c in configs}) != 1:
        raise ConfigError("a group's trials must agree on everything but lr and seed")
    if not isinstance(data, Dataset):
        raise ConfigError(f"data must be a Dataset (load_dataset(...)); got {type(data).__name__}")
    try:
        check_shape(data.shape)
    except ConfigError as e:
        raise ConfigError(f"data.{e}") from None
    if not isinstance(engine, str) or engine not in ENGINES:
        raise ConfigError(f"engine must be one of {', '.join(ENGINES)}; got {engine!r:.60}")
    if on_step is not None and not callable(on_step):
        raise ConfigError(f"on_step must be a function (done, total) or None; got {on_step!r:.60}")
    if isinstance(eval_chunk, bool) or not isinstance(eval_chunk, int) or eval_chunk < 1:
        raise ConfigError(f"eval_chunk must be a positive integer; got {eval_chunk!r:.60}")
    if not isinstance(device, (str, torch.device)):
        raise ConfigError(f"device must be cpu, cuda or cuda:N; got {device!r:.60}")
    try:
        return torch.device(device)
    except RuntimeError:
        raise ConfigError(f"unknown device {device!r:.60}; use cpu, cuda or cuda:N") from None


@dataclass
class _Model:
    """What the loop records about one model of the group while it trains."""

    config: TrialConfig
    status: Status = Status.DONE
    steps_done: int = 0
    last_loss: float | None = None
    curve: list[CurvePoint] = field(default_factory=list)
    val_accuracy: float | None = None
    test_accuracy: float | None = None


class _Saver:
    """Saves the group's checkpoints (one per trial, all after the same step) every
    ``every_s`` seconds of training (0: at every curve point), and when asked."""

    def __init__(self, policy: Checkpointing | None, runner: Engine, models: list[_Model], clock: _Clock):
        self.policy, self.runner, self.models, self.clock = policy, runner, models, clock
        self.last = time.monotonic()
        self.published = -math.inf

    def publish(self, step: int) -> None:
        """The curves so far of the models still training, for the live page (at most every
        ``live_every_s``; where the keeper takes them: a local folder, not Ray's actor)."""
        if self.policy is None:
            return
        save = getattr(self.policy.keeper, "save_live", None)
        now = time.monotonic()
        if save is None or now - self.published < self.policy.live_every_s:
            return
        self.published = now
        try:
            for m in self.models:
                if m.status is Status.DONE:
                    save(
                        m.config.key(),
                        encode_live(m.config, step, [(p.step, p.loss, p.accuracy, p.val) for p in m.curve]),
                    )
        except Exception as e:  # noqa: BLE001 - a curve for the page never stops training
            log.debug("live curve after step %d not written (%s: %s)", step, type(e).__name__, e)

    def due(self, step: int, display_step: int) -> bool:
        if self.policy is None:
            return False
        if self.policy.every_s == 0:
            return step % display_step == 0
        return time.monotonic() - self.last >= self.policy.every_s

    def save(self, step: int, stream: BatchStream) -> None:
        self.last = time.monotonic()
        if self.policy is None:
            return
        common = {
            "format": ckpt.FORMAT,
            "step": step,
            "stream": ckpt.stream_state(stream),
            "opt_t": int(self.runner.optimizer.t),
            "layout": ckpt.layout(self.runner),
        }
        wall, cpu = self.clock.per_model(len(self.models))
        frozen = getattr(self.runner, "_frozen", {})
        try:
            for j, m in enumerate(self.models):
                state = {
                    **common,
                    "key": m.config.key(),
                    "tensors": ckpt.tensors_of(self.runner, j),
                    "frozen": frozen[j].detach().cpu().clone() if j in frozen else None,
                    "status": str(m.status),
                    "steps_done": m.steps_done,
                    "last_loss": m.last_loss,
                    "started_at": self.clock.started_at,
                    "wall_s": wall,
                    "cpu_s": cpu,
                    "curve": [[p.step, p.loss, p.accuracy, p.val] for p in m.curve],
                }
                self.policy.keeper.save(m.config.key(), ckpt.encode(state))
        except Exception as e:  # noqa: BLE001 - a checkpoint never stops training
            log.warning(
                "checkpoint after step %d not written (%s: %s); training goes on", step, type(e).__name__, e
            )


@dataclass
class _Clock:
    """The group's time: what earlier runs of it used (from its checkpoint) plus this run's."""

    started_at: float
    wall_before: float = 0.0  # per model
    cpu_before: float = 0.0
    wall0: float = field(default_factory=time.perf_counter)
    cpu0: float = field(default_factory=time.process_time)

    def per_model(self, k: int) -> tuple[float, float]:
        return (
            self.wall_before + (time.perf_counter() - self.wall0) / k,
            self.cpu_before + (time.process_time() - self.cpu0) / k,
        )


def _indices(ix, device: torch.device) -> torch.Tensor:
    """A batch's indices on ``device``; to a GPU through pinned memory, without waiting for the
    steps queued before (a plain copy from pageable memory would stall the CPU until the GPU
    has finished them, every step)."""
    if device.type != "cuda":
        return torch.as_tensor(ix)
    return torch.from_numpy(ix).pin_memory().to(device, non_blocking=True)


def _resume(runner: Engine, models: list[_Model], states: list[dict | None], stream: BatchStream) -> int:
    """Put the group back where its checkpoints are (all at one step); the step to go on from."""
    first = states[0]
    if first is None:
        return 0
    frozen = getattr(runner, "_frozen", None)
    for j, (m, state) in enumerate(zip(models, cast("list[dict]", states))):
        ckpt.load_tensors(runner, j, state["tensors"])
        if state["frozen"] is not None and frozen is not None:
            frozen[j] = state["frozen"].to(runner.params[0].device)
        m.status = Status(state["status"])
        m.steps_done, m.last_loss = state["steps_done"], state["last_loss"]
        m.curve = [CurvePoint(int(p[0]), *p[1:]) for p in state["curve"]]
    runner.optimizer.t = first["opt_t"]
    ckpt.restore_stream(stream, first["stream"])
    return first["step"]


def _train(
    runner: Engine,
    models: list[_Model],
    data: Dataset,
    device: torch.device,
    on_step: StepCallback | None,
    states: list[dict | None],
    saver: _Saver,
    until: int,
    val_every: int | None = None,
    eval_chunk: int = DEFAULT_EVAL_CHUNK,
) -> None:
    """Updates on TF-order batches up to step ``until`` (the trial's ``steps``, or a rung's);
    the curve every ``display_step``, with the validation metric every ``val_every`` steps
    (before ``until``: :func:`_evaluate` measures it there); a model whose loss is not finite
    stops (``diverged``, frozen for evaluation) while the others go on. Starts from the
    checkpoints in ``states`` (all after one step) where there are some."""
    proto = models[0].config
    shape, metric = data.shape, metric_of(proto).name
    train_x, train_y = _as_tensors(data.train, device)
    val_split = _as_tensors(data.validation, device) if val_every else None
    batches = BatchStream(
        len(data.train), proto.batch_size, seed=proto.seed if proto.data_seed is None else proto.data_seed
    )
    start = _resume(runner, models, states, batches)
    # a GPU would stall on every .tolist(): look at its losses at display steps only
    check_every = 1 if device.type == "cpu" else proto.display_step
    active = [j for j, m in enumerate(models) if m.status is Status.DONE]
    if start and on_step is not None:
        on_step(start, proto.steps)
    train_step = stepper(runner, device)  # on a GPU, a fused step replayed from a CUDA graph
    for step in range(start + 1, until + 1):
        if not active:
            break
        idx = _indices(batches.next_indices(), device)
        x, y = model_inputs(train_x[idx], shape), train_y[idx]  # (B, T, I), (B,) or (B, T)
        losses = train_step(x, y)  # (K,): each model's loss before this update
        for j in active:
            models[j].steps_done = step
        if step % proto.display_step == 0:
            point_losses, point_accs = batch_metrics(runner.logits(x), flat_targets(y, shape), shape, metric)
            vals: list[float | None] = [None] * len(models)
            if val_split is not None and val_every and step % val_every == 0 and step < until:
                vals = evaluate(runner, *val_split, eval_chunk, metric)  # no gradient, no draw
            for j in active:
                models[j].curve.append(CurvePoint(step, point_losses[j], point_accs[j], vals[j]))
            saver.publish(step)
            if on_step is not None:
                on_step(step, proto.steps)
        if step % check_every == 0 or step == proto.steps:  # as run checks, rung or not
            values = losses.tolist()
            for j in list(active):
                models[j].last_loss = values[j]
                if not math.isfinite(values[j]):
                    models[j].status = Status.DIVERGED
                    runner.freeze(j)
                    active.remove(j)
        if step == until < proto.steps and active:
            saver.save(step, batches)  # a rung: continued from here, never from scratch
        elif step < proto.steps and active and saver.due(step, proto.display_step):
            saver.save(step, batches)
    if until < proto.steps:
        for m in models:
            if m.status is Status.DONE:
                m.status = Status.PRUNED  # stopped at a rung; its checkpoint holds the rest


def _evaluate(
    runner: Engine,
    models: list[_Model],
    data: Dataset,
    device: torch.device,
    eval_chunk: int,
    val_every: int | None = None,
) -> None:
    """Validation and test metric (accuracy, for the homework) of every model; a trial stopped
    at a rung (``pruned``) gets its validation metric only: the test set is for reported
    results. With ``val_every``, a curve that ends at the last step, a multiple of it, takes
    that validation metric as its point's (measured once)."""
    runner.finish()
    metric = metric_of(models[0].config).name
    val = evaluate(runner, *_as_tensors(data.validation, device), eval_chunk, metric)
    final = any(m.status is not Status.PRUNED for m in models)
    test: list[float | None] = [None] * len(models)
    if final:
        test = evaluate(runner, *_as_tensors(data.test, device), eval_chunk, metric)
    for m, v, t in zip(models, val, test):
        m.val_accuracy = v
        m.test_accuracy = None if m.status is Status.PRUNED else t
        last = m.curve[-1] if m.curve else None
        if val_every and last and last.step == m.steps_done and last.step % val_every == 0:
            if m.status is not Status.DIVERGED:
                m.curve[-1] = replace(last, val=v)


def _states(
    configs: Sequence[TrialConfig], policy: Checkpointing | None, until: int, data: Dataset
) -> list[dict | None]:
    """Each trial's newest usable checkpoint (None: none, or none usable): one this trial's
    training could have saved (:func:`~.checkpoint.state_problem`)."""
    if policy is None:
        return [None] * len(configs)
    n_train, shape = len(data.train), data.shape
    return [
        ckpt.best_checkpoint(
            policy.keeper,
            c.key(),
            lambda s, c=c: ckpt.state_problem(s, c, until, n_train, shape),
            ckpt.size_limit(c, n_train, shape.n_input, shape.n_output),
        )
        for c in configs
    ]


def train_group(
    configs: Sequence[TrialConfig],
    data: Dataset,
    *,
    device: str | torch.device = "cpu",
    engine: str = "fused",
    on_step: StepCallback | None = None,
    eval_chunk: int = DEFAULT_EVAL_CHUNK,
    checkpointing: Checkpointing | None = None,
    until: int | None = None,
    val_every: int | None = None,
) -> list[TrialResult]:
    """Train trials that share everything but learning rate and seed, on one batch sequence.

    Args:
        configs: the group; all must have the same :meth:`TrialConfig.group_key` (checked).
        data: the dataset; engine: ``single`` (exactly one config) or ``fused``.
        device, on_step, eval_chunk: as for :func:`run_trial`.
        checkpointing: where and how often to save each trial's whole state
            (:mod:`lstm_sweep.training.checkpoint`); a trial with a checkpoint there resumes
            from it (bit-identical to a run that never stopped).
        until: stop after this step (a search's rung): the trials come back ``pruned`` with
            their validation accuracy, their checkpoints saved; None: the trial's ``steps``.
        val_every: measure the validation metric every this many steps (a multiple of the
            trials' ``display_step``), kept in the curve's points (``CurvePoint.val``); None:
            only at the end. It changes nothing of the training.

    Returns:
        One :class:`TrialResult` per config, in order. Time and CPU are the group's, shared
        equally among its trials (``group_size`` says how many).

    Raises:
        ConfigError: an argument of the wrong kind (``configs`` not a non-empty list of
            TrialConfig, ``data`` not a Dataset or its ``shape`` not a TaskShape the engines
            train, an unknown ``device`` or ``engine``, ``on_step``
            not callable, ``eval_chunk`` not a positive integer, ``val_every`` not a
            multiple of the display step), or configs that do not form one group. Checked
            before training: a bad argument is not a ``failed`` trial.
    """
    device = _check_arguments(configs, data, device, engine, on_step, eval_chunk)
    first = configs[0]  # the data as this group's task reads it (a sweep passes it made so)
    data = data_for_task(data, first.task, first.length, first.task_seed)
    if checkpointing is not None and not isinstance(checkpointing, Checkpointing):
        raise ConfigError(f"checkpointing must be a Checkpointing or None; got {checkpointing!r:.60}")
    steps = configs[0].steps
    if until is not None and (
        isinstance(until, bool) or not isinstance(until, int) or not 1 <= until <= steps
    ):
        raise ConfigError(f"until must be a step from 1 to {steps}; got {until!r:.60}")
    check_val_every(val_every, configs[0].display_step)
    states = _states(configs, checkpointing, until or steps, data)
    at = [s["step"] if s else 0 for s in states]

    def group(members: list[TrialConfig], their: list[dict | None]) -> list[TrialResult]:
        return _train_group(
            members,
            their,
            data,
            device=device,
            engine=engine,
            on_step=on_step,
            eval_chunk=eval_chunk,
            checkpointing=checkpointing,
            until=until or steps,
            val_every=val_every,
        )

    if len(set(at)) == 1:
        return group(list(configs), states)
    # members whose checkpoints are at different steps cannot share one batch stream: each
    # step's members go on together (a search's survivors and its pruned trials, say)
    out: dict[int, TrialResult] = {}
    for step in sorted(set(at)):
        idx = [i for i, s in enumerate(at) if s == step]
        out.update(zip(idx, group([configs[i] for i in idx], [states[i] for i in idx])))
    return [out[i] for i in range(len(configs))]


def _train_group(
    configs: list[TrialConfig],
    states: list[dict | None],
    data: Dataset,
    *,
    device: torch.device,
    engine: str,
    on_step: StepCallback | None,
    eval_chunk: int,
    checkpointing: Checkpointing | None,
    until: int,
    val_every: int | None = None,
) -> list[TrialResult]:
    proto = configs[0]
    models = [_Model(c) for c in configs]
    memory = _PeakMemory(device)
    first = states[0]
    clock = _Clock(first["started_at"], first["wall_s"], first["cpu_s"]) if first else _Clock(time.time())
    error = None
    memory.start()
    try:
        with precision_context(proto.precision), flushed(device):
            torch.manual_seed(proto.seed)  # nothing should draw from it; pin it anyway
            runner = make_engine(engine, configs, device, data.shape)
            why = first and next(
                filter(
                    None, (ckpt.tensor_problem(runner, j, s) for j, s in enumerate(states) if s is not None)
                ),
                None,
            )
            if why:
                log.warning(
                    "the checkpoints of %s cannot be resumed (%s); they start from the beginning",
                    proto.describe(),
                    why,
                )
                states = [None] * len(states)
                clock = _Clock(time.time())
            saver = _Saver(checkpointing, runner, models, clock)
            _train(runner, models, data, device, on_step, states, saver, until, val_every, eval_chunk)
            _evaluate(runner, models, data, device, eval_chunk, val_every)
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # noqa: BLE001 - failure is a result
        error = f"{type(exc).__name__}: {exc}"
        log.debug("group %s failed:\n%s", configs, traceback.format_exc())
        for m in models:
            m.status = Status.OOM if _is_oom(exc) else Status.FAILED
            m.last_loss = m.val_accuracy = m.test_accuracy = None
        runner = None
    if error is not None and device.type == "cuda":
        # after the except block, so that the traceback no longer pins the failed tensors
        gc.collect()
        torch.cuda.empty_cache()
    if on_step is not None:
        on_step(max(m.steps_done for m in models), proto.steps)
    peak, k = memory.peak(), len(models)
    wall, cpu = clock.per_model(k)
    return [
        TrialResult(
            config=m.config,
            status=m.status,
            test_accuracy=m.test_accuracy,
            val_accuracy=m.val_accuracy,
            train_loss=m.last_loss,
            steps_done=m.steps_done,
            wall_s=wall,
            cpu_s=cpu,
            peak_mem_bytes=peak,
            device=device_name(device),
            error=error,
            curve=tuple(m.curve),
            started_at=clock.started_at,
            engine=engine,
            group_size=k,
        )
        for m in models
    ]
