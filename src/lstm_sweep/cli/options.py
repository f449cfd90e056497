"""The options that more than one command takes, each declared once (sqlite-utils' way: shared
decorators), so that a flag has one meaning and one help text wherever it appears.

A flag that means something else in another command is declared beside that command and named
in :data:`VARIANTS` with the reason; ``tests/test_cli_help.py`` holds both to it. Where only the
default differs (``--device`` is ``auto`` for a sweep, ``cpu`` for coord-check), the help is the
same and the default is the command's.
"""

from __future__ import annotations

import click

from lstm_sweep import DATASETS
from lstm_sweep.reporting import AXES, FORMATS
from lstm_sweep.running import EXECUTORS
from lstm_sweep.study import LIMITS

from .params import CONDITION, HIDDEN, PARAM_LIST, RUNGS, SEEDS, WINDOW, Choice

# Flags that two commands use with different meanings, and why they keep one name (renaming
# would break the commands people type).
VARIANTS = {
    "--hidden": "a sweep's and coord-check's widths (a list); plot's one width to draw curves of",
    "--lr": "a sweep's rates (a list or ranges); coord-check's one large rate; plot's one rate "
    "to draw curves of",
    "--steps": "a sweep's steps per trial (a list); coord-check's updates on its one batch",
    "--batch-size": "a sweep's batch sizes (a list); coord-check's one fixed batch",
    "--cell": "a sweep's cells (a list); coord-check measures one",
    "--optimizer": "a sweep's optimizers (a list); coord-check measures one",
    "--readout": "a sweep's readout inits (a list); coord-check measures one",
    "--dataset": "run takes known datasets, one after another; plan, names as stored (it reads "
    "the store only); search and data, one known dataset",
    "--format": "each command's own output: a table (run, search, table), images (plot), an "
    "export (export), coord-check's table or measurements",
    "--out": "a folder for the commands that write several images (plot, coord-check), a file "
    "for those that write one (report, export)",
}


def examples(*lines: str) -> str:
    """An ``Examples:`` epilog that click prints verbatim (``\\b``: no rewrapping)."""
    return "\b\nExamples:\n" + "\n".join(f"  {line}" for line in lines)


def with_default(text: str, default: str) -> str:
    """Help that states a default click cannot show (one that depends on other options)."""
    return f"{text}  [default: {default}]"


def compose(*decorators):
    """Several option decorators as one, applied in the order listed (first = first in help)."""

    def apply(f):
        for decorator in reversed(decorators):
            f = decorator(f)
        return f

    return apply


# --------------------------------------------------------------------------- stores and files
db = click.option(
    "--db", default="lstm-sweep.db", show_default=True, type=click.Path(), help="SQLite results store."
)
data_dir = click.option(
    "--data-dir",
    type=click.Path(file_okay=False),
    help=with_default(
        "Folder with the four IDX files",
        "MNIST's $LSTM_SWEEP_DATA_DIR, else the dataset's cache (downloaded)",
    ),
)
dataset = click.option(
    "--dataset",
    default="mnist",
    show_default=True,
    type=Choice(tuple(DATASETS)),
    help="The dataset: one known dataset, found or downloaded (a --data-dir "
    "folder's own name: --dataset-name).",
)
dataset_name = click.option(
    "--dataset-name",
    help=with_default(
        "The name of a --data-dir folder's data in tables and the store",
        "the known dataset its checksums match, else the folder's name",
    ),
)
overwrite = click.option(
    "--overwrite",
    is_flag=True,
    help="Replace a file at --out that is not this command's kind of output (never a results store).",
)
out_folder = click.option(
    "--out",
    "out_dir",
    default="plots",
    show_default=True,
    type=click.Path(),
    help="Folder for the image files.",
)
reference = click.option(
    "--reference",
    default="hw2",
    show_default=True,
    help="Published table to compare with (hw2 = the seed's Table 1).",
)


def out_file(default: str | None):
    """``--out``: the one file a command writes (``None``: standard output)."""
    if default is None:
        return click.option(
            "--out", type=click.Path(), help=with_default("The file to write", "standard output")
        )
    return click.option(
        "--out", default=default, show_default=True, type=click.Path(), help="The file to write"
    )


