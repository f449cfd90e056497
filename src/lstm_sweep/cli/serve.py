"""``serve``: the live page of a store (also started by ``run --serve``)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

import lstm_sweep as api
from lstm_sweep import LstmSweepError
from lstm_sweep.reporting import check_axes, printable

from . import options as o
from .guard import TERMINATED


def start_server(
    db, host: str, port: int, rows: str = "hidden", cols: str = "lr", where=(), allow=(), data: bool = True
):
    """Start the live page of ``db``; warn when it listens beyond this machine (decided from
    the address it is bound to: ``127.1`` is this machine, ``0`` is every address). The URL is
    ``serve``'s data (stdout, for a script to read) but only a note beside another command's
    data (``run --serve``: stderr, so that ``run --format csv > out.csv`` holds only the CSV)."""
    path = Path(db)
    if path.exists() and not path.is_file():
        raise LstmSweepError(f"{db} is not a file (a folder, or a device); pass --db with the store's file")
    server = api.serve_store(db, host, port, rows=rows, cols=cols, where=where, allow_hosts=allow)
    if not server.loopback:
        click.echo(
            printable(
                f"warning: listening on {server.host}: anyone who can reach this "
                "machine can read the page (it is read-only, with no login); "
                "the default 127.0.0.1 keeps it to this machine"
            ),
            err=True,
        )
    click.echo(printable(f"Watching {db} at {server.url}"), err=True)
    if data:
        click.echo(server.url)
        sys.stdout.flush()
    return server


@click.command(
    "serve",
    epilog=o.examples(
        "lstm-sweep serve                                # http://127.0.0.1:8000, lstm-sweep.db",
        "lstm-sweep serve --db hw2.db --port 0 --rows hidden --cols cell --where optimizer=adam",
        "lstm-sweep run --preset hw2 --serve 8000        # the same page while a sweep runs",
    ),
)
@o.db
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on (one that is not this machine's loopback gives a "
    "warning: the page has no login).",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8000,
    show_default=True,
    help="Port (0: any free port; the URL is printed).",
)
@click.option(
    "--allow-host",
    "allow",
    multiple=True,
    metavar="NAME",
    help="A name the page may be reached by besides this machine's own (any IP address, "
    "localhost, and where --host is wider than loopback the host name, are always allowed): "
    "example.org, .example.org for every name under it, * for any (behind a proxy that checks "
    "names). Repeatable or comma-separated.",
)
@o.axes_options
def serve_cmd(db, host, port, allow, rows, cols, where) -> None:
    """Serve a live page of the store (read-only) while sweeps write it: tables as heatmaps,
    curves, accuracy against time, findings, the trial list, progress. Ctrl-C stops it."""
    check_axes(rows, cols)
    names = [n.strip() for value in allow for n in value.split(",") if n.strip()]
    server = start_server(db, host, port, rows, cols, where, names)
    try:
        while not TERMINATED:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
