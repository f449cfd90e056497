"""The in-process executor: one unit after another, in this process, with its torch threads."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import partial

import torch

from ...data import Dataset
from ...study import TrialResult
from ...training import Checkpointing, train_group
from ..units import WorkUnit
from .base import Claim, NextUnit, UnitEvents, feed, refuse_options


def run_in_process(
    next_unit: NextUnit,
    data: Dataset,
    device: torch.device,
    events: UnitEvents,
    checkpointing: Checkpointing | None = None,
) -> Iterator[tuple[WorkUnit, list[TrialResult]]]:
    while (unit := next_unit()) is not None:
        if events.on_start:
            events.on_start(unit)
        on_step = None if events.on_step is None else partial(events.on_step, unit)
        yield (
            unit,
            train_group(
                unit.configs,
                data,
                device=device,
                engine=unit.engine,
                on_step=on_step,
                checkpointing=checkpointing,
                until=unit.until,
                val_every=unit.val_every,
            ),
        )


class InProcessExecutor:
    """Units in this process, in order (see :class:`~lstm_sweep.running.executors.base.Executor`)."""

    name = "inprocess"

    @classmethod
    def from_options(cls, **options) -> InProcessExecutor:
        refuse_options(cls.name, options, ())
        return cls()

    def run(
        self,
        units: Sequence[WorkUnit],
        data: Dataset,
        device: torch.device,
        *,
        claim: Claim | None = None,
        events: UnitEvents | None = None,
        checkpointing: Checkpointing | None = None,
    ) -> Iterator[tuple[WorkUnit, list[TrialResult]]]:
        yield from run_in_process(feed(units, claim), data, device, events or UnitEvents(), checkpointing)
