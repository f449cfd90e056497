"""What a store holds, read without writing: counts for ``lstm-sweep check``'s last line, and
the environments its trials ran in for the HTML report. Through the store's public API only."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError
from ..store import DEFAULT_TIMEOUT, Store, claim_timeout


@dataclass(frozen=True)
class StoreSummary:
    """A sound store in numbers: its trials, their curve points, its schema version and the
    trials that running drivers hold by live claims."""

    trials: int
    curve_points: int
    schema_version: int
    live_claims: int


def summarize_store(path: str | Path) -> StoreSummary:
    """Count what the store at ``path`` holds (read-only). A claim is live as a driver judges it:
    by ``$LSTM_SWEEP_CLAIM_TIMEOUT``, or the store's default where that is not a valid number
    (a bad value is ``run``'s to refuse, not a reason to stop a check).

    Raises:
        StoreError: ``path`` is not a store, or a row is damaged (``check_store`` lists those).
    """
    with Store(path, readonly=True) as store:
        results = store.results(with_curves=True)
        claims = store.claims()
        version = store.schema_version
    try:
        timeout = claim_timeout()
    except ConfigError:
        timeout = DEFAULT_TIMEOUT
    now = time.time()
    return StoreSummary(
        trials=len(results),
        curve_points=sum(len(r.curve) for r in results),
        schema_version=version,
        live_claims=sum(c.live(now, timeout) for c in claims),
    )


def load_environments(path: str | Path) -> dict[str, dict]:
    """The environments (JSON objects, by id) the store's trials were computed in, as
    :func:`~lstm_sweep.reporting.html.render_html` takes them.

    Raises:
        StoreError: ``path`` is not a store, or an environment row is damaged.
    """
    with Store(path, readonly=True) as store:
        return store.environments()
