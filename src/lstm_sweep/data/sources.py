"""The datasets lstm-sweep knows (MNIST, Fashion-MNIST, KMNIST): their checksums, mirrors and
cache folders; which known dataset a folder holds; downloads that are checked, bounded in size
and time, and never leave a partial file in place; where a run's data comes from."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import stat
import tempfile
import time
import unicodedata
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError, DataError
from .idx import MAX_IDX_BYTES, find_file, missing_files, read_bytes

log = logging.getLogger(__name__)

# SHA-256 of the DECOMPRESSED files (gzip bytes differ between re-compressions).
MNIST_SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}

# Their decompressed sizes: a download may not be larger (plus gzip's few bytes of framing), and
# no file may decompress to more (a gzip bomb).
MNIST_SIZES = {
    "train-images-idx3-ubyte": 47_040_016,
    "train-labels-idx1-ubyte": 60_008,
    "t10k-images-idx3-ubyte": 7_840_016,
    "t10k-labels-idx1-ubyte": 10_008,
}

# Mirrors serving the four files as ``<name>.gz``; tried in order. ``$LSTM_SWEEP_MNIST_MIRRORS``
# (comma-separated base URLs) replaces them, e.g. for a mirror inside a closed network.
MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)


@dataclass(frozen=True)
class DatasetSpec:
    """A dataset in MNIST's layout that lstm-sweep knows: where to download it, and how to check
    each file. A checksum is ``("sha256", hex)`` of the decompressed file, or ``("md5-gz", hex)``
    of the ``.gz`` file as its publishers list it."""

    name: str
    mirrors: tuple[str, ...]
    checksums: dict[str, tuple[str, str]]
    sizes: dict[str, int]  # decompressed bytes of each file

    @property
    def mirrors_variable(self) -> str:
        return f"LSTM_SWEEP_{self.name.upper().replace('-', '_')}_MIRRORS"


DATASETS: dict[str, DatasetSpec] = {
    "mnist": DatasetSpec(
        "mnist", MNIST_MIRRORS, {n: ("sha256", h) for n, h in MNIST_SHA256.items()}, MNIST_SIZES
    ),
    # Zalando's Fashion-MNIST: 60,000 + 10,000 28x28 images of clothes, 10 classes (SHA-256 of
    # the files as Zalando and Debian's dataset-fashion-mnist ship them)
    "fashion-mnist": DatasetSpec(
        "fashion-mnist",
        ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
        {
            n: ("sha256", h)
            for n, h in {
                "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
                "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
                "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
                "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
            }.items()
        },
        MNIST_SIZES,
    ),
    # ROIS-CODH's Kuzushiji-MNIST: cursive Japanese characters, 10 classes (the MD5 sums of the
    # .gz files its publishers list, as torchvision checks them)
    "kmnist": DatasetSpec(
        "kmnist",
        ("http://codh.rois.ac.jp/kmnist/dataset/kmnist/",),
        {
            "train-images-idx3-ubyte": ("md5-gz", "bdb82020997e1d708af4cf47b453dcf7"),
            "train-labels-idx1-ubyte": ("md5-gz", "e144d726b3acfaa3e44228e80efcd344"),
            "t10k-images-idx3-ubyte": ("md5-gz", "5c965bf0a639b31b8f53240b1b52f4d7"),
            "t10k-labels-idx1-ubyte": ("md5-gz", "7320c461ea6c1c855c0b718fb2a4b134"),
        },
        MNIST_SIZES,
    ),
}


def dataset_spec(name: str) -> DatasetSpec:
    """The known dataset ``name``.

    Raises:
        ConfigError: ``name`` is not a string; DataError: it is not a known dataset (the message
            names the known ones).
    """
    if not isinstance(name, str):
        raise ConfigError(
            f"dataset must be the name of a known dataset ({', '.join(DATASETS)}); got {name!r:.60}"
        )
    try:
        return DATASETS[name]
    except KeyError:
        raise DataError(
            f"unknown dataset {name!r:.60}; choose one of: {', '.join(DATASETS)} (or "
            "pass data_dir= with a folder of MNIST-layout IDX files)"
        ) from None


MAX_NAME_LENGTH = 100  # a dataset's name: a table's title, a file's name, a key in the store


def check_dataset_name(name: str, what: str = "dataset_name=") -> str:
    """``name`` if it can name a dataset in tables, reports and the store: a string of 1 to
    :data:`MAX_NAME_LENGTH` printable characters (any script; no control characters, escape
    sequences, line breaks or invisible formatting characters), without leading or trailing
    space. ``what``: what error messages call it.

    Raises:
        ConfigError: naming the rule ``name`` breaks.
    """
    if not isinstance(name, str):
        raise ConfigError(f"{what} must be a string; got {type(name).__name__} {name!r:.60}")
    if not name.strip():
        raise ConfigError(f"{what} must not be empty or only spaces; got {name!r}")
    if len(name) > MAX_NAME_LENGTH:
        raise ConfigError(f"{what} is too long ({len(name):,} characters); at most {MAX_NAME_LENGTH}")
    if not name.isprintable():  # str.isprintable: no Cc (ESC, newline, tab, NUL) or Cf/Zl/Zp
        raise ConfigError(
            f"{what} {name!r:.120} holds a control or invisible character (an "
            "escape sequence, a line break, a tab...); use printable characters only"
        )
    if name != name.strip():
        raise ConfigError(f"{what} {name!r:.120} starts or ends with a space; drop it")
    return name


def known_name_like(name: str) -> str | None:
    """The known dataset that ``name`` is written as, ignoring case and Unicode compatibility
    forms ("MNIST", "ｍｎｉｓｔ" -> "mnist"), or None."""
    folded = unicodedata.normalize("NFKC", name).casefold().strip()
    return next((known for known in DATASETS if known == folded), None)


ProgressFn = Callable[[str, int, int | None], None]  # (file name, bytes so far, total or None)


def md5_of_gz(path: Path | None) -> str | None:
    """MD5 of the file's bytes if it is a gzip file (how some datasets publish their sums);
    None for no file."""
    if path is None:
        return None
    try:
        with open(path, "rb") as f:
            if f.read(2) != b"\x1f\x8b":
                return None
            f.seek(0)
            return hashlib.md5(f.read(MAX_IDX_BYTES)).hexdigest()
    except OSError:
        return None


def identify(directory: Path, digests: dict[str, str]) -> str | None:
    """The known dataset whose checksums the four files match (``digests``: SHA-256 of each
    decompressed file), or None."""
    for spec in DATASETS.values():
        if all(
            (digests[n] == h) if kind == "sha256" else (md5_of_gz(find_file(directory, n)) == h)
            for n, (kind, h) in spec.checksums.items()
        ):
            return spec.name
    return None


# --------------------------------------------------------------------------- finding / downloading


def cache_dir(dataset: str = "mnist") -> Path:
    """The per-user cache of a downloaded dataset: MNIST's is ``$LSTM_SWEEP_CACHE_DIR`` or the XDG
    cache's ``lstm-sweep/mnist``; another dataset's is the folder of its name beside it."""
    if dataset != "mnist":
        return cache_dir().with_name(dataset)
    if os.environ.get("LSTM_SWEEP_CACHE_DIR"):
        return Path(os.environ["LSTM_SWEEP_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
    return Path(base) / "lstm-sweep" / "mnist"


def _mismatch(path: Path, checksum: tuple[str, str], size: int, name: str) -> str | None:
    """Why ``path`` is not the file ``checksum`` describes (None: it is)."""
    kind, expected = checksum
    if kind == "md5-gz":
        got = md5_of_gz(path)
        if got is None:
            return f"{name}: not a gzip file"
    else:
        got = hashlib.sha256(read_bytes(path, size, name=name)).hexdigest()
    if got != expected:
        return f"{name}: checksum mismatch (got {got[:16]}..., expected {expected[:16]}...)"
    if kind == "md5-gz":
        read_bytes(path, size, name=name)  # the published file: it decompresses within its size
    return None


def _verified(path: Path, checksum: tuple[str, str], size: int) -> bool:
    try:
        return _mismatch(path, checksum, size, str(path)) is None
    except DataError:
        return False


def download_cap(size: int) -> int:
    """Most bytes a download of a file of ``size`` decompressed bytes may take: the file raw, or
    gzipped (deflate's worst case adds 5 bytes per 16 KB block, plus the header)."""
    return size + size // 1000 + 1024


def download_deadline(size: int) -> float:
    """Seconds one file's download may take in all (``$LSTM_SWEEP_DOWNLOAD_DEADLINE`` overrides):
    a minute plus the file at 50 KB/s (47 MB: 16 min), so a server that trickles is given up."""
    env = os.environ.get("LSTM_SWEEP_DOWNLOAD_DEADLINE")
    if env:
        try:
            value = float(env)
            if 0 < value < float("inf"):
                return value
        except ValueError:
            pass
        log.warning("ignoring $LSTM_SWEEP_DOWNLOAD_DEADLINE=%r (not a positive number)", env)
    return 60.0 + size / 50_000


def _clean_stale_parts(dest: Path) -> None:
    """Remove partial downloads left by killed downloads: each live download holds a lock on
    its ``.part`` file, which the kernel drops when the process dies."""
    for part in dest.glob(".*.part"):
        try:
            with open(part, "rb") as f:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                part.unlink(missing_ok=True)
                log.info("removed %s, left by an interrupted download", part)
        except OSError:  # locked (a download in progress) or already gone
            continue


def download_mnist(dest: str | os.PathLike, mirrors: Sequence[str] = MNIST_MIRRORS, **kwargs) -> Path:
    """Download MNIST into ``dest``: :func:`download_dataset` of ``DATASETS["mnist"]``."""
    return download_dataset(DATASETS["mnist"], dest, mirrors, **kwargs)


def download_dataset(
    spec: DatasetSpec,
    dest: str | os.PathLike,
    mirrors: Sequence[str] | None = None,
    progress: ProgressFn | None = None,
    timeout: float = 30.0,
    deadline: float | None = None,
) -> Path:
    """Download the four files of ``spec`` into ``dest`` (as .gz), each checked against its
    checksum, from ``mirrors`` (default: the spec's, or ``$LSTM_SWEEP_<NAME>_MIRRORS``).

    Each file is written to a temporary file in ``dest`` and renamed into place only after its
    checksum matches, so a failed download never leaves a partial file behind (one left by a
    killed download is removed by the next). Files already present and correct are kept. Each
    file has ``timeout`` seconds per network read, an overall ``deadline`` (default:
    :func:`download_deadline`) and a size cap (:func:`download_cap`): a server that trickles
    bytes or sends too many is given up, and the next mirror tried.

    Raises:
        DataError: no mirror delivered a correct copy of some file (all attempts listed).
    """
    dest = Path(dest)
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DataError(f"cannot create the data cache {dest}: {e}") from e
    _clean_stale_parts(dest)
    mirrors = mirrors or default_mirrors(spec)
    for name, expected in spec.checksums.items():
        final = dest / f"{name}.gz"
        size = spec.sizes[name]
        if final.is_file() and _verified(final, expected, size):
            continue
        errors = []
        for mirror in mirrors:
            url = mirror.rstrip("/") + f"/{name}.gz"
            try:
                _fetch_verified(
                    url,
                    final,
                    expected,
                    progress,
                    timeout,
                    size,
                    deadline if deadline is not None else download_deadline(size),
                )
                break
            except DataError as e:
                errors.append(str(e))
                log.info("%s; trying the next mirror", e)
        else:
            raise DataError(
                f"could not download {name} of {spec.name}: "
                + "; ".join(errors)
                + ". Put the four files in a folder and pass data_dir=, or retry later"
            )
    return dest


def _fetch_verified(
    url: str,
    final: Path,
    expected: tuple[str, str],
    progress: ProgressFn | None,
    timeout: float,
    size: int,
    deadline: float,
) -> None:
    fd, tmp_name = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".part", dir=final.parent)
    tmp = Path(tmp_name)
    cap = download_cap(size)
    give_up = time.monotonic() + deadline
    try:
        with os.fdopen(fd, "wb") as out:
            fcntl.flock(out, fcntl.LOCK_EX)  # this download is alive (see _clean_stale_parts)
            try:
                with urllib.request.urlopen(url, timeout=min(timeout, deadline)) as response:
                    total = response.headers.get("Content-Length")
                    total = int(total) if total is not None else None
                    if total is not None and total > cap:
                        raise DataError(
                            f"{url}: the server offers {total:,} bytes, more than this file can be ({cap:,})"
                        )
                    done = 0
                    # read1: whatever has arrived (read(n) would wait for all n bytes)
                    while chunk := response.read1(1 << 16):
                        out.write(chunk)
                        done += len(chunk)
                        if done > cap:
                            raise DataError(f"{url}: more than {cap:,} bytes, more than this file can be")
                        if time.monotonic() > give_up:
                            raise DataError(
                                f"{url}: gave up after {deadline:.0f} s with {done:,} bytes (too slow)"
                            )
                        if progress is not None:
                            progress(final.name, done, total)
                    if total is not None and done != total:
                        raise DataError(f"{url}: incomplete download ({done} of {total} bytes)")
            except DataError:
                raise
            except (urllib.error.URLError, OSError, ValueError) as e:
                raise DataError(f"{url}: {e}") from e
            # http.client raises IncompleteRead (an HTTPException) on a short body
            except Exception as e:  # noqa: BLE001
                raise DataError(f"{url}: {type(e).__name__}: {e}") from e
        wrong = _mismatch(tmp, expected, size, f"{url} (downloaded)")
        if wrong:
            raise DataError(wrong.replace(" (downloaded)", "", 1) if "checksum" in wrong else wrong)
        os.replace(tmp, final)
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


