"""``dialogkit demo``: the whole loop end to end, offline, each stage's output kept in DIR."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from dialogkit.errors import UsageError


def _sets(values: tuple[str, ...], option: str) -> dict[str, Any]:
    out = {}
    for v in values:
        key, sep, value = v.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"{option} {v!r}: expected KEY=VALUE")
        out[key.strip()] = value
    return out


@click.command()
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Demo folder: every stage writes into DIR/NN_stage/, then DIR/report.html and DIR/summary.json.")
@click.option("--model", metavar="PATH|HUB_ID", help="Base model to fine-tune instead of the tiny one (LoRA).")
@click.option("--base-url", metavar="URL", help="An OpenAI-compatible endpoint to score as well.")
@click.option("--endpoint-model", metavar="NAME", help="The endpoint's model name (with --base-url).")
@click.option("--fast", is_flag=True, help="A small configuration (tests, a first look): about a minute.")
@click.option("--stages", metavar="S,...", help="Only these stages (synth,validate,prepare,sft,mine,dpo,score,report); "
              "up-to-date ones are reused unless --force.")
@click.option("--from-stage", metavar="STAGE", help="Rerun this stage and every stage after it.")
@click.option("--force", is_flag=True, help="Rerun every selected stage even when its output is up to date.")
@click.option("--scenario", metavar="NAME|FILE", help="Scenario (default: the demo's restaurant scenario).")
@click.option("--n-train", type=click.IntRange(min=8), help="Training dialogs.")
@click.option("--n-eval", type=click.IntRange(min=4), help="Held-out dialogs.")
@click.option("--no-state", is_flag=True, help="Do not teach the model to write its dialog state first.")
@click.option("--set-sft", "set_sft", multiple=True, metavar="KEY=VALUE", help="Override an SFT config key.")
@click.option("--set-dpo", "set_dpo", multiple=True, metavar="KEY=VALUE", help="Override a DPO config key.")
@click.option("--threads", type=click.IntRange(min=1), help="torch threads (default 1: fastest on small shared CPUs).")
@click.option("--launcher", metavar="CMD", help="Run the training stages under a launcher, e.g. "
              "'accelerate launch --config_file configs/accelerate/ddp.yaml' or 'torchrun --nproc_per_node 2'.")
@click.option("--quiet", "-q", is_flag=True, help="Only stage lines on the terminal; the commands' output goes to the logs.")
def demo(out, model, base_url, endpoint_model, fast, stages, from_stage, force, scenario, n_train, n_eval,
         no_state, set_sft, set_dpo, threads, launcher, quiet) -> None:
    """Run the whole loop end to end, offline, and report how the models compare.

    synth (outline) -> validate -> prepare (+ model init-tiny) -> train sft -> mine -> train dpo
    -> score the base, SFT and DPO models on held-out dialogs -> DIR/report.html, DIR/summary.json.
    Each stage runs the real dialogkit commands (recorded in DIR/NN_stage/stage.json, logs in
    DIR/NN_stage/log.txt). Running the command again reuses finished stages.

    \b
    Examples:
      dialogkit demo --out demo                         # tiny model, CPU, about 10 minutes
      dialogkit demo --out demo-fast --fast             # about a minute
      dialogkit demo --out demo --from-stage dpo --set-dpo beta=0.2
      dialogkit demo --out demo --stages score,report --force
      dialogkit demo --out real --model Qwen/Qwen3-0.6B --base-url http://localhost:8000/v1 \\
          --endpoint-model qwen3-8b
      dialogkit demo --out real --model Qwen/Qwen3-8B \\
          --launcher "accelerate launch --config_file configs/accelerate/ddp.yaml --num_processes 8"
    """
    if base_url and not endpoint_model:
        raise UsageError("--base-url needs --endpoint-model NAME")
    from dialogkit.demo import run_demo
    from dialogkit.demo.config import build_config

    cfg = build_config(out, fast=fast, model=model, base_url=base_url, endpoint_model=endpoint_model,
                       scenario=scenario, n_train=n_train, n_eval=n_eval, threads=threads, quiet=quiet, launcher=launcher,
                       state_in_reasoning=False if no_state else None,
                       sft=_sets(set_sft, "--set-sft"), dpo=_sets(set_dpo, "--set-dpo"))
    chosen = [s.strip() for s in stages.split(",") if s.strip()] if stages else None
    from dialogkit.cli import cli

    summary = run_demo(cfg, cli, force=force, stages=chosen, from_stage=from_stage, echo=click.echo)
    if summary is None:
        return
    _print_summary(summary, out)


def _print_summary(summary: dict[str, Any], out: Path) -> None:
    keys = ["task_success", "inform", "slot_f1", "tool_args_accuracy", "json_parse_rate", "eval_loss"]
    click.echo("")
    click.echo(f"{'model':<10}" + "".join(f"{k:>20}" for k in keys))
    for name, m in summary["models"].items():
        cells = []
        for k in keys:
            v = m.get(k)
            cells.append("-" if v is None else (f"{v:.3f}" if k == "eval_loss" else f"{v * 100:.1f}%"))
        click.echo(f"{name:<10}" + "".join(f"{c:>20}" for c in cells))
    for name, ok in summary["checks"].items():
        click.echo(f"check {name}: {'yes' if ok else ('n/a' if ok is None else 'NO')}")
    total = sum(summary.get("seconds", {}).values())
    click.echo(f"stages took {total:.0f}s; wrote {out / 'report.html'} and {out / 'summary.json'}")
