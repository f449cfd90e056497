"""Transfer: tune the narrow widths' rate by search, predict the wider widths' (sp: the fitted
exponent; mup: the widest tuned width's rate), verify each prediction with a band of the grid's
own trials. What it stores is the grid's trials (a later `run` trains none of them again); a
transfer started again trains nothing new; one killed at any moment and started again ends with
the same store as one never killed; bad input is refused before the store is touched."""

from __future__ import annotations

import math
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import time

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from helpers import LSTM_SWEEP, cli, last_wins
from lstm_sweep.errors import ConfigError
from lstm_sweep.running import transfer as transfer_module
from lstm_sweep.running.transfer import (
    TransferPlan,
    band,
    check_tune_widths,
    default_tune_widths,
    predict_facet,
    render_predictions,
    run_transfer,
    snap,
)
from lstm_sweep.store import load_results
from lstm_sweep.study import fit_exponent, grid_estimate, metric_of
from lstm_sweep.study.config import TrialConfig
from lstm_sweep.study.results import Status

WIDTHS = (4, 8, 16, 32)
TUNED = (4, 8, 16)
RATES = tuple(2.0**k for k in range(-9, -2))  # 2^-9 .. 2^-3
SEEDS = (0, 1)
COMMON = [
    "--lr",
    "2^-9:2^-3",
    "--seeds",
    "0,1",
    "--steps",
    "20",
    "--batch-size",
    "20",
    "--param",
    "sp,mup",
    "--device",
    "cpu",
    "--workers",
    "1",
]
GRID = ["--hidden", "4,8,16,32", *COMMON]
TRANSFER = ["transfer", *GRID, "--tune-widths", "4,8,16"]
RESULT_FIELDS = ("status", "steps_done", "val_accuracy", "test_accuracy", "train_loss")


def _env(mnist_dir):
    return {**os.environ, "LSTM_SWEEP_DATA_DIR": str(mnist_dir), "OMP_NUM_THREADS": "1"}


def _cmd(*args, env, timeout=600):
    return subprocess.run(
        [LSTM_SWEEP, *map(str, args)], env=env, capture_output=True, text=True, timeout=timeout
    )


def _by_key(db):
    return {r.key: r for r in load_results(db)}


def _same(a, b) -> bool:
    return all(getattr(a, f) == getattr(b, f) for f in RESULT_FIELDS)


def _copy(db, to):
    shutil.copy(db, to)
    return to


@pytest.fixture(autouse=True)
def one_thread():
    """This process's transfers with one torch thread, as the subprocesses' (OMP_NUM_THREADS=1):
    the device probe (per thread count) that one of them made serves them all."""
    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(saved)


@pytest.fixture(scope="module")
def tuned(tmp_path_factory, mnist_dir):
    """The tuning search alone (the search over the tune widths: the transfer's first phase)."""
    tmp = tmp_path_factory.mktemp("transfer")
    env = _env(mnist_dir)
    o = _cmd("search", "--hidden", "4,8,16", *COMMON, "--db", tmp / "tuned.db", env=env)
    assert o.returncode == 0, o.stderr
    return tmp, env


@pytest.fixture(scope="module")
def transferred(tuned):
    """A whole transfer (verify 1) from nothing, into its own store."""
    tmp, env = tuned
    o = _cmd(*TRANSFER, "--db", tmp / "t.db", env=env)
    assert o.returncode == 0, o.stderr
    return tmp, env, o


def _summary(monkeypatch, *args):
    """The CLI's transfer in this process, and the TransferSummary it printed."""
    got = []
    real = transfer_module.run_transfer
    monkeypatch.setattr(transfer_module, "run_transfer", lambda *a, **k: got.append(real(*a, **k)) or got[-1])
    o = cli(*args)
    assert o.code == 0, o.text
    return got[0], o


def _best_of(results, hidden, param):
    """The one rate a search finished at ``hidden`` (its winner: the rest are pruned)."""
    done = {
        r.config.lr
        for r in results
        if r.config.hidden == hidden and r.config.param == param and r.status is Status.DONE
    }
    assert len(done) <= 1, done
    return done.pop() if done else None


def _mean_val(results, hidden, param, lr):
    vals = [
        r.val_accuracy
        for r in results
        if (r.config.hidden, r.config.param, r.config.lr) == (hidden, param, lr)
    ]
    assert len(vals) == len(SEEDS)
    return sum(v if v is not None else 0.0 for v in vals) / len(vals)


# --------------------------------------------------------------------------- the store


