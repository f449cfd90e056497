"""Datasets beyond MNIST: each known by its checksums, downloaded from its own mirrors (here a real
HTTP server on 127.0.0.1 serving real files), recognised in any folder, and swept side by side.
Fashion-MNIST comes from Debian's package dataset-fashion-mnist (``.ci/run`` installs it)."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from helpers import LSTM_SWEEP, cli
from lstm_sweep.data import (
    DATASETS,
    DatasetSpec,
    download_dataset,
    load_dataset,
    load_dir,
)
from lstm_sweep.data.sources import MNIST_SIZES
from lstm_sweep.errors import DataError
from lstm_sweep.store import load_results


def _debian_fashion() -> Path | None:
    try:
        out = subprocess.run(["dpkg", "-L", "dataset-fashion-mnist"], capture_output=True, text=True).stdout
    except FileNotFoundError:
        return None
    found = [Path(p).parent for p in out.splitlines() if p.endswith("t10k-labels-idx1-ubyte.gz")]
    return found[0] if found else None


FASHION = _debian_fashion()
if FASHION is None and os.environ.get("CI"):
    pytest.fail("CI installs dataset-fashion-mnist; it is missing", pytrace=False)
pytestmark = pytest.mark.skipif(
    FASHION is None,
    reason="Debian's dataset-fashion-mnist is not installed (apt-get install dataset-fashion-mnist)",
)


@pytest.fixture(scope="module")
def server():
    """Serves Debian's Fashion-MNIST files under /good/, a corrupted copy under /bad/."""
    root = Path(__import__("tempfile").mkdtemp())
    (root / "good").symlink_to(FASHION)
    (root / "bad").mkdir()
    for f in FASHION.glob("*.gz"):
        blob = bytearray(f.read_bytes())
        blob[len(blob) // 2] ^= 0xFF
        (root / "bad" / f.name).write_bytes(bytes(blob))

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = partial(Quiet, directory=str(root))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    shutil.rmtree(root)


def test_fashion_mnist_is_recognised_by_its_checksums_wherever_it_lies(tmp_path):
    assert load_dir(FASHION).name == "fashion-mnist"
    copy = tmp_path / "my-clothes"
    copy.mkdir()
    for f in FASHION.glob("*.gz"):
        shutil.copy(f, copy / f.name)
    data = load_dir(copy, name="ignored")  # its checksums decide: it is Fashion-MNIST
    assert data.name == "fashion-mnist" and len(data.train) == 55_000
    assert int(data.test.labels[:2].tolist()[0]) == 9  # the first test image: an ankle boot


def test_a_known_dataset_answers_to_its_own_name_only():
    """Fashion-MNIST's files are refused as KMNIST or MNIST, by --dataset or --dataset-name."""
    with pytest.raises(DataError, match="holds fashion-mnist, not kmnist"):
        load_dataset(FASHION, dataset="kmnist")
    for name in ("mnist", "KMNIST"):
        with pytest.raises(DataError, match=r"is not \w*mnist: .*\(it holds fashion-mnist\)"):
            load_dir(FASHION, name=name)
    data = load_dataset(FASHION, dataset="fashion-mnist", dataset_name="Fashion-MNIST")
    assert data.name == "fashion-mnist"


def test_download_from_its_own_mirrors_into_its_own_cache(server, tmp_path):
    env = {
        **os.environ,
        "LSTM_SWEEP_CACHE_DIR": str(tmp_path / "cache" / "mnist"),
        "LSTM_SWEEP_FASHION_MNIST_MIRRORS": f"{server}/bad/,{server}/good/",
    }
    env.pop("LSTM_SWEEP_DATA_DIR", None)
    proc = subprocess.run(
        [LSTM_SWEEP, "data", "--dataset", "fashion-mnist"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"fashion-mnist: {tmp_path / 'cache' / 'fashion-mnist'}")
    assert sorted(p.name for p in (tmp_path / "cache" / "fashion-mnist").iterdir()) == sorted(
        p.name for p in FASHION.glob("*.gz")
    )
    assert not (tmp_path / "cache" / "mnist").exists()  # MNIST's cache untouched


def test_published_md5_sums_of_gz_files_are_checked(server, tmp_path):
    """KMNIST's publishers list MD5 sums of the .gz files; the same check, on files we have."""
    sums = {f.name[:-3]: ("md5-gz", hashlib.md5(f.read_bytes()).hexdigest()) for f in FASHION.glob("*.gz")}
    spec = DatasetSpec("md5-test", (f"{server}/good/",), sums, MNIST_SIZES)
    dest = download_dataset(spec, tmp_path / "ok")
    assert len(list(dest.glob("*.gz"))) == 4
    with pytest.raises(DataError, match=r"/bad/\S+-ubyte.gz: checksum mismatch"):
        download_dataset(DatasetSpec("md5-test", (f"{server}/bad/",), sums, MNIST_SIZES), tmp_path / "bad")
    assert list((tmp_path / "bad").iterdir()) == []
    assert DATASETS["kmnist"].checksums["train-images-idx3-ubyte"] == (
        "md5-gz",
        "bdb82020997e1d708af4cf47b453dcf7",
    )  # as ROIS-CODH and torchvision list it


@pytest.mark.slow
def test_two_datasets_in_one_run(mnist_dir, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    (cache / "fashion-mnist").mkdir(parents=True)
    for f in FASHION.glob("*.gz"):
        (cache / "fashion-mnist" / f.name).symlink_to(f)
    monkeypatch.setenv("LSTM_SWEEP_CACHE_DIR", str(cache / "mnist"))
    monkeypatch.setenv("LSTM_SWEEP_DATA_DIR", str(mnist_dir))
    db = tmp_path / "s.db"
    o = cli(
        "run",
        "--dataset",
        "mnist,fashion-mnist",
        "--hidden",
        "16",
        "--lr",
        "0.01,0.1",
        "--steps",
        "40",
        "--device",
        "cpu",
        "--workers",
        "1",
        "--no-progress",
        "--db",
        db,
    )
    assert o.code == 0, o.text
    titles = [line for line in o.out.splitlines() if line.startswith("Test accuracy")]
    assert titles == [
        "Test accuracy: mnist · 40 steps · batch 100 · init tf · fp32 · 1 seed",
        "Test accuracy: fashion-mnist · 40 steps · batch 100 · init tf · fp32 · 1 seed",
    ]
    assert sorted({r.config.dataset for r in load_results(db)}) == ["fashion-mnist", "mnist"]
    for args, message in [
        (["--dataset", "mnist,fashion-mnist", "--data-dir", mnist_dir], "give one --dataset"),
        (["--dataset-name", "x"], "--dataset-name names the data of a --data-dir"),
        (["--dataset", "cifar10"], "'cifar10' is not one of mnist, fashion-mnist, kmnist"),
    ]:
        o = cli(
            "run",
            "--hidden",
            "16",
            "--steps",
            "5",
            "--device",
            "cpu",
            "--no-progress",
            "--db",
            tmp_path / "x.db",
            *args,
        )
        assert message in o.error_line()
    assert not (tmp_path / "x.db").exists()
