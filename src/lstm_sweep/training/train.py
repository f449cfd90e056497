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
"""

from __future__ import annotations

import gc
import logging
import math
import resource
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F

from ..data import BatchStream, Dataset
from ..errors import ConfigError
from ..study.config import TrialConfig
from ..study.results import CurvePoint, Status, TrialResult
from .device import device_name
from .engines import ENGINES, make_engine
from .engines.base import Engine, precision_context

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
    return isinstance(exc, RuntimeError) and (
        "out of memory" in msg or "can't allocate memory" in msg
    )


@torch.no_grad()
def evaluate(engine: Engine, images: torch.Tensor, labels: torch.Tensor, chunk: int) -> list[float]:
    """Accuracy of each of the engine's models over all of ``images`` (N, 28, 28), ``chunk``
    images at a time so memory stays flat."""
    correct = torch.zeros(engine.k, dtype=torch.long, device=labels.device)
    for start in range(0, len(labels), chunk):
        logits = engine.logits(images[start : start + chunk]).float()  # (K, n, 10)
        correct += (logits.argmax(-1) == labels[start : start + chunk]).sum(-1)
    return [c / len(labels) for c in correct.tolist()]


@torch.no_grad()
def batch_metrics(logits: torch.Tensor, y: torch.Tensor) -> tuple[list[float], list[float]]:
    """Per-model mean cross-entropy and accuracy of logits (K, B, 10) against labels (B,)."""
    k, b, n = logits.shape
    logits = logits.float()
    losses = F.cross_entropy(logits.reshape(k * b, n), y.repeat(k), reduction="none")
    accuracy = (logits.argmax(-1) == y).float().mean(-1)
    return losses.view(k, b).mean(-1).tolist(), accuracy.tolist()


# --------------------------------------------------------------------------- the trial


def _as_tensors(split, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Images (N, T, I) as the LSTM reads them (one row per time step) and labels (N,)."""
    return torch.as_tensor(split.images, device=device), torch.as_tensor(split.labels,
                                                                          device=device)


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
    (result,) = train_group([config], data, device=device, engine="single", on_step=on_step,
                            eval_chunk=eval_chunk)
    return result


def _check_arguments(configs, data, device, engine, on_step, eval_chunk) -> torch.device:
    """:func:`train_group`'s arguments checked (ConfigError naming the bad one); the device."""
    if isinstance(configs, (str, bytes)) or not isinstance(configs, Sequence) or not configs \
            or not all(isinstance(c, TrialConfig) for c in configs):
        raise ConfigError(f"configs must be a non-empty list of TrialConfig; got {configs!r:.80}")
    if len({c.group_key() for c in configs}) != 1:
        raise ConfigError("a group's trials must agree on everything but lr and seed")
    if not isinstance(data, Dataset):
        raise ConfigError(f"data must be a Dataset (load_dataset(...)); got {type(data).__name__}")
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


def _train(runner: Engine, models: list[_Model], data: Dataset, device: torch.device,
           on_step: StepCallback | None) -> None:
    """``steps`` updates on TF-order batches; the curve every ``display_step``; a model whose
    loss is not finite stops (``diverged``, frozen for evaluation) while the others go on."""
    proto = models[0].config
    train_x, train_y = _as_tensors(data.train, device)
    batches = BatchStream(len(data.train), proto.batch_size, seed=proto.data_seed)
    # a GPU would stall on every .tolist(): look at its losses at display steps only
    check_every = 1 if device.type == "cpu" else proto.display_step
    active = list(range(len(models)))
    for step in range(1, proto.steps + 1):
        idx = torch.as_tensor(batches.next_indices(), device=device)
        x, y = train_x[idx], train_y[idx]  # (B, T, I), (B,)
        losses = runner.train_step(x, y)  # (K,): each model's loss before this update
        for j in active:
            models[j].steps_done = step
        if step % proto.display_step == 0:
            point_losses, point_accs = batch_metrics(runner.logits(x), y)
            for j in active:
                models[j].curve.append(CurvePoint(step, point_losses[j], point_accs[j]))
            if on_step is not None:
                on_step(step, proto.steps)
        if step % check_every == 0 or step == proto.steps:
            values = losses.tolist()
            for j in list(active):
                models[j].last_loss = values[j]
                if not math.isfinite(values[j]):
                    models[j].status = Status.DIVERGED
                    runner.freeze(j)
                    active.remove(j)
            if not active:
                break


def _evaluate(runner: Engine, models: list[_Model], data: Dataset, device: torch.device,
              eval_chunk: int) -> None:
    runner.finish()
    val = evaluate(runner, *_as_tensors(data.validation, device), eval_chunk)
    test = evaluate(runner, *_as_tensors(data.test, device), eval_chunk)
    for m, v, t in zip(models, val, test):
        m.val_accuracy, m.test_accuracy = v, t


def train_group(
    configs: Sequence[TrialConfig],
    data: Dataset,
    *,
    device: str | torch.device = "cpu",
    engine: str = "fused",
    on_step: StepCallback | None = None,
    eval_chunk: int = DEFAULT_EVAL_CHUNK,
) -> list[TrialResult]:
    """Train trials that share everything but learning rate and seed, on one batch sequence.

    Args:
        configs: the group; all must have the same :meth:`TrialConfig.group_key` (checked).
        data: the dataset; engine: ``single`` (exactly one config) or ``fused``.
        device, on_step, eval_chunk: as for :func:`run_trial`.

    Returns:
        One :class:`TrialResult` per config, in order. Time and CPU are the group's, shared
        equally among its trials (``group_size`` says how many).

    Raises:
        ConfigError: an argument of the wrong kind (``configs`` not a non-empty list of
            TrialConfig, ``data`` not a Dataset, an unknown ``device`` or ``engine``, ``on_step``
            not callable, ``eval_chunk`` not a positive integer), or configs that do not form
            one group. Checked before training: a bad argument is not a ``failed`` trial.
    """
    device = _check_arguments(configs, data, device, engine, on_step, eval_chunk)
    proto = configs[0]
    models = [_Model(c) for c in configs]
    memory = _PeakMemory(device)
    started_at = time.time()
    wall0, cpu0 = time.perf_counter(), time.process_time()
    error = None
    memory.start()
    try:
        with precision_context(proto.precision):
            torch.manual_seed(proto.seed)  # nothing should draw from it; pin it anyway
            runner = make_engine(engine, configs, device)
            _train(runner, models, data, device, on_step)
            _evaluate(runner, models, data, device, eval_chunk)
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
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    peak, k = memory.peak(), len(models)
    return [
        TrialResult(
            config=m.config, status=m.status, test_accuracy=m.test_accuracy,
            val_accuracy=m.val_accuracy, train_loss=m.last_loss, steps_done=m.steps_done,
            wall_s=wall / k, cpu_s=cpu / k, peak_mem_bytes=peak, device=device_name(device),
            error=error, curve=tuple(m.curve), started_at=started_at, engine=engine, group_size=k,
        )
        for m in models
    ]
