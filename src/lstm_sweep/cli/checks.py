"""``check`` and ``data``: is the store sound, where is the dataset and what does it hold."""

from __future__ import annotations

import sys

import click

import lstm_sweep as api
from lstm_sweep.reporting import plural, printable

from . import options as o
from .console import load_data, shown

SHOWN_PROBLEMS = 50  # the rest are counted


@click.command(
    "check",
    epilog=o.examples(
        "lstm-sweep check --db hw2.db                    # exit 0: sound; 1: problems; 2: no store"
    ),
)
@o.db
def check_cmd(db) -> None:
    """Check a store (SQLite integrity, schema, every row) without writing to it.

    Exit code 0: sound; 1: problems found (listed); 2: not a store at all."""
    problems = api.check_store(db)
    if problems:
        for p in problems[:SHOWN_PROBLEMS]:
            click.echo(f"problem: {printable(p)}")
        if len(problems) > SHOWN_PROBLEMS:
            click.echo(f"... and {len(problems) - SHOWN_PROBLEMS} more")
        click.echo(printable(f"{db}: {len(problems)} problem{'s' if len(problems) > 1 else ''}"), err=True)
        raise SystemExit(1)
    summary = api.summarize_store(db)
    held = (
        f", {plural(summary.live_claims, 'trial')} claimed by running drivers" if summary.live_claims else ""
    )
    click.echo(
        printable(
            f"{db}: ok — {plural(summary.trials, 'trial')}, {summary.curve_points} curve "
            f"points, schema {summary.schema_version}{held}"
        )
    )


@click.command(
    "data",
    epilog=o.examples(
        "lstm-sweep data                                 # MNIST: found, or downloaded into the cache",
        "lstm-sweep data --dataset fashion-mnist",
        "lstm-sweep data --data-dir ~/mnist              # check a folder of the four IDX files",
    ),
)
@o.data_dir
@o.dataset
def data(data_dir, dataset) -> None:
    """Find (or download into the cache) the dataset and print where it is and what it holds."""
    ds = load_data(data_dir, sys.stderr.isatty(), dataset)
    click.echo(printable(f"{ds.name}: {shown(ds.source)}"))
    click.echo(f"train {len(ds.train)}, validation {len(ds.validation)}, test {len(ds.test)}")
