"""Checkpoints under hostile files: whatever lies at a trial's checkpoint paths (a FIFO, a link
to a device, a huge sparse file, a folder, another program's file) is skipped with a warning and
never blocks, floods memory or gets deleted; a checkpoint re-signed after editing (any field of
its state, generated) is refused before use, so that the trial resumes from the one before or
its beginning and ends exactly as one that never stopped; nothing is committed that ``check``
would refuse."""

from __future__ import annotations

import copy
import dataclasses
import math
import os
import shutil
import socket
import sqlite3
import threading
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import cli, examples
from lstm_sweep import TrialConfig
from lstm_sweep.store import load_results
from lstm_sweep.training import checkpoint as ckpt
from lstm_sweep.training.checkpoint import CheckpointDir, Checkpointing, checkpoint_dir
from lstm_sweep.training.train import train_group


class Stop(BaseException):
    """Stands for a kill: raised from inside the training loop, nothing after it runs."""


def _stop_at(n):
    def on_step(done, total):
        if done == n:
            raise Stop

    return on_step


def same(a, b) -> bool:
    """Two results of one trial are the same computation (times aside; NaN equals NaN)."""
    fields = ("status", "test_accuracy", "val_accuracy", "train_loss", "steps_done", "curve")
    return all(_equal(getattr(a, f), getattr(b, f)) for f in fields)


def _configs(lrs=(1e-2,)):
    return [TrialConfig(hidden=16, lr=lr, seed=0, data_seed=0, steps=40, batch_size=50) for lr in lrs]


def _settled(fn, *args, timeout=120.0):
    """``fn(*args)`` in a thread, awaited up to ``timeout`` (a generous bound for a call that
    must not block at all): its value, or a failure naming the hang."""
    out: dict = {}
    thread = threading.Thread(target=lambda: out.setdefault("v", fn(*args)), daemon=True)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), f"{fn.__name__} blocked"
    return out["v"]


@pytest.fixture(scope="module")
def saved(mnist, tmp_path_factory):
    """A single trial and a fused pair with a diverging member, each stopped at step 30: their
    checkpoints at step 20 (with one at step 10 as ``.prev``), and their uninterrupted results."""
    torch.set_num_threads(1)
    out = {}
    for name, engine, lrs in (("single", "single", (1e-2,)), ("fused", "fused", (1e-2, 1e38))):
        folder = CheckpointDir(tmp_path_factory.mktemp(name))
        configs = _configs(lrs)
        with pytest.raises(Stop):
            train_group(
                configs, mnist, engine=engine, checkpointing=Checkpointing(folder, 0), on_step=_stop_at(30)
            )
        out[name] = {
            "engine": engine,
            "configs": configs,
            "folder": folder,
            "reference": train_group(configs, mnist, engine=engine),
            "blobs": {c.key(): folder.load(c.key()) for c in configs},
        }
    statuses = [ckpt.decode(b[0])["status"] for b in out["fused"]["blobs"].values()]
    assert statuses == ["done", "diverged"], statuses  # the states cover both kinds
    return out


def _resume(mnist, case, tmp_path, blobs):
    """The trials of ``case`` resumed from checkpoints made of ``blobs`` (key -> [newest,
    previous]) in a fresh folder."""
    folder = CheckpointDir(tmp_path / "ck")
    folder.folder.mkdir()
    for key, (newest, *prev) in blobs.items():
        folder.path(key).write_bytes(newest)
        if prev:
            Path(str(folder.path(key)) + ".prev").write_bytes(prev[0])
    return train_group(
        case["configs"], mnist, engine=case["engine"], checkpointing=Checkpointing(folder, 3600)
    )


# --------------------------------------------------------------------------- file kinds


