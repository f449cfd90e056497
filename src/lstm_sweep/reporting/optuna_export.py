"""A store's trials as an Optuna study, written by Optuna itself into an Optuna storage (an
SQLite file), so that optuna-dashboard (importance, parallel coordinates, contour, slice,
intermediate values) and Optuna's own analysis read our sweeps without us rewriting them.

Each trial becomes one of the study's trials: the fields that vary across the store (hidden,
lr, seed, cell, ...) are its parameters, with distributions spanning the values stored (log
scale for widths and rates); its value is the test accuracy, or the task's own metric (bits
per character, MSE: minimized); its intermediate values are its validation curve where it was
measured (``--val-every``; with the last step's), else its learning curve on the batch (batch
accuracy, or the task's metric); its status maps to Optuna's states (done and diverged with a value:
complete; pruned: pruned, the validation value it was pruned on an attribute; out of memory,
failed: fail). What every trial shares is the study's user attributes. A store whose tasks
measure differently gives a study per metric. Needs ``optuna`` (``pip install
'lstm-sweep[optuna]'``).
"""

from __future__ import annotations

import datetime
import os
import sqlite3
import stat
from collections.abc import Sequence
from pathlib import Path

from ..errors import ConfigError
from ..study import Status, TrialResult, is_finite_number, metric_of
from . import checks
from .export import FIELDS, field_value, field_values
from .outputs import OutputError, place_mode
from .text import printable

LOG_FIELDS = ("hidden", "lr", "steps", "batch_size")  # spaced by factors: a log axis


def _optuna():
    try:
        import optuna
    except ImportError:
        raise ConfigError(
            "export to an Optuna study needs optuna: pip install 'lstm-sweep[optuna]'"
        ) from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def _distribution(optuna, name: str, values: list):
    d = optuna.distributions
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        low, high = min(values), max(values)
        return d.IntDistribution(low, high, log=name in LOG_FIELDS and low > 0)
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        low, high = float(min(values)), float(max(values))
        return d.FloatDistribution(low, high, log=name in LOG_FIELDS and low > 0)
    return d.CategoricalDistribution(sorted({str(v) for v in values}))


def _frozen(optuna, r: TrialResult, params: dict, distributions: dict):
    """One trial as Optuna's FrozenTrial: its state, value, curve, attributes and times."""
    state = optuna.trial.TrialState
    curve = {p.step: float(p.val) for p in r.curve if is_finite_number(p.val)}  # type: ignore[arg-type]
    if curve and is_finite_number(r.val_accuracy):
        curve[r.steps_done] = float(r.val_accuracy)  # type: ignore[arg-type]
    else:  # no validation curve: the batch's
        curve = {p.step: float(p.accuracy or 0.0) for p in r.curve if is_finite_number(p.accuracy)}
    value = None
    if r.status in (Status.DONE, Status.DIVERGED) and is_finite_number(r.test_accuracy):
        how, value = state.COMPLETE, float(r.test_accuracy)  # type: ignore[arg-type]
    elif r.status is Status.PRUNED:  # the validation value it was pruned on: its user attribute
        how = state.PRUNED
    else:
        how = state.FAIL
    attrs = {
        "key": r.key,
        "status": str(r.status),
        "val_accuracy": r.val_accuracy if is_finite_number(r.val_accuracy) else None,
        "train_loss": r.train_loss if is_finite_number(r.train_loss) else None,
        "steps_done": r.steps_done,
        "wall_s": r.wall_s,
        "device": r.device,
        "error": r.error,
    }
    trial = optuna.trial.create_trial(
        state=how,
        value=value,
        params=params,
        distributions=distributions,
        user_attrs={k: v for k, v in attrs.items() if v is not None},
        intermediate_values=curve,
    )
    if is_finite_number(r.started_at) and r.started_at > 0:
        try:
            start = datetime.datetime.fromtimestamp(r.started_at)
            trial.datetime_start = start
            trial.datetime_complete = start + datetime.timedelta(seconds=max(0.0, r.wall_s or 0.0))
        except (OverflowError, OSError, ValueError):
            pass
    return trial


