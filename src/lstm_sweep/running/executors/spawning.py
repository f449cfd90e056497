"""Whether worker processes can be spawned from the program that asked for a sweep.

A spawned worker process imports the program's main module before it runs anything (that is
how ``spawn`` finds the functions it is sent). Two programs break that:

- a script that starts the sweep outside ``if __name__ == "__main__":`` — each worker would
  start the sweep again while it starts (Python refuses, the worker dies, and the driver waited
  for the trials it had claimed: a silent hang);
- a program piped on stdin (``python - < script.py``): it has no file to import, and each
  worker dies looking for ``<stdin>``. (``python -c`` and notebooks have none either, and
  ``spawn`` then imports nothing: they work.)

:func:`spawn_problem` finds both in the driver, before any worker starts; the local executor
then trains in its own process (one unit at a time) and says how to get the side-by-side
workers back. :func:`refuse_in_worker_start` is the second line: a sweep started while a worker
process is starting is refused at once, before it claims anything.
"""

from __future__ import annotations

import ast
import multiprocessing
import os
import sys
from functools import lru_cache

from ...errors import ConfigError

GUARD = 'if __name__ == "__main__":'


def spawn_problem() -> str | None:
    """Why worker processes cannot be spawned from this program, or None when they can."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if main is None or path is None:  # an interactive session, a notebook: nothing re-imported
        return None
    if getattr(getattr(main, "__spec__", None), "name", None) is None and not os.path.isfile(path):
        return f"the program came from {path} (not a file that a worker process can import)"
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_name == "<module>" and frame.f_globals is vars(main):
            line = frame.f_lineno
            if line is not None and not _guarded(os.path.abspath(path), line):
                return (
                    f"{os.path.basename(path)} starts the sweep at line {line} outside "
                    f"`{GUARD}` (a worker process imports the script, and would start it again)"
                )
            return None
        frame = frame.f_back  # type: ignore[assignment]
    return None


def refuse_in_worker_start() -> None:
    """Raise ConfigError when called while a spawned worker process imports the main module (a
    script without the guard), before the sweep touches its store."""
    if getattr(multiprocessing.current_process(), "_inheriting", False):
        raise ConfigError(
            f"a sweep was started while a worker process was starting: put the script's sweep under `{GUARD}`"
        )


@lru_cache(maxsize=16)
def _guard_lines(path: str) -> tuple[tuple[int, int], ...] | None:
    """The line spans of the bodies of ``if __name__ == "__main__":`` blocks of ``path`` (at
    its top, or in any block there: ``try``, ``with``, ``if``, a loop; not inside a function),
    or None when it cannot be read."""
    try:
        with open(path, "rb") as f:
            tree = ast.parse(f.read(), filename=path)
    except (OSError, SyntaxError, ValueError):
        return None
    spans: list[tuple[int, int]] = []

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                continue  # their bodies run when called: the call's line is what counts
            if isinstance(node, ast.If) and _is_guard(node.test):
                spans.append((node.body[0].lineno, node.body[-1].end_lineno or node.body[-1].lineno))
                visit(node.orelse)
                continue
            for name in ("body", "orelse", "finalbody"):  # if, try, with, for, while: their blocks
                block = getattr(node, name, None)
                if isinstance(block, list):
                    visit(block)
            for handler in getattr(node, "handlers", None) or ():
                visit(handler.body)

    visit(tree.body)
    return tuple(spans)


def _is_guard(test: ast.expr) -> bool:
    """``__name__ == "__main__"`` (either way round), alone or one of an ``and``'s terms."""
    if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And):
        return any(_is_guard(v) for v in test.values)
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq)):
        return False
    sides = [test.left, test.comparators[0]]
    names = [s.id for s in sides if isinstance(s, ast.Name)]
    texts = [s.value for s in sides if isinstance(s, ast.Constant)]
    return names == ["__name__"] and texts == ["__main__"]


def _guarded(path: str, line: int) -> bool:
    """Whether ``line`` of ``path`` is inside a main guard (a file that cannot be read: assume
    it is, as multiprocessing would find out itself)."""
    spans = _guard_lines(path)
    return spans is None or any(start <= line <= end for start, end in spans)
