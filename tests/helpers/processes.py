"""Child processes of the tests: the console scripts of the environment running them, a free
port, and the keyword arguments that let a child be interrupted as if by Ctrl-C."""

from __future__ import annotations

import signal
import socket
import sys
from pathlib import Path

# The installed console scripts of the environment running the tests (not whatever is on PATH).
LSTM_SWEEP = str(Path(sys.executable).with_name("lstm-sweep"))
RAY = str(Path(sys.executable).with_name("ray"))


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


# For child processes that a test interrupts with SIGINT (as Ctrl-C): a shell that started the
# tests in the background hands its children SIGINT *ignored*, and Python keeps it ignored.
CTRL_C_ABLE = {"preexec_fn": _default_sigint}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on at the moment of asking."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
