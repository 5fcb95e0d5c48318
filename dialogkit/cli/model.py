"""``dialogkit model init-tiny``: a tiny local causal LM + tokenizer for offline demos and tests."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from dialogkit.cli._lazy import LazySubgroup


@click.group(name="model", cls=LazySubgroup, subcommands={
    "init-tiny": ("dialogkit.cli.model:init_tiny", "Build a tiny random causal LM with a tokenizer trained on your data."),
}, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
def model() -> None:
    """Make models.

    \b
    Examples:
      dialogkit model init-tiny --data dialogs.jsonl --out tiny
    """


@click.command(name="init-tiny", context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--data", "data", required=True, metavar="FILE", help="Dialogs whose text trains the tokenizer.")
@click.option("--out", "out", required=True, metavar="DIR", type=click.Path(file_okay=False), help="Model folder to create.")
@click.option("--from", "data_format", default="dialogkit", show_default=True, metavar="FORMAT", help="Input format of --data.")
@click.option("--arch", type=click.Choice(["qwen2", "llama"]), default="qwen2", show_default=True)
@click.option("--vocab-size", default=1024, show_default=True, type=click.IntRange(min=300),
              help="Target tokenizer vocabulary (BPE merges stop early on small data).")
@click.option("--hidden-size", default=64, show_default=True, type=click.IntRange(min=8))
@click.option("--layers", default=2, show_default=True, type=click.IntRange(min=1))
@click.option("--heads", default=4, show_default=True, type=click.IntRange(min=1))
@click.option("--kv-heads", default=2, show_default=True, type=click.IntRange(min=1))
@click.option("--intermediate-size", default=128, show_default=True, type=click.IntRange(min=8))
@click.option("--chat-template", "template", default="dialogkit", show_default=True, metavar="NAME|FILE",
              help="dialogkit (tools as JSON schemas), dialogkit_compact (one line per tool: a much "
                   "shorter prompt, which a tiny model learns far faster from), or a Jinja file.")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--overwrite", is_flag=True, help="Replace an existing model folder.")
def init_tiny(**opts: Any) -> None:
    """Build a tiny random Qwen2/Llama-style causal LM and a byte-level BPE tokenizer trained on --data.

    The tokenizer carries dialogkit's chat template (system/user/assistant/tool messages, tool
    calls, {% generation %} tags), so `prepare` and `train` work on it unchanged. Same data and
    seed give the same model. Trains on 2 CPU cores in minutes; nothing is downloaded.

    \b
    Examples:
      dialogkit model init-tiny --data dialogs.jsonl --out tiny
      dialogkit model init-tiny --data dialogs.jsonl --out tiny-llama --arch llama --hidden-size 128
      dialogkit model init-tiny --data dialogs.jsonl --out tiny-c --chat-template dialogkit_compact
      dialogkit train sft --model tiny --data dialogs.jsonl --output runs/sft
    """
    from dialogkit.train.tiny import TinyConfig, init_tiny_from_data

    tiny = TinyConfig(arch=opts["arch"], hidden_size=opts["hidden_size"], num_layers=opts["layers"],
                      num_heads=opts["heads"], num_kv_heads=opts["kv_heads"],
                      intermediate_size=opts["intermediate_size"], seed=opts["seed"])
    info = init_tiny_from_data(opts["data"], Path(opts["out"]), tiny, vocab_size=opts["vocab_size"],
                               data_format=opts["data_format"], overwrite=opts["overwrite"],
                               template=opts["template"])
    click.echo(f"tiny {info['arch']} model: {info['parameters']:,} parameters, vocab {info['vocab_size']}, "
               f"{info['layers']} layers x {info['hidden_size']} -> {info['path']}")
    click.echo(f"tokenizer trained on {info['dialogs']} dialogs ({info['texts']} texts)")
    if info["issues"]:
        for issue in info["issues"][:20]:
            click.echo(issue.format(), err=True)
        click.echo(f"{len(info['issues'])} bad record(s) skipped", err=True)
        sys.exit(1)
