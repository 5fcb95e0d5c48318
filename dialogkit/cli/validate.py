"""``dialogkit validate``: find every defect in a dialog file, located by file:line, field and code."""

from __future__ import annotations

import sys
import tempfile
from typing import IO, Any

import click

from dialogkit.errors import Issue, UsageError
from dialogkit.io import dumps


def _print_rules(fmt: str) -> None:
    from dialogkit.validate import all_rules

    rules = all_rules()
    if fmt == "json":
        click.echo(dumps([{"code": r.code, "severity": r.severity, "group": r.group,
                           "description": r.description, "can_disable": r.can_disable} for r in rules]).decode())
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("code", "severity", "group", "meaning", title="dialogkit validate rules")
    for r in rules:
        table.add_row(r.code, r.severity, r.group, r.description)
    Console(width=140).print(table)


class _Spool:
    """Issues for ``--format json``, kept on disk so memory stays flat on huge files."""

    def __init__(self) -> None:
        self.fh: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - lives for the whole run, closed at exit
        self.n = 0

    def __call__(self, issue: Issue) -> None:
        self.fh.write((b"," if self.n else b"") + dumps(issue.to_dict()))
        self.n += 1

    def emit(self, summary: dict[str, Any]) -> None:
        sys.stdout.flush()
        out = sys.stdout.buffer
        out.write(b'{"summary": ' + dumps(summary) + b', "issues": [')
        self.fh.seek(0)
        while block := self.fh.read(1 << 20):
            out.write(block)
        out.write(b"]}\n")
        out.flush()


class _Printer:
    """Text mode: the first issues as ``file:line: dialog <id>: path: message (CODE)``."""

    def __init__(self, limit: int):
        self.limit, self.n = limit, 0

    def __call__(self, issue: Issue) -> None:
        if self.n < self.limit:
            click.echo(f"{issue.format(noun='dialog')} [{issue.severity}]")
        self.n += 1


def _print_summary(s: dict[str, Any], printed: int, total: int) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=140, highlight=False)
    if total > printed:
        console.print(f"... {total - printed} more issues (see --format json or --rejects)")
    if s["by_code"]:
        table = Table("code", "severity", "count", "first example", title=f"Issues in {s['file']}")
        for code, entry in s["by_code"].items():
            style = "red" if entry["severity"] == "error" else "yellow"
            table.add_row(f"[{style}]{code}[/]", entry["severity"], str(entry["count"]), entry["examples"][0])
        console.print(table)
    console.print(
        f"{s['dialogs']} dialogs: {s['clean']} without errors ({s['with_warnings']} of them with warnings), "
        f"{s['rejected']} with errors; {s['errors']} errors, {s['warnings']} warnings "
        f"in {s['seconds']:.2f}s ({s['dialogs_per_s'] or 0}/s, {s['workers']} worker(s))"
    )
    for name, info in s["outputs"].items():
        console.print(f"wrote {info['path']} ({info['records']} records, --{name})")


@click.command(context_settings={"max_content_width": 110})
@click.argument("input_path", metavar="IN", required=False, type=click.Path(dir_okay=True))
@click.option("--from", "fmt", default="dialogkit", show_default=True, help="Input format (any format convert reads).")
@click.option("--format", "out_format", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="text: issue lines and a summary table; json: {summary, issues} on stdout.")
@click.option("--out", type=click.Path(dir_okay=False), help="Write exactly the dialogs without errors (warnings kept), unchanged.")
@click.option("--rejects", type=click.Path(dir_okay=False), help="Write every other record with its issues.")
@click.option("--redact", type=click.Path(dir_okay=False), help="Write a copy with PII replaced by [EMAIL], [PHONE], ...")
@click.option("--tokenizer", help="Local tokenizer folder (with a chat template) for the length rule.")
@click.option("--max-length", type=click.IntRange(min=1), help="Token limit for the length rule (needs --tokenizer).")
@click.option("--domain-schema", type=click.Path(dir_okay=False), help="SGD/MultiWOZ schema.json or a dialogkit domain file.")
@click.option("--disable", multiple=True, metavar="CODE", help="Skip a rule (repeatable, or a comma list; a group name works too).")
@click.option("--warn", multiple=True, metavar="CODE", help="Report a code as a warning instead of an error.")
@click.option("--min-turns", type=click.IntRange(min=0), default=3, show_default=True, help="FEW_TURNS below this many user turns.")
@click.option("--near-threshold", type=click.FloatRange(0, 1, min_open=True), default=0.8, show_default=True,
              help="DUPLICATE_NEAR when this share of message texts is the same.")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True, help="Processes to check with.")
@click.option("--max-issues", type=click.IntRange(min=0), default=20, show_default=True, help="Issue lines to print in text mode.")
@click.option("--list-rules", is_flag=True, help="Print every code with its severity and meaning, and exit.")
@click.pass_context
def validate(ctx: click.Context, input_path: str | None, fmt: str, out_format: str, out: str | None,
             rejects: str | None, redact: str | None, tokenizer: str | None, max_length: int | None,
             domain_schema: str | None, disable: tuple[str, ...], warn: tuple[str, ...], min_turns: int,
             near_threshold: float, workers: int, max_issues: int, list_rules: bool) -> None:
    """Find every defect in a dialog file, each located as
    file:line: dialog <id>: field: message (CODE).

    Structure (the schema), roles and order, tools (declared, JSON Schema of the arguments,
    call/result ids), state against a domain schema, quality (few turns, exact and near
    duplicates, copy loops), PII (warnings) and length with a tokenizer's chat template.
    Exit code 0 without errors (warnings allowed), 1 with errors, 2 on usage errors.

    \b
    Examples:
      dialogkit validate data.jsonl
      dialogkit validate data.jsonl --out clean.jsonl --rejects rejects.jsonl
      dialogkit validate dialogues/ --from sgd --domain-schema schema.json
      dialogkit validate data.jsonl --format json --disable FEW_TURNS,PII_IP --workers 4
      dialogkit validate data.jsonl --tokenizer ./qwen3 --max-length 4096
      dialogkit validate data.jsonl --redact redacted.jsonl
      dialogkit validate --list-rules
    """
    if list_rules:
        _print_rules(out_format)
        return
    if input_path is None:
        raise click.UsageError("missing argument IN (or use --list-rules)")
    if bool(tokenizer) != bool(max_length):
        raise click.UsageError("--tokenizer and --max-length go together")
    from dialogkit.formats import FORMATS
    from dialogkit.validate import Outputs, ValidateConfig, resolve_codes, validate_file

    if fmt not in FORMATS:
        FORMATS.get(fmt)  # UsageError with suggestions
    disabled = resolve_codes(disable, "--disable")
    demoted = resolve_codes(warn, "--warn")
    config = ValidateConfig(disabled=disabled, warn=demoted, min_turns=min_turns, near_threshold=near_threshold,
                            domain_schema=domain_schema, tokenizer=tokenizer, max_length=max_length,
                            redact=bool(redact))
    sink = _Spool() if out_format == "json" else _Printer(max_issues)
    summary = validate_file(input_path, config, fmt=fmt, outputs=Outputs(out, rejects, redact),
                            workers=workers, on_issue=sink).to_dict()
    if isinstance(sink, _Spool):
        sink.emit(summary)
    else:
        _print_summary(summary, min(sink.n, max_issues), sink.n)
    if summary["errors"]:
        ctx.exit(1)


__all__ = ["UsageError", "validate"]
