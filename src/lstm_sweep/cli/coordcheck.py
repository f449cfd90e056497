"""``coord-check``: does a parametrization keep every coordinate's size as the width grows?

Its model options take one value each (it measures one cell, one optimizer, one batch, one task),
where a sweep's take lists: see ``options.VARIANTS``. ``--task`` and the tasks' own options
(``--length``, ``--task-seed``, ``--text``) are a sweep's, and its data is loaded as ``run``
loads it (:func:`.sweeps.data_loaders`)."""

from __future__ import annotations

import click

import lstm_sweep as api
from lstm_sweep.reporting import check_folder, check_target, output_folder, printable, render_coord_csv
from lstm_sweep.study import CELLS, COORD_WIDTHS, LIMITS, OPTIMIZERS, READOUTS, axis_options, data_kind_of

from . import options as o
from .params import LRS, Choice
from .sweep_options import axis_option, task_options
from .sweeps import data_loaders, refuse_unread_data_options

TASK_AXIS = next(a for a in axis_options() if a.name == "task")


@click.command(
    "coord-check",
    epilog=o.examples(
        "lstm-sweep coord-check                          # sp and mup, widths 128..2048, on the CPU",
        "lstm-sweep coord-check --param mup --optimizer sgd --hidden 128,512,2048 --format csv",
        "lstm-sweep coord-check --cell gru --readout zero --out figures --overwrite",
        "lstm-sweep coord-check --task chars --text book.txt --length 50 --hidden 64,128,256,512",
    ),
)
@o.hidden("128,256,512,1024,2048")
@o.params("sp,mup")
@click.option("--cell", type=Choice(CELLS), default="lstm", show_default=True, help="The cell measured.")
@click.option(
    "--optimizer",
    type=Choice(tuple(OPTIMIZERS)),
    default="adam",
    show_default=True,
    help="The optimizer (in TF 1.x's form) that takes the steps.",
)
@click.option(
    "--lr",
    type=LRS,
    help=o.with_default(
        "One deliberately large rate", "0.01 for adam, rmsprop, adagrad; 0.1 for sgd, momentum"
    ),
)
@o.seeds("0,1,2")
@click.option(
    "--steps",
    type=click.IntRange(1, 1000),
    default=5,
    show_default=True,
    help="Updates on the one fixed batch.",
)
@click.option(
    "--batch-size",
    type=click.IntRange(1, LIMITS["batch_size"]),
    default=32,
    show_default=True,
    help="Sequences in the fixed batch (the first of the task's training set).",
)
@o.base_width(64)
@click.option(
    "--readout",
    type=Choice(READOUTS),
    default="normal",
    show_default=True,
    help="The head's initial weights: normal = the seed's N(0,1); zero = zeros.",
)
@axis_option(TASK_AXIS)
@task_options
@o.device("cpu")
@o.data_dir
@o.out_folder
@click.option(
    "--format",
    "fmt",
    type=Choice(("text", "csv")),
    default="text",
    show_default=True,
    help="text = the table and verdicts; csv = every measurement.",
)
@o.overwrite
def coord_check_cmd(
    hidden,
    params,
    cell,
    optimizer,
    lr,
    seeds,
    steps,
    batch_size,
    base_width,
    readout,
    task,
    length,
    task_seed,
    text,
    device,
    data_dir,
    out_dir,
    fmt,
    overwrite,
) -> None:
    """Does a parametrization keep every coordinate's size as the width grows? A few steps on
    one fixed batch at a large rate, per width: the mean |·| of the input and recurrent
    projections, gate pre-activations, c, h and logits, and of their change since init; one
    verdict per parametrization (flat or not flat) and a log-log figure each
    (coord-check-<param>.png in --out). Any task: the quantities are those of its last step."""
    if lr is not None and len(lr) != 1:
        raise click.BadParameter("give one learning rate", param_hint="'--lr'")
    if task is not None and len(task) != 1:
        raise click.BadParameter("give one task", param_hint="'--task'")
    task = task[0] if task else "rows"
    kind = refuse_unread_data_options(data_kind_of(task), task, text, data_dir)
    widths = hidden or COORD_WIDTHS
    if len(widths) < 2:
        raise click.BadParameter("give at least two widths to compare", param_hint="'--hidden'")
    params = tuple(dict.fromkeys(params))
    folder = check_folder(out_dir)
    targets = [folder / f"coord-check-{p}.png" for p in params]
    if folder.exists():
        for target in targets:  # refused before any training
            check_target(target, "png", overwrite=overwrite)
    (load,) = data_loaders(kind, data_dir, ("mnist",), None, text, False)
    data = load()
    done = []

    def on_done(param: str, width: int) -> None:
        done.append((param, width))
        click.echo(f"[{len(done)}/{len(params) * len(widths)}] {param} {width}", err=True)

    points = api.coord_check(
        data,
        widths=widths,
        params=params,
        cell=cell,
        optimizer=optimizer,
        lr=lr[0] if lr else None,
        seeds=seeds,
        steps=steps,
        base_width=base_width,
        readout=readout,
        batch_size=batch_size,
        device=device,
        on_done=on_done,
        task=task,
        length=length or 0,
        task_seed=task_seed or 0,
    )
    click.echo(render_coord_csv(points) if fmt == "csv" else api.render_coord_table(points))
    folder = output_folder(out_dir)
    for param, target in zip(params, targets):
        fig = api.plot_coord_check(
            points, param, f"coordinate check: {param} ({task}, {cell}, {optimizer}, base width {base_width})"
        )
        click.echo(printable(api.save_figure(fig, target, overwrite=overwrite)), err=True)
