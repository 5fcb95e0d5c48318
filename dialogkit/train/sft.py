"""``train sft``: supervised fine-tuning on TRL's SFTTrainer with ``prepare``'s exact labels.

TRL gets pre-tokenized ``input_ids`` + ``labels`` columns: with both present it neither renders a
chat template nor builds labels (sft_trainer.py ``_prepare_dataset``), so the tokens trained on
are exactly the ones ``dialogkit prepare`` marks. TRL's own truncation is switched off
(``max_length=None``): prepare has already budgeted length by turns, whereas TRL would cut the
latest turns from the right. Rows that prepare packed carry ``position_ids``; they become TRL's
``seq_lengths`` and train padding-free, so packed dialogs never attend to each other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dialogkit.errors import InputError, Issue, UsageError
from dialogkit.train.args import build_args
from dialogkit.train.callbacks import MetricsJsonl, early_stopping
from dialogkit.train.config import TrainConfig
from dialogkit.train.data import Prepared, holdout, load_dialogs, prepare_rows
from dialogkit.train.model import load_model, load_tokenizer, resolve_model
from dialogkit.train.run import input_entry, write_config, write_json, write_rejects
from dialogkit.train.runner import RunResult, finish, fit


@dataclass
class SftData:
    """Prepared rows, the manifest, input problems, and the dialogs behind them (new data only)."""

    train: Prepared
    evals: Prepared | None
    manifest: dict[str, Any]
    issues: list[Issue]
    rejects: list[dict[str, Any]]
    train_dialogs: list[Any] = field(default_factory=list)
    eval_dialogs: list[Any] = field(default_factory=list)


def _mix_replay(replay: Callable[[list[Any]], Any] | None, train_dialogs: list[Any], where: dict[int, Any],
                inputs: list[dict[str, Any]]) -> tuple[list[Any], list[Issue], dict[str, Any] | None]:
    """New dialogs plus replayed ones; records the replayed files in ``inputs`` and locations in ``where``."""
    if replay is None:
        return list(train_dialogs), [], None
    rep = replay(train_dialogs)
    where.update({id(d): w for d, w in zip(rep.dialogs, rep.where)})
    inputs += [{"role": "replay", "path": s["path"], "sha256": s["sha256"], "run": s["run"], "drawn": s["drawn"]}
               for s in rep.manifest["sources"]]
    return list(train_dialogs) + rep.dialogs, rep.issues, rep.manifest


def sft_data(cfg: TrainConfig, tokenizer: Any, replay: Callable[[list[Any]], Any] | None = None) -> SftData:
    """Load, split and prepare the SFT data.

    ``replay`` (an increment's) is given the new training dialogs after the dev split and returns
    old dialogs to mix in (see ``dialogkit.train.continual.replay``); they are trained on, never held out.
    """
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
    mixed, extra_issues, replay_info = _mix_replay(replay, train_dialogs, where, inputs)
    template = tokenizer.chat_template

    def prep(dialogs: list[Any]) -> Prepared:
        return prepare_rows(dialogs, tokenizer, cfg.prepare, template, [where[id(d)] for d in dialogs])

    train = prep(mixed)
    if not train.input_ids:
        raise InputError(f"{cfg.data}: no dialog has a trainable assistant turn after prepare")
    evals = prep(eval_dialogs) if eval_dialogs else None
    issues = [i for lo in loaded for i in lo.issues] + train.issues + (evals.issues if evals else []) + extra_issues
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
    if replay_info is not None:
        manifest["dialogs"]["replay"] = replay_info["drawn"]
        manifest["replay"] = replay_info
    if evals is not None and not evals.input_ids:
        evals = None
    return SftData(train, evals, manifest, issues, rejects, list(train_dialogs), list(eval_dialogs))


def sft_trainer(cfg: TrainConfig, run: Path, model: Any, peft_config: Any, tokenizer: Any,
                train: Prepared, evals: Prepared | None, *, compute_loss_func: Any = None,
                callbacks: list[Any] | None = None) -> Any:
    """An SFTTrainer over pre-tokenized rows (no TRL templating, truncation or label building).

    ``compute_loss_func`` and ``callbacks`` (an increment's regularizers) are the trainer's own
    extension points; the extra callbacks run before ``metrics.jsonl`` is written, so what they
    add to a log line lands in it.
    """
    import warnings

    from trl import SFTTrainer

    packed = train.seq_lengths is not None
    # Pre-packed rows need padding-free attention (position_ids restart per dialog).
    extra = {"max_length": None, "padding_free": packed, "packing": False, "eval_packing": False,
             "completion_only_loss": False, "assistant_only_loss": False}
    args = build_args(cfg, run, has_eval=evals is not None, extra=extra)
    with warnings.catch_warnings():
        # TRL 1.16 marks compute_loss_func deprecated (to be replaced by subclassing); it is still the
        # supported way in, and the KL loss needs the full logits it provides anyway.
        warnings.filterwarnings("ignore", message=".*compute_loss_func.*", category=FutureWarning)
        return SFTTrainer(
            model=model,
            args=args,
            train_dataset=train.to_dataset(),
            eval_dataset=evals.to_dataset() if evals else None,
            processing_class=tokenizer,
            peft_config=peft_config,
            compute_loss_func=compute_loss_func,
            callbacks=[*(callbacks or []), MetricsJsonl(run / "metrics.jsonl"),
                       *early_stopping(cfg.early_stopping_patience, cfg.early_stopping_threshold)],
        )


def train_sft(cfg: TrainConfig, run: Path, ckpt: Path | None) -> RunResult:
    """Run SFT into ``run`` (fresh, or resuming ``ckpt``); returns the summary and data issues.

    An increment (``init_from``, ``replay``, ``regularize``, ``freeze``) plans its lineage and
    replay first, so a moved or changed replay file fails before ``run`` is written.
    """
    from dialogkit.train.continual import increment as inc

    if not cfg.model:
        raise UsageError("no model: give --model PATH (try `dialogkit model init-tiny`)")
    plan = inc.plan(cfg) if inc.uses_continual(cfg) else None
    source = resolve_model(cfg.model)
    tokenizer = load_tokenizer(cfg, source)
    seed = int(cfg.training.get("seed", 42))
    replay = (lambda new: inc.draw_replay(plan, cfg, new, seed)) if plan and cfg.replay else None
    data = sft_data(cfg, tokenizer, replay)
    manifest = {**data.manifest, "model": {"base": source.base, "adapter": source.adapter}}
    if plan is not None:
        manifest["continual"] = plan.manifest(cfg)
    model, peft_config = load_model(cfg, source)
    if cfg.freeze and peft_config is None:
        inc.check_freeze(model, cfg.freeze)  # a pattern that matches nothing fails before RUN is written
    run.mkdir(parents=True, exist_ok=True)
    write_config(run, cfg)
    write_json(run / "data_manifest.json", manifest)
    write_rejects(run, data.rejects)
    issues = list(data.issues)
    forgetting = None
    if plan is not None and cfg.init_from and cfg.forgetting:
        from dialogkit.train.continual.run import start_forgetting

        forgetting, more = start_forgetting(cfg, plan, tokenizer, model, data, run)
        issues += more
    reg = inc.before_trainer(cfg, model, fresh_adapter=peft_config is not None) if plan else None
    trainer = sft_trainer(cfg, run, model, peft_config, tokenizer, data.train, data.evals,
                          compute_loss_func=reg.compute_loss_func if reg else None,
                          callbacks=reg.callbacks() if reg else None)
    if reg is not None:
        inc.after_trainer(cfg, reg, trainer)
    result = fit(trainer, run, ckpt, has_eval=data.evals is not None)
    extra: dict[str, Any] = {"data": manifest["prepared"]}
    if reg is not None and reg.info:
        extra["continual"] = reg.info
    if forgetting is not None:
        from dialogkit.train.continual.run import finish_forgetting

        extra["forgetting"] = finish_forgetting(forgetting, trainer.model, cfg, plan, run)
    summary = finish(trainer, tokenizer, run, cfg, result, extra)
    return RunResult(run, summary, issues)
