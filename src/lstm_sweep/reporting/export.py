"""Results as data: one row per trial (every configuration field, status, metrics, times), or
with ``curves`` one row per learning-curve point (long form), as CSV, JSON lines, or a pandas
``DataFrame`` (the ``[pandas]`` extra), as Optuna's ``trials_dataframe()`` gives them."""

from __future__ import annotations

import csv
import datetime
import io
import json
import math
from collections.abc import Sequence
from dataclasses import fields

from ..errors import ConfigError
from ..study import TrialConfig, TrialResult, metric_of
from . import checks
from .text import csv_cell

EXPORT_FORMATS = ("csv", "jsonl")
_RESULT_FIELDS = [f.name for f in fields(TrialResult) if f.name not in ("config", "curve")]
_CONFIG_FIELDS = [f.name for f in fields(TrialConfig)]
# The columns, in order: identity, configuration, outcome, then the task's metric (what
# test_accuracy, val_accuracy and a curve point's batch_accuracy hold: accuracy, bpc, mse,
# xent) and, in long form, the curve point (with the validation split's metric where it was
# measured, --val-every; empty elsewhere).
COLUMNS = ["key", *_CONFIG_FIELDS, *_RESULT_FIELDS, "metric"]
CURVE_COLUMNS = [*COLUMNS, "step", "batch_loss", "batch_accuracy", "val_metric"]


# A trial's fields as the Optuna and TensorBoard exports name them: every configuration field,
# its optimizer settings last, as one text.
FIELDS = [f for f in _CONFIG_FIELDS if f != "opt"] + ["opt"]


def field_value(config: TrialConfig, name: str) -> object:
    """A configuration field's value as the exports write it (``opt``: ``momentum=0.99``, or
    ``default``)."""
    value = getattr(config, name)
    if name == "opt":
        return ";".join(f"{k}={v:g}" for k, v in value) or "default"
    return value


def field_values(results: Sequence[TrialResult]) -> tuple[dict[str, list], list[str]]:
    """Each field's values over ``results``, and the fields whose values differ among them."""
    values = {f: [field_value(r.config, f) for r in results] for f in FIELDS}
    return values, [f for f in FIELDS if len({repr(v) for v in values[f]}) > 1]


def _row(r: TrialResult) -> dict:
    row = {"key": r.key, **r.config.to_dict()}
    row["opt"] = ";".join(f"{k}={v:g}" for k, v in r.config.opt)  # one cell, e.g. momentum=0.99
    for name in _RESULT_FIELDS:
        value = getattr(r, name)
        row[name] = str(value) if name == "status" else value
    row["started_at"] = _iso(r.started_at)  # a time a reader (and pandas) reads as one
    row["metric"] = metric_of(r.config).name
    return row


def _iso(epoch: float | None) -> str | None:
    """Seconds since 1970 as ISO 8601 in UTC (``2026-12-06T20:41:03.250Z``); None stays None."""
    if epoch is None or not math.isfinite(epoch):
        return None
    try:
        moment = datetime.datetime.fromtimestamp(epoch, datetime.UTC)
    except (OverflowError, OSError, ValueError):  # a hand-edited store's year 10000
        return None
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def export_rows(results: Sequence[TrialResult], curves: bool = False) -> list[dict]:
    """One dict per trial (:data:`COLUMNS`), or per curve point (:data:`CURVE_COLUMNS`), the
    values as they are (text unescaped, a diverged loss ``inf``).

    Raises:
        ConfigError: ``results`` is not a list of TrialResult, or ``curves`` not a bool.
    """
    results = checks.results(results)
    checks.flag("curves", curves)
    rows = []
    for r in results:
        row = _row(r)
        if not curves:
            rows.append(row)
            continue
        for p in r.curve:
            point = {"step": p.step, "batch_loss": p.loss, "batch_accuracy": p.accuracy, "val_metric": p.val}
            rows.append({**row, **point})
    return rows


def _json_value(value: object) -> object:
    """A value JSON can hold: a number that is not finite (a diverged loss) is null."""
    return None if isinstance(value, float) and not math.isfinite(value) else value


def _csv_value(value: object) -> object:
    """A CSV cell: text printable and never a formula (:func:`.text.csv_cell`); numbers as
    they are (``-0.5`` stays a number)."""
    return csv_cell(value) if isinstance(value, str) else value


def render_export(results: Sequence[TrialResult], fmt: str = "csv", curves: bool = False) -> str:
    """The rows as CSV (a header, then one line per row) or JSON lines.

    JSON lines are strict JSON (a number that is not finite is ``null``; control characters
    are JSON escapes). CSV text cells show control characters escaped (one row, one line) and
    start with ``'`` where a spreadsheet would run them as a formula (``=``, ``+``, ``-``,
    ``@``...); numbers are written as they are.

    Raises:
        ConfigError: an unknown format; ``results`` is not a list of TrialResult, or
            ``curves`` not a bool.
    """
    checks.choice("export format", fmt, EXPORT_FORMATS)
    rows = export_rows(results, curves)
    if fmt == "jsonl":
        return "".join(
            json.dumps({k: _json_value(v) for k, v in row.items()}, allow_nan=False) + "\n" for row in rows
        )
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CURVE_COLUMNS if curves else COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: _csv_value(v) for k, v in row.items()} for row in rows)
    return buf.getvalue()


def results_dataframe(results: Sequence[TrialResult], curves: bool = False):
    """The rows as a pandas ``DataFrame`` (``pip install 'lstm-sweep[pandas]'``).

    Raises:
        ConfigError: pandas is not installed; ``results`` is not a list of TrialResult, or
            ``curves`` not a bool.
    """
    rows = export_rows(results, curves)
    try:
        import pandas as pd
    except ImportError:
        raise ConfigError("results as a DataFrame need pandas: pip install 'lstm-sweep[pandas]'") from None
    frame = pd.DataFrame(rows, columns=CURVE_COLUMNS if curves else COLUMNS)
    frame["started_at"] = pd.to_datetime(frame["started_at"], utc=True)
    return frame
