"""``presets``: the named grids ``--preset`` takes, what each asks and how large it is."""

from __future__ import annotations

import textwrap

import click

from lstm_sweep.study import PRESET_NOTES, PRESETS

from . import options as o
from .flags import for_cli


@click.command(
    "presets",
    epilog=o.examples(
        "lstm-sweep presets",
        "lstm-sweep plan --preset adding-small          # its plan (time, memory) on this machine",
        "lstm-sweep run --preset chars-small --text play.txt",
    ),
)
def presets_cmd() -> None:
    """The named grids: each one's task, size and what it asks. ``plan --preset NAME`` prints
    a preset's plan (time and memory) on this machine."""
    for name in sorted(PRESETS):
        grid = PRESETS[name]
        trials = grid.trials()
        tasks = ", ".join(dict.fromkeys(t.task for t in trials))
        widths = ", ".join(str(h) for h in grid.hidden)
        click.echo(f"{name}: {len(trials):,} trials; task {tasks}; widths {widths}; {len(grid.lr)} rates")
        note = for_cli(PRESET_NOTES.get(name, ""))
        for line in textwrap.wrap(note, 96):
            click.echo(f"    {line}")
