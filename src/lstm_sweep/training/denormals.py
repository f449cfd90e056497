"""Denormal floats flushed to zero while a trial trains on a CPU, as TensorFlow does.

Once a net saturates or diverges, its gradients and Adam's second moments fall into the
subnormal range (below about 1.2e-38 in fp32), where x86 cores run floating point many times
slower: a 128-unit LSTM at rate 0.1 took 133 s for 300 steps as is, 14 s flushed. TensorFlow
sets the CPU's flush-to-zero and denormals-are-zero modes around every op it runs (its
``ScopedFlushDenormal``), so the homework's program never paid this; flushing is the faithful
behaviour, and results differ only where a denormal occurred (it reads as 0, as in TF).

The mode is a property of each thread (the x86 MXCSR register): ``torch.set_flush_denormal``
sets only the calling one, and PyTorch's intra-op threads (an OpenMP pool) keep their own. So
:func:`flushed` sets it on the calling thread and on every thread of the pool (one OpenMP
parallel region, through the ``libgomp`` that PyTorch loaded), and puts back the mode it found
when it ends: like TF's scope, a program that calls the API in-process keeps its own mode.
Threads the pool adds later inherit the mode of the thread that creates them.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import logging
import threading
from collections.abc import Iterator

import torch

log = logging.getLogger(__name__)

# one element per grain of ATen's elementwise loops (32,768) per thread, so that every thread
# of the pool computes some of the test product
_GRAIN = 32_768
_TINY = 1e-30  # a normal fp32 number; times 1e-10 it is subnormal (1e-40)
_lock = threading.Lock()
_REGION = ctypes.CFUNCTYPE(None, ctypes.c_void_p)  # an OpenMP region's body: void fn(void *)


@functools.lru_cache(maxsize=1)
def _gomp() -> ctypes.CDLL | None:
    """The OpenMP runtime PyTorch runs its intra-op threads on, if it is GNU's (Linux wheels)."""
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if "libgomp" in line and "/" in line}
    except OSError:
        return None
    for path in sorted(paths):
        try:
            lib = ctypes.CDLL(path)
            lib.GOMP_parallel.argtypes = [_REGION, ctypes.c_void_p, ctypes.c_uint, ctypes.c_uint]
            lib.GOMP_parallel.restype = None
            return lib
        except (OSError, AttributeError):
            continue
    return None


def _on_every_thread(flush: bool) -> None:
    torch.set_flush_denormal(flush)
    gomp = _gomp()
    if gomp is None or torch.get_num_threads() < 2:
        return

    def region(_: object) -> None:
        torch.set_flush_denormal(flush)

    callback = _REGION(region)  # kept alive until the region ends
    gomp.GOMP_parallel(callback, None, torch.get_num_threads(), 0)


def denormals_flushed() -> bool:
    """Whether a subnormal product is zero on the calling thread and on every intra-op thread
    (a product spread over all of them); False on a CPU that cannot flush."""
    one = torch.tensor([_TINY]) * 1e-10  # computed on this thread alone
    if one.item() != 0:
        return False
    spread = torch.full((_GRAIN * max(1, torch.get_num_threads()) * 2,), _TINY) * 1e-10
    return not bool(spread.any())


def flush_denormals(flush: bool = True) -> bool:
    """Set (or, with ``flush`` False, clear) flush-to-zero on this thread and every intra-op
    thread; returns whether the mode now holds everywhere (:func:`denormals_flushed`)."""
    with _lock:
        _on_every_thread(flush)
        return denormals_flushed() == flush


@contextlib.contextmanager
def flushed(device: torch.device | str = "cpu") -> Iterator[bool]:
    """Within the block, denormals are flushed on a CPU (yields whether they are everywhere);
    the mode found is restored after. On a GPU it does nothing (CUDA kernels flush or not by
    their own build; PyTorch's follow IEEE) and yields False."""
    if torch.device(device).type != "cpu":
        yield False
        return
    before = torch.tensor([_TINY]) * 1e-10
    was = before.item() == 0
    ok = flush_denormals(True)
    if not ok:
        _warn_once()
    try:
        yield ok
    finally:
        if not was:
            flush_denormals(False)


@functools.lru_cache(maxsize=1)
def _warn_once() -> None:
    log.warning(
        "denormal floats could not be flushed to zero on every thread of this CPU; "
        "trials that saturate or diverge may run many times slower than planned"
    )