@pytest.mark.slow
def test_a_transfer_stores_the_grids_trials_and_run_trains_none_again(transferred):
    tmp, env, o = transferred
    assert "tune:" in o.stderr and "verify:" in o.stderr and "predicted:" in o.stderr
    assert "of the full grid over every width" in o.stderr and "of a search over every width" in o.stderr
    stored = _by_key(tmp / "t.db")
    wide = [r for r in stored.values() if r.config.hidden == 32]
    assert wide and all(r.status is Status.DONE and r.steps_done == 20 for r in wide)
    copy = _copy(tmp / "t.db", tmp / "run.db")
    for param in ("sp", "mup"):  # each facet's verified rates: a later run trains none of them
        rates = sorted({r.config.lr for r in wide if r.config.param == param})
        assert len(rates) in (2, 3)
        lrs = ",".join(f"2^{round(math.log2(r))}" for r in rates)
        grid = ["--hidden", "32", *COMMON, "--lr", lrs, "--param", param]
        again = _cmd(*last_wins("run", *grid, "--no-progress", "--db", copy), env=env)
        assert again.returncode == 0, again.stderr
        assert f"0 trials run (nothing new), {len(rates) * len(SEEDS)} already in" in again.stderr, (
            again.stderr
        )
    after = _by_key(copy)
    assert all(_same(after[k], stored[k]) for k in stored)


@pytest.mark.slow
def test_the_tuning_search_is_the_search_of_the_tune_widths(tuned, transferred):
    tmp, _, _ = transferred
    searched, whole = _by_key(tmp / "tuned.db"), _by_key(tmp / "t.db")
    narrow = {k: r for k, r in whole.items() if r.config.hidden in TUNED}
    assert narrow.keys() == searched.keys()
    assert all(_same(narrow[k], searched[k]) for k in narrow)


@pytest.mark.slow
def test_a_transfer_started_again_trains_nothing_new(transferred, monkeypatch):
    tmp, _, _ = transferred
    copy = _copy(tmp / "t.db", tmp / "again.db")
    before = _by_key(copy)
    summary, o = _summary(monkeypatch, *TRANSFER, "--db", copy)
    assert summary.verify_trained == 0 and summary.search.trained == 0 and summary.flops_transfer == 0
    assert "0 verify trials" in o.err
    after = _by_key(copy)
    assert after.keys() == before.keys() and all(_same(after[k], before[k]) for k in before)


# --------------------------------------------------------------------------- the predictions


@pytest.mark.slow
def test_predictions_follow_the_rules_and_lost_is_found_against_predicted(transferred, monkeypatch):
    """sp: fit_exponent over the search's bests (each a grid estimate); mup: the widest tuned
    width's best; lost: the found best's mean validation accuracy against the predicted
    rate's (0 where they coincide). Each computed here from the store."""
    tmp, _, _ = transferred
    copy = _copy(tmp / "t.db", tmp / "rules.db")
    summary, _ = _summary(monkeypatch, *TRANSFER, "--db", copy)
    results = load_results(copy)
    assert {ft.param for ft in summary.facets} == {"sp", "mup"}
    assert summary.flops_full_grid > summary.flops_search_all > 0
    for ft in summary.facets:
        bests = {w: _best_of(results, w, ft.param) for w in TUNED}
        assert ft.tuned == bests
        (wt,) = ft.widths
        assert wt.width == 32
        found = {w: b for w, b in bests.items() if b is not None}
        if ft.param == "sp":
            fit = fit_exponent({w: grid_estimate(b, RATES) for w, b in found.items()})
            if fit is not None:
                p = fit.predict(32)
                assert ft.alpha == pytest.approx(fit.alpha)
                assert (wt.predicted, wt.low, wt.high, wt.ok) == pytest.approx((p.rate, p.low, p.high, p.ok))
                assert wt.ok or wt.reason.startswith("cannot extrapolate: ")
            else:  # nothing to fit: the widest tuned width's rate, marked
                assert wt.predicted == found[max(found)] and not wt.ok
        else:
            assert wt.predicted == found[max(found)]
        assert wt.snapped == snap(wt.predicted, RATES)[0]
        assert wt.verified == band(wt.snapped, RATES, 1)
        metric = metric_of(results[0].config)
        means = {lr: _mean_val(results, 32, ft.param, lr) for lr in wt.verified}
        best = max(means, key=lambda lr: (metric.key(means[lr]), -lr))
        assert wt.found == best
        assert wt.metric_at_predicted == pytest.approx(means[wt.snapped])
        assert wt.metric_at_found == pytest.approx(means[best])
        assert wt.lost == pytest.approx(metric.key(means[best]) - metric.key(means[wt.snapped]))
        assert wt.lost >= 0 and (wt.lost == 0) == (best == wt.snapped or means[best] == means[wt.snapped])
        assert wt.edge == (best in (wt.verified[0], wt.verified[-1]))


