"""What the CLI shows while it works: the stderr console, download and sweep progress, paths as
a user reads them. Lines are plain text (:func:`printable`), one record a line."""

from __future__ import annotations

import os

import lstm_sweep as api
from lstm_sweep.data import load_mnist
from lstm_sweep.reporting import plural, printable
from lstm_sweep.study import metric_of

from .guard import stop_if_terminated


def stderr_console():
    from rich.console import Console

    # soft_wrap: one record, one line, however long and whatever the width (rich wraps at 80
    # columns when stderr is not a terminal, which breaks grep on a log); no markup, emoji
    # codes (":x:" in a path) or highlighting either: the lines are plain text
    return Console(stderr=True, soft_wrap=True, markup=False, emoji=False, highlight=False)


def printable_lines(text: str) -> str:
    """Several lines, each :func:`printable` (the line breaks kept)."""
    return "\n".join(printable(line) for line in text.split("\n"))


def shown(path: str) -> str:
    """A path as the user reads it best: relative to the working folder when inside it, from
    ``~`` when in the home folder, else as it is."""
    p = os.path.abspath(path)
    for base, prefix in ((os.getcwd(), ""), (os.path.expanduser("~"), "~/")):
        if base not in ("", os.sep) and (p == base or p.startswith(base + os.sep)):
            return prefix + (os.path.relpath(p, base) if p != base else ".")
    return path


def load_data(data_dir, show: bool, dataset: str = "mnist", dataset_name: str | None = None):
    """Load the dataset, with a byte-progress bar per file if it has to be downloaded."""
    from rich.progress import DownloadColumn, Progress, TaskID, TransferSpeedColumn

    progress = Progress(
        *Progress.get_default_columns(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=stderr_console(),
        disable=not show,
    )
    tasks: dict[str, TaskID] = {}

    def on_bytes(name: str, done: int, total: int | None) -> None:
        if name not in tasks:
            tasks[name] = progress.add_task(f"download {printable(name)}", total=total)
        progress.update(tasks[name], completed=done)

    with progress:
        return load_mnist(data_dir, dataset=dataset, dataset_name=dataset_name, progress=on_bytes)


def _sweep_progress(console, show: bool):
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("{task.description}", markup=False),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=not show,
    )


def execute_with_progress(plan, show: bool):
    """Execute ``plan`` with a bar for the sweep and one per running work unit (``show``), a
    line per finished trial; the sweep's summary."""
    console = stderr_console()
    progress = _sweep_progress(console, show)
    bars: dict = {}  # unit -> progress task

    def on_start(pending, skipped, units):
        engines = ", ".join(sorted({u.engine for u in units})) or "-"
        grid, data = plan.request.grid, plan.request.data
        console.print(
            printable(
                f"{grid.name}: {plural(len(grid), 'trial')}, {skipped} already stored, {len(pending)} to run "
                f"on {data.name} ({shown(data.source)}); {len(units)} work units, engine {engines}"
            )
        )
        bars["overall"] = progress.add_task("sweep", total=len(pending))

    def on_unit_start(unit):
        bars[unit] = progress.add_task(f"  {printable(unit.describe())}", total=unit.configs[0].steps)

    def on_step(unit, done, total):
        stop_if_terminated()
        if unit in bars:
            progress.update(bars[unit], completed=done)

    def on_trial_end(result, i, n):
        progress.advance(bars["overall"])
        unit = next((u for u in bars if u != "overall" and result.config in u.configs), None)
        if unit is not None and result.config == unit.configs[-1]:
            progress.remove_task(bars.pop(unit))
        value = "-" if result.test_accuracy is None else f"{result.test_accuracy:.4f}"
        short = metric_of(result.config).short  # acc, bpc, MSE, loss: what the task is scored by
        how = f", {result.engine} x{result.group_size}" if result.group_size > 1 else ""
        extra = f" ({result.error})" if result.error else ""
        console.print(
            printable(
                f"[{i + 1}/{n}] {result.config.describe()}: {result.status} "
                f"{short} {value} in {result.wall_s:.1f} s{how}{extra}"
            )
        )

    def on_wait(held):
        who = ", ".join(sorted(set(held.values())))
        console.print(
            printable(
                f"waiting for {plural(len(held), 'trial')} being trained by another "
                f"driver ({who}); its claims are taken over if it stops"
            )
        )

    callbacks = api.SweepCallbacks(on_start, on_unit_start, on_step, on_trial_end, on_wait)
    with progress:
        return api.execute(plan, callbacks)
