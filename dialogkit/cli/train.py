"""``dialogkit train sft|dpo|simpo|orpo``: parse options, resolve the config, run, print a summary.

Nothing heavy is imported at module level: torch/transformers/TRL load only once a command runs.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from dialogkit.errors import Issue

_EXAMPLES = {
    "sft": """\b
Examples:
  dialogkit model init-tiny --data dialogs.jsonl --out tiny
  dialogkit train sft --model tiny --data dialogs.jsonl --output runs/sft
  dialogkit train sft --model Qwen/Qwen3-0.6B --data train.jsonl --eval-data dev.jsonl \\
      --output runs/sft --set adapter=qlora --set learning_rate=2e-4 --set max_steps=500
  dialogkit train sft --model tiny --data d.jsonl --output runs/sft --set prepare.max_length=1024 \\
      --set pack=true --set early_stopping_patience=3
  dialogkit train sft --output runs/sft --resume --set max_steps=1000
  dialogkit train sft --init-from runs/v1 --data new.jsonl --output runs/v2 --replay 0.3 \\
      --regularize kl --reg-strength 0.5 --freeze first:2
  accelerate launch --config_file configs/accelerate/ddp.yaml -m dialogkit train sft ...""",
    "dpo": """\b
Examples:
  dialogkit train dpo --model runs/sft --data pairs.jsonl --output runs/dpo
  dialogkit train dpo --model runs/sft --data pairs.jsonl --output runs/dpo --set beta=0.1 \\
      --set loss_type=[sigmoid,sft] --set loss_weights=[1.0,0.2]""",
    "simpo": """\b
Examples:
  dialogkit train simpo --model runs/sft --data pairs.jsonl --output runs/simpo --set simpo_gamma=0.5""",
    "orpo": """\b
