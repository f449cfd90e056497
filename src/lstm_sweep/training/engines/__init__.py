"""Engines hold the model(s) of a work unit for the one training loop (:mod:`lstm_sweep.training.train`).

- ``single`` (:mod:`.single`): one trial through ``nn.LSTM``'s fused kernel (oneDNN / cuDNN);
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

from ...errors import ConfigError
from ...study.config import TrialConfig

if TYPE_CHECKING:
    import torch

    from .base import Engine

# On a GPU a small trial is bound by kernel launches: fusing the trials of a width wins up to this
# width (on a CPU, oneDNN's kernel beats our eager fusion at every width: measured with
# benchmarks/bench_engine.py).
GPU_FUSE_MAX_HIDDEN = 1024


@dataclass(frozen=True)
class EngineInfo:
    name: str
    target: str  # "module:Class", imported when the engine is built
    refuses: Callable[[TrialConfig], str | None]  # why it cannot train a config (None: it can)


ENGINES: dict[str, EngineInfo] = {
    "single": EngineInfo("single", ".single:SingleEngine", lambda c: None),
    "fused": EngineInfo("fused", ".fused:fused_engine",
                        lambda c: None if c.fusable else
                        "--engine fused supports --init tf only (PyTorch's init has two trainable "
                        "biases); use --engine single or auto"),
}
ENGINE_CHOICES = ("auto", *ENGINES)


def choose_engine(config: TrialConfig, engine: str, device_type: str) -> str:
    """The engine ``config`` trains with: ``engine`` if it can, or for ``auto`` the faster one on
    this kind of device (``fused`` on CUDA up to :data:`GPU_FUSE_MAX_HIDDEN`, else ``single``).

    Raises:
        ConfigError: an unknown engine, or one that cannot train this configuration.
    """
    if engine not in ENGINE_CHOICES:
        raise ConfigError(f"unknown engine {engine!r}; choose one of: {', '.join(ENGINE_CHOICES)}")
    if engine != "auto":
        why = ENGINES[engine].refuses(config)
        if why:
            raise ConfigError(why)
        return engine
    if device_type == "cuda" and config.hidden <= GPU_FUSE_MAX_HIDDEN and \
            ENGINES["fused"].refuses(config) is None:
        return "fused"
    return "single"


def make_engine(name: str, configs: Sequence[TrialConfig], device: torch.device) -> Engine:
    """Build engine ``name`` holding ``configs`` on ``device``."""
    if name not in ENGINES:
        raise ConfigError(f"unknown engine {name!r}; choose one of: {', '.join(ENGINES)}")
    module, cls = ENGINES[name].target.split(":")
    return getattr(importlib.import_module(module, __name__), cls)(configs, device)