def _plant(kind: str, path: Path, tmp_path: Path, valid: bytes) -> None:
    """Something that is not a checkpoint this tool wrote, at ``path``."""
    if kind == "fifo":
        os.mkfifo(path)
    elif kind in ("/dev/zero", "/dev/urandom"):
        path.symlink_to(kind)
    elif kind == "link to a checkpoint":
        (tmp_path / "elsewhere.ckpt").write_bytes(valid)
        path.symlink_to(tmp_path / "elsewhere.ckpt")
    elif kind == "dangling link":
        path.symlink_to(tmp_path / "nowhere")
    elif kind == "folder":
        path.mkdir()
        (path / "inside").write_bytes(b"kept")
    elif kind == "socket":
        s, cwd = socket.socket(socket.AF_UNIX), os.getcwd()
        os.chdir(path.parent)  # a socket's path is short (108 bytes): bound by its name
        try:
            s.bind(path.name)
        finally:
            os.chdir(cwd)
            s.close()
    elif kind == "sparse 2 GB with the magic":
        with open(path, "wb") as f:
            f.write(ckpt.MAGIC)
            f.truncate(2 << 30)
    elif kind == "sqlite store":
        conn = sqlite3.connect(path)
        conn.execute("CREATE TABLE t (x)")
        conn.commit()
        conn.close()
    else:
        raise AssertionError(kind)


KINDS = [
    "fifo",
    "/dev/zero",
    "/dev/urandom",
    "link to a checkpoint",
    "dangling link",
    "folder",
    "socket",
    "sparse 2 GB with the magic",
    "sqlite store",
]


def _fingerprint(path: Path):
    """What a planted thing is (kind, target, bytes): the same before and after means it was
    left alone."""
    st_ = os.lstat(path)
    if path.is_symlink():
        return ("link", os.readlink(path))
    if path.is_dir():
        return ("dir", sorted(p.name for p in path.iterdir()))
    if path.is_file() and st_.st_size < 1 << 20:
        return ("file", path.read_bytes())
    return (oct(st_.st_mode), st_.st_size)


@pytest.mark.parametrize("which", ["newest", "prev", "both"])
@pytest.mark.parametrize("kind", KINDS)
def test_what_is_not_a_checkpoint_is_skipped_without_blocking_and_left_alone(
    mnist, saved, tmp_path, caplog, kind, which
):
    torch.set_num_threads(1)
    case = saved["single"]
    (config,) = case["configs"]
    key = config.key()
    newest, prev = case["blobs"][key]
    folder = CheckpointDir(tmp_path / "ck")
    folder.folder.mkdir()
    path, prev_path = folder.path(key), Path(str(folder.path(key)) + ".prev")
    planted = {"newest": [path], "prev": [prev_path], "both": [path, prev_path]}[which]
    for p in planted:
        _plant(kind, p, tmp_path, newest)
    if which == "prev":
        path.write_bytes(newest)
    if which == "newest":
        prev_path.write_bytes(prev)
    before = {p: _fingerprint(p) for p in planted}
    limit = ckpt.size_limit(config, len(mnist.train), 28)
    blobs = _settled(folder.load, key, limit)
    assert all(len(b) <= limit for b in blobs)
    readable = kind == "sqlite store"  # a regular file: read, then refused by its header
    assert len(blobs) == (2 if readable else 2 - len(planted))
    assert "skipped" in caplog.text or kind == "sqlite store"
    # the trial trains to the end as if it had never stopped, and keeps nothing it did not write
    caplog.clear()
    policy = Checkpointing(folder, 0)
    result = _settled(lambda: train_group([config], mnist, engine="single", checkpointing=policy))
    assert same(result[0], case["reference"][0])
    folder.delete([key])  # as the driver does once its result is stored
    if kind.endswith("with the magic"):  # it carries our header: a damaged one of ours, gone
        assert not any(os.path.lexists(p) for p in planted)
        return
    assert {p: _fingerprint(p) for p in planted} == before
    assert "left alone" in caplog.text


def test_a_huge_file_is_not_read_past_the_trials_limit(mnist, saved, tmp_path, caplog):
    """A file of the right kind but more bytes than the trial's checkpoint can be: refused from
    its size (nothing read), and the same for a file that grows after the check."""
    case = saved["single"]
    (config,) = case["configs"]
    folder = CheckpointDir(tmp_path)
    limit = ckpt.size_limit(config, len(mnist.train), 28)
    newest = case["blobs"][config.key()][0]
    assert len(newest) < limit < 50 * len(newest)  # the bound is tight enough to mean something
    folder.path(config.key()).write_bytes(newest + b"\0" * (limit + 1 - len(newest)))
    assert folder.load(config.key(), limit) == []
    assert "more than a checkpoint of this trial can be" in caplog.text


