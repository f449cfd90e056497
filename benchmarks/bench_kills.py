"""kill -9 at random moments of a sweep with long trials: how much work each kill loses, and
whether anything is lost or changed at the end, in one run.

A grid of long trials (default: 64 units, 999 steps, two rates, checkpoints every 2 s) runs once
uninterrupted, then again under ``--kills`` kill -9s of its whole process group: each round waits
until the run has written a new checkpoint (it is training), waits a random time up to twice the
interval more, and kills it. Per kill: the seconds since the newest checkpoint (the work lost:
at most one interval, plus the step in progress). At the end: trials lost, trials that differ from
the uninterrupted run (status, accuracies, losses, curve). Run it alone on the machine.

    python benchmarks/bench_kills.py [--kills 20] [--hidden 64] [--every 2]
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lstm_sweep.store import load_results
from lstm_sweep.training.checkpoint import checkpoint_dir

LSTM_SWEEP = str(Path(sys.executable).with_name("lstm-sweep"))
FIELDS = ("status", "test_accuracy", "val_accuracy", "train_loss", "steps_done", "curve")


def newest(folder: Path) -> float | None:
    times = []
    for p in folder.glob("*.ckpt"):
        try:
            times.append(p.stat().st_mtime)
        except FileNotFoundError:
            pass
    return max(times) if times else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kills", type=int, default=20)
    ap.add_argument("--hidden", default="64")
    ap.add_argument("--every", type=float, default=2.0)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    grid = [
        "--hidden",
        args.hidden,
        "--lr",
        "1e-2,1e-1",
        "--steps",
        "999",
        "--device",
        "cpu",
        "--workers",
        "1",
        "--no-progress",
        "--checkpoint-every",
        f"{args.every}s",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "2"}
    with tempfile.TemporaryDirectory() as tmp:
        ref, db = Path(tmp) / "ref.db", Path(tmp) / "k.db"
        t0 = time.perf_counter()
        subprocess.run([LSTM_SWEEP, "run", *grid, "--db", str(ref)], env=env, check=True, capture_output=True)
        print(f"uninterrupted: {time.perf_counter() - t0:.1f} s")
        folder = checkpoint_dir(db)
        lost: list[float] = []
        t0 = time.perf_counter()
        while len(lost) < args.kills:
            proc = subprocess.Popen(
                [LSTM_SWEEP, "run", *grid, "--db", str(db)],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
            before = newest(folder)
            while proc.poll() is None and newest(folder) in (None, before):
                time.sleep(0.01)  # until it writes a checkpoint: it is training now
            time.sleep(rng.random() * 2 * args.every)
            if proc.poll() is not None:
                break  # it finished first
            os.killpg(proc.pid, signal.SIGKILL)
            killed_at = time.time()
            proc.wait()
            last = newest(folder)
            if last is not None:
                lost.append(killed_at - last)
        final = subprocess.run(
            [LSTM_SWEEP, "run", *grid, "--db", str(db)], env=env, capture_output=True, text=True
        )
        total = time.perf_counter() - t0
        a = {r.key: r for r in load_results(ref, with_curves=True)}
        b = {r.key: r for r in load_results(db, with_curves=True)}
        differ = [k for k in a if k in b and any(getattr(a[k], f) != getattr(b[k], f) for f in FIELDS)]
        print(f"kills: {len(lost)} (run {'ok' if final.returncode == 0 else 'FAILED'}), {total:.1f} s in all")
        print(
            f"work lost per kill (s since the newest checkpoint; interval {args.every:g} s): "
            f"max {max(lost):.2f}, mean {sum(lost) / len(lost):.2f}"
        )
        print(
            f"trials: {len(a)} uninterrupted, {len(b)} after the kills; lost "
            f"{len(a.keys() - b.keys())}, differ {len(differ)}"
        )
        print(f"checkpoints left: {len(list(folder.glob('*')))}")


if __name__ == "__main__":
    main()
