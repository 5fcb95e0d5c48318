"""The ``dialogkit`` command line: a click group that imports each command only when run.

Lazy loading keeps ``dialogkit convert`` / ``validate`` / ``score`` fast and free of torch.
Each command lives in ``dialogkit/cli/<name>.py`` and only parses options, calls library
functions and prints; library code raises typed errors that :class:`DialogkitGroup` turns
into a one-line message and an exit code (never a traceback for bad input).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from typing import Any

import click

from dialogkit import __version__
from dialogkit.errors import DialogkitError

# name -> (module, attribute, one-line help, issue that builds it)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "convert": ("dialogkit.cli.convert:convert", "Convert dialogs between formats (OpenAI, ShareGPT, Alpaca, HF, SGD, MultiWOZ).", "2"),
    "validate": ("dialogkit.cli.validate:validate", "Find every defect in a dialog file, located by file:line, field and code.", "3"),
    "stats": ("dialogkit.cli.stats:stats", "Statistics and intent/slot coverage of a dialog file.", "3"),
    "prepare": ("dialogkit.cli.prepare:prepare", "Tokenize dialogs with exact assistant-only loss masks into Parquet.", "4"),
    "inspect": ("dialogkit.cli.prepare:inspect_cmd", "Show a dialog as the model sees it, trained tokens highlighted.", "4"),
    "synth": ("dialogkit.cli.synth:synth", "Synthesize dialogs from scenarios, offline or by LLM self-play.", "7"),
    "mine": ("dialogkit.cli.mine:mine", "Mine preference pairs with checker-verified negatives.", "8"),
    "train": ("dialogkit.cli.train:train", "Train with SFT, DPO, SimPO or ORPO on TRL (LoRA/QLoRA).", "5"),
    "model": ("dialogkit.cli.model:model", "Make models: init-tiny builds a tiny local model for demos and tests.", "5"),
    "score": ("dialogkit.cli.score:score", "Score dialogs; reproduce mwzeval, SGD and BFCL numbers.", "6"),
    "serve": ("dialogkit.cli.serve:serve", "Serve a trained model behind an OpenAI-compatible API.", "9"),
    "models": ("dialogkit.cli.models:models", "List, promote and roll back model versions.", "9"),
    "demo": ("dialogkit.cli.demo:demo", "Run the whole loop end to end, offline.", "10"),
    "schema": ("dialogkit.cli.schema:schema", "Print the JSON Schemas of dialogs and preference pairs.", "2"),
}


class CommandFailed(click.ClickException):
    """A library error, shown as ``error: ...`` with the error's own exit code."""

    def __init__(self, message: str, exit_code: int):
        super().__init__(message)
        self.exit_code = exit_code


def _not_built(name: str, help_text: str, issue: str) -> click.Command:
    @click.command(
        name=name,
        help=f"{help_text}\n\nNot built yet (tracked in issue {issue}).",
        context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
        add_help_option=True,
    )
    def cmd(**_: Any) -> None:
        raise CommandFailed(f"'dialogkit {name}' is not built yet (issue {issue})", 2)

    return cmd


class DialogkitGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        target, help_text, issue = COMMANDS[name]
        module, _, attr = target.partition(":")
        if importlib.util.find_spec(module) is None:
            return _not_built(name, help_text, issue)
        cmd = getattr(importlib.import_module(module), attr)
        if cmd.short_help is None:
            cmd.short_help = help_text
        return cmd

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Listing must not import every command (some pull torch); use the table's text.
        rows = [(name, help_text) for name, (_, help_text, _) in COMMANDS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DialogkitError as e:
            raise CommandFailed(str(e), e.exit_code) from e


@click.group(cls=DialogkitGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="dialogkit")
def cli() -> None:
    """dialogkit: the multi-turn dialogue fine-tuning loop in one CLI.

    \b
    Data:     convert -> validate / stats -> prepare / inspect
    Make:     synth -> mine
    Learn:    model init-tiny, train sft|dpo|simpo|orpo
    Measure:  score
    Ship:     serve, models, demo

    \b
    Examples:
      dialogkit convert --from sharegpt --to dialogkit data.json data.jsonl
      dialogkit validate data.jsonl --out clean.jsonl --rejects rejects.jsonl
    """


def main(argv: list[str] | None = None) -> None:
    try:
        cli.main(args=argv, prog_name="dialogkit", standalone_mode=True)
    except KeyboardInterrupt:  # pragma: no cover - interactive only
        click.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as e:  # noqa: BLE001 - last line of defence: a bug, not bad input
        if os.environ.get("DIALOGKIT_DEBUG"):
            raise
        click.echo(f"internal error: {type(e).__name__}: {e} (set DIALOGKIT_DEBUG=1 for the traceback)", err=True)
        sys.exit(3)
