"""One self-contained HTML report: tables, inline SVG plots, findings, the comparison with Table 1
and the run environment. No network access is needed to view it."""

from __future__ import annotations

import html
from collections.abc import Sequence

from .findings import compare, findings
from .plots import KINDS, figures, gaps, svg_text
from .report import Table, build_tables, cell_text, describe, table_notes
from .results import TrialResult

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 64rem; color: #222; }
table { border-collapse: collapse; margin: 0.5rem 0 1rem; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.6rem; text-align: right; white-space: nowrap; }
th { background: #f3f3f3; }
figure { margin: 1rem 0; } figure svg { max-width: 100%; height: auto; }
.note { color: #666; font-size: 0.9rem; }
"""


def _table_html(table: Table, stat: str = "mean") -> str:
    head = "".join(f"<th>{lr:g}</th>" for lr in table.lrs)
    rows = "".join(
        f"<tr><th>{h}</th>"
        + "".join(f"<td>{html.escape(cell_text(table, table.cell(h, lr), stat))}</td>"
                  for lr in table.lrs)
        + "</tr>"
        for h in table.hidden
    )
    notes = "".join(f'<p class="note">{html.escape(n)}</p>' for n in table_notes(table))
    caption = html.escape(describe(table, stat))
    return (f'<table class="results"><caption>{caption}</caption>'
            f"<tr><th>hidden \\ lr</th>{head}</tr>{rows}</table>{notes}")


def render_html(results: Sequence[TrialResult], environments: dict[str, dict],
                reference: str = "hw2", title: str = "lstm-sweep report") -> str:
    """The whole report as one HTML string."""
    acc_tables = build_tables(results, "accuracy")
    time_tables = build_tables(results, "time")
    parts = [f"<h1>{html.escape(title)}</h1>",
             f"<p>{len(results)} trials. How an LSTM's width and its Adam learning rate decide "
             "what it learns (MNIST read row by row).</p>",
             "<h2>Test accuracy</h2>", *(_table_html(t) for t in acc_tables),
             "<h2>Wall time per trial (s)</h2>", *(_table_html(t) for t in time_tables),
             "<h2>Findings</h2><ul>",
             *(f"<li><strong>{html.escape(f.text)}</strong></li>" if f.kind == "facet" else
               f"<li>{html.escape(f.text)}</li>" for f in findings(results)), "</ul>",
             "<h2>Plots</h2>"]
    for name, fig in figures(results, KINDS).items():
        parts.append(f'<figure id="plot-{name}">{svg_text(fig)}'
                     f"<figcaption>{html.escape(name)}</figcaption></figure>")
    for name, why in gaps(results, KINDS).items():
        parts.append(f'<p class="note" id="plot-{name}">{html.escape(name)}: nothing to show '
                     f"({html.escape(why)}).</p>")
    comp = compare(results, reference)
    parts.append(f"<h2>Comparison with the published table ({html.escape(reference)})</h2>")
    parts.append('<table class="comparison"><tr><th>hidden</th><th>lr</th><th>reference</th>'
                 "<th>ours</th><th>difference</th><th>within our seeds</th></tr>")
    for c in comp.cells:
        cells = "".join(f"<td>{html.escape(t)}</td>" for t in c.texts())
        parts.append(f"<tr><td>{c.hidden}</td><td>{c.lr:g}</td>{cells}</tr>")
    parts.append("</table><ul>")
    parts += [f"<li>{html.escape(f.text)}</li>" for f in comp.summary]
    parts.append("</ul><h2>Environment</h2>")
    for env in environments.values():
        items = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>"
                        for k, v in sorted(env.items()))
        parts.append(f'<table class="environment">{items}</table>')
    if acc_tables:
        p = acc_tables[0].protocol
        parts.append(f'<p class="note">Protocol: {p["steps"]} Adam steps, batch '
                     f'{p["batch_size"]}, init {p["init"]}, {p["precision"]}, data '
                     f'{html.escape(str(p["dataset"]))}.</p>')
    body = "\n".join(parts)
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            '<meta name="generator" content="lstm-sweep">'
            f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>"
            f"<body>\n{body}\n</body></html>\n")
