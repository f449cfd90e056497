"""What every executor is: the protocol, the progress events, and the record of a lost unit.

An executor runs work units and yields their results as they finish; it never writes the store
(the driver does, as each result arrives). It pulls units one at a time through ``claim`` just
before running each, so that the driver can claim the unit's trials in the store at that moment
(another driver on the same store may have taken some meanwhile: ``claim`` returns the unit cut
down to the trials still to train, or None to skip it).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from ...errors import ConfigError
from ...study import Status, TrialResult
from ..units import WorkUnit

if TYPE_CHECKING:
    import torch

    from ...data import Dataset
    from ...training import Checkpointing

Claim = Callable[[WorkUnit], "WorkUnit | None"]
NextUnit = Callable[[], "WorkUnit | None"]


@dataclass
class UnitEvents:
    """Progress hooks, called in the driver: a unit starts; a unit made progress."""

    on_start: Callable[[WorkUnit], None] | None = None
    on_step: Callable[[WorkUnit, int, int], None] | None = None


class Executor(Protocol):
    """Runs work units. Constructed from its own options (``from_options``), called the same
    way whatever it is."""

    name: str

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
        """Run ``units`` (each through ``claim`` first; each trial saving its state through
        ``checkpointing`` and resuming from it); yield ``(unit, results)`` as each
        finishes, in completion order. A unit the executor itself loses (a dead worker, a Ray
        task whose retries are spent) is yielded with :func:`unit_failed` results; KeyboardInterrupt
        stops what is running and propagates."""


def feed(units: Sequence[WorkUnit], claim: Claim | None = None) -> NextUnit:
    """The next unit to run, claimed (None when there are no more)."""
    left = list(units)

    def next_unit() -> WorkUnit | None:
        while left:
            unit = left.pop(0)
            got = unit if claim is None else claim(unit)
            if got is not None:
                return got
        return None

    return next_unit


def unit_failed(unit: WorkUnit, error: str, device) -> list[TrialResult]:
    """The unit's trials recorded ``failed`` when the executor lost the unit itself."""
    return [
        TrialResult(
            config=c,
            status=Status.FAILED,
            error=error,
            device=str(device),
            engine=unit.engine,
            group_size=len(unit.configs),
            started_at=time.time(),
        )
        for c in unit.configs
    ]


def refuse_options(name: str, options: dict, takes: tuple[str, ...]) -> None:
    """ConfigError for options given to an executor that does not take them."""
    extra = [k for k, v in options.items() if v is not None and k not in takes]
    if extra:
        flags = ", ".join(f"{k}=" for k in extra)
        raise ConfigError(
            f"{flags} is not an option of executor={name}; drop it, or choose the executor it belongs to"
        )
