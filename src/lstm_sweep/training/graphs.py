"""CUDA graphs of a fused engine's training step: one launch a step instead of hundreds.

A fused group of small models on a GPU is bound by kernel launches, not arithmetic: the LSTM's
written-out passes launch ~800 small kernels a step (28 time steps forward and back, then the
optimizer), and at 16 to 512 units an H200 spent ~12 ms a step launching them, whatever the
width. A CUDA graph records the step's kernels once and replays them with one launch.

What makes a step replayable: every tensor it reads lives on the device at a fixed address (the
batch is copied into fixed buffers, the parameters and optimizer slots are updated in place) and
nothing it computes depends on Python values that change between steps. The one such value is
Adam's bias correction at step ``t``: the optimizer is *held*
(:meth:`~lstm_sweep.training.optim.TFOptimizer.hold`), so the loop counts the step and writes the
correction into a device tensor before each replay. A replayed step runs the same kernels on the
same values as the eager one, so it gives the same numbers, bit for bit (the GPU check compares
them). Any task's step replays alike: the batch arrives as the model reads it (token ids made
one-hot by the loop) and the targets ((B,) or (B, T), classes or floats) are copied into fixed
buffers of their own shape and type; the every-step readout adds no Python value to the step.

The first steps run eagerly on a side stream (libraries initialise lazily, the allocator warms
up), then the next one is captured and replayed. If capturing fails, training goes on eagerly.
Off on CPUs (nothing to gain), for engines that do not say they can be graphed, and with
``LSTM_SWEEP_CUDA_GRAPHS=0``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable

import torch

log = logging.getLogger(__name__)

WARMUP_STEPS = 3  # eager steps on a side stream before capturing


def graphs_enabled(runner: object, device: torch.device) -> bool:
    """Whether ``runner``'s steps are replayed from a CUDA graph on ``device``."""
    return (
        device.type == "cuda"
        and getattr(runner, "graphable", False)
        and os.environ.get("LSTM_SWEEP_CUDA_GRAPHS", "1") != "0"
    )


def stepper(runner, device: torch.device) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """``runner.train_step``, or on a GPU its replayed CUDA graph (:class:`GraphedStep`).

    The losses a graphed step returns are overwritten by the next step: read them before."""
    if graphs_enabled(runner, device):
        return GraphedStep(runner, device)
    return runner.train_step


class GraphedStep:
    """``runner.train_step(x, y)`` through a CUDA graph (captured at the first call after
    :data:`WARMUP_STEPS` eager ones)."""

    def __init__(self, runner, device: torch.device):
        self.runner, self.device = runner, device
        self.calls = 0
        # the captured graph with its static input and output tensors
        self.graph: tuple[torch.cuda.CUDAGraph, torch.Tensor, torch.Tensor, torch.Tensor] | None
        self.graph = None
        self.eager = False  # capture failed: plain steps from now on
        runner.optimizer.hold()

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        optimizer = self.runner.optimizer
        if self.graph is not None:
            graph, static_x, static_y, out = self.graph
            static_x.copy_(x)
            static_y.copy_(y)
            optimizer.advance()
            graph.replay()
            return out
        optimizer.advance()
        if self.eager:
            return self.runner.train_step(x, y)
        if self.calls <= WARMUP_STEPS:
            side = torch.cuda.Stream(self.device)
            side.wait_stream(torch.cuda.current_stream(self.device))
            with torch.cuda.stream(side):
                losses = self.runner.train_step(x, y)
            torch.cuda.current_stream(self.device).wait_stream(side)
            return losses
        return self._capture(x, y)

    def _capture(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        static_x, static_y = x.clone(), y.clone()
        graph = torch.cuda.CUDAGraph()
        try:  # on the engine's device (cuda:N), on a capture stream of that device
            with (
                torch.cuda.device(self.device),
                torch.cuda.graph(graph, stream=torch.cuda.Stream(self.device)),
            ):
                out = self.runner.train_step(static_x, static_y)
        except Exception as e:  # noqa: BLE001 - a step that cannot be captured still trains
            log.warning(
                "CUDA graph capture failed (%s: %s); this group trains without graphs",
                type(e).__name__,
                str(e).splitlines()[0][:160] if str(e) else "",
            )
            self.eager = True
            # a capture that failed at its end may leave its stream current: back to the default
            torch.cuda.set_stream(torch.cuda.default_stream(self.device))
            torch.cuda.synchronize(self.device)
            return self.runner.train_step(x, y)  # capture ran nothing: this step, eagerly
        self.graph = (graph, static_x, static_y, out)
        graph.replay()  # capturing only recorded the step: now run it
        return out
