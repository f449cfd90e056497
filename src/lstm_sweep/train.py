"""One trial: ``(TrialConfig, Dataset) -> TrialResult``, as the seed trains one cell.

The trial seeds itself, trains ``steps`` Adam updates on TF-order batches, records a learning
curve every ``display_step`` steps (loss and accuracy on the batch just trained on, after the
update, as the seed's loop does), then measures accuracy on the validation and the 10,000 test
images in chunks. It never prints or writes the store; progress goes through a callback. Failure
is a result: NaN/inf loss -> ``diverged`` (accuracy still measured), out of memory -> ``oom``,
any other exception -> ``failed`` with its message. Ctrl-C (KeyboardInterrupt) is not caught.
"""

from __future__ import annotations

import logging
import math
import platform
import resource
import time
import traceback
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F

from .config import TrialConfig
from .data import BatchStream, Dataset
from .model import N_INPUT, N_STEPS, TFAdam, build_model
from .results import CurvePoint, Status, TrialResult

log = logging.getLogger(__name__)

DEFAULT_EVAL_CHUNK = 1000

StepCallback = Callable[[int, int], None]  # (steps done, steps total)


def resolve_device(device: str) -> torch.device:
    """``"auto"`` -> cuda if available else cpu; ``"cuda"`` without a GPU is a clear error."""
    from .errors import ConfigError

    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device not in ("cpu", "cuda") and not device.startswith("cuda:"):
        raise ConfigError(f"unknown device {device!r}; use auto, cpu or cuda")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError("--device cuda was asked for but PyTorch sees no CUDA GPU; use --device cpu")
    return torch.device(device)


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda:{torch.cuda.get_device_name(device)}"
    return f"cpu:{platform.processor() or platform.machine()}"


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


# --------------------------------------------------------------------------- the trial


@torch.no_grad()
def evaluate(
    model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor, chunk: int
) -> float:
    """Accuracy over all of ``images`` (N, 28, 28), ``chunk`` at a time so memory stays flat."""
    correct = 0
    for start in range(0, len(labels), chunk):
        logits = model(images[start : start + chunk])
        correct += int((logits.argmax(1) == labels[start : start + chunk]).sum())
    return correct / len(labels)


def _as_tensors(split, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    images = torch.as_tensor(split.images.reshape(-1, N_STEPS, N_INPUT), device=device)
    return images, torch.as_tensor(split.labels, device=device)


def run_trial(
    config: TrialConfig,
    data: Dataset,
    *,
    device: str | torch.device = "cpu",
    on_step: StepCallback | None = None,
    eval_chunk: int = DEFAULT_EVAL_CHUNK,
) -> TrialResult:
    """Train and evaluate one trial.

    Args:
        config: the trial (its seed decides the initial weights and the batch order).
        data: the TF split of the dataset (``config.dataset`` should be ``data.name``).
        device: a torch device; ``"cpu"`` or ``"cuda"``.
        on_step: called as ``on_step(done, total)`` every display step and at the end.
        eval_chunk: images per forward pass when measuring accuracy.

    Returns:
        A :class:`TrialResult`; exceptions other than KeyboardInterrupt become ``failed``/``oom``.
    """
    device = torch.device(device)
    memory = _PeakMemory(device)
    started_at = time.time()
    wall0, cpu0 = time.perf_counter(), time.process_time()
    curve: list[CurvePoint] = []
    steps_done = 0
    status = Status.DONE
    error = None
    test_acc = val_acc = None
    model = None
    memory.start()
    try:
        torch.manual_seed(config.seed)  # nothing should draw from it; pin it anyway
        model = build_model(config.hidden, config.init, config.seed).to(device)
        trainable = [p for p in model.parameters() if p.requires_grad]
        optimizer = TFAdam(trainable, lr=config.lr)
        train_x, train_y = _as_tensors(data.train, device)
        batches = BatchStream(len(data.train), config.batch_size, seed=config.data_seed)
        check_every = 1 if device.type == "cpu" else config.display_step
        for step in range(1, config.steps + 1):
            idx = torch.as_tensor(batches.next_indices(), device=device)
            x, y = train_x[idx], train_y[idx]  # (B, 28, 28), (B,)
            loss = F.cross_entropy(model(x), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            steps_done = step
            display = step % config.display_step == 0
            if display:
                with torch.no_grad():
                    logits = model(x)
                    point_loss = float(F.cross_entropy(logits, y))
                    point_acc = float((logits.argmax(1) == y).float().mean())
                curve.append(CurvePoint(step, point_loss, point_acc))
                if on_step is not None:
                    on_step(step, config.steps)
            if (step % check_every == 0 or step == config.steps) and not math.isfinite(
                loss.item()
            ):
                status = Status.DIVERGED
                break
        model.eval()
        val_acc = evaluate(model, *_as_tensors(data.validation, device), eval_chunk)
        test_acc = evaluate(model, *_as_tensors(data.test, device), eval_chunk)
        final_loss = loss.item() if steps_done else None
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # noqa: BLE001 - failure is a result
        status = Status.OOM if _is_oom(exc) else Status.FAILED
        error = f"{type(exc).__name__}: {exc}"
        log.debug("trial %s failed:\n%s", config, traceback.format_exc())
        final_loss = None
        del model
        if device.type == "cuda":
            torch.cuda.empty_cache()
    if on_step is not None:
        on_step(steps_done, config.steps)
    return TrialResult(
        config=config,
        status=status,
        test_accuracy=test_acc,
        val_accuracy=val_acc,
        train_loss=final_loss,
        steps_done=steps_done,
        wall_s=time.perf_counter() - wall0,
        cpu_s=time.process_time() - cpu0,
        peak_mem_bytes=memory.peak(),
        device=device_name(device),
        error=error,
        curve=tuple(curve),
        started_at=started_at,
    )
