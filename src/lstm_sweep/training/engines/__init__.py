"""Engines hold the model(s) of a work unit for the one training loop (:mod:`lstm_sweep.training.train`).

- ``single`` (:mod:`.single`): one trial (the LSTM through ``nn.LSTM``'s kernel, oneDNN / cuDNN;
  the GRU and basic RNN as TF writes them);
- ``fused`` (:mod:`.fused`, :mod:`.fused_cells`): K trials of one width as one batched model
  (the LSTM with written-out passes; the GRU and basic RNN through autograd).

This registry says which engine serves which configuration and which one ``auto`` picks; it
imports no torch (planning needs none), and loads an engine's module only to build it. Adding an
engine = one module with a class that follows :class:`.base.Engine`, and one entry here.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ...data import ROWS, TaskShape
from ...errors import ConfigError
from ...study import TrialConfig, show

if TYPE_CHECKING:
    import torch

    from .base import Engine

# On a GPU a small trial is bound by kernel launches: fusing the trials of a width wins up to this
# width; beyond it cuDNN's LSTM is as fast or faster (an H200, benchmarks/bench_gpu.py: at 1024
# units six fused LSTM trials step in 19.4 ms against 6 x 3.8 ms for cuDNN in fp32, at 2048 in
# 26.4 ms against 6 x 4.1 ms in tf32). The GRU and basic RNN gain more from fusing (six GRU trials
# of 1024 units: 2.0 s fused, 7.2 s one by one), but wider fused groups of them are unmeasured and
# need several times a single trial's memory, so they keep the same limit. On a CPU, oneDNN's
# kernel beats our eager fusion at every width (benchmarks/bench_engine.py).
GPU_FUSE_MAX_HIDDEN = 1024


@dataclass(frozen=True)
class EngineInfo:
    name: str
    target: str  # "module:Class", imported when the engine is built
    refuses: Callable[[TrialConfig], str | None]  # why it cannot train a config (None: it can)


ENGINES: dict[str, EngineInfo] = {
    "single": EngineInfo("single", ".single:SingleEngine", lambda c: None),
    "fused": EngineInfo(
        "fused",
        ".fused:fused_engine",
        lambda c: (
            None
            if c.fusable
            else "engine=fused supports init=tf only (PyTorch's init has two trainable "
            "biases); use engine=single or auto"
        ),
    ),
}
ENGINE_CHOICES = ("auto", *ENGINES)


def _check_name(engine: object, choices: Sequence[str]) -> None:
    if not isinstance(engine, str) or engine not in choices:
        raise ConfigError(f"unknown engine {show(engine)}; choose one of: {', '.join(choices)}")


def _check_config(config: object) -> None:
    if not isinstance(config, TrialConfig):
        raise ConfigError(f"an engine trains TrialConfig trials, got {show(config)}")


def choose_engine(config: TrialConfig, engine: str, device_type: str) -> str:
    """The engine ``config`` trains with: ``engine`` if it can, or for ``auto`` the faster one on
    this kind of device (``fused`` on CUDA up to :data:`GPU_FUSE_MAX_HIDDEN`, else ``single``).

    Raises:
        ConfigError: ``config`` not a TrialConfig, an unknown engine, a ``device_type`` that is
            not a device kind's name (``"cpu"``, ``"cuda"``), or an engine that cannot train
            this configuration.
    """
    _check_config(config)
    _check_name(engine, ENGINE_CHOICES)
    if not isinstance(device_type, str) or not device_type.isidentifier():
        raise ConfigError(
            f"device type must be the name of a kind of device (cpu, cuda, ...), got {show(device_type)}"
        )
    if engine != "auto":
        why = ENGINES[engine].refuses(config)
        if why:
            raise ConfigError(why)
        return engine
    if (
        device_type == "cuda"
        and config.hidden <= GPU_FUSE_MAX_HIDDEN
        and ENGINES["fused"].refuses(config) is None
    ):
        return "fused"
    return "single"


def make_engine(
    name: str, configs: Sequence[TrialConfig], device: torch.device, shape: TaskShape = ROWS
) -> Engine:
    """Build engine ``name`` holding ``configs`` on ``device``, for a task of ``shape``.

    Args:
        name: a key of :data:`ENGINES`.
        configs: the trials (model ``j`` is ``configs[j]``).
        device: where the models live.
        shape: what the task's sequences are to a model (:class:`~lstm_sweep.data.TaskShape`:
            inputs, head, readout, loss); the homework's rows by default.

    Returns:
        The engine (:class:`.base.Engine`).

    Raises:
        ConfigError: an unknown engine; ``configs`` not a non-empty list of TrialConfig (one for
            ``single``; for ``fused``, trials that train together: one
            :meth:`~lstm_sweep.study.trial.TrialConfig.group_key`), or trials the engine
            cannot train; ``device`` not a ``torch.device``; ``shape`` not a TaskShape one
            can train (a positive ``n_input`` and ``n_output``, a readout ``last`` or
            ``every``, a loss ``xent`` or ``mse`` with one output for ``mse``).
    """
    _check_name(name, tuple(ENGINES))
    check_shape(shape)
    if not isinstance(configs, (list, tuple)) or not configs:
        raise ConfigError(f"engine {name} needs a non-empty list of trials, got {show(configs)}")
    for c in configs:
        _check_config(c)
        why = ENGINES[name].refuses(c)
        if why:
            raise ConfigError(why)
    if name == "single" and len(configs) != 1:
        raise ConfigError(f"engine single trains one trial at a time, got {len(configs)}")
    if len({c.group_key() for c in configs}) > 1:
        raise ConfigError(
            "engine fused trains trials together that differ only in learning rate "
            "and seed; these differ in more"
        )
    import torch  # building an engine needs torch anyway; planning (above) does not

    if not isinstance(device, torch.device):
        raise ConfigError(f"an engine needs a torch.device, got {show(device)}")
    module, cls = ENGINES[name].target.split(":")
    return getattr(importlib.import_module(module, __name__), cls)(configs, device, shape)


def check_shape(shape: object) -> None:
    """Raises ConfigError (naming ``shape``) unless it is a :class:`TaskShape` the engines train."""
    if not isinstance(shape, TaskShape):
        raise ConfigError(f"shape must be a TaskShape, got {show(shape)}")
    bad = [
        f"its {f} must be a positive integer, got {show(v)}"
        for f, v in (("n_input", shape.n_input), ("n_output", shape.n_output))
        if isinstance(v, bool) or not isinstance(v, int) or v < 1
    ]
    if shape.readout not in ("last", "every"):
        bad.append(f"its readout must be last or every, got {show(shape.readout)}")
    if shape.loss not in ("xent", "mse"):
        bad.append(f"its loss must be xent or mse, got {show(shape.loss)}")
    elif shape.loss == "mse" and shape.n_output != 1:
        bad.append(f"a loss mse has one output, got n_output {show(shape.n_output)}")
    if bad:
        raise ConfigError(f"shape: {bad[0]}")
