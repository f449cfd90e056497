"""``run`` and ``plan``: a sweep's request assembled from options, planned, run, tabled."""

from __future__ import annotations

import math
import sys

import click

import lstm_sweep as api
from lstm_sweep import Grid, build_tables, load_results, preset, render_tables
from lstm_sweep.reporting import plural, printable
from lstm_sweep.running import human_seconds
from lstm_sweep.study import LIMITS, TASKS, axis_options

from . import options as o
from .console import execute_with_progress, load_data, printable_lines
from .params import DATASET_LIST, NAMES
from .serve import start_server
from .sweep_options import sweep_options


def grid_of(opts: dict) -> Grid:
    """The grid the options describe: a preset, with any axis or protocol value replaced (each
    axis's option is named after the Grid keyword it fills)."""
    base = preset(opts["preset_name"])
    if opts["repeats"] and opts["seed"]:
        raise click.UsageError("give --seeds or --repeats, not both")
    _refuse_repeated_settings(opts["opt"])
    axes = {a.name: opts[a.name] or getattr(base, a.name) for a in axis_options()}
    if opts["repeats"]:
        axes["seed"] = tuple(range(opts["repeats"]))
    _refuse_unread_task_options(axes["task"], opts["length"], opts["task_seed"])
    size = math.prod(len(values) for values in axes.values())
    if size > LIMITS["trials"]:  # the library's limit, said with what the flags can do
        raise click.UsageError(
            f"the grid has {size:,} trials; at most {LIMITS['trials']:,} are "
            "allowed in one sweep: split it into several runs on the same "
            "--db"
        )
    return Grid(
        **axes,
        data_seed=opts["data_seed"],
        display_step=base.display_step,
        name=base.name if not (opts["hidden"] or opts["lr"]) else "custom",
        opt=tuple(opts["opt"]),
        base_width=opts["base_width"] or base.base_width,
        length=opts["length"] or base.length,
        task_seed=base.task_seed if opts["task_seed"] is None else opts["task_seed"],
    )


def _refuse_unread_task_options(tasks, length: int | None, task_seed: int | None) -> None:
    """``--length`` or ``--task-seed`` for tasks none of which reads it (``--task pixels
    --length 100``: pixels has 784 steps of its own): refused, not silently ignored."""
    named = ",".join(tasks)
    if length is not None and not any(t in TASKS and TASKS[t].default_length for t in tasks):
        readers = _listed([t.name for t in TASKS.values() if t.default_length])
        raise click.UsageError(
            f"--length is the sequence length of {readers}; --task {named} sets its own: drop --length"
        )
    if task_seed is not None and not any(t not in TASKS or TASKS[t].seeded for t in tasks):
        readers = ", ".join(t.name for t in TASKS.values() if t.seeded)
        raise click.UsageError(
            f"--task-seed seeds {readers} and tasks of your own; --task {named} reads no seed: "
            "drop --task-seed"
        )


