"""The shape of the package, checked: no import cycle (type-only imports included), a CLI over
the layers' faces only (the public API and each layer's package), a curated public API, each
layer reached through its package, no module reading another's private
names, one declaration of a stored trial, stable trial keys, and one build of the work units per
run."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pytest

import lstm_sweep
from lstm_sweep.study.config import TrialConfig

SRC = Path(lstm_sweep.__file__).parent


def _modules() -> dict[str, Path]:
    out = {}
    for path in SRC.rglob("*.py"):
        parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _exported(path: Path | None) -> set[str]:
    """The names a module lists in its ``__all__`` (a package may export a function named as
    one of its modules: ``from lstm_sweep.reporting import findings`` is the function)."""
    if path is None:
        return set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            return set(ast.literal_eval(node.value))
    return set()


def _imports(name: str, path: Path, modules: dict[str, Path]):
    """(imported module, imported names, line) for every import of ``lstm_sweep`` modules in a
    file, at any depth: in a function, and under ``if TYPE_CHECKING:`` too (a type-only import
    is a dependency all the same: a cycle through one is a cycle the moment a checker, or a
    later edit, follows it)."""
    tree = ast.parse(path.read_text())
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] == "lstm_sweep":
                    yield a.name, [], node.lineno
        elif isinstance(node, ast.ImportFrom) and node.module != "__future__":
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "lstm_sweep":
                continue
            names = [a.name for a in node.names]
            subs = [
                f"{target}.{n}"
                for n in names
                if f"{target}.{n}" in modules and n not in _exported(modules.get(target))
            ]
            if subs:  # `from . import x` where x is a module (not a name its package exports)
                for sub in subs:
                    yield sub, [], node.lineno
            else:
                yield target, names, node.lineno


def _graph() -> dict[str, list[str]]:
    modules = _modules()
    return {
        m: sorted({t for t, _, _ in _imports(m, p, modules) if t in modules and t != m})
        for m, p in modules.items()
    }


def import_cycles(graph: dict[str, list[str]]) -> list[list[str]]:
    """One cycle (``[a, b, ..., a]``) for each knot of modules that import one another: each
    strongly connected component of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    knots = []

    def visit(m: str) -> None:
        index[m] = low[m] = len(index)
        stack.append(m)
        for t in graph[m]:
            if t not in index:
                visit(t)
                low[m] = min(low[m], low[t])
            elif t in stack:
                low[m] = min(low[m], index[t])
        if low[m] == index[m]:
            knot = stack[stack.index(m) :]
            del stack[stack.index(m) :]
            if len(knot) > 1:
                knots.append(set(knot))

    for m in sorted(graph):
        if m not in index:
            visit(m)
    cycles = []
    for knot in knots:  # a path from the knot's first module back to it, inside the knot
        start = min(knot)
        paths = {start: [start]}
        todo = [start]
        while todo:
            m = todo.pop(0)
            for t in graph[m]:
                if t == start:
                    cycles.append(paths[m] + [start])
                    todo = []
                    break
                if t in knot and t not in paths:
                    paths[t] = paths[m] + [t]
                    todo.append(t)
    return sorted(cycles)


def test_import_cycles_are_found():
    graph = {"a": ["b"], "b": ["c"], "c": ["a", "d"], "d": [], "e": ["e2"], "e2": ["e"]}
    assert import_cycles(graph) == [["a", "b", "c", "a"], ["e", "e2", "e"]]
    assert import_cycles({"a": ["b"], "b": []}) == []


def test_no_import_cycle():
    graph = _graph()
    assert len(graph) > 20
    cycles = import_cycles(graph)
    assert cycles == [], "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def _faces() -> dict[str, set[str]]:
    """Each package the CLI may import -> the names it offers: the public API (``lstm_sweep``)
    and each layer's package (``lstm_sweep.store``...), by their ``__all__``."""
    modules = _modules()
    return {
        m: _exported(p)
        for m, p in modules.items()
        if m == "lstm_sweep" or (m.count(".") == 1 and p.name == "__init__.py" and _layer(m) not in ("cli",))
    }


