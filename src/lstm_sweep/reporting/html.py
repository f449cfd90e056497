"""One self-contained HTML report: tables, inline SVG plots, findings, the comparison with Table 1
and the run environment. No network access is needed to view it."""

from __future__ import annotations

import html
from collections.abc import Sequence

from ..errors import ConfigError
from ..study import TrialResult
from . import checks
from .axes import AXES, COLS, ROWS, check_axes
from .findings import compare, findings, load_reference
from .plots import plan_figures, report_kinds, svg_text
from .tables import Table, build_tables, describe, table_notes, varied_fields
from .text import printable

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 64rem; color: #222; }
table { border-collapse: collapse; margin: 0.5rem 0 1rem; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.6rem; text-align: right; white-space: nowrap; }
th { background: #f3f3f3; }
figure { margin: 1rem 0; } figure svg { max-width: 100%; height: auto; }
.note { color: #666; font-size: 0.9rem; }
figcaption { color: #444; font-size: 0.9rem; max-width: 48rem; }
"""


def _text(value: object) -> str:
    """A stored value as HTML text: escaped, its control characters shown as escapes."""
    return html.escape(printable(value))


def _check_environments(environments: object) -> None:
    if not isinstance(environments, dict) or not all(isinstance(env, dict) for env in environments.values()):
        raise ConfigError(
            "environments must be a dict of dicts (id -> what the run ran on), "
            f"got {checks.kind_of(environments)}"
        )


def _table_html(table: Table, stat: str = "mean", always: Sequence[str] = ()) -> str:
    rows, cols = table.axes
    head = "".join(f"<th>{html.escape(cols.label(c))}</th>" for c in table.cols)
    body = "".join(
        f"<tr><th>{html.escape(rows.label(r))}</th>"
        + "".join(f"<td>{html.escape(table.text(r, c, stat))}</td>" for c in table.cols)
        + "</tr>"
        for r in table.rows
    )
    notes = "".join(f'<p class="note">{html.escape(n)}</p>' for n in table_notes(table))
    caption = html.escape(describe(table, stat, always))
    corner = html.escape(f"{rows.name} \\ {cols.name}")
    return (
        f'<table class="results"><caption>{caption}</caption>'
        f"<tr><th>{corner}</th>{head}</tr>{body}</table>{notes}"
    )


def _findings_html(items) -> str:
    """The findings as a list; a table's (facet's) findings nested under its name."""
    out, nested = ["<ul>"], False
    for f in items:
        if f.kind == "facet":
            out.append(("</ul></li>" if nested else "") + f"<li><strong>{html.escape(f.text)}</strong><ul>")
            nested = True
        else:
            out.append(f"<li>{html.escape(f.text)}</li>")
    out.append(("</ul></li>" if nested else "") + "</ul>")
    return "".join(out)


def _figure_heading(spec) -> str:
    """The heading a figure sits under: its table (facet), or for the transfer figure, which
    spans a model's parametrizations, its own (after every table's figures)."""
    if spec.kind == "transfer":
        return "Learning rate transfer across widths" + (f" — {spec.facet}" if spec.facet else "")
    return spec.facet


def render_html(
    results: Sequence[TrialResult],
    environments: dict[str, dict],
    reference: str = "hw2",
    title: str = "lstm-sweep report",
    rows: str = ROWS,
    cols: str = COLS,
) -> str:
    """The whole report as one HTML string: tables of ``rows`` x ``cols`` (one per facet),
    findings, a captioned figure per kind and facet, the comparison and the environment.
    Every text is HTML-escaped (and its control characters shown escaped).

    Raises:
        ConfigError: ``results`` is not a list of TrialResult, ``environments`` not a dict of
            dicts (as :meth:`Store.environments` gives), ``title`` not text; an unknown
            reference or axis.
    """
    results = checks.results(results)
    _check_environments(environments)
    checks.text("title", title)
    check_axes(rows, cols)
    load_reference(reference)  # an unknown reference: refused before any work
    acc_tables = build_tables(results, "accuracy", rows, cols)
    time_tables = build_tables(results, "time", rows, cols)
    always = varied_fields(acc_tables)
    row_axis, col_axis = AXES[rows], AXES[cols]
    facets = f", one table for each {', '.join(always)}" if always else ""
    parts = [
        f"<h1>{_text(title)}</h1>",
        f"<p>{len(results)} trials: test accuracy by {html.escape(row_axis.title)} (rows) "
        f"and {html.escape(col_axis.title)} (columns){html.escape(facets)}. MNIST-like "
        "images are read row by row by a recurrent net, as in the 2017 homework "
        "this tool reproduces.</p>",
        "<h2>Test accuracy</h2>",
        *(_table_html(t, always=always) for t in acc_tables),
        "<h2>Wall time per trial (s)</h2>",
        *(_table_html(t, always=always) for t in time_tables),
        "<h2>Findings</h2>",
        _findings_html(findings(results, rows, cols)),
        "<h2>Plots</h2>",
    ]
    specs, missing = plan_figures(results, report_kinds(results, rows, cols), rows=rows, cols=cols)
    shown = None
    for spec in specs:
        heading = _figure_heading(spec)
        if heading and heading != shown:
            parts.append(f"<h3>{html.escape(heading)}</h3>")
            shown = heading
        parts.append(
            f'<figure id="plot-{html.escape(spec.name)}">{svg_text(spec.draw())}'
            f"<figcaption>{html.escape(spec.caption)}</figcaption></figure>"
        )
    for name, why in missing.items():
        parts.append(
            f'<p class="note" id="plot-{html.escape(name)}">{html.escape(name)}: '
            f"nothing to show ({html.escape(why)}).</p>"
        )
    comp = compare(results, reference)
    parts.append(f"<h2>Comparison with the published table ({html.escape(reference)})</h2>")
    parts.append(
        '<table class="comparison"><tr><th>hidden</th><th>lr</th><th>reference</th>'
        "<th>ours</th><th>difference</th><th>within our seeds</th>"
        "<th>within noise</th></tr>"
    )
    for c in comp.cells:
        cells = "".join(f"<td>{html.escape(t)}</td>" for t in c.texts())
        parts.append(f"<tr><td>{c.hidden}</td><td>{c.lr:g}</td>{cells}</tr>")
    parts.append("</table><ul>")
    parts += [f"<li>{html.escape(f.text)}</li>" for f in comp.summary]
    parts.append("</ul><h2>Environment</h2>")
    for env in environments.values():
        items = "".join(
            f"<tr><th>{_text(k)}</th><td>{_text(v)}</td></tr>"
            for k, v in sorted(env.items(), key=lambda kv: str(kv[0]))
        )
        parts.append(f'<table class="environment">{items}</table>')
    body = "\n".join(parts)
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="generator" content="lstm-sweep">'
        f"<title>{_text(title)}</title><style>{_STYLE}</style></head>"
        f"<body>\n{body}\n</body></html>\n"
    )
