"""``train dpo|simpo|orpo``: preference optimization on TRL, one scored assistant turn per pair.

Tokenization is ``prepare``'s boundary-exact pair tokenizer. TRL's preference trainers always
tokenize themselves (1.16 has no pre-tokenized path for DPO/CPO/ORPO), so they get the *rendered
text* of prompt and completion; the completion ends at the end-of-turn token, so no trainer adds
a second EOS, and the tool schemas are already in the prompt text (CPO/ORPO would otherwise drop
a per-row ``tools`` column). After the trainer is built, the ids it derived are compared with
``prepare``'s; a pair that differs (a tokenizer merging across the boundary) is replaced by the
exact ids, and the count goes to the manifest.

Reference model (DPO): a LoRA SFT run as ``--model`` is loaded as a trainable PeftModel, and TRL
copies its adapter into a frozen "ref" adapter, so the reference is the SFT model. A fresh LoRA
on a full model uses that model with the adapter disabled. Full fine-tuning gets an explicit
frozen copy of the starting weights (TRL would otherwise reload the *base* from its config path).
"""

from __future__ import annotations

import copy
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dialogkit.errors import InputError, Issue, RecordError, UsageError
from dialogkit.train.args import build_args
from dialogkit.train.callbacks import MetricsJsonl, early_stopping
from dialogkit.train.config import TrainConfig
from dialogkit.train.data import PairEncoder, ScoredPair, holdout, load_pairs, pair_reject, scored_turn
from dialogkit.train.model import load_model, load_tokenizer, resolve_model
from dialogkit.train.run import input_entry, is_main_process, write_config, write_json, write_rejects
from dialogkit.train.runner import RunResult, finish, fit


@dataclass
class PairRows:
    """Exact token ids per pair (``prompt_ids``, ``chosen_ids``, ``rejected_ids``) and their text."""

    ids: list[dict[str, list[int]]] = field(default_factory=list)
    text: list[dict[str, str]] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    rejects: list[dict[str, Any]] = field(default_factory=list)
    merges: int = 0  # continuations whose first token would have merged across the boundary
    dropped_turns: int = 0  # history turns dropped to fit max_length

    def reject(self, pair: ScoredPair, issues: list[Issue]) -> None:
        issues = [i.located(record_id=pair.id, **pair.where) for i in issues]
        self.issues.extend(issues)
        if pair.source is not None:
            self.rejects.append(pair_reject(pair.source, pair.where, issues))

    def stats(self) -> dict[str, int]:
        return {"pairs": len(self.ids), "boundary_merges": self.merges, "dropped_turns": self.dropped_turns,
                "prompt_tokens": sum(len(r["prompt_ids"]) for r in self.ids),
                "scored_tokens": sum(len(r["chosen_ids"]) + len(r["rejected_ids"]) for r in self.ids)}

    def max_length(self) -> int:
        return max(len(r["prompt_ids"]) + max(len(r["chosen_ids"]), len(r["rejected_ids"])) for r in self.ids)


def _end_at_eos(ids: list[int], eos_id: int | None) -> list[int]:
    # Score the turn up to its end-of-turn token; what follows (a newline) belongs to the next turn.
    if eos_id is not None and eos_id in ids:
        last = len(ids) - 1 - ids[::-1].index(eos_id)
        return ids[: last + 1]
    return ids


def _strip_auto_bos(text: str, tokenizer: Any) -> str:
    # Trainers tokenize text with add_special_tokens=True; a template that already renders BOS would get two.
    bos = tokenizer.bos_token
    if bos and text.startswith(bos):
        auto = tokenizer("x").input_ids
        if auto and auto[0] == tokenizer.bos_token_id:
            return text[len(bos):]
    return text


def pair_rows(pairs: list[ScoredPair], tokenizer: Any, prepare_options: dict[str, Any]) -> PairRows:
    """Tokenize each scored pair with ``prepare``'s continuation encoder; failures become issues."""
    out = PairRows()
    encoder = PairEncoder(tokenizer, prepare_options, tokenizer.chat_template)
    eos = tokenizer.eos_token_id
    for p in pairs:
        try:
            ids = encoder.encode(p)
        except RecordError as e:
            out.reject(p, e.issues)
            continue
        row = {"prompt_ids": ids["prompt_ids"], "chosen_ids": _end_at_eos(ids["chosen_ids"], eos),
               "rejected_ids": _end_at_eos(ids["rejected_ids"], eos)}
        if row["chosen_ids"] == row["rejected_ids"]:
            out.reject(p, [Issue("PAIR_IDENTICAL", "chosen and rejected render to the same tokens")])
            continue
        out.ids.append(row)
        text = {k[: -len("_ids")]: tokenizer.decode(v, skip_special_tokens=False) for k, v in row.items()}
        text["prompt"] = _strip_auto_bos(text["prompt"], tokenizer)
        out.text.append(text)
    out.merges, out.dropped_turns = encoder.encoder.merges, encoder.dropped_turns
    return out


