"""``transfer``: tune the narrow widths' learning rate by search, predict every wider width's,
verify each prediction with a few trials of the grid."""

from __future__ import annotations

import click

from lstm_sweep import build_tables, load_results, render_tables

from . import options as o
from .console import printable_lines, stderr_console
from .guard import stop_if_terminated
from .params import HIDDEN
from .search import search_callbacks
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
    "transfer",
    epilog=o.examples(
        "lstm-sweep transfer --hidden 16,32,64,128,256 --lr 2^-12:2^-2 --param sp,mup --dry-run",
        "lstm-sweep transfer --hidden 16,32,64,128,256 --lr 2^-12:2^-2 --db t.db   # resumable",
        "lstm-sweep transfer --preset hw2 --tune-widths 16,32,64 --verify 2",
        "lstm-sweep run --hidden 128 --lr 2^-12:2^-2 --db t.db   # the rest of a predicted row",
    ),
)
@sweep_options
@o.data_dir
@o.dataset
@o.dataset_name
@click.option(
    "--tune-widths",
    type=HIDDEN,
    help=o.with_default(
        "The narrow widths whose rate is tuned by search (each one of --hidden); every other "
        "width is predicted",
        "the widths up to --base-width, and at least the three narrowest",
    ),
)
@click.option(
    "--verify",
    type=click.IntRange(0, 2),
    default=1,
    show_default=True,
    help="Grid steps trained either side of each predicted rate (0: the predicted rate only).",
)
@o.search_options
@o.table_format
@o.force
@o.executor
@o.ray_address
@o.serve
@click.option("--dry-run", is_flag=True, help="Print the plan and stop.")
def transfer(
    data_dir,
    dataset,
    dataset_name,
    tune_widths,
    verify,
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
    """Tune the learning rate on narrow widths, predict it for every wider one, and verify the
    prediction cheaply: a search over the tune widths; per facet, the wider widths' rate (under
    sp extrapolated by the fitted exponent of best rate vs width, with its interval; under mup
    the widest tuned width's); then the predicted rate and --verify grid steps either side
    trained at each predicted width. Every trial is the grid's own (run, table and report reuse
    it); a killed transfer resumes where it stopped."""
    executor = executor_of(executor, ray_address)
    refuse_stray_dataset_name(dataset_name, data_dir, opts["text"])
    request = request_of(opts, executor, ray_address, dataset)
    refuse_one_rate(request, "transfer")
    kind = check_data_options(request, opts["text"], data_dir)
    (load,) = data_loaders(kind, data_dir, (dataset,), dataset_name, opts["text"], False)
    from lstm_sweep.running import (  # loads torch: not at start-up
        TransferCallbacks,
        plan_transfer,
        render_predictions,
        render_transfer_summary,
        run_transfer,
    )

    data = None if dry_run and kind != "text" else load()
    if data is not None:
        request = request.with_data(data)
    tune = tuple(tune_widths) if tune_widths else None
    plan = plan_transfer(request, tune_widths=tune, verify=verify, eta=eta, rungs=rungs, window=window)
    click.echo(printable_lines(plan.render()), err=True)
    if dry_run:
        return
    plan.check(force)
    console = stderr_console()

    def on_predictions(facets):
        stop_if_terminated()
        said = printable_lines("predicted:\n" + render_predictions(facets))
        click.echo(f"\n{said}\n\nverify:", err=True)

    search_hooks = search_callbacks(console)
    sweep_hooks = search_hooks.sweep
    server = None if serve_port is None else start_server(opts["db"], "127.0.0.1", serve_port, data=False)
    try:
        summary = run_transfer(plan, TransferCallbacks(search_hooks, sweep_hooks, on_predictions))
    finally:
        if server is not None:
            server.close()
    keys = {c.key() for c in plan.grid.trials}
    results = [r for r in load_results(request.store) if r.key in keys]
    click.echo(render_tables(build_tables(results, "accuracy"), fmt))
    click.echo("\n" + printable_lines(render_transfer_summary(plan, summary)), err=True)
