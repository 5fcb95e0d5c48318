"""``dialogkit score bfcl``: BFCL AST checking of predicted function calls."""

from __future__ import annotations

import click


@click.command()
@click.option(
    "--questions", required=True, type=click.Path(dir_okay=False), help="BFCL questions (BFCL_v4_<cat>.json)."
)
@click.option(
    "--answers", required=True, type=click.Path(dir_okay=False), help="BFCL possible answers for them."
)
@click.option(
    "--pred",
    required=True,
    type=click.Path(dir_okay=False),
    help='Predictions: one {"id", "tool_calls": [{"name", "arguments"}]} per line.',
)
@click.option("--out", type=click.Path(dir_okay=False), help="Write the JSON report here.")
@click.option("--markdown", type=click.Path(dir_okay=False), help="Also write a Markdown report.")
@click.option("--html", type=click.Path(dir_okay=False), help="Also write a self-contained HTML report.")
@click.option(
    "--category",
    help="Checker category for every entry (default: from each id, e.g. parallel_3 -> parallel).",
)
@click.option(
    "--underscore-to-dot",
    is_flag=True,
    help="The model wrote dotted function names with underscores (BFCL's per-model setting).",
)
def bfcl(questions, answers, pred, out, markdown, html, category, underscore_to_dot) -> None:
    """Check function calls exactly as BFCL's AST checker does, and report accuracy.

    Each question gets a verdict with BFCL's error type (type_error:simple,
    value_error:string, parallel_function_checker_no_order:cannot_find_match ...). Questions
    without a prediction count as wrong (missing_prediction).

    \b
    Examples:
      dialogkit score bfcl --questions BFCL_v4_parallel.json \\
          --answers possible_answer/BFCL_v4_parallel.json --pred pred.jsonl --out report.json
      dialogkit score bfcl --questions q.json --answers a.json --pred p.jsonl --out r.json --html r.html
    """
    from dialogkit.errors import UsageError
    from dialogkit.score import bfcl as lib
    from dialogkit.score.report import build_report, write_outputs

    if not (out or markdown or html):
        raise UsageError("give at least one of --out, --markdown, --html")
    data = lib.load(questions, answers, pred)
    verdicts, items = lib.score(data, category, underscore_to_dot)
    summary = lib.summarize(verdicts)
    report = build_report(
        "bfcl",
        items,
        {"accuracy": ("bfcl", lib.ACCURACY)},
        inputs={"questions": str(questions), "answers": str(answers), "pred": str(pred)},
        **summary,
        issues=[i.to_dict() for i in data.issues],
        verdicts=verdicts,
    )
    report["error_types"] = summary["error_types"]
    for issue in data.issues:
        click.echo(issue.format(), err=True)
    written = write_outputs(report, out, markdown, html, [questions, answers, pred])
    acc = summary["accuracy"]
    click.echo(
        f"accuracy {'-' if acc is None else f'{acc * 100:.2f}%'} ({summary['correct']}/{summary['total']})"
    )
    for cat, c in summary["by_category"].items():
        click.echo(f"  {cat}: {c['accuracy'] * 100:.2f}% ({c['correct']}/{c['total']})")
    for etype, n in summary["error_types"].items():
        click.echo(f"  {etype}: {n}")
    click.echo(f"wrote {', '.join(written)}")
    if any(i.severity == "error" for i in data.issues):
        click.get_current_context().exit(1)
