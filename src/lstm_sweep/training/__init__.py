"""Training: the device (:mod:`.device`), TF's cells and initialisation (:mod:`.model`), TF's
optimizers (:mod:`.optim`), the engines that hold a work unit's model(s) (:mod:`.engines`) and the
one training loop (:mod:`.train`). A trial is a pure function ``(TrialConfig, Dataset) ->
TrialResult``: it neither prints nor touches the store. Imports the study and the data only.

What other layers use is imported from here. Most modules load torch, which ``import lstm_sweep``
and a report must not: each name loads its module on first use (PEP 562), and type checkers read
the imports under ``TYPE_CHECKING``."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .checkpoint import DEFAULT_EVERY_S, CheckpointDir, Checkpointing
    from .coord import probe
    from .denormals import flushed
    from .device import capabilities, check_precision, device_name, resolve_device, unsupported
    from .engines import ENGINE_CHOICES, choose_engine, make_engine
    from .engines.base import precision_context
    from .engines.fused import FusedEngine
    from .engines.fused_cells import FusedCellEngine
    from .graphs import WARMUP_STEPS, stepper
    from .param import ADAM_LIKE, readout_multiplier
    from .tasks import model_inputs
    from .train import check_val_every, run_trial, train_group

# Each name -> the module (of this package) that defines it.
_HOME = {
    "DEFAULT_EVERY_S": ".checkpoint",
    "CheckpointDir": ".checkpoint",
    "Checkpointing": ".checkpoint",
    "probe": ".coord",
    "flushed": ".denormals",
    "capabilities": ".device",
    "check_precision": ".device",
    "device_name": ".device",
    "resolve_device": ".device",
    "unsupported": ".device",
    "ENGINE_CHOICES": ".engines",
    "choose_engine": ".engines",
    "make_engine": ".engines",
    "precision_context": ".engines.base",
    "FusedEngine": ".engines.fused",
    "FusedCellEngine": ".engines.fused_cells",
    "WARMUP_STEPS": ".graphs",
    "stepper": ".graphs",
    "ADAM_LIKE": ".param",
    "readout_multiplier": ".param",
    "model_inputs": ".tasks",
    "check_val_every": ".train",
    "run_trial": ".train",
    "train_group": ".train",
}


def __getattr__(name: str) -> object:
    if name in _HOME:
        return getattr(importlib.import_module(_HOME[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ADAM_LIKE",
    "DEFAULT_EVERY_S",
    "ENGINE_CHOICES",
    "WARMUP_STEPS",
    "CheckpointDir",
    "Checkpointing",
    "FusedCellEngine",
    "FusedEngine",
    "capabilities",
    "check_precision",
    "check_val_every",
    "choose_engine",
    "device_name",
    "flushed",
    "make_engine",
    "model_inputs",
    "precision_context",
    "probe",
    "readout_multiplier",
    "resolve_device",
    "run_trial",
    "stepper",
    "train_group",
    "unsupported",
]