def check_optuna_target(path: str | Path, protect: Sequence[str | Path] = ()) -> Path:
    """Refuse (OutputError) a storage path Optuna may not write: a folder, FIFO or device,
    a file that is no SQLite database, another program's SQLite file (an lstm-sweep store:
    never written over), a protected file (the store being read), or a path that its URL
    would read as another (``?``, ``#``, ``%``, braces)."""
    path = Path(path)
    shown = printable(str(path))[:200]
    how = "pass path= with a new file, or an Optuna storage (SQLite) to add the study to"
    if set(str(path.resolve())) & set("?#%{}"):  # Optuna's URL would read another file
        raise OutputError(f"{shown}: an Optuna storage's path may not hold ? # % {{ or }}; {how}")
    mode = place_mode(path, how, protect)
    if mode is None:
        return path
    if not stat.S_ISREG(mode):
        kind = "a folder" if stat.S_ISDIR(mode) else "not a regular file (a FIFO, socket or device)"
        raise OutputError(f"{shown} is {kind}; {how}")
    if mode and os.path.getsize(path) == 0:
        return path
    with open(path, "rb") as f:
        if f.read(16) != b"SQLite format 3\x00":
            raise OutputError(f"{shown} is a file that is no SQLite database; it is left alone; {how}")
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True)  # no -shm made
        try:
            tables = {n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        finally:
            conn.close()
    except sqlite3.Error as e:
        raise OutputError(f"{shown}: cannot read it as SQLite ({e}); {how}") from None
    if tables and not {"studies", "version_info"} <= tables:
        what = "an lstm-sweep store" if {"meta", "claims"} <= tables else "another program's SQLite database"
        raise OutputError(f"{shown} is {what}, not an Optuna storage; it is left alone; {how}")
    return path


def export_optuna(
    results: Sequence[TrialResult],
    path: str | Path,
    study: str,
    *,
    overwrite: bool = False,
    protect: Sequence[str | Path] = (),
) -> list[tuple[str, int]]:
    """Write ``results`` as an Optuna study named ``study`` into the Optuna storage (an SQLite
    file) at ``path``, made if new; a store whose tasks measure differently gives a study per
    metric (``study-bpc``). Returns (study name, trials) for each study written.

    Raises:
        ConfigError: optuna is not installed; ``results`` not a list of TrialResult or empty;
            ``study`` not a name.
        OutputError: ``path`` may not be written (:func:`check_optuna_target`), or a study of
            that name is there already (``overwrite=True`` replaces it).
    """
    results = checks.results(results)
    if not results:
        raise ConfigError("no trials to export")
    if not isinstance(study, str) or not study.strip() or len(study) > 200:
        raise ConfigError(f"study must be a name of 1 to 200 characters, got {study!r:.40}")
    target = check_optuna_target(path, protect)
    optuna = _optuna()
    by_measure: dict[str, list[TrialResult]] = {}
    for r in results:
        by_measure.setdefault(metric_of(r.config).name, []).append(r)
    names = {m: study if len(by_measure) == 1 else f"{study}-{m}" for m in by_measure}
    storage = optuna.storages.RDBStorage(f"sqlite:///{target.resolve()}")
    try:
        held = {s.study_name for s in optuna.study.get_all_study_summaries(storage)}
        taken = [n for n in names.values() if n in held]
        if taken and not overwrite:
            raise OutputError(
                f"{printable(str(path))[:200]} holds a study named {printable(taken[0])!r} already; "
                "pass overwrite=True to replace it, or another study= name"
            )
        out = []
        for measure, members in by_measure.items():
            name = names[measure]
            if name in held:
                optuna.delete_study(study_name=name, storage=storage)
            metric = metric_of(members[0].config)
            direction = "maximize" if metric.name == "accuracy" else "minimize"
            s = optuna.create_study(study_name=name, storage=storage, direction=direction)
            values, varied = field_values(members)
            distributions = {f: _distribution(optuna, f, values[f]) for f in varied}
            for f in FIELDS:
                if f not in varied:
                    s.set_user_attr(f, field_value(members[0].config, f))
            s.set_user_attr("metric", metric.name)
            s.set_user_attr("exported_by", "lstm-sweep")
            s.add_trials(
                [
                    _frozen(
                        optuna,
                        r,
                        {f: _param(distributions[f], field_value(r.config, f)) for f in varied},
                        distributions,
                    )
                    for r in members
                ]
            )
            out.append((name, len(members)))
        return out
    finally:
        storage.remove_session()
        engine = getattr(storage, "engine", None)
        if engine is not None:
            engine.dispose()


def _param(distribution, value):
    """A value as its distribution holds it (a categorical's choices are text)."""
    if type(distribution).__name__ == "CategoricalDistribution":
        return str(value)
    return value
