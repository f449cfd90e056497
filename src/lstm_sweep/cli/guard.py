"""How a command ends, in one place: errors meant for users, Ctrl-C and SIGTERM.

Errors meant for users (bad input, bad files, a bad store) print one ``Error: ...`` line on
stderr and exit with code 2; ``--debug`` shows the traceback instead. Ctrl-C (or SIGTERM)
exits 130 and says how to resume where there is something to resume.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable

import click

from lstm_sweep import LstmSweepError
from lstm_sweep.reporting import printable

from .flags import for_cli

# The commands whose finished work is saved as it goes, and how to go on after an interruption.
RESUMABLE = {
    "run": "finished trials are saved; run the same command to resume.",
    "search": "finished trials and the rungs' results are saved; run the same `lstm-sweep "
    "search` command to resume (it replays its decisions and continues from the "
    "checkpoints).",
    "transfer": "finished trials and the tuning search's rungs are saved; run the same "
    "`lstm-sweep transfer` command to resume (it replays the search and skips stored verify trials).",
}

TERMINATED: list[int] = []  # the SIGTERMs received


def _terminate(signum, frame):
    # SIGTERM ends the sweep as Ctrl-C does: claims released, exit 130. Python drops an
    # exception raised while a finalizer runs ("Exception ignored in ..."), so the signal is
    # also noted, and the sweep's callbacks and guarded() act on the note.
    TERMINATED.append(signum)
    raise KeyboardInterrupt


def stop_if_terminated() -> None:
    """Raise KeyboardInterrupt if a SIGTERM came (its first exception may have been dropped)."""
    if TERMINATED:
        raise KeyboardInterrupt


def interrupted_message(args: list[str]) -> str:
    """What Ctrl-C (or SIGTERM) says: how to resume where there is something to resume (``run``,
    ``search``: their finished trials are saved), else just that it stopped."""
    command = next((a for a in args if not a.startswith("-")), None)  # group options are flags
    if command in RESUMABLE:
        return f"Interrupted: {RESUMABLE[command]}"
    return "Interrupted."


def error(message: object) -> None:
    """The one ``Error: ...`` line: on stderr, one line whatever the message holds. A library
    error names the arguments it refuses (``store=``); the line names their flags (``--db``)."""
    text = for_cli(str(message)) if isinstance(message, LstmSweepError) else message
    click.echo(f"Error: {printable(text)}", err=True)


def guarded(run: Callable[[], object], args: list[str]) -> int:
    """Run the CLI (``run``) for ``args``, turning user errors into ``Error: ...`` and exit code
    2, Ctrl-C and SIGTERM into exit code 130; the exit code."""
    debug = "--debug" in args
    previous = None
    try:
        previous = signal.signal(signal.SIGTERM, _terminate)
    except ValueError:  # not the main thread
        pass
    TERMINATED.clear()
    try:
        run()
        stop_if_terminated()  # a SIGTERM whose exception a finalizer swallowed
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
        error(f"{e.strerror or e}" + (f": {e.filename}" if e.filename else ""))
        return 2
    except (click.ClickException, LstmSweepError) as e:
        if debug:
            raise
        error(e.format_message() if isinstance(e, click.ClickException) else e)
        return 2
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return 0
