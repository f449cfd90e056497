"""The μTransfer report (Tensor Programs V, arXiv 2203.03466, Fig. 1): how far the best rate
moves with width per table, whether it moves less under mup than under sp, and the transfer
figure (sp and mup of one model side by side), through the API, the CLI and the HTML report."""

from __future__ import annotations

import math

import pytest

from helpers import cli, trial
from lstm_sweep.errors import ConfigError
from lstm_sweep.reporting.findings import findings, param_groups
from lstm_sweep.reporting.html import render_html
from lstm_sweep.reporting.plots import plan_figures, report_kinds, save, transfer_panels
from lstm_sweep.reporting.tables import build_tables, param_name
from lstm_sweep.store import Store
from lstm_sweep.study.results import Status

LRS = (0.00125, 0.0025, 0.005, 0.01, 0.02)
PNG = b"\x89PNG\r\n\x1a\n"


def grid(param: str, best: dict[int, float], lrs=LRS, **config) -> list:
    """A width x rate grid whose accuracy peaks at ``best[width]`` (one point less per step of
    the grid away from it), its training loss lowest there."""
    out = []
    for h, b in best.items():
        for lr in lrs:
            d = abs(lrs.index(lr) - lrs.index(b))
            out.append(trial(h, lr, 0.97 - 0.01 * d, param=param, train_loss=0.1 + 0.05 * d, **config))
    return out


SP = grid("sp", {64: 0.01, 128: 0.005, 256: 0.0025, 512: 0.00125})  # moves 3 octaves
MUP = grid("mup", {64: 0.01, 128: 0.01, 256: 0.005, 512: 0.005})  # moves 1 octave


def of_kind(items, kind: str) -> list[str]:
    return [f.text for f in items if f.kind == kind]


# --------------------------------------------------------------------------- per table


def test_best_rate_spread_in_octaves_per_table():
    spread = [f for f in findings(SP + MUP) if f.kind == "best_lr_spread"]
    assert [f.text for f in spread] == [
        "The best rate spans 3 octaves (×8) from 64 to 512 units: 0.01 → 0.00125.",
        "The best rate spans 1 octave (×2) from 64 to 512 units: 0.01 → 0.005.",
    ]
    assert spread[0].data["octaves"] == pytest.approx(3.0)
    assert spread[0].data["best_lrs"] == {64: 0.01, 128: 0.005, 256: 0.0025, 512: 0.00125}


def test_spread_names_the_widths_of_its_extremes_and_rates_ten_fold_apart():
    zigzag = grid("sp", {64: 0.005, 128: 0.02, 256: 0.00125, 512: 0.005})
    assert of_kind(findings(zigzag), "best_lr_spread") == [
        "The best rate spans 4 octaves (×16) from 64 to 512 units: 0.02 at 128 units, 0.00125 at 256 units."
    ]
    decades = grid("sp", {16: 0.01, 32: 0.001}, lrs=(0.001, 0.01))
    assert of_kind(findings(decades), "best_lr_spread") == [
        "The best rate spans 3.3 octaves (×10) from 16 to 32 units: 0.01 → 0.001."
    ]
    flat = grid("sp", {64: 0.01, 128: 0.01})
    assert of_kind(findings(flat), "best_lr_spread") == [
        "The best rate spans no octave from 64 to 128 units: it is 0.01 at every width."
    ]


def test_spread_says_nothing_without_two_widths_with_a_best_rate():
    one = grid("sp", {64: 0.01})
    oom = [trial(128, lr, None, status=Status.OOM) for lr in LRS]
    assert of_kind(findings(one + oom), "best_lr_spread") == []
    # another layout (rows = cells) has no widths as rows
    cells = one + grid("sp", {64: 0.005}, cell="gru")
    assert of_kind(findings(cells, rows="cell", cols="lr"), "best_lr_spread") == []


def test_a_tie_takes_the_first_rate_as_the_best_per_row_rule_does():
    tie = [trial(64, 0.01, 0.9), trial(64, 0.02, 0.9), trial(128, 0.01, 0.8), trial(128, 0.02, 0.9)]
    assert of_kind(findings(tie), "best_lr_spread") == [
        "The best rate spans 1 octave (×2) from 64 to 128 units: 0.01 → 0.02."
    ]


# --------------------------------------------------------------------------- across tables