def default_mirrors(spec: DatasetSpec | None = None) -> tuple[str, ...]:
    """``$LSTM_SWEEP_<NAME>_MIRRORS`` (comma-separated; MNIST's: ``$LSTM_SWEEP_MNIST_MIRRORS``)
    if set, else the dataset's own mirrors."""
    spec = spec or DATASETS["mnist"]
    env = os.environ.get(spec.mirrors_variable, "")
    return tuple(m.strip() for m in env.split(",") if m.strip()) or spec.mirrors


def check_folder_argument(value, what: str) -> None:
    """Refuse (ConfigError naming ``what``) a folder argument that is neither None nor a path:
    a number, a bool, bytes, an empty string (it would mean the working folder) or one with a
    NUL character (no file system has such a name)."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (str, os.PathLike)):
        raise ConfigError(
            f"{what} must be a folder path (str or Path); got {type(value).__name__} {value!r:.60}"
        )
    text = os.fspath(value)
    if not isinstance(text, str):  # a PathLike of bytes
        raise ConfigError(f"{what} must be a folder path as text; got {value!r:.60}")
    if not text.strip():
        raise ConfigError(f"{what} must not be empty; give the folder of the four IDX files")
    if "\0" in text:
        raise ConfigError(f"{what} {text!r:.80} holds a NUL character; no folder has such a name")


def resolve_data_dir(
    data_dir: str | os.PathLike | None = None,
    *,
    dataset: str = "mnist",
    mirrors: Sequence[str] | None = None,
    progress: ProgressFn | None = None,
) -> Path:
    """Where the data comes from: ``data_dir``, else (for MNIST) ``$LSTM_SWEEP_DATA_DIR``, else
    the cache of ``dataset`` (downloaded into it when it lacks correct files).

    A folder named explicitly (argument or environment) must hold the four files: pointing at
    the wrong place is an error, not a silent fallback to MNIST. The cache is filled by
    downloading MNIST when it lacks (correct) files.

    Raises:
        ConfigError: an argument of the wrong kind (``data_dir`` not a path, ``dataset`` not a
            string, ``mirrors`` not a list of URLs, ``progress`` not callable).
        DataError: an unknown dataset, an explicit folder that lacks files, or a failed download.
    """
    spec = dataset_spec(dataset)
    check_folder_argument(data_dir, "data_dir")
    if mirrors is not None and (
        isinstance(mirrors, (str, bytes))
        or not isinstance(mirrors, Sequence)
        or not all(isinstance(m, str) and m.strip() for m in mirrors)
    ):
        raise ConfigError(f"mirrors must be a list of base URLs; got {mirrors!r:.80}")
    if progress is not None and not callable(progress):
        raise ConfigError(f"progress must be a function (name, done, total); got {progress!r:.60}")
    explicit = data_dir
    if explicit is None and dataset == "mnist":
        explicit = os.environ.get("LSTM_SWEEP_DATA_DIR") or None
    if explicit is not None:
        path = Path(explicit).expanduser()
        try:
            is_dir = stat.S_ISDIR(os.stat(path).st_mode)
        except (FileNotFoundError, NotADirectoryError):
            raise DataError(
                f"data folder {path} does not exist; pass data_dir= with the folder "
                "holding the four IDX files"
            ) from None
        except OSError as e:  # a name too long, a loop of links, no permission...
            raise DataError(
                f"data folder {str(path)[:200]}: cannot access it ({e.strerror}); "
                "pass data_dir= with the folder holding the four IDX files"
            ) from e
        if not is_dir:
            raise DataError(
                f"data folder {path} is not a folder; pass data_dir= with the folder "
                "holding the four IDX files"
            )
        missing = missing_files(path)
        if missing:
            raise DataError(f"{path}: missing {', '.join(missing)} (.gz or raw)")
        return path
    cache = cache_dir(dataset)
    if all(
        (f := find_file(cache, name)) is not None and _verified(f, checksum, spec.sizes[name])
        for name, checksum in spec.checksums.items()
    ):
        return cache
    log.info("%s not found in %s; downloading", dataset, cache)
    return download_dataset(spec, cache, mirrors=mirrors, progress=progress)
