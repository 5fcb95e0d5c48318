"""``dialogkit stats``: statistics and intent/slot coverage of a dialog file."""

from __future__ import annotations

from typing import Any

import click

from dialogkit.io import dumps


def _print_text(s: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=120, highlight=False)
    console.print(f"[bold]{s['file']}[/]: {s['dialogs']} dialogs, {s.get('invalid', 0)} invalid records (not counted)")
    if not s["dialogs"]:
        return
    t = Table("measure", "min", "p25", "p50", "p75", "p95", "max", "mean", title="per dialog")
    for name in ("turns", "messages", "tokens"):
        if name in s:
            d = s[name]
            t.add_row("user turns" if name == "turns" else name, *(str(d[k]) for k in ("min", "p25", "p50", "p75", "p95", "max", "mean")))
    console.print(t)
    t = Table("user turns", "dialogs", title="turn histogram")
    for k, v in s["turns"]["histogram"].items():
        t.add_row(k, str(v))
    console.print(t)
    tc = s["tool_calls"]
    console.print("roles: " + ", ".join(f"{k} {v}" for k, v in s["roles"].items()))
    console.print(f"tool calls: {tc['calls']} in {tc['dialogs_with_calls']} dialogs"
                  + (" (" + ", ".join(f"{k} {v}" for k, v in tc["by_tool"].items()) + ")" if tc["by_tool"] else ""))
    console.print("languages: " + ", ".join(f"{k} {v}" for k, v in s["languages"].items()))
    for field, groups in (s.get("by") or {}).items():
        t = Table(field, "dialogs", "mean user turns", "share with tool calls", title=f"by {field}")
        for k, v in groups.items():
            t.add_row(k, str(v["dialogs"]), str(v["mean_turns"]), str(v["share_with_tool_calls"]))
        console.print(t)
    if "coverage" in s:
        cov = s["coverage"]
        console.print(f"coverage of {cov['schema']}: intents {cov['intents_covered']}, slots {cov['slots_covered']}")
        t = Table("service", "never seen", f"rare (< {cov['rare_below']})", "categorical values never seen", title="coverage gaps")
        for name, svc in cov["services"].items():
            never = svc["never"]["intents"] + svc["never"]["slots"]
            rare = svc["rare"]["intents"] + svc["rare"]["slots"]
            values = "; ".join(f"{k}: {', '.join(v)}" for k, v in svc["values_never_seen"].items())
            if never or rare or values:
                t.add_row(name, ", ".join(never), ", ".join(rare), values)
        console.print(t)


@click.command(context_settings={"max_content_width": 110})
@click.argument("input_path", metavar="IN", type=click.Path(dir_okay=True))
@click.option("--from", "fmt", default="dialogkit", show_default=True, help="Input format (any format convert reads).")
@click.option("--by", multiple=True, metavar="FIELD", help="Group counts by a metadata field (domain, source, language, or a dotted path).")
@click.option("--format", "out_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--html", "html_out", type=click.Path(dir_okay=False), help="Also write a self-contained HTML page with plots.")
@click.option("--tokenizer", help="Local tokenizer folder: count chat-template tokens per dialog.")
@click.option("--domain-schema", type=click.Path(dir_okay=False), help="SGD/MultiWOZ schema.json or a dialogkit domain file: intent/slot coverage.")
@click.option("--rare", type=click.IntRange(min=1), default=5, show_default=True, help="Intents/slots seen fewer times are 'rare'.")
def stats(input_path: str, fmt: str, by: tuple[str, ...], out_format: str, html_out: str | None,
          tokenizer: str | None, domain_schema: str | None, rare: int) -> None:
    """Statistics of a dialog file: dialogs, turns per dialog, roles, tool calls, languages,
    tokens (with --tokenizer) and coverage of a domain schema's intents, slots and
    categorical values (which never occur, which rarely).

    \b
    Examples:
      dialogkit stats data.jsonl
      dialogkit stats data.jsonl --by domain --format json
      dialogkit stats dialogues/ --from sgd --domain-schema schema.json --html stats.html
      dialogkit stats data.jsonl --tokenizer ./qwen3
    """
    from dialogkit.formats import FORMATS
    from dialogkit.io import AtomicWriter, ensure_not_input
    from dialogkit.stats import compute_stats, parse_by

    if fmt not in FORMATS:
        FORMATS.get(fmt)  # UsageError with suggestions
    if html_out:
        ensure_not_input(html_out, [input_path])
    result = compute_stats(input_path, fmt, parse_by(by), tokenizer, domain_schema, rare)
    if html_out:
        from dialogkit.stats_html import render_html

        with AtomicWriter(html_out) as fh:
            fh.write(render_html(result).encode("utf-8"))
    if out_format == "json":
        click.echo(dumps(result).decode())
    else:
        _print_text(result)
        if html_out:
            click.echo(f"wrote {html_out}")
