"""``dialogkit prepare`` and ``dialogkit inspect``: options in, library calls, printing out."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from dialogkit.errors import Issue, UsageError

_MAX_SHOWN = 20


def _read_template(path: str | None) -> str | None:
    if path is None:
        return None
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise UsageError(f"{path}: cannot read the chat template: {e.strerror}") from e


def _kwargs(pairs: tuple[str, ...]) -> dict[str, Any]:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"--template-arg {pair!r}: expected KEY=JSON, e.g. enable_thinking=false")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def _config(**options: Any) -> Any:
    from pydantic import ValidationError

    from dialogkit.prepare.config import PrepareConfig

    try:
        return PrepareConfig(**options)
    except ValidationError as e:
        raise UsageError("; ".join(f"{'.'.join(map(str, x['loc'])) or 'options'}: {x['msg']}"
                                   for x in e.errors(include_url=False))) from e


def _print_issues(issues: list[Issue]) -> None:
    for issue in issues[:_MAX_SHOWN]:
        click.echo(issue.format(), err=True)
    if len(issues) > _MAX_SHOWN:
        click.echo(f"... and {len(issues) - _MAX_SHOWN} more", err=True)


def _summary(report: Any, out: str) -> list[str]:
    pct = f" ({report.trained_tokens / report.tokens:.1%})" if report.tokens else ""
    stable = {True: "prefix-stable", False: "NOT prefix-stable", None: "stability checked per dialog"}
    lines = [
        f"prepared {report.dialogs - report.bad_dialogs}/{report.dialogs} dialogs -> {report.rows} rows, "
        f"{report.tokens:,} tokens, {report.trained_tokens:,} trained{pct} -> {out}",
        f"template: {'generation tags' if report.template_tagged else 'no generation tags (prefix rendering)'}, "
        f"{stable[report.template_stable]}" + (f" ({report.template_note})" if report.template_stable is False else ""),
        f"per-turn rows: {report.per_turn_dialogs} dialogs ({report.unstable_dialogs} not prefix-stable); "
        f"boundary merges handled: {report.boundary_merges}",
    ]
    if report.truncated_dialogs or report.too_long:
        lines.append(f"truncated: {report.truncated_dialogs} dialogs, {report.dropped_turns} old turns dropped, "
                     f"{report.lost_trained_turns} trained turns lost, {report.summaries} summaries, "
                     f"{report.too_long} rows too long even with one turn")
    if report.packing_efficiency is not None:
        lines.append(f"packed: {report.packed_rows} rows, packing efficiency {report.packing_efficiency:.1%}")
    if report.verify_failures:
        lines.append(f"verify: {report.verify_failures} trained turns differ from the inference prompt")
    return lines


@click.command()
@click.argument("in_path", metavar="IN", type=click.Path(dir_okay=True))
@click.option("--tokenizer", "tokenizer_path", required=True, type=click.Path(), help="Local tokenizer directory.")
@click.option("--chat-template", type=click.Path(), help="Jinja file replacing the tokenizer's chat template.")
@click.option("--from", "fmt", default="dialogkit", show_default=True, help="Input format (see `convert`).")
@click.option("--max-length", type=int, help="Token budget per row; drops the oldest whole turns. Default: no cut.")
@click.option("--loss-on", type=click.Choice(["assistant", "last", "all"]), default="assistant", show_default=True)
@click.option("--per-turn", type=click.Choice(["auto", "always", "never"]), default="auto", show_default=True,
              help="One row per trained turn: when needed (auto), always, or never (warns).")
@click.option("--pack", is_flag=True, help="Best-fit-decreasing packing into --max-length, position_ids per sample.")
@click.option("--summary/--no-summary", default=False, help="Add metadata[--summary-key] to the system message "
              "when turns are dropped.")
@click.option("--summary-key", default="summary", show_default=True)
@click.option("--verify", is_flag=True, help="Check every trained turn against the inference prompt (slower).")
@click.option("--template-arg", "template_args", multiple=True, metavar="KEY=JSON",
              help="Extra chat template variable, e.g. enable_thinking=false (repeatable).")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True, help="Worker processes.")
@click.option("--out", "out_path", required=True, type=click.Path(), help="Output Parquet file.")
@click.option("--rejects", type=click.Path(), help="JSONL file for bad records with their issues.")
@click.option("--report", "report_path", type=click.Path(), help="Write the report as JSON here.")
def prepare(in_path: str, tokenizer_path: str, chat_template: str | None, fmt: str, max_length: int | None,
            loss_on: str, per_turn: str, pack: bool, summary: bool, summary_key: str, verify: bool,
            template_args: tuple[str, ...], workers: int, out_path: str, rejects: str | None,
            report_path: str | None) -> None:
    """Tokenize dialogs with exact assistant-only loss masks into Parquet.

    Columns: input_ids, labels (same length, unshifted, -100 = no loss), dialog_id, turn
    (the trained message's index when a row trains one turn). Loads directly in TRL
    (pre-tokenized), PyTorch, polars and `datasets`.

    \b
    Examples:
      dialogkit prepare data.jsonl --tokenizer tok/ --out train.parquet
      dialogkit prepare data.jsonl --tokenizer qwen3/ --max-length 4096 --pack --workers 2 --out train.parquet
      dialogkit prepare chats.json --from sharegpt --tokenizer tok/ --chat-template my.jinja --out train.parquet
    """
    from dialogkit.prepare.pipeline import prepare_file

    config = _config(max_length=max_length, loss_on=loss_on, per_turn=per_turn, pack=pack, summary=summary,
                     summary_key=summary_key, verify=verify, chat_template_kwargs=_kwargs(template_args))
    result = prepare_file(in_path, out_path, tokenizer_path, config, _read_template(chat_template), fmt=fmt,
                          workers=workers, rejects=rejects)
    _print_issues(result.issues)
    for line in _summary(result.report, out_path):
        click.echo(line)
    if report_path:
        from dialogkit.io import AtomicWriter

        with AtomicWriter(report_path) as fh:
            fh.write(json.dumps(result.report.to_dict(), ensure_ascii=False, indent=2).encode("utf-8"))
    if any(i.severity == "error" for i in result.issues) or result.report.verify_failures:
        raise click.exceptions.Exit(1)


@click.command(name="inspect")
@click.argument("in_path", metavar="IN", type=click.Path())
@click.option("--tokenizer", "tokenizer_path", required=True, type=click.Path(), help="Local tokenizer directory.")
@click.option("--chat-template", type=click.Path(), help="Jinja file replacing the tokenizer's chat template.")
@click.option("--from", "fmt", default="dialogkit", show_default=True, help="Input format of a dialog file.")
@click.option("--index", "index", type=int, default=0, show_default=True, help="Which record (0-based).")
@click.option("--id", "record_id", help="Show the dialog with this id instead of --index.")
@click.option("--loss-on", type=click.Choice(["assistant", "last", "all"]), default="assistant", show_default=True)
@click.option("--per-turn", type=click.Choice(["auto", "always", "never"]), default="auto", show_default=True)
@click.option("--max-length", type=int)
@click.option("--html", "html_path", type=click.Path(), help="Also write a self-contained HTML page here.")
@click.option("--check", is_flag=True, help="Check every trained turn of the whole file against inference.")
def inspect_cmd(in_path: str, tokenizer_path: str, chat_template: str | None, fmt: str, index: int,
                record_id: str | None, loss_on: str, per_turn: str, max_length: int | None,
                html_path: str | None, check: bool) -> None:
    """Show a dialog as the model sees it, trained tokens highlighted.

    IN is a dialog file (any format `--from` reads) or a Parquet file written by `prepare`.
    --check runs the training/inference consistency check over the whole file: for every
    trained turn, the tokens before it must equal the tokenized inference-time prompt.

    \b
    Examples:
      dialogkit inspect data.jsonl --tokenizer tok/ --index 3
      dialogkit inspect data.jsonl --tokenizer qwen3/ --id dlg_0001 --html dlg.html
      dialogkit inspect data.jsonl --tokenizer qwen3/ --check
      dialogkit inspect train.parquet --tokenizer tok/ --index 0
    """
    config = _config(max_length=max_length, loss_on=loss_on, per_turn=per_turn)
    template = _read_template(chat_template)
    if check:
        code = _run_check(in_path, tokenizer_path, template, config, fmt)
    else:
        code = _run_show(in_path, tokenizer_path, template, config, fmt, index, record_id, html_path)
    if code:
        raise click.exceptions.Exit(code)


def _preparer(tokenizer_path: str, template: str | None, config: Any) -> Any:
    from dialogkit.prepare.engine import Preparer
    from dialogkit.prepare.pipeline import load_tokenizer

    return Preparer(load_tokenizer(tokenizer_path), config, template)


def _run_check(in_path: str, tokenizer_path: str, template: str | None, config: Any, fmt: str) -> int:
    from dialogkit.formats import read_raw
    from dialogkit.prepare.check import check_records

    preparer = _preparer(tokenizer_path, template, config)
    if in_path.endswith(".parquet"):
        from dialogkit.prepare.inspect_view import is_prepared

        if is_prepared(in_path):
            raise UsageError("--check needs the dialogs (JSONL/JSON/dialog Parquet), not a prepared file")
    res = check_records(preparer, read_raw(in_path, fmt))
    _print_issues(res.issues)
    errors = sum(1 for i in res.issues if i.severity == "error")
    click.echo(f"checked {res.dialogs} dialogs, {res.rows} rows, {res.turns} trained turns: "
               f"{res.mismatches} differ from inference, {errors} errors")
    return 1 if errors else 0


def _run_show(in_path: str, tokenizer_path: str, template: str | None, config: Any, fmt: str, index: int,
              record_id: str | None, html_path: str | None) -> int:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from dialogkit.errors import RecordError
    from dialogkit.prepare import inspect_view as view
    from dialogkit.records import parse_dialog

    preparer = _preparer(tokenizer_path, template, config)
    warnings: list[Issue] = []
    if view.is_prepared(in_path):
        rows = [view.prepared_row(in_path, index, record_id)]
        title = f"{in_path} row {index if record_id is None else rows[0].dialog_id}"
    else:
        raw = view.find_record(in_path, fmt, index, record_id)
        if not raw.ok:
            _print_issues([raw.issue])
            return 1
        try:
            rows, warnings, _ = preparer.prepare(parse_dialog(raw.data, file=raw.file, line=raw.line))
        except RecordError as e:
            _print_issues([i.located(**raw.where()) for i in e.issues])
            return 1
        title = f"dialog {raw.id} ({raw.file}:{raw.line})"
    _print_issues(warnings)
    console = Console(highlight=False)
    stable = preparer.stability.stable
    facts = {"template": "generation tags" if preparer.tagged else "no generation tags (prefix rendering)",
             "prefix-stable": "checked per dialog" if stable is None else str(stable), "rows": len(rows)}
    console.print(f"[bold]{title}[/bold]  " + ", ".join(f"{k}: {v}" for k, v in facts.items()))
    shown = []
    for n, row in enumerate(rows):
        segs = view.segments(preparer, row)
        name = f"row {n}: {len(row.input_ids)} tokens, {row.trained_tokens} trained" + (
            f", turn {row.turn}" if row.turn is not None else "")
        shown.append((name, segs))
        console.rule(name)
        text = Text()
        for s in segs:
            text.append(s.text, style="black on green" if s.trained else "dim")
        console.print(text)
        table = Table("role", "tokens", "trained")
        for role, (total, trained) in view.role_counts(segs).items():
            table.add_row(role, str(total), str(trained))
        console.print(table)
    if html_path:
        from dialogkit.io import AtomicWriter

        with AtomicWriter(html_path) as fh:
            fh.write(view.html_page(title, shown, facts).encode("utf-8"))
        console.print(f"wrote {html_path}")
    return 0
