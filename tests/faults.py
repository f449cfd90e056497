"""Helpers for the fault tests: run the CLI in-process and capture everything it says."""

from __future__ import annotations

import contextlib
import io
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from lstm_sweep.cli import main


@dataclass
class Outcome:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err

    def error_line(self) -> str:
        """The one ``Error: ...`` line of a refusal: exit 2, the last line on stderr, the only
        one of its kind (a refusal that the plan explains comes after the plan's table)."""
        lines = self.err.strip().splitlines()
        assert self.code == 2, f"exit {self.code}: {self.text}"
        assert lines and lines[-1].startswith("Error: "), self.err
        assert sum(line.startswith("Error") for line in lines) == 1, self.err
        assert "Traceback" not in self.text
        return lines[-1]


def cli(*args: str) -> Outcome:
    """``lstm-sweep ARGS`` in this process; an exception escaping ``main`` fails the test (that
    is what a user would see as a traceback)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return Outcome(code, out.getvalue(), err.getvalue())


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` with its bytes (to prove nothing changed)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def can_unshare() -> bool:
    """Whether this machine lets us make a private mount namespace (a real tmpfs, a real
    read-only bind mount) as the tests need."""
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-rm", "true"], capture_output=True)
    return probe.returncode == 0


def in_namespace(script: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run a shell ``script`` as root of a private mount namespace (mounts vanish with it)."""
    return subprocess.run(["unshare", "-rm", "sh", "-c", script], capture_output=True, text=True,
                          timeout=timeout)
