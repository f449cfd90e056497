"""`lstm-sweep serve`: the live page of a store, over real HTTP on 127.0.0.1 (the real CLI in
its own process), and in a real browser (Debian's chromium driven by Playwright): a trial stored
by another process appears without a reload; the security rules hold; damage is a message."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from helpers import LSTM_SWEEP, cli, snapshot, trial
from lstm_sweep import Store
from lstm_sweep.serve.server import serve_store
from lstm_sweep.serve.state import Watcher

HOSTILE = '<script>alert("x")</script>&amp;<img src=x onerror=alert(1)>'


def _store(path: Path, widths=(16, 32), lrs=(1e-3, 1e-2, 1e-1), seeds=(0,), **config) -> Path:
    with Store(path) as s:
        for h in widths:
            for lr in lrs:
                for seed in seeds:
                    s.save(trial(h, lr, min(0.99, 0.5 + h / 100 + lr), seed=seed, **config))
    return path


class Served:
    """``lstm-sweep serve --port 0`` in its own process: its URL read from its stdout."""

    def __init__(self, db: Path, *args: str):
        self.proc = subprocess.Popen(
            [LSTM_SWEEP, "serve", "--db", str(db), "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self.url = self.proc.stdout.readline().strip()  # blocks until it listens (or dies)
        assert self.url.startswith("http://127.0.0.1:"), self.proc.stderr.read()
        self.port = int(self.url.rsplit(":", 1)[1].strip("/"))

    def request(self, method: str, path: str, host: str | None = None, body=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"Host": host if host is not None else f"127.0.0.1:{self.port}"}
        conn.request(method, path, body=body, headers=headers)
        r = conn.getresponse()
        out = r.status, dict(r.getheaders()), r.read()
        conn.close()
        return out

    def changes(self, since: int = 0) -> dict:
        status, _, body = self.request("GET", f"/api/changes?since={since}")
        assert status == 200
        return json.loads(body)

    def wait_for(self, test, timeout: float = 60.0) -> dict:
        """Poll /api/changes until ``test(changes)`` holds (a hang guard, not a timing)."""
        give_up = time.monotonic() + timeout
        while True:
            c = self.changes()
            if test(c):
                return c
            assert time.monotonic() < give_up, f"never happened: {c.get('error')}"
            time.sleep(0.1)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


@pytest.fixture
def served(tmp_path):
    servers = []

    def start(db, *args):
        s = Served(db, *args)
        servers.append(s)
        return s

    yield start
    for s in servers:
        s.close()


def _save_from_another_process(db: Path, hidden: int, lr: float, acc: float) -> None:
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); from helpers import trial; "
        "from lstm_sweep import Store; s = Store(sys.argv[2]); "
        "s.save(trial(int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]))); s.close()"
    )
    subprocess.run(
        [sys.executable, "-c", code, str(Path(__file__).parent), str(db), str(hidden), str(lr), str(acc)],
        check=True,
    )


# ----------------------------------------------------------------------------- state, updates


def test_the_watcher_sends_only_what_changed(tmp_path):
    db = _store(tmp_path / "s.db")
    w = Watcher(db)
    first = w.changes(0)
    assert first["full"] and len(first["rows"]) == 6 and len(first["tables"]) == 1
    assert w.changes(first["version"])["rows"] == []  # nothing new
    with Store(db) as s:
        s.save(trial(64, 1e-2, 0.97))
    assert w.refresh()
    later = w.changes(first["version"])
    assert not later["full"]
    assert [r["hidden"] for r in later["rows"]] == [64]  # only the new trial's row
    assert len(later["tables"]) == 1 and later["tables"][0]["rows"] == ["16", "32", "64"]
    assert "summary" in later and later["summary"]["trials"] == 7
    assert not w.refresh()  # no commit, no change
    assert w.changes(later["version"])["rows"] == []
    w.stop()


def test_training_publishes_its_curve_and_the_page_shows_running_trials(tmp_path, mnist):
    """A trial in training writes its curve so far beside its checkpoints; the watcher shows it
    with the trial's claim (no commit needed), and a trial's stored result takes its place."""
    from lstm_sweep.store.claims import Driver
    from lstm_sweep.study.config import TrialConfig
    from lstm_sweep.study.live import checkpoint_dir, live_path, read_live
    from lstm_sweep.training.checkpoint import CheckpointDir, Checkpointing
    from lstm_sweep.training.train import train_group

    db = _store(tmp_path / "s.db")
    folder = checkpoint_dir(db)
    configs = [
        TrialConfig(hidden=8, lr=lr, steps=30, display_step=10, dataset=mnist.name) for lr in (1e-2, 1e-1)
    ]
    published = []

    class Keeper(CheckpointDir):  # the folder's keeper, recording what it was given
        def save_live(self, key, blob):
            super().save_live(key, blob)
            published.append((key, read_live(self.folder, key)["step"]))

    keys = [c.key() for c in configs]
    w = Watcher(db)
    assert w.snapshot.summary["claims"] == []
    with Store(db) as s:  # claimed before it trains, as a driver does
        s.claim([keys[0]], Driver())
    results = train_group(
        configs,
        mnist,
        engine="fused",
        checkpointing=Checkpointing(Keeper(folder), every_s=1e9, live_every_s=0),
    )
    assert published == [(k, s) for s in (10, 20, 30) for k in keys]  # every curve point
    for c, r in zip(configs, results):
        got = read_live(folder, c.key())
        assert got["config"] == c and got["step"] == 30
        assert got["curve"] == [[p.step, p.loss, p.accuracy, p.val] for p in r.curve]

    assert w.refresh()
    (running,) = w.snapshot.summary["claims"]
    assert running["live"] and running["step"] == 30 and running["steps"] == 30
    assert len(running["curve"]) == 3 and running["_r"] == "8" and running["_c"] == "0.01"
    # more of the curve, no commit: the page hears of it
    live_path(folder, keys[0]).write_bytes(
        live_path(folder, keys[0]).read_bytes().replace(b'"step":30', b'"step":29')
    )
    v = w.version
    assert w.refresh() and w.version == v + 1
    assert w.snapshot.summary["claims"][0]["step"] == 29
    assert not w.refresh()
    # junk in the file: no curve, no crash
    published_blob = live_path(folder, keys[0]).read_bytes()
    live_path(folder, keys[0]).write_bytes(b"[" * 100_000)
    assert w.refresh() and "curve" not in w.snapshot.summary["claims"][0]
    live_path(folder, keys[0]).write_bytes(published_blob)  # (junk is never deleted: not ours)
    CheckpointDir(folder).delete(keys)  # as the driver does once the results are stored
    assert not any(folder.iterdir())
    w.stop()


def test_the_watcher_reads_only_the_trials_stored_since_its_last_look(tmp_path, monkeypatch):
    """A store of many trials is not read again at every commit: a look after one new trial
    reads (and checks) that trial's row only; a retried trial's replaced row is read again;
    another file in the store's place is read whole."""
    import lstm_sweep.store.store as store_module

    read = []
    real = store_module.result_from_row
    monkeypatch.setattr(store_module, "result_from_row", lambda d, *a: read.append(d["key"]) or real(d, *a))
    db = _store(tmp_path / "s.db", seeds=(0, 1, 2))
    read.clear()  # (saving checks each row as its readers will: not the watcher's reads)
    w = Watcher(db)
    assert len(read) == 18 and len(w.changes(0)["rows"]) == 18
    read.clear()
    new = trial(64, 1e-2, 0.97)
    with Store(db) as s:
        s.save(new)
    read.clear()
    assert w.refresh()
    assert read == [new.config.key()]
    read.clear()
    again = trial(16, 1e-3, 0.42)  # the same trial stored again (as --retry does)
    with Store(db) as s:
        s.save(again)
    read.clear()
    assert w.refresh()
    assert read == [again.config.key()]
    assert w.snapshot.rows[again.config.key()]["test_accuracy"] == 0.42
    assert len(w.snapshot.rows) == 19
    other = _store(tmp_path / "other.db", widths=(128,), lrs=(0.1,))
    os.replace(other, db)
    read.clear()
    assert w.refresh()
    assert len(read) == 1 and list(w.snapshot.rows) == read
    w.stop()