@pytest.mark.slow
@pytest.mark.parametrize("verify", [0, 2])
def test_verify_trains_the_predicted_rate_and_that_many_steps_either_side(tuned, monkeypatch, verify):
    tmp, _ = tuned
    db = _copy(tmp / "tuned.db", tmp / f"v{verify}.db")
    summary, o = _summary(monkeypatch, *TRANSFER, "--verify", verify, "--db", db)
    assert summary.search.trained == 0  # replayed from the store
    wide = [r for r in load_results(db) if r.config.hidden == 32]
    for ft in summary.facets:
        (wt,) = ft.widths
        rates = sorted({r.config.lr for r in wide if r.config.param == ft.param})
        expect = band(wt.snapped, RATES, verify)
        assert tuple(rates) == expect == wt.verified
        i = RATES.index(wt.snapped)
        assert len(expect) == min(i, verify) + 1 + min(len(RATES) - 1 - i, verify)
    assert summary.verify_trained == len(wide)


def test_snap_band_and_tune_widths():
    assert snap(0.3, RATES) == (2**-3, "high")
    assert snap(1e-6, RATES) == (2**-9, "low")
    assert snap(2**-5 * 1.3, RATES) == (2**-5, "")
    assert snap(2**-5 * 1.5, RATES) == (2**-4, "")
    assert band(2**-9, RATES, 2) == (2**-9, 2**-8, 2**-7)
    assert band(2**-6, RATES, 1) == (2**-7, 2**-6, 2**-5)
    assert band(2**-6, RATES, 0) == (2**-6,)
    assert default_tune_widths((16, 32, 64, 128, 256), 64) == (16, 32, 64)
    assert default_tune_widths((4, 8, 16, 32, 128), 8) == (4, 8, 16)
    assert check_tune_widths(WIDTHS, (16, 4, 8), 64) == (4, 8, 16)
    with pytest.raises(ConfigError, match="nothing is left to predict"):
        check_tune_widths(WIDTHS, None, 64)  # every width is up to the base width
    with pytest.raises(ConfigError, match="not one of the grid's widths"):
        check_tune_widths(WIDTHS, (5,), 64)
    with pytest.raises(ConfigError, match="made by plan_transfer"):
        TransferPlan(*range(11))
    with pytest.raises(ConfigError, match="must be a TransferPlan"):
        run_transfer("plan")


def test_the_plan_names_the_default_tune_widths_and_compares(tmp_path, mnist_dir):
    o = cli(
        "transfer",
        "--hidden",
        "4,8,16,32",
        *COMMON,
        "--base-width",
        "4",
        "--dry-run",
        "--data-dir",
        mnist_dir,
        "--db",
        tmp_path / "p.db",
    )
    assert o.code == 0, o.text
    assert "tune widths 4, 8, 16 by search; predict 32 " in o.err
    assert "verify: 1 predicted width × 2 facets × 3 rates × 2 seeds = up to 12 trials" in o.err
    assert "of the full grid over every width" in o.err
    assert not (tmp_path / "p.db").exists()


# --------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    "args,words",
    [
        (["--tune-widths", "4,5"], "the tune width 5 is not one of the grid's widths"),
        (["--tune-widths", "4,8,16,32"], "nothing is left to predict"),
        (["--verify", "3"], "--verify"),
        (["--verify", "-1"], "--verify"),
        (["--lr", "2^-5"], "give --lr two or more"),
        (["--checkpoint-every", "off"], "continues its trials from their checkpoints"),
    ],
)
def test_bad_transfer_input_is_refused_and_the_store_untouched(tmp_path, mnist_dir, args, words):
    db = tmp_path / "t.db"
    db.write_bytes(b"")  # a store's file not yet written: its bytes must stay
    absent = tmp_path / "new.db"
    for store in (db, absent):
        o = cli(*last_wins(*TRANSFER, "--data-dir", mnist_dir, "--db", store, *args))
        assert words in o.error_line()
    assert db.read_bytes() == b"" and not absent.exists()
    assert not (tmp_path / "t.db.checkpoints").exists() and not (tmp_path / "new.db.checkpoints").exists()


