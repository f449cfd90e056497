"""Stored strings made safe to show: a dataset name or an error text in a store may hold any
character (the store can be hand-edited), and what reaches a terminal, a text table or a
spreadsheet must not act on it.

- :func:`printable`: every character Python's ``repr`` would escape (control characters such as
  ``\\x1b``, ``\\r``, ``\\n``, C1 controls such as ``\\x9b``, zero-width and bidi overrides such
  as ``\\u202e``) is written as its escape, so an ANSI sequence is shown, never obeyed, and one
  record stays one line.
- :func:`csv_cell`: a text cell that a spreadsheet would run as a formula (``=``, ``+``, ``-``,
  ``@``, tab, CR, LF first) gets a leading ``'``, the standard neutralisation; a number
  (``-0.5``) is left a number.
"""

from __future__ import annotations

import re

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")
# a number as a spreadsheet reads one: stays as it is even where it starts with + or -
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def printable(text: object) -> str:
    """``text`` (``str()`` of it) with every non-printable character escaped as ``repr``
    escapes it (``\\x1b``, ``\\n``, ``\\u202e``); printable text is returned unchanged."""
    text = str(text)
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


def csv_cell(text: str) -> str:
    """A CSV text cell that no spreadsheet runs: printable (:func:`printable`), with ``'`` in
    front of a leading ``=``, ``+``, ``-``, ``@``, tab, CR or LF, unless it is a number."""
    text = printable(text)
    if text.startswith(FORMULA_STARTS) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text
