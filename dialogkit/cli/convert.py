"""``dialogkit convert``: parse options, call :func:`dialogkit.convert.convert_file`, print."""

from __future__ import annotations

import json
from pathlib import Path

import click

SHOW_ISSUES = 20


@click.command("convert")
@click.option("--from", "src", required=True, metavar="FMT",
              help="Source format: dialogkit, openai, sharegpt, alpaca, hf, sgd, multiwoz.")
@click.option("--to", "dst", required=True, metavar="FMT",
              help="Target format: dialogkit, openai, sharegpt, hf (alpaca, sgd, multiwoz are import-only).")
@click.argument("inp", metavar="IN", type=click.Path(path_type=Path))
@click.argument("out", metavar="OUT", type=click.Path(path_type=Path))
@click.option("--rejects", type=click.Path(path_type=Path),
              help="Write every bad record, with its issues, to this JSONL file.")
@click.option("--dataset-info", type=click.Path(path_type=Path),
              help="LLaMA-Factory dataset_info.json whose columns/tags mapping to use (sharegpt, alpaca).")
@click.option("--dataset", help="Entry of --dataset-info to use (optional when it has one entry).")
@click.option("--schema", type=click.Path(path_type=Path),
              help="schema.json for sgd/multiwoz (default: found beside IN or in its parent folder).")
@click.option("--dialog-acts", type=click.Path(path_type=Path),
              help="MultiWOZ 2.2 dialog_acts.json (default: found beside IN or in its parent folder).")
@click.option("--keep-extras", is_flag=True,
              help="openai/sharegpt: keep state, acts, train, goal as extra keys (lossless; templates ignore them).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="Report as text lines or one JSON object on stdout.")
@click.pass_context
def convert(ctx: click.Context, src: str, dst: str, inp: Path, out: Path, rejects: Path | None,
            dataset_info: Path | None, dataset: str | None, schema: Path | None, dialog_acts: Path | None,
            keep_extras: bool, fmt: str) -> None:
    """Convert dialogs from one format to another.

    Every record is validated; a bad one is reported as
    `file:line: record <id>: field: message (CODE)` and left out (kept in --rejects), and
    the good ones are still converted. Exit code 1 when any record was rejected, 2 for a
    usage error. Features the target cannot carry (state, acts ...) are named in a warning.

    \b
    Examples:
      dialogkit convert --from sgd --to dialogkit data/sgd/train/dialogues_001.json sgd.jsonl
      dialogkit convert --from sgd --to dialogkit data/sgd/dev/ sgd_dev.jsonl
      dialogkit convert --from multiwoz --to dialogkit MultiWOZ_2.2/test/ mwoz_test.jsonl
      dialogkit convert --from dialogkit --to openai dialogs.jsonl train_openai.jsonl
      dialogkit convert --from sharegpt --to dialogkit glaive.json out.jsonl \\
          --dataset-info data/dataset_info.json --dataset glaive_toolcall_en_demo
      dialogkit convert --from dialogkit --to sharegpt dialogs.jsonl lf_data.json
      dialogkit convert --from alpaca --to dialogkit alpaca_zh.json out.jsonl.gz
      dialogkit convert --from dialogkit --to hf dialogs.jsonl hf_dataset/
      dialogkit convert --from openai --to dialogkit in.jsonl out.jsonl --rejects bad.jsonl
    """
    from dialogkit.convert import convert_file

    report = convert_file(
        inp, out, src, dst, rejects=rejects, dataset_info=dataset_info, dataset=dataset,
        schema=schema, dialog_acts=dialog_acts, keep_extras=keep_extras,
    )
    if fmt == "json":
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False))
    else:
        _print_text(report)
    if report.rejected:
        ctx.exit(1)


def _print_text(report) -> None:  # noqa: ANN001 - ConvertReport, imported lazily
    for issue in report.issues[:SHOW_ISSUES]:
        click.echo(issue.format(), err=True)
    more = report.issue_count - min(len(report.issues), SHOW_ISSUES)
    if more > 0:
        where = f"all in {report.rejects}" if report.rejects else "see --rejects FILE or --format json"
        click.echo(f"... and {more} more ({where})", err=True)
    for feature, n in sorted(report.dropped.items()):
        click.echo(f"warning: {report.dst} cannot carry {feature}: dropped from {n} dialog(s)", err=True)
    click.echo(
        f"{report.src} -> {report.dst}: read {report.read}, written {report.written}, "
        f"rejected {report.rejected} -> {report.output}"
    )
