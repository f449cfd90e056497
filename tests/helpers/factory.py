"""One factory of trial results for the tests that need stored or reported trials without
training them: every field consistent with the others (a trial that has an accuracy ran its
steps and has a curve on its display steps; one without ran none; an error where it failed)."""

from __future__ import annotations

from lstm_sweep.study.config import TrialConfig
from lstm_sweep.study.results import CurvePoint, Status, TrialResult

ERRORS = {Status.OOM: "CUDA out of memory", Status.FAILED: "boom"}


def trial(
    hidden: int = 16,
    lr: float = 1e-3,
    acc: float | None = 0.9,
    *,
    seed: int = 0,
    status: Status = Status.DONE,
    steps: int = 30,
    wall: float = 1.0,
    curve: int | tuple[CurvePoint, ...] = 3,
    error: str | None = None,
    train_loss: float | None = 0.3,
    **config,
) -> TrialResult:
    """A finished trial of ``TrialConfig(hidden, lr, seed, steps, **config)``.

    ``acc``: its test and validation accuracy (None: it has none, ran no step, has no curve).
    ``curve``: how many points (at steps 10, 20, ...; loss 1 / i, accuracy 0.5), or the points.
    ``error``: default, by status: "CUDA out of memory" (oom), "boom" (failed), else None.
    ``pruned``: stopped halfway (a search's rung), its validation accuracy only.
    ``train_loss``: its final training loss, where it has an accuracy (else None).
    """
    cfg = TrialConfig(hidden=hidden, lr=lr, seed=seed, steps=steps, **config)
    ran = acc is not None
    if isinstance(curve, int):
        step = cfg.display_step
        curve = tuple(CurvePoint(step * (i + 1), 1.0 / (i + 1), 0.5) for i in range(curve)) if ran else ()
    done = steps if ran else 0
    if status is Status.PRUNED:  # a search stopped it at a rung: no test accuracy
        done = max(1, steps // 2)
        curve = tuple(p for p in curve if p.step <= done)
    return TrialResult(
        config=cfg,
        status=status,
        test_accuracy=None if status is Status.PRUNED else acc,
        val_accuracy=acc,
        train_loss=train_loss if ran else None,
        steps_done=done,
        wall_s=wall,
        cpu_s=wall,
        peak_mem_bytes=10**8,
        device="cpu:test",
        error=error if error is not None else ERRORS.get(status),
        curve=curve,
        started_at=1000.0,
    )