def _pairs(path: str) -> tuple[list[ScoredPair], list[Issue], list[dict[str, Any]], Any]:
    """Scored turns of ``path``; returns ``(pairs, issues, rejects, loaded)``."""
    lo = load_pairs(path)
    pairs: list[ScoredPair] = []
    issues, rejects = list(lo.issues), list(lo.rejects)
    for pair, where in zip(lo.records, lo.where):
        sp = scored_turn(pair, where)
        if isinstance(sp, Issue):
            issue = sp.located(**where)
            issues.append(issue)
            rejects.append(pair_reject(pair, where, [issue]))
        else:
            pairs.append(sp)
    return pairs, issues, rejects, lo


def preference_data(cfg: TrainConfig, tokenizer: Any) -> tuple[PairRows, PairRows | None, dict[str, Any], list[Any]]:
    """Load, split and tokenize pairs; returns ``(train, eval, manifest, [issues, rejects])``."""
    train_pairs, issues, rejects, lo = _pairs(cfg.data)
    inputs = [input_entry(cfg.data, "train", lo.counts())]
    seed = int(cfg.training.get("seed", 42))
    if cfg.eval_data:
        eval_pairs, issues_e, rejects_e, lo_e = _pairs(cfg.eval_data)
        issues += issues_e
        rejects += rejects_e
        inputs.append(input_entry(cfg.eval_data, "eval", lo_e.counts()))
    else:
        train_pairs, eval_pairs = holdout(train_pairs, cfg.eval_fraction, seed)
    train = pair_rows(train_pairs, tokenizer, cfg.prepare)
    evals = pair_rows(eval_pairs, tokenizer, cfg.prepare) if eval_pairs else None
    for rows in (train, evals):
        if rows is not None:
            issues.extend(rows.issues)
            rejects += rows.rejects
    if not train.ids:
        raise InputError(f"{cfg.data}: no usable preference pairs ({lo.read} read, {len(issues)} issue(s))")
    manifest = {
        "method": cfg.method,
        "inputs": inputs,
        "pairs": {"train": len(train.ids), "eval": len(evals.ids) if evals else 0,
                  "eval_source": "file" if cfg.eval_data else ("held_out" if eval_pairs else "none")},
        "tokens": {"train": train.stats(), "eval": evals.stats() if evals else None},
        "prepare": cfg.prepare,
    }
    return train, (evals if evals and evals.ids else None), manifest, [issues, rejects]


def _trainer_class(method: str) -> Any:
    if method == "dpo":
        from trl import DPOTrainer

        return DPOTrainer
    if method == "simpo":
        from trl.experimental.cpo import CPOTrainer

        return CPOTrainer
    from trl.experimental.orpo import ORPOTrainer

    return ORPOTrainer


def _text_dataset(rows: PairRows) -> Any:
    from datasets import Dataset

    return Dataset.from_list(rows.text)


def _length_settings(cfg: TrainConfig, rows: list[PairRows]) -> dict[str, Any]:
    # prepare has budgeted length; no trainer may cut again (DPO would cut the completion's end).
    longest = max(r.max_length() for r in rows)
    if cfg.method == "dpo":
        return {"max_length": None}
    return {"max_length": longest + 2, "max_completion_length": None}


def preference_trainer(cfg: TrainConfig, run: Path, model: Any, peft_config: Any, tokenizer: Any,
                       train: PairRows, evals: PairRows | None) -> Any:
    """The TRL trainer for ``cfg.method`` over the rendered pairs."""
    rows = [train] + ([evals] if evals else [])
    args = build_args(cfg, run, has_eval=evals is not None, extra=_length_settings(cfg, rows))
    kwargs: dict[str, Any] = {
        "model": model, "args": args, "train_dataset": _text_dataset(train),
        "eval_dataset": _text_dataset(evals) if evals else None, "processing_class": tokenizer,
        "peft_config": peft_config,
        "callbacks": [MetricsJsonl(run / "metrics.jsonl"),
                   *early_stopping(cfg.early_stopping_patience, cfg.early_stopping_threshold)],
    }
    if cfg.method == "dpo" and cfg.adapter == "full" and not args.precompute_ref_log_probs:
        kwargs["ref_model"] = copy.deepcopy(model).eval()
    return _trainer_class(cfg.method)(**kwargs)