def test_serving_writes_nothing_beside_the_store(tmp_path, served):
    db = _store(tmp_path / "s.db")
    with Store(db) as s:  # checkpointed and closed: no -wal left
        s.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    before = snapshot(tmp_path)
    s = served(db)
    assert s.changes()["summary"]["trials"] == 6
    for path in ("/", "/static/app.js", "/api/changes?since=0"):
        assert s.request("GET", path)[0] == 200
    s.close()
    assert snapshot(tmp_path) == before


@pytest.mark.slow
def test_a_driver_records_its_plan_and_the_page_shows_progress(tmp_path, mnist_dir, served):
    db = tmp_path / "s.db"
    o = cli(
        "run",
        "--hidden",
        "8",
        "--lr",
        "0.01,0.1",
        "--steps",
        "5",
        "--device",
        "cpu",
        "--executor",
        "inprocess",
        "--no-progress",
        "--data-dir",
        mnist_dir,
        "--db",
        db,
    )
    assert o.code == 0, o.text
    s = served(db)
    progress = s.changes()["summary"]["progress"]
    assert progress["planned"] == 2 and progress["done"] == 2 and progress["running"] == 0


# ----------------------------------------------------------------------------- security


def test_security_rules_over_real_http(tmp_path, served):
    db = _store(tmp_path / "s.db")
    s = served(db)
    status, headers, body = s.request("GET", "/")
    assert status == 200
    csp = headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert not any(h.lower().startswith("access-control") for h in headers)
    # DNS rebinding: a page of another name must not read this one
    hostile = ("evil.example:80", f"evil.example:{s.port}", "", "localhost.evil.example", "127.0.0.1.nip.io")
    for host in hostile:
        assert s.request("GET", "/", host=host)[0] == 421, host
    for host in (f"localhost:{s.port}", "localhost:9999", "127.0.0.1", f"127.0.0.1:{s.port + 1}"):
        assert s.request("GET", "/", host=host)[0] == 200, host  # a tunnel's port is another
    # a fixed map of assets: no path reaches the file system, the store is never served
    for path in (
        "/static/../s.db",
        "/static/..%2fs.db",
        "/static/%2e%2e/s.db",
        f"/{db.name}",
        str(db),
        "/static/",
        "/static/app.js/",
        "/static/APP.JS",
        "/s.db-wal",
        "/../../etc/passwd",
        "/api/curves/../../s.db",
    ):
        status, _, body = s.request("GET", path)
        assert status == 404, path
        assert b"SQLite" not in body
    for method in ("POST", "PUT", "DELETE", "PATCH", "OPTIONS"):
        status, headers, _ = s.request(method, "/", body=b"x")
        assert status == 405 and headers["Allow"] == "GET, HEAD", method
    status, headers, body = s.request("HEAD", "/")
    assert status == 200 and body == b""
    # bad queries: a clear 400, never a traceback
    for query in ("keys=../../etc", "keys=" + ",".join(["ab" * 16] * 65), "keys=<script>"):
        status, _, body = s.request("GET", f"/api/curves?{query}")
        assert status == 400 and b"Traceback" not in body
    assert s.changes(-5)["full"] and s.changes(10**30)["full"]
    status, _, body = s.request("GET", "/api/changes?since=abc")
    assert status == 200 and json.loads(body)["full"]


