"""The live page at scale: a store of N trials (default 10,000; synthetic, from the test suite's
factory), served by `serve_store` on 127.0.0.1. Prints how long the first page and the first
state take, how long the watcher takes to rebuild after one commit, and how many bytes an
update (one new trial) sends against the full state.

    python benchmarks/bench_serve.py [--trials 10000]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from helpers import trial  # noqa: E402
from lstm_sweep import Store  # noqa: E402
from lstm_sweep.serve.server import serve_store  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=10_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "big.db"
        widths = [16 * 2**i for i in range(9)]
        lrs = [10.0**-e for e in range(1, 7)]
        n = 0
        t0 = time.perf_counter()
        with Store(db) as s:
            seed = 0
            while n < args.trials:
                for h in widths:
                    for lr in lrs:
                        for steps in (30, 60):
                            if n < args.trials:
                                s.save(trial(h, lr, 0.5 + (n % 40) / 100, seed=seed, steps=steps, curve=3))
                                n += 1
                seed += 1
        print(f"store: {n} trials written in {time.perf_counter() - t0:.1f} s")
        t0 = time.perf_counter()
        server = serve_store(db, port=0, interval=0.2)
        print(f"serve_store (first snapshot): {time.perf_counter() - t0:.2f} s")
        try:
            t0 = time.perf_counter()
            page = urllib.request.urlopen(server.url).read()
            print(f"first page: {len(page) / 1e6:.2f} MB in {time.perf_counter() - t0:.3f} s")
            v = server.watcher.version
            t0 = time.perf_counter()
            with Store(db) as s:
                s.save(trial(4096, 1e-3, 0.99, steps=30))
            server.watcher.wait(v, 120)
            print(f"one commit -> new version after {time.perf_counter() - t0:.2f} s")
            update = urllib.request.urlopen(server.url + f"api/changes?since={v}").read()
            full = urllib.request.urlopen(server.url + "api/changes?since=0").read()
            c = json.loads(update)
            print(
                f"update: {len(update) / 1e3:.1f} kB ({len(c['rows'])} rows, "
                f"{len(c['tables'])} tables) vs full state {len(full) / 1e6:.2f} MB"
            )
        finally:
            server.close()


if __name__ == "__main__":
    main()
