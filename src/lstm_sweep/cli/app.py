"""The ``lstm-sweep`` group: its own options, its commands (one module per command or family),
and :func:`main`, the entry point."""

from __future__ import annotations

import logging
import sys

import click

from . import options as o
from .checks import check_cmd, data
from .coordcheck import coord_check_cmd
from .flags import for_cli
from .guard import guarded
from .once import refuse_repeats
from .presets import presets_cmd
from .reports import compare_cmd, export_cmd, findings_cmd, plot_cmd, report_cmd, table
from .search import search
from .serve import serve_cmd
from .sweeps import plan_cmd, run
from .transfer import transfer

COMMANDS = (
    run,
    search,
    transfer,
    plan_cmd,
    presets_cmd,
    table,
    findings_cmd,
    compare_cmd,
    plot_cmd,
    report_cmd,
    export_cmd,
    serve_cmd,
    coord_check_cmd,
    check_cmd,
    data,
)


@click.group(
    context_settings={"help_option_names": ["-h", "--help"]},  # and HELP_OPTIONS below
    epilog=o.examples(
        "lstm-sweep run --preset quick    # train, store, print Table 1",
        "lstm-sweep table --format markdown",
        "lstm-sweep report --out report.html",
        "lstm-sweep COMMAND --help        # each command's options",
    ),
)
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logs.")
@click.version_option(package_name="lstm-sweep")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """How an LSTM's width and its Adam learning rate, together, decide what it learns.

    Trains an LSTM that reads MNIST digits row by row over a grid of hidden sizes x learning
    rates (the 2017 HW2 study, faithfully), stores every trial in SQLite, and prints Table 1.
    """
    ctx.obj = {"debug": debug}
    handler = logging.StreamHandler()
    handler.setFormatter(_FlagsFormatter("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING, handlers=[handler])


class _FlagsFormatter(logging.Formatter):
    """A library warning names arguments (``fallback_fp32=True``); the CLI's, their flags."""

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - logging's name
        return for_cli(super().formatMessage(record))


HELP_OPTIONS = {"help_option_names": ["-h", "--help"]}

for command in COMMANDS:
    # -h as well as --help on every command, also when one is invoked on its own (a test's
    # CliRunner): click keeps the first help option it makes for a command
    command.context_settings = {**HELP_OPTIONS, **command.context_settings}
    cli.add_command(refuse_repeats(command))


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI, turning user errors into ``Error: ...`` and exit code 2."""
    args = sys.argv[1:] if argv is None else list(argv)
    return guarded(lambda: cli.main(args=argv, prog_name="lstm-sweep", standalone_mode=False), args)
