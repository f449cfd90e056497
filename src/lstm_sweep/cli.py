"""The ``lstm-sweep`` command: a thin shell over the public API.

Errors meant for users (bad input, bad files, a bad store) print one ``Error: ...`` line on
stderr and exit with code 2; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import logging
import signal
import sys
import time
from collections.abc import Callable

import click

import lstm_sweep as api
from lstm_sweep import (
    AXES,
    CELLS,
    DATASETS,
    ENGINE_CHOICES,
    EXECUTORS,
    EXPORT_FORMATS,
    FORMATS,
    INITS,
    LIMITS,
    METRICS,
    OPTIMIZERS,
    PARAMS,
    PRECISIONS,
    PRESETS,
    READOUTS,
    STATS,
    Grid,
    LstmSweepError,
    build_tables,
    load_mnist,
    load_results,
    preset,
    printable,
    render_tables,
)

log = logging.getLogger("lstm_sweep")


class CommaList(click.ParamType):
    """``16,32,64`` -> a tuple of values, each checked by ``convert_one``."""

    def __init__(self, name: str, plural: str, convert_one: Callable[[str], object]):
        self.name, self.plural = name, plural
        self._convert_one = convert_one

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        items = [v.strip() for v in str(value).split(",")]
        if not items or any(not v for v in items):
            self.fail(f"{str(value)[:60]!r} is not a comma-separated list of {self.plural}",
                      param, ctx)
        out = []
        for v in items:
            try:
                one = self._convert_one(v)
                out.extend(one) if isinstance(one, tuple) else out.append(one)
            except _Explained as e:
                self.fail(f"{v[:60]!r} is {e}", param, ctx)
            except ValueError:
                self.fail(f"{v[:60]!r} is not {self.name}", param, ctx)
        return tuple(out)


class _Explained(ValueError):
    """A value refused with its own reason (the rest say "is not a ...")."""


def _bounded_int(low: int, high: int):
    def convert(text: str) -> int:
        value = int(text)  # "1e3", "1.5", 5,000 digits: ValueError
        if value < low:
            raise ValueError(text)
        if value > high:
            raise _Explained(f"too large: at most {high:,}")
        return value

    return convert


def _positive_float(text: str) -> float:
    value = float(text)
    if not (value > 0 and value != float("inf")):
        raise ValueError(text)
    return value


def _status(text: str) -> str:
    if text not in {str(s) for s in api.Status} or text == "done":
        raise _Explained("not a status to retry: --retry takes failed, oom, diverged or pruned")
    return text


HIDDEN = CommaList("a positive integer", "positive integers", _bounded_int(1, LIMITS["hidden"]))
def _lr_items(text: str) -> tuple[float, ...]:
    """One learning rate or a range of them (``1e-4:1e-1:10``, ``2^-12:2^-4``; api.lr_range)."""
    if ":" not in text and "^" not in text:
        return _positive_float(text)  # one number: "'x' is not a positive number"
    try:
        return api.lr_range(text)
    except LstmSweepError as e:
        raise _Explained(f"not a learning rate or range ({e})") from None


LRS = CommaList("a positive number", "positive numbers or ranges", _lr_items)
SEEDS = CommaList("a non-negative integer", "non-negative integers",
                  _bounded_int(0, LIMITS["seed"]))
STATUSES = CommaList("a status to retry", "statuses", _status)


def _choice(choices):
    def convert(text: str) -> str:
        if text not in choices:
            raise _Explained(f"not one of {', '.join(choices)}")
        return text

    return convert


CELL_LIST = CommaList("a cell", "cells", _choice(CELLS))
DATASET_LIST = CommaList("a dataset", "datasets", _choice(tuple(DATASETS)))
OPTIMIZER_LIST = CommaList("an optimizer", "optimizers", _choice(tuple(OPTIMIZERS)))
def _name(text: str) -> str:
    if len(text) > 200:
        raise _Explained("too long: at most 200 characters")
    return text


NAMES = CommaList("a name", "names", _name)
INIT_LIST = CommaList("an init", "inits", _choice(INITS))
PARAM_LIST = CommaList("a parametrization", "parametrizations", _choice(PARAMS))
READOUT_LIST = CommaList("a readout init", "readout inits", _choice(READOUTS))
PRECISION_LIST = CommaList("a precision", "precisions", _choice(PRECISIONS))
STEPS = CommaList("a positive integer", "positive integers", _bounded_int(1, LIMITS["steps"]))
BATCHES = CommaList("a positive integer", "positive integers",
                    _bounded_int(1, LIMITS["batch_size"]))


class Pair(click.ParamType):
    """``NAME=VALUE`` -> (name, the value as ``convert_value`` reads it)."""

    def __init__(self, name: str, form: str, convert_value: Callable[[str], object]):
        self.name, self.form = name, form
        self._convert_value = convert_value

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        key, sep, text = str(value).partition("=")
        try:
            if not sep or not key.strip():
                raise ValueError
            return key.strip(), self._convert_value(text)
        except ValueError:
            self.fail(f"{str(value)[:60]!r} is not {self.form}", param, ctx)


def _text(text: str) -> str:
    if not text.strip():
        raise ValueError(text)
    return text.strip()


SETTING = Pair("setting", "NAME=NUMBER (e.g. momentum=0.99)", float)
CONDITION = Pair("condition", "AXIS=VALUE (e.g. cell=gru)", _text)


def db_option(f):
    """``--db``: the SQLite results store, declared once for every command that has one."""
    return click.option("--db", default="lstm-sweep.db", show_default=True, type=click.Path(),
                        help="SQLite results store.")(f)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logs.")
@click.version_option(package_name="lstm-sweep")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """How an LSTM's width and its Adam learning rate, together, decide what it learns.

    Trains an LSTM that reads MNIST digits row by row over a grid of hidden sizes x learning
    rates (the 2017 HW2 study, faithfully), stores every trial in SQLite, and prints Table 1.
    """
    ctx.obj = {"debug": debug}
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )


def sweep_options(f):
    """The options that define a sweep and where it runs (shared by `run` and `plan`)."""
    options = [
        click.option("--preset", "preset_name", default="quick", show_default=True,
                     help=f"Grid to run: {', '.join(sorted(PRESETS))}."),
        click.option("--hidden", type=HIDDEN,
                     help="Hidden sizes, e.g. 16,32 (replaces the preset's)."),
        click.option("--lr", "lrs", type=LRS,
                     help="Learning rates, e.g. 1e-3,1e-2, or log-spaced ranges: 1e-4:1e-1:10 "
                          "(10 values), 2^-12:2^-4 or 0.0002:0.0512 (factors of two); replaces "
                          "the preset's."),
        click.option("--seeds", type=SEEDS, help="Seeds, e.g. 0,1,2  [default: 0]"),
        click.option("--repeats", type=click.IntRange(1, LIMITS["repeats"]),
                     help="Seeds 0..N-1 (instead of --seeds)."),
        click.option("--data-seed", type=click.IntRange(0, LIMITS["seed"]),
                     help="One batch order for every seed (then the seeds differ by initial "
                          "weights only, and fuse into one group per width)  [default: each "
                          "seed its own order]"),
        click.option("--steps", type=STEPS,
                     help="Updates per trial, e.g. 300,999  [default: 999]"),
        click.option("--batch-size", type=BATCHES,
                     help="Images per update, e.g. 50,100  [default: 100]"),
        click.option("--cell", "cells", type=CELL_LIST,
                     help="Cells, e.g. lstm,gru,rnn (TF 1.x's BasicLSTMCell, GRUCell, "
                          "BasicRNNCell)  [default: lstm]"),
        click.option("--optimizer", "optimizers", type=OPTIMIZER_LIST,
                     help="Optimizers in TF 1.x's forms, e.g. adam,sgd,momentum,rmsprop,adagrad "
                          " [default: adam]"),
        click.option("--opt", "opt", type=SETTING, multiple=True,
                     help="An optimizer setting that differs from TF's default, e.g. "
                          "momentum=0.99 (repeatable; part of the trials' identity)."),
        click.option("--param", "params", type=PARAM_LIST,
                     help="Parametrizations: sp = the seed's (one rate for every tensor); mup = "
                          "the maximal update parametrization (per-tensor init and rates, a 1/m "
                          "readout, m = width / --base-width); sp,mup = both  [default: sp]"),
        click.option("--base-width", type=click.IntRange(1, LIMITS["hidden"]),
                     help="The width at which mup equals sp  [default: 64]"),
        click.option("--readout", "readouts", type=READOUT_LIST,
                     help="The head's initial weights: normal = the seed's N(0,1); zero = "
                          "zeros (mup's option); normal,zero = both  [default: normal]"),
        click.option("--init", type=INIT_LIST,
                     help="tf = seed-faithful init (glorot kernel, N(0,1) head); pytorch = its "
                          "defaults; tf,pytorch = both  [default: tf]"),
        click.option("--precision", type=PRECISION_LIST,
                     help="fp32 = faithful; tf32 = TF32 matmuls on NVIDIA GPUs; bf16 = bfloat16 "
                          "autocast; a list runs each. Refused where the device cannot run it  "
                          "[default: fp32]"),
        click.option("--fallback-fp32", is_flag=True,
                     help="Where the device cannot run --precision, run fp32 instead (stored as "
                          "fp32) rather than stop."),
        click.option("--device", default="auto", show_default=True, help="auto, cpu or cuda."),
        click.option("--engine", type=click.Choice(ENGINE_CHOICES), default="auto",
                     show_default=True,
                     help="single = one trial at a time (oneDNN/cuDNN); fused = the trials of a "
                          "width as one batched model; auto = the faster per width and device."),
        click.option("--workers", type=click.IntRange(1, LIMITS["workers"]),
                     help="Work units side by side in worker processes  [default: one per core "
                          "for CPU widths <= 256, else 1]"),
        db_option,
        click.option("--retry", type=STATUSES, default=(),
                     help="Run stored trials with these statuses again, e.g. failed,oom; "
                          "pruned finishes a search's pruned trials from their checkpoints."),
        click.option("--checkpoint-every", default="5m", show_default=True,
                     help="Save each running trial's whole state this often (30s, 5m, 1h; 0 = "
                          "at every curve point; off = never) in <db>.checkpoints; a killed "
                          "trial resumes there, bit for bit."),
        click.option("--keep-checkpoints", is_flag=True,
                     help="Keep a trial's checkpoints after its result is stored."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _grid(o: dict) -> Grid:
    """The grid the options describe: a preset, with any axis or protocol value replaced."""
    base = preset(o["preset_name"])
    if o["repeats"] and o["seeds"]:
        raise click.UsageError("give --seeds or --repeats, not both")
    _refuse_repeated_settings(o["opt"])
    return Grid(
        hidden=o["hidden"] or base.hidden,
        lrs=o["lrs"] or base.lrs,
        seeds=tuple(range(o["repeats"])) if o["repeats"] else o["seeds"] or base.seeds,
        data_seed=o["data_seed"],
        steps=o["steps"] or base.steps,
        batch_size=o["batch_size"] or base.batch_size,
        display_step=base.display_step,
        init=o["init"] or base.init,
        precision=o["precision"] or base.precision,
        name=base.name if not (o["hidden"] or o["lrs"]) else "custom",
        cells=o["cells"] or base.cells,
        optimizers=o["optimizers"] or base.optimizers,
        opt=tuple(o["opt"]),
        param=o["params"] or base.param,
        readout=o["readouts"] or base.readout,
        base_width=o["base_width"] or base.base_width,
    )


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
                param_hint="'--opt'")


def _request(o: dict, executor: str, ray_address: str | None, dataset: str = "mnist"):
    return api.sweep_request(
        _grid(o), o["db"], dataset=dataset, device=o["device"], engine=o["engine"],
        executor=executor, workers=o["workers"], ray_address=ray_address, retry=o["retry"],
        fallback_fp32=o["fallback_fp32"], checkpoint_every=o["checkpoint_every"],
        keep_checkpoints=o["keep_checkpoints"])


@cli.command()
@sweep_options
@click.option("--data-dir", type=click.Path(file_okay=False),
              help="Folder with the four IDX files  [default: MNIST's $LSTM_SWEEP_DATA_DIR, else "
                   "the dataset's cache (downloaded)]")
@click.option("--dataset", "datasets", type=DATASET_LIST,
              help="Datasets, e.g. mnist,fashion-mnist,kmnist (each downloaded and checked "
                   "against its checksums)  [default: mnist]")
@click.option("--dataset-name",
              help="The name of a --data-dir folder's data in tables and the store  [default: "
                   "the known dataset its checksums match, else the folder's name]")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True,
              help="Format of the table printed at the end.")
@click.option("--progress/--no-progress", default=None,
              help="Progress bars  [default: when stderr is a terminal]")
@click.option("--force", is_flag=True,
              help="Run work units even where the plan says they do not fit in memory, or its "
                   "ETA is beyond 30 days.")
@click.option("--executor", type=click.Choice(tuple(EXECUTORS)), default=None,
              help="local = this machine; inprocess = this process, one unit at a time; ray = a "
                   "Ray cluster (pip install 'lstm-sweep[ray]')  [default: local; ray when "
                   "--ray-address is given]")
@click.option("--ray-address", help="HOST:PORT or auto (an existing cluster); implies "
                                    "--executor ray  [default: start a local Ray instance]")
@click.option("--serve", "serve_port", type=click.IntRange(0, 65535), default=None,
              metavar="PORT", help="Also serve the live page of the store on 127.0.0.1:PORT "
                                   "while the sweep runs (0: any free port; the URL is printed).")
def run(data_dir, datasets, dataset_name, fmt, progress, force, executor, ray_address,
        serve_port, **options) -> None:
    """Run a sweep (skipping trials already in the store) and print its table."""
    if ray_address is not None and executor not in (None, "ray"):
        raise click.UsageError("--ray-address is for --executor ray; drop one of them")
    if data_dir is not None and datasets and len(datasets) > 1:
        raise click.UsageError("--data-dir is one dataset's folder: give one --dataset with it")
    if dataset_name is not None and data_dir is None:
        raise click.UsageError("--dataset-name names the data of a --data-dir folder")
    executor = executor or ("ray" if ray_address is not None else "local")
    request = _request(options, executor, ray_address)  # everything checked before any work
    server = None if serve_port is None else _start_server(options["db"], "127.0.0.1",
                                                           serve_port)
    try:
        _run(request, data_dir, datasets, dataset_name, fmt, progress, force, options)
    finally:
        if server is not None:
            server.close()


def _run(request, data_dir, datasets, dataset_name, fmt, progress, force, options) -> None:
    show = sys.stderr.isatty() if progress is None else progress
    trials, ran, skipped, others, wall, planned = [], 0, 0, 0, 0.0, 0.0
    counts: dict[str, int] = {}
    for name in datasets or ("mnist",):  # one dataset after another, each planned and run
        data = _load_data(data_dir, show, name, dataset_name)
        plan = api.plan_sweep(request.with_data(data))
        click.echo(_printable_lines(plan.render()), err=True)
        plan.check(force)
        summary = _execute_with_progress(plan, show)
        trials += plan.trials
        ran, skipped, others = ran + summary.ran, skipped + summary.skipped, \
            others + summary.by_others
        wall, planned = wall + summary.wall_s, planned + plan.cost.seconds
        for status, n in summary.statuses.items():
            counts[status] = counts.get(status, 0) + n
    results = load_results(request.store, trials=trials)
    click.echo(render_tables(build_tables(results, "accuracy"), fmt))
    counted = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "nothing new"
    by_others = f", {others} by another driver" if others else ""
    click.echo("\n" + printable(
        f"{ran} trials run ({counted}), {skipped} already in {options['db']}{by_others}; "
        f"{wall:.1f} s (planned {api.human_seconds(planned)})"), err=True)


def _window(text: str) -> float | None:
    if text.strip().lower() == "off":
        return None
    value = float(text)
    if not 1 < value < float("inf"):
        raise ValueError(text)
    return value


class _WindowType(click.ParamType):
    name = "factor"

    def convert(self, value, param, ctx):
        if value is None or isinstance(value, float):
            return value
        try:
            return _window(str(value))
        except ValueError:
            self.fail(f"{printable(str(value))[:40]!r} is not a factor above 1 (10 = a decade "
                      "either side) or off", param, ctx)


RUNGS = CommaList("a step", "steps", _bounded_int(1, LIMITS["steps"]))


@cli.command()
@sweep_options
@click.option("--data-dir", type=click.Path(file_okay=False),
              help="Folder with the four IDX files  [default: MNIST's $LSTM_SWEEP_DATA_DIR, else "
                   "the dataset's cache (downloaded)]")
@click.option("--dataset", default="mnist", show_default=True, type=click.Choice(tuple(DATASETS)),
              help="The dataset (one), e.g. fashion-mnist (a --data-dir folder's own name: "
                   "--dataset-name).")
@click.option("--dataset-name", help="The name of a --data-dir folder's data.")
@click.option("--eta", type=click.IntRange(2, 10), default=3, show_default=True,
              help="Each rung keeps the best 1/eta of its rates.")
@click.option("--rungs", type=RUNGS, default=(),
              help="Steps at which rates are compared (the trials' steps are always the last)  "
                   "[default: steps/eta^2, steps/eta]")
@click.option("--window", type=_WindowType(), default="10", show_default=True,
              help="A width's rates start within this factor of the narrower width's best "
                   "(widened when its best lies on the edge); off = every rate.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True,
              help="Format of the table printed at the end.")
@click.option("--force", is_flag=True,
              help="Run even where the plan says memory or disk do not suffice.")
@click.option("--executor", type=click.Choice(tuple(EXECUTORS)), default=None,
              help="local, inprocess or ray  [default: local; ray with --ray-address]")
@click.option("--ray-address", help="HOST:PORT or auto; implies --executor ray.")
@click.option("--dry-run", is_flag=True, help="Print the plan and stop.")
def search(data_dir, dataset, dataset_name, eta, rungs, window, fmt, force, executor,
           ray_address, dry_run, **options) -> None:
    """Find each width's best learning rate for a fraction of the grid: successive halving over
    the rates (ranked by validation accuracy at each rung, continued from checkpoints), the
    winners finished with the full protocol; pruned trials are stored as pruned@steps."""
    if ray_address is not None and executor not in (None, "ray"):
        raise click.UsageError("--ray-address is for --executor ray; drop one of them")
    if dataset_name is not None and data_dir is None:
        raise click.UsageError("--dataset-name names the data of a --data-dir folder")
    executor = executor or ("ray" if ray_address is not None else "local")
    request = _request(options, executor, ray_address, dataset)
    data = None if dry_run else _load_data(data_dir, False, dataset, dataset_name)
    if data is not None:
        request = request.with_data(data)
    plan = api.plan_search(request, eta=eta, rungs=rungs, window=window)
    click.echo(_printable_lines(plan.render()), err=True)
    if dry_run:
        return
    plan.check(force)
    console = _stderr_console()

    def on_rung(row, rung, n):
        _stop_if_terminated()
        console.print(printable(f"{row.label()}: {n} trials to step {rung}"))

    def on_trial_end(result, i, n):
        val = "-" if result.val_accuracy is None else f"{result.val_accuracy:.4f}"
        console.print(printable(f"  {result.config.describe()}: {result.status}"
                                 f"@{result.steps_done} validation {val}"))

    def on_step(unit, done, total):
        _stop_if_terminated()

    callbacks = api.SearchCallbacks(api.SweepCallbacks(on_step=on_step, on_trial_end=on_trial_end),
                                on_rung)
    summary = api.run_search(plan, callbacks)
    results = load_results(request.store, trials=plan.grid.trials)
    click.echo(render_tables(build_tables(results, "accuracy"), fmt))
    click.echo("\n" + _printable_lines(api.render_search_summary(plan, summary)), err=True)


@cli.command("coord-check")
@click.option("--hidden", type=HIDDEN, help="Widths, e.g. 128,512,2048  [default: 128,256,512,"
                                            "1024,2048]")
@click.option("--param", "params", type=PARAM_LIST, default="sp,mup", show_default=True,
              help="Parametrizations to check.")
@click.option("--cell", type=click.Choice(CELLS), default="lstm", show_default=True)
@click.option("--optimizer", type=click.Choice(tuple(OPTIMIZERS)), default="adam",
              show_default=True)
@click.option("--lr", type=LRS, help="One deliberately large rate  [default: 0.01 for adam, "
                                     "rmsprop, adagrad; 0.1 for sgd, momentum]")
@click.option("--seeds", type=SEEDS, default="0,1,2", show_default=True,
              help="Seeds averaged per width.")
@click.option("--steps", type=click.IntRange(1, 1000), default=5, show_default=True,
              help="Updates on the one fixed batch.")
@click.option("--batch-size", type=click.IntRange(1, LIMITS["batch_size"]), default=32,
              show_default=True, help="Images in the fixed batch (the first of the training set).")
@click.option("--base-width", type=click.IntRange(1, LIMITS["hidden"]), default=64,
              show_default=True, help="The width at which mup equals sp.")
@click.option("--readout", type=click.Choice(READOUTS), default="normal", show_default=True)
@click.option("--device", default="cpu", show_default=True, help="auto, cpu or cuda.")
@click.option("--data-dir", type=click.Path(file_okay=False),
              help="Folder with the four IDX files  [default: MNIST's $LSTM_SWEEP_DATA_DIR, else "
                   "the cache]")
@click.option("--out", "out_dir", default="plots", show_default=True, type=click.Path(),
              help="Folder for the figures (coord-check-<param>.png).")
@click.option("--format", "fmt", type=click.Choice(("text", "csv")), default="text",
              show_default=True, help="text = the table and verdicts; csv = every measurement.")
@click.option("--overwrite", is_flag=True, help="Replace files in --out that are not images.")
def coord_check_cmd(hidden, params, cell, optimizer, lr, seeds, steps, batch_size, base_width,
                    readout, device, data_dir, out_dir, fmt, overwrite) -> None:
    """Does a parametrization keep every coordinate's size as the width grows? A few steps on
    one fixed batch at a large rate, per width: the mean |·| of the input and recurrent
    projections, gate pre-activations, c, h and logits, and of their change since init; one
    verdict per parametrization (flat or not flat) and a log-log figure each."""
    if lr is not None and len(lr) != 1:
        raise click.BadParameter("give one learning rate", param_hint="'--lr'")
    widths = hidden or api.COORD_WIDTHS
    if len(widths) < 2:
        raise click.BadParameter("give at least two widths to compare", param_hint="'--hidden'")
    params = tuple(dict.fromkeys(params))
    folder = api.check_folder(out_dir)
    targets = [folder / f"coord-check-{p}.png" for p in params]
    if folder.exists():
        for target in targets:  # refused before any training
            api.check_target(target, "png", overwrite=overwrite)
    data = _load_data(data_dir, False)
    done = []

    def on_done(param: str, width: int) -> None:
        done.append((param, width))
        click.echo(f"[{len(done)}/{len(params) * len(widths)}] {param} {width}", err=True)

    points = api.coord_check(data, widths=widths, params=params, cell=cell, optimizer=optimizer,
                             lr=lr[0] if lr else None, seeds=seeds, steps=steps,
                             base_width=base_width, readout=readout, batch_size=batch_size,
                             device=device, on_done=on_done)
    if fmt == "csv":
        click.echo(api.render_coord_csv(points))
    else:
        click.echo(api.render_coord_table(points))
    folder = api.output_folder(out_dir)
    for param, target in zip(params, targets):
        fig = api.plot_coord_check(points, param, f"coordinate check: {param} ({cell}, "
                                                  f"{optimizer}, base width {base_width})")
        click.echo(printable(api.save_figure(fig, target, overwrite=overwrite)), err=True)


@cli.command("plan")
@sweep_options
@click.option("--dataset", "datasets", type=NAMES, default="mnist", show_default=True,
              help="Datasets (names as stored, e.g. mnist,fashion-mnist) whose finished trials "
                   "in --db are left out; one plan each.")
@click.option("--reprobe", is_flag=True, help="Measure this device again (the probe is cached).")
def plan_cmd(datasets, reprobe, **options) -> None:
    """Show what a sweep will cost before running it: FLOPs, memory and time per width, ETA."""
    requests = [_request(options, "local", None, name) for name in datasets]
    for i, request in enumerate(requests):
        if len(requests) > 1:
            click.echo(("\n" if i else "") + printable(f"dataset {request.dataset}:"))
        click.echo(_printable_lines(api.plan_sweep(request, refresh=reprobe and not i,
                                                             alternatives=True).render()))


def _load_data(data_dir, show: bool, dataset: str = "mnist", dataset_name: str | None = None):
    """Load the dataset, with a byte-progress bar per file if it has to be downloaded."""
    from rich.progress import DownloadColumn, Progress, TransferSpeedColumn

    progress = Progress(*Progress.get_default_columns(), DownloadColumn(), TransferSpeedColumn(),
                        console=_stderr_console(), disable=not show)
    tasks: dict[str, int] = {}

    def on_bytes(name: str, done: int, total: int | None) -> None:
        if name not in tasks:
            tasks[name] = progress.add_task(f"download {printable(name)}", total=total)
        progress.update(tasks[name], completed=done)

    with progress:
        return load_mnist(data_dir, dataset=dataset, dataset_name=dataset_name,
                          progress=on_bytes)


def _printable_lines(text: str) -> str:
    """Several lines, each :func:`printable` (the line breaks kept)."""
    return "\n".join(printable(line) for line in text.split("\n"))


def _shown(path: str) -> str:
    """A path as the user reads it best: relative to the working folder when inside it, from
    ``~`` when in the home folder, else as it is."""
    import os

    p = os.path.abspath(path)
    for base, prefix in ((os.getcwd(), ""), (os.path.expanduser("~"), "~/")):
        if base not in ("", os.sep) and (p == base or p.startswith(base + os.sep)):
            return prefix + (os.path.relpath(p, base) if p != base else ".")
    return path


def _stderr_console():
    from rich.console import Console

    # soft_wrap: one record, one line, however long and whatever the width (rich wraps at 80
    # columns when stderr is not a terminal, which breaks grep on a log); no markup, emoji
    # codes (":x:" in a path) or highlighting either: the lines are plain text
    return Console(stderr=True, soft_wrap=True, markup=False, emoji=False, highlight=False)


def _execute_with_progress(plan, show: bool):
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    console = _stderr_console()
    progress = Progress(
        TextColumn("{task.description}", markup=False), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), TimeRemainingColumn(), console=console, disable=not show,
    )
    bars: dict = {}  # unit -> progress task

    def on_start(pending, skipped, units):
        engines = ", ".join(sorted({u.engine for u in units})) or "-"
        grid, data = plan.request.grid, plan.request.data
        console.print(printable(
            f"{grid.name}: {len(grid)} trials, {skipped} already stored, {len(pending)} to run "
            f"on {data.name} ({_shown(data.source)}); {len(units)} work units, engine {engines}"))
        bars["overall"] = progress.add_task("sweep", total=len(pending))

    def on_unit_start(unit):
        bars[unit] = progress.add_task(f"  {printable(unit.describe())}",
                                       total=unit.configs[0].steps)

    def on_step(unit, done, total):
        _stop_if_terminated()
        if unit in bars:
            progress.update(bars[unit], completed=done)

    def on_trial_end(result, i, n):
        progress.advance(bars["overall"])
        unit = next((u for u in bars if u != "overall" and result.config in u.configs), None)
        if unit is not None and result.config == unit.configs[-1]:
            progress.remove_task(bars.pop(unit))
        acc = "-" if result.test_accuracy is None else f"{result.test_accuracy:.4f}"
        how = f", {result.engine} x{result.group_size}" if result.group_size > 1 else ""
        extra = f" ({result.error})" if result.error else ""
        console.print(printable(f"[{i + 1}/{n}] {result.config.describe()}: {result.status} "
                                 f"acc {acc} in {result.wall_s:.1f} s{how}{extra}"))

    def on_wait(held):
        who = ", ".join(sorted(set(held.values())))
        console.print(printable(f"waiting for {len(held)} trials being trained by another "
                                 f"driver ({who}); its claims are taken over if it stops"))

    callbacks = api.SweepCallbacks(on_start, on_unit_start, on_step, on_trial_end, on_wait)
    with progress:
        return api.execute(plan, callbacks)


def axes_options(f):
    """``--rows``, ``--cols`` and ``--where``: the two axes of tables, plots and findings, and
    which trials they show."""
    f = click.option("--where", type=CONDITION, multiple=True,
                     help="Only trials with this value of an axis, e.g. cell=gru or lr=0.01 "
                          "(repeatable: all must hold).")(f)
    f = click.option("--cols", type=click.Choice(tuple(AXES)), default="lr", show_default=True,
                     help="Axis of the columns.")(f)
    return click.option("--rows", type=click.Choice(tuple(AXES)), default="hidden",
                        show_default=True,
                        help="Axis of the rows; every other axis that varies gives one table "
                             "(facet) per value.")(f)


@cli.command()
@db_option
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True)
@click.option("--metric", type=click.Choice(tuple(METRICS)), default="accuracy",
              show_default=True)
@click.option("--stat", type=click.Choice(STATS), default="mean", show_default=True,
              help="Per cell over seeds: mean ± std, median, best seed, or all values.")
@axes_options
@click.option("--best-over", type=click.Choice(tuple(AXES)),
              help="Each cell at its best value of this axis (by mean accuracy, shown after "
                   "@), e.g. --rows hidden --cols cell --best-over lr.")
def table(db, fmt, metric, stat, rows, cols, where, best_over) -> None:
    """Print Table 1 (rows = hidden size, columns = learning rate; or any two axes) from the
    store, one table per value of the other axes that vary."""
    results = _selected(db, rows, cols, where)
    click.echo(render_tables(build_tables(results, metric, rows, cols, best_over), fmt, stat))


def _stored(db, curves: bool = False):
    results = load_results(db, with_curves=curves)
    if not results:
        raise LstmSweepError(f"{db} holds no trials yet; run `lstm-sweep run --db {db}` first")
    return results


def _selected(db, rows: str, cols: str, where, curves: bool = False):
    """The stored trials ``--where`` picks, for a layout of ``--rows`` x ``--cols`` (the axes
    checked before the store is read)."""
    api.check_axes(rows, cols)
    return api.select(_stored(db, curves), where)


def _start_server(db, host: str, port: int, rows: str = "hidden", cols: str = "lr", where=()):
    """Start the live page of ``db``; warn when it listens beyond this machine (decided from
    the address it is bound to: ``127.1`` is this machine, ``0`` is every address)."""
    from pathlib import Path

    path = Path(db)
    if path.exists() and not path.is_file():
        raise LstmSweepError(f"{db} is not a file (a folder, or a device); pass --db with the "
                             "store's file")
    server = api.serve_store(db, host, port, rows=rows, cols=cols, where=where)
    if not server.loopback:
        click.echo(printable(f"warning: listening on {server.host}: anyone who can reach this "
                             "machine can read the page (it is read-only, with no login); "
                             "the default 127.0.0.1 keeps it to this machine"), err=True)
    click.echo(printable(f"Watching {db} at {server.url}"), err=True)
    click.echo(server.url)
    sys.stdout.flush()
    return server


@cli.command("serve")
@db_option
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (one that is not this machine's loopback gives a "
                   "warning: the page has no login).")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
              help="Port (0: any free port; the URL is printed).")
@axes_options
def serve_cmd(db, host, port, rows, cols, where) -> None:
    """Serve a live page of the store (read-only) while sweeps write it: tables as heatmaps,
    curves, accuracy against time, findings, the trial list, progress. Ctrl-C stops it."""
    api.check_axes(rows, cols)
    server = _start_server(db, host, port, rows, cols, where)
    try:
        while not _TERMINATED:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        server.close()


@cli.command("findings")
@db_option
@axes_options
def findings_cmd(db, rows, cols, where) -> None:
    """Short sentences computed from the stored results, each with its numbers: per table,
    then across the tables."""
    results = _selected(db, rows, cols, where)
    click.echo(api.render_findings(api.findings(results, rows, cols)))


@cli.command("compare")
@db_option
@click.option("--reference", default="hw2", show_default=True,
              help="Published table to compare with (hw2 = the seed's Table 1).")
def compare_cmd(db, reference) -> None:
    """Per cell: the published value vs ours (mean ± std), the difference, and a summary."""
    click.echo(api.render_comparison(api.compare(_stored(db), reference)))


@cli.command("plot")
@db_option
@click.option("--kind", "kinds", type=click.Choice(("all", *api.PLOT_KINDS)),
              multiple=True, default=("all",), show_default=True, help="Which plots (repeatable).")
@click.option("--out", "out_dir", default="plots", show_default=True, type=click.Path(),
              help="Folder for the image files.")
@click.option("--format", "fmt", type=click.Choice(("png", "svg")), default="png",
              show_default=True)
@click.option("--hidden", type=click.IntRange(1, LIMITS["hidden"]),
              help="Curves of this width (a row).")
@click.option("--lr", type=LRS, help="Curves of this learning rate (a column).")
@click.option("--overwrite", is_flag=True,
              help="Replace files in --out that are not images (never a results store).")
@axes_options
def plot_cmd(db, kinds, out_dir, fmt, hidden, lr, overwrite, rows, cols, where) -> None:
    """Heatmap, accuracy vs time (Pareto front), learning curves, best rate per width, and
    learning-rate transfer across widths (one column per parametrization): one
    file per kind and table (facet)."""
    if lr is not None and len(lr) != 1:
        raise click.BadParameter("give one learning rate", param_hint="'--lr'")
    lr = lr[0] if lr else None
    chosen = api.PLOT_KINDS if "all" in kinds else tuple(dict.fromkeys(kinds))
    results = _selected(db, rows, cols, where, curves=True)
    specs, missing = api.plan_figures(results, chosen, hidden, lr, rows, cols)
    folder = api.check_folder(out_dir)
    if folder.exists():
        for spec in specs:  # refuse before drawing anything
            api.check_target(folder / f"{spec.name}.{fmt}", fmt, overwrite=overwrite,
                             protect=[db])
    folder = api.output_folder(out_dir)
    for spec in specs:
        click.echo(printable(api.save_figure(spec.draw(), folder / f"{spec.name}.{fmt}",
                                              overwrite=overwrite)))
    for name, why in missing.items():
        click.echo(printable(f"{name}: nothing to show ({why})"), err=True)


@cli.command("report")
@db_option
@click.option("--out", default="report.html", show_default=True, type=click.Path(),
              help="The HTML file to write.")
@click.option("--reference", default="hw2", show_default=True)
@click.option("--overwrite", is_flag=True,
              help="Replace --out even if it is not an HTML page (never a results store).")
@axes_options
def report_cmd(db, out, reference, overwrite, rows, cols, where) -> None:
    """One self-contained HTML file: tables, plots, findings, comparison, environment."""
    api.check_axes(rows, cols)
    api.load_reference(reference)  # an unknown reference: say so before any work
    api.check_target(out, "html", overwrite=overwrite, protect=[db])  # refuse before the work
    results = _selected(db, rows, cols, where, curves=True)
    with api.Store(db, readonly=True) as store:
        environments = store.environments()
    text = api.render_html(results, environments, reference, rows=rows, cols=cols)
    path = api.write_output(out, text, "html", overwrite=overwrite, protect=[db])
    click.echo(printable(f"{path} ({len(text) // 1024} KB)"))


@cli.command("export")
@db_option
@click.option("--format", "fmt", type=click.Choice(EXPORT_FORMATS), default="csv",
              show_default=True)
@click.option("--curves", is_flag=True,
              help="One row per learning-curve point (long form) instead of one per trial.")
@click.option("--out", type=click.Path(), help="File to write  [default: standard output]")
@click.option("--overwrite", is_flag=True,
              help="Replace --out even if it is not an export (never a results store).")
def export_cmd(db, fmt, curves, out, overwrite) -> None:
    """Every trial as data: configuration, status, metrics, times (CSV or JSON lines)."""
    if out is not None:
        api.check_target(out, fmt, overwrite=overwrite, protect=[db])
    text = api.render_export(_stored(db, curves=curves), fmt, curves)
    if out is None:
        click.echo(text, nl=False)
    else:
        path = api.write_output(out, text, fmt, overwrite=overwrite, protect=[db])
        click.echo(printable(f"{path} ({text.count(chr(10)) - (fmt == 'csv')} rows)"), err=True)


@cli.command("check")
@db_option
def check_cmd(db) -> None:
    """Check a store (SQLite integrity, schema, every row) without writing to it.

    Exit code 0: sound; 1: problems found (listed); 2: not a store at all."""
    problems = api.check_store(db)
    if problems:
        for p in problems[:50]:
            click.echo(f"problem: {printable(p)}")
        if len(problems) > 50:
            click.echo(f"... and {len(problems) - 50} more")
        click.echo(printable(f"{db}: {len(problems)} problem{'s' if len(problems) > 1 else ''}"),
                   err=True)
        raise SystemExit(1)
    with api.Store(db, readonly=True) as store:
        results = store.results(with_curves=True)
        try:
            timeout = api.claim_timeout()
        except LstmSweepError:  # a bad $LSTM_SWEEP_CLAIM_TIMEOUT is run's to refuse
            timeout = 60.0
        live = [c for c in store.claims() if c.live(time.time(), timeout)]
    points = sum(len(r.curve) for r in results)
    held = f", {len(live)} trials claimed by running drivers" if live else ""
    click.echo(printable(f"{db}: ok — {len(results)} trials, {points} curve points, schema "
                          f"{store.schema_version}{held}"))


@cli.command()
@click.option("--data-dir", type=click.Path(file_okay=False),
              help="Check this folder instead of finding/downloading the dataset.")
@click.option("--dataset", default="mnist", show_default=True, type=click.Choice(DATASETS),
              help="Which known dataset to find or download.")
def data(data_dir, dataset) -> None:
    """Find (or download into the cache) the dataset and print where it is and what it holds."""
    ds = _load_data(data_dir, sys.stderr.isatty(), dataset)
    click.echo(printable(f"{ds.name}: {_shown(ds.source)}"))
    click.echo(f"train {len(ds.train)}, validation {len(ds.validation)}, test {len(ds.test)}")


_TERMINATED: list[int] = []  # the SIGTERMs received


def _terminate(signum, frame):
    # SIGTERM ends the sweep as Ctrl-C does: claims released, exit 130. Python drops an
    # exception raised while a finalizer runs ("Exception ignored in ..."), so the signal is
    # also noted, and the sweep's callbacks and main() act on the note.
    _TERMINATED.append(signum)
    raise KeyboardInterrupt


def _stop_if_terminated() -> None:
    if _TERMINATED:
        raise KeyboardInterrupt


RESUMABLE = ("run",)  # the commands whose finished work is saved as it goes


def interrupted_message(args: list[str]) -> str:
    """What Ctrl-C (or SIGTERM) says: how to resume where there is something to resume (``run``:
    its finished trials are saved), else just that it stopped (a read-only command)."""
    command = next((a for a in args if not a.startswith("-")), None)  # group options are flags
    if command in RESUMABLE:
        return "Interrupted: finished trials are saved; run the same command to resume."
    return "Interrupted."


def _error(message: object) -> None:
    """The one ``Error: ...`` line: on stderr, one line whatever the message holds."""
    click.echo(f"Error: {printable(message)}", err=True)


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI, turning user errors into ``Error: ...`` and exit code 2."""
    args = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in args
    previous = None
    try:
        previous = signal.signal(signal.SIGTERM, _terminate)
    except ValueError:  # not the main thread
        pass
    _TERMINATED.clear()
    try:
        cli.main(args=argv, prog_name="lstm-sweep", standalone_mode=False)
        _stop_if_terminated()  # a SIGTERM whose exception a finalizer swallowed
    except (click.exceptions.Abort, KeyboardInterrupt):  # click turns Ctrl-C into Abort
        click.echo(interrupted_message(args), err=True)
        return 130
    except SystemExit as e:  # `check` found problems
        return e.code if isinstance(e.code, int) else 1
    except BrokenPipeError:  # `lstm-sweep table | head`: the reader has gone
        sys.stderr.close()
        return 0
    except OSError as e:
        if debug:
            raise
        _error(f"{e.strerror or e}" + (f": {e.filename}" if e.filename else ""))
        return 2
    except click.ClickException as e:
        if debug:
            raise
        _error(e.format_message())
        return 2
    except LstmSweepError as e:
        if debug:
            raise
        _error(e)
        return 2
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return 0


if __name__ == "__main__":
    sys.exit(main())