def test_mup_transfers_where_sp_does_not():
    items = findings(SP + MUP)
    (f,) = [f for f in items if f.kind == "across_transfer"]
    assert f.text == (
        "Under mup (base 64) the best rate of 64 units is the best rate of 512 "
        "units within ×2 (0.01 vs 0.005); under sp it moves ×8 (0.01 → 0.00125)."
    )
    assert f.data["transfers"] is True and f.data["widths"] == [64, 512]
    assert f.data["factor"] == pytest.approx(2) and f.data["sp_factor"] == pytest.approx(8)
    assert items.index(f) > [g.kind for g in items].index("across_frontier")  # the last rule
    still = grid("mup", {64: 0.01, 128: 0.01, 256: 0.01, 512: 0.01})
    assert of_kind(findings(SP + still), "across_transfer") == [
        "Under mup (base 64) the best rate of 64 units is also the best rate of 512 units "
        "(0.01); under sp it moves ×8 (0.01 → 0.00125)."
    ]


def test_mup_that_moves_as_far_or_further_does_not_transfer():
    same = grid("mup", {64: 0.01, 128: 0.005, 256: 0.0025, 512: 0.00125})
    (f,) = [f for f in findings(SP + same) if f.kind == "across_transfer"]
    assert f.text == (
        "Under mup (base 64) the best rate moves ×8 from 64 to 512 units "
        "(0.01 → 0.00125), as far as under sp (×8, 0.01 → 0.00125): it does not "
        "transfer here."
    )
    assert f.data["transfers"] is False
    flat_sp = grid("sp", {64: 0.01, 128: 0.01, 256: 0.01, 512: 0.01})
    assert of_kind(findings(flat_sp + MUP), "across_transfer") == [
        "Under mup (base 64) the best rate moves ×2 from 64 to 512 units (0.01 → 0.005), "
        "further than under sp (where it stays at 0.01): it does not transfer here."
    ]
    flat_mup = grid("mup", {64: 0.02, 128: 0.02, 256: 0.02, 512: 0.02})
    assert of_kind(findings(flat_sp + flat_mup), "across_transfer") == [
        "Width does not move the best rate from 64 to 512 units under either parametrization: "
        "sp 0.01 at both, mup (base 64) 0.02 at both; these widths cannot show a transfer."
    ]


def test_only_tables_that_differ_in_their_parametrization_alone_are_compared():
    gru_mup = grid("mup", {64: 0.01, 512: 0.01}, cell="gru")
    assert of_kind(findings(SP + gru_mup), "across_transfer") == []  # GRU mup vs LSTM sp
    gru_sp = grid("sp", {64: 0.02, 512: 0.0025}, cell="gru")
    texts = of_kind(findings(SP + MUP + gru_sp + gru_mup), "across_transfer")
    assert texts == [  # one sentence per model, named, in the tables' order
        "LSTM: Under mup (base 64) the best rate of 64 units is the best rate of 512 units "
        "within ×2 (0.01 vs 0.005); under sp it moves ×8 (0.01 → 0.00125).",
        "GRU: Under mup (base 64) the best rate of 64 units is also the best rate of 512 units "
        "(0.01); under sp it moves ×8 (0.02 → 0.0025).",
    ]


def test_mup_needs_two_widths_shared_with_sp():
    narrow = grid("mup", {64: 0.01})
    assert of_kind(findings(SP + narrow), "across_transfer") == []


def test_tables_name_their_parametrization():
    tables = build_tables(SP + MUP)
    assert [param_name(t.protocol) for t in tables] == ["sp", "mup (base 64)"]
    groups = param_groups(tables)
    assert [(name, [t.protocol["param"] for t in ts]) for name, ts in groups] == [("", ["sp", "mup"])]
    with pytest.raises(ConfigError, match="protocol must be"):
        param_name("sp")
    with pytest.raises(ConfigError, match="tables"):
        param_groups([1])


# --------------------------------------------------------------------------- the figure


def test_transfer_panels_hold_the_mean_loss_blown_rates_and_best_rates():
    blown = [
        trial(512, 0.04, 0.098, param="sp", status=Status.DIVERGED, train_loss=math.nan),
        trial(512, 0.04, None, param="sp", status=Status.FAILED, seed=1),
        trial(64, 0.01, 0.97, param="sp", seed=1, train_loss=0.3),
    ]
    sp, mup = transfer_panels(SP + MUP + blown)
    assert (sp.title, mup.title) == ("sp", "mup (base 64)")
    assert list(sp.widths) == [64, 128, 256, 512]
    assert sp.best == {64: 0.01, 128: 0.005, 256: 0.0025, 512: 0.00125}
    at = {p.lr: p for p in sp.widths[512]}
    assert at[0.04].loss is None and at[0.04].blown == 2 and at[0.04].accuracy == 0.098
    at = {p.lr: p for p in sp.widths[64]}
    assert at[0.01].loss == pytest.approx(0.2) and at[0.01].blown == 0  # mean of 0.1 and 0.3
    assert at[0.01].accuracy == pytest.approx(0.97)