Examples:
  dialogkit train orpo --model tiny --data pairs.jsonl --output runs/orpo --set beta=0.1""",
}

_DOC = {
    "sft": "Supervised fine-tuning on dialogs with exact assistant-only labels (TRL SFTTrainer).",
    "dpo": "Direct preference optimization on preference pairs (TRL DPOTrainer, any TRL loss_type).",
    "simpo": "SimPO: reference-free preference optimization (TRL CPOTrainer, loss_type=simpo).",
    "orpo": "ORPO: odds-ratio preference optimization, no reference model (TRL ORPOTrainer).",
}

_PAIR_NOTE = """
Each pair scores one assistant turn: the history is the prompt, and the first assistant message
where chosen and rejected differ is the completion (tool results and history are never scored).
When --model is a LoRA SFT run, training continues its adapter and the reference model is the
SFT model, not the base."""

_COMMON_NOTE = """
The config is one model: dialogkit keys (adapter, lora_r, eval_fraction, merge, ...), prepare keys
(max_length, pack, loss_on, ...) and any TRL/transformers training argument by its own name
(max_steps, learning_rate, per_device_train_batch_size, gradient_accumulation_steps, logging_steps,
eval_steps, report_to, ...). Give them in --config YAML or with --set; an unknown key is an error.
RUN/ gets config.yaml, data_manifest.json, metrics.jsonl, checkpoints/ and final/."""


@click.group(name="train", context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
def train() -> None:
    """Train with SFT, DPO, SimPO or ORPO on TRL (full, LoRA, QLoRA, DoRA).

    \b
    Examples:
      dialogkit train sft --model tiny --data dialogs.jsonl --output runs/sft
      dialogkit train dpo --model runs/sft --data pairs.jsonl --output runs/dpo
    """


def _options(method: str) -> Any:
    def deco(f: Any) -> Any:
        opts = [
            click.option("--model", "model", metavar="PATH", help="Model folder, SFT run folder, or hub id."),
            click.option("--data", "data", metavar="FILE",
                         help="Dialogs (sft) or preference pairs (dpo/simpo/orpo), JSONL/JSON/Parquet."),
            click.option("--output", "-o", "output", required=True, metavar="RUN", type=click.Path(file_okay=False),
                         help="Run folder (created; must be empty unless --resume/--overwrite)."),
            click.option("--eval-data", "eval_data", metavar="FILE", help="Eval set (default: held out by eval_fraction)."),
            click.option("--config", "config", metavar="RUN.yaml", type=click.Path(dir_okay=False),
                         help="YAML config (e.g. a previous RUN/config.yaml)."),
            click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
                         help="Override one config key; repeatable (prepare.KEY / training.KEY also work)."),
            click.option("--adapter", type=click.Choice(["full", "lora", "qlora", "dora"]),
                         help="Shortcut for --set adapter=..."),
            click.option("--resume", is_flag=True, help="Continue RUN from its last checkpoint."),
            click.option("--overwrite", is_flag=True, help="Delete an existing run in RUN first."),
        ]
        if method == "sft":
            opts.append(click.option("--from", "data_format", metavar="FORMAT",
                                     help="Input format of --data/--eval-data (any `convert --from` format)."))
            opts += _continual_options()
        for opt in reversed(opts):
            f = opt(f)
        return f

    return deco


def _continual_options() -> list[Any]:
    return [
        click.option("--init-from", "init_from", metavar="RUN",
                     help="Continue a previous run's model (adapter or full; RUN/final/merged too). "
                          "Inherits its adapter, LoRA and prepare settings; writes RUN2/forgetting.json."),
        click.option("--replay", "replay", type=float, metavar="FRACTION",
                     help="Share of the training mix drawn from earlier runs' training dialogs (0 <= f < 1)."),
        click.option("--replay-from", "replay_from", multiple=True, metavar="RUN",
                     help="Runs to replay from (repeatable; default: every run of the --init-from lineage)."),
        click.option("--regularize", type=click.Choice(["none", "kl", "l2sp"]),
                     help="Stay close to the previous model: kl (to its outputs on the trained tokens) or "
                          "l2sp (to its weights)."),
        click.option("--reg-strength", "reg_strength", type=float, metavar="X",
                     help="Weight of the regularizer (default 1.0 for kl, 0.1 for l2sp)."),
        click.option("--freeze", "freeze", multiple=True, metavar="PATTERN|first:N",
                     help="Freeze parameters by name glob (e.g. '*embed_tokens*') or the first N blocks; repeatable."),
    ]


def _print_issues(issues: list[Issue], run: Path) -> None:
    from dialogkit.train.run import issue_lines

    for line in issue_lines(issues):
        click.echo(line, err=True)
    n_err = sum(1 for i in issues if i.severity == "error")
    where = f"; rejected records are in {run / 'rejects.jsonl'}" if n_err else ""
    click.echo(f"{n_err} error(s), {len(issues) - n_err} warning(s) in the input{where}", err=True)


def _fmt(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def _print_summary(summary: dict[str, Any], run: Path) -> None:
    keys = ["train_loss", "eval_loss", "eval_rewards/accuracies", "eval_rewards/margins"]
    parts = [f"{k} {_fmt(summary[k])}" for k in keys if k in summary]
    resumed = summary.get("resumed_from_step")
    start = f" (resumed at step {resumed})" if resumed is not None else ""
    click.echo(f"trained {summary['method']} ({summary['adapter']}) to step {summary['global_step']}{start} "
               f"in {summary['train_seconds']} s: " + ", ".join(parts))
    click.echo(f"final {summary['final']['kind']}: {summary['final']['path']}")
    if "merged" in summary["final"]:
        click.echo(f"merged model: {summary['final']['merged']}")
    click.echo(f"metrics: {run / 'metrics.jsonl'}")
    forgetting = summary.get("forgetting")
    if forgetting:
        def loss(role: str) -> str:
            b, a = forgetting.get(f"{role}_loss_before"), forgetting.get(f"{role}_loss_after")
            return "-" if b is None or a is None else f"{b:.4f} -> {a:.4f}"

        click.echo(f"forgetting: loss on earlier runs' data {loss('earlier')}, on the new data {loss('new')}")
        click.echo(f"forgetting report: {forgetting['json']} ({Path(forgetting['html']).name})")


def run_method(method: str, **opts: Any) -> None:
    """Resolve config and run folder, then train; exit 1 when input records were rejected."""
    from dialogkit.train.config import load_config, parse_sets, read_yaml
    from dialogkit.train.run import prepare_run_dir

    run = Path(opts["output"])
    base = None
    if opts["resume"] and not opts["config"] and (run / "config.yaml").is_file():
        base = read_yaml(run / "config.yaml")
    cli = {"model": opts["model"], "data": opts["data"], "eval_data": opts["eval_data"],
           "adapter": opts["adapter"], "data_format": opts.get("data_format"), **_continual_cli(opts)}
    sets = parse_sets(opts["sets"])
    cfg = load_config(method, yaml_path=opts["config"], base=base, sets=sets, cli=cli)
    if cfg.init_from and base is None:
        # An increment starts from its parent's adapter/LoRA/prepare settings; anything given wins.
        from dialogkit.train.continual.increment import check, inherited_config

        check(cfg)
        cfg = load_config(method, yaml_path=opts["config"], base=inherited_config(cfg.init_from), sets=sets, cli=cli)
    if cfg.init_from and not cfg.model:
        cfg.model = cfg.init_from
    if method == "sft":
        from dialogkit.train.continual.increment import check_output

        check_output(cfg, run)
    _check_inputs(cfg)
    ckpt = prepare_run_dir(run, resume=opts["resume"], overwrite=opts["overwrite"])
    if method == "sft":
        from dialogkit.train.sft import train_sft

        result = train_sft(cfg, run, ckpt)
    else:
        from dialogkit.train.preference import train_preference

        result = train_preference(cfg, run, ckpt)
    from dialogkit.train.run import is_main_process

    if not is_main_process():
        return  # rank 0 reports; the other ranks of a launch stay quiet
    _print_summary(result.summary, run)
    if result.issues:
        _print_issues(result.issues, run)
    if any(i.severity == "error" for i in result.issues):
        sys.exit(1)


def _continual_cli(opts: dict[str, Any]) -> dict[str, Any]:
    """The continual options given on the command line (absent ones leave config values alone)."""
    out = {k: opts.get(k) for k in ("init_from", "replay", "regularize", "reg_strength")}
    for k in ("replay_from", "freeze"):
        out[k] = list(opts[k]) if opts.get(k) else None
    return out


def _check_inputs(cfg: Any) -> None:
    """Fail on a missing model or data file before the run folder is touched."""
    from dialogkit.errors import InputError, UsageError
    from dialogkit.train.model import resolve_model

    if not cfg.model:
        raise UsageError("no model: give --model PATH (try `dialogkit model init-tiny`)")
    if not cfg.data:
        raise UsageError("no training data: give --data FILE")
    resolve_model(cfg.model)
    for path in (cfg.data, cfg.eval_data):
        if path and not Path(path).exists():
            raise InputError(f"{path}: no such file")


def _make(method: str) -> click.Command:
    note = _COMMON_NOTE + (_PAIR_NOTE if method != "sft" else "")

    @_options(method)
    def cmd(**opts: Any) -> None:
        run_method(method, **opts)

    cmd.__doc__ = f"{_DOC[method]}\n{note}\n\n{_EXAMPLES[method]}"
    return train.command(name=method, help=cmd.__doc__, short_help=_DOC[method])(cmd)


sft = _make("sft")
dpo = _make("dpo")
simpo = _make("simpo")
orpo = _make("orpo")
