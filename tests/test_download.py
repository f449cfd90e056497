"""The downloader against a real HTTP server on 127.0.0.1 serving the real MNIST files."""

from __future__ import annotations

import gzip
import hashlib
import os
import re
import signal
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from helpers import LSTM_SWEEP
from lstm_sweep.data import MNIST_SHA256, download_mnist, load_dir, resolve_data_dir
from lstm_sweep.errors import DataError


@pytest.fixture(scope="module")
def server(mnist_dir):
    """Routes: /good/<f> the file; /corrupt/<f> a valid gzip of altered bytes;
    /partial/<f> promises the full length but closes halfway; /trickle/<f> one byte every
    0.25 s; /huge/<f> announces a terabyte; /endless/<f> sends bytes without end and no length;
    /cutgz/<f> a gzip cut short (its length announced honestly); anything else 404."""
    files = {p.name: p.read_bytes() for p in mnist_dir.glob("*.gz")}
    corrupt = {}
    for name, body in files.items():
        raw = bytearray(gzip.decompress(body))
        raw[-1] ^= 0xFF  # one flipped byte: still a valid gzip and a valid IDX file
        corrupt[name] = gzip.compress(bytes(raw), compresslevel=1)
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            hits.append(self.path)
            _, mode, name = self.path.split("/", 2)
            body = files.get(name)
            modes = ("good", "corrupt", "partial", "trickle", "huge", "endless", "cutgz")
            if body is None or mode not in modes:
                self.send_error(404)
                return
            if mode in ("trickle", "huge", "endless"):
                self.send_response(200)
                if mode != "endless":
                    self.send_header("Content-Length", str(10**12 if mode == "huge" else len(body)))
                self.end_headers()
                try:
                    for i in range(10**9):
                        if mode == "trickle":
                            self.wfile.write(body[i : i + 1])
                            self.wfile.flush()
                            time.sleep(0.25)
                        else:
                            self.wfile.write(b"\0" * 65536)
                except OSError:  # the client gave up
                    pass
                return
            if mode == "corrupt":
                body = corrupt[name]
            if mode == "cutgz":
                body = body[: len(body) // 2]
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if mode == "partial":
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(body)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield base, hits
    httpd.shutdown()
    httpd.server_close()


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_good_download_verifies_every_file(server, tmp_path):
    base, _ = server
    seen = {}
    dest = download_mnist(
        tmp_path / "cache",
        mirrors=[f"{base}/good/"],
        progress=lambda name, done, total: seen.__setitem__(name, (done, total)),
    )
    assert _leftovers(dest) == sorted(f"{n}.gz" for n in MNIST_SHA256)
    for name, digest in MNIST_SHA256.items():
        assert hashlib.sha256(gzip.decompress((dest / f"{name}.gz").read_bytes())).hexdigest() == digest
        done, total = seen[f"{name}.gz"]
        assert done == total and total > 0
    assert load_dir(dest).name == "mnist"


def test_corrupted_file_is_rejected_and_next_mirror_used(server, tmp_path):
    base, hits = server
    hits.clear()
    dest = download_mnist(tmp_path / "c", mirrors=[f"{base}/corrupt/", f"{base}/good/"])
    assert load_dir(dest).name == "mnist"
    assert sum(h.startswith("/corrupt/") for h in hits) == 4  # each file tried there first


def test_corrupted_only_mirror_fails_and_leaves_nothing(server, tmp_path):
    base, _ = server
    with pytest.raises(DataError, match="checksum mismatch"):
        download_mnist(tmp_path / "c", mirrors=[f"{base}/corrupt/"])
    assert _leftovers(tmp_path / "c") == []


def test_partial_download_never_leaves_a_file_behind(server, tmp_path):
    base, _ = server
    with pytest.raises(DataError, match="could not download train-images-idx3-ubyte") as e:
        download_mnist(tmp_path / "c", mirrors=[f"{base}/partial/", f"{base}/missing/"])
    assert re.search(r"partial/train-images-idx3-ubyte.gz: .*(IncompleteRead|incomplete)", str(e.value))
    assert "missing/train-images-idx3-ubyte.gz: HTTP Error 404" in str(e.value)
    assert _leftovers(tmp_path / "c") == []


def test_resolve_downloads_into_the_cache_once(server, isolated_env):
    base, hits = server
    hits.clear()
    path = resolve_data_dir(mirrors=[f"{base}/good/"])
    assert path == isolated_env / "cache"
    assert len(hits) == 4
    assert resolve_data_dir(mirrors=[f"{base}/good/"]) == path  # found, not downloaded again
    assert len(hits) == 4


def test_cli_downloads_into_the_cache_from_mirrors_in_the_environment(
    server, isolated_env, monkeypatch, capsys
):
    from lstm_sweep.cli import main

    base, _ = server
    monkeypatch.setenv("LSTM_SWEEP_MNIST_MIRRORS", f"{base}/missing/, {base}/good/")
    assert main(["data"]) == 0
    out = capsys.readouterr().out
    assert f"mnist: {isolated_env / 'cache'}" in out
    assert "train 55000, validation 5000, test 10000" in out
    assert sorted(p.name for p in (isolated_env / "cache").iterdir()) == sorted(
        f"{n}.gz" for n in MNIST_SHA256
    )


def test_cli_download_failure_is_one_error_line(server, isolated_env):
    base, _ = server
    env = {**os.environ, "LSTM_SWEEP_MNIST_MIRRORS": f"{base}/corrupt/,{base}/partial/"}
    proc = subprocess.run(
        [LSTM_SWEEP, "run", "--db", str(isolated_env / "x.db")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    err = proc.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("Error: could not download"), proc.stderr
    assert "corrupt/train-images-idx3-ubyte.gz: checksum mismatch" in err[0]
    assert "partial/train-images-idx3-ubyte.gz: " in err[0]
    assert not (isolated_env / "x.db").exists()


def test_a_trickling_server_is_given_up_within_the_deadline(server, tmp_path):
    base, _ = server
    t0 = time.monotonic()
    with pytest.raises(DataError, match=r"trickle/train-images-idx3-ubyte.gz: gave up after 2 s"):
        download_mnist(tmp_path / "c", mirrors=[f"{base}/trickle/"], deadline=2.0, timeout=1.0)
    # gave up (the message says after its 2 s deadline), not after the whole trickle: at one byte
    # a quarter second that file takes months; the bound tells the two apart on any machine
    assert time.monotonic() - t0 < 120
    assert _leftovers(tmp_path / "c") == []


@pytest.mark.parametrize(
    "mode, message",
    [
        ("huge", "the server offers 1,000,000,000,000 bytes, more than this file can be"),
        ("endless", "more than 47,088,080 bytes, more than this file can be"),
        ("cutgz", r"cutgz/train-images-idx3-ubyte.gz \(downloaded\): cannot read"),
    ],
)
def test_oversized_and_cut_downloads_are_refused_naming_the_url(server, tmp_path, mode, message):
    base, _ = server
    with pytest.raises(DataError, match=message) as e:
        download_mnist(tmp_path / "c", mirrors=[f"{base}/{mode}/"])
    assert ".part" not in str(e.value)
    assert _leftovers(tmp_path / "c") == []


def test_a_killed_download_leaves_a_part_file_that_the_next_one_removes(server, isolated_env):
    base, _ = server
    cache = isolated_env / "cache"
    env = {**os.environ, "LSTM_SWEEP_MNIST_MIRRORS": f"{base}/trickle/", "LSTM_SWEEP_CACHE_DIR": str(cache)}
    env.pop("LSTM_SWEEP_DATA_DIR", None)
    proc = subprocess.Popen(
        [LSTM_SWEEP, "data"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 60
        while not list(cache.glob(".*.part")) and time.monotonic() < deadline:
            time.sleep(0.05)
        parts = list(cache.glob(".*.part"))
        assert parts, "the download never started"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        proc.kill()
    assert all(p.exists() for p in parts)  # kill -9: nothing could clean up
    download_mnist(cache, mirrors=[f"{base}/good/"])
    assert sorted(p.name for p in cache.iterdir()) == sorted(f"{n}.gz" for n in MNIST_SHA256)


def test_a_live_downloads_part_file_is_left_alone(server, tmp_path):
    import fcntl

    from lstm_sweep.data.sources import _clean_stale_parts

    folder = tmp_path / "c"
    folder.mkdir()
    live, dead = folder / ".a.gz.1.part", folder / ".b.gz.2.part"
    dead.write_bytes(b"x")
    with open(live, "wb") as f:
        fcntl.flock(f, fcntl.LOCK_EX)  # as a download in progress holds it
        _clean_stale_parts(folder)
        assert live.exists() and not dead.exists()
