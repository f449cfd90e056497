"""Results as data: one row per trial (every configuration field, status, metrics, times), or
with ``curves`` one row per learning-curve point (long form), as CSV, JSON lines, or a pandas
``DataFrame`` (the ``[pandas]`` extra), as Optuna's ``trials_dataframe()`` gives them."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import fields

from ..errors import ConfigError
from ..study.config import TrialConfig
from ..study.results import TrialResult

EXPORT_FORMATS = ("csv", "jsonl")
_RESULT_FIELDS = [f.name for f in fields(TrialResult) if f.name not in ("config", "curve")]
_CONFIG_FIELDS = [f.name for f in fields(TrialConfig)]
# The columns, in order: identity, configuration, outcome (and, in long form, the curve point).
COLUMNS = ["key", *_CONFIG_FIELDS, *_RESULT_FIELDS]
CURVE_COLUMNS = [*COLUMNS, "step", "batch_loss", "batch_accuracy"]


def _row(r: TrialResult) -> dict:
    row = {"key": r.key, **r.config.to_dict()}
    row["opt"] = ";".join(f"{k}={v:g}" for k, v in r.config.opt)  # one cell, e.g. momentum=0.99
    for name in _RESULT_FIELDS:
        value = getattr(r, name)
        row[name] = str(value) if name == "status" else value
    return row


def export_rows(results: Sequence[TrialResult], curves: bool = False) -> list[dict]:
    """One dict per trial (:data:`COLUMNS`), or per curve point (:data:`CURVE_COLUMNS`)."""
    rows = []
    for r in results:
        row = _row(r)
        if not curves:
            rows.append(row)
            continue
        for p in r.curve:
            rows.append({**row, "step": p.step, "batch_loss": p.loss, "batch_accuracy": p.accuracy})
    return rows


def render_export(results: Sequence[TrialResult], fmt: str = "csv", curves: bool = False) -> str:
    """The rows as CSV (a header, then one line per row) or JSON lines."""
    if fmt not in EXPORT_FORMATS:
        raise ConfigError(f"unknown export format {fmt!r}; choose one of: "
                          f"{', '.join(EXPORT_FORMATS)}")
    rows = export_rows(results, curves)
    if fmt == "jsonl":
        return "".join(json.dumps(row, allow_nan=True) + "\n" for row in rows)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CURVE_COLUMNS if curves else COLUMNS,
                            lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def results_dataframe(results: Sequence[TrialResult], curves: bool = False):
    """The rows as a pandas ``DataFrame`` (``pip install 'lstm-sweep[pandas]'``)."""
    try:
        import pandas as pd
    except ImportError:
        raise ConfigError("results as a DataFrame need pandas: pip install "
                          "'lstm-sweep[pandas]'") from None
    return pd.DataFrame(export_rows(results, curves), columns=CURVE_COLUMNS if curves else COLUMNS)