def test_a_db_that_is_a_folder_is_refused(tmp_path, mnist_dir):
    folder = tmp_path / "store"
    folder.mkdir()
    o = cli(*TRANSFER, "--data-dir", mnist_dir, "--db", folder)
    assert "folder" in o.error_line() or "directory" in o.error_line()
    assert list(folder.iterdir()) == []


# --------------------------------------------------------------------------- kill -9


def _rows(db) -> int:
    if not db.exists():
        return 0
    try:
        conn = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)
        n = conn.execute("SELECT count(*) FROM trials").fetchone()[0]
        conn.close()
        return n
    except sqlite3.Error:
        return 0


@pytest.mark.slow
def test_a_transfer_killed_with_kill_9_resumes_to_the_same_store(transferred, tmp_path):
    """Killed at a random stored row in the tuning search, then at a random one among the
    verify trials; started again, it ends with the uninterrupted transfer's store."""
    ref_tmp, env, _ = transferred
    ref = _by_key(ref_tmp / "t.db")
    tuned_rows = sum(1 for r in ref.values() if r.config.hidden in TUNED)
    rng = random.Random()
    wants = [rng.randrange(1, tuned_rows), rng.randrange(tuned_rows + 1, len(ref))]
    db = tmp_path / "k.db"
    args = [LSTM_SWEEP, *TRANSFER, "--db", str(db)]
    kills = 0
    for want in wants:  # kill once the store holds that many trials
        proc = subprocess.Popen(
            args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        deadline = time.time() + 300
        while _rows(db) < want and proc.poll() is None and time.time() < deadline:
            time.sleep(0.01)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            kills += 1
        proc.wait(timeout=60)
    assert kills >= 1, wants
    o = _cmd(*TRANSFER, "--db", db, env=env)
    assert o.returncode == 0, o.stderr
    got = _by_key(db)
    assert got.keys() == ref.keys(), wants
    assert all(_same(got[k], ref[k]) for k in ref), wants


# --------------------------------------------------------------------------- the edge of stable training


def _verified_band(accs: dict[float, list], param: str = "sp", snapped: float = 2.0**-6):
    """A predicted width of 256 units whose verified rates scored ``accs`` (rate -> one value per
    seed: an accuracy, "nan" for a diverged seed, "oom" for one out of memory), as
    ``run_transfer`` judges it."""
    from helpers.factory import trial
    from lstm_sweep.running.search import search_rows
    from lstm_sweep.study.config import TrialConfig

    rates = tuple(2.0**-k for k in range(9, 2, -1))
    configs = [TrialConfig(256, r, seed=s, steps=30, param=param) for r in rates for s in range(3)]
    (row,) = search_rows(configs)
    results = {}
    for r, values in accs.items():
        for s, v in enumerate(values):
            if v in ("nan", "oom"):
                status = Status.DIVERGED if v == "nan" else Status.OOM
                t = trial(256, r, None, seed=s, status=status, param=param)
            else:
                t = trial(256, r, v, seed=s, param=param)
            results[t.key] = t
    wt = transfer_module.WidthTransfer(256, snapped, snapped / 1.5, snapped * 1.5, True, "", snapped)
    metric = metric_of(configs[0])
    ft = transfer_module.FacetTransfer("", param, "rule", {128: snapped}, None, [wt], metric)
    return ft, transfer_module._verified(wt, row, results, metric, 1), rates


def test_a_failing_seed_above_the_prediction_is_named_with_its_distance_and_sps_warning():
    ft, wt, rates = _verified_band(
        {2.0**-7: [0.97, 0.97, 0.98], 2.0**-6: [0.97, 0.98, 0.97], 2.0**-5: [0.10, 0.65, "nan"]}
    )
    assert wt.failing == ((2.0**-5, 2, 3),) and wt.found in (2.0**-7, 2.0**-6)
    note = transfer_module.edge_note(ft, wt, rates)
    assert "lr 0.0312 fails 2 of 3 seeds" in note and "1 grid step above the predicted rate" in note
    assert "under sp" in note and "below it" in note


def test_no_failing_seed_no_note_and_mup_gets_no_sp_warning():
    _, wt, _ = _verified_band({r: [0.97, 0.96, 0.98] for r in (2.0**-7, 2.0**-6, 2.0**-5)})
    assert wt.failing == ()
    ft, wt, rates = _verified_band(
        {2.0**-7: [0.97] * 3, 2.0**-6: [0.15, 0.9, 0.9], 2.0**-5: [0.1] * 3}, param="mup"
    )
    assert wt.failing == ((2.0**-6, 1, 3), (2.0**-5, 3, 3))
    note = transfer_module.edge_note(ft, wt, rates)
    assert "at or below the predicted rate" in note and "under sp" not in note


def test_a_seed_not_yet_trained_or_out_of_memory_is_not_a_failure():
    _, wt, _ = _verified_band({2.0**-6: [0.97, 0.96], 2.0**-5: [0.96, "oom", 0.97]})
    assert wt.failing == ()  # a missing seed or one out of memory says nothing about stability


def _search_row(accs: dict[float, list], hidden: int = 128, param: str = "sp"):
    """One tuned width's row and its stored search trials: rate -> per seed an accuracy at its
    rung (pruned), "nan" (diverged) or "oom"."""
    from helpers.factory import trial
    from lstm_sweep.running.search import search_rows
    from lstm_sweep.study.config import TrialConfig

    rates = tuple(2.0**-k for k in range(10, -1, -1))
    (row,) = search_rows(
        [TrialConfig(hidden, r, seed=s, steps=30, param=param) for r in rates for s in range(3)]
    )
    results = {}
    for r, values in accs.items():
        for s, v in enumerate(values):
            if v in ("nan", "oom"):
                status = Status.DIVERGED if v == "nan" else Status.OOM
                t = trial(hidden, r, None, seed=s, status=status, param=param)
            else:
                t = trial(hidden, r, v, seed=s, status=Status.PRUNED, param=param)
            results[t.key] = t
    return row, results


def test_the_search_edge_is_the_smallest_rate_above_the_best_where_most_seeds_break():
    from lstm_sweep.running.transfer import search_edges

    accs = {
        2.0**-10: [0.09, 0.1, 0.11],  # too small a rate learns nothing: not the edge
        2.0**-6: [0.95, 0.96, 0.95],
        2.0**-5: [0.9, 0.15, 0.8],  # one seed of three: not most
        2.0**-4: [0.6, 0.17, "nan"],  # two of three: the edge
        2.0**-3: [0.5, 0.6, 0.7],  # noise above the edge does not move it
        2.0**-1: ["oom", "oom", 0.1],  # out of memory says nothing; one judged seed, broken
    }
    row, results = _search_row(accs)
    assert search_edges([row], results, {128: 2.0**-6}) == {128: 2.0**-4}
    assert search_edges([row], results, {128: 2.0**-4}) == {128: 2.0**-1}
    assert search_edges([row], results, {128: None}) == {}
    row, results = _search_row({2.0**-6: [0.95] * 3, 2.0**-5: [0.9, 0.15, 0.8]})
    assert search_edges([row], results, {128: 2.0**-6}) == {}


@given(
    edge_exp=st.integers(-12, 0),
    widest=st.sampled_from([32, 64, 128]),
    factor=st.sampled_from([2, 4, 8, 16]),
    rate_exp=st.integers(-14, 0),
    param=st.sampled_from(["sp", "mup"]),
)
def test_a_prediction_is_set_against_the_edge_scaled_as_its_parametrization_says(
    edge_exp, widest, factor, rate_exp, param
):
    rates = tuple(2.0**-k for k in range(14, -1, -1))
    tuned = {16: 2.0**rate_exp, widest: 2.0**rate_exp}
    edges = {16: 1.0, widest: 2.0**edge_exp}
    wide = widest * factor
    ft = predict_facet("", param, tuned, rates, (wide,), metric_of(TrialConfig(16, 0.1)), edges)
    (wt,) = ft.widths
    expected = 2.0**edge_exp / factor if param == "sp" else 2.0**edge_exp
    assert wt.edge_at == pytest.approx(expected) and ft.edges == edges
    assert wt.near_edge == (wt.snapped is not None and 2 * wt.snapped >= expected * (1 - 1e-9))
    if wt.near_edge:
        words = render_predictions([ft])
        assert f"hidden {wide}:" in words and "near the edge" in words
        assert ("1/width" in words) == (param == "sp")


def test_without_an_edge_there_is_no_warning():
    rates = tuple(2.0**-k for k in range(14, -1, -1))
    ft = predict_facet(
        "", "sp", {16: 2.0**-6, 32: 2.0**-6, 64: 2.0**-6}, rates, (1024,), metric_of(TrialConfig(16, 0.1))
    )
    assert ft.edges == {} and ft.widths[0].edge_at is None and not ft.widths[0].near_edge
    assert "not met in the tuning search" in render_predictions([ft])
