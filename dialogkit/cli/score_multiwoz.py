"""``dialogkit score multiwoz``: mwzeval's BLEU / Inform / Success / Combined (and DST), offline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from dialogkit.errors import Issue
import orjson

from dialogkit.io import AtomicWriter, ensure_not_input


def _table(report: dict[str, Any]) -> Any:
    from rich.table import Table

    table = Table(title=f"MultiWOZ ({report['compat']})", title_justify="left")
    for col in ("BLEU", "Inform", "Success", "Combined"):
        table.add_column(col, justify="right")
    fmt = lambda v, spec: "-" if v is None else format(v, spec)  # noqa: E731
    inform, success = report["inform"] or {}, report["success"] or {}
    table.add_row(fmt(report["bleu"], ".2f"), fmt(inform.get("total"), ".1f"), fmt(success.get("total"), ".1f"),
                  fmt(report["combined"], ".2f"))
    return table


def _domains(report: dict[str, Any]) -> Any:
    from rich.table import Table

    table = Table(title="per domain (% of dialogues whose goal has it)", title_justify="left")
    table.add_column("domain")
    table.add_column("Inform", justify="right")
    table.add_column("Success", justify="right")
    for domain, value in report["inform"].items():
        if domain != "total":
            table.add_row(domain, f"{value:.1f}", f"{report['success'].get(domain, 0.0):.1f}")
    return table


@click.command("multiwoz")
@click.argument("pred", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--data", "data_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="mwzeval data folder: goals.json, booked_domains.json, database/*_db.json, "
                   "references/mwz22.json, gold_states.json.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write the JSON report here.")
@click.option("--bleu/--no-bleu", default=True, show_default=True, help="BLEU against references/mwz22.json.")
@click.option("--success/--no-success", default=True, show_default=True, help="Inform and Success rates.")
@click.option("--dst/--no-dst", default=None,
              help="mwzeval's DST numbers (default: when every turn has a state and gold_states.json exists).")
@click.option("--per-domain/--no-per-domain", default=True, show_default=True, help="Print the per-domain table.")
def multiwoz(pred: Path, data_dir: Path, out: Path | None, bleu: bool, success: bool, dst: bool | None,
             per_domain: bool) -> None:
    """Score PRED exactly as mwzeval does (BLEU, Inform, Success, Combined; DST with states).

    PRED is mwzeval's input: {"pmul4398": [{"response": "...", "state": {...}, "active_domains": [...]}, ...]}.
    Nothing is downloaded: --data must hold mwzeval's data files. Dialogues mwzeval would crash on
    (unknown id, turn without "response", too many turns) are reported and left out; the rest are scored.

    \b
    Examples:
      dialogkit score multiwoz preds.json --data mwzeval-data/ --out report.json
      dialogkit score multiwoz preds.json --data mwzeval-data/ --no-bleu      # no references needed
      dialogkit score multiwoz preds.json --data mwzeval-data/ --dst          # require DST numbers
    """
    from rich.console import Console

    from dialogkit.score.multiwoz import score_multiwoz

    if out is not None:
        ensure_not_input(out, [pred])
    report = score_multiwoz(pred, data_dir, bleu=bleu, success=success, dst=dst)
    for issue in report["issues"]:
        click.echo(Issue(**{k if k != "id" else "record_id": v for k, v in issue.items()}).format("dialog"), err=True)
    console = Console()
    console.print(_table(report))
    if per_domain and report["inform"]:
        console.print(_domains(report))
    if report["dst"]:
        d = report["dst"]
        console.print(f"DST (mwzeval): joint accuracy {d['joint_accuracy']:.2f}  slot F1 {d['slot_f1']:.2f}  "
                      f"P {d['slot_precision']:.4f}  R {d['slot_recall']:.4f}")
    counts = report["counts"]
    console.print(f"{counts['dialogs']} dialogues, {counts['turns']} system turns scored; "
                  f"{counts['rejected']} rejected")
    for note in report["notes"]:
        console.print(f"note: {note}", style="dim")
    if out is not None:
        with AtomicWriter(out) as fh:
            fh.write(orjson.dumps(report, option=orjson.OPT_INDENT_2) + b"\n")
        console.print(f"report: {out}")
    if report["rejected"]:
        raise SystemExit(1)