def test_one_transfer_figure_per_facet_without_the_parametrization(tmp_path):
    specs, missing = plan_figures(SP + MUP, ["heatmap", "transfer"])
    assert [s.name for s in specs] == ["heatmap-sp", "heatmap-mup-base-64", "transfer"]
    assert not missing
    transfer = specs[-1]
    assert transfer.kind == "transfer" and transfer.facet == ""
    assert "one column per parametrization (sp, mup (base 64))" in transfer.caption
    assert "best rate" in transfer.caption and "diverged" in transfer.caption
    fig = transfer.draw()
    assert len(fig.axes) == 4  # loss and accuracy under sp, then under mup
    assert [ax.get_title() for ax in fig.axes[:2]] == ["sp", "mup (base 64)"]
    assert all(ax.get_xscale() == "log" for ax in fig.axes)
    path = save(fig, tmp_path / "transfer.png")
    data = path.read_bytes()
    assert len(data) > 0 and data[:8] == PNG


def test_one_figure_per_model_and_one_column_with_one_parametrization():
    gru = grid("sp", {64: 0.02, 512: 0.0025}, cell="gru")
    gru_mup = grid("mup", {64: 0.01, 512: 0.01}, cell="gru")
    specs, _ = plan_figures(SP + MUP + gru + gru_mup, ["transfer"])
    assert [(s.name, s.facet) for s in specs] == [("transfer-lstm", "LSTM"), ("transfer-gru", "GRU")]
    (only_sp,) = plan_figures(SP, ["transfer"])[0]
    fig = only_sp.draw()
    assert len(fig.axes) == 2 and fig.axes[0].get_title() == "sp"
    assert "(sp)" in only_sp.caption


def test_the_transfer_figure_says_why_it_has_nothing_to_show():
    one_rate = [trial(h, 0.01, 0.9) for h in (64, 128)]
    _, missing = plan_figures(one_rate, ["transfer"])
    assert missing == {
        "transfer": "the transfer plot needs two widths and two learning rates or more (here 2 and 1)"
    }
    _, missing = plan_figures(SP, ["transfer"], rows="lr", cols="hidden")
    assert missing == {"transfer": "the transfer plot needs widths as rows and learning rates as columns"}
    oom = [trial(h, lr, None, status=Status.OOM) for h in (64, 128) for lr in (0.01, 0.02)]
    assert "no trial has an accuracy" in plan_figures(oom, ["transfer"])[1]["transfer"]
    assert report_kinds(one_rate)[-1] != "transfer" and report_kinds(SP)[-1] == "transfer"
    with pytest.raises(ConfigError, match="axis"):
        report_kinds(SP, rows="nope")


# --------------------------------------------------------------------------- CLI and HTML


def test_plot_kind_transfer_through_the_cli(tmp_path):
    db = tmp_path / "s.db"
    with Store(db) as store:
        for r in SP + MUP:
            store.save(r, {"torch": "test"})
    out = tmp_path / "plots"
    o = cli("plot", "--db", db, "--kind", "transfer", "--out", out)
    assert o.code == 0, o.text
    assert [p.name for p in out.iterdir()] == ["transfer.png"]
    assert (out / "transfer.png").read_bytes()[:8] == PNG
    assert str(out / "transfer.png") in o.out
    o = cli("plot", "--db", db, "--kind", "all", "--out", tmp_path / "all")
    assert o.code == 0 and (tmp_path / "all" / "transfer.png").exists()


@pytest.mark.slow
def test_html_report_shows_the_transfer_figure_and_findings_escaped():
    name = "<b>digits</b>"
    results = SP + MUP + grid("sp", {64: 0.01, 512: 0.01}, dataset=name)
    page = render_html(results, {})
    assert '<figure id="plot-transfer-mnist">' in page
    assert "<h3>Learning rate transfer across widths — mnist</h3>" in page
    assert "<h3>Learning rate transfer across widths — &lt;b&gt;digits&lt;/b&gt;</h3>" in page
    assert "<b>digits" not in page and "&lt;b&gt;digits&lt;/b&gt;" in page
    assert (
        "Under mup (base 64) the best rate of 64 units is the best rate of 512 units "
        "within ×2 (0.01 vs 0.005); under sp it moves ×8 (0.01 → 0.00125)."
    ) in page
    assert "The best rate spans 3 octaves (×8) from 64 to 512 units" in page
    one_rate = render_html([trial(h, 0.01, 0.9) for h in (64, 128)], {})
    assert "transfer" not in one_rate  # no figure, and no note why it has none


def test_findings_render_as_one_printable_line_each():
    from lstm_sweep.reporting.findings import render_findings

    text = render_findings(findings(SP + MUP))
    assert "- Under mup (base 64) the best rate of 64 units" in text.splitlines()[-1]
    assert all(line.isprintable() for line in text.splitlines())
