"""One self-contained HTML report: tables, inline SVG plots, findings, the comparison with Table 1
and the run environment. No network access is needed to view it."""

from __future__ import annotations

import html
from collections.abc import Sequence

from ..errors import ConfigError
from ..study import TrialResult, plural
from . import checks
from .axes import AXES, COLS, ROWS, check_axes
from .findings import Comparison, TaskComparison, compare, compare_published, findings, load_reference
from .plots import plan_figures, report_kinds, svg_text
from .tables import Table, build_tables, describe, metric_title, table_notes, varied_fields
from .text import printable

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 64rem; padding: 0 1rem;
       color: #222; }
table { border-collapse: collapse; margin: 0.5rem 0 1rem; font-variant-numeric: tabular-nums;
        display: block; overflow-x: auto; max-width: 100%; }
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
    caption = describe(table, stat, always)
    if table.metric != "accuracy" or table.measure.name != "accuracy":  # name the metric
        caption = f"{metric_title(table)}: {caption}"
    caption = html.escape(caption)
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


def _intro(
    results: Sequence[TrialResult], tables: Sequence[Table], rows: str, cols: str, facets: str
) -> list[str]:
    """The report's first paragraph and the heading of its tables: the homework's (test
    accuracy of rows of an image) or, with other tasks, each task and its metric."""
    tasks = list(dict.fromkeys(r.config.task for r in results))
    if tasks in ([], ["rows"]):
        return [
            f"<p>{plural(len(results), 'trial')}: test accuracy by {html.escape(rows)} (rows) "
            f"and {html.escape(cols)} (columns){html.escape(facets)}. MNIST-like "
            "images are read row by row by a recurrent net, as in the 2017 homework "
            "this tool reproduces.</p>",
            "<h2>Test accuracy</h2>",
        ]
    scored = dict.fromkeys(
        f"{t.protocol.get('task', '')}: {t.measure.title}, {t.measure.direction}" for t in tables
    )
    return [
        f"<p>{plural(len(results), 'trial')} of {plural(len(tasks), 'task')}, each scored "
        f"by its own metric ({_text('; '.join(scored))}), by {html.escape(rows)} (rows) and "
        f"{html.escape(cols)} (columns){html.escape(facets)}.</p>",
        "<h2>Results (each table in its task's metric)</h2>",
    ]


def _comparison_html(results: Sequence[TrialResult], reference: str) -> list[str]:
    """The comparison with ``reference``; with ``hw2``, also the TCN paper's numbers where the
    results hold a task it reports (pixels, permuted, adding, copy, chars)."""
    comp = compare(results, reference)
    parts = [f"<h2>Comparison with the published table ({html.escape(reference)})</h2>"]
    if isinstance(comp, Comparison):
        for one in comp.each():
            if one.facet:
                parts.append(f"<h3>{html.escape(one.facet)}</h3>")
            parts.append(
                '<table class="comparison"><tr><th>hidden</th><th>lr</th><th>reference</th>'
                "<th>ours</th><th>difference</th><th>within our seeds</th>"
                "<th>within noise</th></tr>"
            )
            for c in one.cells:
                cells = "".join(f"<td>{html.escape(t)}</td>" for t in c.texts())
                parts.append(f"<tr><td>{c.hidden}</td><td>{c.lr:g}</td>{cells}</tr>")
            parts.append("</table><ul>")
            parts += [f"<li>{html.escape(f.text)}</li>" for f in one.summary]
            parts.append("</ul>")
        published = compare_published(results)
        if published.cells:
            parts.append("<h2>Comparison with the published numbers per task (tcn)</h2>")
            parts += _published_html(published)
    else:
        parts += _published_html(comp)
    return parts


def _published_html(comp: TaskComparison) -> list[str]:
    """Our best result per task and cell beside the TCN paper's number, setup and source."""
    parts = [
        '<table class="published"><tr><th>task</th><th>cell</th><th>metric</th><th>ours</th>'
        "<th>at</th><th>published</th><th>what differs</th></tr>"
    ]
    for c in comp.cells:
        texts = (c.task, c.cell, f"{c.measure.title}, {c.measure.direction}", c.ours_text(), c.where())
        parts.append(
            "<tr>"
            + "".join(f"<td>{_text(t)}</td>" for t in texts)
            + f"<td>{_text(c.measure.format(c.value))}</td><td>{_text(c.differs())}</td></tr>"
        )
    parts.append("</table>")
    sources = dict.fromkeys(c.source for c in comp.cells)
    parts += [f'<p class="note">Source: {_text(s)}</p>' for s in sources]
    parts.append("<ul>")
    parts += [f"<li>{html.escape(f.text)}</li>" for f in comp.summary]
    parts.append("</ul>")
    return parts


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
        *_intro(results, acc_tables, row_axis.title, col_axis.title, facets),
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
    parts += _comparison_html(results, reference)
    parts.append("<h2>Environment</h2>")
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
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_text(title)}</title><style>{_STYLE}</style></head>"
        f"<body>\n{body}\n</body></html>\n"
    )
