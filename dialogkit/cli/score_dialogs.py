"""``dialogkit score dialogs``: turn- and dialog-level metrics of predicted dialogs against references."""

from __future__ import annotations

import click

from dialogkit.errors import UsageError


def _print_summary(report: dict) -> None:
    head = report.get("headline")
    if head:
        cells = [
            f"{k.capitalize()} {'-' if head[k] is None else f'{head[k] * 100:.1f}'}"
            for k in ("inform", "success", "bleu", "combined")
        ]
        click.echo("  ".join(cells))
    width = max((len(k) for k in report["metrics"]), default=10)
    for name, m in report["metrics"].items():
        v = m["value"]
        shown = "-" if v is None else (f"{v * 100:6.1f}%" if m["scale"] == "fraction" else f"{v:7.3f}")
        click.echo(
            f"  {name:<{width}}  {shown}  (n={m['n']}{'' if m['higher_is_better'] else ', lower is better'})"
        )
    for flag in report.get("flags") or []:
        click.echo(f"warning: {flag}", err=True)


@click.command()
@click.option(
    "--pred", "pred", type=click.Path(dir_okay=False), help="Predicted dialogs (JSONL/JSON/Parquet)."
)
@click.option("--ref", "ref", required=True, type=click.Path(dir_okay=False), help="Reference dialogs.")
@click.option(
    "--suite",
    default="default",
    show_default=True,
    help="Suite YAML path, or the name of a suite in evaluators/.",
)
@click.option("--out", "out", type=click.Path(dir_okay=False), help="Write the JSON report here.")
@click.option("--markdown", type=click.Path(dir_okay=False), help="Also write a Markdown report.")
@click.option("--html", type=click.Path(dir_okay=False), help="Also write a self-contained HTML report.")
@click.option("--model", help="Generate predictions from the gold history (not built yet).")
@click.option("--judge-model", help="Add the LLM judge with this model (OpenAI-compatible).")
@click.option("--judge-base-url", help="Base URL of the judge endpoint (default: OpenAI).")
@click.option("--judge-cache", type=click.Path(file_okay=False), help="Folder for cached judge replies.")
@click.option("--quiet", is_flag=True, help="Print nothing but errors.")
def dialogs(
    pred, ref, suite, out, markdown, html, model, judge_model, judge_base_url, judge_cache, quiet
) -> None:
    """Score predicted dialogs against references, matched by id.

    Predictions are dialogs holding the model's turns; the k-th assistant message of a
    prediction is compared with the k-th of its reference. Missing predictions count as
    failures and are listed; bad records are reported as file:line issues (exit 1) while the
    rest is scored.

    \b
    Examples:
      dialogkit score dialogs --pred pred.jsonl --ref ref.jsonl --out report.json
      dialogkit score dialogs --pred pred.jsonl --ref ref.jsonl --suite task_oriented \\
          --out report.json --markdown report.md --html report.html
      dialogkit score dialogs --pred pred.jsonl --ref ref.jsonl --suite tool_calling \\
          --judge-model gpt-4o-mini --out report.json
    """
    if model is not None:
        raise UsageError(
            "--model (generating predictions from the gold history) is not built yet: "
            "generate the model's turns first and pass them with --pred"
        )
    if pred is None:
        raise UsageError("give --pred (predicted dialogs)")
    if not (out or markdown or html):
        raise UsageError("give at least one of --out, --markdown, --html")
    from dialogkit.score.report import write_outputs
    from dialogkit.score.runner import dialogs_report
    from dialogkit.score.suite import ScorerEntry, load_suite

    s = load_suite(suite)
    if judge_model:
        opts = {
            "model": judge_model,
            **({"base_url": judge_base_url} if judge_base_url else {}),
            **({"cache_dir": judge_cache} if judge_cache else {}),
        }
        s.scorers = [e for e in s.scorers if e.name != "judge"] + [ScorerEntry(name="judge", options=opts)]
    report, run = dialogs_report(s, pred, ref)
    for issue in run.issues:
        click.echo(issue.format(), err=True)
    written = write_outputs(report, out, markdown, html, [pred, ref])
    if not quiet:
        _print_summary(report)
        click.echo(
            f"scored {len(run.refs)} reference dialog(s), {run.n_pred} prediction(s); "
            f"{len(run.missing)} missing; wrote {', '.join(written)}"
        )
    if run.bad_records:
        click.echo(f"{run.bad_records} bad record(s); see the messages above", err=True)
        click.get_current_context().exit(1)
