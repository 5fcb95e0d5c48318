"""``train sft``: supervised fine-tuning on TRL's SFTTrainer with ``prepare``'s exact labels.

TRL gets pre-tokenized ``input_ids`` + ``labels`` columns: with both present it neither renders a
chat template nor builds labels (sft_trainer.py ``_prepare_dataset``), so the tokens trained on
are exactly the ones ``dialogkit prepare`` marks. TRL's own truncation is switched off
(``max_length=None``): prepare has already budgeted length by turns, whereas TRL would cut the
latest turns from the right. Rows that prepare packed carry ``position_ids``; they become TRL's
``seq_lengths`` and train padding-free, so packed dialogs never attend to each other.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dialogkit.errors import InputError, UsageError
from dialogkit.train.args import build_args
from dialogkit.train.callbacks import MetricsJsonl, early_stopping
from dialogkit.train.config import TrainConfig
from dialogkit.train.data import Prepared, holdout, load_dialogs, prepare_rows
from dialogkit.train.model import load_model, load_tokenizer, resolve_model
from dialogkit.train.run import input_entry, write_config, write_json, write_rejects
from dialogkit.train.runner import RunResult, finish, fit


def sft_data(cfg: TrainConfig, tokenizer: Any) -> tuple[Prepared, Prepared | None, dict[str, Any], list[Any]]:
    """Load, split and prepare the SFT data; returns ``(train, eval, manifest, [issues, rejects])``."""
    if not cfg.data:
        raise UsageError("no training data: give --data FILE")
    train_in = load_dialogs(cfg.data, cfg.data_format)
    loaded = [train_in]
    inputs = [input_entry(cfg.data, "train", train_in.counts())]
    if not train_in.records:
        raise InputError(f"{cfg.data}: no usable dialogs ({train_in.read} read, {len(train_in.rejects)} bad)")
    seed = int(cfg.training.get("seed", 42))
    where = {id(d): w for lo in loaded for d, w in zip(lo.records, lo.where)}
    if cfg.eval_data:
        eval_in = load_dialogs(cfg.eval_data, cfg.data_format)
        loaded.append(eval_in)
        where.update({id(d): w for d, w in zip(eval_in.records, eval_in.where)})
        inputs.append(input_entry(cfg.eval_data, "eval", eval_in.counts()))
        train_dialogs, eval_dialogs = train_in.records, eval_in.records
    else:
        train_dialogs, eval_dialogs = holdout(train_in.records, cfg.eval_fraction, seed)
    template = tokenizer.chat_template

    def prep(dialogs: list[Any]) -> Prepared:
        return prepare_rows(dialogs, tokenizer, cfg.prepare, template, [where[id(d)] for d in dialogs])

    train = prep(train_dialogs)
    if not train.input_ids:
        raise InputError(f"{cfg.data}: no dialog has a trainable assistant turn after prepare")
    evals = prep(eval_dialogs) if eval_dialogs else None
    issues = [i for lo in loaded for i in lo.issues] + train.issues + (evals.issues if evals else [])
    rejects = [r for lo in loaded for r in lo.rejects] + train.rejects + (evals.rejects if evals else [])
    manifest = {
        "method": "sft",
        "inputs": inputs,
        "dialogs": {"train": len(train_dialogs), "eval": len(eval_dialogs),
                    "eval_source": "file" if cfg.eval_data else ("held_out" if eval_dialogs else "none")},
        "eval_ids": [d.id for d in eval_dialogs] if not cfg.eval_data else None,
        "prepared": {"train": train.stats(), "eval": evals.stats() if evals else None,
                     "packed": train.seq_lengths is not None},
        "prepare": cfg.prepare,
    }
    if evals is not None and not evals.input_ids:
        evals = None
    return train, evals, manifest, [issues, rejects]


def sft_trainer(cfg: TrainConfig, run: Path, model: Any, peft_config: Any, tokenizer: Any,
                train: Prepared, evals: Prepared | None) -> Any:
    """An SFTTrainer over pre-tokenized rows (no TRL templating, truncation or label building)."""
    from trl import SFTTrainer

    packed = train.seq_lengths is not None
    # Pre-packed rows need padding-free attention (position_ids restart per dialog).
    extra = {"max_length": None, "padding_free": packed, "packing": False, "eval_packing": False,
             "completion_only_loss": False, "assistant_only_loss": False}
    args = build_args(cfg, run, has_eval=evals is not None, extra=extra)
    return SFTTrainer(
        model=model,
        args=args,
        train_dataset=train.to_dataset(),
        eval_dataset=evals.to_dataset() if evals else None,
        processing_class=tokenizer,
        peft_config=peft_config,
        callbacks=[MetricsJsonl(run / "metrics.jsonl"),
                   *early_stopping(cfg.early_stopping_patience, cfg.early_stopping_threshold)],
    )


def train_sft(cfg: TrainConfig, run: Path, ckpt: Path | None) -> RunResult:
    """Run SFT into ``run`` (fresh, or resuming ``ckpt``); returns the summary and data issues."""
    if not cfg.model:
        raise UsageError("no model: give --model PATH (try `dialogkit model init-tiny`)")
    source = resolve_model(cfg.model)
    tokenizer = load_tokenizer(cfg, source)
    train, evals, manifest, (issues, rejects) = sft_data(cfg, tokenizer)
    run.mkdir(parents=True, exist_ok=True)
    write_config(run, cfg)
    write_json(run / "data_manifest.json", {**manifest, "model": {"base": source.base, "adapter": source.adapter}})
    write_rejects(run, rejects)
    model, peft_config = load_model(cfg, source)
    trainer = sft_trainer(cfg, run, model, peft_config, tokenizer, train, evals)
    result = fit(trainer, run, ckpt, has_eval=evals is not None)
    summary = finish(trainer, tokenizer, run, cfg, result, {"data": manifest["prepared"]})
    return RunResult(run, summary, issues)