def _trl_ids(method: str, row: dict[str, Any]) -> dict[str, list[int]]:
    if method == "dpo":
        return {k: list(row[k]) for k in ("prompt_ids", "chosen_ids", "rejected_ids")}
    p = list(row["prompt_input_ids"])
    return {"prompt_ids": p, "chosen_ids": list(row["chosen_input_ids"])[len(p):],
            "rejected_ids": list(row["rejected_input_ids"])[len(p):]}


def _exact_row(method: str, ids: dict[str, list[int]]) -> dict[str, Any]:
    if method == "dpo":
        return dict(ids)
    p = ids["prompt_ids"]
    row: dict[str, Any] = {"prompt_input_ids": p, "prompt_attention_mask": [1] * len(p)}
    for side in ("chosen", "rejected"):
        full = p + ids[f"{side}_ids"]
        row.update({f"{side}_input_ids": full, f"{side}_attention_mask": [1] * len(full),
                    f"{side}_labels": [-100] * len(p) + ids[f"{side}_ids"]})
    return row


def align_with_prepare(trainer: Any, method: str, rows: PairRows, split: str = "train") -> int:
    """Compare the ids TRL derived with ``prepare``'s; swap in the exact ids where they differ.

    Returns the number of pairs that differed. Raises :class:`UsageError` when they differ and the
    trainer already cached reference log-probs computed on its own ids.
    """
    ds = trainer.train_dataset if split == "train" else trainer.eval_dataset
    if ds is None:
        return 0
    if len(ds) != len(rows.ids):
        raise UsageError(f"TRL kept {len(ds)} of {len(rows.ids)} {split} pairs; check max_length settings")
    bad = [i for i, r in enumerate(ds) if _trl_ids(method, r) != rows.ids[i]]
    if not bad:
        return 0
    if getattr(trainer.args, "precompute_ref_log_probs", False):
        raise UsageError(f"{len(bad)} pair(s) tokenize differently in TRL than in prepare; "
                         "set precompute_ref_log_probs=false")
    from datasets import Dataset

    keep = [c for c in ds.column_names if c in _exact_row(method, rows.ids[0])]
    exact = Dataset.from_list([_exact_row(method, r) for r in rows.ids]).select_columns(keep)
    if split == "train":
        trainer.train_dataset = exact
    else:
        trainer.eval_dataset = exact
    return len(bad)


def train_preference(cfg: TrainConfig, run: Path, ckpt: Path | None) -> RunResult:
    """Run DPO / SimPO / ORPO into ``run``; returns the summary and data issues."""
    source = resolve_model(cfg.model or "")
    tokenizer = load_tokenizer(cfg, source)
    train, evals, manifest, (issues, rejects) = preference_data(cfg, tokenizer)
    run.mkdir(parents=True, exist_ok=True)
    write_config(run, cfg)
    model, peft_config = load_model(cfg, source)
    reference = ("sft adapter (frozen copy)" if source.adapter and cfg.method == "dpo" and cfg.adapter != "full"
                 else "none (reference-free)" if cfg.method != "dpo" else "starting model")
    trainer = preference_trainer(cfg, run, model, peft_config, tokenizer, train, evals)
    manifest["boundary_fixed"] = {"train": align_with_prepare(trainer, cfg.method, train),
                                  "eval": align_with_prepare(trainer, cfg.method, evals, "eval") if evals else 0}
    manifest["model"] = {"base": source.base, "adapter": source.adapter, "reference": reference}
    write_json(run / "data_manifest.json", manifest)
    write_rejects(run, rejects)
    result = fit(trainer, run, ckpt, has_eval=evals is not None)
    summary = finish(trainer, tokenizer, run, cfg, result, {"data": manifest["tokens"], "reference": reference})
    ref_dir = run / "final" / "ref"
    if is_main_process() and (ref_dir / "adapter_config.json").is_file():
        shutil.rmtree(ref_dir)  # TRL's frozen reference copy; the policy adapter is final/ itself
    return RunResult(run, summary, issues)
