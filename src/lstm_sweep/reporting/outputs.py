"""Writing output files (reports, plots) without ever destroying anything.

- An output never replaces a results store (any SQLite file), the store being read, a folder or
  a special file (FIFO, device), whatever the flags.
- It replaces an existing file only when that file is of the output's own type (an HTML page for
  a report, a PNG/SVG image for a plot) or empty; anything else needs ``overwrite=True``
  (``--overwrite``).
- It is written to a temporary file beside the target and renamed into place: a failure (full
  disk, read-only folder) leaves the old file as it was and no temporary file behind.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from collections.abc import Sequence
from pathlib import Path

from ..errors import ConfigError, LstmSweepError
from ..store import is_store_file
from . import checks
from .text import printable


class OutputError(LstmSweepError):
    """An output file cannot or may not be written."""


KINDS = {
    "html": "an HTML page",
    "png": "a PNG image",
    "svg": "an SVG image",
    "pdf": "a PDF document",
    "csv": "an lstm-sweep CSV export",
    "jsonl": "an lstm-sweep JSON-lines export",
}


def _is_kind(head: bytes, kind: str) -> bool:
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if kind == "html":
        return text.startswith((b"<!doctype html", b"<html"))
    if kind == "png":
        return head.startswith(b"\x89PNG\r\n\x1a\n")
    if kind == "svg":
        return text.startswith((b"<?xml", b"<svg")) and b"<svg" in text
    if kind == "pdf":
        return head.startswith(b"%PDF-")
    if kind == "csv":
        return head.startswith(b"key,hidden,")
    if kind == "jsonl":
        return head.startswith(b'{"key": ')
    raise ValueError(kind)


def _reason(e: OSError) -> str:
    if e.errno == errno.ENOSPC or e.errno == errno.EDQUOT:
        return "the disk is full"
    if e.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return "the folder is read-only"
    return e.strerror or str(e)


def check_target(
    path: str | Path, kind: str, *, overwrite: bool = False, protect: Sequence[str | Path] = ()
) -> Path:
    """Refuse (OutputError) an output path that may not be written; returns it as a Path.

    ``kind``: what the output is (a key of :data:`KINDS`: html, png, svg, csv, jsonl).
    ``protect``: files that must never be written over (the store being read).

    Raises:
        ConfigError: ``path`` is not a path, ``kind`` unknown, ``overwrite`` not a bool,
            ``protect`` not a list of paths.
        OutputError: the target is the store being read, a store, a folder, a special file,
            a file of another kind (without ``overwrite``), or in a missing folder.
    """
    path = checks.path("path", path)
    checks.choice("output kind", kind, KINDS)
    checks.flag("overwrite", overwrite)
    protect = checks.paths("protect", protect)
    if str(path) in ("", "."):
        raise OutputError("path= needs a file path")
    for p in protect:
        with contextlib.suppress(OSError):
            if path.exists() and os.path.samefile(path, p):
                raise OutputError(f"path={path} is the results store being read; choose another file name")
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        if not path.parent.is_dir():
            raise OutputError(f"cannot write {path}: folder {path.parent} does not exist") from None
        return path
    except OSError as e:
        raise OutputError(f"cannot write {path}: {_reason(e)}") from e
    if stat.S_ISDIR(mode):
        raise OutputError(f"path={path} is a folder; give a file name (e.g. {path / ('report.' + kind)})")
    if not stat.S_ISREG(mode):
        raise OutputError(f"path={path} is not a regular file (a FIFO, socket or device)")
    if is_store_file(path):
        raise OutputError(
            f"{path} is an SQLite database (a results store?); lstm-sweep never "
            "writes over one: choose another file name"
        )
    try:
        with open(path, "rb") as f:
            head = f.read(512)
    except OSError as e:
        raise OutputError(f"cannot write {path}: {_reason(e)}") from e
    if head and not _is_kind(head, kind) and not overwrite:
        raise OutputError(
            f"{path} exists and is not {KINDS[kind]}; choose another file name, "
            "or pass overwrite=True to replace it"
        )
    return path


def write_output(
    path: str | Path,
    content: str | bytes,
    kind: str,
    *,
    overwrite: bool = False,
    protect: Sequence[str | Path] = (),
) -> Path:
    """Write ``content`` to ``path`` atomically after :func:`check_target`.

    Raises:
        ConfigError: ``content`` is not text or bytes; a bad argument as in :func:`check_target`.
        OutputError: the target may not be written, or writing failed (nothing is left behind).
    """
    if not isinstance(content, (str, bytes)):
        raise ConfigError(f"content must be text or bytes, got {checks.kind_of(content)}")
    path = check_target(path, kind, overwrite=overwrite, protect=protect)
    # a lone surrogate (no UTF-8 for it) is written as its escape, not refused mid-write
    data = content.encode("utf-8", "backslashreplace") if isinstance(content, str) else content
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as e:
        raise OutputError(f"cannot write {path}: {_reason(e)}") from e
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # as a plain open() would have made it
        os.replace(tmp, path)
    except OSError as e:
        raise OutputError(f"cannot write {path}: {_reason(e)}; nothing was written") from e
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    return path


def check_folder(path: str | Path) -> Path:
    """Refuse a plot folder that is a file (or a FIFO, a device), or that cannot be made or
    written: it may not exist yet, but then the nearest folder above it that exists must be a
    folder this process can write in (checked before any work, so that nothing is computed
    only to fail when its figures are saved).

    Raises:
        ConfigError: ``path`` is not a path.
        OutputError: it is empty, a file, below a file, or in a folder that cannot be written.
    """
    path = checks.path("path", path)
    if str(path) == "":
        raise OutputError("path= needs a folder path")
    if path.exists() and not path.is_dir():
        raise OutputError(f"path={path} is a file; plot needs a folder for its images")
    above = path.absolute()
    while not above.exists() and above != above.parent:
        above = above.parent
    if not above.is_dir():
        raise OutputError(f"path={path}: {above} is a file, not a folder; pass path= with a folder path")
    if not os.access(above, os.W_OK | os.X_OK):
        raise OutputError(
            f"path={path}: the folder {above} cannot be written; pass path= with a folder you can write"
        )
    return path


def output_folder(path: str | Path) -> Path:
    """The folder for plot files: created if missing (with its parents).

    Raises:
        ConfigError: ``path`` is not a path.
        OutputError: it is a file, or cannot be created.
    """
    path = check_folder(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(f"cannot create the folder {path}: {_reason(e)}") from e
    return path


def place_mode(path: Path, how: str, protect: Sequence[str | Path] = ()) -> int | None:
    """The ``st_mode`` of an output place (a file or a folder an export writes in), or None
    where it is new; refused (OutputError, ending with ``how``) where it is a protected file
    (the store being read), where a new one's folder does not exist, or where it cannot be
    looked at."""
    shown = printable(str(path))[:200]
    for p in protect:
        try:
            if os.path.samefile(path, p):
                raise OutputError(f"{shown} is the store being read; {how}")
        except OSError:
            pass
    try:
        return os.stat(path).st_mode
    except FileNotFoundError:
        if not path.parent.is_dir():
            raise OutputError(f"{shown}: its folder does not exist; {how}") from None
        return None
    except OSError as e:
        raise OutputError(f"{shown}: {e.strerror or e}; {how}") from None
