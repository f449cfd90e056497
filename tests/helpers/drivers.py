"""Helpers for tests of real driver processes: wait for what a driver prints (an event), and
keep a claim's heartbeat fresh for as long as a test needs it (as a live driver would)."""

from __future__ import annotations

import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable

import pytest


class Lines:
    """A process's stderr read line by line on a thread of its own, so that a test can wait for
    a line (an event) while the process goes on."""

    def __init__(self, proc: subprocess.Popen):
        self.proc, self.lines, self._new = proc, [], threading.Condition()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self):
        for line in self.proc.stderr:
            with self._new:
                self.lines.append(line)
                self._new.notify_all()
        with self._new:
            self.lines.append(None)  # end of the stream
            self._new.notify_all()

    def wait_for(self, text: str, limit: float = 600) -> str:
        """The first line holding ``text``, once it is printed (``limit``: a hang, not a speed)."""
        give_up = time.monotonic() + limit
        with self._new:
            while True:
                for line in self.lines:
                    if line is None:
                        pytest.fail(
                            f"the process ended without printing {text!r}: "
                            + "".join(x for x in self.lines if x)[-3000:]
                        )
                    if text in line:
                        return line
                if not self._new.wait(timeout=max(0.0, give_up - time.monotonic())):
                    pytest.fail(f"no line with {text!r} in {limit} s")

    def text(self) -> str:
        self._thread.join(timeout=600)
        return "".join(x for x in self.lines if x)


class ClaimBeater:
    """Within the block, every ``every`` seconds, set the heartbeat of the claims of ``pid`` in
    store ``db`` to ``value()`` (default: now), as that driver's heartbeat thread would. After
    the block, :attr:`last` is the last heartbeat actually written: a takeover cannot come before
    ``last + timeout``, however slow the machine (a beat that waited for SQLite's lock was
    computed before the wait)."""

    def __init__(self, db, pid: int, value: Callable[[], float] = time.time, every: float = 0.5):
        self.db, self.pid, self.value, self.every = db, pid, value, every
        self.last = -1.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _beat(self) -> None:
        conn = sqlite3.connect(self.db, timeout=600)
        try:
            with conn:
                beat = self.value()
                conn.execute("UPDATE claims SET heartbeat = ? WHERE pid = ?", (beat, self.pid))
            self.last = max(self.last, beat)
        finally:
            conn.close()

    def _run(self) -> None:
        while True:
            self._beat()
            if self._stop.wait(self.every):
                return

    def __enter__(self) -> ClaimBeater:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=600)
