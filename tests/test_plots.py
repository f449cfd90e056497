"""Plot data (pure functions), the files the plot command writes, and the HTML report in a real
headless Chromium."""

from __future__ import annotations

import functools
import math
import re
import subprocess

import pytest

from helpers import trial
from lstm_sweep.reporting.html import render_html
from lstm_sweep.reporting.plots import (
    best_lr_data,
    curve_series,
    figures,
    heatmap_data,
    pareto_front,
    plot_heatmap,
    save,
    svg_text,
    time_points,
)
from lstm_sweep.reporting.tables import build_tables
from lstm_sweep.study.results import CurvePoint, Status

# each trial learns along one curve: loss 2 / step, batch accuracy step / 30
r = functools.partial(trial, curve=tuple(CurvePoint(s, 2.0 / s, min(1.0, s / 30)) for s in (10, 20, 30)))


RESULTS = [
    r(16, 1e-2, 0.95, wall=1),
    r(16, 1e-1, 0.098, status=Status.DIVERGED, wall=1),
    r(32, 1e-2, 0.97, wall=2),
    r(32, 1e-1, 0.30, wall=2.5),
    r(64, 1e-2, 0.96, wall=5),
    r(64, 1e-1, None, status=Status.OOM, wall=0.1),
]


def test_heatmap_data_marks_dnf_and_divergence():
    values, labels = heatmap_data(build_tables(RESULTS)[0])
    assert labels == [["0.950", "0.098*"], ["0.970", "0.300"], ["0.960", "DNF"]]
    assert math.isnan(values[2][1]) and values[0][0] == 0.95


def test_pareto_front_and_time_points():
    points = time_points(RESULTS)
    assert len(points) == 5  # the DNF trial has no accuracy
    assert pareto_front([(t, a) for t, a, _ in points]) == [(1, 0.95), (2, 0.97)]
    assert pareto_front([(1, 0.5), (1, 0.6), (2, 0.55), (3, 0.9)]) == [(1, 0.6), (3, 0.9)]


def test_curve_series_for_a_row_or_a_column():
    assert set(curve_series(RESULTS, hidden=32)) == {"lr 0.01", "lr 0.1"}
    column = curve_series(RESULTS, lr=1e-2)
    assert set(column) == {"16 units", "32 units", "64 units"}
    seed, points = column["16 units"][0]  # (seed, its curve)
    assert seed == 0 and points[0] == (10, 0.2, 10 / 30, None)  # (step, loss, accuracy, validation)
    assert set(curve_series(RESULTS)) == {"lr 0.01", "lr 0.1"}  # default: the widest row


def test_best_lr_and_band():
    data = best_lr_data(build_tables(RESULTS)[0])
    assert data[16] == {"lr": 0.01, "accuracy": 0.95, "low": 0.01, "high": 0.01}
    assert data[64]["lr"] == 0.01


