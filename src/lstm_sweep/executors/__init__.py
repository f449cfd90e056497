"""Executors run work units and hand back their results; only the driver writes the store."""

from __future__ import annotations

import time

from ..plan import WorkUnit
from ..results import Status, TrialResult


def unit_failed(unit: WorkUnit, error: str, device) -> list[TrialResult]:
    """The unit's trials recorded ``failed`` when the executor lost the unit itself."""
    return [
        TrialResult(config=c, status=Status.FAILED, error=error, device=str(device),
                    engine=unit.engine, group_size=len(unit.configs), started_at=time.time())
        for c in unit.configs
    ]
