"""The library's messages in the CLI's words: where a library error names an argument
(``store=``, ``force=True``, ``precision=bf16``, ``Grid(hidden=...)``), the command's user reads
the flag that sets it (``--db``, ``--force``, ``--precision bf16``, ``--hidden``).

The library writes an argument one way only: ``name=`` (the argument itself), ``name=value`` (it
with a value), ``name=True`` (a switch), ``Grid(name=...)`` (an axis of the grid), and
```check_store(PATH)``` for the command that lists a store's problems. Only the names below are
read so: any other text, a path included, is left as it is.
"""

from __future__ import annotations

import re

from lstm_sweep.study import axis_options

# A library argument -> the flag that sets it (coord_check's ``widths`` are the CLI's
# ``--hidden`` widths: "give smaller widths=" reads "give smaller --hidden widths").
FLAGS = {
    "batch_size": "--batch-size",
    "best_over": "--best-over",
    "checkpoint_every": "--checkpoint-every",
    "data_dir": "--data-dir",
    "dataset": "--dataset",
    "dataset_name": "--dataset-name",
    "device": "--device",
    "engine": "--engine",
    "eta": "--eta",
    "executor": "--executor",
    "fallback_fp32": "--fallback-fp32",
    "force": "--force",
    "host": "--host",
    "init": "--init",
    "length": "--length",
    "overwrite": "--overwrite",
    "path": "--out",
    "port": "--port",
    "precision": "--precision",
    "reference": "--reference",
    "ray_address": "--ray-address",
    "retry": "--retry",
    "rungs": "--rungs",
    "seeds": "--seeds",
    "store": "--db",
    "study": "--study",
    "task_seed": "--task-seed",
    "text": "--text",
    "val_every": "--val-every",
    "where": "--where",
    "widths": "--hidden widths",
    "window": "--window",
    "workers": "--workers",
}
# An axis of the grid (``Grid(hidden=...)``) -> its flag. Only in that form: ``hidden=16`` in a
# message is a trial's value, not advice to pass an argument.
AXES = {axis.name: axis.flag for axis in axis_options()}  # from the one declaration

_ARGUMENT = re.compile(
    r"(?<![\w.=(`'\"/-])(?:Grid\((?P<axis>"
    + "|".join(sorted(AXES, key=len, reverse=True))
    + r")=\.\.\.\)|(?P<name>"
    + "|".join(sorted(FLAGS, key=len, reverse=True))
    + r")=(?P<switch>True(?![\w.]))?(?P<value>(?=[^\s,;)]))?)"
)
_CHECK = re.compile(r"`check_store\((?P<path>[^`]*)\)`")


def _flag(match: re.Match) -> str:
    if match["axis"]:
        return AXES[match["axis"]]
    flag = FLAGS[match["name"]]
    if match["switch"]:
        return flag
    return flag + (" " if match["value"] is not None else "")


def for_cli(message: str) -> str:
    """``message`` with each argument it names written as the CLI's flag."""
    message = _CHECK.sub(lambda m: f"`lstm-sweep check --db {m['path']}`", message)
    return _ARGUMENT.sub(_flag, message)
