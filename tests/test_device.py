"""What the device can compute: precisions it lacks are refused before planning, with the way
out, never a oneDNN traceback or a sweep of `failed` trials. An AVX2-only CPU is played on any
x86 machine by capping oneDNN's instruction set (``ONEDNN_MAX_CPU_ISA=AVX2``), which makes
bf16 fail exactly as it does on such a CPU."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from helpers import LSTM_SWEEP
from lstm_sweep.errors import ConfigError
from lstm_sweep.store import load_results
from lstm_sweep.training.device import capabilities, check_precision, unsupported

CPU = torch.device("cpu")
AVX2 = {"ONEDNN_MAX_CPU_ISA": "AVX2"}
x86 = pytest.mark.skipif(
    os.uname().machine not in ("x86_64", "AMD64"), reason="ONEDNN_MAX_CPU_ISA=AVX2 plays an x86 CPU"
)


def _run(args, env_extra, tmp_path):
    env = {**os.environ, **env_extra}
    return subprocess.run([LSTM_SWEEP, *map(str, args)], env=env, capture_output=True, text=True, timeout=300)


def test_fp32_runs_everywhere_and_tf32_is_a_gpu_precision():
    assert unsupported(CPU, "fp32") is None
    with pytest.raises(ConfigError, match="TF32 is a precision of NVIDIA GPUs.*precision=fp32"):
        check_precision(CPU, "tf32")
    caps = capabilities(CPU)
    assert caps["fp32"] and not caps["tf32"]
    assert caps["bf16"] == (unsupported(CPU, "bf16") is None)


def test_bf16_support_is_what_a_bf16_lstm_step_shows():
    try:
        lstm = torch.nn.LSTM(8, 8, batch_first=True)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out, _ = lstm(torch.rand(4, 5, 8))
        out.float().sum().backward()
        works = True
    except RuntimeError:
        works = False
    if not works:  # then we must say so
        assert unsupported(CPU, "bf16") is not None
    elif unsupported(CPU, "bf16") is not None:  # runs, but not natively: emulated, refused
        assert "no native bfloat16" in unsupported(CPU, "bf16")


@x86
@pytest.mark.parametrize("command", ["run", "plan"])
def test_bf16_on_an_avx2_cpu_is_one_clear_error(command, tmp_path, mnist_dir):
    db = tmp_path / "s.db"
    proc = _run(
        [
            command,
            "--hidden",
            "16",
            "--lr",
            "0.01",
            "--steps",
            "5",
            "--precision",
            "bf16",
            "--device",
            "cpu",
            "--db",
            db,
        ]
        + (["--data-dir", mnist_dir, "--no-progress"] if command == "run" else []),
        AVX2,
        tmp_path,
    )
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr
    assert lines[0].startswith(
        "Error: --precision bf16 cannot run on cpu: this CPU has no native bfloat16 support"
    )
    assert "use --precision fp32" in lines[0] and "--fallback-fp32" in lines[0]
    assert not db.exists()


@pytest.mark.slow
@x86
def test_fallback_fp32_runs_fp32_when_asked_and_records_it(tmp_path, mnist_dir):
    db = tmp_path / "s.db"
    proc = _run(
        [
            "run",
            "--hidden",
            "16",
            "--lr",
            "0.01",
            "--steps",
            "20",
            "--precision",
            "bf16",
            "--fallback-fp32",
            "--device",
            "cpu",
            "--workers",
            "1",
            "--data-dir",
            mnist_dir,
            "--no-progress",
            "--db",
            db,
        ],
        AVX2,
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert "running fp32 instead, as --fallback-fp32 asks" in proc.stderr
    (r,) = load_results(db)
    assert r.config.precision == "fp32" and str(r.status) == "done"
    env = subprocess.run(
        [
            sys.executable,
            "-c",
            f"""
from lstm_sweep.store import Store
with Store({str(db)!r}, readonly=True) as s:
    (env,) = s.environments().values()
print(env["precisions"])""",
        ],
        capture_output=True,
        text=True,
    )
    assert env.stdout.strip() == "fp32"  # bf16 (and tf32) recorded as missing


@x86
def test_the_engine_benchmark_refuses_bf16_where_the_cpu_lacks_it(tmp_path):
    bench = Path(__file__).parents[1] / "benchmarks" / "bench_engine.py"
    proc = subprocess.run(
        [sys.executable, str(bench), "--precision", "bf16", "--steps", "5"],
        env={**os.environ, **AVX2},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode != 0
    assert "cannot run on cpu" in proc.stderr and "ratio" not in proc.stdout
