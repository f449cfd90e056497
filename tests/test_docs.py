"""The README and docs/*.md cannot drift: every relative link resolves, and the examples marked
as runnable are run and their output compared with the page.

The convention, for whoever writes a page:

- A ```console block (commands after ``$ ``, each followed by its output) must be preceded, on the
  line before its fence, by one of two HTML comments (invisible on the forge):
  ``<!-- example: run -->``: this test runs it; ``<!-- example: not run (why) -->``: it is shown
  as it was printed (a real run that trains models, reads a trained store, or prints this
  machine's times), and the reason says why it is not run. A block without either fails here.
- A run block's commands must start with ``lstm-sweep`` (``| head``, ``| tail``, ``; echo`` may
  follow). Each runs under bash in a scratch folder that holds the stores built below, with
  this virtual environment's ``lstm-sweep`` first on the PATH and ``$LSTM_SWEEP_DATA_DIR`` set to
  the tests' MNIST (a refusal that names the training set reads it); its stdout and stderr together
  (unbuffered, so in a terminal's order) must equal the lines that follow it, up to the next
  ``$ ``. A line ``...`` stands for any number of lines.
- A ```python block marked run is run with this Python in the same folder and must exit 0; the
  ```text block right after it (blank lines between allowed) is its expected stdout.
- Normalised before comparing: trailing spaces on each line, and the scratch folder's path
  (written ``.`` in a page). Nothing else: no run example may print a time, a machine's speed
  or a path outside the scratch folder, so times are not normalised.

The scratch folder (:func:`scratch`): ``lstm-sweep.db`` holds the 24 test accuracies of the quick
run shown in the README (hidden 16-128 x six rates, seed 0, 999 steps; the other fields are
placeholders, so no run example shows times or curves of it); ``s.db`` is a 2 x 2
store (hidden 16, 32 x lr 0.01, 0.1, 200 steps, 20 curve points each); ``d.db`` is ``s.db`` with
one row's config edited by hand into invalid JSON; ``fifo`` is a FIFO.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from lstm_sweep import Status, Store, TrialConfig, TrialResult
from lstm_sweep.study.results import CurvePoint

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BIN = Path(sys.executable).parent

# The quick run's table (README, "What it prints"): hidden -> accuracy at each rate.
QUICK_RATES = (1e-5, 1e-4, 1e-3, 1e-2, 0.1, 1.0)
QUICK = {
    16: (0.0895, 0.3370, 0.8741, 0.9462, 0.8573, 0.1032),
    32: (0.1030, 0.6822, 0.9375, 0.9638, 0.8483, 0.2600),
    64: (0.1935, 0.8247, 0.9586, 0.9785, 0.8748, 0.1032),
    128: (0.4672, 0.8971, 0.9623, 0.9792, 0.0892, 0.1008),
}
DAMAGED_KEY = "ba2752149a7d7281a0359fbc505aa4a7"  # hidden 32, lr 0.1, 200 steps

FENCE = re.compile(r"^```(\w*)\s*$")
MARK = re.compile(r"^<!-- example: (run|not run \((.+)\)) -->$")


def trial(hidden: int, lr: float, acc: float, steps: int, points: int) -> TrialResult:
    """A finished trial (not trained): ``acc`` as its test and validation accuracy, ``points``
    curve points at steps 10, 20, ... (placeholders, as its times are)."""
    curve = tuple(CurvePoint(10 * (i + 1), 1.0 / (i + 1), 0.5) for i in range(points))
    return TrialResult(
        config=TrialConfig(hidden=hidden, lr=lr, steps=steps),
        status=Status.DONE,
        test_accuracy=acc,
        val_accuracy=acc,
        train_loss=0.3,
        steps_done=steps,
        wall_s=1.0,
        cpu_s=1.0,
        peak_mem_bytes=10**8,
        device="cpu:test",
        curve=curve,
        started_at=1000.0,
    )


def _rel(page: Path) -> str:
    return str(page.relative_to(ROOT))


def blocks(page: Path) -> list[dict]:
    """The fenced blocks of a page: language, body lines, the line before the fence, line number."""
    lines = page.read_text(encoding="utf-8").split("\n")
    found, i = [], 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if m:
            j = i + 1
            while j < len(lines) and not lines[j].startswith("```"):
                j += 1
            assert j < len(lines), f"{_rel(page)}:{i + 1}: a fence that is never closed"
            found.append(
                {
                    "lang": m.group(1),
                    "body": lines[i + 1 : j],
                    "before": lines[i - 1] if i else "",
                    "line": i + 1,
                    "end": j + 1,
                }
            )
            i = j + 1
        else:
            i += 1
    return found


def _prose(text: str) -> str:
    """The page without its fenced blocks and inline code (where `](` is not a link)."""
    text = re.sub(r"^```.*?^```", "", text, flags=re.M | re.S)
    return re.sub(r"`[^`\n]*`", "", text)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = re.sub(r"^```.*?^```", "", page.read_text(encoding="utf-8"), flags=re.M | re.S)
    return {slug(m.group(1)) for m in re.finditer(r"^#{1,6} (.+)$", text, flags=re.M)}


def links(page: Path) -> list[str]:
    return re.findall(r"\]\(([^)\s]+)\)", _prose(page.read_text(encoding="utf-8")))


def run_blocks() -> list:
    cases = []
    for page in PAGES:
        for b in blocks(page):
            if b["before"] == "<!-- example: run -->":
                cases.append(pytest.param(page, b, id=f"{_rel(page)}:{b['line']}"))
    return cases


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("docs")
    with Store(folder / "lstm-sweep.db") as store:
        for hidden, accuracies in QUICK.items():
            for lr, acc in zip(QUICK_RATES, accuracies):
                store.save(trial(hidden, lr, acc, steps=999, points=3))
    with Store(folder / "s.db") as store:
        for hidden in (16, 32):
            for lr in (0.01, 0.1):
                store.save(trial(hidden, lr, 0.9, steps=200, points=20))
    shutil.copy(folder / "s.db", folder / "d.db")
    conn = sqlite3.connect(folder / "d.db")
    with conn:
        conn.execute("UPDATE trials SET config = '{hidden: 32}' WHERE key = ?", (DAMAGED_KEY,))
    conn.close()
    os.mkfifo(folder / "fifo")
    return folder


def _normalise(text: str, folder: Path) -> list[str]:
    text = text.replace(str(folder), ".")
    return [line.rstrip() for line in text.rstrip("\n").split("\n")]


def _matches(expected: list[str], actual: list[str]) -> bool:
    pattern = "".join("(?:.*\n)*?" if line == "..." else re.escape(line) + "\n" for line in expected)
    return re.fullmatch(pattern, "".join(line + "\n" for line in actual)) is not None


def _shell(command: str, folder: Path, data: Path) -> str:
    env = dict(
        os.environ,
        PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        LSTM_SWEEP_DATA_DIR=str(data),
        PYTHONUNBUFFERED="1",
    )  # lines in a terminal's order
    done = subprocess.run(
        ["bash", "-c", command],
        cwd=folder,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    return done.stdout


@pytest.mark.parametrize("page", PAGES, ids=_rel)
def test_relative_links_resolve(page):
    broken = []
    for target in links(page):
        if re.match(r"[a-z]+:", target):  # http:, https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.is_file():
            broken.append(f"{target}: no such file")
        elif anchor and file.suffix == ".md" and anchor not in anchors(file):
            broken.append(f"{target}: no heading #{anchor} in {_rel(file)}")
    assert not broken, f"{_rel(page)}: " + "; ".join(broken)


@pytest.mark.parametrize("page", PAGES, ids=_rel)
def test_pages_name_no_machine_paths(page):
    text = page.read_text(encoding="utf-8")
    for bad in ("/work/", "../shared", "shared/data"):
        assert bad not in text, f"{_rel(page)} names {bad!r}: a path on our machines only"


@pytest.mark.parametrize("page", PAGES, ids=_rel)
def test_every_console_block_says_whether_it_runs(page):
    for b in blocks(page):
        if b["lang"] == "console":
            m = MARK.match(b["before"])
            assert m, (
                f"{_rel(page)}:{b['line']}: a console block needs <!-- example: run --> "
                "or <!-- example: not run (why) --> on the line before it"
            )
        if b["before"] == "<!-- example: run -->":
            assert b["lang"] in ("console", "python"), f"{_rel(page)}:{b['line']}: run what?"


def test_the_readme_is_a_front_door():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").count("\n")
    assert lines <= 250, f"README.md has {lines} lines: move the detail into docs/"
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    for page in (
        "docs/guide.md",
        "docs/results.md",
        "docs/guarantees.md",
        "docs/cli.md",
        "docs/api.md",
        "docs/store-format.md",
        "docs/DESIGN.md",
        "docs/serve.png",
    ):
        assert f"]({page}" in text, f"README.md does not link {page}"


@pytest.mark.parametrize(("page", "block"), run_blocks())
def test_example_output_is_what_the_command_prints(page, block, scratch, mnist_dir):
    where = f"{_rel(page)}:{block['line']}"
    if block["lang"] == "python":
        after = [b for b in blocks(page) if b["line"] > block["end"]]
        assert after, f"{where}: a run python block needs its output in a text block after it"
        between = page.read_text(encoding="utf-8").split("\n")[block["end"] : after[0]["line"] - 1]
        assert after[0]["lang"] == "text" and not any(s.strip() for s in between), (
            f"{where}: a run python block needs its output in a text block right after it"
        )
        done = subprocess.run(
            [sys.executable, "-c", "\n".join(block["body"])],
            cwd=scratch,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, f"{where}: {done.stderr}"
        assert _normalise(done.stdout, scratch) == after[0]["body"], f"{where}: output differs"
        return
    examples, current = [], None
    for line in block["body"]:
        if line.startswith("$ "):
            current = (line[2:], [])
            examples.append(current)
        else:
            assert current is not None, f"{where}: output before any command"
            current[1].append(line.rstrip())
    assert examples, f"{where}: no command"
    for command, expected in examples:
        assert command.startswith("lstm-sweep "), f"{where}: runs only lstm-sweep, not {command!r}"
        actual = _normalise(_shell(command, scratch, mnist_dir), scratch)
        assert _matches(expected, actual), (
            f"{where}: `{command}` printed\n" + "\n".join(actual) + "\nthe page says\n" + "\n".join(expected)
        )


def test_matching_allows_elided_lines_only_where_marked():
    assert _matches(["a", "...", "d"], ["a", "b", "c", "d"])
    assert _matches(["a", "...", "d"], ["a", "d"])
    assert not _matches(["a", "d"], ["a", "b", "d"])
    assert not _matches(["a", "...", "d"], ["a", "b", "c", "e"])


def test_slugs_are_githubs():
    assert slug("On a GPU: the whole grid, 4096 included") == "on-a-gpu-the-whole-grid-4096-included"
    assert (
        slug("Why the zone moves, and how to make it stand still (μP)")
        == "why-the-zone-moves-and-how-to-make-it-stand-still-μp"
    )
    assert slug('Fidelity: what "seed-faithful" means') == "fidelity-what-seed-faithful-means"