def test_hostile_names_are_text(tmp_path, served):
    db = _store(tmp_path / "s.db", widths=(16,), dataset=HOSTILE)
    s = served(db)
    status, _, body = s.request("GET", "/")
    page = body.decode()
    assert HOSTILE not in page and "<script>alert" not in page and "<img src=x" not in page
    rows = s.changes()["rows"]
    assert rows[0]["dataset"] == HOSTILE  # kept as the data it is; the page inserts it as text


@pytest.mark.slow
def test_a_cap_on_event_streams_and_fifty_clients(tmp_path):
    db = _store(tmp_path / "s.db")
    server = serve_store(db, port=0, max_streams=2)
    try:
        streams = []
        for _ in range(2):
            c = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
            c.request("GET", "/events", headers={"Host": f"127.0.0.1:{server.port}"})
            r = c.getresponse()
            assert r.status == 200 and r.getheader("Content-Type").startswith("text/event-stream")
            assert r.fp.readline() == b"retry: 2000\n"
            streams.append(c)
        c = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        c.request("GET", "/events", headers={"Host": f"127.0.0.1:{server.port}"})
        assert c.getresponse().status == 503  # the page polls instead
        for c in streams:
            c.close()
        errors = []

        def client():
            try:
                for path in ("/", "/api/changes?since=0", "/static/app.js"):
                    with urllib.request.urlopen(server.url + path.lstrip("/"), timeout=60) as r:
                        assert r.status == 200
            except Exception as e:  # noqa: BLE001 - collected and reported
                errors.append(repr(e))

        threads = [threading.Thread(target=client) for _ in range(50)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
    finally:
        server.close()


def test_an_event_stream_pushes_a_new_trial(tmp_path):
    db = _store(tmp_path / "s.db")
    server = serve_store(db, port=0, interval=0.1)
    try:
        version = server.watcher.version
        c = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        c.request("GET", f"/events?since={version}", headers={"Host": f"127.0.0.1:{server.port}"})
        r = c.getresponse()
        assert r.fp.readline() == b"retry: 2000\n"
        _save_from_another_process(db, 128, 0.01, 0.98)
        data = None
        while data is None:  # the next event carries the change
            line = r.fp.readline()
            assert line, "the stream ended"
            if line.startswith(b"data: "):
                data = json.loads(line[6:])
        assert [row["hidden"] for row in data["rows"]] == [128]
        c.close()
    finally:
        server.close()


def test_a_damaged_replaced_or_deleted_store_is_a_message(tmp_path, served):
    db = _store(tmp_path / "s.db")
    s = served(db)
    assert s.changes()["error"] is None
    good = db.read_bytes()
    for f in (db.with_name("s.db-wal"), db.with_name("s.db-shm")):
        f.unlink(missing_ok=True)
    db.write_bytes(b"junk" * 4096)
    c = s.wait_for(lambda c: c["error"] is not None)
    assert "not an SQLite database" in c["error"] or "damaged" in c["error"], c["error"]
    assert len(c["rows"]) == 6  # the last state it could read stays on the page
    assert s.request("GET", "/")[0] == 200  # the server keeps running
    db.unlink()
    s.wait_for(lambda c: c["error"] is not None and "not" in c["error"])
    other = _store(tmp_path / "other.db", widths=(64,))
    os.replace(other, db)  # another store in its place
    c = s.wait_for(lambda c: c["error"] is None and c["summary"]["trials"] == 3)
    assert {r["hidden"] for r in c["rows"]} == {64}
    db.write_bytes(good)  # back again
    s.wait_for(lambda c: c["error"] is None and c["summary"]["trials"] == 6)


def test_bad_serve_options_are_refused(tmp_path):
    folder = tmp_path / "dir.db"
    folder.mkdir()
    o = cli("serve", "--db", folder, "--port", "0")
    assert o.code == 2 and "is not a file" in o.error_line()
    for port in ("-1", "65536", "http", "1e3"):
        o = cli("serve", "--db", tmp_path / "s.db", "--port", port)
        assert o.code == 2 and o.error_line().startswith("Error:"), port
    o = cli("serve", "--db", tmp_path / "s.db", "--rows", "lr", "--cols", "lr")
    assert o.code == 2 and "both lr" in o.error_line()
    server = serve_store(_store(tmp_path / "s.db"), port=0)
    try:  # a port in use
        o = cli("serve", "--db", tmp_path / "s.db", "--port", str(server.port))
        assert o.code == 2 and "cannot listen" in o.error_line()
    finally:
        server.close()


# ----------------------------------------------------------------------------- a real browser


@pytest.fixture
def browser(chromium):
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        yield b
        b.close()


@pytest.mark.slow
def test_the_page_updates_live_in_chromium(tmp_path, served, browser):
    db = _store(tmp_path / "s.db", dataset=HOSTILE)
    s = served(db)
    page = browser.new_page(viewport={"width": 1300, "height": 700})
    errors, requests, dialogs = [], [], []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(s.url)
    page.wait_for_selector("#trial-table tr[data-key]")
    page.wait_for_function("document.getElementById('status').textContent.includes('live')")
    assert page.locator("#trial-table tr[data-key]").count() == 6
    assert HOSTILE in page.inner_text("#trials")  # shown as text, not run
    # what the user is looking at: a filter, a selected cell, a scroll position
    page.fill("#filter", "0.01")
    page.click("table.heat td[data-row='32'][data-col='0.01']")
    page.wait_for_selector("#chart-curves polyline.mark", state="attached")
    page.evaluate("window.scrollTo(0, 400)")
    assert page.evaluate("window.scrollY") == 400
    page.evaluate("window.__marker = 'same page'")
    _save_from_another_process(db, 128, 0.01, 0.98)
    page.wait_for_selector("table.heat th:text-is('128')", timeout=5000)
    page.wait_for_selector("#trial-table tr[data-key] >> text='128'", timeout=5000)
    page.wait_for_function("document.querySelectorAll('#chart-time circle.mark').length === 7", timeout=5000)
    assert page.locator("#chart-time circle.mark").count() == 7
    assert page.evaluate("window.__marker") == "same page"  # not reloaded
    assert page.input_value("#filter") == "0.01"
    assert page.locator("#trial-table tr[data-key]").count() == 3  # the filter still applies
    assert page.locator("td.selected").count() == 1
    assert page.evaluate("window.scrollY") == 400
    # a trial of the selected cell being trained (another seed): its curve grows, dashed
    from lstm_sweep.store.claims import Driver
    from lstm_sweep.study.config import TrialConfig
    from lstm_sweep.study.live import checkpoint_dir, encode_live, live_path

    running = TrialConfig(hidden=32, lr=0.01, seed=7, steps=30, dataset=HOSTILE)
    path = live_path(checkpoint_dir(db), running.key())
    with Store(db) as st:  # claimed, then its curve written (as a driver's worker does)
        st.claim([running.key()], Driver())
    path.parent.mkdir()
    path.write_bytes(encode_live(running, 10, [(10, 1.5, 0.4)]))
    page.wait_for_selector("#chart-curves polyline.live", state="attached", timeout=5000)
    page.wait_for_selector("#running-list td:text-is('10 / 30')", state="attached", timeout=5000)
    path.write_bytes(encode_live(running, 20, [(10, 1.5, 0.4), (20, 0.9, 0.7)]))  # no commit
    page.wait_for_selector("#running-list td:text-is('20 / 30')", state="attached", timeout=5000)
    assert page.locator("#chart-curves polyline.live").count() == 1
    assert page.evaluate("window.__marker") == "same page" and page.evaluate("window.scrollY") == 400
    page.click("#cell-filter")  # the list: only the selected cell's trials (and the text filter)
    assert page.locator("#trial-table tr[data-key]").count() == 1
    assert page.inner_text("#cell-filter").startswith("only cell 32")
    page.click("#cell-filter")
    assert page.locator("#trial-table tr[data-key]").count() == 3
    page.screenshot(path=str(tmp_path / "page.png"), full_page=True)
    origin = s.url.rstrip("/")
    assert all(u.startswith(origin + "/") or u.startswith("data:") for u in requests), requests
    assert errors == [] and dialogs == []


@pytest.mark.slow
def test_run_serve_shows_the_sweep_while_it_runs(tmp_path, mnist_dir):
    """``run --serve 0``: the URL on stderr (stdout holds only the table: data), and the page of
    the store while the sweep runs:
    its plan's progress, its claims. The sweep cannot end before the test has looked: a claim
    of another driver (this test, beating it) holds one of its two trials until the test stores
    that trial itself, as a driver elsewhere would."""
    import socket
    import sqlite3

    from helpers import ClaimBeater, Lines
    from lstm_sweep.study.config import TrialConfig

    db = tmp_path / "r.db"
    held = TrialConfig(hidden=8, lr=0.1, steps=20)
    with Store(db):
        pass
    conn = sqlite3.connect(db)
    with conn:
        conn.execute(
            "INSERT INTO claims VALUES (?, 'elsewhere', ?, ?, NULL, ?, ?)",
            (held.key(), socket.gethostname(), os.getpid(), time.time(), time.time()),
        )
    conn.close()
    env = {**os.environ, "LSTM_SWEEP_DATA_DIR": str(mnist_dir)}
    proc = subprocess.Popen(
        [
            LSTM_SWEEP,
            "run",
            "--hidden",
            "8",
            "--lr",
            "0.01,0.1",
            "--steps",
            "20",
            "--device",
            "cpu",
            "--workers",
            "1",
            "--db",
            str(db),
            "--serve",
            "0",
            "--format",
            "csv",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        lines = Lines(proc)
        url = lines.wait_for("Watching").split(" at ")[-1].strip()
        assert url.startswith("http://127.0.0.1:"), url
        with ClaimBeater(db, os.getpid()):
            lines.wait_for("waiting for 1 trial being trained by another driver")
            with urllib.request.urlopen(url + "api/changes?since=0", timeout=60) as r:
                state = json.loads(r.read())
            give_up = time.monotonic() + 60  # the watcher looks every 0.5 s: a hang guard
            while state["summary"]["trials"] < 1 and time.monotonic() < give_up:
                time.sleep(0.2)
                with urllib.request.urlopen(url + "api/changes?since=0", timeout=60) as r:
                    state = json.loads(r.read())
            with urllib.request.urlopen(url, timeout=60) as r:
                assert r.status == 200 and b'id="initial-state"' in r.read()
            with Store(db) as st:  # the other driver's result
                st.save(trial(8, 0.1, 0.5, steps=20))
        assert proc.wait(timeout=600) == 0, lines.text()
        out = proc.stdout.read()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert out.splitlines() == ["hidden,lr_0.01,lr_0.1", out.splitlines()[1]], out  # the CSV only
    assert out.splitlines()[1].startswith("8,0.") and "http" not in out
    summary = state["summary"]
    assert summary["trials"] == 1 and summary["progress"]["planned"] == 2
    assert summary["progress"]["done"] == 1
    assert [c["key"] for c in summary["claims"] if c["live"]] == [held.key()]
    assert state["error"] is None and len(state["rows"]) == 1
    with pytest.raises(OSError):  # the page went with the sweep
        urllib.request.urlopen(url, timeout=10)


def test_a_curve_file_is_never_trusted(tmp_path):
    """Curve files of running trials are read, never trusted: junk, other trials', absurd
    numbers and an earlier attempt's file read as no curve, and never stop the server."""
    from lstm_sweep.store.claims import Driver
    from lstm_sweep.study.config import TrialConfig
    from lstm_sweep.study.live import checkpoint_dir, encode_live, live_path, read_live

    db = _store(tmp_path / "s.db")
    folder = checkpoint_dir(db)
    folder.mkdir()
    c, other = TrialConfig(hidden=8, lr=0.1, steps=30), TrialConfig(hidden=8, lr=0.2, steps=30)
    good = encode_live(c, 10, [(10, 1.0, 0.5)])
    assert read_live(folder, c.key()) is None  # none yet
    bad = [
        b"",
        b"null",
        b"{",
        b"[" * 50_000,
        good.replace(b"0.5,null]", b"1" + b"0" * 400 + b",null]"),
        good.replace(b"null]", b"1e999]"),  # a validation value that is no number
        good.replace(b"null]", b"null,1]"),  # five numbers to a point
        good.replace(b'"step":10', b'"step":31'),
        good.replace(b'"step":10', b'"step":true'),
        good.replace(b"0.5,null]", b'"<img src=x>",null]'),
        encode_live(other, 10, [(10, 1.0, 0.5)]),
        good + b" " * (1 << 20),
    ]
    path = live_path(folder, c.key())
    for blob in bad:
        path.write_bytes(blob)
        assert read_live(folder, c.key()) is None, blob[:60]
    with Store(db) as s:
        s.claim([c.key()], Driver())
    path.write_bytes(bad[4])
    w = Watcher(db)  # starts, whatever the file holds
    assert "curve" not in w.snapshot.summary["claims"][0] and w.snapshot.error is None
    path.write_bytes(good)
    os.utime(path, (1.0, 1.0))  # written before the trial was claimed: an earlier attempt's
    assert w.refresh() is False or "curve" not in w.snapshot.summary["claims"][0]
    path.write_bytes(good)  # now
    assert w.refresh() and w.snapshot.summary["claims"][0]["curve"] == [[10, 1.0, 0.5, None]]
    w.stop()


_TICKS = """(id) => ['x-tick', 'y-tick'].map((k) =>
    [...document.querySelectorAll(`#${id} text.${k}`)].map((t) => t.textContent))"""


@pytest.mark.slow
def test_the_charts_hold_at_their_edges_in_chromium(tmp_path, served, browser):
    """One rate stored, times and accuracies nearly equal, a curve near 1: no axis runs below
    zero or past 1, no tick label repeats, the time chart has a legend, a validation curve is
    drawn and named; an empty store says "0
    trials"; at a phone's width nothing is wider than the screen; when the server stops, the page
    says so and keeps what it showed."""
    from lstm_sweep.study.results import CurvePoint

    empty = tmp_path / "empty.db"
    with Store(empty):
        pass
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    e = served(empty)
    page.goto(e.url)
    page.wait_for_function("document.getElementById('status').textContent.includes('live')")
    assert page.inner_text("#status").startswith("0 trials stored")
    e.close()
    give_up = time.monotonic() + 120  # a hang guard: the page retries, then says so
    while "server has stopped" not in page.inner_text("#status"):
        assert time.monotonic() < give_up, page.inner_text("#status")
        page.wait_for_timeout(200)

    db = tmp_path / "s.db"
    curve = tuple(  # with the validation accuracy every 100 steps
        CurvePoint(10 * i, 1.0 / i, min(1.0, 0.97 + i / 2000), 0.95 + i / 6000 if i % 10 == 0 else None)
        for i in range(1, 61)
    )
    with Store(db) as s:
        for h, acc, wall in ((16, 0.9400, 15.0), (32, 0.9404, 15.2)):
            s.save(trial(h, 0.01, acc, wall=wall, curve=curve, steps=600))
    page.goto(served(db).url)
    page.wait_for_selector("#chart-time circle.mark")
    page.click("table.heat td[data-row='32'][data-col='0.01']")
    page.wait_for_selector("#chart-curves polyline.mark", state="attached")
    for chart in ("chart-lr", "chart-time", "chart-curves"):
        for labels in page.evaluate(_TICKS, chart):
            assert labels and all(a != b for a, b in zip(labels, labels[1:])), (chart, labels)
            assert not any(t.startswith("-") for t in labels), (chart, labels)
    xs, ys = page.evaluate(_TICKS, "chart-lr")
    assert xs == ["0.01"]  # one rate: its own tick, centred
    assert all(0 <= float(y) <= 1 for y in ys)
    assert all(float(y) <= 1 for y in page.evaluate(_TICKS, "chart-curves")[1])  # never 1.03
    # the validation curve: its own line with dots, named in a legend
    assert page.locator("#chart-curves g.val circle").count() == 6
    assert "validation" in page.inner_text("#chart-curves .legend")
    assert page.inner_text("#chart-time .legend") == "hidden 16\nhidden 32" or (
        "hidden 16" in page.inner_text("#chart-time .legend")
        and "hidden 32" in page.inner_text("#chart-time .legend")
    )
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(tmp_path / "phone.png"), full_page=True)
    # means one float rounding apart (0.098 and the mean of three 0.098s, 0.09800000000000002):
    # one value to the charts, not an endless loop of ticks
    flat = tmp_path / "flat.db"
    with Store(flat) as s:
        s.save(trial(16, 0.01, 0.098, wall=12.3))
        for seed in range(3):
            s.save(trial(32, 0.01, 0.098, seed=seed, wall=12.3 + seed * 1e-15))
    page.set_viewport_size({"width": 1400, "height": 900})
    page.goto(served(flat).url)
    page.wait_for_selector("#chart-time circle.mark")
    for chart in ("chart-lr", "chart-time"):
        xs, ys = page.evaluate(_TICKS, chart)
        assert len(xs) == 1 and 1 <= len(ys) <= 6, (chart, xs, ys)


@pytest.mark.slow
def test_the_report_fits_a_phone_in_chromium(tmp_path, browser):
    """The HTML report at a phone's 390 px: its tables scroll inside the page, its figures
    shrink; nothing makes the page wider than the screen."""
    from lstm_sweep.reporting.html import render_html

    results = [
        trial(h, lr, 0.9, seed=s) for h in (16, 32, 64) for lr in (1e-4, 1e-3, 1e-2, 0.1, 1.0) for s in (0, 1)
    ]
    page_file = tmp_path / "report.html"
    page_file.write_text(
        render_html(results, {"e1": {"torch": "2.x", "device": "cpu:test"}}), encoding="utf-8"
    )
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(page_file.as_uri())
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(tmp_path / "report-phone.png"), full_page=True)