def _listed(names: list[str]) -> str:
    """``a, b and c``."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _refuse_repeated_settings(opt) -> None:
    """``--opt momentum=0.99 --opt momentum=0.5``: which one was meant? Refused, not guessed."""
    values: dict[str, list[float]] = {}
    for name, value in opt:
        values.setdefault(name, []).append(value)
    for name, given in values.items():
        if len(given) > 1:
            raise click.BadParameter(
                f"{printable(name)[:40]} is given {len(given)} times "
                f"({' and '.join(f'{v:g}' for v in given[:5])}); give each setting once",
                param_hint="'--opt'",
            )


def executor_of(executor: str | None, ray_address: str | None) -> str:
    """``--executor`` as given, else local, or ray where ``--ray-address`` is given."""
    if ray_address is not None and executor not in (None, "ray"):
        raise click.UsageError("--ray-address is for --executor ray; drop one of them")
    return executor or ("ray" if ray_address is not None else "local")


def request_of(opts: dict, executor: str, ray_address: str | None, dataset: str = "mnist"):
    """The checked sweep request of the sweep options."""
    return api.sweep_request(
        grid_of(opts),
        opts["db"],
        dataset=dataset,
        device=opts["device"],
        engine=opts["engine"],
        executor=executor,
        workers=opts["workers"],
        ray_address=ray_address,
        retry=opts["retry"],
        fallback_fp32=opts["fallback_fp32"],
        checkpoint_every=opts["checkpoint_every"],
        keep_checkpoints=opts["keep_checkpoints"],
        val_every=opts["val_every"],
    )


def refuse_one_rate(request, command: str) -> None:
    """A search chooses among rates: say so before any data is loaded."""
    if len(request.grid.lr) < 2:
        raise click.UsageError(
            f"{command} chooses among learning rates: give --lr two or more, e.g. 1e-5:1:6 or 2^-16:1"
        )


def refuse_stray_dataset_name(
    dataset_name: str | None, data_dir: str | None, text: str | None = None
) -> None:
    if dataset_name is not None and data_dir is None and text is None:
        raise click.UsageError("--dataset-name names the data of a --data-dir folder or a --text file")


def check_data_options(request, text: str | None, data_dir: str | None, datasets=None) -> str:
    """The kind of data the request's tasks read (``images``, ``generated``, ``text``), with
    the options that give it (:func:`refuse_unread_data_options`)."""
    return refuse_unread_data_options(request.kind, ",".join(request.grid.task), text, data_dir, datasets)


def refuse_unread_data_options(
    kind: str, tasks: str, text: str | None, data_dir: str | None, datasets=None
) -> str:
    """``kind``, the data ``tasks`` read, once the options that give data fit it: ``--text``
    for chars, ``--data-dir`` / ``--dataset`` for the image tasks only (UsageError if not)."""
    if kind == "text" and text is None:
        raise click.UsageError(f"--task {tasks} reads a text: pass --text FILE (a UTF-8 file)")
    if kind != "text" and text is not None:
        raise click.UsageError(f"--text is the text of --task chars; --task {tasks} reads none")
    if kind != "images" and (data_dir is not None or datasets):
        given = "--data-dir" if data_dir is not None else "--dataset"
        raise click.UsageError(
            f"{given} is for the image tasks (rows, pixels, permuted); --task {tasks} reads "
            + ("its --text" if kind == "text" else "no data (it is generated)")
        )
    return kind


def data_loaders(kind: str, data_dir, datasets, dataset_name, text, show: bool) -> list:
    """What a sweep of ``kind`` trains on, one loader (a function of nothing) per dataset: each
    image dataset (``--dataset``, ``--data-dir``), the generated tasks' (no files), the text."""
    from lstm_sweep.data import generated_data, load_text

    if kind == "generated":
        return [generated_data]
    if kind == "text":
        return [lambda: load_text(text, dataset_name)]
    return [lambda name=name: load_data(data_dir, show, name, dataset_name) for name in datasets]


@click.command(
    "run",
    epilog=o.examples(
        "lstm-sweep run                                  # the quick preset into lstm-sweep.db",
        "lstm-sweep run --hidden 16,32 --lr 1e-3,1e-2 --steps 300 --db small.db",
        "lstm-sweep run --preset hw2 --repeats 3 --lr 1e-4:1e-1:10 --serve 8000",
        "lstm-sweep run --dataset mnist,fashion-mnist --cell lstm,gru --format markdown",
        "lstm-sweep run --preset adding-small --db tasks.db   # generated: no download",
        "lstm-sweep run --preset chars-small --text book.txt --db tasks.db",
    ),
)
@sweep_options
@o.data_dir
@click.option(
    "--dataset",
    "datasets",
    type=DATASET_LIST,
    help=o.with_default(
        "Datasets, run one after another, e.g. mnist,fashion-mnist,"
        "kmnist (each downloaded and checked against its checksums)",
        "mnist",
    ),
)
@o.dataset_name
@o.table_format
@click.option(
    "--progress/--no-progress",
    default=None,
    help=o.with_default("Progress bars", "when stderr is a terminal"),
)
@o.force
@o.executor
@o.ray_address
@o.serve
def run(
    data_dir, datasets, dataset_name, fmt, progress, force, executor, ray_address, serve_port, **opts
) -> None:
    """Run a sweep (skipping trials already in the store) and print its table."""
    executor = executor_of(executor, ray_address)
    if data_dir is not None and datasets and len(datasets) > 1:
        raise click.UsageError("--data-dir is one dataset's folder: give one --dataset with it")
    refuse_stray_dataset_name(dataset_name, data_dir, opts["text"])
    request = request_of(opts, executor, ray_address)  # everything checked before any work
    kind = check_data_options(request, opts["text"], data_dir, datasets)
    show = sys.stderr.isatty() if progress is None else progress
    loaders = data_loaders(kind, data_dir, datasets or ("mnist",), dataset_name, opts["text"], show)
    server = None if serve_port is None else start_server(opts["db"], "127.0.0.1", serve_port, data=False)
    try:
        _run(request, opts["db"], loaders, fmt, show, force)
    finally:
        if server is not None:
            server.close()


