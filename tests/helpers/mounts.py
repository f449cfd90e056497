"""A private mount namespace for the tests that need a real tmpfs or read-only bind mount."""

from __future__ import annotations

import shutil
import subprocess


def can_unshare() -> bool:
    """Whether this machine lets us make a private mount namespace (a real tmpfs, a real
    read-only bind mount) as the tests need."""
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-rm", "true"], capture_output=True)
    return probe.returncode == 0


def in_namespace(script: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run a shell ``script`` as root of a private mount namespace (mounts vanish with it)."""
    return subprocess.run(
        ["unshare", "-rm", "sh", "-c", script], capture_output=True, text=True, timeout=timeout
    )
