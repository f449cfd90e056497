"""The CLI's help, checked for every command the group holds (found from the group, not listed
here): it prints, it carries examples that parse, a flag has one help text across commands
(or a reason in ``options.VARIANTS``), docs/cli.md is the commands' help as it is now, and the
CLI package imports nothing of lstm-sweep but its public API and the layers' packages (their
faces)."""

from __future__ import annotations

import ast
import shlex
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import lstm_sweep
from lstm_sweep.cli import cli, interrupted_message
from lstm_sweep.cli.options import VARIANTS
from lstm_sweep.cli.reference import REGENERATE, WIDTH, render

ROOT = Path(__file__).resolve().parents[1]
CLI_DIR = Path(lstm_sweep.__file__).parent / "cli"


def _commands(group: click.Group = cli) -> dict[str, click.Command]:
    ctx = click.Context(group, info_name="lstm-sweep")
    return {name: group.get_command(ctx, name) for name in group.list_commands(ctx)}


COMMANDS = _commands()


def _example_lines(command: click.Command) -> list[str]:
    epilog = command.epilog or ""
    lines = epilog.split("Examples:\n", 1)[1].splitlines() if "Examples:" in epilog else []
    return [line.strip() for line in lines if line.strip()]


def _declared_help(text: str | None) -> str:
    """An option's help without the default it states (the default may differ by command)."""
    return (text or "").split("  [default:")[0].rstrip(".")


def test_the_group_holds_every_command():
    assert len(COMMANDS) == 15
    assert {"run", "search", "transfer", "plan", "table", "serve", "coord-check", "check", "presets"} <= set(
        COMMANDS
    )


@pytest.mark.parametrize("name", ["", *COMMANDS])
def test_help_exits_0_and_shows_examples_verbatim(name):
    args = [name, "--help"] if name else ["--help"]
    out = CliRunner().invoke(cli, args, prog_name="lstm-sweep", terminal_width=60)
    assert out.exit_code == 0, out.output
    command = COMMANDS[name] if name else cli
    assert "\n  Examples:\n" in out.output and _example_lines(command)
    for line in _example_lines(command):  # \b: kept verbatim, not rewrapped at 60 columns
        assert f"    {line}\n" in out.output


@pytest.mark.parametrize("name", [*COMMANDS])
def test_every_example_parses(name):
    """Each example's options exist and its values convert (parsed, not run)."""
    for line in _example_lines(COMMANDS[name]):
        argv = shlex.split(line.split("#")[0].split(">")[0])
        assert argv[0] == "lstm-sweep", line
        sub, rest = argv[1], argv[2:]  # the examples give no group option
        group_ctx = click.Context(cli, info_name="lstm-sweep")
        with group_ctx:
            COMMANDS[sub].make_context(sub, rest, parent=group_ctx)


def test_a_flag_has_one_help_text_across_commands():
    helps: dict[str, dict[str, set[str]]] = {}
    for name, command in COMMANDS.items():
        for param in command.params:
            if isinstance(param, click.Option):
                assert param.help, f"{name} {param.opts[0]} has no help"
                for flag in param.opts:
                    helps.setdefault(flag, {}).setdefault(_declared_help(param.help), set()).add(name)
    drift = {flag: texts for flag, texts in helps.items() if len(texts) > 1 and flag not in VARIANTS}
    assert drift == {}, f"options declared with different help texts: {drift}"
    stale = [flag for flag in VARIANTS if len(helps.get(flag, {})) < 2]
    assert stale == [], f"VARIANTS names flags that no longer vary: {stale}"
    shared = {flag for flag, texts in helps.items() if sum(map(len, texts.values())) > 1}
    assert {"--db", "--data-dir", "--out", "--overwrite", "--force", "--executor"} <= shared


def test_docs_cli_md_is_the_commands_help():
    path = ROOT / "docs" / "cli.md"
    assert path.exists(), f"docs/cli.md is missing: run `{REGENERATE}`"
    assert path.read_text() == render(), f"docs/cli.md is stale: run `{REGENERATE}`"


def test_the_reference_does_not_depend_on_the_terminal(monkeypatch):
    monkeypatch.setenv("COLUMNS", "40")
    narrow = render()
    monkeypatch.setenv("COLUMNS", "250")
    assert render() == narrow
    help_lines = [line for block in narrow.split("```")[1::2] for line in block.splitlines()]
    widest = max(len(line) for line in help_lines)
    assert widest <= WIDTH + 20, widest  # click's layout, at WIDTH (long words overflow it)
    for name in COMMANDS:
        assert f"## lstm-sweep {name}\n" in narrow


def test_ctrl_c_says_how_to_resume_where_a_command_resumes():
    assert interrupted_message(["search", "--preset", "hw2"]).startswith(
        "Interrupted: finished trials and the rungs' results are saved; run the same "
        "`lstm-sweep search` command to resume"
    )
    assert (
        interrupted_message(["--debug", "run"])
        == "Interrupted: finished trials are saved; run the same command to resume."
    )
    assert interrupted_message(["table"]) == "Interrupted."
    assert interrupted_message(["coord-check"]) == "Interrupted."


def _lstm_sweep_imports(path: Path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module != "__future__":
            yield ("." * node.level + (node.module or "")), [a.name for a in node.names], node.lineno
        elif isinstance(node, ast.Import):
            for a in node.names:
                yield a.name, [], node.lineno
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "api":
            yield "lstm_sweep", [node.attr], node.lineno


LAYERS = ("study", "data", "store", "training", "running", "reporting", "serve")


def test_every_cli_module_uses_only_the_layers_faces():
    """The CLI package imports its own modules, ``lstm_sweep``'s public names and the names
    each layer's package exports (``lstm_sweep.store``, ``lstm_sweep.running``...): no module
    inside a layer (``lstm_sweep.store.core``), no private name."""
    import importlib

    files = sorted(CLI_DIR.glob("*.py"))
    assert len(files) > 8
    faces = {"lstm_sweep": set(lstm_sweep.__all__)} | {
        f"lstm_sweep.{layer}": set(importlib.import_module(f"lstm_sweep.{layer}").__all__) for layer in LAYERS
    }
    for path in files:
        for module, names, line in _lstm_sweep_imports(path):
            where = f"cli/{path.name}:{line}"
            if module.startswith("."):
                assert not module.startswith(".."), f"{where} imports {module}"
                continue
            if module.split(".")[0] != "lstm_sweep":
                continue
            assert module in faces or module.startswith("lstm_sweep.cli"), f"{where} imports {module}"
            assert not [n for n in names if n.startswith("_")], f"{where}: {names}"
            if module in faces:
                assert set(names) <= faces[module], f"{where}: {set(names) - faces[module]}"


def test_cli_modules_and_functions_stay_small():
    for path in CLI_DIR.glob("*.py"):
        lines = path.read_text().splitlines()
        assert len(lines) <= 300, f"cli/{path.name}: {len(lines)} lines"
        for node in ast.walk(ast.parse("\n".join(lines))):
            if isinstance(node, ast.FunctionDef):
                length = node.end_lineno - node.lineno + 1
                assert length <= 80, f"cli/{path.name}: {node.name} is {length} lines"
