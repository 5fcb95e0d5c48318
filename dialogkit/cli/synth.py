"""``dialogkit synth``: synthesize dialogs from a scenario, or augment existing ones."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from dialogkit.errors import UsageError


def _parse_sets(pairs: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for p in pairs:
        key, sep, value = p.partition("=")
        if not sep or not key:
            raise UsageError(f"--set {p!r}: expected KEY=VALUE")
        out[key.strip().replace("-", "_")] = value
    return out


class _Progress:
    """A rich progress bar on stderr: accepted dialogs, rate, dropped ones."""

    def __init__(self, total: int | None, enabled: bool):
        self.bar = None
        if not enabled:
            return
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.bar = Progress(
            TextColumn("[bold]synth"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[rate]:.0f} dialogs/s"), TextColumn("dropped {task.fields[dropped]}"),
            TextColumn("{task.fields[info]}"), TimeElapsedColumn(), console=Console(stderr=True), transient=False,
        )
        self.task = self.bar.add_task("synth", total=total, rate=0.0, dropped=0, info="")

    def __enter__(self) -> _Progress:
        if self.bar is not None:
            self.bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)

    def __call__(self, done: int, dropped: int, info: str = "") -> None:
        if self.bar is None:
            return
        elapsed = self.bar.tasks[0].elapsed or 1e-9
        self.bar.update(self.task, completed=done, dropped=dropped, rate=done / elapsed, info=info)


@click.command()
@click.option("--scenario", "scenario", metavar="FILE|NAME",
              help="Scenario YAML, or the name of a shipped one (zh_travel, en_restaurant_hotel, support).")
@click.option("--mode", default="outline", show_default=True,
              help="outline (offline templates), augment (rule-based variants), selfplay (LLM user + LLM assistant "
                   "with tools), paraphrase (LLM rewrites of --in dialogs).")
@click.option("--n", "n", type=click.IntRange(min=1), help="Number of valid dialogs to write.")
@click.option("--seed", type=int, default=0, show_default=True, help="Same seed, same output bytes.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Output file (.jsonl, .jsonl.gz or .parquet), written atomically.")
@click.option("--in", "inputs", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Input dialogs (augment). Repeat for several files.")
@click.option("--lang", type=click.Choice(["zh", "en"]), help="Only this language (default: all the scenario has).")
@click.option("--ops", help="augment: comma list of paraphrase,typo,noise,clarify,refusal,failure (default all).")
@click.option("--keep-originals", is_flag=True, help="augment: write the input dialogs too.")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="Mode-specific option, e.g. max_attempts=5000.")
@click.option("--base-url", metavar="URL", help="selfplay/paraphrase: an OpenAI-compatible endpoint (vLLM, Ollama, ...).")
@click.option("--model", metavar="NAME", help="selfplay/paraphrase: endpoint model name, openai:NAME, or a local model/run folder.")
@click.option("--user-model", metavar="NAME", help="selfplay: model of the user simulator (default: --model).")
@click.option("--concurrency", type=click.IntRange(min=1), help="selfplay/paraphrase: requests in flight (default 8).")
@click.option("--rpm", type=click.FloatRange(min=0, min_open=True), help="Requests per minute at most.")
@click.option("--tpm", type=click.FloatRange(min=0, min_open=True), help="Tokens per minute at most.")
@click.option("--api-key-env", metavar="VAR", help="Environment variable holding the API key (default OPENAI_API_KEY).")
@click.option("--workers", type=click.IntRange(min=1), help="outline: processes making dialogs (default 1); the output "
              "bytes are the same for any number.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar or summary.")
def synth(scenario: str | None, mode: str, n: int | None, seed: int, out: Path, inputs: tuple[Path, ...],
          lang: str | None, ops: str | None, keep_originals: bool, sets: tuple[str, ...], quiet: bool,
          base_url: str | None = None, model: str | None = None, user_model: str | None = None,
          concurrency: int | None = None, rpm: float | None = None, tpm: float | None = None,
          api_key_env: str | None = None, workers: int | None = None) -> None:
    """Synthesize task-oriented dialogs with states, acts, goals and real tool calls.

    \b
    Examples:
      dialogkit synth --scenario zh_travel --mode outline --n 200 --seed 0 --out zh.jsonl
      dialogkit synth --scenario generators/support.yaml --lang en --n 1000 --out support.jsonl
      dialogkit synth --scenario en_restaurant_hotel --n 100000 --workers 4 --out en.jsonl
      dialogkit synth --mode augment --in zh.jsonl --ops paraphrase,typo,refusal --out zh.aug.jsonl
      dialogkit synth --scenario support --mode selfplay --n 100 --base-url http://localhost:8000/v1 \\
          --model Qwen/Qwen3-8B --concurrency 16 --out sp.jsonl
      dialogkit synth --mode paraphrase --in zh.jsonl --model openai:gpt-4o-mini --rpm 500 --out zh.para.jsonl

    selfplay and paraphrase keep a journal beside OUT (OUT.journal): run the same command
    again after a crash or Ctrl-C and it resumes; answered requests are never paid twice.

    Every written dialog passes validation (schema, answered tool calls, arguments valid
    against the tool's JSON Schema, ending with an assistant reply); near-duplicates are
    dropped. Exit code 1 when fewer than N dialogs could be made or an input record was bad.
    """
    from dialogkit.synth import SynthJob, run

    options = _parse_sets(sets)
    if workers is not None:
        options["workers"] = workers
    llm = {"base_url": base_url, "model": model, "user_model": user_model, "concurrency": concurrency,
           "rpm": rpm, "tpm": tpm, "api_key_env": api_key_env}
    options.update({k: v for k, v in llm.items() if v is not None})
    if ops is not None:
        options["ops"] = ops
    if keep_originals:
        options["keep_originals"] = "true"
    show = not quiet and sys.stderr.isatty()
    with _Progress(n, show) as progress:
        job = SynthJob(mode=mode, out=out, seed=seed, n=n, scenario=scenario, inputs=list(inputs), lang=lang,
                       options=options, progress=progress)
        report = run(job)
    for issue in report.issues[:10]:
        click.echo(issue.format(), err=True)
    if not quiet:
        rate = report.written / report.seconds if report.seconds else 0.0
        codes = ", ".join(f"{k} {v}" for k, v in sorted(report.failure_codes.items()))
        click.echo(
            f"wrote {report.written} dialogs to {out} in {report.seconds:.2f}s ({rate:.0f} dialogs/s); "
            f"attempts {report.attempts}, failed {report.failed}{f' ({codes})' if codes else ''}, "
            f"duplicates {report.duplicates}, bad input records {report.rejected}",
            err=True,
        )
    requests = getattr(report, "requests", "")
    if requests and not quiet:
        resumed = getattr(report, "resumed", 0)
        click.echo(requests + (f"; {resumed} dialogs reused from an earlier run" if resumed else ""), err=True)
    for note in report.notes:
        click.echo(f"warning: {note}", err=True)
    if report.rejected or (n is not None and report.written < n):
        sys.exit(1)