def test_figures_save_as_png_and_svg(tmp_path):
    figs = figures(RESULTS)
    assert set(figs) == {"heatmap", "time", "curves", "best-lr", "scaling", "transfer"}
    png = save(figs["heatmap"], tmp_path / "h.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = save(figs["time"], tmp_path / "t.svg")
    assert "<svg" in svg.read_text()
    assert svg_text(figures(RESULTS, ["curves"])["curves"]).startswith("<svg")


@pytest.fixture
def browser(chromium):
    return chromium


CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.mark.slow
def test_html_report_renders_in_chromium(browser, tmp_path):
    page = tmp_path / "report.html"
    page.write_text(render_html(RESULTS, {"e1": {"torch": "2.x", "device": "cpu:test"}}), encoding="utf-8")
    text = page.read_text()
    # nothing to fetch: no external scripts, styles, images or links (XML namespaces are names)
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text)
    assert "<script" not in text and "<link" not in text
    common = [browser, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run(
        [*common, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120
    ).stdout
    assert dom.count("<figure") == 6 and dom.count("<svg") >= 6  # scaling and transfer too
    assert '<table class="results">' in dom and "0.0980*" in dom and ">DNF<" in dom
    assert "Comparison with the published table" in dom and "cpu:test" in dom
    shot = tmp_path / "shot.png"
    subprocess.run(
        [*common, "--window-size=1000,2400", f"--screenshot={shot}", page.as_uri()],
        capture_output=True,
        timeout=120,
    )
    import matplotlib.image

    pixels = matplotlib.image.imread(shot)
    assert pixels.shape[:2] == (2400, 1000)
    assert pixels[..., :3].std() > 0.05  # not a blank page: text, tables and plots drawn


def test_a_heatmap_reads_as_a_paper_figure():
    """Its colours span the table's own values (0.73 and 0.97 apart), a search's pruned cells
    are grey and labelled (never-tried ones white and empty), seeds show ± std and say so, and a
    grid's axis is no "log scale" (its values are equally spaced)."""
    means = ((0.001, 0.73), (0.01, 0.97))
    results = [trial(16, lr, acc + d, seed=s) for lr, acc in means for s, d in enumerate((0, 0.01))]
    results += [trial(32, 0.001, 0.3, status=Status.PRUNED, steps=30)]
    (table,) = build_tables(results)
    fig = plot_heatmap(table)
    ax, bar = fig.axes
    assert bar.get_ylim() == pytest.approx((0.735, 0.975))  # the means' range, not 0-1
    texts = {t.get_text(): t for t in ax.texts}
    assert "0.735\n±0.007" in texts and "0.975\n±0.007" in texts
    assert texts["pruned@15"].get_color() == "black"  # legible on its grey
    assert "" not in texts or texts[""].get_text() == ""  # (32, 0.01) never tried: no label
    assert "log scale" not in ax.get_xlabel() + ax.get_ylabel()
    assert "2 seeds: mean ± std" in ax.get_title()


def test_every_figure_kind_reads_as_a_paper_figure_in_every_format(tmp_path):
    """At its default size: a legend beside the axes (never over a point), plain numbers on log
    axes (``2``, ``0.01``; never ``2×10⁰``), the best rate's points saying their rate; and each
    kind saved as PNG, SVG and PDF (a PDF without its creation date: the same figure, the same
    bytes)."""
    figs = figures(RESULTS)
    for name in ("time", "curves", "best-lr"):
        fig = figs[name]
        fig.canvas.draw()
        ax = [a for a in fig.axes if a.get_legend() is not None][0]
        box, frame = ax.get_legend().get_window_extent(), ax.get_window_extent()
        assert box.x0 >= frame.x1 - 1, name  # beside, not over
        for a in fig.axes:
            for label in a.get_yticklabels() + a.get_xticklabels():
                assert "times" not in label.get_text() and "×" not in label.get_text(), (name, label)
    best = figs["best-lr"].axes[0]
    assert [t.get_text() for t in best.get_xticklabels()] == ["16", "32", "64"]  # widths, not 2⁴
    assert all("(" in t.get_text() and t.get_text().split(" ")[0][0].isdigit() for t in best.texts)
    for kind, magic in (("png", b"\x89PNG"), ("svg", b"<?xml"), ("pdf", b"%PDF-")):
        for name in ("heatmap", "time", "curves", "best-lr"):
            path = save(figures(RESULTS, [name])[name], tmp_path / f"{name}.{kind}")
            assert path.read_bytes().startswith(magic), (name, kind)
    again = save(figures(RESULTS, ["heatmap"])["heatmap"], tmp_path / "again.pdf")
    assert again.read_bytes() == (tmp_path / "heatmap.pdf").read_bytes()


def test_the_curves_figure_has_a_row_of_panels_for_every_width():
    """By default every row of the table (each width) gets its loss and metric panels, one
    colour per rate throughout and one legend; ``hidden=`` picks one row; a table of more rows
    than a figure holds draws its widest."""
    from lstm_sweep.reporting.plots import MAX_CURVE_ROWS, plan_figures

    (spec,), _ = plan_figures(RESULTS, ["curves"])
    assert "a row of panels per width (3)" in spec.caption
    fig = spec.draw()
    assert len(fig.axes) == 6
    assert [fig.axes[i].get_ylabel().split("\n")[0] for i in (0, 2, 4)] == [
        "16 units",
        "32 units",
        "64 units",
    ]
    colours = [[line.get_color() for line in ax.get_lines()] for ax in fig.axes[0::2]]
    assert colours[0] == colours[1] == colours[2] and len(set(colours[0])) == 2  # a colour per rate
    assert sum(ax.get_legend() is not None for ax in fig.axes) == 1
    assert len(figures(RESULTS, ["curves"], hidden=32)["curves"].axes) == 2
    wide = [r(h, 1e-2, 0.9) for h in range(8, 8 + MAX_CURVE_ROWS + 1)]
    (spec,), _ = plan_figures(wide, ["curves"])
    assert len(spec.draw().axes) == 2 and f"at {7 + MAX_CURVE_ROWS + 1} units" in spec.caption
