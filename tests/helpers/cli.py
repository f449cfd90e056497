"""The CLI run in this process, with everything it says captured; a folder's files as bytes."""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from pathlib import Path


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
    # Imported here, not at the top: a test module that only needs `trial` or `snapshot` should
    # not depend on the whole CLI importing.
    from lstm_sweep.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return Outcome(code, out.getvalue(), err.getvalue())


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` with its bytes (to prove nothing changed)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


REPEATABLE = ("--opt", "--where", "--allow-host")  # options meant to be given many times


def last_wins(*args) -> list:
    """``args`` with each option given once, its last value kept: a test's base command with
    some of its options overridden (the CLI itself refuses an option given twice)."""
    parts: list[tuple[str | None, list]] = []
    i = 0
    while i < len(args):
        a = str(args[i])
        if a.startswith("--") and i + 1 < len(args) and not str(args[i + 1]).startswith("--"):
            parts.append((a, [args[i], args[i + 1]]))
            i += 2
        else:
            parts.append((a if a.startswith("--") else None, [args[i]]))
            i += 1
    last = {name: k for k, (name, _) in enumerate(parts) if name}
    return [
        token
        for k, (name, tokens) in enumerate(parts)
        if name is None or name in REPEATABLE or last[name] == k
        for token in tokens
    ]
