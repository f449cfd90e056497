"""The options that say what a sweep trains and where it runs (run, search, plan): one per grid
axis, made from the axes' one declaration (:func:`lstm_sweep.study.axis_options`), with the
sweep's own options among them. Shared options come from :mod:`.options`."""

from __future__ import annotations

import click

from lstm_sweep import PRESETS
from lstm_sweep.study import LIMITS, TASKS, axis_options
from lstm_sweep.training import ENGINE_CHOICES

from .options import base_width, compose, db, device, with_default
from .params import SETTING, STATUSES, AxisList, Choice


def axis_option(axis):
    """A grid axis's option, made from its declaration: its flag, the Grid keyword it fills as
    the parameter's name, its values read (and refused) as the axis reads them, its help."""
    return click.option(axis.flag, axis.name, type=AxisList(axis), help=axis.help_text)


# The options that say what a sweep trains, in --help's order (that of earlier releases): an
# option per grid axis, with the sweep's own options among them. An axis declared since comes
# after these; one no longer declared is left out.
_TRAINS_ORDER = (
    "--hidden",
    "--lr",
    "--seeds",
    "--repeats",
    "--data-seed",
    "--steps",
    "--batch-size",
    "--cell",
    "--optimizer",
    "--opt",
    "--param",
    "--base-width",
    "--readout",
    "--init",
    "--precision",
)
_OWN = {
    "--repeats": click.option(
        "--repeats", type=click.IntRange(1, LIMITS["repeats"]), help="Seeds 0..N-1 (instead of --seeds)."
    ),
    "--data-seed": click.option(
        "--data-seed",
        type=click.IntRange(0, LIMITS["seed"]),
        help=with_default(
            "One batch order for every seed (then the seeds differ by initial "
            "weights only, and fuse into one group per width)",
            "each seed its own order",
        ),
    ),
    "--opt": click.option(
        "--opt",
        "opt",
        type=SETTING,
        multiple=True,
        help="An optimizer setting that differs from TF's default, e.g. "
        "momentum=0.99 (repeatable; part of the trials' identity).",
    ),
    "--base-width": base_width(None),
}


def _trains_options() -> list:
    made = {**{a.flag: axis_option(a) for a in axis_options()}, **_OWN}
    flags = [f for f in _TRAINS_ORDER if f in made] + [f for f in made if f not in _TRAINS_ORDER]
    return [made[f] for f in flags]


# The tasks' own options: what a task's sequences are (beside --task, the axis).
_LENGTHS = ", ".join(f"{t.name} {t.default_length}" for t in TASKS.values() if t.default_length)
MAX_LENGTH = 1_000_000  # time steps of a sequence (a user task's limit in the data layer)
task_options = compose(
    click.option(
        "--length",
        type=click.IntRange(1, MAX_LENGTH),
        help=with_default(
            "The sequence length T of adding and copy (copy's sequences have T + 20 steps) and "
            "of chars' sequences (part of the trials' identity)",
            f"each task's: {_LENGTHS}",
        ),
    ),
    click.option(
        "--task-seed",
        type=click.IntRange(0, LIMITS["seed"]),
        help=with_default("The seed of permuted's pixel order and of adding's and copy's sequences", "0"),
    ),
    click.option(
        "--text",
        type=click.Path(dir_okay=False),
        help="The UTF-8 text --task chars reads one character at a time (90/5/5 % train, validation, test).",
    ),
)
"""``--length``, ``--task-seed`` and ``--text``: what the tasks' sequences are."""


sweep_options = compose(
    click.option(
        "--preset",
        "preset_name",
        default="quick",
        show_default=True,
        help=f"Grid to run: {', '.join(sorted(PRESETS))}.",
    ),
    *_trains_options(),
    task_options,
    click.option(
        "--fallback-fp32",
        is_flag=True,
        help="Where the device cannot run --precision, run fp32 instead (stored as fp32) rather than stop.",
    ),
    device("auto"),
    click.option(
        "--engine",
        type=Choice(ENGINE_CHOICES),
        default="auto",
        show_default=True,
        help="single = one trial at a time (oneDNN/cuDNN); fused = the trials of a "
        "width as one batched model; auto = the faster per width and device.",
    ),
    click.option(
        "--workers",
        type=click.IntRange(1, LIMITS["workers"]),
        help=with_default(
            "Work units side by side in worker processes", "one per core for CPU widths <= 256, else 1"
        ),
    ),
    db,
    click.option(
        "--retry",
        type=STATUSES,
        default=(),
        help="Run stored trials with these statuses again, e.g. failed,oom; "
        "pruned finishes a search's pruned trials from their checkpoints.",
    ),
    click.option(
        "--checkpoint-every",
        default="5m",
        show_default=True,
        help="Save each running trial's whole state this often (30s, 5m, 1h; 0 = "
        "at every curve point; off = never) in <db>.checkpoints; a killed "
        "trial resumes there, bit for bit.",
    ),
    click.option(
        "--keep-checkpoints", is_flag=True, help="Keep a trial's checkpoints after its result is stored."
    ),
    click.option(
        "--val-every",
        type=click.IntRange(1, 10**9),
        metavar="STEPS",
        help="Also measure each trial's validation metric every STEPS steps (a multiple of the "
        "curve's 10), kept in its learning curve (plot --kind curves, the live page, export); "
        "each costs a pass over the validation split. Changes no result: a stored trial is not "
        "trained again for it.  [default: at the end only]",
    ),
)
"""The options that define a sweep and where it runs (run, search, plan)."""
