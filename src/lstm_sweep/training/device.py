"""Devices: which one a sweep runs on, and what it can compute.

A precision is only used where the device really runs it: a CPU without bfloat16 instructions
(AVX2 only, no AVX-512) fails inside oneDNN's LSTM in ``bf16`` and emulates bf16 matmuls at well
under 1 GFLOP/s; TF32 exists only on NVIDIA GPUs of compute capability 8.0 or newer. Such a
request is refused before planning (:func:`check_precision`) with the way out, rather than dying
in the calibration probe or storing every trial as ``failed``.
"""

from __future__ import annotations

import functools
import logging
import platform

import torch

from ..errors import ConfigError

log = logging.getLogger(__name__)


def resolve_device(device: str | torch.device) -> torch.device:
    """``"auto"`` -> cuda if available else cpu; ``"cuda"`` without a GPU is a clear error."""
    if isinstance(device, torch.device):
        device = str(device)
    if not isinstance(device, str):
        raise ConfigError(f"unknown device {device!r}; use auto, cpu or cuda")
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device not in ("cpu", "cuda") and not (device.startswith("cuda:") and device[5:].isdigit()):
        raise ConfigError(f"unknown device {device!r}; use auto, cpu, cuda or cuda:N")
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError("device=cuda was asked for but PyTorch sees no CUDA GPU; use device=cpu")
        index = int(device[5:]) if ":" in device else 0
        if index >= torch.cuda.device_count():
            raise ConfigError(
                f"device={device}: this machine has {torch.cuda.device_count()} CUDA GPU(s), numbered from 0"
            )
    return torch.device(device)


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda:{torch.cuda.get_device_name(device)}"
    return f"cpu:{platform.processor() or platform.machine()}"


@functools.cache
def _cpu_bf16() -> str | None:
    """None when this CPU runs bf16 natively, else why not.

    oneDNN's own test first (it honours ``ONEDNN_MAX_CPU_ISA``, which is how the tests play an
    AVX2-only CPU on any machine), then one bf16 step of the LSTM the trials use.
    """
    try:
        native = bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # an older or non-oneDNN build: the probe decides
        native = True
    if not native:
        return "this CPU has no native bfloat16 support (it needs AVX-512 BF16 or AMX on x86, or BF16 on Arm)"
    try:
        lstm = torch.nn.LSTM(4, 4, batch_first=True)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out, _ = lstm(torch.rand(2, 3, 4))
        out.float().sum().backward()
    except RuntimeError as e:
        return f"a bfloat16 LSTM step fails on this CPU ({str(e).splitlines()[0][:120]})"
    return None


def _cuda_support(device: torch.device, precision: str) -> str | None:
    if precision == "bf16" and not torch.cuda.is_bf16_supported():
        return f"{torch.cuda.get_device_name(device)} does not support bfloat16"
    if precision == "tf32" and torch.cuda.get_device_capability(device) < (8, 0):
        major, minor = torch.cuda.get_device_capability(device)
        return (
            f"TF32 needs an NVIDIA GPU of compute capability 8.0 or newer; "
            f"{torch.cuda.get_device_name(device)} is {major}.{minor}"
        )
    return None


def unsupported(device: torch.device, precision: str) -> str | None:
    """Why ``device`` cannot run ``precision`` (None: it can). fp32 runs everywhere."""
    if precision == "fp32":
        return None
    if device.type == "cuda":
        return _cuda_support(device, precision)
    if precision == "tf32":
        return "TF32 is a precision of NVIDIA GPUs (compute capability 8.0 or newer), not CPUs"
    if precision == "bf16":
        return _cpu_bf16()
    return f"unknown precision {precision!r}"


def check_precision(device: torch.device, precision: str) -> None:
    """Raise ConfigError naming the missing capability and the way out."""
    why = unsupported(device, precision)
    if why is not None:
        raise ConfigError(
            f"precision={precision} cannot run on {device}: {why}; use "
            "precision=fp32 (or add fallback_fp32=True to run fp32 where the "
            "device lacks it)"
        )


def capabilities(device: torch.device) -> dict[str, bool]:
    """Which precisions ``device`` runs (recorded in every trial's environment)."""
    return {p: unsupported(device, p) is None for p in ("fp32", "tf32", "bf16")}
