"""``dialogkit score``: one group, one module per scoring command."""

from __future__ import annotations

import click

from dialogkit.cli._lazy import LazySubgroup

SUBCOMMANDS = {
    "dialogs": ("dialogkit.cli.score_dialogs:dialogs", "Turn- and dialog-level metrics of predicted dialogs against references."),
    "multiwoz": ("dialogkit.cli.score_multiwoz:multiwoz", "MultiWOZ BLEU/Inform/Success exactly as mwzeval computes them."),
    "sgd": ("dialogkit.cli.score_sgd:sgd", "The official Schema-Guided Dialogue DST metrics."),
    "bfcl": ("dialogkit.cli.score_bfcl:bfcl", "BFCL AST checking of function calls."),
    "compare": ("dialogkit.cli.score_compare:compare", "Compare two reports with paired bootstrap confidence intervals."),
}


@click.group(cls=LazySubgroup, subcommands=SUBCOMMANDS)
def score() -> None:
    """Score dialogs and reproduce reference evaluators' numbers exactly.

    \b
    Examples:
      dialogkit score dialogs --pred pred.jsonl --ref ref.jsonl --out report.json --html report.html
      dialogkit score multiwoz pred.json --data mwzeval-data/ --out report.json
      dialogkit score bfcl --questions q.json --answers a.json --pred p.jsonl --out report.json
    """
