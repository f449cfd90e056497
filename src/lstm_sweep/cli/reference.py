"""The CLI reference, generated from the commands themselves (their ``--help``), so that
``docs/cli.md`` cannot drift from them. Regenerate it with::

    python -m lstm_sweep.cli.reference > docs/cli.md

The text is laid out at a fixed width, whatever the terminal's.
"""

from __future__ import annotations

import click

from .app import cli

WIDTH = 100  # columns of the help text in docs/cli.md
REGENERATE = "python -m lstm_sweep.cli.reference > docs/cli.md"


def help_text(args: list[str], group: click.Group = cli) -> str:
    """What ``lstm-sweep ARGS --help`` prints, laid out at :data:`WIDTH` columns."""
    from click.testing import CliRunner

    out = CliRunner().invoke(
        group, [*args, "--help"], prog_name="lstm-sweep", terminal_width=WIDTH, max_content_width=WIDTH
    )
    if out.exit_code != 0:
        raise RuntimeError(f"lstm-sweep {' '.join(args)} --help: exit {out.exit_code}")
    return out.output


def commands(group: click.Group = cli) -> list[str]:
    """The group's command names, as ``lstm-sweep --help`` lists them."""
    return list(group.list_commands(click.Context(group, info_name="lstm-sweep")))


def render(group: click.Group = cli) -> str:
    """docs/cli.md: the group's help, then each command's."""
    parts = [
        "# Command-line reference",
        "",
        f"Generated from the commands' `--help` by `{REGENERATE}`; do not edit by hand "
        "(a test fails when it is stale).",
        "",
        "## lstm-sweep",
        "",
        "```",
        help_text([], group).rstrip("\n"),
        "```",
    ]
    for name in commands(group):
        parts += ["", f"## lstm-sweep {name}", "", "```", help_text([name], group).rstrip("\n"), "```"]
    return "\n".join(parts) + "\n"


if __name__ == "__main__":
    click.echo(render(), nl=False)