def test_the_cli_imports_only_layer_faces():
    """The CLI (a ``cli/`` package of modules) imports its own modules, the public API and the
    layers' packages (their ``__init__``: what a layer offers the others), and from each only the
    names it exports: never a module inside a layer, never a private name."""
    modules = _modules()
    faces = _faces()
    assert {"lstm_sweep", "lstm_sweep.store", "lstm_sweep.running", "lstm_sweep.reporting"} <= set(faces)
    cli = {m: p for m, p in modules.items() if _layer(m) == "cli"}
    assert "lstm_sweep.cli" in cli
    used = [(m, *u) for m, p in cli.items() for u in _imports(m, p, modules)]
    assert any(target == "lstm_sweep" for _, target, _, _ in used), "the CLI imports the package"
    for module, target, names, line in used:
        where = f"{cli[module].relative_to(SRC)}:{line}"
        assert target in faces or target in cli, f"{where} imports {target} (not a layer's face)"
        if target in faces:
            assert set(names) <= faces[target], f"{where}: {set(names) - faces[target]}"
    for path in cli.values():
        for node in ast.walk(ast.parse(path.read_text())):  # api.<name> uses
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == "api"
            ):
                assert node.attr in lstm_sweep.__all__, (
                    f"{path.relative_to(SRC)}:{node.lineno}: api.{node.attr}"
                )


def test_the_public_api_is_curated_and_its_old_names_still_work():
    """``lstm_sweep.__all__`` is what a user needs (docs/api.md lists each name); the names
    that lstm-sweep 0.x exported and that now live in a layer's package are still found at the
    top, with a DeprecationWarning naming their place, and are the very objects of that place."""
    import importlib

    api = set(lstm_sweep.__all__)
    assert len(api) == len(lstm_sweep.__all__) <= 60
    moved = lstm_sweep._MOVED
    assert not api & set(moved)
    for name in api:
        assert getattr(lstm_sweep, name) is not None
    for name, home in moved.items():
        layer = importlib.import_module(home)
        assert name in layer.__all__, f"{home} does not export {name}"
        with pytest.warns(DeprecationWarning, match=f"lstm_sweep.{name} has moved: import it from {home}"):
            assert getattr(lstm_sweep, name) is getattr(layer, name)
    docs = (SRC.parents[1] / "docs" / "api.md").read_text()
    for name in api:
        assert f"`{name}" in docs, f"docs/api.md does not list {name}"
    for name in moved:
        assert f"`{name}`" in docs, f"docs/api.md does not say where {name} moved"


def test_no_module_imports_another_modules_private_names():
    modules = _modules()
    for name, path in modules.items():
        for target, names, line in _imports(name, path, modules):
            private = [n for n in names if n.startswith("_")]
            assert not private, f"{path.name}:{line} imports {private} from {target}"


def test_a_stored_trial_is_declared_once():
    from lstm_sweep.store.schema import COLUMNS, SCHEMA
    from lstm_sweep.study.results import TrialResult

    fields = {f.name for f in dataclasses.fields(TrialResult)} - {"config", "status", "curve"}
    assert fields == {c.name for c in COLUMNS if c.field}  # every result field has its column
    for c in COLUMNS:
        assert f"    {c.name} {c.sql}" in SCHEMA
    assert "CHECK (status IN ('done', 'diverged', 'failed', 'oom', 'pruned'))" in SCHEMA


def test_trial_keys_are_stable():
    # keys that lstm-sweep 0.1.0 stored (the version-1 fixture store holds more: every row of it
    # is read back only if its config still hashes to its key)
    assert TrialConfig(hidden=16, lr=1e-3, steps=30).key() == "445f36ee6d6f1d077a4dbc1e65a7d836"
    assert TrialConfig(hidden=128, lr=0.1).key() == "4212191b83911f4328cf9c28aba3cae3"
    # a field added later with its default value keeps every key; another value makes a new one
    later = dataclasses.make_dataclass(
        "Later", [("cell", str, dataclasses.field(default="lstm"))], bases=(TrialConfig,), frozen=True
    )
    assert later(hidden=16, lr=1e-3, steps=30).key() == "445f36ee6d6f1d077a4dbc1e65a7d836"
    assert later(hidden=16, lr=1e-3, steps=30, cell="gru").key() != "445f36ee6d6f1d077a4dbc1e65a7d836"


@pytest.mark.slow
def test_one_run_builds_its_work_units_once(monkeypatch, mnist_dir, tmp_path):
    import lstm_sweep.running.sweep as sweep
    from helpers import cli

    calls = []
    real = sweep.make_units
    monkeypatch.setattr(sweep, "make_units", lambda *a, **k: calls.append(1) or real(*a, **k))
    o = cli(
        "run",
        "--hidden",
        "8,16",
        "--lr",
        "0.01,0.1",
        "--steps",
        "5",
        "--device",
        "cpu",
        "--workers",
        "1",
        "--no-progress",
        "--data-dir",
        mnist_dir,
        "--db",
        tmp_path / "s.db",
    )
    assert o.code == 0, o.text
    assert len(calls) == 1


