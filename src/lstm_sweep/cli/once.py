"""One value per option: click keeps an option's last value when it is given twice, dropping
the others silently (``run --lr 0.01 --lr 0.1`` trained only 0.1). :func:`refuse_repeats` makes
a command refuse that, saying how to give the values once; options meant to repeat (``--opt``,
``--where``) still repeat. A list written with spaces (``--hidden 16 32``) is told to use
commas."""

from __future__ import annotations

import click


def _spellings(param: click.Parameter, args: list[str]) -> list[str]:
    """How ``param`` was written in ``args``, in order: ``--lr 0.01``, ``--lr=0.1``, ``--fast``."""
    names = [*param.opts, *getattr(param, "secondary_opts", ())]
    out = []
    for i, arg in enumerate(args):
        if arg == "--":
            break
        for name in names:
            if arg == name:
                flag = getattr(param, "is_flag", False)
                out.append(arg if flag or i + 1 >= len(args) else f"{arg} {args[i + 1]}")
            elif arg.startswith(name + "="):
                out.append(arg)
    return out


def _is_list(param: click.Parameter) -> bool:
    return type(param.type).__name__ in ("AxisList", "CommaList")


def _comma_hint(command: click.Command, ctx: click.Context, args: list[str], first: str) -> None:
    """An extra argument right after a list option's value (``--hidden 16 32``): say to use commas."""
    at = next((i for i, a in enumerate(args) if a == first), None)
    if at is None or at < 2:
        return
    for param in command.params:
        if isinstance(param, click.Option) and _is_list(param) and args[at - 2] in param.opts:
            values = [args[at - 1]]
            for arg in args[at:]:
                if arg.startswith("-"):
                    break
                values.append(arg)
            raise click.UsageError(
                f"unexpected extra argument {first!r} after {args[at - 2]} {args[at - 1]}: give a "
                f"list comma-separated, without spaces, e.g. {args[at - 2]} {','.join(values)}",
                ctx,
            )


def refuse_repeats(command: click.Command) -> click.Command:
    """``command`` refusing an option given twice (click keeps the last value, dropping the
    others silently: ``--lr 0.01 --lr 0.1`` trained only 0.1), with one error naming the repeats
    and how to give them once; options meant to repeat (``--opt``, ``--where``) are not refused.
    An extra argument after a list option (``--hidden 16 32``) is told to use commas."""
    parse = command.parse_args

    def parse_args(ctx: click.Context, args: list[str]) -> list[str]:
        args = list(args)
        given = args[: args.index("--")] if "--" in args else args
        if ctx.resilient_parsing or "-h" in given or "--help" in given:  # completion, or help
            return parse(ctx, args)
        try:
            _, extra, order = command.make_parser(ctx).parse_args(args=list(args))
        except click.UsageError:
            return parse(ctx, args)  # the parse below says what is wrong
        seen: dict[str, int] = {}
        for param in order:
            if isinstance(param, click.Option) and not (param.multiple or param.count or param.is_eager):
                seen[param.name or ""] = seen.get(param.name or "", 0) + 1
                if seen[param.name or ""] == 2:
                    written = _spellings(param, args)
                    how = (
                        f"; give its values once, comma-separated, e.g. {param.opts[0]} "
                        + ",".join(w.split("=", 1)[-1].split(" ", 1)[-1] for w in written)
                        if _is_list(param) and not param.is_flag
                        else "; give it once"
                    )
                    raise click.UsageError(
                        f"{param.opts[0]} is given {len(written) or 'more than one'} times "
                        f"({', '.join(written)})"
                        + ("" if param.is_flag else ", and only one would count")
                        + how,
                        ctx,
                    )
        if extra and not any(isinstance(p, click.Argument) for p in command.params):
            _comma_hint(command, ctx, args, extra[0])
        return parse(ctx, args)

    command.parse_args = parse_args  # type: ignore[method-assign]
    return command
