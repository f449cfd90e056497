"""Claims: which driver is training which trial right now, so that several drivers on one store
train each trial once.

Before training a trial a driver claims it (a row with its host, pid, the pid's start time and a
heartbeat); other drivers skip claimed trials; the claim goes with the trial's result in one
transaction, or when the driver ends (normally, by Ctrl-C or by an error). A :class:`Heartbeat`
thread keeps a driver's claims fresh. A claim is *stale*, and taken over, when its heartbeat is
older than the timeout, when it lies in the future by more than the timeout (a clock cannot be
trusted that far, and a claim must not outlive every bound), or when its pid no longer runs on
this host (or now belongs to another process).
"""

from __future__ import annotations

import enum
import logging
import math
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..errors import ConfigError
from ..study import Status
from .core import StoreFile, first
from .schema import CLAIM_COLUMNS, claim_problem

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 60.0
# A timeout shorter than a few heartbeats takes live claims over (two drivers then train one
# trial); longer than a day, a driver killed on another host blocks its trials for days.
MIN_TIMEOUT, MAX_TIMEOUT = 5.0, 86_400.0


def _process_start(pid: int) -> str | None:
    """The start time of process ``pid`` (clock ticks since boot), None if it is not running."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except (OverflowError, ValueError):
        return False
    return True


class Driver:
    """Who is running a sweep: a random id, this host, this process (and its start time)."""

    def __init__(self) -> None:
        self.id = uuid.uuid4().hex
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self.pid_start = _process_start(self.pid)
        self.started_at = time.time()

    def __repr__(self) -> str:
        return f"driver {self.host}:{self.pid}"


class StaleKind(enum.Enum):
    """Why a claim no longer holds its trial (code decides on these; people read
    :attr:`Staleness.text`)."""

    BAD_ROW = "bad row"  # a row :func:`.schema.claim_problem` refuses
    SILENT = "silent"  # no heartbeat for longer than the timeout
    FUTURE = "future"  # a heartbeat in the future by more than the timeout (a clock is wrong)
    GONE = "gone"  # its process no longer runs on this host
    REUSED = "reused"  # its pid now belongs to another process


@dataclass(frozen=True)
class Staleness:
    """A claim gone stale: its ``kind``, and ``text`` that says so to people."""

    kind: StaleKind
    text: str

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Claim:
    """One row of the claims table: trial ``key`` is being trained by ``driver`` (a process
    ``pid`` on ``host``, started at ``pid_start``) since ``claimed_at``; alive at ``heartbeat``."""

    key: str
    driver: str
    host: str
    pid: int
    pid_start: str | None
    claimed_at: float
    heartbeat: float

    @classmethod
    def from_row(cls, row: Sequence) -> Claim:
        return cls(*row)

    @property
    def who(self) -> str:
        return f"{self.host}:{self.pid}"

    def staleness(self, now: float, timeout: float) -> Staleness | None:
        """Why this claim no longer holds its trial (None: its driver is at work). A row that
        :func:`.schema.claim_problem` refuses holds nothing (``check`` reports it)."""
        problem = claim_problem(tuple(getattr(self, c) for c in CLAIM_COLUMNS))
        if problem is not None:
            return Staleness(StaleKind.BAD_ROW, problem)
        beat = self.heartbeat
        if now - beat > timeout:
            return Staleness(
                StaleKind.SILENT, f"no heartbeat for {now - beat:,.0f} s (timeout {timeout:g} s)"
            )
        if beat - now > timeout:
            return Staleness(StaleKind.FUTURE, f"its heartbeat lies {beat - now:,.0f} s in the future")
        if self.host == socket.gethostname():
            if not _pid_alive(self.pid):
                return Staleness(StaleKind.GONE, f"process {self.pid} no longer runs on this host")
            if self.pid_start is not None and _process_start(self.pid) not in (None, self.pid_start):
                return Staleness(StaleKind.REUSED, f"pid {self.pid} now belongs to another process")
        return None

    def stale_because(self, now: float, timeout: float) -> str | None:
        """Why this claim no longer holds its trial, in words (None: its driver is at work);
        :meth:`staleness` gives its kind too."""
        why = self.staleness(now, timeout)
        return None if why is None else why.text

    def live(self, now: float, timeout: float) -> bool:
        return self.staleness(now, timeout) is None


def claim_timeout() -> float:
    """Seconds without a heartbeat after which a claim is taken over: ``$LSTM_SWEEP_CLAIM_TIMEOUT``
    (5 to 86,400), default 60.

    Raises:
        ConfigError: the variable is set to something else (the message says what it takes).
    """
    text = os.environ.get("LSTM_SWEEP_CLAIM_TIMEOUT")
    if text is None or not text.strip():
        return DEFAULT_TIMEOUT
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and MIN_TIMEOUT <= value <= MAX_TIMEOUT):
        raise ConfigError(
            f"$LSTM_SWEEP_CLAIM_TIMEOUT={text!r:.40} is not a number of seconds "
            f"from {MIN_TIMEOUT:g} to {MAX_TIMEOUT:,.0f}; unset it for the default "
            f"{DEFAULT_TIMEOUT:g}"
        )
    return value


def heartbeat_interval(timeout: float) -> float:
    """How often a driver refreshes its claims: four beats per timeout, at most every 10 s."""
    return min(10.0, timeout / 4)


# --------------------------------------------------------------------------- on a store


def read_claims(store: StoreFile) -> list[Claim]:
    """Every claim in ``store`` (none in a version-1 store, which has no claims table)."""
    if store.schema_version < 2 or not store.has_table("claims"):
        return []
    rows = store.query(f"SELECT {', '.join(CLAIM_COLUMNS)} FROM claims", doing="read claims")
    return [Claim.from_row(r) for r in rows]


def claim(
    store: StoreFile,
    keys: Sequence[str],
    driver: Driver,
    retry: frozenset[Status] = frozenset(),
    timeout: float | None = None,
) -> list[str]:
    """Claim, in one transaction, those of ``keys`` that still need training: not stored
    (or stored with a status in ``retry`` before ``driver`` started) and not claimed by a
    live driver. Stale claims are taken over.

    Returns:
        The keys now claimed by ``driver``, in the order given.
    """
    timeout = claim_timeout() if timeout is None else timeout
    retried = {str(s) for s in retry}
    now = time.time()
    out = []
    with store.transaction("claim trials") as conn:
        for key in keys:
            stored = first(conn, "SELECT status, finished_at FROM trials WHERE key = ?", (key,))
            if stored is not None and not (stored[0] in retried and stored[1] < driver.started_at):
                continue
            row = first(conn, f"SELECT {', '.join(CLAIM_COLUMNS)} FROM claims WHERE key = ?", (key,))
            if row is not None:
                held = Claim.from_row(row)
                if held.driver != driver.id and held.live(now, timeout):
                    continue
            conn.execute(
                "INSERT OR REPLACE INTO claims VALUES (?, ?, ?, ?, ?, ?, ?)",
                (key, driver.id, driver.host, driver.pid, driver.pid_start, now, now),
            )
            out.append(key)
    return out


def held_elsewhere(
    store: StoreFile, keys: Sequence[str], driver: Driver, timeout: float | None = None
) -> dict[str, str]:
    """Those of ``keys`` claimed by another live driver: key -> ``host:pid``."""
    timeout = claim_timeout() if timeout is None else timeout
    now, wanted = time.time(), set(keys)
    return {
        c.key: c.who
        for c in read_claims(store)
        if c.key in wanted and c.driver != driver.id and c.live(now, timeout)
    }


def beat(store: StoreFile, driver: Driver) -> None:
    """Mark ``driver``'s claims as alive now."""
    with store.transaction("update claims") as conn:
        conn.execute("UPDATE claims SET heartbeat = ? WHERE driver = ?", (time.time(), driver.id))


def release(store: StoreFile, driver: Driver) -> None:
    """End every claim of ``driver`` (its sweep is over, whatever the reason)."""
    with store.transaction("update claims") as conn:
        conn.execute("DELETE FROM claims WHERE driver = ?", (driver.id,))


class Heartbeat:
    """Keeps a driver's claims alive from a thread of its own, every ``interval`` seconds,
    until the block ends. ``open_store`` opens the thread's own connection to the store."""

    def __init__(self, open_store: Callable[[], StoreFile], driver: Driver, interval: float):
        self.open_store, self.driver, self.interval = open_store, driver, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="lstm-sweep-heartbeat", daemon=True)

    def _beat(self) -> None:
        try:
            store = self.open_store()
        except Exception as e:  # noqa: BLE001 - the sweep goes on; its claims may be taken over
            log.warning("heartbeat: cannot open the store (%s)", e)
            return
        with store:
            while not self._stop.wait(self.interval):
                try:
                    beat(store, self.driver)
                except Exception as e:  # noqa: BLE001 - a missed beat is not fatal
                    log.warning("heartbeat: %s", e)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
