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


def _pred_path(report: str, save_pred: str | None) -> str:
    if save_pred:
        return save_pred
    return f"{report.removesuffix('.json')}.pred.jsonl"


class _Bar:
    """A rich progress bar over generated turns (stderr, only on a terminal)."""

    def __init__(self, total: int, enabled: bool):
        self.total, self.enabled, self.bar = total, enabled, None

    def __enter__(self):
        if not self.enabled:
            return None
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.bar = Progress(TextColumn("[bold]generate"), BarColumn(), MofNCompleteColumn(),
                            TextColumn("turns"), TimeElapsedColumn(), console=Console(stderr=True))
        self.bar.__enter__()
        task = self.bar.add_task("generate", total=self.total)
        return lambda n: self.bar.advance(task, n)

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)


def _generate(model: str, ref: str, report_path: str, quiet: bool, gen: dict) -> str:
    """Generate the predictions (library: dialogkit.generate.predict) and say where they are."""
    import sys

    from dialogkit.generate import GenerationConfig
    from dialogkit.generate.predict import predict_file

    path = _pred_path(report_path, gen["save_pred"])
    config = GenerationConfig(max_new_tokens=gen["max_new_tokens"], temperature=gen["temperature"],
                              seed=gen["seed"], batch_size=gen["batch_size"])
    show = not quiet and sys.stderr.isatty()
    rep = predict_file(model, ref, path, config, base_url=gen["base_url"], api_key_env=gen["api_key_env"],
                       limit=gen["limit"], state_from_reasoning=gen["state_from_reasoning"],
                       replay=not gen["no_db_replay"], scenario=gen["scenario"], progress_factory=lambda total: _Bar(total, show))
    for issue in rep.issues:
        if issue.severity == "warning":
            click.echo(f"warning: {issue.format()}", err=True)
    if not quiet:
        click.echo(f"generated {rep.turns} turn(s) of {rep.dialogs} dialog(s) with {model}: "
                   f"{rep.unparsed_calls} tool call(s) with unparsable arguments; "
                   f"{rep.replayed} final_db replayed; wrote {path}")
    return path


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
@click.option(
    "--model",
    metavar="PATH|openai:MODEL",
    help="Generate the predictions: every assistant turn from its gold history, with a local model "
    "or training run folder, or an OpenAI-compatible endpoint (openai:NAME).",
)
@click.option("--base-url", metavar="URL", help="--model openai:NAME: the endpoint (vLLM, Ollama, ...).")
@click.option("--api-key-env", default="OPENAI_API_KEY", show_default=True, help="--model openai:NAME: key variable.")
@click.option("--save-pred", type=click.Path(dir_okay=False), help="--model: where the predictions go "
              "(default: beside the report, REPORT.pred.jsonl).")
@click.option("--max-new-tokens", type=click.IntRange(min=1), default=256, show_default=True)
@click.option("--batch-size", type=click.IntRange(min=1), default=8, show_default=True,
              help="--model: turns generated together (requests in flight for an endpoint).")
@click.option("--temperature", type=click.FloatRange(min=0.0), default=0.0, show_default=True,
              help="--model: 0 = greedy, deterministic decoding.")
@click.option("--seed", type=int, default=0, show_default=True, help="--model: sampling seed.")
@click.option("--limit", type=click.IntRange(min=1), help="--model: only the first N reference dialogs.")
@click.option("--state-from-reasoning", is_flag=True,
              help="--model: read a generated 'state domain: intent; slot=value' reasoning block as the turn's state.")
@click.option("--scenario", metavar="FILE|NAME", help="--model: replay predicted calls on this synth scenario's "
              "database (default: the scenario named in each reference's provenance).")
@click.option("--no-db-replay", is_flag=True,
              help="--model: do not replay predicted calls on the synth scenario's database (no final_db).")
@click.option("--judge-model", help="Add the LLM judge with this model (OpenAI-compatible).")
@click.option("--judge-base-url", help="Base URL of the judge endpoint (default: OpenAI).")
@click.option("--judge-cache", type=click.Path(file_okay=False), help="Folder for cached judge replies.")
@click.option("--quiet", is_flag=True, help="Print nothing but errors.")
def dialogs(pred, ref, suite, out, markdown, html, model, judge_model, judge_base_url, judge_cache, quiet,
            **gen) -> None:
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
      dialogkit score dialogs --model runs/sft --ref heldout.jsonl --suite task_oriented --out report.json
      dialogkit score dialogs --model openai:qwen3 --base-url http://localhost:8000/v1 \\
          --ref heldout.jsonl --batch-size 32 --out report.json

    With --model, each assistant turn of each reference is generated from the gold history
    before it (greedy by default) and the predictions are written beside the report
    (REPORT.pred.jsonl, or --save-pred) before they are scored. Tool calls whose JSON does
    not parse are kept (counted by json_parse_rate); references made by `dialogkit synth`
    get the model's calls replayed on the scenario's database (task success checks it).
    """
    if model is not None and pred is not None:
        raise UsageError("give --pred (predicted dialogs) or --model (generate them), not both")
    if pred is None and model is None:
        raise UsageError("give --pred (predicted dialogs) or --model (a model to generate them)")
    if not (out or markdown or html):
        raise UsageError("give at least one of --out, --markdown, --html")
    if model is not None:
        pred = _generate(model, ref, out or markdown or html, quiet, gen)
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