# --------------------------------------------------------------------------- forged states

JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.lists(st.integers(-3, 3), max_size=4),
    st.just(torch.tensor([1.0, 2.0])),
    st.just(10**400),
    st.just({}),
)


def _edit(state: dict, data) -> tuple[dict, str | tuple]:
    """``state`` with one part changed by ``data`` (a Hypothesis draw), and what changed (for
    a curve's value: its name and the value)."""
    s = copy.deepcopy(state)
    where = data.draw(
        st.sampled_from(["scalar", "stream", "curve", "tensor", "order", "rng", "missing", "frozen"])
    )
    if where == "scalar":
        field = data.draw(
            st.sampled_from(
                [
                    "step",
                    "opt_t",
                    "status",
                    "steps_done",
                    "last_loss",
                    "started_at",
                    "wall_s",
                    "cpu_s",
                    "layout",
                    "key",
                    "format",
                ]
            )
        )
        s[field] = data.draw(
            st.one_of(JUNK, st.integers(-5, 60), st.sampled_from(["done", "diverged", "pruned", "failed"]))
        )
        return s, f"{field}={s[field]!r:.40}"
    if where == "stream":
        field = data.draw(st.sampled_from(["index", "epochs"]))
        s["stream"][field] = data.draw(st.one_of(JUNK, st.integers(-2, 10**9)))
        return s, f"stream.{field}={s['stream'][field]!r:.40}"
    if where == "rng":
        s["stream"]["rng"]["state"]["state"] = data.draw(st.integers(0, 2**128 - 1))
        return s, "rng state"
    if where == "order":
        order = s["stream"]["order"]
        how = data.draw(st.sampled_from(["short", "swap", "float", "shift"]))
        if how == "short":
            s["stream"]["order"] = order[: data.draw(st.integers(0, len(order) - 1))]
        elif how == "swap":
            i, j = data.draw(st.integers(0, len(order) - 1)), data.draw(st.integers(0, 9))
            order[[i, j]] = order[[j, i]]
        elif how == "float":
            s["stream"]["order"] = order.float()
        else:
            s["stream"]["order"] = (order + 1) % len(order) * 10**9
        return s, f"order {how}"
    if where == "curve":
        curve = _points(s)  # a point added to an empty curve is a forgery already
        how = data.draw(st.sampled_from(["drop", "duplicate", "append", "point"]))
        if how == "drop":
            curve.pop(data.draw(st.integers(0, len(curve) - 1)))
        elif how == "duplicate":
            curve.append(list(curve[-1]))
        elif how == "append":
            curve.append([data.draw(st.integers(-1, 10**6)), 0.5, 0.5])
        else:
            i, k = data.draw(st.integers(0, len(curve) - 1)), data.draw(st.integers(0, 2))
            curve[i][k] = data.draw(st.one_of(JUNK, st.floats(-1, 3), st.integers(-1, 99)))
            return s, (f"curve {'step loss accuracy'.split()[k]}", curve[i][k])
        return s, f"curve {how}"
    if where == "tensor":
        i = data.draw(st.integers(0, len(s["tensors"]) - 1))
        how = data.draw(st.sampled_from(["nan", "inf", "shape", "dtype", "junk"]))
        t = s["tensors"][i]
        if how in ("nan", "inf"):
            t.view(-1)[data.draw(st.integers(0, t.numel() - 1))] = math.nan if how == "nan" else math.inf
            if s["status"] == "diverged":  # a diverged model may hold anything: not a forgery
                return state, "nothing"
        elif how == "shape":
            s["tensors"][i] = t.reshape(-1)[:-1]
        elif how == "dtype":
            s["tensors"][i] = t.double()
        else:
            s["tensors"][i] = data.draw(JUNK)
        return s, f"tensor {i} {how}"
    if where == "frozen":
        s["frozen"] = data.draw(st.one_of(JUNK, st.just(torch.zeros(3))))
        return s, f"frozen={s['frozen']!r:.30}"
    field = data.draw(st.sampled_from(sorted(s)))
    del s[field]
    return s, f"no {field}"