def _run(request, db, loaders, fmt, show: bool, force: bool) -> None:
    """One dataset after another, each planned and run; then the table and what was done."""
    trials, ran, skipped, others, wall, planned = [], 0, 0, 0, 0.0, 0.0
    counts: dict[str, int] = {}
    for load in loaders:
        data = load()
        plan = api.plan_sweep(request.with_data(data))
        click.echo(printable_lines(plan.render()), err=True)
        plan.check(force)
        summary = execute_with_progress(plan, show)
        trials += plan.trials
        ran, skipped, others = ran + summary.ran, skipped + summary.skipped, others + summary.by_others
        wall, planned = wall + summary.wall_s, planned + plan.cost.seconds
        for status, n in summary.statuses.items():
            counts[status] = counts.get(status, 0) + n
    results = load_results(request.store, trials=trials)
    click.echo(render_tables(build_tables(results, "accuracy"), fmt))
    counted = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "nothing new"
    by_others = f", {others} by another driver" if others else ""
    click.echo(
        "\n"
        + printable(
            f"{plural(ran, 'trial')} run ({counted}), {skipped} already in {db}{by_others}; "
            f"{wall:.1f} s (planned {human_seconds(planned)})"
        ),
        err=True,
    )


@click.command(
    "plan",
    epilog=o.examples(
        "lstm-sweep plan --preset hw2                    # FLOPs, memory, time and ETA per width",
        "lstm-sweep plan --preset hw2 --precision fp32,bf16 --reprobe",
        "lstm-sweep plan --hidden 4096 --device cuda --dataset mnist,fashion-mnist",
    ),
)
@sweep_options
@click.option(
    "--dataset",
    "datasets",
    type=NAMES,
    default="mnist",
    show_default=True,
    help="Datasets (names as stored, e.g. mnist,fashion-mnist) whose finished trials "
    "in --db are left out; one plan each.",
)
@click.option("--reprobe", is_flag=True, help="Measure this device again (the probe is cached).")
@o.data_dir
def plan_cmd(datasets, reprobe, data_dir, **opts) -> None:
    """Show what a sweep will cost before running it: FLOPs, memory and time per width, ETA.
    (--data-dir is taken, so that a run's command plans as it is; the plan reads no images.)"""
    requests = [request_of(opts, "local", None, name) for name in datasets]
    kind = check_data_options(requests[0], opts["text"], None)
    if kind != "images":  # one dataset: generated (no files), or the text (read for its name)
        requests = [requests[0]]
    if kind == "text":
        from lstm_sweep.data import load_text

        requests = [requests[0].with_data(load_text(opts["text"], None))]
    for i, request in enumerate(requests):
        if len(requests) > 1:
            click.echo(("\n" if i else "") + printable(f"dataset {request.dataset}:"))
        click.echo(
            printable_lines(api.plan_sweep(request, refresh=reprobe and not i, alternatives=True).render())
        )
