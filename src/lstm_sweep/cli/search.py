"""``search``: each width's best learning rate by successive halving over its rates."""

from __future__ import annotations

import click

import lstm_sweep as api
from lstm_sweep import build_tables, load_results, render_tables
from lstm_sweep.reporting import plural, printable
from lstm_sweep.study import Status, metric_of

from . import options as o
from .console import printable_lines, stderr_console
from .guard import stop_if_terminated
from .serve import start_server
from .sweep_options import sweep_options
from .sweeps import (
    check_data_options,
    data_loaders,
    executor_of,
    refuse_one_rate,
    refuse_stray_dataset_name,
    request_of,
)


@click.command(
    "search",
    epilog=o.examples(
        "lstm-sweep search --preset hw2 --dry-run        # the plan against the full grid",
        "lstm-sweep search --preset hw2 --db search.db   # Ctrl-C, then the same command resumes",
        "lstm-sweep search --hidden 64,256,1024 --lr 1e-4:1e-1:13 --eta 3 --window off",
        "lstm-sweep run --preset hw2 --db search.db --retry pruned   # finish the pruned trials",
    ),
)
@sweep_options
@o.data_dir
@o.dataset
@o.dataset_name
@o.search_options
@o.table_format
@o.force
@o.executor
@o.ray_address
@o.serve
@click.option("--dry-run", is_flag=True, help="Print the plan and stop.")
def search(
    data_dir,
    dataset,
    dataset_name,
    eta,
    rungs,
    window,
    fmt,
    force,
    executor,
    ray_address,
    serve_port,
    dry_run,
    **opts,
) -> None:
    """Find each width's best learning rate for a fraction of the grid: successive halving over
    the rates (ranked by validation accuracy at each rung, or the task's metric: the lowest
    loss, bits per character or MSE; continued from checkpoints), the winners finished with the
    full protocol; pruned trials are stored as pruned@steps."""
    executor = executor_of(executor, ray_address)
    refuse_stray_dataset_name(dataset_name, data_dir, opts["text"])
    request = request_of(opts, executor, ray_address, dataset)
    refuse_one_rate(request, "search")
    kind = check_data_options(request, opts["text"], data_dir)
    (load,) = data_loaders(kind, data_dir, (dataset,), dataset_name, opts["text"], False)
    data = None if dry_run and kind != "text" else load()
    if data is not None:
        request = request.with_data(data)
    plan = api.plan_search(request, eta=eta, rungs=rungs, window=window)
    click.echo(printable_lines(plan.render()), err=True)
    if dry_run:
        return
    plan.check(force)
    server = None if serve_port is None else start_server(opts["db"], "127.0.0.1", serve_port, data=False)
    try:
        summary = api.run_search(plan, search_callbacks(stderr_console()))
    finally:
        if server is not None:
            server.close()
    results = load_results(request.store, trials=plan.grid.trials)
    click.echo(render_tables(build_tables(results, "accuracy"), fmt))
    from lstm_sweep.running import render_search_summary  # loads torch: not at start-up

    click.echo("\n" + printable_lines(render_search_summary(plan, summary)), err=True)


def search_callbacks(console):
    """A line per rung and per trial that ends on ``console`` (stderr); SIGTERM honoured at
    every step. ``transfer`` uses the same hooks for its tuning search and its verify trials."""

    started: set[str] = set()  # rows that trained a rung already: their next rungs continue

    def on_rung(row, rung, n):
        stop_if_terminated()
        name = row.label()
        how = ("continues to step" if n == 1 else "continue to step") if name in started else "to step"
        started.add(name)
        console.print(printable(f"{name}: {plural(n, 'trial')} {how} {rung}"))

    def on_trial_end(result, i, n):
        val = "-" if result.val_accuracy is None else f"{result.val_accuracy:.4f}"
        metric = metric_of(result.config)
        said = "validation" if metric.name == "accuracy" else f"validation {metric.short}"
        if result.status is Status.PRUNED and result.steps_done < result.config.steps:
            done = f"at step {result.steps_done}"  # a rung: ranked next, it continues or stops
        else:
            done = f"{result.status}@{result.steps_done}"
        console.print(printable(f"  {result.config.describe()}: {done} {said} {val}"))

    def on_step(unit, done, total):
        stop_if_terminated()

    return api.SearchCallbacks(api.SweepCallbacks(on_step=on_step, on_trial_end=on_trial_end), on_rung)