def _equal(a, b) -> bool:
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        return (
            isinstance(a, torch.Tensor)
            and isinstance(b, torch.Tensor)
            and a.dtype == b.dtype
            and a.shape == b.shape
            and torch.equal(a.nan_to_num(7.0), b.nan_to_num(7.0))
        )
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if hasattr(a, "__dataclass_fields__"):  # a curve point
        return type(a) is type(b) and _equal(list(vars(a).values()), list(vars(b).values()))
    return type(a) is type(b) and a == b


@settings(max_examples=examples(300), suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_every_forged_state_is_refused_and_never_raises(mnist, saved, data):
    """One field of a real checkpoint's state changed (generated): the state is refused with a
    reason, and checking it never raises, whatever the field holds."""
    case = saved[data.draw(st.sampled_from(["single", "fused"]))]
    j = data.draw(st.integers(0, len(case["configs"]) - 1))
    config = case["configs"][j]
    state = ckpt.decode(case["blobs"][config.key()][0])
    n = len(mnist.train)
    assert ckpt.state_problem(state, config, config.steps, n) is None
    forged, what = _edit(state, data)
    if _equal(forged, state):
        return
    try:
        why = (
            ckpt.state_problem(forged, config, config.steps, n)
            if isinstance(forged.get("key"), str)
            and forged["key"] == config.key()
            and type(forged.get("format")) is int
            and forged["format"] == 1
            else "another trial's or format's"
        )  # (as decode and best_checkpoint see them)
    except KeyError:
        why = None
    if why is None and "key" in forged:
        # what state_problem does not see, the engine sees (its own layout and dtype)
        why = ckpt.tensor_problem(_engine(case, config), j, forged)
    if why is None:  # what training overwrites or only times: any value a stored row may hold
        field, value = what if isinstance(what, tuple) else (what.split("=", 1)[0], None)
        value = forged.get(field, value)
        # a value no stored row could tell from the truth: a loss of the curve (a batch's
        # accuracy may be only a multiple of 1/batch), a time, a loss training overwrites
        harmless = (
            field in ("wall_s", "cpu_s", "started_at", "curve loss")
            or (field == "last_loss" and forged["status"] == "done")
            or (
                # where a diverged model stopped: any step before the state's, with its curve
                field == "steps_done"
                and forged["status"] == "diverged"
                and isinstance(value, int)
                and 0 < value <= forged["step"]
            )
            or (
                field == "curve accuracy"
                and isinstance(value, float)
                and 0 <= value <= 1
                and (value * config.batch_size) % 1 < 1e-3
            )
        )
        assert (
            harmless
            and isinstance(value, (int, float))
            and not isinstance(value, bool)
            and 0 <= value < 1e300
        ), f"accepted a forged state: {what}"
        return
    # and through the file: decoded, checked, refused with a warning (never an exception)
    blob = ckpt.encode(forged)
    used = ckpt.best_checkpoint(
        _Blobs([blob]), config.key(), lambda s: ckpt.state_problem(s, config, config.steps, n)
    )
    assert used is None or ckpt.tensor_problem(_engine(case, config), j, forged), what


class _Blobs:
    def __init__(self, blobs):
        self.blobs = blobs

    def load(self, key, limit=None):
        return self.blobs


_ENGINES: dict = {}


def _engine(case, config):
    from lstm_sweep.training.engines import make_engine

    name = case["engine"]
    if name not in _ENGINES:
        _ENGINES[name] = make_engine(name, case["configs"], torch.device("cpu"))
    return _ENGINES[name]


def _points(s: dict) -> list:
    """The state's curve, with a point added where it has none (a model that diverged at once:
    the point is a forgery of its own)."""
    if not s["curve"]:
        s["curve"].append([10, 0.5, 0.5])
    return s["curve"]


FORGERIES = {
    "curve step 9999": lambda s: _points(s).__setitem__(-1, [9999, 0.5, 0.5]),
    "accuracy 2.0": lambda s: _points(s)[0].__setitem__(2, 2.0),
    "stream index 10^9": lambda s: s["stream"].__setitem__("index", 10**9),
    "short order": lambda s: s["stream"].__setitem__("order", s["stream"]["order"][:100]),
    "nan tensor": lambda s: s["tensors"][0].view(-1).__setitem__(0, math.nan),
    "rng state": lambda s: s["stream"]["rng"]["state"].__setitem__("state", 12345),
    "step 1, later curve": lambda s: s.__setitem__("step", 1),
    "duplicate curve step": lambda s: _points(s).append(list(s["curve"][-1])),
    "frozen copy of another shape": lambda s: s.__setitem__("frozen", torch.zeros(3)),
}


@pytest.mark.slow
@pytest.mark.parametrize("forgery", sorted(FORGERIES))
@pytest.mark.parametrize("which", ["newest", "both"])
def test_a_forged_checkpoint_falls_back_and_the_trial_ends_as_if_never_stopped(
    mnist, saved, tmp_path, caplog, forgery, which
):
    """Re-signed after editing, the newest checkpoint (or both) is refused with a warning; the
    trials resume from the previous one (or their beginning) and end bit for bit as the
    uninterrupted ones, every member of a fused group with a diverged one among them."""
    torch.set_num_threads(1)
    case = saved["fused"]
    blobs = {}
    for key, (newest, prev) in case["blobs"].items():
        forged = []
        for blob in (newest, prev)[: 2 if which == "both" else 1]:
            state = ckpt.decode(blob)
            FORGERIES[forgery](state)
            forged.append(ckpt.encode(state))
        blobs[key] = forged + ([prev] if which == "newest" else [])
    results = _resume(mnist, case, tmp_path, blobs)
    assert all(same(a, b) for a, b in zip(case["reference"], results))
    assert "unusable" in caplog.text or "cannot be resumed" in caplog.text
    assert ("resumes from its previous checkpoint" in caplog.text) == (which == "newest")


# --------------------------------------------------------------------------- through the CLI

GRID = [
    "--hidden",
    "16",
    "--lr",
    "1e-2,1e38",
    "--steps",
    "40",
    "--batch-size",
    "50",
    "--device",
    "cpu",
    "--workers",
    "1",
    "--no-progress",
    "--engine",
    "fused",
]


def test_a_forged_checkpoint_in_a_sweep_stores_what_check_accepts(mnist_dir, saved, tmp_path, caplog):
    """Forged checkpoints of every trial, each a different lie, in front of a real ``run``: it
    stores every trial with the numbers of a run that never stopped, and ``check`` says ok."""
    db = tmp_path / "s.db"
    case = saved["fused"]
    folder = CheckpointDir(checkpoint_dir(db))
    folder.folder.mkdir()
    for (key, (newest, _)), forgery in zip(case["blobs"].items(), ["accuracy 2.0", "curve step 9999"]):
        state = ckpt.decode(newest)
        FORGERIES[forgery](state)
        folder.path(key).write_bytes(ckpt.encode(state))
    out = cli("run", "--db", db, "--data-dir", mnist_dir, *GRID)
    assert out.code == 0, out.text
    assert "unusable" in out.err + caplog.text
    stored = {r.key: r for r in load_results(db, with_curves=True)}
    for ref in case["reference"]:
        got = stored[ref.key]
        if ref.train_loss is not None and math.isnan(ref.train_loss):  # SQLite: NaN is NULL
            assert got.train_loss is None
            got = dataclasses.replace(got, train_loss=ref.train_loss)
        assert same(got, ref), (got, ref)
    check = cli("check", "--db", db)
    assert check.code == 0 and "ok" in check.out, check.text
    assert folder.keys() == []  # finished: their (forged) checkpoints went with them


def test_foreign_files_at_checkpoint_paths_survive_a_sweep(mnist_dir, saved, tmp_path, caplog):
    """Two SQLite stores copied to a trial's ``.ckpt`` and ``.ckpt.prev``: warned about, never
    written over, still there after the trial finished."""
    db = tmp_path / "s.db"
    case = saved["fused"]
    folder = CheckpointDir(checkpoint_dir(db))
    folder.folder.mkdir()
    key = case["configs"][0].key()
    planted = [folder.path(key), Path(str(folder.path(key)) + ".prev")]
    for p in planted:
        _plant("sqlite store", p, tmp_path, b"")
    before = {p: p.read_bytes() for p in planted}
    out = cli("run", "--db", db, "--data-dir", mnist_dir, *GRID, "--checkpoint-every", "0")
    assert out.code == 0, out.text
    assert {p: p.read_bytes() for p in planted} == before
    assert "left alone" in out.err + caplog.text
    assert len(load_results(db)) == 2


@pytest.mark.slow
def test_retry_with_checkpoints_off_removes_the_stale_ones_and_plans_stay_bounded(mnist_dir, tmp_path):
    """``run --retry pruned --checkpoint-every off`` finishes a search's pruned trials from
    their beginning and removes their (now stale) checkpoints; running a grid again and again
    keeps one plan row, not one per run."""
    db = tmp_path / "s.db"
    grid = [
        "--hidden",
        "16",
        "--lr",
        "1e-3:1e-1:3",
        "--steps",
        "60",
        "--batch-size",
        "50",
        "--device",
        "cpu",
        "--workers",
        "1",
    ]
    out = cli("search", "--db", db, "--data-dir", mnist_dir, *grid)
    assert out.code == 0, out.text
    pruned = [r.key for r in load_results(db) if str(r.status) == "pruned"]
    assert pruned and set(pruned) <= set(CheckpointDir(checkpoint_dir(db)).keys())
    for _ in range(3):
        out = cli(
            "run",
            "--db",
            db,
            "--data-dir",
            mnist_dir,
            *grid,
            "--retry",
            "pruned",
            "--checkpoint-every",
            "off",
            "--no-progress",
        )
        assert out.code == 0, out.text
    assert not any(str(r.status) == "pruned" for r in load_results(db))
    assert CheckpointDir(checkpoint_dir(db)).keys() == []
    conn = sqlite3.connect(db)
    plans = conn.execute("SELECT count(*) FROM meta WHERE name LIKE 'plan:%'").fetchone()[0]
    conn.close()
    assert plans == 1
    shutil.rmtree(checkpoint_dir(db), ignore_errors=True)


@pytest.mark.parametrize(
    "lie", ["curve step 9999", "accuracy 2.0", "repeated step", "pruned with a test accuracy"]
)
def test_a_result_the_store_would_refuse_is_stored_as_failed_with_its_reason(saved, tmp_path, lie):
    """The driver's last guard: a result that a reader would refuse (whatever made it) is
    committed as ``failed`` naming why, and the store stays one that ``check`` accepts."""
    from lstm_sweep.running.sweep import _storable
    from lstm_sweep.store import Store, result_problem
    from lstm_sweep.study.results import CurvePoint, Status

    good = saved["single"]["reference"][0]
    assert _storable(good) == (good, False)
    bad = {
        "curve step 9999": dataclasses.replace(good, curve=(*good.curve, CurvePoint(9999, 0.5, 0.5))),
        "accuracy 2.0": dataclasses.replace(good, test_accuracy=2.0),
        "repeated step": dataclasses.replace(good, curve=(*good.curve, good.curve[-1])),
        "pruned with a test accuracy": dataclasses.replace(good, status=Status.PRUNED),
    }[lie]
    assert result_problem(bad)
    stored, refused = _storable(bad)
    assert refused and stored.status is Status.FAILED and "refused" in stored.error
    db = tmp_path / "s.db"
    with Store(db) as store:
        store.save(stored)
    check = cli("check", "--db", db)
    assert check.code == 0 and "ok" in check.out, check.text
