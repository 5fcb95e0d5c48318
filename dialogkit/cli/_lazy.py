"""A click group whose subcommands live in their own modules and load on use."""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

import click


class LazySubgroup(click.Group):
    """``subcommands`` maps a name to ``(\"module:attr\", short help)``; missing modules say so."""

    def __init__(self, *args: Any, subcommands: dict[str, tuple[str, str]] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.subcommands = subcommands or {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.subcommands)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in self.subcommands:
            return None
        target, help_text = self.subcommands[name]
        module, _, attr = target.partition(":")
        if importlib.util.find_spec(module) is None:
            from dialogkit.cli import CommandFailed

            @click.command(name=name, help=f"{help_text}\n\nNot built yet.",
                           context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
            def stub(**_: Any) -> None:
                raise CommandFailed(f"'{ctx.command_path} {name}' is not built yet", 2)

            return stub
        cmd = getattr(importlib.import_module(module), attr)
        if cmd.short_help is None:
            cmd.short_help = help_text
        return cmd

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(n, h) for n, (_, h) in self.subcommands.items()])
