"""A store's trials as TensorBoard runs, written with PyTorch's ``SummaryWriter`` (the real
event files TensorBoard reads), so that TensorBoard's Scalars (learning curves, with its
smoothing) and HParams dashboards (table, parallel coordinates, scatter matrix of the trials'
fields against their accuracies) show our sweeps without us rewriting them.

One run (a folder) per trial, named by the fields that vary across the store and its key
(``hidden=64 lr=0.01 seed=0 (1a2b3c4d)``): its learning curve as ``batch/loss`` and
``batch/accuracy`` (or the task's metric) at each recorded step, its test and validation values
at its last step, and its fields as hyperparameters (those that vary; every value each can take
as its domain) with those values as the HParams metrics. Needs ``tensorboard``
(``pip install 'lstm-sweep[tensorboard]'``).
"""

from __future__ import annotations

import math
import os
import re
import stat
from collections.abc import Sequence
from pathlib import Path

from ..errors import ConfigError
from ..study import TrialConfig, TrialResult, metric_of
from . import checks
from .outputs import OutputError
from .text import printable

_EVENTS = "events.out.tfevents."
_CONFIG = [f for f in TrialConfig.__dataclass_fields__ if f != "opt"] + ["opt"]
_UNSAFE = re.compile(r"[^A-Za-z0-9=._+\- ()]")


def _writer_class():
    try:
        from torch.utils.tensorboard import SummaryWriter
        from torch.utils.tensorboard.summary import hparams
    except ImportError:
        raise ConfigError(
            "export to TensorBoard needs tensorboard: pip install 'lstm-sweep[tensorboard]'"
        ) from None
    return SummaryWriter, hparams


def _value(config: TrialConfig, name: str) -> object:
    value = getattr(config, name)
    if name == "opt":
        return ";".join(f"{k}={v:g}" for k, v in value) or "default"
    return value


def _finite(value: float | None) -> bool:
    return value is not None and isinstance(value, (int, float)) and math.isfinite(value)


def run_name(r: TrialResult, varied: Sequence[str]) -> str:
    """A trial's run folder: its varied fields and its key's start, safe as a file name."""
    parts = " ".join(f"{f}={_value(r.config, f)}" for f in varied) or "trial"
    return f"{_UNSAFE.sub('_', printable(parts))[:150]} ({r.key[:8]})"


def check_tensorboard_target(path: str | Path, protect: Sequence[str | Path] = ()) -> Path:
    """Refuse (OutputError) a log folder TensorBoard runs may not be written in: a file, a
    FIFO or device, the store being read, or a folder whose parent does not exist."""
    path = Path(path)
    shown = printable(str(path))[:200]
    how = "pass path= with a folder (new, or a TensorBoard log folder to add the runs to)"
    for p in protect:
        try:
            if os.path.samefile(path, p):
                raise OutputError(f"{shown} is the store being read; {how}")
        except OSError:
            pass
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        if not path.parent.is_dir():
            raise OutputError(f"{shown}: its parent folder does not exist; {how}") from None
        return path
    except OSError as e:
        raise OutputError(f"{shown}: {e.strerror or e}; {how}") from None
    if not stat.S_ISDIR(mode):
        kind = "a file" if stat.S_ISREG(mode) else "not a folder (a FIFO, socket or device)"
        raise OutputError(f"{shown} is {kind}; {how}")
    return path


def export_tensorboard(
    results: Sequence[TrialResult],
    path: str | Path,
    *,
    overwrite: bool = False,
    protect: Sequence[str | Path] = (),
) -> list[str]:
    """Write ``results`` as TensorBoard runs under the log folder ``path`` (made if new);
    returns the run names written.

    Raises:
        ConfigError: tensorboard is not installed; ``results`` not a list of TrialResult, or
            empty.
        OutputError: ``path`` may not be written (:func:`check_tensorboard_target`), or a
            trial's run is there already (``overwrite=True`` replaces its event files).
    """
    results = checks.results(results)
    checks.flag("overwrite", overwrite)
    if not results:
        raise ConfigError("no trials to export")
    root = check_tensorboard_target(path, protect)
    writer_class, hparams = _writer_class()
    values = {f: [_value(r.config, f) for r in results] for f in _CONFIG}
    varied = [f for f in _CONFIG if len({repr(v) for v in values[f]}) > 1]
    names = {r.key: run_name(r, varied) for r in results}
    taken = [n for n in names.values() if (root / n).exists()]
    if taken and not overwrite:
        raise OutputError(
            f"{printable(str(path))[:200]} holds the run {printable(taken[0])!r} already; pass "
            "overwrite=True to replace the runs of these trials"
        )
    domains = {
        f: sorted({str(v) for v in values[f]})
        for f in varied
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values[f])
    }
    root.mkdir(parents=True, exist_ok=True)
    for r in results:
        folder = root / names[r.key]
        if folder.is_dir():
            for old in folder.iterdir():  # only the event files a writer made: nothing else
                if old.name.startswith(_EVENTS) and old.is_file() and not old.is_symlink():
                    old.unlink()
        measure = metric_of(r.config)
        what = "accuracy" if measure.name == "accuracy" else measure.short
        with writer_class(log_dir=str(folder)) as w:
            for p in r.curve:
                if _finite(p.loss):
                    w.add_scalar("batch/loss", p.loss, p.step)
                if _finite(p.accuracy):
                    w.add_scalar(f"batch/{what}", p.accuracy, p.step)
            metrics = {}
            if _finite(r.test_accuracy):
                metrics[f"test/{what}"] = float(r.test_accuracy)  # type: ignore[arg-type]
            if _finite(r.val_accuracy):
                metrics[f"validation/{what}"] = float(r.val_accuracy)  # type: ignore[arg-type]
            for tag, value in metrics.items():
                w.add_scalar(tag, value, r.steps_done)
            hp = {f: _hparam(_value(r.config, f), f in domains) for f in varied}
            hp["status"] = str(r.status)
            exp, ssi, sei = hparams(
                hp, metrics, {**domains, "status": sorted({str(x.status) for x in results})}
            )
            for summary in (exp, ssi, sei):
                w.file_writer.add_summary(summary)
    return [names[r.key] for r in results]


def _hparam(value: object, categorical: bool) -> object:
    """A field as TensorBoard's HParams takes it: text for a categorical one, else a number."""
    if categorical or not isinstance(value, (int, float)) or isinstance(value, bool):
        return str(value)
    return value
