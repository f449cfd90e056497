"""Reporting: stored results into tables (:mod:`.tables`, laid out on any two
:mod:`.axes`), findings (:mod:`.findings`), figures (:mod:`.plots`), the HTML report
(:mod:`.html`), exports (:mod:`.export`), and files written safely (:mod:`.outputs`). Compute,
then render. Never imports torch, training or running: a report starts fast and runs anywhere
the store can be read.

What other layers use (the live page, :mod:`lstm_sweep.serve`) is imported from here."""

from .axes import AXES, COLS, ROWS, check_axes, facet, facet_key, select
from .checks import pairs
from .findings import findings
from .tables import Table, build_tables, cell_text, describe, facet_name, varied_fields
from .text import printable

__all__ = ["AXES", "COLS", "ROWS", "Table", "build_tables", "cell_text", "check_axes", "describe",
           "facet", "facet_key", "facet_name", "findings", "pairs", "printable", "select",
           "varied_fields"]
