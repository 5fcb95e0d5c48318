"""``dialogkit score sgd``: the official SGD DST metrics of predicted dialogues."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import orjson

from dialogkit.errors import Issue
from dialogkit.io import AtomicWriter, ensure_not_input

_NAMES = {"active_intent_accuracy": "Intent acc", "requested_slots_f1": "Req slot F1",
          "average_goal_accuracy": "Avg goal acc", "joint_goal_accuracy": "Joint goal acc"}


def _table(report: dict[str, Any]) -> Any:
    from rich.table import Table

    table = Table(title="SGD DST (official metrics)", title_justify="left")
    table.add_column("services")
    for name in _NAMES.values():
        table.add_column(name, justify="right")
    for key, values in report["headline"].items():
        table.add_row(key.strip("#").replace("_SERVICES", "").lower(),
                      *("NA" if not isinstance(values.get(m), float) else f"{values[m]:.4f}" for m in _NAMES))
    return table


@click.command("sgd")
@click.option("--ref", "ref_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Reference split folder: schema.json + dialogues_*.json.")
@click.option("--pred", "pred_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder of predicted dialogues_*.json (the same dialogues with predicted states).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write the JSON report here.")
@click.option("--train-schema", type=click.Path(dir_okay=False, path_type=Path),
              help="Train schema.json deciding seen services (default: REF/../train/schema.json).")
@click.option("--fuzzy/--no-fuzzy", default=True, show_default=True,
              help="Fuzzy credit for non-categorical values (official --use_fuzzy_match).")
@click.option("--joint-across-turn", is_flag=True, help="Multiply a turn's frame JGAs (MultiWOZ-style evaluation).")
def sgd(ref_dir: Path, pred_dir: Path, out: Path | None, train_schema: Path | None, fuzzy: bool,
        joint_across_turn: bool) -> None:
    """Score predicted SGD dialogue states with the official DSTC8 metrics.

    Numbers equal google-research schema_guided_dst/evaluate.py. Dialogues the official script would
    stop on (unknown id, different services/utterances, missing frame) are reported and left out.

    \b
    Examples:
      dialogkit score sgd --ref sgd/dev --pred preds/ --out report.json
      dialogkit score sgd --ref sgd/dev --pred preds/ --train-schema sgd/train/schema.json
      dialogkit score sgd --ref multiwoz22/test --pred preds/ --no-fuzzy --joint-across-turn
    """
    from rich.console import Console

    from dialogkit.score.sgd import score_sgd

    if out is not None:
        ensure_not_input(out, [*ref_dir.glob("*.json"), *pred_dir.glob("*.json")])
    report = score_sgd(ref_dir, pred_dir, train_schema=train_schema, fuzzy=fuzzy, joint_across_turn=joint_across_turn)
    for issue in report["issues"]:
        click.echo(Issue(**{k if k != "id" else "record_id": v for k, v in issue.items()}).format("dialog"), err=True)
    console = Console()
    console.print(_table(report))
    counts = report["counts"]
    console.print(f"{counts['dialogs']} dialogues, {counts['frames']} user frames scored; {counts['rejected']} rejected")
    for note in report["notes"]:
        console.print(f"note: {note}", style="dim")
    if out is not None:
        with AtomicWriter(out) as fh:
            fh.write(orjson.dumps(report, option=orjson.OPT_INDENT_2) + b"\n")
        console.print(f"report: {out}")
    if report["rejected"]:
        raise SystemExit(1)