# The layers, bottom to top, and what each may import of lstm-sweep (besides itself). `cli` and
# the package's `__init__` (the public API) sit on top and may import anything.
LAYERS = {
    "errors": set(),
    "study": {"errors"},
    "data": {"errors"},
    "store": {"errors", "study"},
    "training": {"errors", "study", "data"},
    "running": {"errors", "study", "data", "training", "store"},
    "reporting": {"errors", "study", "store"},
    "serve": {"errors", "study", "store", "reporting"},
}
# Third-party packages a layer must never load: a report starts without torch, anywhere.
FORBIDDEN = {
    "study": {"torch", "numpy", "matplotlib", "ray"},
    "data": {"torch", "ray"},
    "store": {"torch", "numpy", "matplotlib", "ray"},
    "reporting": {"torch", "ray"},
    "serve": {"torch", "ray", "numpy", "matplotlib"},
}


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_every_module_sits_in_a_layer_folder():
    loose = [
        m
        for m in _modules()
        if m.count(".") == 1
        and _layer(m)
        not in ("errors", "cli", "study", "data", "store", "training", "running", "reporting", "serve")
    ]
    assert loose == [], f"modules outside the layer folders: {loose}"
    for layer in ("study", "data", "store", "training", "running", "reporting", "serve"):
        assert (SRC / layer / "__init__.py").exists()
        assert ast.get_docstring(ast.parse((SRC / layer / "__init__.py").read_text())), (
            f"{layer}/__init__.py says what the layer is for"
        )


def test_layers_import_only_downwards():
    modules = _modules()
    for name, path in modules.items():
        layer = _layer(name)
        if layer in ("__init__", "cli"):
            continue
        for target, _, line in _imports(name, path, modules):
            other = _layer(target)
            if other != layer:
                assert other in LAYERS[layer], (
                    f"{path.relative_to(SRC)}:{line}: {layer} imports {target} ({other} is not below {layer})"
                )


# Imports that still reach past a layer's package, allowed for now, each with its reason: by
# imported layer (every module importing it) or by importing module (all it imports). An entry
# that no longer allows anything must go (the test says so).
FACE_ALLOWED_LAYERS: dict[str, str] = {}
FACE_ALLOWED_IMPORTERS: dict[str, str] = {}


def _past_the_face() -> list[tuple[str, str, int, str]]:
    """(importing module, imported module, line, its file) for each import of a module of
    another layer that is not that layer's package (``lstm_sweep.store.store``, not
    ``lstm_sweep.store``). ``errors`` is one module, its own face; ``lstm_sweep`` is the API."""
    modules = _modules()
    out = []
    for name, path in modules.items():
        layer = _layer(name)
        for target, _, line in _imports(name, path, modules):
            other = _layer(target)
            if other not in (layer, "errors", "__init__") and target != f"lstm_sweep.{other}":
                out.append((name, target, line, str(path.relative_to(SRC))))
    return out


def test_each_layer_is_reached_through_its_package():
    """A module imports another layer through its package: what a layer offers the others is
    its ``__init__``'s names, and its modules may move within it."""
    past = _past_the_face()
    allowed = [p for p in past if _layer(p[1]) in FACE_ALLOWED_LAYERS or p[0] in FACE_ALLOWED_IMPORTERS]
    unlisted = [
        f"{where}:{line} imports {target}"
        for name, target, line, where in past
        if (name, target, line, where) not in allowed
    ]
    assert unlisted == [], "import the layer's package instead: " + "; ".join(unlisted)
    stale = [k for k in FACE_ALLOWED_LAYERS if not any(_layer(p[1]) == k for p in allowed)] + [
        k for k in FACE_ALLOWED_IMPORTERS if not any(p[0] == k for p in allowed)
    ]
    assert stale == [], f"allowances that allow nothing any more (remove them): {stale}"


def test_lower_layers_never_load_heavy_packages():
    modules = _modules()
    for name, path in modules.items():
        banned = FORBIDDEN.get(_layer(name), set())
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                roots = {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and not node.level:
                roots = {(node.module or "").split(".")[0]}
            else:
                continue
            assert not roots & banned, f"{path.relative_to(SRC)}:{node.lineno} imports {roots & banned}"


def test_a_report_loads_no_torch():
    import subprocess
    import sys

    code = (
        "import sys, lstm_sweep; from lstm_sweep import build_tables, render_html, "
        "load_results, check_store, export_rows, findings; "
        "import lstm_sweep.reporting.plots; "
        "print(sorted(m for m in ('torch', 'ray') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_the_cli_starts_without_torch():
    """Every command's module is imported when ``lstm-sweep`` starts; torch (a second of start-up)
    loads only in the commands that train or plan, when they run."""
    import subprocess
    import sys

    code = "import sys, lstm_sweep.cli; print(sorted(m for m in ('torch', 'ray') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