table_format = click.option(
    "--format",
    "fmt",
    type=Choice(FORMATS),
    default="text",
    show_default=True,
    help="Format of the table printed: text, markdown, latex to read; csv (one block of "
    "numbers, with seeds a _std and _n column beside each value) and json (every cell's "
    "statistics and seeds) as data.",
)


serve = click.option(
    "--serve",
    "serve_port",
    type=click.IntRange(0, 65535),
    default=None,
    metavar="PORT",
    help="Also serve the live page of the store on 127.0.0.1:PORT "
    "while the sweep runs (0: any free port; the URL is printed on stderr).",
)


# --------------------------------------------------------------------------- where it runs
def device(default: str):
    return click.option("--device", default=default, show_default=True, help="auto, cpu or cuda.")


force = click.option(
    "--force",
    is_flag=True,
    help="Run even where the plan refuses: work units that do not fit in memory, "
    "checkpoints that do not fit on the disk, an ETA beyond 30 days.",
)
executor = click.option(
    "--executor",
    type=Choice(tuple(EXECUTORS)),
    default=None,
    help=with_default(
        "local = this machine; inprocess = this process, one unit at a time; ray "
        "= a Ray cluster (pip install 'lstm-sweep[ray]')",
        "local; ray when --ray-address is given",
    ),
)
ray_address = click.option(
    "--ray-address",
    help=with_default(
        "HOST:PORT or auto (an existing cluster); implies --executor ray", "start a local Ray instance"
    ),
)


# --------------------------------------------------------------------------- the model
def hidden(default: str):
    """``--hidden``: widths; ``default`` says what is used without it (no value to show)."""
    return click.option(
        "--hidden", type=HIDDEN, help=with_default("Hidden sizes (widths), e.g. 16,32", default)
    )


def seeds(default: str):
    """``--seeds`` with a default of its own (a sweep's come from its axis)."""
    return click.option("--seeds", type=SEEDS, default=default, show_default=True, help=SEEDS.axis.help)


def params(default: str):
    """``--param`` with a default of its own (a sweep's comes from its axis)."""
    return click.option(
        "--param", "params", type=PARAM_LIST, default=default, show_default=True, help=PARAM_LIST.axis.help
    )


def base_width(default: int | None):
    if default is None:  # the preset's (64 for every preset)
        return click.option(
            "--base-width",
            type=click.IntRange(1, LIMITS["hidden"]),
            help=with_default("The width at which mup equals sp", "64"),
        )
    return click.option(
        "--base-width",
        type=click.IntRange(1, LIMITS["hidden"]),
        default=default,
        show_default=True,
        help="The width at which mup equals sp",
    )


# --------------------------------------------------------------------------- the reports
axes_options = compose(
    click.option(
        "--rows",
        type=Choice(tuple(AXES)),
        default="hidden",
        show_default=True,
        help="Axis of the rows; every other axis that varies gives one table (facet) per value.",
    ),
    click.option(
        "--cols", type=Choice(tuple(AXES)), default="lr", show_default=True, help="Axis of the columns."
    ),
    click.option(
        "--where",
        type=CONDITION,
        multiple=True,
        help="Only trials with this value of an axis, e.g. cell=gru or lr=0.01 (repeatable: all must hold).",
    ),
)
"""``--rows``, ``--cols`` and ``--where``: the two axes of tables, plots and findings, and
which trials they show."""


# --------------------------------------------------------------------------- a search's halving
# (search's and transfer's tuning search: the same flags, the same help)
search_options = compose(
    click.option(
        "--eta",
        type=click.IntRange(2, 10),
        default=3,
        show_default=True,
        help="Each rung keeps the best 1/eta of its rates.",
    ),
    click.option(
        "--rungs",
        type=RUNGS,
        default=(),
        help=with_default(
            "Steps at which rates are compared (the trials' steps are always the last)",
            "steps/eta^2, steps/eta",
        ),
    ),
    click.option(
        "--window",
        type=WINDOW,
        default="10",
        show_default=True,
        help="A width's rates start within this factor of the narrower width's best "
        "(widened when its best lies on the edge); off = every rate.",
    ),
)
"""``--eta``, ``--rungs`` and ``--window``: how a search halves its rates."""
