"""Running a sweep: work units (:mod:`.units`), their cost (:mod:`.cost`, probed by
:mod:`.calibration`), request -> plan -> execute (:mod:`.sweep`), a search (:mod:`.search`), a
transfer (:mod:`.transfer`: tune narrow widths, predict and verify the wide ones), the
coordinate check (:mod:`.coordcheck`), and where units run (:mod:`.executors`: in this process,
local worker processes, a Ray cluster). The layer that joins training and the store; only the
CLI and the public API import it.

What they use is imported from here. Planning and executing load torch, which ``import
lstm_sweep`` must not: each name loads its module on first use (PEP 562), and type checkers read
the imports under ``TYPE_CHECKING``."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .coordcheck import coord_check
    from .cost import human_bytes, human_seconds
    from .executors import EXECUTORS
    from .search import (
        SearchCallbacks,
        SearchPlan,
        SearchSummary,
        plan_search,
        render_search_summary,
        run_search,
    )
    from .sweep import (
        Plan,
        SweepCallbacks,
        SweepRequest,
        SweepSummary,
        execute,
        plan_sweep,
        run_sweep,
        sweep_request,
    )
    from .transfer import (
        TransferCallbacks,
        TransferPlan,
        TransferSummary,
        plan_transfer,
        render_predictions,
        render_transfer_summary,
        run_transfer,
    )

# Each name -> the module (of this package) that defines it.
_HOME = {
    "coord_check": ".coordcheck",
    "human_bytes": ".cost",
    "human_seconds": ".cost",
    "EXECUTORS": ".executors",
    "SearchCallbacks": ".search",
    "SearchPlan": ".search",
    "SearchSummary": ".search",
    "plan_search": ".search",
    "render_search_summary": ".search",
    "run_search": ".search",
    "Plan": ".sweep",
    "SweepCallbacks": ".sweep",
    "SweepRequest": ".sweep",
    "SweepSummary": ".sweep",
    "execute": ".sweep",
    "plan_sweep": ".sweep",
    "run_sweep": ".sweep",
    "sweep_request": ".sweep",
    "TransferCallbacks": ".transfer",
    "TransferPlan": ".transfer",
    "TransferSummary": ".transfer",
    "plan_transfer": ".transfer",
    "render_predictions": ".transfer",
    "render_transfer_summary": ".transfer",
    "run_transfer": ".transfer",
}


def __getattr__(name: str) -> object:
    if name in _HOME:
        return getattr(importlib.import_module(_HOME[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "EXECUTORS",
    "Plan",
    "SearchCallbacks",
    "SearchPlan",
    "SearchSummary",
    "SweepCallbacks",
    "SweepRequest",
    "SweepSummary",
    "TransferCallbacks",
    "TransferPlan",
    "TransferSummary",
    "coord_check",
    "execute",
    "human_bytes",
    "human_seconds",
    "plan_search",
    "plan_sweep",
    "plan_transfer",
    "render_predictions",
    "render_search_summary",
    "render_transfer_summary",
    "run_search",
    "run_sweep",
    "run_transfer",
    "sweep_request",
]
